/**
 * Rough edges of the home: only the menus that act there, a visible focus
 * ring on the filters, and every row action reachable at 800×600.
 */
import {
  createSpace,
  expect,
  openHome,
  row,
  test,
  uniqueName
} from './fixtures';

test('the home shows only the menus that act there', async ({ home }) => {
  const page = await home('alice');
  const menubar = page.locator('#jp-menu-panel, .jp-MainMenu').first();
  await expect(menubar.getByRole('menuitem', { name: 'Settings' })).toBeVisible();
  await expect(menubar.getByRole('menuitem', { name: 'Help' })).toBeVisible();
  for (const name of ['File', 'Edit', 'Run', 'Kernel', 'Tabs']) {
    await expect(
      menubar.getByRole('menuitem', { name, exact: true })
    ).toHaveCount(0);
  }
  await page.screenshot({ path: 'test-results/shots/home-menus.png' });
});

test('the filter drop-downs show a focus ring', async ({ home }) => {
  const page = await home('alice');
  const filter = page.getByRole('combobox', { name: 'Sharing' });
  await filter.focus();
  await expect(filter).toBeFocused();
  const ring = await filter.evaluate(el => {
    const style = getComputedStyle(el);
    return { style: style.outlineStyle, width: parseFloat(style.outlineWidth) };
  });
  expect(ring.style).not.toBe('none');
  expect(ring.width).toBeGreaterThanOrEqual(1);
  await page.screenshot({ path: 'test-results/shots/filter-focus.png' });
});

test('at 800×600 every row action is reachable', async ({
  api,
  browser,
  server,
  deleteAfter
}) => {
  const alice = await api('alice');
  const space = await createSpace(alice, {
    name: uniqueName('narrow'),
    sharing: 'shared'
  });
  deleteAfter(space.name);
  const page = await openHome(browser, server, 'alice');
  try {
    await page.setViewportSize({ width: 800, height: 600 });
    const r = row(page, space.name);
    await expect(r).toBeVisible();
    // The list scrolls down to the row (other tests' spaces may come first); the
    // point is that nothing needs scrolling sideways.
    await r.scrollIntoViewIfNeeded();
    const buttons = r.getByRole('button');
    const count = await buttons.count();
    expect(count).toBeGreaterThanOrEqual(4);
    // without scrolling sideways: each action is in the window, and clickable
    for (let i = 0; i < count; i++) {
      const button = buttons.nth(i);
      await expect(button).toBeInViewport({ ratio: 1 });
      await button.click({ trial: true, timeout: 5000 });
    }
    await page.screenshot({ path: 'test-results/shots/home-800x600.png' });
  } finally {
    await page.context().close();
  }
});
