/**
 * @jest-environment ./jest-env-jsdom.js
 */
import { Router } from '@jupyterlab/application';
import { WorkspaceManager } from '@jupyterlab/services';
import { IStateDB } from '@jupyterlab/statedb';
import { CommandRegistry } from '@lumino/commands';
import { PromiseDelegate } from '@lumino/coreutils';

import { StateCommands, statePlugin } from '../statedb';
import { LockedWindowName, ILockManager } from '../windowname';
import { FakeServer, IRecordedRequest } from './fakeserver';

const SAVED = { 'notebook:a.ipynb': { data: { path: 'a.ipynb' } } };
const WORKSPACE = '/spaces/one/api/workspaces/default';

describe('jupyter-spaces:state', () => {
  let server: FakeServer;
  let puts: IRecordedRequest[];
  let answerPuts: PromiseDelegate<void>;

  beforeEach(() => {
    puts = [];
    answerPuts = new PromiseDelegate<void>();
    server = new FakeServer(async request => {
      if (request.method === 'GET' && request.path.endsWith(WORKSPACE)) {
        return { body: { data: SAVED, metadata: { id: 'default' } } };
      }
      if (request.method === 'PUT' && request.path.endsWith(WORKSPACE)) {
        puts.push(request);
        await answerPuts.promise; // the save is as slow as the test says
        return { status: 204 };
      }
      throw new Error('unexpected ' + request.method + ' ' + request.path);
    });
  });

  afterEach(() => answerPuts.resolve());

  function activate() {
    const commands = new CommandRegistry();
    const serverSettings = server.settings({
      baseUrl: 'http://example.test/spaces/one/'
    });
    const app: any = {
      commands,
      name: 'JupyterLab',
      serviceManager: { workspaces: new WorkspaceManager({ serverSettings }) },
      shell: { currentWidget: null }
    };
    const router = new Router({ base: '/spaces/one/', commands });
    const db = statePlugin.activate(
      app,
      {},
      router,
      { name: 'default' },
      null
    ) as IStateDB;
    return { commands, db, router };
  }

  const location = { hash: '', path: '/spaces/one/lab', search: '' };

  it('replaces JupyterLab state plugin under its command ids', () => {
    expect(statePlugin.id).toBe('jupyter-spaces:state');
    expect(statePlugin.autoStart).toBe(true);
    const { commands } = activate();
    expect(commands.hasCommand('apputils:load-statedb')).toBe(true);
    expect(commands.hasCommand('apputils:reset')).toBe(true);
    expect(commands.hasCommand('apputils:reset-on-load')).toBe(true);
  });

  it('loads the workspace without waiting for its save, which follows', async () => {
    const { commands, db } = activate();
    // Routing waits for this command; its save is held unanswered.
    await commands.execute(StateCommands.load, location as any);
    expect(await db.fetch('notebook:a.ipynb')).toEqual(
      SAVED['notebook:a.ipynb']
    );
    // The debounced save happens afterwards, with the loaded state.
    const deadline = Date.now() + 5000;
    while (!puts.length && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    expect(puts.length).toBe(1);
    expect((puts[0].body as any).data).toEqual(SAVED);
    // Routed again: nothing is loaded twice.
    await commands.execute(StateCommands.load, location as any);
    expect(server.requests.filter(r => r.method === 'GET').length).toBe(1);
  });

  it('a reset clears the state and waits for it to be saved', async () => {
    const { commands, db } = activate();
    await commands.execute(StateCommands.load, location as any);
    let reset = false;
    const done = commands
      .execute(StateCommands.reset, {})
      .then(() => (reset = true));
    const deadline = Date.now() + 5000;
    while (!puts.some(p => !Object.keys((p.body as any).data).length)) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    expect(reset).toBe(false); // its save is not answered yet
    answerPuts.resolve();
    await done;
    expect((await db.list()).ids).toEqual([]);
  });
});

/** Web Locks as the browser keeps them for one origin (jsdom has none). */
class OriginLocks implements ILockManager {
  held = new Set<string>();
  async request(
    name: string,
    options: { ifAvailable: boolean },
    callback: (lock: unknown) => Promise<void> | void
  ): Promise<unknown> {
    if (this.held.has(name)) {
      return callback(null);
    }
    this.held.add(name);
    try {
      return await callback({ name });
    } finally {
      this.held.delete(name);
    }
  }
}

describe('LockedWindowName', () => {
  it('takes a free name at once and keeps it while the page lives', async () => {
    const locks = new OriginLocks();
    const first = new LockedWindowName(locks);
    await first.resolve('default');
    expect(first.name).toBe('default');
    expect(locks.held.has('jupyter-spaces:workspace:default')).toBe(true);
  });

  it('refuses at once a name another tab holds; another name is free', async () => {
    const locks = new OriginLocks();
    await new LockedWindowName(locks).resolve('default');
    const second = new LockedWindowName(locks);
    await expect(second.resolve('default')).rejects.toThrow('already exists');
    await second.resolve('auto-x');
    expect(second.name).toBe('auto-x');
  });
});
