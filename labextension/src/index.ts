import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Dialog, ICommandPalette, showDialog } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

import { ISpace, SpacesClient } from './api';
import type { AvatarsWidget } from './avatars';
import {
  detectContext,
  homeLabUrl,
  ISpacesContext,
  NEW_SPACE_PARAM,
  onOwnOrigin,
  PageConfigKeys
} from './context';
import { domainServicePlugins } from './domainservices';
import type { HomeWidget } from './home';
import { HomeModel } from './homemodel';
import { SpacesModel } from './model';
import { PresenceModel } from './presence';
import { watchLaunchers } from './rtcbadge';
import { lockAllDocuments, VIEWER_BODY_CLASS } from './readonly';
import { CORE_STATE_PLUGIN, statePlugin } from './statedb';
import { viewerMenusPlugin } from './viewermenus';
import { viewerServicePlugins } from './viewerservices';
import { CORE_RESOLVER_PLUGIN, windowNamePlugin } from './windowname';
import { hideWorkMenus } from './homemenus';
import { makeFetcher, runningInSpace, stopMessage } from './stopinfo';
import {
  START_SPACE_PARAM,
  startAndOpen,
  stopNotice,
  stoppedUnderYou
} from './stopnotice';
import type { SwitcherWidget } from './switcher';

export * from './api';
export * from './context';
export * from './homemodel';
export * from './model';
export * from './presence';
export * from './readonly';
export * from './rtcbadge';
export * from './stopinfo';
export * from './stopnotice';

/** The command ids of this extension. */
export namespace CommandIDs {
  export const openHome = 'jupyter-spaces:open-home';
  export const newSpace = 'jupyter-spaces:new-space';
  export const refresh = 'jupyter-spaces:refresh';
}

/** The URL of the spaces home for a domain base URL (`<base>lab`). */
export function homeUrl(domainBaseUrl: string): string {
  return homeLabUrl(domainBaseUrl);
}

/** What {@link activateSpaces} set up (for tests and other plugins). */
export interface ISpacesSetup {
  context: ISpacesContext;
  home: HomeWidget | null;
  switcher: SwitcherWidget | null;
  avatars: AvatarsWidget | null;
}

/** Options of {@link activateSpaces}. */
export interface IActivateOptions {
  baseUrl?: string;
  getOption?: (key: string) => string;
  /** Navigate the browser (tests replace it). */
  navigate?: (url: string, newTab: boolean) => void;
  /** `location.search` of the page (tests replace it). */
  search?: string;
  /** The settings registry (the preferences in schema/plugin.json). */
  settingRegistry?: ISettingRegistry | null;
  /** Settled once JupyterLab's router has run the page's first route. */
  treeResolver?: JupyterFrontEnd.ITreeResolver | null;
}

/** The id of the main plugin (and of its settings). */
export const PLUGIN_ID = 'jupyter-spaces:plugin';

/** The user's preferences (schema/plugin.json). */
export interface IPreferences {
  openInNewTab: boolean;
}

/** Read the preferences and keep them current; defaults without a registry. */
export async function loadPreferences(
  registry: ISettingRegistry | null | undefined
): Promise<IPreferences> {
  const prefs: IPreferences = { openInNewTab: false };
  if (!registry) {
    return prefs;
  }
  try {
    const settings = await registry.load(PLUGIN_ID);
    const read = () => {
      prefs.openInNewTab = settings.get('openInNewTab').composite === true;
    };
    read();
    settings.changed.connect(read);
  } catch (error) {
    console.warn('jupyter-spaces: settings not loaded', error);
  }
  return prefs;
}

function defaultNavigate(url: string, newTab: boolean): void {
  if (newTab) {
    window.open(url, '_blank', 'noopener');
  } else {
    window.location.assign(url);
  }
}

/** Paths of the open documents with unsaved changes in this JupyterLab. */
export function unsavedDocuments(
  app: Pick<JupyterFrontEnd, 'shell'>
): string[] {
  const paths = new Set<string>();
  for (const widget of app.shell.widgets('main')) {
    const context = (widget as any).context;
    if (context?.model?.dirty && typeof context.path === 'string') {
      paths.add(context.path);
    }
  }
  return [...paths];
}

/**
 * Register the commands, find out where we run, and build the home (in the
 * domain) or the switcher and avatars (in a space).
 */
