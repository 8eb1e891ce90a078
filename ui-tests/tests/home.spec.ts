import { Page } from '@playwright/test';

import {
  createSpace,
  expect,
  row,
  test,
  uniqueName
} from './fixtures';

test.describe('spaces home', () => {
  test('lists the caller’s spaces with their fields; search and filters narrow it', async ({
    home,
    api
  }) => {
    const alice = await api('alice');
    const shared = await createSpace(alice, {
      name: uniqueName('list-shared'),
      display_name: 'Shared analysis',
      sharing: 'shared',
      instance_type: 'medium'
    });
    const priv = await createSpace(alice, {
      name: uniqueName('list-private'),
      sharing: 'private'
    });
    const page = await home('alice');
    const sharedRow = row(page, shared.name);
    await expect(sharedRow).toContainText('Shared analysis');
    await expect(sharedRow).toContainText('Shared');
    await expect(sharedRow).toContainText('JupyterLab');
    await expect(sharedRow).toContainText('medium');
    await expect(sharedRow).toContainText('Stopped');
    await expect(sharedRow).toContainText('alice');
    await expect(row(page, priv.name)).toContainText('Private');

    // search
    await page.getByRole('searchbox', { name: 'Search spaces' }).fill(shared.name);
    await expect(row(page, shared.name)).toBeVisible();
    await expect(row(page, priv.name)).toHaveCount(0);
    await page.getByRole('searchbox', { name: 'Search spaces' }).fill('');

    // sharing filter
    await page.getByRole('combobox', { name: 'Sharing' }).selectOption('private');
    await expect(row(page, priv.name)).toBeVisible();
    await expect(row(page, shared.name)).toHaveCount(0);
    await page.getByRole('combobox', { name: 'Sharing' }).selectOption('');
    await expect(row(page, shared.name)).toBeVisible();
  });

  test('creates a shared and a private space through the dialog', async ({
    home,
    api
  }) => {
    const page = await home('alice');
    const names = {
      shared: uniqueName('dlg-shared'),
      private: uniqueName('dlg-private')
    };
    for (const sharing of ['shared', 'private'] as const) {
      await page.getByRole('button', { name: 'Create space' }).click();
      const dialog = page.getByRole('dialog', { name: 'Create space' });
      await expect(dialog).toBeVisible();
      await dialog.getByLabel('Name', { exact: true }).fill(names[sharing]);
      await dialog.getByLabel('Display name').fill(`Dialog ${sharing}`);
      await dialog
        .getByRole('radio', { name: sharing === 'shared' ? 'Shared' : 'Private' })
        .check();
      await dialog.getByLabel('Instance type').selectOption('medium');
      await dialog.getByLabel('Volume size (GiB)').fill('7');
      await dialog.getByRole('button', { name: 'Create' }).click();
      await expect(dialog).toHaveCount(0);
      await expect(row(page, names[sharing])).toContainText(`Dialog ${sharing}`);
    }
    const alice = await api('alice');
    for (const sharing of ['shared', 'private'] as const) {
      const space = await (await alice.get(`spaces/${names[sharing]}`)).json();
      expect(space).toMatchObject({
        sharing,
        instance_type: 'medium',
        volume_gb: 7,
        owner: 'alice',
        status: 'stopped'
      });
    }
  });

  test('the keyboard alone: create dialog, row actions', async ({
    home
  }) => {
    const page = await home('alice');
    const name = uniqueName('keys');
    // (the command palette's "New Space…" has a test of its own, below)
    const create = page.getByRole('button', { name: 'Create space' });
    await create.focus();
    await expect(create).toBeFocused();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Create space' });
    await expect(dialog).toBeVisible();
    await expect(dialog.getByLabel('Name', { exact: true })).toBeFocused();
    await page.keyboard.type(name);
    await page.keyboard.press('Enter'); // the dialog's default button: Create
    await expect(dialog).toHaveCount(0);
    const created = row(page, name);
    await expect(created).toContainText('Stopped');
    // row actions are focusable buttons that Enter activates
    const settings = created.getByRole('button', { name: 'Settings' });
    await settings.focus();
    await expect(settings).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(page.getByRole('dialog')).toBeVisible();
    await page.keyboard.press('Escape');
    await expect(page.getByRole('dialog')).toHaveCount(0);
  });

  test('the command palette opened as the home loads stays open and runs "New Space…"', async ({
    home,
    api
  }) => {
    const space = await createSpace(await api('alice'), {
      name: uniqueName('palette'),
      sharing: 'private'
    });
    // the spaces list (and the live feed, which brings it too) is held back
    // until the palette is open
    let release = () => {};
    const held = new Promise<void>(resolve => (release = resolve));
    const page = await home('alice', {
      prepare: opening =>
        opening.route(/\/spaces\/api\/(spaces|events)(\?|$)/, async route => {
          await held;
          await route.continue();
        })
    });
    await page.keyboard.press('Control+Shift+C');
    const palette = page.locator('#command-palette');
    const input = palette.locator('.lm-CommandPalette-input');
    await expect(palette).toBeVisible();
    await expect(input).toBeFocused();
    // the list arrives and renders under the open palette, which stays open
    await expect(row(page, space.name)).toHaveCount(0);
    release();
    await expect(row(page, space.name)).toBeVisible();
    await page.waitForTimeout(3000);
    await expect(palette).toBeVisible();
    await expect(input).toBeFocused();
    await page.keyboard.type('New Space');
    await page.keyboard.press('Enter');
    await expect(palette).toBeHidden();
    const dialog = page.getByRole('dialog', { name: 'Create space' });
    await expect(dialog).toBeVisible();
    await expect(dialog.getByLabel('Name', { exact: true })).toBeFocused();
    await page.keyboard.press('Escape');
    await expect(dialog).toHaveCount(0);
  });

  test('explains invalid input inline and keeps the dialog open', async ({
    home,
    server
  }) => {
    const page = await home('alice');
    await page.getByRole('button', { name: 'Create space' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create space' });
    const name = dialog.getByLabel('Name', { exact: true });
    await name.fill('Not A Name');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await expect(name).toHaveAttribute('aria-invalid', 'true');
    // the rule in words, next to the field, not the pattern
    await expect(dialog.getByRole('alert')).toContainText(
      'The name may contain only lowercase letters (a-z), digits and single hyphens'
    );
    await expect(dialog.getByRole('alert')).not.toContainText('^');
    // the reserved names are explained too
    await name.fill('home');
    await expect(dialog.getByRole('alert')).toHaveCount(0);
    await dialog.getByRole('button', { name: 'Create' }).click();
    await expect(dialog.getByRole('alert')).toContainText('reserved');
    // unavailable app types are disabled, with the reason
    const app = dialog.getByLabel('Application');
    const rstudio = app.locator('option[value="rstudio"]');
    await expect(rstudio).toBeDisabled();
    const catalog = await (
      await page.request.get(`${server.baseURL}spaces/api/app-types`)
    ).json();
    const reason = catalog.items.find((a: any) => a.name === 'rstudio').reason;
    await expect(rstudio).toContainText(`unavailable: ${reason}`);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toHaveCount(0);
  });

  test('a taken name is explained at the name field', async ({
    home,
    api
  }) => {
    const taken = await createSpace(await api('bob'), {
      name: uniqueName('taken'),
      sharing: 'private'
    });
    const page = await home('alice');
    await page.getByRole('button', { name: 'Create space' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create space' });
    await dialog.getByLabel('Name', { exact: true }).fill(taken.name);
    await dialog.getByRole('button', { name: 'Create' }).click();
    await expect(dialog.getByRole('alert')).toContainText('taken');
  });

  test('changes settings while stopped', async ({ home, api }) => {
    const alice = await api('alice');
    const space = await createSpace(alice, {
      name: uniqueName('settings'),
      sharing: 'private'
    });
    const page = await home('alice');
    await row(page, space.name).getByRole('button', { name: 'Settings' }).click();
    const dialog = page.getByRole('dialog', { name: /^Settings of/ });
    await expect(dialog.getByRole('note')).toHaveCount(0); // not locked
    await dialog.getByLabel('Instance type').selectOption('large');
    await dialog.getByLabel('Volume size (GiB)').fill('12');
    await dialog.getByLabel('Display name').fill('Renamed space');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect(dialog).toHaveCount(0);
    await expect(row(page, space.name)).toContainText('large');
    await expect(row(page, space.name)).toContainText('Renamed space');
    const after = await (await alice.get(`spaces/${space.name}`)).json();
    expect(after).toMatchObject({
      instance_type: 'large',
      volume_gb: 12,
      display_name: 'Renamed space'
    });
  });

  test('deletes a space after a confirmation naming what is lost', async ({
    home,
    api
  }) => {
    const alice = await api('alice');
    const space = await createSpace(alice, {
      name: uniqueName('doomed'),
      sharing: 'shared',
      volume_gb: 3
    });
    const page = await home('alice');
    await row(page, space.name).getByRole('button', { name: 'Delete' }).click();
    let dialog = page.locator('.jp-Dialog').filter({ hasText: 'cannot be undone' });
    await expect(dialog).toContainText(space.name);
    await expect(dialog).toContainText('3 GiB volume');
    await expect(dialog).toContainText('members lose access');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(row(page, space.name)).toBeVisible();
    expect((await alice.get(`spaces/${space.name}`)).status()).toBe(200);

    await row(page, space.name).getByRole('button', { name: 'Delete' }).click();
    dialog = page.locator('.jp-Dialog').filter({ hasText: 'cannot be undone' });
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await expect(row(page, space.name)).toHaveCount(0);
    expect((await alice.get(`spaces/${space.name}`)).status()).toBe(404);
  });

  test('shows the server’s message when an action is refused', async ({
    home,
    api
  }) => {
    const space = await createSpace(await api('alice'), {
      name: uniqueName('refused'),
      sharing: 'private'
    });
    // Without the live feed, so that the home does not learn of the deletion below.
    const page = await home('alice', {
      prepare: opening =>
        opening.route(/\/spaces\/api\/events(\?|$)/, route => route.abort())
    });
    // The space is deleted behind the home's back: the next action is refused.
    expect((await (await api('alice')).delete(`spaces/${space.name}`)).status()).toBe(204);
    await row(page, space.name).getByRole('button', { name: 'Settings' }).click();
    const dialog = page.getByRole('dialog', { name: /^Settings of/ });
    await dialog.getByLabel('Volume size (GiB)').fill('9');
    await dialog.getByRole('button', { name: 'Save' }).click();
    const answer = await (await api('alice')).get(`spaces/${space.name}`);
    const { message } = await answer.json();
    await expect(dialog.getByRole('alert')).toHaveText(message);
  });

  test('members and roles of a shared space', async ({ home, api }) => {
    const space = await createSpace(await api('alice'), {
      name: uniqueName('team'),
      sharing: 'shared'
    });
    const page = await home('alice');
    await row(page, space.name).getByRole('button', { name: 'Members' }).click();
    const dialog = page.getByRole('dialog', { name: /^Members of/ });
    await expect(dialog).toContainText('Alice Archer');
    // what non-members may do is the domain's default role (editor here)
    await expect(dialog).toContainText(
      'Everyone else in the domain who is not listed here is an editor of this shared space'
    );
    await dialog.getByLabel('Add member').selectOption('bob');
    await dialog.getByLabel('Role', { exact: true }).selectOption('viewer');
    await dialog.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(dialog.getByRole('combobox', { name: 'Role of Bob Baker' })).toHaveValue(
      'viewer'
    );
    const members = await (await (await api('bob')).get(`spaces/${space.name}/members`)).json();
    expect(members.items.map((m: any) => [m.user.name, m.role])).toEqual([
      ['alice', 'owner'],
      ['bob', 'viewer']
    ]);
    await dialog.getByRole('button', { name: 'Close' }).click();
  });
});

test.describe('the home is quiet', () => {
  test('loads with no refused or failed request to the server’s APIs, in both themes', async ({
    home
  }) => {
    for (const theme of ['light', 'dark'] as const) {
      const failed: string[] = [];
      const errors: string[] = [];
      const listen = (page: Page) => {
        page.on('response', response => {
          const url = response.url();
          if (url.includes('/api/') && response.status() >= 400) {
            failed.push(`${response.status()} ${response.request().method()} ${url}`);
          }
        });
        page.on('console', message => {
          if (message.type() === 'error') {
            errors.push(message.text());
          }
        });
        page.on('requestfailed', request => {
          if (request.url().includes('/api/')) {
            failed.push(`failed ${request.method()} ${request.url()}`);
          }
        });
      };
      const page = await home('alice', { theme, prepare: listen });
      // JupyterLab's theme applies (the theme manager is kept)
      await expect(page.locator('body')).toHaveAttribute(
        'data-jp-theme-light',
        theme === 'light' ? 'true' : 'false'
      );
      // late requests (plugins polling after start) included
      await page.waitForTimeout(3000);
      expect(failed).toEqual([]);
      // nor refused websockets, nor plugins failing for want of a refused one
      expect(
        errors
          .map(e => e.split('\n')[0])
          .filter(e => /\/api\/|plugin|40[34]/i.test(e))
      ).toEqual([]);
      await page.context().close();
    }
  });
});
