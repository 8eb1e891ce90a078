/**
 * Reference screenshots, light and dark (issue 16), of what a person meets
 * outside the usual flow: the notice in a space that an administrator
 * stopped, the page of a login link that no longer works, and the home at
 * 800×600. Fixed names and display names; times are masked.
 */
import {
  createSpace,
  expect,
  hideToasts,
  openHome,
  openLab,
  test,
  Theme,
} from './fixtures';

test.describe.configure({ timeout: 240_000 });

const THEMES: Theme[] = ['light', 'dark'];

for (const theme of THEMES) {
  test(`the notice of a space stopped by an administrator, ${theme} theme`, async ({
    api,
    home,
    server,
    sharedSpace
  }) => {
    const { space } = await sharedSpace({
      prefix: 'notice',
      displayName: 'Team notes',
      member: 'bob',
      role: 'editor'
    });
    const page = await home('bob', { theme });
    await hideToasts(page);
    await openLab(page, server, space.name);

    const root = await api('root');
    expect((await root.post(`spaces/${space.name}/stop`)).status()).toBe(202);
    const dialog = page.locator('.jp-Dialog-content');
    await expect(dialog).toContainText(
      'This space was stopped by an administrator (root).',
      { timeout: 5_000 }
    );
    // once stopped, the offer to start it again is there: the dialog's final look
    await expect(dialog.getByRole('button', { name: 'Start again' })).toBeVisible({
      timeout: 60_000
    });
    await expect(dialog).toHaveScreenshot(`stopped-by-admin-${theme}.png`);
  });

  test(`the page of a login link that no longer works, ${theme}`, async ({
    browser,
    server
  }) => {
    const context = await browser.newContext({
      colorScheme: theme,
      viewport: { width: 800, height: 600 }
    });
    const page = await context.newPage();
    const response = await page.goto(
      `${server.baseURL}login?token=not-a-link-this-domain-made`
    );
    expect(response?.status()).toBe(403);
    await expect(page.getByRole('heading')).toHaveText(
      'This login link no longer works'
    );
    await expect(page).toHaveScreenshot(`login-link-used-${theme}.png`);
    await context.close();
  });

  test(`the home at 800×600, ${theme} theme`, async ({ api, browser, server }) => {
    // the screenshot user's two spaces, as screenshots.spec.ts makes them
    const shot = await api('shot');
    if ((await shot.get('spaces/shot-analysis')).status() === 404) {
      await createSpace(shot, {
        name: 'shot-analysis',
        display_name: 'Team analysis',
        sharing: 'shared',
        instance_type: 'medium',
        volume_gb: 20
      });
    }
    if ((await shot.get('spaces/shot-notes')).status() === 404) {
      await createSpace(shot, {
        name: 'shot-notes',
        display_name: 'My notes',
        sharing: 'private'
      });
    }
    const page = await openHome(browser, server, 'shot', { theme });
    try {
      await page.setViewportSize({ width: 800, height: 600 });
      await page.getByRole('checkbox', { name: 'Only mine' }).check();
      await expect(page.locator('.jp-SpacesList tbody tr')).toHaveCount(2);
      // times hidden, not masked: a mask is drawn over the row actions that
      // stick over the time column at this width
      await page.addStyleTag({
        content: '.jp-SpacesTime { visibility: hidden !important; }'
      });
      await expect(page).toHaveScreenshot(`home-800x600-${theme}.png`);
    } finally {
      await page.context().close();
    }
  });
}
