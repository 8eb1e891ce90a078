import { SpacesClient } from '../api';
import { dedupe, PresenceModel } from '../presence';
import { FakeServer } from './fakeserver';

/** An entry of `GET spaces/{name}/presence` (`Presence` in openapi.yaml). */
const present = (name: string, ...documents: string[]) => ({
  user: {
    name,
    display_name: name.toUpperCase(),
    initials: name.slice(0, 2).toUpperCase(),
    color: '#000000'
  },
  role: 'editor',
  documents,
  since: '2024-01-01T00:00:00Z'
});

describe('PresenceModel', () => {
  let server: FakeServer;
  let model: PresenceModel;

  beforeEach(() => {
    jest.useFakeTimers();
    server = new FakeServer();
    model = new PresenceModel({
      client: new SpacesClient({ serverSettings: server.settings() }),
      space: 'team',
      interval: 1000
    });
  });

  afterEach(() => {
    model.dispose();
    jest.useRealTimers();
  });

  it('reads GET spaces/{name}/presence, one entry per person', async () => {
    server.handler = () => ({
      body: {
        items: [
          present('ada', 'a.ipynb'),
          present('ada', 'b.ipynb'),
          present('bob')
        ]
      }
    });
    let changes = 0;
    model.changed.connect(() => changes++);
    await model.refresh();
    expect(server.last.path).toBe('/base/spaces/api/spaces/team/presence');
    expect(model.people.map(p => [p.user.name, p.documents])).toEqual([
      ['ada', ['a.ipynb']],
      ['bob', []]
    ]);
    expect(changes).toBe(1);
    await model.refresh(); // same answer: no change signal
    expect(changes).toBe(1);
  });

  it('polls at its interval and stops for good on a 404', async () => {
    server.handler = () => ({ body: { items: [] } });
    const refresh = jest.spyOn(model, 'refresh');
    model.start();
    expect(refresh).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(3000);
    expect(refresh).toHaveBeenCalledTimes(4);

    server.handler = () => ({
      status: 404,
      body: { message: "No space named 'team'.", reason: 'not_found' }
    });
    await model.refresh();
    expect(model.stopped).toBe(true);
    const after = refresh.mock.calls.length;
    jest.advanceTimersByTime(5000);
    expect(refresh.mock.calls.length).toBe(after);
  });

  it('asks again after a 409 (try again), each wait twice the last, keeping the list', async () => {
    // one with a long interval: the retries, not the polls, are what is counted
    model.dispose();
    model = new PresenceModel({
      client: new SpacesClient({ serverSettings: server.settings() }),
      space: 'team',
      interval: 60_000
    });
    server.handler = () => ({ body: { items: [present('ada')] } });
    await model.refresh();
    const conflict = () => ({
      status: 409,
      body: {
        message: "Space 'team' is not answering; try again in a moment.",
        reason: 'conflict'
      }
    });
    server.handler = conflict;
    const refresh = jest.spyOn(model, 'refresh');
    await model.refresh();
    expect(model.stopped).toBe(false);
    expect(model.people).toHaveLength(1);
    // the retries: after 1 s, then 2 s more, then 4 s more
    for (const wait of [1000, 2000, 4000]) {
      const before = refresh.mock.calls.length;
      await jest.advanceTimersByTimeAsync(wait - 1);
      expect(refresh.mock.calls.length).toBe(before);
      await jest.advanceTimersByTimeAsync(1);
      expect(refresh.mock.calls.length).toBe(before + 1);
    }
    // the space answers again: the people are read, the waits start over
    server.handler = () => ({
      body: { items: [present('ada'), present('bob')] }
    });
    await jest.advanceTimersByTimeAsync(8000);
    expect(model.people.map(p => p.user.name)).toEqual(['ada', 'bob']);
    expect(model.stopped).toBe(false);
    server.handler = conflict;
    const before = refresh.mock.calls.length;
    await model.refresh();
    await jest.advanceTimersByTimeAsync(1000);
    expect(refresh.mock.calls.length).toBe(before + 2);
  });

  it('keeps the last list on a passing failure', async () => {
    server.handler = () => ({ body: { items: [present('ada')] } });
    await model.refresh();
    server.handler = () => ({
      status: 502,
      text: 'bad gateway',
      offContract: 'a proxy in front of the domain answers, not the domain'
    });
    await model.refresh();
    expect(model.people).toHaveLength(1);
    expect(model.stopped).toBe(false);
  });

  it('dedupe drops entries without a user', () => {
    expect(dedupe([present('a', 'x'), {} as any, present('a', 'y')])).toEqual([
      present('a', 'x')
    ]);
  });
});
