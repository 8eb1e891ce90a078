/**
 * @jest-environment ./jest-env-jsdom.js
 */
import { CommandRegistry } from '@lumino/commands';

import { addNoLauncher, LAUNCHER_COMMAND } from '../viewermenus';

describe('a viewer’s page without the Launcher', () => {
  const launcherOff = (id: string) =>
    id === '@jupyterlab/launcher-extension:plugin';

  it('has a launcher command that opens nothing and is in no menu', async () => {
    const commands = new CommandRegistry();
    expect(addNoLauncher({ commands }, launcherOff)).toBe(true);
    expect(commands.hasCommand(LAUNCHER_COMMAND)).toBe(true);
    expect(commands.isVisible(LAUNCHER_COMMAND)).toBe(false);
    await expect(commands.execute(LAUNCHER_COMMAND)).resolves.toBeUndefined();
  });

  it('leaves the command to the Launcher where the page has it', () => {
    const commands = new CommandRegistry();
    expect(addNoLauncher({ commands }, () => false)).toBe(false);
    expect(commands.hasCommand(LAUNCHER_COMMAND)).toBe(false);
  });
});
