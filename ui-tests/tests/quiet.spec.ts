/**
 * A viewer's JupyterLab in a space is quiet: it makes no kernel, session or
 * terminal connections (not even to the kernel an editor runs), says
 * "Read-only (viewer)" where the kernel would be, and logs no error. Nobody
 * is asked about Jupyter news in a space.
 */
import { ConsoleMessage, Page, WebSocket } from '@playwright/test';

import {
  createSpace,
  expect,
  openLab,
  putNotebook,
  spaceApiWithToken,
  test,
  uniqueName
} from './fixtures';

test.describe.configure({ timeout: 240_000 });

/** Everything a page does that a quiet viewer page must not do. */
function listen(page: Page) {
  const noise = {
    websockets: [] as string[],
    requests: [] as string[],
    errors: [] as string[]
  };
  page.on('websocket', (ws: WebSocket) => noise.websockets.push(ws.url()));
  page.on('request', request => {
    const url = request.url();
    if (
      /\/api\/(kernels|terminals)\b/.test(url) ||
      (/\/api\/sessions\b/.test(url) && request.method() !== 'GET')
    ) {
      noise.requests.push(`${request.method()} ${url}`);
    }
  });
  page.on('console', (message: ConsoleMessage) => {
    // every error counts, the browser's own favicon requests' too (a space whose name
    // has a dash once refused its favicons)
    if (message.type() === 'error') {
      noise.errors.push(`${message.text()} (${message.location().url})`);
    }
  });
  page.on('pageerror', error => noise.errors.push(String(error)));
  return noise;
}

test('a viewer session makes no kernel connection and logs no error', async ({
  home,
  server,
  sharedSpace
}) => {
  const { space, alice } = await sharedSpace({
    prefix: 'quiet',
    member: 'bob',
    role: 'viewer'
  });
  await putNotebook(alice, server, space.name, 'quiet.ipynb');
  // an editor's kernel runs for the notebook: the viewer must not attach to it
  const s = await spaceApiWithToken(alice, server, space.name, 'POST', 'sessions', {
    path: 'quiet.ipynb',
    name: 'quiet.ipynb',
    type: 'notebook',
    kernel: { name: 'python3' }
  });
  expect(s.status(), await s.text()).toBe(201);

  let noise: ReturnType<typeof listen> | null = null;
  const page = await home('bob', { prepare: p => (noise = listen(p)) });
  await openLab(page, server, space.name, '/tree/quiet.ipynb');
  const panel = page.locator('.jp-NotebookPanel');
  await expect(panel.locator('.jp-Cell').first()).toContainText('start = 0', {
    timeout: 60_000
  });
  // the kernel indicator reads as read-only; nothing says "Connecting"
  await expect(panel.locator('.jp-SpacesReadOnly')).toHaveText(
    'Read-only (viewer)'
  );
  await expect(
    panel.locator('.jp-Toolbar-item[data-jp-item-name="kernelName"]')
  ).toBeHidden();
  // long enough for JupyterLab's reconnect attempts (1 s, 2 s, 4 s ...)
  await page.waitForTimeout(8000);
  await expect(page.getByText(/Connecting|Kernel Connecting/)).toHaveCount(0);
  // nor does the status bar offer a kernel
  const statusbar = page.locator('#jp-main-statusbar');
  await expect(statusbar.getByText('Mode: Command')).toBeVisible();
  await expect(statusbar.getByText(/No Kernel/)).toBeHidden();
  // nobody is asked about Jupyter news in a space
  await expect(page.getByText('official Jupyter news')).toHaveCount(0);
  await page.screenshot({ path: 'test-results/shots/viewer-quiet.png' });

  const heard = noise!;
  expect(
    heard.websockets.filter(url => /\/api\/(kernels|terminals)\//.test(url))
  ).toEqual([]);
  expect(heard.requests).toEqual([]);
  expect(heard.errors).toEqual([]);
});

test('an editor is not asked about Jupyter news in a space', async ({
  api,
  home,
  server,
  startSpace
}) => {
  const alice = await api('alice');
  const space = await createSpace(alice, {
    name: uniqueName('nonews'),
    sharing: 'private'
  });
  await startSpace(alice, space.name);
  const page = await home('alice');
  await expect(page.getByText('official Jupyter news')).toHaveCount(0);
  await openLab(page, server, space.name);
  await expect(page.locator('.jp-Launcher')).toBeVisible({ timeout: 60_000 });
  // the question would come once the lab is restored
  await page.waitForTimeout(3000);
  await expect(page.getByText('official Jupyter news')).toHaveCount(0);
  await page.screenshot({ path: 'test-results/shots/editor-no-news.png' });
});
