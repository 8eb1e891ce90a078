/**
 * @jest-environment ./jest-env-jsdom.js
 */
import * as React from 'react';
import { act } from 'react';

import { SpacesClient } from '../api';
import { AllSpacesView, UsersView } from '../admin';
import { HomeModel } from '../homemodel';
import {
  domainHandler,
  FakeServer,
  makeInstanceType,
  makeSpace,
  makeUser
} from './fakeserver';
import { button, choose, mountEachTest, settle, silentFeed, type } from './dom';
import { trans } from './trans';

const ROOT = makeUser('root', {
  display_name: 'Rita Root',
  initials: 'RR',
  admin: true
});

/** A domain with an admin, two instance types and these spaces. */
function domain(server: FakeServer, spaces: unknown[]) {
  server.handler = domainHandler(
    {
      me: ROOT,
      spaces,
      catalog: {
        'instance-types': [makeInstanceType('small'), makeInstanceType('large')]
      },
      token: 'api-secret'
    },
    (req, route) => {
      if (route === 'users/newbie/login-link') {
        return {
          status: 201,
          body: {
            user: 'newbie',
            url: 'http://localhost:8888/login?token=link-secret',
            expires: new Date(Date.now() + 24 * 3_600_000).toISOString()
          }
        };
      }
      if (route.startsWith('spaces/') && req.method === 'PATCH') {
        const name = route.split('/')[1];
        return {
          body: makeSpace(name, {
            ...(req.body as object),
            role: null,
            url: null
          })
        };
      }
      return undefined;
    }
  );
}

const dom = mountEachTest();
let server: FakeServer;
let model: HomeModel;

beforeEach(() => {
  server = new FakeServer();
  model = new HomeModel({
    client: new SpacesClient({ serverSettings: server.settings() }),
    // the live feed stays silent: the list is what GET spaces says
    eventSourceFactory: silentFeed
  });
});

afterEach(() => {
  model.dispose();
});

const run = async (fn: () => Promise<unknown>) => {
  await fn();
};

describe('AllSpacesView', () => {
  it('resizes a stopped space and says why a running one cannot be', async () => {
    domain(server, [
      makeSpace('idle', {
        status: 'stopped',
        instance_type: 'small',
        volume_gb: 5,
        role: null,
        url: null
      }),
      makeSpace('busy', { status: 'running', role: null, url: null })
    ]);
    await model.load();
    act(() =>
      dom.root.render(
        <AllSpacesView
          model={model}
          trans={trans}
          run={run}
          onStop={() => undefined}
          onDelete={() => undefined}
          search={null}
        />
      )
    );
    const busy = dom.container.querySelector('tr[data-space="busy"]')!;
    const locked = button(busy, 'Resize');
    expect(locked.disabled).toBe(true);
    expect(locked.title).toMatch(/^Stop the space to resize it/);
    expect(button(busy, 'Delete').disabled).toBe(true);

    const idle = dom.container.querySelector('tr[data-space="idle"]')!;
    expect(idle.textContent).toContain('of 5 GiB');
    act(() => button(idle, 'Resize').click());
    const dialog = dom.container.querySelector('.jp-SpacesResizeDialog')!;
    const select = dialog.querySelector('select')!;
    act(() => choose(select, 'large'));
    act(() => type(dialog.querySelector('input[type=number]')!, '8'));
    await act(async () => {
      (dialog as HTMLFormElement).requestSubmit();
    });
    await settle();
    const patch = server.requests.find(r => r.method === 'PATCH')!;
    expect(patch.path).toBe('/base/spaces/api/spaces/idle');
    expect(patch.body).toEqual({ instance_type: 'large', volume_gb: 8 });
    expect(dom.container.querySelector('.jp-SpacesResizeDialog')).toBeNull();
  });
});

describe('UsersView', () => {
  it('adds a user and shows the login link beside the API token', async () => {
    domain(server, []);
    await model.load();
    act(() =>
      dom.root.render(<UsersView model={model} trans={trans} run={run} />)
    );
    act(() => button(dom.container, 'Add user').click());
    const dialog = dom.container.querySelector('.jp-SpacesAddUserDialog')!;
    act(() => type(dialog.querySelector('input[name=name]')!, 'newbie'));
    await act(async () => {
      (dialog as HTMLFormElement).requestSubmit();
    });
    await settle();
    expect(
      server.requests.map(
        r => `${r.method} ${r.path.replace('/base/spaces/api/', '')}`
      )
    ).toEqual(
      expect.arrayContaining(['POST users', 'POST users/newbie/login-link'])
    );
    const shown = dom.container.querySelector('.jp-SpacesAddUserDialog')!;
    expect(shown.querySelector('[data-login-link]')?.textContent).toBe(
      'http://localhost:8888/login?token=link-secret'
    );
    expect(shown.querySelector('[data-token]')?.textContent).toBe('api-secret');
    expect(shown.textContent).toMatch(/It works once, within 24 hours/);
    expect(model.users.map(u => u.name)).toEqual(['newbie', 'root']);
  });
});
