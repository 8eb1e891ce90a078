import { SpacesApiError, SpacesClient } from '../api';
import { IEventSourceLike, RECONNECT_DELAYS, SpacesModel } from '../model';
import { FakeServer, makeSpace } from './fakeserver';

/** A fake `EventSource`: the test pushes server-sent events into it. */
class FakeEventSource implements IEventSourceLike {
  constructor(readonly url: string) {}

  listeners = new Map<string, Array<(event: { data: string }) => void>>();
  onerror: ((event: unknown) => void) | null = null;
  closed = false;

  addEventListener(
    type: string,
    listener: (event: { data: string }) => void
  ): void {
    const list = this.listeners.get(type) ?? [];
    list.push(listener);
    this.listeners.set(type, list);
  }

  close(): void {
    this.closed = true;
  }

  emit(type: string, data: unknown): void {
    const raw = typeof data === 'string' ? data : JSON.stringify(data);
    for (const listener of this.listeners.get(type) ?? []) {
      listener({ data: raw });
    }
  }
}

describe('SpacesModel', () => {
  let server: FakeServer;
  let sources: FakeEventSource[];
  let model: SpacesModel;

  const open = (name: string) =>
    sources.find(s => !s.closed && s.url.includes(`/spaces/${name}/events`));

  beforeEach(() => {
    server = new FakeServer();
    sources = [];
    model = new SpacesModel({
      client: new SpacesClient({ serverSettings: server.settings() }),
      query: { sort: 'name' },
      eventSourceFactory: url => {
        const source = new FakeEventSource(url);
        sources.push(source);
        return source;
      }
    });
  });

  afterEach(() => {
    model.dispose();
  });

  it('loads every page of spaces with its query', async () => {
    server.handler = req =>
      req.query.cursor
        ? { body: { items: [makeSpace('c')], next_cursor: null } }
        : {
            body: { items: [makeSpace('a'), makeSpace('b')], next_cursor: 'p2' }
          };
    let changes = 0;
    model.changed.connect(() => changes++);
    await model.refresh();
    expect(model.spaces.map(s => s.name)).toEqual(['a', 'b', 'c']);
    expect(server.requests[0].query).toEqual({ sort: 'name' });
    expect(server.requests[1].query).toEqual({ sort: 'name', cursor: 'p2' });
    expect(model.loading).toBe(false);
    expect(model.error).toBeNull();
    expect(changes).toBeGreaterThan(0);
    // Stable statuses: no stream is opened, nothing is polled.
    expect(sources).toHaveLength(0);
  });

  it('setQuery reloads with the new filters', async () => {
    server.handler = () => ({ body: { items: [], next_cursor: null } });
    await model.setQuery({ sharing: 'shared', name_contains: 'x' });
    expect(server.last.query).toEqual({
      sharing: 'shared',
      name_contains: 'x'
    });
    expect(model.query).toEqual({ sharing: 'shared', name_contains: 'x' });
  });

  it('keeps the server message when loading fails', async () => {
    server.handler = () => ({
      status: 400,
      body: { message: 'Unknown sort key "size".', reason: 'bad_request' }
    });
    await expect(model.refresh()).rejects.toThrow('Unknown sort key "size".');
    expect(model.error).toBeInstanceOf(SpacesApiError);
    expect(model.error!.status).toBe(400);
    expect(model.loading).toBe(false);
  });

  it('start follows progress and status from the events stream', async () => {
    server.handler = req =>
      req.method === 'POST'
        ? { status: 202, body: makeSpace('s', { status: 'starting' }) }
        : { body: { items: [makeSpace('s')], next_cursor: null } };
    await model.refresh();
    await model.start('s');
    expect(server.last.method).toBe('POST');
    expect(server.last.path).toBe('/base/spaces/api/spaces/s/start');
    expect(model.get('s')!.status).toBe('starting');

    const source = open('s');
    expect(source).toBeDefined();
    expect(source!.url).toBe(
      'http://example.test/base/spaces/api/spaces/s/events'
    );
    expect(model.watching).toEqual(['s']);

    source!.emit('progress', { percent: 40, message: 'Mounting volume' });
    expect(model.progress('s')).toEqual({
      percent: 40,
      message: 'Mounting volume'
    });
    source!.emit('progress', { percent: 250, message: 'x' });
    expect(model.progress('s')!.percent).toBe(100);

    source!.emit('status', { status: 'running', url: '/base/spaces/s/' });
    expect(model.get('s')!.status).toBe('running');
    expect(model.get('s')!.url).toBe('/base/spaces/s/');
    expect(model.progress('s')).toBeNull();
    // Settled: the stream is closed.
    expect(source!.closed).toBe(true);
    expect(model.watching).toEqual([]);
  });

  it('understands typed events on the default message channel', async () => {
    server.handler = () => ({
      body: {
        items: [makeSpace('s', { status: 'stopping' })],
        next_cursor: null
      }
    });
    await model.refresh();
    const source = open('s')!;
    source.emit('message', {
      type: 'progress',
      percent: 50,
      message: 'Saving'
    });
    expect(model.progress('s')).toEqual({ percent: 50, message: 'Saving' });
    source.emit('message', 'not json');
    source.emit('message', {
      type: 'status',
      status: 'failed',
      failure_reason: 'out of memory'
    });
    expect(model.get('s')!.status).toBe('failed');
    expect(model.get('s')!.failure_reason).toBe('out of memory');
    expect(source.closed).toBe(true);
  });

  it('create prepends, update replaces, remove drops and closes', async () => {
    server.handler = req => {
      if (req.method === 'POST') {
        return {
          status: 201,
          headers: { Location: '/base/spaces/api/spaces/new' },
          body: makeSpace('new', { sharing: 'shared' })
        };
      }
      if (req.method === 'PATCH') {
        return { body: makeSpace('new', { volume_gb: 50 }) };
      }
      if (req.method === 'DELETE') {
        return { status: 204 };
      }
      return { body: { items: [makeSpace('old')], next_cursor: null } };
    };
    await model.refresh();
    await model.create({
      name: 'new',
      sharing: 'shared',
      app_type: 'jupyterlab'
    });
    expect(model.spaces.map(s => s.name)).toEqual(['new', 'old']);
    await model.update('new', { volume_gb: 50 });
    expect(model.get('new')!.volume_gb).toBe(50);
    await model.remove('new');
    expect(model.spaces.map(s => s.name)).toEqual(['old']);
    expect(server.last.method).toBe('DELETE');
  });

  it('a failed action keeps the list and exposes the server message', async () => {
    server.handler = req =>
      req.method === 'PATCH'
        ? {
            status: 409,
            body: {
              message: 'Stop the space before changing its instance type.',
              reason: 'conflict'
            }
          }
        : {
            body: {
              items: [makeSpace('s', { status: 'running' })],
              next_cursor: null
            }
          };
    await model.refresh();
    const error = await model
      .update('s', { instance_type: 'large' })
      .catch(e => e);
    expect(error).toBeInstanceOf(SpacesApiError);
    expect(model.error!.message).toBe(
      'Stop the space before changing its instance type.'
    );
    expect(model.error!.reason).toBe('conflict');
    expect(model.get('s')!.instance_type).toBe('small');
  });

  it('dispose closes every open stream', async () => {
    server.handler = () => ({
      body: {
        items: [
          makeSpace('a', { status: 'starting' }),
          makeSpace('b', { status: 'deleting' }),
          makeSpace('c', { status: 'running' })
        ],
        next_cursor: null
      }
    });
    await model.refresh();
    expect(sources).toHaveLength(2);
    model.dispose();
    expect(sources.every(s => s.closed)).toBe(true);
    expect(model.isDisposed).toBe(true);
  });

  it('adds the token to the stream URL when the settings append it', async () => {
    const tokenModel = new SpacesModel({
      client: new SpacesClient({
        serverSettings: server.settings({ token: 'abc', appendToken: true })
      }),
      eventSourceFactory: url => {
        const source = new FakeEventSource(url);
        sources.push(source);
        return source;
      }
    });
    server.handler = () => ({
      body: {
        items: [makeSpace('s', { status: 'starting' })],
        next_cursor: null
      }
    });
    await tokenModel.refresh();
    expect(sources[0].url).toBe(
      'http://example.test/base/spaces/api/spaces/s/events?token=abc'
    );
    tokenModel.dispose();
  });
});

