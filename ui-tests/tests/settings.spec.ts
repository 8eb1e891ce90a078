/**
 * Settings follow the person (issue 16): a user's JupyterLab settings are one
 * set, kept by the domain. Dark chosen on the home through JupyterLab's own
 * Settings menu is the theme of the space they open next, and back on the
 * home a preference changed in the space holds there too; another user's
 * theme stays theirs.
 */
import { Page } from '@playwright/test';

import {
  expect,
  hideToasts,
  openLab,
  test,
} from './fixtures';

test.describe.configure({ timeout: 240_000 });

const THEME = 'body[data-jp-theme-name]';

async function themeOf(page: Page): Promise<string | null> {
  return page.locator(THEME).getAttribute('data-jp-theme-name');
}

async function chooseTheme(page: Page, theme: string): Promise<void> {
  await page.locator('.lm-MenuBar-item', { hasText: 'Settings' }).click();
  await page.locator('.lm-Menu-item', { hasText: 'Theme' }).first().hover();
  await page
    .locator(`.lm-Menu-item:has(.lm-Menu-itemLabel:text-is("${theme}"))`)
    .click();
  await expect(page.locator(THEME)).toHaveAttribute('data-jp-theme-name', theme, {
    timeout: 30_000
  });
}

test('Dark chosen on the home is the theme of the space opened next, and stays the user’s own', async ({
  home,
  server,
  sharedSpace
}) => {
  const { space } = await sharedSpace({
    prefix: 'follow',
    member: 'bob',
    role: 'editor'
  });

  const bobHome = await home('bob');
  await chooseTheme(bobHome, 'JupyterLab Dark');

  const inSpace = await home('bob');
  await hideToasts(inSpace);
  await openLab(inSpace, server, space.name);
  await expect(inSpace.locator(THEME)).toHaveAttribute(
    'data-jp-theme-name',
    'JupyterLab Dark',
    { timeout: 30_000 }
  );
  await inSpace.screenshot({ path: test.info().outputPath('space-dark.png') });

  // Light again, chosen in the space: the home has it on its next load.
  await chooseTheme(inSpace, 'JupyterLab Light');
  await bobHome.reload();
  await expect(bobHome.locator(THEME)).toHaveAttribute(
    'data-jp-theme-name',
    'JupyterLab Light',
    { timeout: 30_000 }
  );

  // alice's theme is hers: bob's choices never reached it.
  await chooseTheme(inSpace, 'JupyterLab Dark');
  const aliceInSpace = await home('alice');
  await hideToasts(aliceInSpace);
  await openLab(aliceInSpace, server, space.name);
  expect(await themeOf(aliceInSpace)).toBe('JupyterLab Light');
});
