import * as fs from 'fs';

import { IServerInfo, SERVER_FILE } from './tests/env';

async function call(info: IServerInfo, method: string, path: string) {
  return fetch(`${info.baseURL}spaces/api/${path}`, {
    method,
    headers: { Authorization: `token ${info.tokens.root}` },
    signal: AbortSignal.timeout(60_000)
  });
}

/**
 * Delete every space (as the admin: the domain stops them, ends their
 * processes and unmounts their volumes), stop the domain server, and remove
 * its data directory.
 */
export default async function globalTeardown(): Promise<void> {
  if (!fs.existsSync(SERVER_FILE)) {
    return;
  }
  const info: IServerInfo = JSON.parse(fs.readFileSync(SERVER_FILE, 'utf-8'));
  try {
    const page = await (await call(info, 'GET', 'spaces?limit=500')).json();
    await Promise.all(
      (page.items ?? []).map((s: { name: string }) =>
        call(info, 'DELETE', `spaces/${encodeURIComponent(s.name)}`).catch(
          () => undefined
        )
      )
    );
    // Deletion may run on after the answer: wait until the list is empty.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const left = await (await call(info, 'GET', 'spaces?limit=500')).json();
      if (!left.items?.length) {
        break;
      }
      await new Promise(r => setTimeout(r, 500));
    }
  } catch (error) {
    console.warn('teardown: could not delete spaces:', error);
  }
  try {
    process.kill(-info.pid, 'SIGTERM'); // its process group
  } catch {
    try {
      process.kill(info.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await new Promise(r => setTimeout(r, 1000));
  if (!process.env.SPACES_KEEP_DATA) {
    try {
      fs.rmSync(info.dataDir, { recursive: true, force: true });
    } catch (error) {
      console.warn(`teardown: left ${info.dataDir}:`, error);
    }
  }
  fs.rmSync(SERVER_FILE, { force: true });
}