describe('SpacesModel following a live stream', () => {
  let server: FakeServer;
  let sources: FakeEventSource[];
  let scheduled: Array<{ fn: () => void; ms: number }>;
  let model: SpacesModel;

  const make = (live: string, query = {}) =>
    new SpacesModel({
      client: new SpacesClient({ serverSettings: server.settings() }),
      query: { sort: 'name', ...query },
      live,
      eventSourceFactory: url => {
        const source = new FakeEventSource(url);
        sources.push(source);
        return source;
      },
      schedule: (fn, ms) => scheduled.push({ fn, ms })
    });
  const current = () => sources[sources.length - 1];
  const names = () => model.spaces.map(s => s.name);
  const listed =
    (...spaces: unknown[]) =>
    () => ({
      body: { items: spaces, next_cursor: null }
    });

  beforeEach(() => {
    server = new FakeServer(listed(makeSpace('a'), makeSpace('c')));
    sources = [];
    scheduled = [];
    model = make('domain');
  });

  afterEach(() => {
    model.dispose();
  });

  it('opens one stream, the domain feed, from the first read on', async () => {
    expect(sources).toHaveLength(0);
    await model.refresh();
    await model.refresh();
    expect(sources).toHaveLength(1);
    expect(current().url).toBe('http://example.test/base/spaces/api/events');
    expect(model.connected).toBe(false);
    current().emit('snapshot', { items: [makeSpace('a'), makeSpace('c')] });
    expect(model.connected).toBe(true);
    // A start follows from the feed, not from a stream of the space.
    server.handler = () => ({
      status: 202,
      body: makeSpace('a', { status: 'starting' })
    });
    await model.start('a');
    expect(sources).toHaveLength(1);
    expect(model.watching).toEqual([]);
  });

  it('applies listing entries, deletions and progress as they come', async () => {
    await model.refresh();
    const feed = current();
    feed.emit('snapshot', { items: [makeSpace('a'), makeSpace('c')] });
    let changes = 0;
    model.changed.connect(() => changes++);

    feed.emit('space', makeSpace('a', { status: 'stopping' }));
    expect(model.get('a')!.status).toBe('stopping');
    feed.emit('progress', { name: 'a', percent: 30, message: 'Stopping' });
    expect(model.progress('a')).toEqual({ percent: 30, message: 'Stopping' });
    feed.emit('space', makeSpace('a', { status: 'stopped' }));
    expect(model.get('a')!.status).toBe('stopped');
    expect(model.progress('a')).toBeNull();
    // A new space goes where the sort puts it; progress of unknown spaces is ignored.
    feed.emit('space', makeSpace('b', { display_name: 'Bee' }));
    expect(names()).toEqual(['a', 'b', 'c']);
    feed.emit('progress', { name: 'zz', percent: 1, message: 'x' });
    expect(model.progress('zz')).toBeNull();
    feed.emit('deleted', { name: 'c' });
    expect(names()).toEqual(['a', 'b']);
    feed.emit('space', 'not json');
    feed.emit('deleted', { name: 'never-there' });
    expect(names()).toEqual(['a', 'b']);
    expect(changes).toBeGreaterThan(4);
  });

  it('a snapshot replaces what the model showed', async () => {
    await model.refresh();
    current().emit('snapshot', {
      items: [makeSpace('c', { status: 'running' }), makeSpace('d')]
    });
    expect(names()).toEqual(['c', 'd']);
    expect(model.get('c')!.status).toBe('running');
  });

  it('keeps to its query: entries the filters refuse leave the list', async () => {
    model.dispose();
    model = make('domain', { sharing: 'shared' });
    server.handler = listed(makeSpace('s', { sharing: 'shared' }));
    await model.refresh();
    const feed = current();
    feed.emit('space', makeSpace('p')); // private: not for this list
    expect(names()).toEqual(['s']);
    feed.emit('space', makeSpace('t', { sharing: 'shared' }));
    expect(names()).toEqual(['s', 't']);
  });

  it('reconnects after a drop with a growing delay and reads the list anew', async () => {
    await model.refresh();
    const first = current();
    first.emit('snapshot', { items: [makeSpace('a'), makeSpace('c')] });
    const reads = server.requests.length;

    first.onerror!({});
    expect(first.closed).toBe(true);
    expect(model.connected).toBe(false);
    expect(scheduled.map(s => s.ms)).toEqual([RECONNECT_DELAYS[0]]);
    scheduled.shift()!.fn();
    expect(sources).toHaveLength(2);
    // Still down: the next delay is longer.
    current().onerror!({});
    expect(scheduled.map(s => s.ms)).toEqual([RECONNECT_DELAYS[1]]);
    // Events of a stream given up on change nothing.
    first.emit('deleted', { name: 'a' });
    expect(names()).toEqual(['a', 'c']);

    // Back: the list is read again (what changed meanwhile), the delays start over.
    server.handler = listed(makeSpace('a', { status: 'running' }));
    scheduled.shift()!.fn();
    current().emit('snapshot', {
      items: [makeSpace('a', { status: 'running' })]
    });
    expect(model.connected).toBe(true);
    await new Promise(resolve => setTimeout(resolve, 0));
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(server.requests.length).toBe(reads + 1);
    expect(names()).toEqual(['a']);
    expect(model.get('a')!.status).toBe('running');
    current().onerror!({});
    expect(scheduled.map(s => s.ms)).toEqual([RECONNECT_DELAYS[0]]);
  });

  it('gives up on reconnecting once disposed', async () => {
    await model.refresh();
    current().onerror!({});
    model.dispose();
    scheduled.shift()!.fn();
    expect(sources).toHaveLength(1);
    expect(sources[0].closed).toBe(true);
  });

  it('inside a space follows that space’s own stream', async () => {
    model.dispose();
    model = make('a');
    await model.refresh();
    expect(current().url).toBe(
      'http://example.test/base/spaces/api/spaces/a/events'
    );
    current().emit('status', { name: 'a', status: 'stopping' });
    expect(model.get('a')!.status).toBe('stopping');
    current().emit('status', {
      name: 'a',
      status: 'stopped',
      failure_reason: null
    });
    expect(model.get('a')!.status).toBe('stopped');
    current().emit('status', { name: 'a', status: 'deleted' });
    expect(model.get('a')).toBeUndefined();
  });
});

