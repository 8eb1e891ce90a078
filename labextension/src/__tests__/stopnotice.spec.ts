import { ISpace, SpacesClient } from '../api';
import { IEventSourceLike, SpacesModel } from '../model';
import { startAndOpen, stopNotice, stoppedUnderYou } from '../stopnotice';
import { FakeServer, makeSpace } from './fakeserver';
import { trans } from './trans';

const space = (extra: Record<string, unknown> = {}) =>
  makeSpace('lab', { display_name: 'Lab', ...extra }) as unknown as ISpace;

describe('stoppedUnderYou', () => {
  it('is a running space that stops, fails, goes or is deleted', () => {
    const running = space({ status: 'running' });
    for (const status of ['stopping', 'stopped', 'failed', 'deleting']) {
      expect(stoppedUnderYou(running, space({ status }))).toBe(true);
    }
    expect(stoppedUnderYou(running, undefined)).toBe(true);
    expect(stoppedUnderYou(running, running)).toBe(false);
    expect(stoppedUnderYou(space({ status: 'starting' }), space())).toBe(false);
    expect(stoppedUnderYou(undefined, space())).toBe(false);
  });
});

describe('stopNotice', () => {
  const stopped = (stopped_by: unknown, extra = {}) =>
    space({ status: 'stopped', stopped_by, ...extra });

  it('says who stopped it', () => {
    expect(
      stopNotice(
        'lab',
        stopped({ kind: 'admin', user: 'root' }),
        'eddie',
        trans
      )
    ).toEqual({
      title: 'Space Lab was stopped',
      message: expect.stringMatching(
        /^This space was stopped by an administrator \(root\)\. Its files are kept: start it again/
      ),
      canStart: true
    });
    expect(
      stopNotice('lab', stopped({ kind: 'admin', user: 'system' }), 'x', trans)
        .message
    ).toMatch(/^This space was stopped by an administrator\. /);
    expect(
      stopNotice(
        'lab',
        stopped({ kind: 'owner', user: 'alice' }),
        'eddie',
        trans
      ).message
    ).toMatch(/^This space was stopped by its owner, alice\. /);
    expect(
      stopNotice('lab', stopped({ kind: 'user', user: 'eddie' }), 'vera', trans)
        .message
    ).toMatch(/^This space was stopped by eddie\. /);
    expect(
      stopNotice(
        'lab',
        stopped({ kind: 'user', user: 'eddie' }),
        'eddie',
        trans
      ).message
    ).toMatch(/^You stopped this space/);
  });

  it('says why: idle timeout, failure, or nothing known', () => {
    expect(
      stopNotice('lab', stopped({ kind: 'idle', minutes: 60 }), 'a', trans)
        .message
    ).toMatch(/^This space was stopped after 60 minutes without activity\. /);
    const failed = stopNotice(
      'lab',
      space({
        status: 'failed',
        failure_reason: 'Out of memory',
        stopped_by: { kind: 'failure' }
      }),
      'a',
      trans
    );
    expect(failed.title).toBe('Space Lab failed');
    expect(failed.message).toMatch(
      /^This space stopped unexpectedly: Out of memory\. /
    );
    expect(stopNotice('lab', stopped(null), 'a', trans).message).toMatch(
      /^This space was stopped\. /
    );
  });

  it('offers a start only to those who may start it', () => {
    const viewer = stopNotice(
      'lab',
      stopped({ kind: 'owner', user: 'alice' }, { role: 'viewer' }),
      'vera',
      trans
    );
    expect(viewer.canStart).toBe(false);
    expect(viewer.message).toMatch(/an owner or editor can start it again/);
    const gone = stopNotice('lab', undefined, 'vera', trans);
    expect(gone).toEqual({
      title: 'Space lab is gone',
      message: expect.stringMatching(/deleted, or you no longer have access/),
      canStart: false
    });
  });
});

describe('startAndOpen (the home, after "Start again")', () => {
  class Source implements IEventSourceLike {
    listeners = new Map<string, (event: { data: string }) => void>();
    onerror = null;
    addEventListener(type: string, listener: (e: { data: string }) => void) {
      this.listeners.set(type, listener);
    }
    close() {
      /* nothing */
    }
    emit(type: string, data: unknown) {
      this.listeners.get(type)?.({ data: JSON.stringify(data) });
    }
  }

  it('starts a stopped space and opens it once it runs', async () => {
    const server = new FakeServer(req =>
      req.method === 'POST'
        ? { status: 202, body: makeSpace('lab', { status: 'starting' }) }
        : { body: { items: [makeSpace('lab')], next_cursor: null } }
    );
    let source: Source | undefined;
    const model = new SpacesModel({
      client: new SpacesClient({ serverSettings: server.settings() }),
      live: 'domain',
      eventSourceFactory: () => (source = new Source())
    });
    await model.refresh();
    const opened: string[] = [];
    await startAndOpen(model, 'lab', url => opened.push(url));
    expect(server.last.path).toBe('/base/spaces/api/spaces/lab/start');
    expect(opened).toEqual([]);
    source!.emit('space', makeSpace('lab', { status: 'running' }));
    expect(opened).toEqual(['/base/spaces/lab/lab']);
    source!.emit('space', makeSpace('lab', { status: 'running' }));
    expect(opened).toHaveLength(1);
    model.dispose();
  });
});
