/**
 * @jest-environment ./jest-env-jsdom.js
 */
import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';

import { addSpaceFileCommands, SpaceFileCommandIDs } from '../spacefile';

describe('the File menu of a space', () => {
  it('logs out where JupyterLab’s Log Out went: the space’s logout', async () => {
    const commands = new CommandRegistry();
    const went: string[] = [];
    addSpaceFileCommands(
      commands,
      nullTranslator.load('jupyter_spaces'),
      'https://lab.spaces.test/spaces/lab/',
      url => went.push(url)
    );
    const { logOut } = SpaceFileCommandIDs;
    expect(commands.isVisible(logOut)).toBe(true);
    expect(commands.label(logOut)).toBe('Log Out');
    await commands.execute(logOut);
    expect(went).toEqual(['https://lab.spaces.test/spaces/lab/logout']);
  });
});
