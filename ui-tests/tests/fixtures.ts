/**
 * Fixtures: the running domain (from the global setup), API access as any
 * user, and browser pages logged in as any user on the spaces home.
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

/** Open the spaces home as `user` in a new browser context. */
export async function openHome(
  browser: Browser,
  server: IServerInfo,
  user: UserName,
  options: { theme?: Theme; search?: string } = {}
): Promise<Page> {
  const context = await browser.newContext({
    storageState: path.join(AUTH_DIR, `${user}.json`),
    viewport: { width: 1280, height: 800 }
  });
  const page = await context.newPage();
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

type Fixtures = {
  server: IServerInfo;
  api: (user: UserName) => Promise<APIRequestContext>;
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
  }
});

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
