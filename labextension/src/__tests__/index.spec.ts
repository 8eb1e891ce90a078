/**
 * @jest-environment ./jest-env-jsdom.js
 */
import { CommandRegistry } from '@lumino/commands';
import { nullTranslator } from '@jupyterlab/translation';

import { activateSpaces, CommandIDs, homeUrl, plugin, plugins } from '../index';
import { ALICE, FakeServer, makeSpace } from './fakeserver';

describe('jupyter-spaces:plugin', () => {
  let server: FakeServer;

  function makeApp(baseUrl: string) {
    const commands = new CommandRegistry();
    const added: Array<{ id: string; area: string }> = [];
    const activated: string[] = [];
    const app = {
      commands,
      restored: Promise.resolve(),
      serviceManager: {
        serverSettings: server.settings({ baseUrl })
      },
      shell: {
        add: (widget: { id: string }, area: string) =>
          added.push({ id: widget.id, area }),
        activateById: (id: string) => activated.push(id),
        widgets: () => [][Symbol.iterator](),
        collapseLeft: () => undefined,
        collapseRight: () => undefined
      }
    };
    return { app, commands, added, activated };
  }

  function palette() {
    const items: Array<{ command: string; category: string }> = [];
    return { items, addItem: (item: any) => items.push(item) };
  }

  beforeEach(() => {
    server = new FakeServer();
  });

  it('is an auto-started frontend plugin', () => {
    expect(plugin.id).toBe('jupyter-spaces:plugin');
    expect(plugin.autoStart).toBe(true);
  });

  it('in the domain also replaces the kernel, spec and session managers', () => {
    expect(plugins(() => '')).toEqual([plugin]);
    const ids = plugins(k => (k === 'spacesContext' ? 'domain' : '')).map(
      p => p.id
    );
    expect(ids).toEqual([
      'jupyter-spaces:plugin',
      'jupyter-spaces:domain-event-manager',
      'jupyter-spaces:domain-kernel-manager',
      'jupyter-spaces:domain-kernel-spec-manager',
      'jupyter-spaces:domain-session-manager'
    ]);
  });

  it('for a viewer of a space replaces the managers that would connect or write', () => {
    const viewer = (k: string) =>
      k === 'spacesRole' ? 'viewer' : k === 'spacesContext' ? 'space' : '';
    expect(plugins(viewer).map(p => p.id)).toEqual([
      'jupyter-spaces:plugin',
      'jupyter-spaces:viewer-event-manager',
      'jupyter-spaces:viewer-kernel-manager',
      'jupyter-spaces:viewer-session-manager',
      'jupyter-spaces:viewer-terminal-manager',
      'jupyter-spaces:viewer-workspace-manager',
      'jupyter-spaces:viewer-menus'
    ]);
    const editor = (k: string) =>
      k === 'spacesRole' ? 'editor' : k === 'spacesContext' ? 'space' : '';
    expect(plugins(editor)).toEqual([plugin]);
  });

  it("in a space whose page left JupyterLab's state and resolver out, adds its own", () => {
    const editor = (k: string) =>
      k === 'spacesRole' ? 'editor' : k === 'spacesContext' ? 'space' : '';
    const off = (id: string) =>
      id === '@jupyterlab/apputils-extension:state' ||
      id === '@jupyterlab/apputils-extension:resolver';
    expect(plugins(editor, off).map(p => p.id)).toEqual([
      'jupyter-spaces:plugin',
      'jupyter-spaces:state',
      'jupyter-spaces:window-name'
    ]);
    const viewer = (k: string) => (k === 'spacesRole' ? 'viewer' : editor(k));
    expect(
      plugins(viewer, off)
        .map(p => p.id)
        .slice(-2)
    ).toEqual(['jupyter-spaces:state', 'jupyter-spaces:window-name']);
    // Never beside JupyterLab's own (two would provide one token), nor in the domain.
    expect(plugins(editor, () => false)).toEqual([plugin]);
    const domain = (k: string) => (k === 'spacesContext' ? 'domain' : '');
    expect(plugins(domain, off).map(p => p.id)).not.toContain(
      'jupyter-spaces:state'
    );
  });

  it('in a plain JupyterLab registers commands only', async () => {
    server.handler = () => ({
      status: 404,
      body: { message: 'no' },
      offContract: 'a plain JupyterLab has no domain API, only its own 404'
    });
    const { app, commands, added } = makeApp('http://example.test/base/');
    const p = palette();
    const setup = await activateSpaces(app as any, nullTranslator, p as any, {
      getOption: () => ''
    });
    expect(setup.context.kind).toBe('unknown');
    expect(added).toEqual([]);
    expect(commands.label(CommandIDs.openHome)).toBe('Open Spaces Home');
    expect(p.items.map(i => i.command)).toEqual([
      CommandIDs.openHome,
      CommandIDs.newSpace,
      CommandIDs.refresh
    ]);
    expect(p.items.every(i => i.category === 'Spaces')).toBe(true);
  });

  it('in the domain opens the spaces home in the main area', async () => {
    server.handler = req => {
      if (req.path.endsWith('/me')) {
        return { body: ALICE };
      }
      if (req.path.endsWith('/spaces')) {
        return { body: { items: [], next_cursor: null } };
      }
      return { body: { items: [] } };
    };
    const { app, added, activated, commands } = makeApp(
      'http://example.test/base/'
    );
    const setup = await activateSpaces(app as any, nullTranslator, null, {
      getOption: () => ''
    });
    expect(setup.context.kind).toBe('domain');
    expect(added).toEqual([{ id: 'jp-spaces-home', area: 'main' }]);
    expect(activated).toContain('jp-spaces-home');
    expect(setup.home?.model.me?.name).toBe('alice');
    await commands.execute(CommandIDs.openHome);
    expect(activated.filter(id => id === 'jp-spaces-home')).toHaveLength(2);
    setup.home?.dispose();
  });

  it('in the domain adds the home only after the router’s first route', async () => {
    // (the command palette closes when a routed command runs under it)
    server.handler = req =>
      req.path.endsWith('/me')
        ? { body: ALICE }
        : req.path.endsWith('/spaces')
          ? { body: { items: [], next_cursor: null } }
          : { body: { items: [] } };
    const { app, added } = makeApp('http://example.test/base/');
    let route: (paths: null) => void = () => undefined;
    const paths = new Promise<null>(resolve => (route = resolve));
    const activating = activateSpaces(app as any, nullTranslator, null, {
      getOption: () => '',
      treeResolver: { paths }
    });
    await new Promise(resolve => setTimeout(resolve, 50));
    expect(added).toEqual([]);
    route(null);
    const setup = await activating;
    expect(added).toEqual([{ id: 'jp-spaces-home', area: 'main' }]);
    setup.home?.dispose();
  });

  it('in a shared space adds the switcher and the avatars to the top bar', async () => {
    server.handler = req => {
      if (req.path.endsWith('/spaces')) {
        return {
          body: {
            items: [makeSpace('team', { sharing: 'shared' }), makeSpace('b')],
            next_cursor: null
          }
        };
      }
      if (req.path.endsWith('/presence')) {
        return { body: { items: [] } };
      }
      return { status: 404, body: { message: 'no' } };
    };
    const { app, added, commands } = makeApp(
      'http://example.test/base/spaces/team/'
    );
    const navigated: Array<[string, boolean]> = [];
    const setup = await activateSpaces(app as any, nullTranslator, null, {
      getOption: () => '',
      navigate: (url, newTab) => navigated.push([url, newTab])
    });
    expect(setup.context).toEqual({
      kind: 'space',
      spaceName: 'team',
      domainBaseUrl: 'http://example.test/base/'
    });
    expect(added).toEqual([
      { id: 'jp-spaces-switcher', area: 'top' },
      { id: 'jp-spaces-avatars', area: 'top' }
    ]);
    // the domain API is reached at the domain's base URL, not the space's
    expect(server.requests[0].path).toBe('/base/spaces/api/spaces');
    await commands.execute(CommandIDs.openHome);
    await commands.execute(CommandIDs.newSpace);
    // File > Log Out: the space's logout, where JupyterLab's went
    await commands.execute('jupyter-spaces:log-out');
    expect(navigated).toEqual([
      [homeUrl('http://example.test/base/'), false],
      ['http://example.test/base/lab?spaces-new=1', false],
      ['http://example.test/base/spaces/team/logout', false]
    ]);
    setup.avatars?.dispose();
    setup.switcher?.dispose();
  });

  it('in a private space shows no avatars', async () => {
    server.handler = () => ({
      body: { items: [makeSpace('mine')], next_cursor: null }
    });
    const { app, added } = makeApp('http://example.test/base/spaces/mine/');
    const setup = await activateSpaces(app as any, nullTranslator, null, {
      getOption: () => ''
    });
    expect(added).toEqual([{ id: 'jp-spaces-switcher', area: 'top' }]);
    expect(setup.avatars).toBeNull();
    setup.switcher?.dispose();
  });
});
