/**
 * Fixtures: the running domain (from the global setup), API access as any
 * user, browser pages logged in as any user on the spaces home, and running
 * spaces (stopped and deleted after the test) open in JupyterLab.
 *
 * Each space is served on its own origin (`http://{space}.localhost:PORT/`,
 * the domain at `http://localhost:PORT/`): a browser enters it through the
 * domain's address of the space (a one-time ticket, then the space's own
 * cookie); the domain's login cookie opens no space content. So requests to
 * a space's API are made by a page on the space's origin ({@link spaceApi}),
 * or with an API token in the Authorization header ({@link spaceApiWithToken}).
 */
import {
  APIRequestContext,
  Browser,
  BrowserContext,
  expect,
  Locator,
  Page,
  request,
  Request,
  test as base
} from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

import {
  AUTH_DIR,
  IServerInfo,
  SERVER_FILE,
  spaceOrigin,
  UserName
} from './env';

export { expect };

export type Theme = 'light' | 'dark';

const THEME_NAMES: Record<Theme, string> = {
  light: 'JupyterLab Light',
  dark: 'JupyterLab Dark'
};

/** A unique space name (lower-case letters, digits, single hyphens). */
export function uniqueName(prefix: string): string {
  const random = Math.random().toString(36).slice(2, 7);
  return `${prefix}-${Date.now().toString(36)}${random}`;
}

/**
 * Answer the theme setting with `theme`, the way galata mocks settings: on the
 * wire, so a test's theme is never saved as the user's own settings (those are
 * one set per user, kept by the domain, and other tests read them).
 */
export async function useTheme(page: Page, theme: Theme): Promise<void> {
  await page.route(/\/lab\/api\/settings(\/|\?|$)/, async route => {
    const response = await route.fetch(await toLoopback(route.request()));
    const body = await response.json();
    const patch = (entry: any) => {
      if (entry?.id === '@jupyterlab/apputils-extension:themes') {
        const raw = JSON.stringify({ theme: THEME_NAMES[theme] });
        entry.raw = raw;
        entry.settings = { ...(entry.settings ?? {}), theme: THEME_NAMES[theme] };
      }
    };
    if (Array.isArray(body?.settings)) {
      body.settings.forEach(patch);
    } else {
      patch(body);
    }
    await route.fulfill({ response, json: body });
  });
}

/**
 * Options for `route.fetch` of a browser's request: to a space's origin
 * (`{space}.localhost`, which Chromium resolves itself and Node does not),
 * the loopback address with the Host header of the request.
 */
async function toLoopback(
  request: Request
): Promise<{ url: string; headers: Record<string, string> } | undefined> {
  const url = new URL(request.url());
  if (!url.hostname.endsWith('.localhost')) {
    return undefined;
  }
  const host = url.host;
  url.hostname = '127.0.0.1';
  return {
    url: url.href,
    headers: { ...(await request.allHeaders()), host }
  };
}

/** Options of {@link openHome}. */
export interface IOpenHomeOptions {
  theme?: Theme;
  /** The URL's query string (`?…`). */
  search?: string;
  /** Called before the page loads (to listen to or route its requests). */
  prepare?: (page: Page) => unknown;
}

/** Open the spaces home as `user` in a new browser context. */
export async function openHome(
  browser: Browser,
  server: IServerInfo,
  user: UserName,
  options: IOpenHomeOptions = {}
): Promise<Page> {
  const context = await browser.newContext({
    storageState: path.join(AUTH_DIR, `${user}.json`),
    viewport: { width: 1280, height: 800 }
  });
  const page = await context.newPage();
  await options.prepare?.(page);
  if (options.theme) {
    await useTheme(page, options.theme);
  }
  await page.goto(`${server.baseURL}lab${options.search ?? ''}`);
  await expect(page.locator('.jp-SpacesHome-inner')).toBeVisible({
    timeout: 60_000
  });
  await expect(page.locator('.jp-SpacesHome-loading')).toHaveCount(0);
  return page;
}

/** The row of a space in the home's list. */
export function row(page: Page, name: string) {
  return page.locator(`.jp-SpacesList tr[data-space="${name}"]`);
}

/** A space server takes 5–15 s to start here; more on a loaded machine. */
export const START_TIMEOUT = 90_000;

/** Roles of a shared space's members. */
export type Role = 'editor' | 'viewer';

