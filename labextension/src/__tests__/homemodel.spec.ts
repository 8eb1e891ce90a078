/**
 * @jest-environment ./jest-env-jsdom.js
 *
 * (a DOM: the create form shows the apps' icons, JupyterLab's LabIcon)
 */
import { SpacesClient } from '../api';
import { HomeModel } from '../homemodel';
import { createBody, defaultCreateValues, settingsBody } from '../spaceform';
import { APP_TYPES } from './apptypes';
import {
  ALICE,
  domainHandler,
  FakeServer,
  makeInstanceType,
  makeSpace
} from './fakeserver';

const CATALOG = {
  'instance-types': [
    makeInstanceType('tiny', {
      cpus: 0.5,
      memory_gb: 0.5,
      max_processes: 64,
      available: false,
      reason: 'no'
    }),
    makeInstanceType('small')
  ],
  images: [
    {
      name: 'default',
      display_name: 'Python',
      description: '',
      available: true,
      reason: ''
    }
  ],
  // unavailable first: the form defaults to the first available app
  'app-types': ['rstudio', 'jupyterlab'].map(name =>
    APP_TYPES.find(a => a.name === name)!
  )
};

function domain(server: FakeServer, me = ALICE, spaces = [] as unknown[]) {
  server.handler = domainHandler({ me, spaces, catalog: CATALOG });
}

describe('HomeModel', () => {
  let server: FakeServer;
  let model: HomeModel;

  beforeEach(() => {
    server = new FakeServer();
    model = new HomeModel({
      client: new SpacesClient({ serverSettings: server.settings() })
    });
  });

  afterEach(() => model.dispose());

  it('loads the caller, the catalogues and the spaces', async () => {
    domain(server, ALICE, [
      makeSpace('a'),
      makeSpace('b', { sharing: 'shared' })
    ]);
    await model.load();
    expect(model.loaded).toBe(true);
    expect(model.me?.name).toBe('alice');
    expect(model.isAdmin).toBe(false);
    expect(model.catalog.appTypes.map(a => a.name)).toEqual([
      'rstudio',
      'jupyterlab'
    ]);
    expect(model.visibleSpaces.map(s => s.name)).toEqual(['a', 'b']);
    // a non-admin never asks for the user list
    expect(server.requests.some(r => r.path.endsWith('/users'))).toBe(false);
  });

  it('keeps others’ private spaces (role null) out of the home list', async () => {
    domain(server, { ...ALICE, admin: true }, [
      makeSpace('mine'),
      makeSpace('theirs', { owner: 'bob', role: null, url: null })
    ]);
    await model.load();
    expect(model.visibleSpaces.map(s => s.name)).toEqual(['mine']);
    expect(model.allSpaces.map(s => s.name)).toEqual(['mine', 'theirs']);
    expect(model.users.map(u => u.name)).toEqual(['alice']);
  });

  it('filters by sharing, status, app, owner and search', async () => {
    domain(server, ALICE, [
      makeSpace('a', { sharing: 'shared', owner: 'bob' }),
      makeSpace('b', { status: 'running' }),
      makeSpace('c', { display_name: 'Thesis' })
    ]);
    await model.load();
    const names = () => model.visibleSpaces.map(s => s.name);
    model.setFilters({ sharing: 'shared' });
    expect(names()).toEqual(['a']);
    model.setFilters({ sharing: '', status: 'running' });
    expect(names()).toEqual(['b']);
    model.setFilters({ status: '', mine: true });
    expect(names()).toEqual(['b', 'c']);
    model.setFilters({ mine: false, search: 'thes' });
    expect(names()).toEqual(['c']);
    model.setFilters({ search: '', appType: 'rstudio' });
    expect(names()).toEqual([]);
  });

  it('reports a failed first load with the server’s message', async () => {
    server.handler = () => ({
      status: 403,
      body: { message: 'Log in first.', reason: 'forbidden' }
    });
    await model.load();
    expect(model.loadError?.message).toBe('Log in first.');
  });

  it('keeps a failed list read in listError', async () => {
    domain(server);
    await model.load();
    server.handler = () => ({
      status: 500,
      body: { message: 'Database is down.', reason: 'server_error' },
      offContract: 'no route documents 500 (an unexpected server error)'
    });
    await model.refresh();
    expect(model.listError?.message).toBe('Database is down.');
  });

  it('adds a user, returning the one-time token but not keeping it', async () => {
    domain(server, { ...ALICE, admin: true });
    await model.load();
    const created = await model.addUser({ name: 'zoe', display_name: 'Zoe' });
    expect(created.token).toBe('secret-token');
    expect(server.last.body).toEqual({ name: 'zoe', display_name: 'Zoe' });
    const zoe = model.users.find(u => u.name === 'zoe');
    expect(zoe).toBeDefined();
    expect('token' in (zoe as object)).toBe(false);
  });
});

describe('space forms', () => {
  const catalog = {
    instanceTypes: CATALOG['instance-types'],
    images: CATALOG.images,
    appTypes: CATALOG['app-types']
  };

  it('defaults to the first available choices', () => {
    expect(defaultCreateValues(catalog)).toMatchObject({
      sharing: 'private',
      app_type: 'jupyterlab',
      instance_type: 'small',
      image: 'default',
      volume_gb: '5'
    });
  });

  it('sends what was typed, trimmed, and lets the server judge the rest', () => {
    const values = {
      ...defaultCreateValues(catalog),
      name: ' team ',
      display_name: '',
      volume_gb: '10'
    };
    expect(createBody(values)).toEqual({
      name: 'team',
      sharing: 'private',
      app_type: 'jupyterlab',
      instance_type: 'small',
      image: 'default',
      volume_gb: 10
    });
    expect(createBody({ ...values, volume_gb: '2.5' }).volume_gb).toBe('2.5');
  });

  it('patches only what changed, compute settings only when unlocked', () => {
    const space = makeSpace('s') as any;
    const values = {
      display_name: 's',
      instance_type: 'medium',
      image: 'default',
      volume_gb: '8',
      idle_timeout_minutes: '60'
    };
    expect(settingsBody(space, values, false)).toEqual({
      instance_type: 'medium',
      volume_gb: 8
    });
    // the idle timeout changes even while locked (it may change while running)
    expect(
      settingsBody(space, { ...values, idle_timeout_minutes: '15' }, true)
    ).toEqual({ idle_timeout_minutes: 15 });
    expect(settingsBody(space, { ...values, display_name: 'T' }, true)).toEqual(
      { display_name: 'T' }
    );
  });
});
