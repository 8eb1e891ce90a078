/**
 * A space's JupyterLab offers only what the space allows. A viewer sees no
 * Launcher, no File > New, no New Folder or Upload button and no writing
 * item in the file browser's context menu (the space refuses them all); an
 * editor keeps them. Nobody is offered File > Shut Down (the space refuses
 * it: only the domain stops a space), and File > Log Out still logs out.
 */
import { ConsoleMessage, Locator, Page } from '@playwright/test';

import { expect, hideToasts, openLab, putNotebook, test } from './fixtures';

test.describe.configure({ timeout: 240_000 });

const NOTEBOOK = 'offers.ipynb';

/** Every console error and uncaught exception of the page. */
function errorsOf(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error') {
      errors.push(`${message.text()} (${message.location().url})`);
    }
  });
  page.on('pageerror', error => errors.push(String(error)));
  return errors;
}

/** Open the main menu bar's File menu; returns the menu. */
async function openFileMenu(page: Page): Promise<Locator> {
  await page
    .locator('#jp-MainMenu')
    .getByRole('menuitem', { name: 'File', exact: true })
    .click();
  const menu = page.locator('#jp-mainmenu-file');
  await expect(menu).toBeVisible();
  return menu;
}

/** The menu's visible item labelled `label` exactly. */
function item(menu: Locator, label: string): Locator {
  return menu.locator('.lm-Menu-item:visible', {
    has: menu.page().locator('.lm-Menu-itemLabel', {
      hasText: new RegExp(`^${label}$`)
    })
  });
}

/**
 * Right-click `target`; returns JupyterLab's context menu (absent when it has
 * no item for the target: then the browser's own would open).
 */
async function contextMenu(page: Page, target: Locator): Promise<Locator> {
  await target.click({ button: 'right' });
  return page.locator('.lm-Menu');
}

/** The file browser's toolbar button `name` (its `data-jp-item-name`). */
function browserButton(page: Page, name: string): Locator {
  return page.locator(
    `#filebrowser .jp-Toolbar-item[data-jp-item-name="${name}"]`
  );
}

/** The file browser's row of the test's notebook, once listed. */
async function notebookRow(page: Page): Promise<Locator> {
  const listed = page.locator('#filebrowser .jp-DirListing-item', {
    hasText: NOTEBOOK
  });
  await expect(listed).toBeVisible({ timeout: 60_000 });
  return listed;
}

/** The file browser's writing context-menu items, besides its New … ones. */
const WRITING = [
  'Rename',
  'Move to Trash',
  'Delete',
  'Cut',
  'Copy',
  'Paste',
  'Duplicate'
];

/** The menu's visible New … items (New File, New Folder, New Python File ...). */
function newItems(menu: Locator): Locator {
  return menu.locator('.lm-Menu-item:visible', {
    has: menu.page().locator('.lm-Menu-itemLabel', { hasText: /^New / })
  });
}

test('a viewer is offered no Launcher, no File > New, no New Folder or Upload, and no Shut Down', async ({
  home,
  server,
  sharedSpace
}) => {
  const { space, alice } = await sharedSpace({
    prefix: 'offers-view',
    member: 'bob',
    role: 'viewer'
  });
  await putNotebook(alice, server, space.name, NOTEBOOK);
  let errors: string[] = [];
  const page = await home('bob', { prepare: p => (errors = errorsOf(p)) });
  await hideToasts(page);
  await openLab(page, server, space.name);
  const listed = await notebookRow(page);

  await expect(page.locator('.jp-Launcher')).toHaveCount(0);
  for (const name of ['new-launcher', 'new-directory', 'uploader']) {
    await expect(browserButton(page, name)).toHaveCount(0);
  }
  await expect(browserButton(page, 'refresh')).toBeVisible();

  // the file's context menu: open and download, nothing that writes
  let menu = await contextMenu(page, listed);
  await expect(item(menu, 'Open')).toBeVisible();
  await expect(item(menu, 'Download')).toBeVisible();
  for (const label of WRITING) {
    await expect(item(menu, label)).toHaveCount(0);
  }
  await expect(newItems(menu)).toHaveCount(0);
  await page.screenshot({ path: 'test-results/shots/viewer-file-context.png' });
  await page.keyboard.press('Escape');
  // the listing's empty part: nothing to create or paste
  menu = await contextMenu(
    page,
    page.locator('#filebrowser .jp-DirListing-content')
  );
  await page.waitForTimeout(500); // the menu, if any, is open
  for (const label of WRITING) {
    await expect(item(menu, label)).toHaveCount(0);
  }
  await expect(newItems(menu)).toHaveCount(0);
  await page.keyboard.press('Escape');

  // File: no New, no Shut Down; Log Out
  const file = await openFileMenu(page);
  await expect(item(file, 'Log Out')).toBeVisible();
  await expect(item(file, 'New')).toHaveCount(0);
  await expect(item(file, 'Shut Down')).toHaveCount(0);
  await page.screenshot({ path: 'test-results/shots/viewer-file-menu.png' });
  await page.keyboard.press('Escape');

  // the viewer still opens and reads the notebook
  await listed.dblclick();
  await expect(page.locator('.jp-NotebookPanel .jp-SpacesReadOnly')).toHaveText(
    'Read-only (viewer)',
    { timeout: 60_000 }
  );
  expect(errors).toEqual([]);
});