/** Options of the {@link test} fixture `runningSpace`. */
export interface IRunningSpaceOptions {
  /** The start of the space's unique name. */
  prefix: string;
  displayName?: string;
  /** Private unless said. */
  sharing?: 'private' | 'shared';
  /** The app (`app_type`); JupyterLab unless said. */
  appType?: string;
  /** A member besides the owner, alice, and their role. */
  member?: UserName;
  role?: Role;
}

/** Options of the {@link test} fixture `sharedSpace`. */
export interface ISharedSpaceOptions extends IRunningSpaceOptions {
  member: UserName;
  role: Role;
}

/** What `runningSpace` and `sharedSpace` made: the space, and its owner's API. */
export interface ISharedSpace {
  space: any;
  alice: APIRequestContext;
}

/** Options of the {@link test} fixture `sharedNotebook`. */
export interface ISharedNotebookOptions extends ISharedSpaceOptions {
  /** The notebook's path in the space. */
  path: string;
  memberTheme?: Theme;
}

/** What the fixture `sharedNotebook` opened. */
export interface ISharedNotebook {
  space: any;
  /** The owner's page (alice's). */
  owner: Page;
  /** The member's page. */
  member: Page;
}

type Fixtures = {
  server: IServerInfo;
  api: (user: UserName) => Promise<APIRequestContext>;
  /** Open the spaces home as `user` (its browser context closes after the test). */
  home: (user: UserName, options?: IOpenHomeOptions) => Promise<Page>;
  /** Stop and delete a space after the test (as the admin). */
  deleteAfter: (name: string) => void;
  /** Start a space through the API and wait until it runs (deleted after the test). */
  startSpace: (api: APIRequestContext, name: string) => Promise<void>;
  /** A running space of alice's (deleted after the test). */
  runningSpace: (options: IRunningSpaceOptions) => Promise<ISharedSpace>;
  /** A running shared space of alice's with one member (deleted after the test). */
  sharedSpace: (options: ISharedSpaceOptions) => Promise<ISharedSpace>;
  /**
   * A running shared space of alice's with one member, and a one-cell
   * notebook open in the JupyterLab of each of them (toasts hidden).
   */
  sharedNotebook: (options: ISharedNotebookOptions) => Promise<ISharedNotebook>;
};

export const test = base.extend<Fixtures>({
  // eslint-disable-next-line no-empty-pattern
  server: async ({}, use) => {
    await use(JSON.parse(fs.readFileSync(SERVER_FILE, 'utf-8')));
  },
  api: async ({ server }, use) => {
    const contexts: APIRequestContext[] = [];
    await use(async (user: UserName) => {
      const context = await request.newContext({
        baseURL: `${server.baseURL}spaces/api/`,
        extraHTTPHeaders: { Authorization: `token ${server.tokens[user]}` }
      });
      contexts.push(context);
      return context;
    });
    for (const context of contexts) {
      await context.dispose();
    }
  },
  home: async ({ browser, server }, use) => {
    const pages: Page[] = [];
    await use(async (user, options) => {
      const page = await openHome(browser, server, user, options);
      pages.push(page);
      return page;
    });
    for (const page of pages) {
      await page.context().close();
    }
  },
  deleteAfter: async ({ api }, use) => {
    const names: string[] = [];
    await use(name => names.push(name));
    if (names.length) {
      await deleteSpaces(await api('root'), names);
    }
  },
  startSpace: async ({ deleteAfter }, use) => {
    await use(async (api, name) => {
      deleteAfter(name);
      const r = await api.post(`spaces/${name}/start`);
      expect(r.status(), await r.text()).toBeLessThan(300);
      await waitStatus(api, name, 'running');
    });
  },
  runningSpace: async ({ api, startSpace }, use) => {
    await use(async options => {
      const alice = await api('alice');
      const space = await createSpace(alice, {
        name: uniqueName(options.prefix),
        sharing: options.sharing ?? 'private',
        ...(options.displayName ? { display_name: options.displayName } : {}),
        ...(options.appType ? { app_type: options.appType } : {})
      });
      if (options.member) {
        const role = options.role ?? 'editor';
        await addMember(alice, space.name, options.member, role);
      }
      await startSpace(alice, space.name);
      return { space, alice };
    });
  },
  sharedSpace: async ({ runningSpace }, use) => {
    await use(options => runningSpace({ ...options, sharing: 'shared' }));
  },
  sharedNotebook: async ({ home, server, sharedSpace }, use) => {
    await use(async options => {
      const { space, alice } = await sharedSpace(options);
      await putNotebook(alice, server, space.name, options.path);
      const owner = await home('alice');
      await hideToasts(owner);
      await openLab(owner, server, space.name, `/tree/${options.path}`);
      const member = await home(options.member, { theme: options.memberTheme });
      await hideToasts(member);
      await openLab(member, server, space.name, `/tree/${options.path}`);
      return { space, owner, member };
    });
  }
});

