/**
 * @jest-environment ./jest-env-jsdom.js
 *
 * A user's own API tokens from the home: made with a note and a lifetime,
 * shown once, listed without the secret, revoked.
 */
import * as React from 'react';
import { act } from 'react';

import { IToken, SpacesClient } from '../api';
import { HomeModel } from '../homemodel';
import { TokensDialog } from '../tokens';
import { button, mountEachTest, settle, silentFeed, type } from './dom';
import { FakeServer, IRecordedRequest, makeUser } from './fakeserver';
import { trans } from './trans';

const ME = makeUser('ada', { initials: 'A', color: '#1f77b4' });

/** A domain that keeps ada's tokens. */
function tokenServer(): FakeServer {
  const tokens: IToken[] = [];
  let next = 1;
  return new FakeServer((req: IRecordedRequest) => {
    const route = req.path.replace('/base/spaces/api/', '');
    if (route === 'users/ada/tokens' && req.method === 'GET') {
      return { body: { items: tokens } };
    }
    if (route === 'users/ada/tokens' && req.method === 'POST') {
      const body = req.body as { note?: string; expires_in_days?: number };
      const days = body.expires_in_days;
      const token: IToken = {
        id: next++,
        note: body.note ?? '',
        created: new Date().toISOString(),
        expires: days
          ? new Date(Date.now() + days * 86_400_000).toISOString()
          : null,
        last_used: null
      };
      tokens.push(token);
      return { status: 201, body: { ...token, token: `secret-${token.id}` } };
    }
    const revoke = /^users\/ada\/tokens\/(\d+)$/.exec(route);
    if (revoke && req.method === 'DELETE') {
      tokens.splice(
        tokens.findIndex(t => t.id === Number(revoke[1])),
        1
      );
      return { status: 204 };
    }
    return {
      status: 404,
      body: { message: 'No such thing.', reason: 'not_found' }
    };
  });
}

describe('TokensDialog', () => {
  const dom = mountEachTest();

  it('makes a token shown once, lists it by its note, and revokes it', async () => {
    const server = tokenServer();
    const model = new HomeModel({
      client: new SpacesClient({ serverSettings: server.settings() }),
      eventSourceFactory: silentFeed
    });
    act(() =>
      dom.root.render(
        <TokensDialog
          user={ME}
          model={model}
          trans={trans}
          onClose={() => undefined}
        />
      )
    );
    await settle();
    const dialog = dom.container.querySelector('.jp-SpacesTokensDialog')!;
    expect(dialog.textContent).toContain('You have no API tokens.');

    // a lifetime that is not a whole number of days is explained, nothing sent
    act(() =>
      type(dialog.querySelector('input[name=expires_in_days]')!, '1.5')
    );
    await act(async () => (dialog as HTMLFormElement).requestSubmit());
    expect(dialog.textContent).toContain('A whole number of days, 1 or more.');
    expect(server.requests.filter(r => r.method === 'POST')).toHaveLength(0);

    act(() => type(dialog.querySelector('input[name=note]')!, 'mlflow runs'));
    act(() => type(dialog.querySelector('input[name=expires_in_days]')!, '30'));
    await act(async () => (dialog as HTMLFormElement).requestSubmit());
    await settle();
    expect(server.requests.find(r => r.method === 'POST')?.body).toEqual({
      note: 'mlflow runs',
      expires_in_days: 30
    });
    expect(dialog.querySelector('[data-new-token]')?.textContent).toBe(
      'secret-1'
    );
    const row = dialog.querySelector('tr[data-token-id="1"]')!;
    expect(row.textContent).toContain('mlflow runs');
    expect(row.textContent).not.toContain('secret-1');

    act(() => button(row, 'Revoke').click());
    await settle();
    expect(server.requests[server.requests.length - 2].method).toBe('DELETE');
    expect(dialog.querySelector('tr[data-token-id="1"]')).toBeNull();
    expect(dialog.querySelector('[data-new-token]')).toBeNull();
    expect(dialog.textContent).toContain('You have no API tokens.');
    model.dispose();
  });
});
