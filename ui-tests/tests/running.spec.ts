/**
 * Running spaces: start with progress, open a space's JupyterLab through the
 * domain's proxy, stop/resize/start, co-editing between users and viewers.
 * The spaces a test starts are stopped and deleted after it (fixtures.ts).
 */
import { Page } from '@playwright/test';

import {
  createSpace,
  expect,
  row,
  spaceApi,
  START_TIMEOUT,
  test,
  uniqueName
} from './fixtures';

test.describe.configure({ timeout: 240_000 });

test.describe('running spaces', () => {
  test('a start can be cancelled from the home: the space ends stopped', async ({
    api,
    home,
    deleteAfter
  }) => {
    const alice = await api('alice');
    const space = await createSpace(alice, {
      name: uniqueName('run-cancel'),
      sharing: 'private'
    });
    deleteAfter(space.name);
    const page = await home('alice');
    const r = row(page, space.name);
    await r.getByRole('button', { name: 'Start' }).click();
    await expect(r).toContainText('Starting', { timeout: 30_000 });
    await r.getByRole('button', { name: 'Cancel start' }).click();
    await expect(r.locator('.jp-SpacesStatus')).toHaveText('Stopped', {
      timeout: 60_000
    });
    await expect(r.getByRole('button', { name: 'Start' })).toBeEnabled();
  });

  test('start shows progress from the events stream; Open loads the space with the switcher', async ({
    server,
    api,
    home,
    deleteAfter
  }) => {
    const alice = await api('alice');
    const space = await createSpace(alice, {
      name: uniqueName('run-start'),
      display_name: 'Started together',
      sharing: 'shared'
    });
    deleteAfter(space.name);
    const page = await home('alice');
    const r = row(page, space.name);
    await expect(r).toContainText('Stopped');
    await r.getByRole('button', { name: 'Start' }).click();

    // the progress bar shows a percent and a message before the space runs
    const bar = r.getByRole('progressbar');
    await expect(bar).toBeVisible({ timeout: 30_000 });
    await expect(bar).toHaveAttribute('aria-valuenow', /^\d+$/);
    await expect(r.locator('.jp-SpacesProgress-message')).not.toBeEmpty();
    await expect(r).toContainText('Starting');
    const percent = Number(await bar.getAttribute('aria-valuenow'));
    expect(percent).toBeGreaterThanOrEqual(0);
    expect(percent).toBeLessThan(100);

    await expect(r.locator('.jp-SpacesStatus')).toHaveText('Running', {
      timeout: START_TIMEOUT
    });
    await expect(bar).toHaveCount(0);

    await r.getByRole('button', { name: 'Open' }).click();
    await page.waitForURL(`${server.baseURL}spaces/${space.name}/lab**`, {
      timeout: 60_000
    });
    const switcher = page.locator('.jp-SpacesSwitcher-button');
    await expect(switcher).toBeVisible({ timeout: 60_000 });
    await expect(switcher).toContainText('Started together');
    await expect(switcher.locator('.jp-SpacesBadge')).toHaveText('Shared');
    await expect(switcher.locator('.jp-SpacesDot')).toHaveAttribute(
      'aria-label',
      'Running'
    );
    // and JupyterLab itself works there: the launcher and file browser
    await expect(page.locator('#filebrowser')).toBeAttached();
    // a shared space's launcher carries the RTC badge
    await expect(
      page.locator('.jp-MainAreaWidget:has(.jp-Launcher) > .jp-SpacesRtcBadge')
    ).toHaveText('Collaborative');
    // the extension's settings (schema/plugin.json) are known to the space
    const settings = await page.request.get(
      `${server.baseURL}spaces/${space.name}/lab/api/settings/jupyter-spaces:plugin`
    );
    expect(settings.status(), await settings.text()).toBe(200);
    expect(
      (await settings.json()).schema.properties.openInNewTab.default
    ).toBe(false);
  });

  test('stop, change instance type and volume size, start: earlier files are still there', async ({
    server,
    api,
    home,
    startSpace
  }) => {
    const alice = await api('alice');
    const space = await createSpace(alice, {
      name: uniqueName('run-resize'),
      sharing: 'private',
      instance_type: 'small',
      volume_gb: 2
    });
    await startSpace(alice, space.name);
    const page = await home('alice');
    const put = await spaceApi(
      page,
      server,
      space.name,
      'PUT',
      'contents/x.txt',
      {
        type: 'file',
        format: 'text',
        content: 'kept across restarts\n'
      }
    );
    expect(put.status(), await put.text()).toBeLessThan(300);

    const r = row(page, space.name);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect(r.locator('.jp-SpacesStatus')).toHaveText('Running');
    await r.getByRole('button', { name: 'Stop' }).click();
    // the confirmation counts what ends (read through the proxy): nothing runs
    const confirmStop = page.locator('.jp-Dialog');
    await expect(confirmStop).toContainText(
      '0 running kernels and 0 terminals'
    );
    await expect(confirmStop).toContainText('keep running');
    await confirmStop.getByRole('button', { name: 'Stop' }).click();
    await expect(r.locator('.jp-SpacesStatus')).toHaveText('Stopped', {
      timeout: START_TIMEOUT
    });

    await r.getByRole('button', { name: 'Settings' }).click();
    const dialog = page.getByRole('dialog', { name: /Settings of/ });
    await expect(dialog).toBeVisible();
    await dialog.getByLabel('Instance type').selectOption('medium');
    await dialog.getByLabel('Volume size (GB)').fill('3');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect(dialog).toHaveCount(0);
    await expect(r).toContainText('medium');
    expect(
      await (await alice.get(`spaces/${space.name}`)).json()
    ).toMatchObject({
      instance_type: 'medium',
      volume_gb: 3,
      status: 'stopped'
    });

    await r.getByRole('button', { name: 'Start' }).click();
    await expect(r.locator('.jp-SpacesStatus')).toHaveText('Running', {
      timeout: START_TIMEOUT
    });
    const get = await spaceApi(
      page,
      server,
      space.name,
      'GET',
      'contents/x.txt'
    );
    expect(get.status(), await get.text()).toBe(200);
    expect((await get.json()).content).toBe('kept across restarts\n');
  });

  test('two users co-edit a notebook in a shared space: text, avatars, saved file', async ({
    server,
    sharedNotebook
  }) => {
    // bob in the dark theme: one space gives both reference screenshots
    const {
      space,
      owner: pageA,
      member: pageB
    } = await sharedNotebook({
      prefix: 'run-coedit',
      displayName: 'Co-editing',
      member: 'bob',
      role: 'editor',
      path: 'co.ipynb',
      memberTheme: 'dark'
    });

    const cellA = cellEditor(pageA);
    const cellB = cellEditor(pageB);
    await expect(cellA).toBeVisible({ timeout: 60_000 });
    await expect(cellB).toBeVisible({ timeout: 60_000 });
    // both see the notebook's content through the shared document
    await expect(cellA).toContainText('start = 0');
    await expect(cellB).toContainText('start = 0');

    await cellA.click();
    await pageA.keyboard.press('Control+End');
    await pageA.keyboard.press('Enter');
    await pageA.keyboard.type('alice_was_here = 1');
    await expect(cellB).toContainText('alice_was_here = 1');

    await cellB.click();
    await pageB.keyboard.press('Control+End');
    await pageB.keyboard.press('Enter');
    await pageB.keyboard.type('bob_was_here = 2');
    await expect(cellA).toContainText('bob_was_here = 2');
    await expect(cellB).toContainText('alice_was_here = 1');

    // the avatars of both people, at the top right, for each of them
    for (const page of [pageA, pageB]) {
      const avatars = page.locator('.jp-SpacesAvatars');
      await expect(avatars).toBeVisible();
      await expect(
        avatars.locator('.jp-SpacesAvatar', { hasText: 'AA' })
      ).toBeVisible();
      await expect(
        avatars.locator('.jp-SpacesAvatar', { hasText: 'BB' })
      ).toBeVisible();
    }

    // saved: the notebook on disk has both edits
    await pageA.keyboard.press('Control+s');
    await expect
      .poll(
        async () => {
          const r = await spaceApi(
            pageA,
            server,
            space.name,
            'GET',
            'contents/co.ipynb'
          );
          const nb = (await r.json()).content;
          const src = nb.cells[0].source;
          return Array.isArray(src) ? src.join('') : src;
        },
        { timeout: 30_000 }
      )
      .toMatch(/alice_was_here = 1[\s\S]*bob_was_here = 2/);

    // no 'File Changed' dialog after the save, nothing modal over the page
    await pageA.waitForTimeout(1500);
    for (const page of [pageA, pageB]) {
      await expect(page.locator('.jp-Dialog')).toHaveCount(0);
    }

    // reference screenshots of the switcher, light (alice) and dark (bob)
    await expect(pageA.locator('.jp-SpacesSwitcher-button')).toHaveScreenshot(
      'switcher-light.png'
    );
    await expect(pageB.locator('.jp-SpacesSwitcher-button')).toHaveScreenshot(
      'switcher-dark.png'
    );
    // and of the whole page of each: both edits, both avatars, the other
    // person's cursor (volatile parts masked: kernel state, status bar, times)
    // (the local cursors blink; the other person's cursor is what counts)
    for (const page of [pageA, pageB]) {
      await page.addStyleTag({
        content: '.cm-cursorLayer { visibility: hidden !important; }'
      });
    }
    await expect(pageA).toHaveScreenshot('coedit-light.png', {
      mask: volatile(pageA)
    });
    await expect(pageB).toHaveScreenshot('coedit-dark.png', {
      mask: volatile(pageB)
    });
  });

  test('a viewer can open the notebook but cannot change it', async ({
    server,
    sharedNotebook
  }) => {
    const {
      space,
      owner: pageA,
      member: pageV
    } = await sharedNotebook({
      prefix: 'run-viewer',
      member: 'shot',
      role: 'viewer',
      path: 'view.ipynb'
    });

    const cellA = cellEditor(pageA);
    const cellV = cellEditor(pageV);
    // the viewer sees the notebook and the owner's edits
    await expect(cellV).toContainText('start = 0', { timeout: 60_000 });
    await cellA.click();
    await pageA.keyboard.press('Control+End');
    await pageA.keyboard.type(' # owner');
    await expect(cellV).toContainText('start = 0 # owner');

    // the viewer's page says the document is read-only
    await expect(
      pageV.locator('.jp-NotebookPanel .jp-SpacesReadOnly')
    ).toHaveText('Read-only (viewer)');
    await expect(pageA.locator('.jp-SpacesReadOnly')).toHaveCount(0);

    // the viewer types: not even the viewer's own copy changes
    await cellV.click();
    await pageV.keyboard.press('Control+End');
    await pageV.keyboard.type(' VIEWER_TYPED');
    await pageV.keyboard.press('Control+v');
    await pageV.keyboard.press('Escape');
    await pageV.keyboard.press('d');
    await pageV.keyboard.press('d');
    await pageV.keyboard.press('b');
    await expect(pageV.locator('.jp-NotebookPanel .jp-Cell')).toHaveCount(1);
    await expect(cellV).toHaveText('start = 0 # owner');
    // nothing reaches the owner nor the disk
    await pageA.waitForTimeout(3000);
    await expect(cellA).not.toContainText('VIEWER_TYPED');
    await pageA.keyboard.press('Control+s');
    await expect
      .poll(async () => {
        const r = await spaceApi(
          pageA,
          server,
          space.name,
          'GET',
          'contents/view.ipynb'
        );
        const src = (await r.json()).content.cells[0].source;
        return Array.isArray(src) ? src.join('') : src;
      })
      .toContain('# owner');
    const r = await spaceApi(
      pageA,
      server,
      space.name,
      'GET',
      'contents/view.ipynb'
    );
    expect(JSON.stringify((await r.json()).content)).not.toContain(
      'VIEWER_TYPED'
    );
  });
});

/** The editor of the first cell of the open notebook. */
function cellEditor(page: Page) {
  return page
    .locator('.jp-NotebookPanel .jp-Cell')
    .first()
    .locator('.cm-content');
}

/** Parts of a space's JupyterLab that change from run to run. */
function volatile(page: Page) {
  return [
    page.locator('#jp-main-statusbar'),
    page.locator('.jp-DirListing-itemModified'),
    page.locator('.jp-DirListing-headerItem.jp-id-modified'),
    page.locator('[data-jp-item-name="kernelName"]'),
    page.locator('[data-jp-item-name="kernelStatus"]'),
    page.locator('[data-jp-item-name="executionProgress"]')
  ];
}
