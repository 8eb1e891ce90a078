/**
 * Fixtures: the running domain (from the global setup), API access as any
 * user, browser pages logged in as any user on the spaces home, and running
 * spaces (stopped and deleted after the test) open in JupyterLab.
 */
import {
  APIRequestContext,
  Browser,
  expect,
  Page,
  request,
  test as base
} from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

import { AUTH_DIR, IServerInfo, SERVER_FILE, UserName } from './env';

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
 * Answer the theme setting with `theme` (the domain refuses settings writes,
 * so the theme is chosen the way galata mocks settings: on the wire).
 */
export async function useTheme(page: Page, theme: Theme): Promise<void> {
  await page.route(/\/lab\/api\/settings(\/|\?|$)/, async route => {
    const response = await route.fetch();
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

/** Options of the {@link test} fixture `sharedNotebook`. */
export interface ISharedNotebookOptions {
  /** The start of the space's unique name. */
  prefix: string;
  displayName?: string;
  /** The member besides the owner, alice, and their role. */
  member: UserName;
  role: Role;
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
  sharedNotebook: async ({ api, home, server, startSpace }, use) => {
    await use(async options => {
      const alice = await api('alice');
      const space = await createSpace(alice, {
        name: uniqueName(options.prefix),
        sharing: 'shared',
        ...(options.displayName ? { display_name: options.displayName } : {})
      });
      const m = await alice.put(
        `spaces/${space.name}/members/${options.member}`,
        { data: { role: options.role } }
      );
      expect(m.status(), await m.text()).toBe(200);
      await startSpace(alice, space.name);

      const owner = await home('alice');
      await putNotebook(owner, server, space.name, options.path);
      await hideToasts(owner);
      await openLab(owner, server, space.name, `/tree/${options.path}`);
      const member = await home(options.member, { theme: options.memberTheme });
      await hideToasts(member);
      await openLab(member, server, space.name, `/tree/${options.path}`);
      return { space, owner, member };
    });
  }
});

/** Stop and delete spaces, and wait until they are gone. */
async function deleteSpaces(
  root: APIRequestContext,
  names: string[]
): Promise<void> {
  for (const name of names) {
    await root.post(`spaces/${name}/stop`).catch(() => undefined);
    await root.delete(`spaces/${name}`).catch(() => undefined);
  }
  // deletion stops the sandbox and unmounts: it takes a while
  const deadline = Date.now() + 60_000;
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

/** Call the space's proxied Jupyter server API with the page's cookies. */
export async function spaceApi(
  page: Page,
  server: IServerInfo,
  name: string,
  method: 'GET' | 'PUT',
  path: string,
  data?: unknown
) {
  const cookies = await page.context().cookies(server.baseURL);
  const xsrf = cookies.find(c => c.name === '_xsrf')?.value ?? '';
  return page.request.fetch(`${server.baseURL}spaces/${name}/api/${path}`, {
    method,
    headers: { 'X-XSRFToken': xsrf, 'Content-Type': 'application/json' },
    data: data === undefined ? undefined : JSON.stringify(data)
  });
}

/** Open a running space's JupyterLab directly (a path inside, optionally). */
export async function openLab(
  page: Page,
  server: IServerInfo,
  name: string,
  path = ''
): Promise<void> {
  await page.goto(`${server.baseURL}spaces/${name}/lab${path}`);
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

/** Write a one-cell Python notebook into the space (contents API). */
export async function putNotebook(
  page: Page,
  server: IServerInfo,
  name: string,
  path: string
): Promise<void> {
  const r = await spaceApi(page, server, name, 'PUT', `contents/${path}`, {
    type: 'notebook',
    format: 'json',
    content: {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {
        kernelspec: {
          name: 'python3',
          display_name: 'Python 3',
          language: 'python'
        }
      },
      cells: [
        {
          cell_type: 'code',
          id: 'c0',
          metadata: {},
          source: 'start = 0',
          outputs: [],
          execution_count: null
        }
      ]
    }
  });
  expect(r.status(), await r.text()).toBeLessThan(300);
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