/**
 * Open VS Code's command palette in a Code Editor page (retried: the workbench takes
 * keys only once it has restored) and type `command` in it; returns the palette's input.
 */
export async function commandPalette(
  page: Page,
  command: string
): Promise<Locator> {
  const palette = page.locator('.quick-input-widget input');
  await expect(async () => {
    await page.keyboard.press('Control+Shift+P');
    await expect(palette).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 30_000 });
  await palette.fill(`>${command}`);
  return palette;
}

/** Stop and delete spaces, and wait until they are gone. */
async function deleteSpaces(
  root: APIRequestContext,
  names: string[]
): Promise<void> {
  const status = async (name: string): Promise<string> => {
    const r = await root.get(`spaces/${name}`).catch(() => null);
    return !r ? 'unknown' : r.status() === 404 ? 'gone' : (await r.json()).status;
  };
  for (const name of names) {
    await root.post(`spaces/${name}/stop`).catch(() => undefined);
  }
  // a space is deleted once stopped (a delete while it stops is refused, and an
  // app's server can take a while to stop): else it outlived its test
  let deadline = Date.now() + 60_000;
  for (const name of names) {
    while (
      Date.now() < deadline &&
      !['stopped', 'failed', 'gone'].includes(await status(name))
    ) {
      await new Promise(res => setTimeout(res, 500));
    }
    await root.delete(`spaces/${name}`).catch(() => undefined);
  }
  // deletion removes the volume: it takes a while
  deadline = Date.now() + 60_000;
  for (const name of names) {
    while (Date.now() < deadline) {
      const r = await root.get(`spaces/${name}`).catch(() => null);
      if (!r || r.status() === 404) {
        break;
      }
      await new Promise(res => setTimeout(res, 500));
    }
  }
}

/** Wait until the space has the status (failing at once if it failed). */
export async function waitStatus(
  api: APIRequestContext,
  name: string,
  status: string
): Promise<void> {
  await expect
    .poll(
      async () => {
        const space = await (await api.get(`spaces/${name}`)).json();
        if (space.status === 'failed') {
          throw new Error(`space ${name} failed: ${space.failure_reason}`);
        }
        return space.status;
      },
      { timeout: START_TIMEOUT, intervals: [500] }
    )
    .toBe(status);
}

/** The origin of a space, `http://{space}.localhost:PORT/` (see env.ts). */
export function spaceURL(server: IServerInfo, name: string): string {
  return spaceOrigin(server.baseURL, name);
}

/** What {@link pageFetch} got: the status and the body (parsed if JSON). */
export interface IPageResponse {
  status: number;
  text: string;
  json: any;
}

/**
 * A request made by the page itself (`fetch` in the page, its cookies, the
 * `_xsrf` cookie of its origin as `X-XSRFToken`), as JupyterLab makes them.
 * `url` is relative to the page or absolute.
 */
export async function pageFetch(
  page: Page,
  method: string,
  url: string,
  data?: unknown
): Promise<IPageResponse> {
  return page.evaluate(
    async ({ method, url, body }) => {
      const xsrf =
        /(?:^|;\s*)_xsrf=([^;]*)/.exec(document.cookie)?.[1] ?? '';
      const response = await fetch(url, {
        method,
        headers: { 'X-XSRFToken': xsrf, 'Content-Type': 'application/json' },
        body
      });
      const text = await response.text();
      let json: any = null;
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
      return { status: response.status, text, json };
    },
    {
      method,
      url,
      body: data === undefined ? undefined : JSON.stringify(data)
    }
  );
}

/** Pages of a browser context on spaces' origins, opened by {@link spacePage}. */
const spacePages = new WeakMap<BrowserContext, Map<string, Page>>();

/**
 * A page of `page`'s browser context on the space's own origin: `page` itself
 * if it is there, else a second page that entered the space the way a
 * browser does (the domain's address of the space, a one-time ticket, the
 * space's cookie), then shows an empty page of that origin (served by the
 * test: the space's JSON answers carry a CSP that allows no requests).
 */
