import {
  buildQuery,
  collect,
  iteratePages,
  SpacesApiError,
  SpacesClient
} from '../api';
import {
  BASE_URL,
  clientEachTest,
  Handler,
  IRecordedRequest,
  makeSpace,
  makeUser
} from './fakeserver';

const USER = makeUser('bob');

const TOKEN = {
  id: 42,
  note: 'ci',
  created: '2024-01-01T00:00:00Z',
  expires: null,
  last_used: null
};

/** What the domain answers on each route the client test below calls. */
function routes(req: IRecordedRequest) {
  const route = req.path.replace('/base/spaces/api/', '');
  if (req.method === 'DELETE') {
    return { status: 204 };
  }
  if (route === 'spaces/s/members') {
    return { body: { items: [{ user: USER, role: 'owner' }] } };
  }
  if (route === 'spaces/s/members/bob') {
    return { body: { user: USER, role: 'viewer' } };
  }
  if (route === 'users' && req.method === 'POST') {
    return {
      status: 201,
      headers: { Location: '/base/spaces/api/users/carol' },
      body: { ...USER, name: 'carol', admin: true, token: 'secret' }
    };
  }
  if (route === 'users/bob' || route === 'users/carol') {
    return { body: USER };
  }
  if (route === 'users/bob/tokens' && req.method === 'POST') {
    return { status: 201, body: { ...TOKEN, token: 'secret' } };
  }
  if (route === 'users' || route === 'audit') {
    return { body: { items: [], next_cursor: null } };
  }
  return { body: { items: [] } }; // presence, tokens, the catalogues
}

