/**
 * Browser login for every user (issue 16): a user who came in with a login
 * link sets their own password in the home, then signs in with it on the
 * sign-in page; a used link says what to do.
 */
import { expect, test, uniqueName } from './fixtures';

test('a user who came in by a login link sets a password and signs in with it', async ({
  browser,
  api
}) => {
  const root = await api('root');
  const name = uniqueName('pw');
  expect(
    (
      await root.post('users', { data: { name, display_name: 'Pat Word' } })
    ).status()
  ).toBe(201);
  const link = await (await root.post(`users/${name}/login-link`)).json();

  const first = await browser.newContext();
  const page = await first.newPage();
  await page.goto(link.url);
  await expect(page.locator('.jp-SpacesHome-inner')).toBeVisible({
    timeout: 60_000
  });
  await page.getByRole('button', { name: 'Pat Word' }).click();
  const dialog = page.getByRole('dialog', { name: 'Your password' });
  await dialog.getByLabel('New password').fill('short');
  await dialog.getByRole('button', { name: 'Set password' }).click();
  await expect(dialog.getByRole('alert')).toHaveText(
    'A password has at least 8 characters.'
  );
  await dialog.getByLabel('New password').fill('correct horse battery');
  await dialog.getByRole('button', { name: 'Set password' }).click();
  await expect(dialog).toHaveCount(0);
  await expect(page.getByText('Your password was set.')).toBeVisible();
  await first.close();

  // another browser: the sign-in page and the password
  const second = await browser.newContext();
  const login = await second.newPage();
  await login.goto(new URL('login', link.url).href);
  await login.getByLabel('User name').fill(name);
  await login.getByLabel('Password').fill('correct horse battery');
  await login.getByRole('button', { name: 'Sign in' }).click();
  await expect(login.locator('.jp-SpacesHome-me')).toContainText('Pat Word', {
    timeout: 60_000
  });
  // a token of their own, shown once, for scripts and notebooks
  await login.getByRole('button', { name: 'Tokens' }).click();
  const tokens = login.getByRole('dialog', { name: 'Your API tokens' });
  await tokens.getByLabel('Note (what it is for)').fill('notebook');
  await tokens.getByRole('button', { name: 'New token' }).click();
  const secret = (await tokens.locator('[data-new-token]').textContent())!;
  const me = await login.request.get(new URL('spaces/api/me', link.url).href, {
    headers: { Authorization: `token ${secret}`, Cookie: '' }
  });
  expect((await me.json()).name).toBe(name);
  await tokens.getByRole('button', { name: 'Close' }).click();
  // and the home's Log out ends the session
  await login.getByRole('link', { name: 'Log out' }).click();
  await login.goto(new URL('spaces/home', link.url).href);
  await expect(login.getByLabel('User name')).toBeVisible({ timeout: 30_000 });

  // the link was used: opening it again says so, and how to get another
  const third = await browser.newContext();
  const again = await third.newPage();
  expect((await again.goto(link.url))?.status()).toBe(403);
  await expect(again.getByRole('heading')).toHaveText(
    'This login link no longer works'
  );
  await expect(again.getByRole('link', { name: 'Sign in' })).toBeVisible();
  await second.close();
  await third.close();
});
