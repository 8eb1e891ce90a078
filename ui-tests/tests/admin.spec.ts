import { createSpace, expect, test, uniqueName } from './fixtures';

test('admins manage users: add shows the one-time token, remove asks first', async ({
  home,
  server
}) => {
  const page = await home('root');
  await page.getByRole('tab', { name: 'Users (admin)' }).click();
  await expect(page.locator('tr[data-user="alice"]')).toContainText('Alice Archer');
  const name = uniqueName('newbie');
  await page.getByRole('button', { name: 'Add user' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add user' });
  await dialog.getByLabel('User name').fill(name);
  await dialog.getByLabel('Display name').fill('New Bie');
  await dialog.getByRole('button', { name: 'Add' }).click();
  const token = dialog.locator('[data-token]');
  await expect(token).toHaveText(/\S{16,}/);
  const value = (await token.textContent())!.trim();
  await dialog.getByRole('button', { name: 'Done' }).click();
  await expect(page.locator(`tr[data-user="${name}"]`)).toContainText('New Bie');

  // the token works
  const me = await fetch(`${server.baseURL}spaces/api/me`, {
    headers: { Authorization: `token ${value}` }
  });
  expect(me.status).toBe(200);
  expect((await me.json()).name).toBe(name);

  await page
    .locator(`tr[data-user="${name}"]`)
    .getByRole('button', { name: 'Remove' })
    .click();
  await page.locator('.jp-Dialog').getByRole('button', { name: 'Remove' }).click();
  await expect(page.locator(`tr[data-user="${name}"]`)).toHaveCount(0);
});

test('admins see every space’s metadata and may delete it', async ({
  home,
  api
}) => {
  const space = await createSpace(await api('bob'), {
    name: uniqueName('bobs'),
    sharing: 'private'
  });
  const page = await home('root');
  await page.getByRole('tab', { name: 'All spaces (admin)' }).click();
  const meta = page.locator(`.jp-SpacesAll tr[data-space="${space.name}"]`);
  await expect(meta).toContainText('bob');
  await meta.getByRole('button', { name: 'Delete' }).click();
  await page.locator('.jp-Dialog').getByRole('button', { name: 'Delete' }).click();
  await expect(meta).toHaveCount(0);
  expect((await (await api('bob')).get(`spaces/${space.name}`)).status()).toBe(404);
});
