/**
 * @jest-environment ./jest-env-jsdom.js
 *
 * The apps in the frontend (issue 14): each app's icon in the home and the
 * switcher, where opening a space goes (JupyterLab in place, Code Editor and
 * MLflow in a tab of their own at the space's URL), a viewer kept out of an
 * app with no read-only mode, and what the stop dialog says per app.
 */
import { jupyterIcon } from '@jupyterlab/ui-components';
import * as React from 'react';
import { act } from 'react';

import { AllSpacesView } from '../admin';
import { ISpace, SpacesClient } from '../api';
import {
  appIcon,
  appUrl,
  openTarget,
  opensInTab,
  viewerRefusal
} from '../apps';
import { Home } from '../home';
import { CreateSpaceDialog } from '../spaceform';
import { HomeModel } from '../homemodel';
import { codeEditorIcon, mlflowIcon, rstudioIcon, spacesIcon } from '../icons';
import { SpacesModel } from '../model';
import { Fetcher, runningInSpace, stopMessage } from '../stopinfo';
import { Switcher } from '../switcher';
import { APP_TYPES } from './apptypes';
import { ALICE, domainHandler, FakeServer, makeSpace } from './fakeserver';
import { choose, mountEachTest, silentFeed } from './dom';
import { trans } from './trans';

const space = (name: string, app_type: string, extra = {}) =>
  makeSpace(name, { app_type, status: 'running', ...extra }) as ISpace;

describe('apps', () => {
  it('gives each app its own icon, by the catalogue or by its name', () => {
    expect(appIcon('jupyterlab', APP_TYPES)).toBe(jupyterIcon);
    expect(appIcon('code-editor', APP_TYPES)).toBe(codeEditorIcon);
    expect(appIcon('mlflow', APP_TYPES)).toBe(mlflowIcon);
    expect(appIcon('rstudio', APP_TYPES)).toBe(rstudioIcon);
    // the switcher has no catalogue: the name decides
    expect(appIcon('code-editor')).toBe(codeEditorIcon);
    expect(appIcon('mlflow')).toBe(mlflowIcon);
    expect(appIcon('no-such-app')).toBe(spacesIcon);
    const svgs = [jupyterIcon, codeEditorIcon, mlflowIcon, rstudioIcon].map(
      i => i.svgstr
    );
    expect(new Set(svgs).size).toBe(4);
  });

  it('opens JupyterLab in place and the other apps in a tab, as the catalogue says', () => {
    expect(opensInTab('jupyterlab', APP_TYPES)).toBe(false);
    expect(opensInTab('code-editor', APP_TYPES)).toBe(true);
    expect(opensInTab('mlflow', APP_TYPES)).toBe(true);
    // what the domain says wins over the name
    const inPlace = APP_TYPES.map(a => ({
      ...a,
      opens_in: 'jupyterlab' as const
    }));
    expect(opensInTab('mlflow', inPlace)).toBe(false);
    expect(opensInTab('mlflow')).toBe(true);
    expect(opensInTab('jupyterlab')).toBe(false);

    expect(appUrl(space('lab', 'jupyterlab'), APP_TYPES)).toBe(
      '/base/spaces/lab/lab'
    );
    expect(openTarget(space('code', 'code-editor'), APP_TYPES)).toEqual({
      url: '/base/spaces/code/',
      newTab: true
    });
    expect(openTarget(space('runs', 'mlflow'))).toEqual({
      url: '/base/spaces/runs/',
      newTab: true
    });
    expect(openTarget(space('lab', 'jupyterlab'), APP_TYPES)).toEqual({
      url: '/base/spaces/lab/lab',
      newTab: false
    });
    expect(openTarget(space('lab', 'jupyterlab'), APP_TYPES, true)).toEqual({
      url: '/base/spaces/lab/lab',
      newTab: true
    });
  });

  it('keeps a viewer out of an app with no read-only mode, saying why', () => {
    const viewer = { role: 'viewer' as const };
    expect(
      viewerRefusal(space('c', 'code-editor', viewer), APP_TYPES)
    ).toContain('no read-only mode');
    expect(viewerRefusal(space('c', 'code-editor'), APP_TYPES)).toBe('');
    expect(viewerRefusal(space('m', 'mlflow', viewer), APP_TYPES)).toBe('');
    expect(viewerRefusal(space('l', 'jupyterlab', viewer), APP_TYPES)).toBe('');
  });
});