export async function activateSpaces(
  app: JupyterFrontEnd,
  translator: ITranslator | null,
  palette: ICommandPalette | null,
  options: IActivateOptions = {}
): Promise<ISpacesSetup> {
  const trans = (translator ?? nullTranslator).load('jupyter_spaces');
  const baseUrl = options.baseUrl ?? app.serviceManager.serverSettings.baseUrl;
  const getOption = options.getOption ?? PageConfig.getOption;
  // A viewer (the space's page config says so) has every document locked
  // from the first: before it is read, so it never asks for a kernel.
  const viewer = getOption(PageConfigKeys.role) === 'viewer';
  if (viewer) {
    lockAllDocuments(app, trans);
    document.body.classList.add(VIEWER_BODY_CLASS);
  }
  const prefs = await loadPreferences(options.settingRegistry);
  const rawNavigate = options.navigate ?? defaultNavigate;
  const navigate = (url: string, newTab: boolean) =>
    rawNavigate(url, newTab || prefs.openInNewTab);
  const search =
    options.search ??
    (typeof window !== 'undefined' ? window.location.search : '');
  const context = detectContext(baseUrl, getOption);
  const setup: ISpacesSetup = {
    context,
    home: null,
    switcher: null,
    avatars: null
  };
  const serverSettings = ServerConnection.makeSettings({
    ...app.serviceManager.serverSettings,
    baseUrl: context.domainBaseUrl
  });
  const client = new SpacesClient({ serverSettings });

  let openCreate: (() => void) | null = null;

  app.commands.addCommand(CommandIDs.openHome, {
    label: trans.__('Open Spaces Home'),
    caption: trans.__('Show the list of your spaces'),
    describedBy: { args: { type: 'object', properties: {} } },
    execute: () => {
      if (setup.home) {
        app.shell.activateById(setup.home.id);
      } else {
        navigate(homeUrl(context.domainBaseUrl), context.kind !== 'space');
      }
    }
  });
  app.commands.addCommand(CommandIDs.newSpace, {
    label: trans.__('New Space…'),
    caption: trans.__('Create a space'),
    describedBy: { args: { type: 'object', properties: {} } },
    execute: () => {
      if (setup.home && openCreate) {
        app.shell.activateById(setup.home.id);
        openCreate();
      } else {
        navigate(
          `${homeUrl(context.domainBaseUrl)}?${NEW_SPACE_PARAM}=1`,
          context.kind !== 'space'
        );
      }
    }
  });
  app.commands.addCommand(CommandIDs.refresh, {
    label: trans.__('Refresh Spaces'),
    describedBy: { args: { type: 'object', properties: {} } },
    isEnabled: () => !!setup.home || !!setup.switcher,
    execute: async () => {
      await (setup.home?.model.spaces ?? setup.switcher?.model)?.refresh();
    }
  });
  if (palette) {
    const category = trans.__('Spaces');
    for (const command of [
      CommandIDs.openHome,
      CommandIDs.newSpace,
      CommandIDs.refresh
    ]) {
      palette.addItem({ command, category });
    }
  }

  if (context.kind === 'unknown') {
    // A server that answers the spaces API is the domain.
    try {
      await client.me();
      context.kind = 'domain';
    } catch {
      return setup;
    }
  }

  if (context.kind === 'domain') {
    // Loaded only where it is shown (a separate chunk).
    const { HomeWidget } = await import('./home');
    const model = new HomeModel({ client });
    const pathMode = getOption(PageConfigKeys.origins) === 'path';
    const home = new HomeWidget(model, trans, navigate, pathMode);
    setup.home = home;
    openCreate = () => home.openCreate();
    // The modal command palette closes whenever a command runs, and the
    // router runs its first route's commands (workspace state, then the tree
    // resolver) after the workspace is saved, which can be after the home has
    // loaded: show the home after them so a palette opened on it stays open.
    await Promise.all([app.restored, options.treeResolver?.paths]);
    app.shell.add(home, 'main');
    app.shell.activateById(home.id);
    const shell = app.shell as any;
    shell.collapseLeft?.();
    shell.collapseRight?.();
    hideWorkMenus(app);
    await model.load();
    const params = new URLSearchParams(search);
    if (params.get(NEW_SPACE_PARAM)) {
      home.openCreate();
    }
    const restart = params.get(START_SPACE_PARAM);
    if (restart) {
      // "Start again" in a space that was stopped: start it, open it once it runs.
      void startAndOpen(model.spaces, restart, url => navigate(url, false));
    }
    return setup;
  }

  // Inside a space.
  const [
    { SwitcherWidget },
    { AvatarsWidget },
    { addSpaceFileCommands, SpaceFileCommandIDs }
  ] = await Promise.all([
    import('./switcher'),
    import('./avatars'),
    import('./spacefile')
  ]);
  const name = context.spaceName!;
  // This space's own stream: its host answers about this space alone.
  const model = new SpacesModel({
    client,
    query: { sort: 'name' },
    live: name
  });
  const switcher = new SwitcherWidget({
    current: name,
    model,
    domainBaseUrl: context.domainBaseUrl,
    trans,
    openUrl: navigate,
    ownOrigin:
      typeof window !== 'undefined' &&
      onOwnOrigin(name, window.location.hostname),
    confirmStop: async (space: ISpace) => {
      const info = await runningInSpace(
        space,
        makeFetcher(serverSettings),
        space.name === name ? unsavedDocuments(app) : null
      );
      const result = await showDialog({
        title: trans.__('Stop %1?', space.display_name),
        body: stopMessage(space, info, trans),
        buttons: [
          Dialog.cancelButton({ label: trans.__('Cancel') }),
          Dialog.warnButton({ label: trans.__('Stop') })
        ]
      });
      return result.button.accept;
    }
  });
  addSpaceFileCommands(app.commands, trans, baseUrl, url =>
    rawNavigate(url, false)
  );
  palette?.addItem({
    command: SpaceFileCommandIDs.logOut,
    category: trans.__('Spaces')
  });
  setup.switcher = switcher;
  app.shell.add(switcher, 'top', { rank: 60 });
  await model.refresh().catch(() => undefined);
  let space = model.get(name);
  if (!space) {
    space = await client.getSpace(name).catch(() => undefined);
  }
  if (space?.role === 'viewer' && !viewer) {
    lockAllDocuments(app, trans);
  }
  followStops(
    model,
    name,
    client,
    trans,
    url => navigate(url, false),
    () => homeUrl(context.domainBaseUrl)
  );
  if (space?.sharing === 'shared') {
    const presence = new PresenceModel({ client, space: name });
    const avatars = new AvatarsWidget(presence, trans);
    avatars.id = 'jp-spaces-avatars';
    setup.avatars = avatars;
    app.shell.add(avatars, 'top', { rank: 980 });
    presence.start();
    watchLaunchers(app, trans);
  }
  return setup;
}

