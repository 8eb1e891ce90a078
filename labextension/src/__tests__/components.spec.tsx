/**
 * @jest-environment ./jest-env-jsdom.js
 */
import * as React from 'react';
import { act } from 'react';

import { ISpace, SpacesClient } from '../api';
import { Avatars, MAX_AVATARS } from '../avatars';
import { StatusCell } from '../spacetable';
import { SpacesModel } from '../model';
import { otherSpaces, Switcher } from '../switcher';
import { FakeServer, makeSpace } from './fakeserver';
import { mountEachTest, silentFeed } from './dom';
import { trans } from './trans';

const dom = mountEachTest();

/** An entry of `GET spaces/{name}/presence` (`Presence` in openapi.yaml). */
const person = (name: string, ...documents: string[]) => ({
  user: {
    name,
    display_name: `${name} Person`,
    initials: name.slice(0, 2).toUpperCase(),
    color: '#ff0000'
  },
  role: 'editor' as const,
  documents,
  since: '2024-01-01T00:00:00Z'
});

describe('Avatars', () => {
  it('shows a coloured circle with initials and a tooltip per person', () => {
    act(() =>
      dom.root.render(
        <Avatars
          people={[person('ada', 'analysis.ipynb'), person('bob')]}
          trans={trans}
        />
      )
    );
    const circles = dom.container.querySelectorAll('.jp-SpacesAvatar');
    expect([...circles].map(c => c.textContent)).toEqual(['AD', 'BO']);
    expect(circles[0].getAttribute('title')).toBe(
      'ada Person — analysis.ipynb'
    );
    expect(circles[1].getAttribute('title')).toBe(
      'bob Person — no document open'
    );
    expect((circles[0] as HTMLElement).style.backgroundColor).toBe(
      'rgb(255, 0, 0)'
    );
  });

  it('shows nobody as nothing, and many as +N', () => {
    act(() => dom.root.render(<Avatars people={[]} trans={trans} />));
    expect(dom.container.innerHTML).toBe('');
    const many = 'abcdefgh'.split('').map(c => person(c + c));
    act(() => dom.root.render(<Avatars people={many} trans={trans} />));
    const circles = dom.container.querySelectorAll('.jp-SpacesAvatar');
    expect(circles).toHaveLength(MAX_AVATARS + 1);
    expect(circles[MAX_AVATARS].textContent).toBe(
      `+${many.length - MAX_AVATARS}`
    );
  });
});

describe('StatusCell', () => {
  it('shows a progress bar while a start is followed', () => {
    const space = makeSpace('s', { status: 'starting' }) as unknown as ISpace;
    act(() =>
      dom.root.render(
        <StatusCell
          space={space}
          progress={{ percent: 40, message: 'Mounting the volume' }}
          trans={trans}
        />
      )
    );
    const bar = dom.container.querySelector('[role="progressbar"]')!;
    expect(bar.getAttribute('aria-valuenow')).toBe('40');
    expect(
      (bar.querySelector('.jp-SpacesProgress-bar') as HTMLElement).style.width
    ).toBe('40%');
    expect(dom.container.textContent).toContain('Starting');
    expect(dom.container.textContent).toContain('Mounting the volume');
  });
});

describe('Switcher', () => {
  it('lists the other usable spaces', () => {
    const spaces = [
      makeSpace('here'),
      makeSpace('other'),
      makeSpace('hidden', { role: null })
    ] as unknown as ISpace[];
    expect(otherSpaces(spaces, 'here').map(s => s.name)).toEqual(['other']);
  });

  it('shows the current space and a menu with open/start and the home', async () => {
    const server = new FakeServer(() => ({
      body: {
        items: [
          makeSpace('here', { sharing: 'shared', status: 'running' }),
          makeSpace('run', { status: 'running' }),
          makeSpace('idle'),
          makeSpace('ro', { role: 'viewer' })
        ],
        next_cursor: null
      }
    }));
    const model = new SpacesModel({
      client: new SpacesClient({ serverSettings: server.settings() }),
      eventSourceFactory: silentFeed
    });
    await model.refresh();
    const opened: Array<[string, boolean]> = [];
    const render = () =>
      dom.root.render(
        <Switcher
          current="here"
          model={model}
          domainBaseUrl="http://example.test/base/"
          trans={trans}
          openUrl={(url, newTab) => opened.push([url, newTab])}
          confirmStop={async () => true}
        />
      );
    act(render);
    const button = dom.container.querySelector(
      '.jp-SpacesSwitcher-button'
    ) as HTMLButtonElement;
    expect(button.textContent).toContain('here');
    expect(button.textContent).toContain('Shared');
    expect(button.getAttribute('aria-expanded')).toBe('false');

    await act(async () => button.click());
    expect(button.getAttribute('aria-expanded')).toBe('true');
    const item = (name: string) =>
      dom.container.querySelector(`[data-space="${name}"]`) as HTMLElement;
    expect(item('here')).toBeNull();
    const openRun = [...item('run').querySelectorAll('button')].find(
      b => b.textContent === 'Open'
    )!;
    act(() => openRun.click());
    expect(opened).toEqual([['/base/spaces/run/lab', false]]);
    // a viewer cannot start
    const startRo = item('ro').querySelector('button') as HTMLButtonElement;
    expect(startRo.textContent).toBe('Start');
    expect(startRo.disabled).toBe(true);
    const home = [
      ...dom.container.querySelectorAll('.jp-SpacesSwitcher-link')
    ] as HTMLButtonElement[];
    act(() => home[0].click());
    act(() => home[1].click());
    expect(opened.slice(1)).toEqual([
      ['http://example.test/base/lab', false],
      ['http://example.test/base/lab?spaces-new=1', false]
    ]);
    model.dispose();
  });

  it('on the space’s own origin, sends to the home for the other spaces', async () => {
    const server = new FakeServer(() => ({
      // the space's host answers about this space alone
      body: { items: [makeSpace('here')], next_cursor: null }
    }));
    const model = new SpacesModel({
      client: new SpacesClient({ serverSettings: server.settings() })
    });
    await model.refresh();
    for (const [ownOrigin, text] of [
      [true, 'Listed in the spaces home'],
      [false, 'None']
    ] as const) {
      const render = () =>
        dom.root.render(
          <Switcher
            key={String(ownOrigin)}
            current="here"
            model={model}
            domainBaseUrl="http://here.localhost:8888/"
            trans={trans}
            openUrl={() => undefined}
            confirmStop={async () => true}
            ownOrigin={ownOrigin}
          />
        );
      act(render);
      const button = dom.container.querySelector(
        '.jp-SpacesSwitcher-button'
      ) as HTMLButtonElement;
      await act(async () => button.click());
      // the menu's refresh answers; the widget re-renders on the model's change
      await act(async () => {
        await new Promise(resolve => setTimeout(resolve, 0));
        render();
      });
      expect(
        dom.container.querySelector('.jp-SpacesSwitcher-empty')?.textContent
      ).toBe(text);
    }
    model.dispose();
  });
});
