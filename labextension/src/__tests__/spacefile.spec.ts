/**
 * @jest-environment ./jest-env-jsdom.js
 */
import { showErrorMessage } from '@jupyterlab/apputils';
import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';

import { ISpace } from '../api';
import { addSpaceFileCommands, SpaceFileCommandIDs } from '../spacefile';
import { makeSpace } from './fakeserver';

jest.mock('@jupyterlab/apputils', () => ({
  showErrorMessage: jest.fn(() => Promise.resolve())
}));

const { logOut, stopSpace } = SpaceFileCommandIDs;

/** The commands of space `lab` (as `space` says), and what they did. */
function setUp(space: Record<string, unknown>, confirm = true) {
  const commands = new CommandRegistry();
  const done = { went: [] as string[], asked: 0, stopped: [] as string[] };
  let stop = async (name: string) => {
    done.stopped.push(name);
  };
  addSpaceFileCommands(commands, {
    trans: nullTranslator.load('jupyter_spaces'),
    baseUrl: 'https://lab.spaces.test/spaces/lab/',
    go: url => done.went.push(url),
    space: () => makeSpace('lab', space) as unknown as ISpace,
    confirmStop: async () => {
      done.asked++;
      return confirm;
    },
    stop: name => stop(name),
    homeUrl: 'https://spaces.test/lab'
  });
  const failStops = () => {
    stop = async () => {
      throw new Error('refused');
    };
  };
  return { commands, done, failStops };
}

describe('the File menu of a space', () => {
  it('logs out where JupyterLab’s Log Out went: the space’s logout', async () => {
    const { commands, done } = setUp({ role: 'viewer' });
    expect(commands.isVisible(logOut)).toBe(true);
    expect(commands.label(logOut)).toBe('Log Out');
    await commands.execute(logOut);
    expect(done.went).toEqual(['https://lab.spaces.test/spaces/lab/logout']);
  });

  it('offers Stop Space… to owners and editors of a running space only', () => {
    for (const role of ['owner', 'editor']) {
      const { commands } = setUp({ role, status: 'running' });
      expect(commands.isVisible(stopSpace)).toBe(true);
      expect(commands.isEnabled(stopSpace)).toBe(true);
    }
    expect(setUp({ role: 'viewer' }).commands.isVisible(stopSpace)).toBe(false);
    const stopping = setUp({ role: 'owner', status: 'stopping' });
    expect(stopping.commands.isEnabled(stopSpace)).toBe(false);
  });

  it('stops the space once confirmed, then goes to the spaces home', async () => {
    const { commands, done } = setUp({ role: 'editor', status: 'running' });
    await commands.execute(stopSpace);
    expect(done.asked).toBe(1);
    expect(done.stopped).toEqual(['lab']);
    expect(done.went).toEqual(['https://spaces.test/lab']);
  });

  it('does nothing when the confirmation is cancelled', async () => {
    const { commands, done } = setUp(
      { role: 'owner', status: 'running' },
      false
    );
    await commands.execute(stopSpace);
    expect(done.asked).toBe(1);
    expect(done.stopped).toEqual([]);
    expect(done.went).toEqual([]);
  });

  it('says why when the domain refuses, and stays', async () => {
    const { commands, done, failStops } = setUp({
      role: 'owner',
      status: 'running'
    });
    failStops();
    await commands.execute(stopSpace);
    expect(showErrorMessage).toHaveBeenCalledWith(
      'Could not stop the space',
      new Error('refused')
    );
    expect(done.went).toEqual([]);
  });
});
