/**
 * A Code Editor space's terminal runs as the space's uid (issue 14): a terminal
 * opened with VS Code's own UI (its pty host starts the shell) writes `id -u` to a
 * file, which lands on the space's volume owned by that uid; and, read from this
 * machine's /proc while the editor is open, code-server's extension host and pty
 * host — and every other process of the space — run as that uid, never as root.
 */
import * as fs from 'fs';
import * as path from 'path';

import { commandPalette, expect, test } from './fixtures';

interface IProc {
  pid: number;
  uid: number;
  cmdline: string;
  pidns: string;
}

function processes(): IProc[] {
  const out: IProc[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      out.push({
        pid: Number(entry),
        uid: fs.statSync(`/proc/${entry}`).uid,
        cmdline: fs
          .readFileSync(`/proc/${entry}/cmdline`, 'utf-8')
          .split('\0')
          .join(' ')
          .trim(),
        pidns: fs.readlinkSync(`/proc/${entry}/ns/pid`)
      });
    } catch {
      // it ended while we looked
    }
  }
  return out;
}

test('a Code Editor terminal runs as the space uid', async ({
  server,
  home,
  runningSpace
}) => {
  test.setTimeout(180_000);
  const { space } = await runningSpace({
    prefix: 'term',
    appType: 'code-editor'
  });
  const page = await home('alice');
  await page.goto(`${server.baseURL}spaces/${space.name}/`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  await page.locator('.part.editor .tab').first().waitFor({ timeout: 60_000 });

  // a new terminal, from the command palette, as a user opens one
  await commandPalette(page, 'Terminal: Create New Terminal');
  // the exact command comes first (its row also shows its key binding)
  const first = page.locator('.quick-input-list .monaco-list-row').first();
  await expect(first).toContainText('Terminal: Create New Terminal');
  await expect(first).not.toContainText(/Editor Area|Workspace|Custom/);
  await page.keyboard.press('Enter');
  const terminal = page.locator('.terminal-wrapper.active .xterm');
  await expect(terminal).toBeVisible({ timeout: 30_000 });
  // the volume is mounted on this machine while the space runs; its root belongs to the
  // space's uid. Type once the pty host's shell runs (xterm draws on a canvas: no text
  // in the page to wait for).
  const volume = path.join(server.dataDir, 'run', 'mounts', space.name);
  const spaceUid = fs.statSync(volume).uid;
  await expect
    .poll(
      () =>
        processes().some(
          p => p.uid === spaceUid && /^(\S*\/)?bash\b/.test(p.cmdline)
        ),
      {
        timeout: 30_000
      }
    )
    .toBe(true);
  await terminal.click();
  await page.keyboard.type('id -u > uid-from-terminal.txt\n');

  // on the volume, owned by the uid it names
  const file = path.join(volume, 'uid-from-terminal.txt');
  await expect
    .poll(() => fs.existsSync(file) && fs.readFileSync(file, 'utf-8'), {
      timeout: 15_000
    })
    .toMatch(/^\d+\n$/);
  const uid = Number(fs.readFileSync(file, 'utf-8').trim());
  expect(uid).toBe(spaceUid);
  expect(uid).toBeGreaterThan(0);
  expect(fs.statSync(file).uid).toBe(uid);

  // code-server's helpers, read from /proc outside the sandbox
  const all = processes();
  const ptyHosts = all.filter(
    p => p.cmdline.includes('--type=ptyHost') && p.uid === uid
  );
  const extensionHosts = all.filter(
    p => p.cmdline.includes('--type=extensionHost') && p.uid === uid
  );
  const listing = all
    .filter(p => p.uid === uid || /code-server|bootstrap-fork/.test(p.cmdline))
    .map(p => `${p.pid} uid=${p.uid} ${p.cmdline.slice(0, 160)}`)
    .join('\n');
  expect(ptyHosts.length, listing).toBeGreaterThan(0);
  expect(extensionHosts.length, listing).toBeGreaterThan(0);
  // everything in the space's pid namespace (its sandbox) runs as the space's uid, but
  // bubblewrap's own reaper (its pid 1, which runs nothing of the space's)
  const ns = ptyHosts[0].pidns;
  expect(
    extensionHosts.every(p => p.pidns === ns),
    listing
  ).toBe(true);
  const inSpace = all.filter(p => p.pidns === ns);
  const others = inSpace.filter(p => p.uid !== uid);
  expect(others.length, listing).toBe(1);
  expect(others[0].cmdline, listing).toMatch(/^\S*bwrap /);
  expect(others[0].cmdline, listing).toContain(`--reuid=${uid} `);
  // the shell the pty host started for the terminal among them
  expect(
    inSpace.some(p => /^(\S*\/)?bash\b/.test(p.cmdline)),
    listing
  ).toBe(true);
});