describe('SpacesModel inside a space', () => {
  it('drops the space once its host refuses it (deleted, or access lost)', async () => {
    const server = new FakeServer(() => ({
      body: {
        items: [makeSpace('a', { status: 'running' })],
        next_cursor: null
      }
    }));
    const sources: FakeEventSource[] = [];
    const scheduled: Array<() => void> = [];
    const model = new SpacesModel({
      client: new SpacesClient({ serverSettings: server.settings() }),
      live: 'a',
      eventSourceFactory: url => {
        const source = new FakeEventSource(url);
        sources.push(source);
        return source;
      },
      schedule: fn => scheduled.push(fn)
    });
    const settle = async () => {
      for (let i = 0; i < 5; i++) {
        await new Promise(resolve => setTimeout(resolve, 0));
      }
    };
    await model.refresh();
    // a drop while the host still answers: the space stays
    sources[0].onerror!({});
    await settle();
    expect(model.get('a')!.status).toBe('running');
    // refused now: gone
    server.handler = () => ({
      status: 404,
      body: { message: 'Space a not found.', reason: 'not_found' }
    });
    scheduled.shift()!();
    sources[1].onerror!({});
    await settle();
    expect(model.get('a')).toBeUndefined();
    expect(model.spaces).toEqual([]);
    model.dispose();
  });

  it('the domain feed failing reads nothing (the domain may be restarting)', async () => {
    const server = new FakeServer(() => ({
      body: { items: [makeSpace('a')], next_cursor: null }
    }));
    const sources: FakeEventSource[] = [];
    const model = new SpacesModel({
      client: new SpacesClient({ serverSettings: server.settings() }),
      live: 'domain',
      eventSourceFactory: url => {
        const source = new FakeEventSource(url);
        sources.push(source);
        return source;
      },
      schedule: () => undefined
    });
    await model.refresh();
    const reads = server.requests.length;
    sources[0].onerror!({});
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(server.requests.length).toBe(reads);
    expect(model.get('a')).toBeDefined();
    model.dispose();
  });
});
