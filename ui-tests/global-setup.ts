/**
 * Start a real domain server (`python -m jupyter_spaces.cli`, from the
 * repository) in a temporary data directory, add users, log each one in with
 * a one-time login link and save their browser state for the tests.
 */
import { request } from '@playwright/test';
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

import { AUTH_DIR, IServerInfo, SERVER_FILE, USERS } from './tests/env';

const REPO = path.resolve(__dirname, '..');
const PYTHON = process.env.PYTHON || 'python3';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function cli(dataDir: string, ...args: string[]): string {
  return execFileSync(
    PYTHON,
    ['-m', 'jupyter_spaces.cli', '--data-dir', dataDir, ...args],
    { cwd: REPO, encoding: 'utf-8' }
  );
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()!.trim();
}

async function waitForServer(
  url: string,
  child: ChildProcess,
  log: string
): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(
        `the domain server exited (${child.exitCode}):\n${fs.readFileSync(log, 'utf-8')}`
      );
    }
    try {
      const response = await fetch(url, { redirect: 'manual' });
      if (response.status < 500) {
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise(r => setTimeout(r, 250));
  }
  throw new Error(`the domain server did not answer at ${url}`);
}

export default async function globalSetup(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'spaces-ui-'));
  const port = await freePort();
  // As users get it: the domain on `localhost` (it listens on loopback), each
  // space on its own origin `http://{space}.localhost:PORT/` (Chromium
  // resolves *.localhost itself; Node only needs `localhost`).
  const baseURL = `http://localhost:${port}/`;
  const tokens: Record<string, string> = {};
  for (const user of USERS) {
    const args = ['user', 'add', user.name, '--display-name', user.display];
    if (user.admin) {
      args.push('--admin');
    }
    tokens[user.name] = lastLine(cli(dataDir, ...args));
  }
  const log = path.join(dataDir, 'server.log');
  const out = fs.openSync(log, 'w');
  const child = spawn(
    PYTHON,
    [
      '-m',
      'jupyter_spaces.cli',
      '--data-dir',
      dataDir,
      '--port',
      String(port),
      '--ip',
      '127.0.0.1',
      '--no-browser',
      // SPACES_ORIGIN_MODE=path runs the domain in path mode (to see the
      // origin-isolation tests fail there); by default: own origins.
      ...(process.env.SPACES_ORIGIN_MODE
        ? [`--DomainApp.space_origin=${process.env.SPACES_ORIGIN_MODE}`]
        : [])
    ],
    { cwd: REPO, stdio: ['ignore', out, out], detached: true }
  );
  child.unref();
  await waitForServer(`${baseURL}login`, child, log);

  fs.mkdirSync(AUTH_DIR, { recursive: true });
  for (const user of USERS) {
    const link = lastLine(
      cli(dataDir, 'user', 'login-link', user.name, '--url', baseURL)
    );
    const context = await request.newContext();
    const response = await context.get(link);
    if (!response.ok()) {
      throw new Error(`login of ${user.name} failed: ${response.status()}`);
    }
    await context.storageState({
      path: path.join(AUTH_DIR, `${user.name}.json`)
    });
    await context.dispose();
  }
  const info: IServerInfo = { baseURL, dataDir, pid: child.pid!, log, tokens };
  fs.writeFileSync(SERVER_FILE, JSON.stringify(info, null, 2));
  process.env.SPACES_BASE_URL = baseURL;
}