describe('SpacesClient request building', () => {
  const fake = clientEachTest();

  it('builds URLs under <base_url>spaces/api/', () => {
    expect(fake.client.url(['spaces'])).toBe(`${BASE_URL}spaces/api/spaces`);
    expect(fake.client.url(['spaces', 'demo', 'start'])).toBe(
      `${BASE_URL}spaces/api/spaces/demo/start`
    );
    expect(fake.client.eventsUrl('demo')).toBe(
      `${BASE_URL}spaces/api/spaces/demo/events`
    );
  });

  it('encodes path segments', async () => {
    fake.server.handler = () => ({
      status: 404,
      body: { message: 'x', reason: 'not_found' }
    });
    await expect(fake.client.getSpace('a/b?c')).rejects.toThrow(SpacesApiError);
    expect(fake.server.last.path).toBe('/base/spaces/api/spaces/a%2Fb%3Fc');
  });

  it('GET me', async () => {
    const me = makeUser('alice', { initials: 'A' });
    fake.server.handler = () => ({ body: me });
    await expect(fake.client.me()).resolves.toEqual(me);
    expect(fake.server.last.method).toBe('GET');
    expect(fake.server.last.path).toBe('/base/spaces/api/me');
    expect(fake.server.last.body).toBeUndefined();
  });

  it('lists spaces with filters, sort, limit and cursor in the query', async () => {
    fake.server.handler = () => ({ body: { items: [], next_cursor: null } });
    await fake.client.listSpaces({
      sharing: 'shared',
      app_type: 'code-editor',
      owner: 'bob smith',
      status: 'running',
      name_contains: 'a&b=c',
      sort: '-last_activity',
      limit: 25,
      cursor: 'opaque/+=cursor'
    });
    const req = fake.server.last;
    expect(req.method).toBe('GET');
    expect(req.path).toBe('/base/spaces/api/spaces');
    expect(req.query).toEqual({
      sharing: 'shared',
      app_type: 'code-editor',
      owner: 'bob smith',
      status: 'running',
      name_contains: 'a&b=c',
      sort: '-last_activity',
      limit: '25',
      cursor: 'opaque/+=cursor'
    });
    // Reserved characters are percent-encoded, not left to split the query.
    expect(req.search).toContain('name_contains=a%26b%3Dc');
  });

  it('leaves out unset query parameters', async () => {
    fake.server.handler = () => ({ body: { items: [], next_cursor: null } });
    await fake.client.listSpaces({ owner: undefined, cursor: null, limit: 10 });
    expect(fake.server.last.query).toEqual({ limit: '10' });
    await fake.client.listSpaces();
    expect(fake.server.last.query).toEqual({});
  });

  it('POST spaces sends a JSON body', async () => {
    const created = makeSpace('demo', { sharing: 'shared' });
    fake.server.handler = () => ({
      status: 201,
      body: created,
      headers: { Location: '/base/spaces/api/spaces/demo' }
    });
    const body = {
      name: 'demo',
      sharing: 'shared' as const,
      app_type: 'jupyterlab' as const,
      instance_type: 'small',
      volume_gb: 10
    };
    await expect(fake.client.createSpace(body)).resolves.toEqual(created);
    const req = fake.server.last;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/base/spaces/api/spaces');
    expect(req.body).toEqual(body);
    expect(req.headers.get('Content-Type')).toBe('application/json');
  });

  it('PATCH, start, stop and DELETE a space', async () => {
    fake.server.handler = req =>
      req.method === 'DELETE'
        ? { status: 204 }
        : { status: req.method === 'POST' ? 202 : 200, body: makeSpace('s') };

    await fake.client.updateSpace('s', {
      instance_type: 'large',
      volume_gb: 20
    });
    expect(fake.server.last.method).toBe('PATCH');
    expect(fake.server.last.path).toBe('/base/spaces/api/spaces/s');
    expect(fake.server.last.body).toEqual({
      instance_type: 'large',
      volume_gb: 20
    });

    await fake.client.startSpace('s');
    expect(fake.server.last.method).toBe('POST');
    expect(fake.server.last.path).toBe('/base/spaces/api/spaces/s/start');
    expect(fake.server.last.body).toBeUndefined();

    await fake.client.stopSpace('s');
    expect(fake.server.last.path).toBe('/base/spaces/api/spaces/s/stop');

    await expect(fake.client.deleteSpace('s')).resolves.toBeUndefined();
    expect(fake.server.last.method).toBe('DELETE');
    expect(fake.server.last.path).toBe('/base/spaces/api/spaces/s');
  });

  it('members, presence, catalogues, users, tokens and audit routes', async () => {
    fake.server.handler = routes;
    const calls: Array<[() => Promise<unknown>, string, string, unknown?]> = [
      [() => fake.client.listMembers('s'), 'GET', 'spaces/s/members'],
      [
        () => fake.client.setMember('s', 'bob', 'viewer'),
        'PUT',
        'spaces/s/members/bob',
        { role: 'viewer' }
      ],
      [
        () => fake.client.removeMember('s', 'bob'),
        'DELETE',
        'spaces/s/members/bob'
      ],
      [() => fake.client.presence('s'), 'GET', 'spaces/s/presence'],
      [() => fake.client.instanceTypes(), 'GET', 'instance-types'],
      [() => fake.client.images(), 'GET', 'images'],
      [() => fake.client.appTypes(), 'GET', 'app-types'],
      [() => fake.client.listUsers({ limit: 5 }), 'GET', 'users'],
      [() => fake.client.getUser('bob'), 'GET', 'users/bob'],
      [
        () => fake.client.createUser({ name: 'carol', admin: true }),
        'POST',
        'users',
        { name: 'carol', admin: true }
      ],
      [
        () => fake.client.updateUser('carol', { color: '#abcdef' }),
        'PATCH',
        'users/carol',
        { color: '#abcdef' }
      ],
      [() => fake.client.deleteUser('carol'), 'DELETE', 'users/carol'],
      [() => fake.client.listTokens('bob'), 'GET', 'users/bob/tokens'],
      [
        () =>
          fake.client.createToken('bob', { note: 'ci', expires_in_days: 7 }),
        'POST',
        'users/bob/tokens',
        { note: 'ci', expires_in_days: 7 }
      ],
      [
        () => fake.client.deleteToken('bob', 42),
        'DELETE',
        'users/bob/tokens/42'
      ],
      [() => fake.client.listAudit({ limit: 3 }), 'GET', 'audit']
    ];
    for (const [call, method, path, body] of calls) {
      await call();
      expect([fake.server.last.method, fake.server.last.path]).toEqual([
        method,
        `/base/spaces/api/${path}`
      ]);
      expect(fake.server.last.body).toEqual(body);
    }
  });

  it('sends the API token of the settings as an Authorization header', async () => {
    const settings = fake.server.settings({ token: 's3cret' });
    const authed = new SpacesClient({ serverSettings: settings });
    fake.server.handler = () => ({ body: { items: [], next_cursor: null } });
    await authed.listSpaces();
    expect(fake.server.last.headers.get('Authorization')).toBe('token s3cret');
  });
});