describe('the stop dialog per app', () => {
  const never: Fetcher = async url => {
    throw new Error(`asked ${url}`);
  };

  it('a Code Editor space: its terminals and extension host end, files stay', async () => {
    const code = space('code', 'code-editor', { display_name: 'Editor' });
    const info = await runningInSpace(code, never);
    expect(info.kernels).toBeNull();
    expect(stopMessage(code, info, trans)).toBe(
      "Ending in “Editor”: the Code Editor's terminals and its extension host, with every process started from them. Unsaved changes in its editors may be lost: save them first. Files on its volume are kept, with VS Code's settings and extensions. Resources started from inside the space elsewhere (cloud jobs, databases) keep running."
    );
  });

  it('an MLflow space: the tracking server ends, runs stay, clients get errors', async () => {
    const runs = space('runs', 'mlflow', { display_name: 'Team runs' });
    const message = stopMessage(runs, await runningInSpace(runs, never), trans);
    expect(message).toBe(
      'Ending in “Team runs”: its MLflow tracking server. Clients logging to it (notebooks, jobs) get errors until it is started again. Its experiments, runs and artifacts on its volume are kept. Resources started from inside the space elsewhere (cloud jobs, databases) keep running.'
    );
    expect(message).not.toContain('kernel');
  });
});

describe('the home and the switcher with every app', () => {
  const dom = mountEachTest();
  let server: FakeServer;

  const spaces = [
    space('lab', 'jupyterlab'),
    space('code', 'code-editor'),
    space('runs', 'mlflow'),
    space('theirs', 'code-editor', { role: 'viewer', owner: 'bob' })
  ];

  beforeEach(() => {
    server = new FakeServer(
      domainHandler({ me: ALICE, spaces, catalog: { 'app-types': APP_TYPES } })
    );
  });

  const row = (name: string) =>
    [...dom.container.querySelectorAll('tbody tr')].find(tr =>
      tr.textContent?.includes(name)
    ) as HTMLElement;
  const openButton = (scope: HTMLElement) =>
    [...scope.querySelectorAll('button')].find(
      b => b.textContent === 'Open'
    ) as HTMLButtonElement;

  it('shows each row with its app icon and opens each app where it belongs', async () => {
    const model = new HomeModel({
      client: new SpacesClient({ serverSettings: server.settings() }),
      eventSourceFactory: silentFeed
    });
    await model.load();
    const opened: Array<[string, boolean]> = [];
    act(() =>
      dom.root.render(
        <Home
          model={model}
          trans={trans}
          openUrl={(url, newTab) => opened.push([url, newTab])}
        />
      )
    );
    for (const [name, app, label, icon] of [
      ['lab', 'jupyterlab', 'JupyterLab', jupyterIcon],
      ['code', 'code-editor', 'Code Editor', codeEditorIcon],
      ['runs', 'mlflow', 'MLflow', mlflowIcon]
    ] as const) {
      const cell = row(name).querySelector(`.jp-SpacesApp[data-app="${app}"]`)!;
      expect(cell.textContent).toBe(label);
      // the app's own icon (LabIcon marks its svg with the icon's name)
      const svg = cell.querySelector(`.jp-SpacesApp-icon svg`);
      if (icon !== jupyterIcon) {
        // (jest stubs JupyterLab's own svg files, so only ours are drawn)
        expect(svg?.getAttribute('data-icon')).toBe(icon.name);
      }
    }
    act(() => openButton(row('lab')).click());
    act(() => openButton(row('code')).click());
    act(() => openButton(row('runs')).click());
    // the name is a link to where Open goes
    const link = row('code').querySelector('a')!;
    expect(link.getAttribute('href')).toBe('/base/spaces/code/');
    act(() => link.click());
    expect(opened).toEqual([
      ['/base/spaces/lab/lab', false],
      ['/base/spaces/code/', true],
      ['/base/spaces/runs/', true],
      ['/base/spaces/code/', true]
    ]);
    // a viewer of a Code Editor space: no link, Open disabled with the reason
    const theirs = row('theirs');
    expect(theirs.querySelector('a')).toBeNull();
    expect(openButton(theirs).disabled).toBe(true);
    expect(openButton(theirs).title).toContain('no read-only mode');
    model.dispose();
  });

  it('the admins’ list of all spaces shows each space’s app with its icon', async () => {
    const model = new HomeModel({
      client: new SpacesClient({ serverSettings: server.settings() }),
      eventSourceFactory: silentFeed
    });
    await model.load();
    act(() =>
      dom.root.render(
        <AllSpacesView
          model={model}
          trans={trans}
          run={async fn => {
            await fn();
          }}
          onStop={() => undefined}
          onDelete={() => undefined}
          search={null}
        />
      )
    );
    const app = (name: string) =>
      dom.container.querySelector(`tr[data-space="${name}"] .jp-SpacesApp`)!;
    expect(app('code').textContent).toBe('Code Editor');
    expect(app('runs').textContent).toBe('MLflow');
    expect(app('runs').querySelector('svg')?.getAttribute('data-icon')).toBe(
      mlflowIcon.name
    );
    model.dispose();
  });

  it('the switcher shows each space’s app icon and opens other apps in a tab', async () => {
    const model = new SpacesModel({
      client: new SpacesClient({ serverSettings: server.settings() })
    });
    await model.refresh();
    const opened: Array<[string, boolean]> = [];
    act(() =>
      dom.root.render(
        <Switcher
          current="lab"
          model={model}
          domainBaseUrl="http://example.test/base/"
          trans={trans}
          openUrl={(url, newTab) => opened.push([url, newTab])}
          confirmStop={async () => true}
        />
      )
    );
    const button = dom.container.querySelector(
      '.jp-SpacesSwitcher-button'
    ) as HTMLButtonElement;
    await act(async () => button.click());
    const item = (name: string) =>
      dom.container.querySelector(`[data-space="${name}"]`) as HTMLElement;
    expect(
      item('code')
        .querySelector('[data-app="code-editor"] svg')
        ?.getAttribute('data-icon')
    ).toBe(codeEditorIcon.name);
    expect(
      item('runs')
        .querySelector('[data-app="mlflow"] svg')
        ?.getAttribute('data-icon')
    ).toBe(mlflowIcon.name);
    act(() => openButton(item('code')).click());
    act(() => openButton(item('runs')).click());
    expect(opened).toEqual([
      ['/base/spaces/code/', true],
      ['/base/spaces/runs/', true]
    ]);
    model.dispose();
  });
});

