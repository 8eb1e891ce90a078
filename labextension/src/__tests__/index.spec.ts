/**
 * @jest-environment jsdom
 */
import { CommandRegistry } from '@lumino/commands';
import { nullTranslator } from '@jupyterlab/translation';

import plugin, { CommandIDs, homeUrl } from '../index';

const BASE_URL = 'http://example.test/base/';

describe('jupyter-spaces:plugin', () => {
  function activate(withPalette: boolean) {
    const commands = new CommandRegistry();
    const serverSettings = { baseUrl: BASE_URL };
    const app = { commands, serviceManager: { serverSettings } };
    const items: Array<{ command: string; category: string }> = [];
    const palette = withPalette
      ? {
          addItem: (item: { command: string; category: string }) =>
            items.push(item)
        }
      : null;
    plugin.activate(app as any, nullTranslator, palette as any);
    return { commands, items };
  }

  it('is an auto-started frontend plugin', () => {
    expect(plugin.id).toBe('jupyter-spaces:plugin');
    expect(plugin.autoStart).toBe(true);
  });

  it('registers the open-home command with a label and a palette item', () => {
    const { commands, items } = activate(true);
    expect(CommandIDs.openHome).toBe('jupyter-spaces:open-home');
    expect(commands.hasCommand(CommandIDs.openHome)).toBe(true);
    expect(commands.label(CommandIDs.openHome)).toBe('Open Spaces Home');
    expect(items).toEqual([
      { command: CommandIDs.openHome, category: 'Spaces' }
    ]);
  });

  it('works without a command palette', () => {
    const { commands, items } = activate(false);
    expect(commands.hasCommand(CommandIDs.openHome)).toBe(true);
    expect(items).toEqual([]);
  });

  it('opens <base_url>spaces/home in a new tab', async () => {
    const { commands } = activate(false);
    const opened: unknown[][] = [];
    const spy = jest
      .spyOn(window, 'open')
      .mockImplementation((...args: unknown[]) => {
        opened.push(args);
        return null;
      });
    try {
      await commands.execute(CommandIDs.openHome);
    } finally {
      spy.mockRestore();
    }
    expect(opened).toEqual([[`${BASE_URL}spaces/home`, '_blank', 'noopener']]);
    expect(homeUrl('/jupyter/')).toBe('/jupyter/spaces/home');
  });
});
