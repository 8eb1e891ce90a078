/**
 * A Code Editor space (code-server) in Chromium: entered on its own origin like
 * any space, a file saved through VS Code's own UI lands on the space's volume
 * and is there again after a stop and a start (issue 14).
 */
import { commandPalette, expect, test, waitStatus } from './fixtures';

test.describe('Code Editor space', () => {
  test('a file saved in the editor survives a restart', async ({
    server,
    home,
    runningSpace
  }) => {
    test.setTimeout(240_000);
    const { space, alice } = await runningSpace({
      prefix: 'code',
      appType: 'code-editor'
    });
    const page = await home('alice');
    const open = async () => {
      await page.goto(`${server.baseURL}spaces/${space.name}/`);
      // entered through the domain's ticket, on the space's own origin
      expect(new URL(page.url()).hostname).toBe(`${space.name}.localhost`);
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      await page.locator('.explorer-folders-view').waitFor({ timeout: 60_000 });
    };
    await open();
    // the welcome page's tab: the workbench has restored and takes keys
    await page.locator('.part.editor .tab').first().waitFor({ timeout: 60_000 });
    const palette = await commandPalette(page, 'File: New Untitled Text File');
    await page
      .locator('.quick-input-list .monaco-list-row', {
        hasText: 'File: New Untitled Text File',
        hasNotText: 'Compare'
      })
      .click();
    await expect(page.locator('.part.editor .tab', { hasText: 'Untitled-1' })).toBeVisible();
    await page.keyboard.type('saved from the editor');
    await page.keyboard.press('Control+S');
    // VS Code proposes the first line as the name, in the space's folder
    await expect(palette).toHaveValue(/\/home\/jovyan\/saved from the editor/);
    await page.keyboard.press('Enter');
    const saved = page
      .locator('.explorer-folders-view')
      .getByText('saved from the editor');
    await expect(saved).toBeVisible();
    // saved: the server wrote it (the tab is no longer dirty)
    const tab = page.locator('.part.editor .tab.active', { hasText: 'saved from the editor' });
    await expect(tab).toBeVisible();
    await expect(tab).not.toHaveClass(/dirty/);

    expect((await alice.post(`spaces/${space.name}/stop`)).status()).toBe(202);
    await waitStatus(alice, space.name, 'stopped');
    expect((await alice.post(`spaces/${space.name}/start`)).status()).toBe(202);
    await waitStatus(alice, space.name, 'running');
    await open();
    await saved.click();
    await expect(page.locator('.monaco-editor .view-lines').first()).toContainText(
      'saved from the editor'
    );
  });
});
