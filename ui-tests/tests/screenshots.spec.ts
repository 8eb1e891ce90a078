/**
 * Reference screenshots of the home and the create dialog in the light and
 * dark themes (user "shot" has only these spaces; times are masked).
 */
import { createSpace, expect, test, Theme } from './fixtures';

test.beforeAll(async ({ api }) => {
  const shot = await api('shot');
  const existing = await shot.get('spaces/shot-analysis');
  if (existing.status() === 404) {
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
});

for (const theme of ['light', 'dark'] as Theme[]) {
  test(`home and create dialog, ${theme} theme`, async ({ home }) => {
    const page = await home('shot', { theme });
    // Only this user's spaces, whatever other tests created.
    await page.getByRole('checkbox', { name: 'Only mine' }).check();
    await expect(page.locator('.jp-SpacesList tbody tr')).toHaveCount(2);
    const mask = [page.locator('.jp-SpacesTime')];
    const widget = page.locator('#jp-spaces-home');
    await expect(widget).toHaveScreenshot(`home-${theme}.png`, { mask });

    await page.getByRole('button', { name: 'Create space' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create space' });
    await dialog.getByLabel('Name', { exact: true }).fill('Bad Name');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await expect(dialog.getByRole('alert')).toBeVisible();
    await expect(dialog).toHaveScreenshot(`create-dialog-${theme}.png`);
  });
}
