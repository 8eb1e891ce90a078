/**
 * Live state (issue 16): what happens to a space elsewhere shows at once on
 * the pages open on it, without a reload. A space that an administrator stops
 * through the API turns "Stopped" on another user's home and in the switcher
 * of their page in the space, and that page says who stopped it and offers
 * to start it again or to go back to the spaces, instead of JupyterLab's
 * "Kernel died" and "Disconnected".
 */
import { APIRequestContext, Page } from '@playwright/test';

import {
  createSpace,
  expect,
  hideToasts,
  openLab,
  putNotebook,
  row,
  test,
  uniqueName
} from './fixtures';

test.describe.configure({ timeout: 240_000 });

/** Milliseconds until the space's status, as the API tells it, is `status`. */
async function until(
  api: APIRequestContext,
  name: string,
  status: string
): Promise<void> {
  await expect
    .poll(async () => (await (await api.get(`spaces/${name}`)).json()).status, {
      timeout: 60_000,
      intervals: [100]
    })
    .toBe(status);
}

/** JupyterLab's own notices of a lost server or kernel, shown on `page`. */
function labTrouble(page: Page) {
  return page
    .locator('.jp-Dialog')
    .filter({ hasText: /Kernel died|Server Connection Error|Kernel Restarting/ });
}

test('a space stopped by an administrator turns Stopped on another user’s home and switcher, and their notebook says who stopped it', async ({
  api,
  home,
  server,
  sharedSpace
}, testInfo) => {
  const root = await api('root');
  const { space, alice } = await sharedSpace({
    prefix: 'live-stop',
    displayName: 'Live stop',
    member: 'bob',
    role: 'editor'
  });
  await putNotebook(alice, server, space.name, 'work.ipynb');

  // bob: the home in one window, the notebook in the space in another
  const bobHome = await home('bob');
  const status = row(bobHome, space.name).locator('.jp-SpacesStatus');
  await expect(status).toHaveText('Running');
  const inSpace = await home('bob');
  await hideToasts(inSpace);
  await openLab(inSpace, server, space.name, '/tree/work.ipynb');
  await expect(inSpace.locator('.jp-Notebook .jp-Cell').first()).toBeVisible({
    timeout: 60_000
  });
  // the notebook's kernel is up (what JupyterLab would mourn when it goes)
  await expect(
    inSpace.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')
  ).toBeAttached({ timeout: 60_000 });
  const dot = inSpace.locator('.jp-SpacesSwitcher-button .jp-SpacesDot');
  await expect(dot).toHaveAttribute('aria-label', 'Running');

  // an administrator stops it through the API
  const stopped = await root.post(`spaces/${space.name}/stop`);
  expect(stopped.status(), await stopped.text()).toBe(202);
  await expect(status).toHaveText(/Stopping|Stopped/, { timeout: 2_000 });
  await expect(dot).toHaveAttribute('aria-label', /Stopping|Stopped/, {
    timeout: 2_000
  });
  // the page in the space says who stopped it
  const dialog = inSpace.locator('.jp-Dialog');
  await expect(dialog).toContainText(
    'This space was stopped by an administrator (root).',
    { timeout: 2_000 }
  );
  await expect(dialog.locator('.jp-Dialog-header')).toHaveText(
    'Space Live stop was stopped'
  );
  // once the domain says it is stopped, so do bob's pages, within 2 s
  await until(root, space.name, 'stopped');
  await expect(status).toHaveText('Stopped', { timeout: 2_000 });
  await expect(dot).toHaveAttribute('aria-label', 'Stopped', { timeout: 2_000 });
  await expect(dialog.getByRole('button', { name: 'Start again' })).toBeVisible();
  await expect(
    dialog.getByRole('button', { name: 'Back to spaces' })
  ).toBeVisible();
  // and JupyterLab’s own notices of a dead kernel or lost server stay away
  // (its service polls fail from now on). A window on purpose, not a wait for
  // an event: the promise (issue 16) is that none shows within 15 s.
  await inSpace.waitForTimeout(15_000);
  await expect(labTrouble(inSpace)).toHaveCount(0);
  await expect(dialog).toHaveCount(1);
  await inSpace.screenshot({ path: testInfo.outputPath('stopped-dialog.png') });
  await bobHome.screenshot({ path: testInfo.outputPath('home-stopped.png') });

  // "Start again": through the home (the space's host only reads), which
  // starts it and opens it once it runs
  await dialog.getByRole('button', { name: 'Start again' }).click();
  await inSpace.waitForURL(`${server.baseURL}lab?spaces-start=*`);
  await expect(status).toHaveText(/Starting|Running/, { timeout: 10_000 });
  await inSpace.waitForURL(`**/spaces/${space.name}/lab**`, {
    timeout: 120_000
  });
  await expect(
    inSpace.locator('.jp-SpacesSwitcher-button .jp-SpacesDot')
  ).toHaveAttribute('aria-label', 'Running', { timeout: 60_000 });
});

test('a space stopped by its owner: the member’s page says so and goes back to the spaces', async ({
  home,
  server,
  sharedSpace
}) => {
  const { space, alice } = await sharedSpace({
    prefix: 'live-owner',
    member: 'bob',
    role: 'viewer'
  });
  const page = await home('bob');
  await hideToasts(page);
  await openLab(page, server, space.name);

  expect((await alice.post(`spaces/${space.name}/stop`)).status()).toBe(202);
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText(
    'This space was stopped by its owner, alice.',
    { timeout: 2_000 }
  );
  // a viewer may not start it: only the way back is offered
  await expect(dialog).toContainText('an owner or editor can start it again');
  await expect(dialog.getByRole('button', { name: 'Start again' })).toHaveCount(0);
  await dialog.getByRole('button', { name: 'Back to spaces' }).click();
  await page.waitForURL(`${server.baseURL}lab`);
  await expect(page.locator('.jp-SpacesHome-inner')).toBeVisible({
    timeout: 60_000
  });
  await expect(row(page, space.name).locator('.jp-SpacesStatus')).toHaveText(
    /Stopping|Stopped/
  );
});

test('what another user creates, renames and deletes shows on the home at once, without a reload', async ({
  api,
  home
}) => {
  const page = await home('alice');
  const bob = await api('bob');
  const name = uniqueName('live-new');
  await createSpace(bob, { name, display_name: 'Fresh', sharing: 'shared' });
  const r = row(page, name);
  await expect(r).toContainText('Fresh', { timeout: 2_000 });
  await expect(r).toContainText('bob');
  const renamed = await bob.patch(`spaces/${name}`, {
    data: { display_name: 'Renamed' }
  });
  expect(renamed.status(), await renamed.text()).toBe(200);
  await expect(r).toContainText('Renamed', { timeout: 2_000 });
  expect((await bob.delete(`spaces/${name}`)).status()).toBe(204);
  await expect(r).toHaveCount(0, { timeout: 2_000 });
  // and bob's private space never shows
  const hidden = uniqueName('live-private');
  await createSpace(bob, { name: hidden, sharing: 'private' });
  await page.waitForTimeout(1_000);
  await expect(row(page, hidden)).toHaveCount(0);
  expect((await bob.delete(`spaces/${hidden}`)).status()).toBe(204);
});
