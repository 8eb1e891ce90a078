/**
 * Code Editor and MLflow spaces in the home (issue 14): created from the
 * create dialog, shown with their app's icon, opened in a browser tab of their
 * own (VS Code's workbench, MLflow's UI through the proxy) while the home stays
 * where it was, the stop dialog saying what ends; and reference screenshots of
 * both apps (light) and of the home's rows with their icons (light and dark).
 */
import { APIRequestContext, Page } from '@playwright/test';

import {
  createSpace,
  expect,
  row,
  test,
  Theme,
  uniqueName,
  waitStatus
} from './fixtures';

const APPS = {
  'code-editor': { label: 'Code Editor', prefix: 'app-code' },
  mlflow: { label: 'MLflow', prefix: 'app-mlflow' }
} as const;
type AppType = keyof typeof APPS;

/** VS Code's workbench, restored and idle (its first paint has no editor tab yet). */
async function workbenchReady(tab: Page): Promise<void> {
  await tab.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  await tab.locator('.explorer-folders-view').waitFor({ timeout: 60_000 });
  await tab.locator('.part.editor .tab').first().waitFor({ timeout: 60_000 });
}

/** MLflow's experiments page, with the default experiment listed. */
async function mlflowReady(tab: Page): Promise<void> {
  await expect(tab.getByText('Default', { exact: true }).first()).toBeVisible({
    timeout: 90_000
  });
}

/** Click the row's Open and return the tab it opened. */
async function openFromHome(page: Page, name: string): Promise<Page> {
  const [tab] = await Promise.all([
    page.context().waitForEvent('page'),
    row(page, name).getByRole('button', { name: 'Open' }).click()
  ]);
  return tab;
}

test.describe('Code Editor and MLflow spaces', () => {
  test('created from the dialog, shown with their icons, opened in a tab of their own', async ({
    api,
    home,
    startSpace
  }) => {
    test.setTimeout(360_000);
    const page = await home('alice');
    const names = {} as Record<AppType, string>;
    for (const app of Object.keys(APPS) as AppType[]) {
      names[app] = uniqueName(APPS[app].prefix);
      await page.getByRole('button', { name: 'Create space' }).click();
      const dialog = page.getByRole('dialog', { name: 'Create space' });
      await dialog.getByLabel('Name', { exact: true }).fill(names[app]);
      await dialog.getByLabel('Application').selectOption(app);
      // the chosen app's icon beside the drop-down
      await expect(
        dialog.locator(`.jp-SpacesField-line [data-app="${app}"] svg`)
      ).toBeVisible();
      await dialog.getByRole('button', { name: 'Create' }).click();
      await expect(dialog).toHaveCount(0);
      const cell = row(page, names[app]).locator(
        `.jp-SpacesApp[data-app="${app}"]`
      );
      await expect(cell).toHaveText(APPS[app].label);
      await expect(cell.locator('svg')).toBeVisible();
    }
    const alice = await api('alice');
    for (const app of Object.keys(APPS) as AppType[]) {
      const space = await (await alice.get(`spaces/${names[app]}`)).json();
      expect(space).toMatchObject({ app_type: app, status: 'stopped' });
      await startSpace(alice, names[app]);
    }
    await expect(
      row(page, names['code-editor']).getByRole('button', { name: 'Open' })
    ).toBeEnabled({ timeout: 30_000 });
    await expect(
      row(page, names.mlflow).getByRole('button', { name: 'Open' })
    ).toBeEnabled({ timeout: 30_000 });
    const homeUrl = page.url();

    const code = await openFromHome(page, names['code-editor']);
    // entered through the domain's ticket, on the space's own origin
    await expect
      .poll(() => new URL(code.url()).hostname, { timeout: 60_000 })
      .toBe(`${names['code-editor']}.localhost`);
    await workbenchReady(code);
    expect(page.url()).toBe(homeUrl);

    const mlflow = await openFromHome(page, names.mlflow);
    await expect
      .poll(() => new URL(mlflow.url()).hostname, { timeout: 60_000 })
      .toBe(`${names.mlflow}.localhost`);
    // the UI and its API calls go through the proxy under the space's path
    expect(new URL(mlflow.url()).pathname).toMatch(
      new RegExp(`^/spaces/${names.mlflow}/`)
    );
    await mlflowReady(mlflow);
    expect(page.url()).toBe(homeUrl);

    // the stop dialog says what ends, per app
    for (const [app, says] of [
      ['code-editor', 'terminals and its extension host'],
      ['mlflow', 'get errors until it is started again']
    ] as const) {
      await row(page, names[app]).getByRole('button', { name: 'Stop' }).click();
      const confirm = page.locator('.jp-Dialog');
      await expect(confirm).toContainText(says);
      await expect(confirm).not.toContainText('kernel');
      await confirm.getByRole('button', { name: 'Cancel' }).click();
      await expect(confirm).toHaveCount(0);
    }
  });
});

