/**
 * A space's JupyterLab loads without JupyterLab's waits (issue 17): its state
 * plugin does not wait for a save of the workspace it just loaded, its window
 * name is a Web Lock instead of a wait for other tabs' objections
 * (labextension/src/statedb.ts, windowname.ts). What those waits were for
 * must still hold: the layout is saved and comes back, and a second tab of
 * the same space gets a workspace of its own instead of fighting over one.
 */
import {
  createSpace,
  expect,
  openLab,
  putNotebook,
  spaceURL,
  test,
  uniqueName,
} from "./fixtures";

test.describe.configure({ timeout: 240_000 });

test("the layout is saved and restored; a second tab of the space gets its own workspace", async ({
  api,
  home,
  server,
  startSpace,
}) => {
  const alice = await api("alice");
  const space = await createSpace(alice, {
    name: uniqueName("pageload"),
    sharing: "private",
  });
  await startSpace(alice, space.name);
  await putNotebook(alice, server, space.name, "kept.ipynb");

  const page = await home("alice");
  await openLab(page, server, space.name, "/tree/kept.ipynb");
  // JupyterLab's own state plugin and resolver are left out for the labextension's.
  const disabled = await page.evaluate(() => {
    const config = document.getElementById("jupyter-config-data");
    const value = JSON.parse(config?.textContent || "{}").disabledExtensions;
    return Array.isArray(value)
      ? value
      : Object.keys(value || {}).filter((k) => value[k]);
  });
  expect(disabled).toEqual(
    expect.arrayContaining([
      "@jupyterlab/apputils-extension:state",
      "@jupyterlab/apputils-extension:resolver",
    ]),
  );
  const tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", {
    hasText: "kept.ipynb",
  });
  await expect(tab).toBeVisible({ timeout: 60_000 });
  // The page's state was not made to wait for its save; it is saved all the same.
  const own = `${spaceURL(server, space.name)}spaces/${space.name}/lab`;
  await expect
    .poll(
      async () => {
        const r = await page.evaluate(async (url) => {
          const xsrf = document.cookie.match(/_xsrf=([^;]+)/)?.[1] ?? "";
          const got = await fetch(`${url}/api/workspaces/default`, {
            headers: { "X-XSRFToken": decodeURIComponent(xsrf) },
          });
          return JSON.stringify(await got.json());
        }, own);
        return r.includes("kept.ipynb");
      },
      { timeout: 20_000 },
    )
    .toBe(true);
  await page.goto(own);
  await expect(tab).toBeVisible({ timeout: 60_000 });
  // Its own workspace (the address follows the open notebook).
  expect(page.url()).toBe(`${own}/tree/kept.ipynb`);

  // The same space in a second tab, while the first holds its workspace.
  const second = await page.context().newPage();
  await second.goto(own);
  await expect(second).toHaveURL(/\/lab\/workspaces\/auto-[A-Za-z0-9]/, {
    timeout: 60_000,
  });
  await expect(second.locator(".jp-LauncherCard").first()).toBeVisible({
    timeout: 60_000,
  });
  // The first keeps its own.
  expect(page.url()).toBe(`${own}/tree/kept.ipynb`);
  await expect(tab).toBeVisible();
});
