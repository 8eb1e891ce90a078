import { APIRequestContext, Browser, Page } from '@playwright/test';

import { createSpace, expect, test, Theme, uniqueName } from './fixtures';

test('admins manage users: add shows the one-time token, remove asks first', async ({
  home,
  server
}) => {
  const page = await home('root');
  await page.getByRole('tab', { name: 'Users (admin)' }).click();
  await expect(page.locator('tr[data-user="alice"]')).toContainText(
    'Alice Archer'
  );
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
  await expect(page.locator(`tr[data-user="${name}"]`)).toContainText(
    'New Bie'
  );

  // the token works
  const me = await fetch(`${server.baseURL}spaces/api/me`, {
    headers: { Authorization: `token ${value}` }
  });
  expect(me.status).toBe(200);
  expect((await me.json()).name).toBe(name);

  await page
    .locator(`tr[data-user="${name}"]`)
    .getByRole('button', { name: 'Remove', exact: true })
    .click();
  await page
    .locator('.jp-Dialog')
    .getByRole('button', { name: 'Remove' })
    .click();
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
  await page
    .locator('.jp-Dialog')
    .getByRole('button', { name: 'Delete' })
    .click();
  await expect(meta).toHaveCount(0);
  expect((await (await api('bob')).get(`spaces/${space.name}`)).status()).toBe(
    404
  );
});

/* ---------------------------------------------- the admin console (issue 16) */

/** A new user made through the API (as root), with a browser signed in by a login link. */
async function signedInUser(
  browser: Browser,
  root: APIRequestContext,
  prefix: string
): Promise<{ name: string; page: Page }> {
  const name = uniqueName(prefix);
  const r = await root.post('users', {
    data: { name, display_name: `Temp ${prefix}` }
  });
  expect(r.status(), await r.text()).toBe(201);
  const link = await (await root.post(`users/${name}/login-link`)).json();
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(link.url);
  await expect(page.locator('.jp-SpacesHome-inner')).toBeVisible({
    timeout: 60_000
  });
  return { name, page };
}

test('an admin adds a user, copies the login link, and it signs a new browser in to the home, once', async ({
  browser,
  home,
  server
}) => {
  const page = await home('root');
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], {
    origin: new URL(server.baseURL).origin
  });
  await page.getByRole('tab', { name: 'Users (admin)' }).click();
  const name = uniqueName('linked');
  await page.getByRole('button', { name: 'Add user' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add user' });
  await dialog.getByLabel('User name').fill(name);
  await dialog.getByLabel('Display name').fill('Lin Ked');
  await dialog.getByRole('button', { name: 'Add' }).click();
  const link = dialog.locator('[data-login-link]');
  await expect(link).toHaveText(
    new RegExp(`^${server.baseURL}login\\?token=\\S{16,}$`)
  );
  await expect(dialog).toContainText('It works once, within 24 hours');
  await expect(dialog.locator('[data-token]')).toHaveText(/\S{16,}/);
  await dialog.getByRole('button', { name: 'Copy login link' }).click();
  await expect(
    dialog.getByRole('button', { name: 'Copy login link' })
  ).toHaveText('Copied');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe((await link.textContent())!.trim());
  await dialog.getByRole('button', { name: 'Done' }).click();

  // a browser that was never signed in opens the link and lands on the home
  const fresh = await browser.newContext();
  const other = await fresh.newPage();
  await other.goto(copied);
  await expect(other.locator('.jp-SpacesHome-inner')).toBeVisible({
    timeout: 60_000
  });
  await expect(other.locator('.jp-SpacesHome-me')).toContainText('Lin Ked');

  // the link worked once: a second browser gets a page that says what to do
  const late = await browser.newContext();
  const again = await late.newPage();
  const response = await again.goto(copied);
  expect(response?.status()).toBe(403);
  await expect(again.getByRole('heading')).toHaveText(
    'This login link no longer works'
  );
  await expect(again.locator('body')).toContainText('already used');
  await expect(again.locator('body')).toContainText(
    'Ask an administrator of this domain for a new login link'
  );
  await expect(again.locator('input[type=password]')).toHaveCount(0);
  await fresh.close();
  await late.close();
});