export async function spacePage(
  page: Page,
  server: IServerInfo,
  name: string
): Promise<Page> {
  const origin = spaceURL(server, name);
  if (page.url().startsWith(origin)) {
    return page;
  }
  const context = page.context();
  let pages = spacePages.get(context);
  if (!pages) {
    pages = new Map();
    spacePages.set(context, pages);
  }
  const known = pages.get(name);
  if (known && !known.isClosed()) {
    return known;
  }
  const entered = await context.newPage();
  const response = await entered.goto(
    `${server.baseURL}spaces/${name}/api/status`
  );
  expect(response?.status(), await response?.text()).toBe(200);
  expect(entered.url()).toBe(`${origin}spaces/${name}/api/status`);
  const blank = `${origin}spaces/${name}/__ui-tests__`;
  await entered.route(blank, route =>
    route.fulfill({ contentType: 'text/html', body: '<!DOCTYPE html><title>ui-tests</title>' })
  );
  await entered.goto(blank);
  pages.set(name, entered);
  return entered;
}

/**
 * Call the space's Jupyter server API (`<space origin>spaces/<name>/api/...`)
 * from the browser of `page`, with the space's own cookie (see {@link spacePage}).
 */
export async function spaceApi(
  page: Page,
  server: IServerInfo,
  name: string,
  method: 'GET' | 'PUT' | 'POST',
  path: string,
  data?: unknown
): Promise<IPageResponse> {
  const inSpace = await spacePage(page, server, name);
  return pageFetch(
    inSpace,
    method,
    `${spaceURL(server, name)}spaces/${name}/api/${path}`,
    data
  );
}

/**
 * Call the space's Jupyter server API with an API token (`api(user)`): on the
 * domain's address, the token in the Authorization header (for test setup).
 */
export async function spaceApiWithToken(
  api: APIRequestContext,
  server: IServerInfo,
  name: string,
  method: 'GET' | 'PUT' | 'POST',
  path: string,
  data?: unknown
) {
  return api.fetch(`${server.baseURL}spaces/${name}/api/${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    data: data === undefined ? undefined : JSON.stringify(data)
  });
}

/**
 * Open a running space's JupyterLab (a path inside, optionally) the way a
 * browser does: its address on the domain, which sends the browser on to the
 * space's own origin with a one-time ticket.
 */
export async function openLab(
  page: Page,
  server: IServerInfo,
  name: string,
  path = ''
): Promise<void> {
  await page.goto(`${server.baseURL}spaces/${name}/lab${path}`);
  expect(page.url().startsWith(`${spaceURL(server, name)}spaces/${name}/lab`)).toBe(
    true
  );
  await expect(page.locator('.jp-SpacesSwitcher-button')).toBeVisible({
    timeout: 60_000
  });
}

/** Hide JupyterLab's toasts (the news question) so they do not cover cells. */
export async function hideToasts(page: Page): Promise<void> {
  await page.context().addInitScript(() => {
    document.addEventListener('DOMContentLoaded', () => {
      const style = document.createElement('style');
      style.textContent = '.Toastify { display: none !important; }';
      document.head.appendChild(style);
    });
  });
}

/** A notebook of code cells (nbformat 4), Python 3. */
export function notebook(cells: Record<string, unknown>[]): unknown {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: {
        name: 'python3',
        display_name: 'Python 3',
        language: 'python'
      }
    },
    cells
  };
}

/** Write a one-cell Python notebook into the space (contents API, as `api`'s user). */
export async function putNotebook(
  api: APIRequestContext,
  server: IServerInfo,
  name: string,
  path: string
): Promise<void> {
  const r = await spaceApiWithToken(api, server, name, 'PUT', `contents/${path}`, {
    type: 'notebook',
    format: 'json',
    content: notebook([
      {
        cell_type: 'code',
        id: 'c0',
        metadata: {},
        source: 'start = 0',
        outputs: [],
        execution_count: null
      }
    ])
  });
  expect(r.status(), await r.text()).toBeLessThan(300);
}

/** Make `user` a member of shared space `name` with `role` (through `api`, its owner's). */
export async function addMember(
  api: APIRequestContext,
  name: string,
  user: string,
  role: string
): Promise<void> {
  const r = await api.put(`spaces/${name}/members/${user}`, { data: { role } });
  expect(r.status(), await r.text()).toBe(200);
}

/** Create a space through the API (as `user`), returning its JSON. */
export async function createSpace(
  api: APIRequestContext,
  body: Record<string, unknown>
): Promise<any> {
  const response = await api.post('spaces', {
    data: { app_type: 'jupyterlab', ...body }
  });
  expect(response.status(), await response.text()).toBe(201);
  return response.json();
}