/**
 * Inside a space: when it stops under the page (owner, another user, an
 * administrator, idle timeout, failure), say so once, and offer to start it
 * again (through the home: this space's host only reads) or to go home.
 */
export function followStops(
  model: SpacesModel,
  name: string,
  client: SpacesClient,
  trans: TranslationBundle,
  go: (url: string) => void,
  home: () => string
): void {
  let last = model.get(name);
  let shown = false;
  model.changed.connect(async () => {
    const now = model.get(name);
    const stopped = !shown && stoppedUnderYou(last, now);
    last = now ?? last;
    if (!stopped) {
      return;
    }
    shown = true;
    const me = await client.me().then(
      user => user.name,
      () => null
    );
    const notice = stopNotice(name, model.get(name), me, trans);
    const back = Dialog.cancelButton({ label: trans.__('Back to spaces') });
    const buttons = notice.canStart
      ? [back, Dialog.okButton({ label: trans.__('Start again') })]
      : [back];
    const result = await showDialog({
      title: notice.title,
      body: notice.message,
      buttons,
      hasClose: false
    });
    go(
      result.button.accept
        ? `${home()}?${START_SPACE_PARAM}=${encodeURIComponent(name)}`
        : home()
    );
  });
}

/**
 * The main plugin: commands, the spaces home in the domain, the switcher and
 * avatars inside a space.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Jupyter Spaces: the spaces home, the space switcher and collaborator avatars.',
  autoStart: true,
  optional: [
    ITranslator,
    ICommandPalette,
    ISettingRegistry,
    JupyterFrontEnd.ITreeResolver
  ],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    treeResolver: JupyterFrontEnd.ITreeResolver | null
  ) => {
    activateSpaces(app, translator, palette, {
      settingRegistry,
      treeResolver
    }).catch(error => console.error('jupyter-spaces: could not set up', error));
  }
};

/**
 * In the domain, also the service managers that never call the APIs the
 * domain refuses (see domainservices.ts); for a viewer of a space, the ones
 * that never connect to kernels or terminals (viewerservices.ts) and the menus
 * without what a viewer may not do (viewermenus.ts); elsewhere
 * only the main plugin.
 */
export function plugins(
  getOption: (key: string) => string = PageConfig.getOption,
  isDisabled: (id: string) => boolean = PageConfig.Extension.isDisabled
): JupyterFrontEndPlugin<any>[] {
  if (getOption(PageConfigKeys.context) === 'domain') {
    return [plugin, ...domainServicePlugins];
  }
  // In a space, the state and window-name plugins that do not make the page
  // wait (statedb.ts, windowname.ts), where the page left JupyterLab's out.
  const state = [
    ...(isDisabled(CORE_STATE_PLUGIN) ? [statePlugin] : []),
    ...(isDisabled(CORE_RESOLVER_PLUGIN) ? [windowNamePlugin] : [])
  ];
  if (getOption(PageConfigKeys.role) === 'viewer') {
    return [plugin, ...viewerServicePlugins, viewerMenusPlugin, ...state];
  }
  return [plugin, ...state];
}

export { plugin };

export default plugins();