test('an admin makes a login link for an existing user from their row', async ({
  browser,
  home,
  api
}) => {
  const root = await api('root');
  const name = uniqueName('relink');
  expect((await root.post('users', { data: { name } })).status()).toBe(201);
  const page = await home('root');
  await page.getByRole('tab', { name: 'Users (admin)' }).click();
  await page
    .locator(`tr[data-user="${name}"]`)
    .getByRole('button', { name: 'Login link' })
    .click();
  const dialog = page.getByRole('dialog', { name: `Login link for ${name}` });
  const url = (await dialog.locator('[data-login-link]').textContent())!;
  const context = await browser.newContext();
  const other = await context.newPage();
  await other.goto(url.trim());
  await expect(other.locator('.jp-SpacesHome-me')).toContainText(name);
  await context.close();
  await dialog.getByRole('button', { name: 'Done' }).click();
});

test('promote and demote through the console; the last admin stays one', async ({
  home,
  api
}) => {
  const root = await api('root');
  const admins = (
    await (await root.get('users?limit=500')).json()
  ).items.filter((u: { admin: boolean }) => u.admin);
  expect(admins.map((u: { name: string }) => u.name)).toEqual(['root']);
  const page = await home('root');
  await page.getByRole('tab', { name: 'Users (admin)' }).click();
  const bobRow = page.locator('tr[data-user="bob"]');
  await bobRow.getByRole('button', { name: 'Make admin' }).click();
  await page
    .locator('.jp-Dialog')
    .getByRole('button', { name: 'Make admin' })
    .click();
  await expect(bobRow).toContainText('Admin');
  await expect(page.locator('.jp-SpacesUsers').getByRole('status')).toHaveText(
    'Bob Baker is now an administrator.'
  );
  expect((await (await api('bob')).get('audit')).status()).toBe(200);

  await bobRow.getByRole('button', { name: 'Remove admin' }).click();
  await page
    .locator('.jp-Dialog')
    .getByRole('button', { name: 'Remove admin rights' })
    .click();
  await expect(
    bobRow.getByRole('button', { name: 'Make admin' })
  ).toBeVisible();
  expect((await (await api('bob')).get('audit')).status()).toBe(403);

  // root is the only administrator left: the console says so, and nothing changes
  await page
    .locator('tr[data-user="root"]')
    .getByRole('button', { name: 'Remove admin' })
    .click();
  const refusal = page.locator('.jp-Dialog');
  await expect(refusal).toContainText('Rita Root stays an administrator');
  await expect(refusal).toContainText(
    'Rita Root is the only administrator, and the domain must keep at least one.'
  );
  await refusal.getByRole('button', { name: 'OK' }).click();
  expect((await (await root.get('users/root')).json()).admin).toBe(true);
});

test('an admin resizes a stopped space of another user’s through All spaces', async ({
  home,
  api,
  deleteAfter
}) => {
  const bob = await api('bob');
  const space = await createSpace(bob, {
    name: uniqueName('grow'),
    sharing: 'private',
    volume_gb: 2
  });
  deleteAfter(space.name);
  const types = (await (await bob.get('instance-types')).json()).items;
  const target = types.find(
    (t: { name: string; available: boolean }) =>
      t.available && t.name !== space.instance_type
  );
  expect(target, 'another available instance type').toBeTruthy();

  const page = await home('root');
  await page.getByRole('tab', { name: 'All spaces (admin)' }).click();
  const meta = page.locator(`.jp-SpacesAll tr[data-space="${space.name}"]`);
  await expect(meta).toContainText('of 2 GiB');
  await meta.getByRole('button', { name: 'Resize' }).click();
  const dialog = page.getByRole('dialog', { name: /^Resize / });
  await dialog.getByLabel('Instance type').selectOption(target.name);
  await dialog.getByLabel('Volume size (GiB)').fill('3');
  await dialog.getByRole('button', { name: 'Resize' }).click();
  await expect(dialog).toHaveCount(0, { timeout: 60_000 });
  await expect(meta).toContainText('of 3 GiB');
  await expect(meta).toContainText(target.name);
  const after = await (await bob.get(`spaces/${space.name}`)).json();
  expect([after.instance_type, after.volume_gb]).toEqual([target.name, 3]);
});