describe('SpacesApiError', () => {
  const fake = clientEachTest();

  it.each([
    [404, 'not_found', 'Space "x" not found.'],
    [409, 'conflict', 'A space named "x" already exists.'],
    [422, 'invalid', 'name: must match ^[a-z0-9](-?[a-z0-9]){0,62}$'],
    [413, 'too_large', 'The request body is over 64 KiB.'],
    [403, 'forbidden', 'Only the owner may delete this space.']
  ])(
    'carries the server message and status (%i)',
    async (status, reason, message) => {
      fake.server.handler = () => ({ status, body: { message, reason } });
      const error = await fake.client
        .updateSpace('x', { volume_gb: 10 })
        .catch(e => e);
      expect(error).toBeInstanceOf(SpacesApiError);
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toBe(message);
      expect(error.status).toBe(status);
      expect(error.reason).toBe(reason);
      expect(error.response).toBeInstanceOf(Response);
    }
  );

  it.each<{
    what: string;
    answer: Handler;
    call: (client: SpacesClient) => Promise<unknown>;
    error: Record<string, unknown>;
  }>([
    {
      what: 'falls back on the status line for a non-JSON error body',
      answer: () => ({
        status: 502,
        text: '<html>Bad Gateway</html>',
        offContract: 'a proxy in front of the domain answers, not the domain'
      }),
      call: c => c.listSpaces(),
      error: {
        status: 502,
        message: expect.stringMatching(/^502/),
        reason: 'server_error'
      }
    },
    {
      what: 'derives the reason from the status when the body has none',
      answer: () => ({
        status: 404,
        body: { message: 'Not here.' },
        offContract:
          'every error of the domain has a reason; this tests without'
      }),
      call: c => c.getSpace('x'),
      error: { message: 'Not here.', reason: 'not_found' }
    },
    {
      what: 'wraps network failures with status 0',
      answer: () => {
        throw new TypeError('Failed to fetch');
      },
      call: c => c.me(),
      error: {
        status: 0,
        reason: 'network_error',
        message: expect.stringContaining('Failed to fetch')
      }
    },
    {
      what: 'reports a 2xx answer that is not JSON',
      answer: () => ({
        status: 200,
        text: 'not json',
        offContract: 'a broken answer, to test that the client reports it'
      }),
      call: c => c.me(),
      error: { reason: 'bad_response' }
    }
  ])('$what', async ({ answer, call, error }) => {
    fake.server.handler = answer;
    const thrown = await call(fake.client).catch(e => e);
    expect(thrown).toBeInstanceOf(SpacesApiError);
    expect(thrown).toMatchObject(error);
  });
});

describe('paging', () => {
  const fake = clientEachTest();

  it('buildQuery encodes and skips unset values', () => {
    expect(buildQuery({})).toBe('');
    expect(buildQuery({ a: 1, b: undefined, c: null, d: 'x y', e: true })).toBe(
      '?a=1&d=x%20y&e=true'
    );
  });

  it('allSpaces follows next_cursor until null, keeping the filters', async () => {
    const pages: Record<
      string,
      { items: unknown[]; next_cursor: string | null }
    > = {
      '': { items: [makeSpace('a'), makeSpace('b')], next_cursor: 'c1' },
      c1: { items: [makeSpace('c')], next_cursor: 'c2' },
      c2: { items: [makeSpace('d')], next_cursor: null }
    };
    fake.server.handler = req => ({ body: pages[req.query.cursor ?? ''] });
    const spaces = await collect(
      fake.client.allSpaces({ sharing: 'shared', sort: 'name', limit: 2 })
    );
    expect(spaces.map(s => s.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(fake.server.requests.map(r => r.query)).toEqual([
      { sharing: 'shared', sort: 'name', limit: '2' },
      { sharing: 'shared', sort: 'name', limit: '2', cursor: 'c1' },
      { sharing: 'shared', sort: 'name', limit: '2', cursor: 'c2' }
    ]);
  });

  it('is lazy: stopping early fetches no further page', async () => {
    fake.server.handler = () => ({
      body: { items: [makeSpace('a'), makeSpace('b')], next_cursor: 'more' }
    });
    for await (const space of fake.client.allSpaces()) {
      expect(space.name).toBe('a');
      break;
    }
    expect(fake.server.requests).toHaveLength(1);
  });

  it('stops on a repeated cursor instead of looping forever', async () => {
    fake.server.handler = () => ({
      body: { items: [makeSpace('a')], next_cursor: 'same' }
    });
    const error = await collect(fake.client.allSpaces()).catch(e => e);
    expect(error).toBeInstanceOf(SpacesApiError);
    expect(error.reason).toBe('bad_response');
    expect(fake.server.requests).toHaveLength(2);
  });

  it('propagates an error from a later page', async () => {
    fake.server.sequence(
      {
        body: {
          items: [
            {
              id: 1,
              time: '2024-01-01T00:00:00Z',
              actor: 'root',
              action: 'space.create',
              target_type: 'space',
              target: 'demo',
              outcome: 'ok',
              detail: {}
            }
          ],
          next_cursor: 'n'
        }
      },
      { status: 403, body: { message: 'Admins only.', reason: 'forbidden' } }
    );
    const error = await collect(fake.client.allAudit()).catch(e => e);
    expect(error).toBeInstanceOf(SpacesApiError);
    expect(error.message).toBe('Admins only.');
    expect(error.status).toBe(403);
  });

  it('iteratePages starts from a given cursor', async () => {
    const seen: Array<string | undefined> = [];
    const items = await collect(
      iteratePages(
        async cursor => {
          seen.push(cursor);
          return cursor === 'start'
            ? { items: [1, 2], next_cursor: 'end' }
            : { items: [3], next_cursor: null };
        },
        { cursor: 'start' }
      )
    );
    expect(items).toEqual([1, 2, 3]);
    expect(seen).toEqual(['start', 'end']);
  });
});