test('an editor keeps them all, without Shut Down', async ({
  home,
  server,
  sharedSpace
}) => {
  const { space, alice } = await sharedSpace({
    prefix: 'offers-edit',
    member: 'bob',
    role: 'editor'
  });
  await putNotebook(alice, server, space.name, NOTEBOOK);
  const page = await home('bob');
  await hideToasts(page);
  await openLab(page, server, space.name);
  const listed = await notebookRow(page);

  const launcher = page.locator('.jp-Launcher');
  await expect(launcher).toBeVisible({ timeout: 60_000 });
  for (const card of [
    'Terminal',
    'Text File',
    'Markdown File',
    'Python File'
  ]) {
    await expect(
      launcher.locator('.jp-LauncherCard', { hasText: card }).first()
    ).toBeVisible();
  }
  for (const name of ['new-launcher', 'new-directory', 'uploader']) {
    await expect(browserButton(page, name)).toBeVisible();
  }
  let menu = await contextMenu(page, listed);
  for (const label of ['Rename', 'Move to Trash', 'Duplicate']) {
    await expect(item(menu, label)).toBeVisible();
  }
  await page.keyboard.press('Escape');
  menu = await contextMenu(
    page,
    page.locator('#filebrowser .jp-DirListing-content')
  );
  for (const label of ['New Folder', 'New File', 'New Python File', 'Paste']) {
    await expect(item(menu, label)).toBeVisible();
  }
  await page.keyboard.press('Escape');

  const file = await openFileMenu(page);
  await expect(item(file, 'New')).toBeVisible();
  await expect(item(file, 'Log Out')).toBeVisible();
  await expect(item(file, 'Shut Down')).toHaveCount(0);
  await page.screenshot({ path: 'test-results/shots/editor-file-menu.png' });
});

test('File > Log Out in a space signs the browser out', async ({
  api,
  browser,
  server,
  sharedSpace
}) => {
  const { space } = await sharedSpace({
    prefix: 'offers-out',
    member: 'bob',
    role: 'editor'
  });
  // a session of its own: the one the other tests share stays signed in
  const root = await api('root');
  const link = await (await root.post('users/bob/login-link')).json();
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 }
  });
  const page = await context.newPage();
  await page.goto(link.url);
  await expect(page.locator('.jp-SpacesHome-inner')).toBeVisible({
    timeout: 60_000
  });
  await openLab(page, server, space.name);

  const file = await openFileMenu(page);
  await expect(item(file, 'Shut Down')).toHaveCount(0);
  await item(file, 'Log Out').click();
  await page.waitForURL(url => url.href.startsWith(server.baseURL), {
    timeout: 30_000
  });
  // signed out of the domain and of the space: both ask for a sign-in
  await page.goto(`${server.baseURL}spaces/home`);
  await expect(page.getByLabel('User name')).toBeVisible({ timeout: 30_000 });
  await page.goto(`${server.baseURL}spaces/${space.name}/lab`);
  await expect(page.getByLabel('User name')).toBeVisible({ timeout: 30_000 });
  await context.close();
});