/** A fresh space of the app, named `name`, started (deleted after the test). */
async function freshSpace(
  root: APIRequestContext,
  owner: APIRequestContext,
  name: string,
  body: Record<string, unknown>
): Promise<void> {
  // a run that ended early may have left it
  if ((await root.get(`spaces/${name}`)).status() !== 404) {
    await root.post(`spaces/${name}/stop`);
    await root.delete(`spaces/${name}`);
    await expect
      .poll(async () => (await root.get(`spaces/${name}`)).status(), {
        timeout: 60_000
      })
      .toBe(404);
  }
  await createSpace(owner, { name, ...body });
}

test.describe('reference screenshots of the apps', () => {
  test('a Code Editor space, light', async ({ api, home, startSpace }) => {
    test.setTimeout(300_000);
    const name = 'apps-code';
    await freshSpace(await api('root'), await api('shot'), name, {
      display_name: 'Editor work',
      sharing: 'private',
      app_type: 'code-editor'
    });
    const shot = await api('shot');
    await startSpace(shot, name);
    const page = await home('shot', { theme: 'light' });
    const tab = await openFromHome(page, name);
    await tab.setViewportSize({ width: 1280, height: 800 });
    await workbenchReady(tab);
    await expect(tab).toHaveScreenshot('code-editor-light.png', {
      // the status bar's items come as extensions activate
      mask: [tab.locator('.part.statusbar')],
      timeout: 30_000
    });
  });

  test('an MLflow space, light', async ({ api, home, startSpace }) => {
    test.setTimeout(300_000);
    const name = 'apps-mlflow';
    await freshSpace(await api('root'), await api('shot'), name, {
      display_name: 'Team runs',
      sharing: 'private',
      app_type: 'mlflow'
    });
    const shot = await api('shot');
    await startSpace(shot, name);
    const page = await home('shot', { theme: 'light' });
    const tab = await openFromHome(page, name);
    await tab.setViewportSize({ width: 1280, height: 800 });
    await mlflowReady(tab);
    await expect(tab).toHaveScreenshot('mlflow-light.png', {
      // the default experiment's creation and modification times
      mask: [tab.getByText(/\d{2}\/\d{2}\/\d{4}, \d{2}:\d{2}/)],
      timeout: 30_000
    });
  });
});

for (const theme of ['light', 'dark'] as Theme[]) {
  test(`the home's rows with the apps' icons, ${theme} theme`, async ({
    api,
    home,
    deleteAfter
  }) => {
    const shot = await api('shot');
    const root = await api('root');
    const spaces = [
      ['apps-row-code', 'Editor work', 'code-editor'],
      ['apps-row-mlflow', 'Team runs', 'mlflow'],
      ['apps-row-lab', 'Notebooks', 'jupyterlab']
    ] as const;
    for (const [name, display_name, app_type] of spaces) {
      await freshSpace(root, shot, name, {
        display_name,
        sharing: 'private',
        app_type
      });
      deleteAfter(name);
    }
    const page = await home('shot', { theme });
    // these rows alone: a table's column widths follow every row in it
    await page.getByRole('searchbox', { name: 'Search spaces' }).fill('apps-row-');
    await expect(page.locator('.jp-SpacesList tbody tr')).toHaveCount(3);
    for (const [name] of spaces) {
      await waitStatus(shot, name, 'stopped');
      const r = row(page, name);
      await expect(r.locator('.jp-SpacesApp svg')).toBeVisible();
      await expect(r).toHaveScreenshot(`home-row-${name}-${theme}.png`, {
        mask: [page.locator('.jp-SpacesTime')]
      });
    }
  });
}
