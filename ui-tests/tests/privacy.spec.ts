import { createSpace, expect, row, test, uniqueName } from './fixtures';

test('a private space never appears for another user or an admin, and its URL is not found', async ({
  home,
  server,
  api
}) => {
  const secret = await createSpace(await api('alice'), {
    name: uniqueName('secret'),
    sharing: 'private'
  });
  const visible = await createSpace(await api('alice'), {
    name: uniqueName('open'),
    sharing: 'shared'
  });

  // Another user: not in the list, not by search, and the URL is a 404 page.
  const bob = await home('bob');
  await expect(row(bob, visible.name)).toBeVisible();
  await expect(row(bob, secret.name)).toHaveCount(0);
  await bob.getByRole('searchbox', { name: 'Search spaces' }).fill(secret.name);
  await expect(bob.locator('.jp-SpacesEmpty')).toBeVisible();
  const bobLab = await bob.goto(`${server.baseURL}spaces/${secret.name}/lab`);
  expect(bobLab?.status()).toBe(404);
  await expect(bob.locator('body')).not.toContainText(secret.name + ' ·');
  expect((await (await api('bob')).get(`spaces/${secret.name}`)).status()).toBe(404);
  await bob.context().close();

  // An admin: not in "My spaces"; only in the all-spaces metadata view.
  const root = await home('root');
  await expect(row(root, visible.name)).toBeVisible();
  await expect(row(root, secret.name)).toHaveCount(0);
  await root.getByRole('tab', { name: 'All spaces (admin)' }).click();
  const meta = root.locator(`.jp-SpacesAll tr[data-space="${secret.name}"]`);
  await expect(meta).toContainText('alice');
  await expect(meta).toContainText('Private');
  await expect(meta.getByRole('link')).toHaveCount(0); // nothing to open
  const rootLab = await root.goto(`${server.baseURL}spaces/${secret.name}/lab`);
  expect(rootLab?.status()).toBe(404);
  await root.context().close();

  // The owner sees it.
  const alice = await home('alice');
  await expect(row(alice, secret.name)).toBeVisible();
});