test('sign out everywhere through the console ends the user’s browser sessions; the audit log shows it', async ({
  browser,
  home,
  api
}) => {
  const root = await api('root');
  const { name, page: theirs } = await signedInUser(browser, root, 'leaver');
  const me = () =>
    theirs.evaluate(async () => (await fetch('spaces/api/me')).status);
  expect(await me()).toBe(200);

  const page = await home('root');
  await page.getByRole('tab', { name: 'Users (admin)' }).click();
  await page
    .locator(`tr[data-user="${name}"]`)
    .getByRole('button', { name: 'Sign out everywhere' })
    .click();
  await page
    .locator('.jp-Dialog')
    .getByRole('button', { name: 'Sign out everywhere' })
    .click();
  await expect(page.locator('.jp-SpacesUsers').getByRole('status')).toHaveText(
    'Temp leaver was signed out everywhere.'
  );
  await expect.poll(me, { timeout: 10_000 }).toBe(403);
  await theirs.context().close();

  await page.getByRole('tab', { name: 'Audit log (admin)' }).click();
  const audit = page.locator('.jp-SpacesAudit');
  await audit.getByLabel('Action').selectOption('user.sign_out');
  await audit.getByLabel('Target').fill(name);
  await audit.getByRole('button', { name: 'Apply' }).click();
  const rows = audit.locator('tbody tr[data-audit]');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('root');
  await expect(rows.first()).toContainText('user.sign_out');
  await expect(rows.first()).toContainText('sessions=1');
  await audit.getByLabel('Action').selectOption('user');
  await audit.getByRole('button', { name: 'Apply' }).click();
  // created, a login link made, signed in, signed out
  await expect(rows).toHaveCount(4);
});

/* ------------------------------------------------- reference screenshots */

/** The screenshot user's two spaces (as screenshots.spec.ts makes them). */
async function shotSpaces(shot: APIRequestContext): Promise<void> {
  if ((await shot.get('spaces/shot-analysis')).status() === 404) {
    await createSpace(shot, {
      name: 'shot-analysis',
      display_name: 'Team analysis',
      sharing: 'shared',
      instance_type: 'medium',
      volume_gb: 20
    });
    await createSpace(shot, {
      name: 'shot-notes',
      display_name: 'My notes',
      sharing: 'private'
    });
  }
}

/** The users every run has (others come and go with the tests). */
const FIXED_USERS = ['alice', 'bob', 'linus', 'root', 'shot'];

for (const theme of ['light', 'dark'] as Theme[]) {
  test(`admin console, ${theme} theme`, async ({ home, api }) => {
    await shotSpaces(await api('shot'));
    const page = await home('root', { theme });
    const widget = page.locator('#jp-spaces-home');
    const times = page.locator('.jp-SpacesTime');

    await page.getByRole('tab', { name: 'All spaces (admin)' }).click();
    await page.getByLabel('Search all spaces').fill('shot-');
    await expect(
      page.locator('.jp-SpacesAll tbody tr[data-space]')
    ).toHaveCount(2);
    await expect(widget).toHaveScreenshot(`admin-spaces-${theme}.png`, {
      mask: [times]
    });
    await page
      .locator('.jp-SpacesAll tr[data-space="shot-notes"]')
      .getByRole('button', { name: 'Resize' })
      .click();
    const resize = page.getByRole('dialog', { name: 'Resize My notes' });
    await expect(resize).toHaveScreenshot(`admin-resize-${theme}.png`);
    await resize.getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('tab', { name: 'Users (admin)' }).click();
    // only the users every run has, whatever other tests added
    await page.addStyleTag({
      content: `.jp-SpacesUsers tbody tr${FIXED_USERS.map(u => `:not([data-user="${u}"])`).join('')} { display: none; }`
    });
    await expect(page.locator('.jp-SpacesUsers tbody tr:visible')).toHaveCount(
      FIXED_USERS.length
    );
    await expect(widget).toHaveScreenshot(`admin-users-${theme}.png`, {
      mask: [times]
    });
    await page.getByRole('button', { name: 'Add user' }).click();
    const add = page.getByRole('dialog', { name: 'Add user' });
    await add.getByLabel('User name').fill(`newcomer-${theme}`);
    await add.getByLabel('Display name').fill('New Comer');
    await add.getByRole('button', { name: 'Add' }).click();
    await expect(add.locator('[data-login-link]')).toBeVisible();
    await expect(add).toHaveScreenshot(`admin-user-added-${theme}.png`, {
      mask: [
        add.locator('[data-login-link]'),
        add.locator('[data-token]'),
        add.locator('.jp-SpacesLinkExpiry')
      ]
    });
    await add.getByRole('button', { name: 'Done' }).click();

    await page.getByRole('tab', { name: 'Audit log (admin)' }).click();
    const audit = page.locator('.jp-SpacesAudit');
    await audit.getByLabel('Actor').fill('shot');
    await audit.getByLabel('Action').selectOption('space.create');
    await audit.getByRole('button', { name: 'Apply' }).click();
    await expect(audit.locator('tbody tr[data-audit]')).toHaveCount(2);
    await expect(widget).toHaveScreenshot(`admin-audit-${theme}.png`, {
      mask: [times]
    });
  });
}
