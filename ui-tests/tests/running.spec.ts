/**
 * Running spaces: start with progress, open a space's JupyterLab through the
 * domain's proxy, stop/resize/start, co-editing between users and viewers.
 * The spaces a test starts are stopped and deleted after it (fixtures.ts).
 */
import { APIRequestContext, Page } from '@playwright/test';

import {
  createSpace,
  expect,
  hideToasts,
  pageFetch,
  row,
  spaceApi,
  spaceURL,
  START_TIMEOUT,
  test,
  uniqueName,
  waitStatus
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

  test('start shows progress from the events stream; Open loads the space on its own origin with the switcher', async ({
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
    // another running space of alice's: the switcher inside the first does
    // not list it (a space's origin learns nothing of other spaces)
    const other = await createSpace(alice, {
      name: uniqueName('run-other'),
      sharing: 'private'
    });
    deleteAfter(other.name);
    const page = await home('alice', { prepare: listenForTrouble });
    await hideToasts(page);
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

    // Open: through the domain's address of the space, a one-time ticket,
    // to the space's own origin
    const origin = spaceURL(server, space.name);
    await r.getByRole('button', { name: 'Open' }).click();
    await page.waitForURL(`${origin}spaces/${space.name}/lab**`, {
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
    // the domain's login cookie stayed on the domain's host; the space has its own
    const cookies = await page.context().cookies(origin);
    expect(cookies.map(c => c.name).sort()).toEqual([
      '_xsrf',
      'jupyter-spaces-space'
    ]);
    // and JupyterLab itself works there: the launcher and file browser
    await expect(page.locator('#filebrowser')).toBeAttached();
    // a shared space's launcher carries the RTC badge
    await expect(
      page.locator('.jp-MainAreaWidget:has(.jp-Launcher) > .jp-SpacesRtcBadge')
    ).toHaveText('Collaborative');
    // the extension's settings (schema/plugin.json) are known to the space
    const settings = await pageFetch(
      page,
      'GET',
      `${origin}spaces/${space.name}/lab/api/settings/jupyter-spaces:plugin`
    );
    expect(settings.status, settings.text).toBe(200);
    expect(settings.json.schema.properties.openInNewTab.default).toBe(false);

    // the switcher's menu: on the space's origin the API answers about this
    // space alone, so it lists no other space but sends to the home for them
    // (by design: README, "Each space on its own origin"); the home is on the
    // domain's origin
    const started = await startAndWait(alice, other.name);
    expect(started).toBe('running');
    await switcher.click();
    const menu = page.getByRole('menu', { name: 'Spaces' });
    await expect(menu).toBeVisible();
    await expect(menu.locator('.jp-SpacesSwitcher-empty')).toHaveText(
      'Listed in the spaces home'
    );
    await expect(menu.locator(`[data-space="${other.name}"]`)).toHaveCount(0);
    await page.waitForTimeout(500);
    // (the top left corner: the switcher and its menu, nothing of the launcher)
    await expect(page).toHaveScreenshot('space-switcher-open.png', {
      clip: { x: 0, y: 0, width: 420, height: 160 }
    });
    // a space on its own origin is quiet: no refused or failed API request,
    // no error in the console (late ones included)
    await page.waitForTimeout(2000);
    expect(trouble(page, origin)).toEqual([]);

    await menu.getByRole('menuitem', { name: 'Spaces home' }).click();
    await page.waitForURL(`${server.baseURL}lab**`, { timeout: 60_000 });
    await expect(page.locator('.jp-SpacesHome-inner')).toBeVisible({
      timeout: 60_000
    });
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
    expect(put.status, put.text).toBeLessThan(300);

    const r = row(page, space.name);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect(r.locator('.jp-SpacesStatus')).toHaveText('Running');
    await r.getByRole('button', { name: 'Stop' }).click();
    // the confirmation says what ends. The home no longer counts the
    // space's kernels and terminals: it read them through the proxy with the
    // login cookie, which opens no space content on the domain's origin now
    // (README, "Each space on its own origin"); the domain has no count of
    // its own to offer yet
    const confirmStop = page.locator('.jp-Dialog');
    await expect(confirmStop).toContainText(
      `Any kernels and terminals running in “${space.name}” end`
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
    await dialog.getByLabel('Volume size (GiB)').fill('3');
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
    expect(get.status, get.text).toBe(200);
    expect(get.json.content).toBe('kept across restarts\n');
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
    // a notebook's address opens that notebook alone, no Launcher beside it
    for (const page of [pageA, pageB]) {
      await expect(
        page.locator('#jp-main-dock-panel .lm-TabBar-tab')
      ).toHaveText(['co.ipynb']);
    }

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
    // each person's initials once in the top bar: ours carry presence, collaboration's
    // user menu (which showed the caller a second time) is left out of spaces
    for (const [page, me] of [
      [pageA, 'AA'],
      [pageB, 'BB']
    ] as const) {
      const top = page.locator('#jp-top-panel');
      await expect(top.locator('#jp-UserMenu')).toHaveCount(0);
      await expect(top.getByText(me, { exact: true })).toHaveCount(1);
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
          const nb = r.json.content;
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
        const src = r.json.content.cells[0].source;
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
    expect(JSON.stringify(r.json.content)).not.toContain(
      'VIEWER_TYPED'
    );
  });
});

/** Start a space through the API and wait until it runs; its status. */
async function startAndWait(
  api: APIRequestContext,
  name: string
): Promise<string> {
  const r = await api.post(`spaces/${name}/start`);
  expect(r.status(), await r.text()).toBeLessThan(300);
  await waitStatus(api, name, 'running');
  return 'running';
}

const TROUBLE = new WeakMap<Page, { url: string; what: string }[]>();

/**
 * Note what goes wrong on the page from now on: API requests refused or
 * failed (4xx/5xx, network errors), any refused resource, console errors.
 */
function listenForTrouble(page: Page): void {
  const found: { url: string; what: string }[] = [];
  TROUBLE.set(page, found);
  page.on('response', response => {
    const url = response.url();
    if (response.status() >= 400) {
      found.push({
        url,
        what: `${response.status()} ${response.request().method()} ${url}`
      });
    }
  });
  page.on('requestfailed', request => {
    const url = request.url();
    found.push({
      url,
      what: `failed ${request.method()} ${url}: ${request.failure()?.errorText}`
    });
  });
  page.on('console', message => {
    if (message.type() === 'error') {
      const url = message.location().url;
      found.push({
        url,
        what: `console: ${message.text().split('\n')[0]} (${url})`
      });
    }
  });
}

/**
 * What {@link listenForTrouble} noted of the pages of an origin. Left out:
 * the tab's icon, `static/favicons/favicon.ico`, which a space server in its
 * sandbox answers with 403 (jupyter_server's static file handler; on the
 * domain's origin in path mode as well: not a matter of origins).
 */
function trouble(page: Page, origin: string): string[] {
  return (TROUBLE.get(page) ?? [])
    .filter(t => t.url.startsWith(origin))
    .map(t => t.what)
    .filter(what => !what.includes('/static/favicons/favicon.ico'));
}

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
