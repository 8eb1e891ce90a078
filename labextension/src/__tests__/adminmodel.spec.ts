import { IUser, SpacesClient } from '../api';
import {
  auditFilterError,
  AuditLog,
  auditQuery,
  demoteRefusal,
  describeDetail,
  linkLifetime,
  localToIso,
  NO_AUDIT_FILTERS,
  resizeChanges,
  resizeLockedReason
} from '../adminmodel';
import {
  FakeServer,
  makeInstanceType,
  makeSpace,
  makeUser
} from './fakeserver';
import { trans } from './trans';

function user(name: string, admin: boolean): IUser {
  return makeUser(name, { display_name: name.toUpperCase(), admin });
}

function event(id: number, action = 'space.stop') {
  return {
    id,
    time: '2026-12-07T00:00:00Z',
    actor: 'root',
    action,
    target_type: 'space',
    target: 'team',
    outcome: 'ok',
    detail: {}
  };
}

describe('audit filters', () => {
  it('sends only the filters given, times as ISO with a zone', () => {
    expect(auditQuery(NO_AUDIT_FILTERS)).toEqual({ limit: 50 });
    const since = '2026-12-01T08:30';
    const query = auditQuery({
      actor: ' alice ',
      action: 'space',
      target: '',
      since,
      until: ''
    });
    expect(query).toEqual({
      limit: 50,
      actor: 'alice',
      action: 'space',
      since: new Date(since).toISOString()
    });
    expect(query.since).toMatch(/Z$/);
  });

  it('reads datetime-local values and refuses nonsense and empty ranges', () => {
    expect(localToIso('')).toBeUndefined();
    expect(localToIso('not a time')).toBeUndefined();
    const filters = { ...NO_AUDIT_FILTERS };
    expect(auditFilterError(filters, trans)).toBeNull();
    expect(auditFilterError({ ...filters, since: 'yesterday' }, trans)).toMatch(
      /From/
    );
    expect(
      auditFilterError(
        { ...filters, since: '2026-12-02T00:00', until: '2026-12-01T00:00' },
        trans
      )
    ).toBe('“From” must be before “To”.');
    expect(
      auditFilterError(
        { ...filters, since: '2026-12-01T00:00', until: '2026-12-02T00:00' },
        trans
      )
    ).toBeNull();
  });

  it('describes an event’s detail in one line', () => {
    expect(describeDetail({ fields: ['volume_gb'], note: 'x' })).toBe(
      'fields=["volume_gb"] note=x'
    );
    expect(describeDetail(null)).toBe('');
  });
});

describe('AuditLog', () => {
  it('loads the filters’ first page, then more with the same filters', async () => {
    const server = new FakeServer();
    server.sequence(
      { body: { items: [event(9), event(8)], next_cursor: 'c1' } },
      { body: { items: [event(7)], next_cursor: null } }
    );
    const log = new AuditLog(
      new SpacesClient({ serverSettings: server.settings() }),
      2
    );
    log.setFilters({ actor: 'root', action: 'space' });
    await log.load();
    expect(server.last.path).toBe('/base/spaces/api/audit');
    expect(server.last.query).toEqual({
      limit: '2',
      actor: 'root',
      action: 'space'
    });
    expect(log.events.map(e => e.id)).toEqual([9, 8]);
    expect(log.hasMore).toBe(true);
    log.setFilters({ actor: 'someone else' }); // typed, not applied
    await log.more();
    expect(server.last.query).toEqual({
      limit: '2',
      actor: 'root',
      action: 'space',
      cursor: 'c1'
    });
    expect(log.events.map(e => e.id)).toEqual([9, 8, 7]);
    expect(log.hasMore).toBe(false);
    expect(log.loading).toBe(false);
  });

  it('keeps the server’s refusal and shows nothing stale', async () => {
    const server = new FakeServer();
    server.sequence(
      { body: { items: [event(3)], next_cursor: null } },
      {
        status: 400,
        body: {
          message: "Query parameter 'since': not a date and time.",
          reason: 'bad_request'
        }
      }
    );
    const log = new AuditLog(
      new SpacesClient({ serverSettings: server.settings() })
    );
    await log.load();
    expect(log.events).toHaveLength(1);
    await log.load();
    expect(log.error?.status).toBe(400);
    expect(log.error?.message).toMatch(/since/);
    expect(log.events).toEqual([]);
  });

  it('clears its filters on reset', async () => {
    const server = new FakeServer(() => ({
      body: { items: [], next_cursor: null }
    }));
    const log = new AuditLog(
      new SpacesClient({ serverSettings: server.settings() })
    );
    log.setFilters({ target: 'bob' });
    await log.reset();
    expect(log.filters).toEqual(NO_AUDIT_FILTERS);
    expect(server.last.query).toEqual({ limit: '50' });
  });
});

describe('resize', () => {
  const types = [
    makeInstanceType('small'),
    makeInstanceType('gpu', {
      display_name: 'GPU',
      cpus: 8,
      memory_gb: 64,
      available: false,
      reason: 'No GPU on this host.'
    }),
    makeInstanceType('large', { cpus: 4, memory_gb: 16 })
  ];
  const space = makeSpace('team', {
    instance_type: 'small',
    volume_gb: 5,
    status: 'stopped'
  }) as any;

  it('sends only what changed', () => {
    expect(
      resizeChanges(
        space,
        { instanceType: 'small', volumeGb: '5' },
        types,
        trans
      )
    ).toEqual({ body: {}, errors: {} });
    expect(
      resizeChanges(
        space,
        { instanceType: 'large', volumeGb: '20' },
        types,
        trans
      )
    ).toEqual({ body: { instance_type: 'large', volume_gb: 20 }, errors: {} });
  });

  it('refuses what the server would, by field', () => {
    const { body, errors } = resizeChanges(
      space,
      { instanceType: 'gpu', volumeGb: '2.5' },
      types,
      trans
    );
    expect(body).toEqual({});
    expect(errors.instance_type).toBe('No GPU on this host.');
    expect(errors.volume_gb).toMatch(/whole number of GiB/);
    expect(
      resizeChanges(
        space,
        { instanceType: 'small', volumeGb: '0' },
        types,
        trans
      ).errors.volume_gb
    ).toBeTruthy();
  });

  it('is locked while the space is not stopped', () => {
    expect(resizeLockedReason(space, trans)).toBeNull();
    expect(
      resizeLockedReason({ ...space, status: 'failed' }, trans)
    ).toBeNull();
    expect(resizeLockedReason({ ...space, status: 'running' }, trans)).toMatch(
      /^Stop the space to resize it/
    );
  });
});

describe('admin rights', () => {
  it('the last administrator cannot be demoted', () => {
    const root = user('root', true);
    const alice = user('alice', false);
    expect(demoteRefusal(root, [root, alice], trans)).toMatch(
      /ROOT is the only administrator.*Make another user an administrator first/
    );
    expect(demoteRefusal(alice, [root, alice], trans)).toBeNull();
    const bob = user('bob', true);
    expect(demoteRefusal(root, [root, alice, bob], trans)).toBeNull();
  });
});

describe('login links', () => {
  it('say how long they last', () => {
    const now = Date.parse('2026-12-07T00:00:00Z');
    expect(linkLifetime('2026-12-08T00:00:00Z', trans, now)).toMatch(
      /^It works once, within 24 hours \(until .+\)\.$/
    );
    expect(linkLifetime('2026-12-07T01:00:00Z', trans, now)).toMatch(
      /within 1 hour \(/
    );
    expect(linkLifetime('2026-12-07T00:10:00Z', trans, now)).toMatch(
      /^It works once, until /
    );
  });
});