describe('the create dialog', () => {
  const dom = mountEachTest();

  it('offers Code Editor and MLflow, the chosen app’s icon beside it, and sends it', async () => {
    const sent: Array<Record<string, unknown>> = [];
    act(() =>
      dom.root.render(
        <CreateSpaceDialog
          catalog={{ instanceTypes: [], images: [], appTypes: APP_TYPES }}
          trans={trans}
          onCreate={async body => {
            sent.push(body as any);
          }}
          onClose={() => undefined}
        />
      )
    );
    const select = dom.container.querySelector(
      'select[name="app_type"]'
    ) as HTMLSelectElement;
    expect([...select.options].map(o => [o.value, o.disabled])).toEqual([
      ['jupyterlab', false],
      ['code-editor', false],
      ['mlflow', false],
      ['rstudio', true]
    ]);
    const shown = () =>
      dom.container
        .querySelector('.jp-SpacesField-line [data-app] svg')
        ?.getAttribute('data-icon');
    act(() => choose(select, 'code-editor'));
    expect(shown()).toBe(codeEditorIcon.name);
    act(() => choose(select, 'mlflow'));
    expect(shown()).toBe(mlflowIcon.name);
    const name = dom.container.querySelector(
      'input[name="name"]'
    ) as HTMLInputElement;
    act(() => {
      Object.getOwnPropertyDescriptor(
        HTMLInputElement.prototype,
        'value'
      )!.set!.call(name, 'team-runs');
      name.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await act(async () => {
      dom.container
        .querySelector('form')!
        .dispatchEvent(
          new Event('submit', { bubbles: true, cancelable: true })
        );
    });
    expect(sent).toEqual([
      expect.objectContaining({ name: 'team-runs', app_type: 'mlflow' })
    ]);
  });
});
