/**
 * The application state of a space's JupyterLab, saved in its workspace as
 * JupyterLab's own state plugin (`@jupyterlab/apputils-extension:state`) does,
 * without making the page wait for a save (issue 17).
 *
 * JupyterLab's plugin loads the workspace when the page's first route runs,
 * then awaits its debounced save: 500 ms after the state last changed, and
 * at startup the state keeps changing (file browser columns, recent files),
 * so the route took 0.5–1 s longer. The file browser restores and the
 * launcher opens only once routing is done, so every page load waited that
 * long for a save of what had just been loaded. Here the load resolves once
 * the workspace is in the state database; the save still happens, after.
 * Cloning (`?clone`) and resetting (`?reset`) still save before they navigate.
 *
 * The space's page config leaves JupyterLab's plugin out when this one is
 * there (`space/labpage.py`); `plugins()` adds this one only then.
 */
import {
  ILabShell,
  IRouter,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IWindowResolver } from '@jupyterlab/apputils';
import { PageConfig, PathExt, URLExt } from '@jupyterlab/coreutils';
import { DocumentWidget } from '@jupyterlab/docregistry';
import { IStateDB, StateDB } from '@jupyterlab/statedb';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { PromiseDelegate } from '@lumino/coreutils';
import { Debouncer } from '@lumino/polling';
import type { Widget } from '@lumino/widgets';

/** JupyterLab's state plugin, which this one replaces. */
export const CORE_STATE_PLUGIN = '@jupyterlab/apputils-extension:state';

/** JupyterLab's command ids (menus and the router call them by these). */
export const StateCommands = {
  load: 'apputils:load-statedb',
  reset: 'apputils:reset',
  resetOnLoad: 'apputils:reset-on-load'
};

const RESET_QUERY = /(\?reset|&reset)(=[^&#]*)?($|&|#)/;

/** The arguments of the commands the router calls: where the page is. */
const LOCATION_ARGS = {
  args: {
    type: 'object' as const,
    properties: {
      hash: { type: 'string' as const },
      path: { type: 'string' as const },
      search: { type: 'string' as const }
    }
  }
};

/** The tab's title: the open notebook or file, else the app's name. */
export async function tabTitle(
  db: IStateDB,
  workspace: string,
  name: string,
  current: Widget | null | undefined
): Promise<string> {
  const data: any = await db.toJSON();
  const main: string | undefined = data['layout-restorer:data']?.main?.current;
  const isDocument = (id: string) =>
    id.startsWith('notebook') || id.startsWith('editor');
  if (main === undefined || !isDocument(main)) {
    const appName = PageConfig.getOption('appName') || 'JupyterLab';
    return workspace === 'default' ? appName : `${appName} (${workspace})`;
  }
  const short = (s: string) => (s.length > 15 ? `${s.slice(0, 12)}…` : s);
  const file =
    current instanceof DocumentWidget
      ? PathExt.basename(current.context.path)
      : PathExt.basename(decodeURIComponent(window.location.href));
  const count = Object.keys(data).filter(isDocument).length;
  return `${short(file)}${count > 1 ? ` (${count})` : ''} - ${
    workspace === 'default' ? name : short(workspace)
  }`;
}

/**
 * A page opened on a file's address (`/lab/tree/<file>`) shows that file, as in
 * JupyterLab, not a Launcher beside it. JupyterLab's launcher opens at any
 * layout change that finds the main area empty once the layout and the file
 * browser are restored; its state plugin, waiting for a save, routed late
 * enough that none came while the file was still opening. Without that wait
 * one does: a launcher made before the file opened is closed once it has.
 */
export function keepTreeFileAlone(
  shell: ILabShell,
  treePath: string,
  giveUpAfterMs = 30_000
): void {
  const early = new Set<Widget>();
  const check = () => {
    const main = Array.from(shell.widgets('main'));
    const opened = main.some(
      w => w instanceof DocumentWidget && w.context.path === treePath
    );
    if (!opened) {
      main.filter(w => w.id.startsWith('launcher')).forEach(w => early.add(w));
      return;
    }
    early.forEach(w => w.close());
    stop();
  };
  const stop = () => {
    shell.layoutModified.disconnect(check);
    clearTimeout(timer);
  };
  const timer = setTimeout(stop, giveUpAfterMs); // a folder, or a file that did not open
  shell.layoutModified.connect(check);
}

export const statePlugin: JupyterFrontEndPlugin<IStateDB> = {
  id: 'jupyter-spaces:state',
  description:
    "The application state, kept in the space's workspace; loading it does not wait for a save.",
  autoStart: true,
  provides: IStateDB,
  requires: [JupyterFrontEnd.IPaths, IRouter],
  optional: [IWindowResolver, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    _paths: JupyterFrontEnd.IPaths,
    router: IRouter,
    resolver: IWindowResolver | null,
    translator: ITranslator | null
  ): IStateDB => {
    if (resolver === null) {
      return new StateDB();
    }
    const trans = (translator ?? nullTranslator).load('jupyterlab');
    const treePath = PageConfig.getOption('treePath');
    if (treePath && 'layoutModified' in app.shell) {
      keepTreeFileAlone(app.shell as ILabShell, treePath);
    }
    const { commands, serviceManager } = app;
    const workspaces = serviceManager.workspaces;
    const workspace = resolver.name;
    const transform = new PromiseDelegate<StateDB.DataTransform>();
    const db = new StateDB({ transform: transform.promise });
    let resolved = false;
    const save = new Debouncer(async () => {
      await workspaces.save(workspace, {
        data: (await db.toJSON()) as any,
        metadata: { id: workspace }
      });
    });
    const saveLater = () =>
      save.invoke().catch(reason => {
        console.warn(
          `jupyter-spaces: workspace "${workspace}" not saved`,
          reason
        );
      });
    db.changed.connect(() => void saveLater());
    db.changed.connect(() => {
      void tabTitle(db, workspace, app.name, app.shell.currentWidget).then(
        title => (document.title = title)
      );
    });

    commands.addCommand(StateCommands.load, {
      label: trans.__('Load state for the current workspace.'),
      describedBy: LOCATION_ARGS,
      execute: async args => {
        if (resolved) {
          return; // routed again: the state is loaded once per page
        }
        const { hash, path, search } = args as unknown as IRouter.ILocation;
        const query = URLExt.queryStringToObject(search || '');
        const cloneArg = query['clone'];
        const clone =
          typeof cloneArg === 'string'
            ? cloneArg || PageConfig.defaultWorkspace
            : null;
        const source = clone || workspace;
        try {
          const saved = await workspaces.fetch(source);
          if (!resolved) {
            resolved = true;
            transform.resolve({ type: 'overwrite', contents: saved.data });
          }
        } catch {
          // No such workspace yet: start empty; the save below creates it.
          if (!resolved) {
            resolved = true;
            transform.resolve({ type: 'cancel', contents: null });
          }
        }
        if (clone !== null) {
          delete query['clone'];
          const url = path + URLExt.objectToQueryString(query) + hash;
          const cloned = save.invoke().then(() => router.stop);
          void cloned.then(() => router.navigate(url));
          return cloned;
        }
        // The one change: the route (and the page) goes on while this saves.
        void saveLater();
      }
    });

    commands.addCommand(StateCommands.reset, {
      label: trans.__('Reset Application State'),
      describedBy: {
        args: {
          type: 'object',
          properties: { reload: { type: 'boolean' } }
        }
      },
      execute: async args => {
        await db.clear();
        await save.invoke();
        if ((args as any).reload) {
          router.reload();
        }
      }
    });

    commands.addCommand(StateCommands.resetOnLoad, {
      label: trans.__('Reset state when loading for the workspace.'),
      describedBy: LOCATION_ARGS,
      execute: args => {
        const { hash, path, search } = args as unknown as IRouter.ILocation;
        const query = URLExt.queryStringToObject(search || '');
        if (!('reset' in query)) {
          return;
        }
        if (resolved) {
          return router.reload(); // too late to reset without a reload
        }
        resolved = true;
        transform.resolve({ type: 'clear', contents: null });
        const clone = 'clone' in query;
        delete query['reset'];
        const url = path + URLExt.objectToQueryString(query) + hash;
        const cleared = db.clear().then(() => save.invoke());
        void cleared.then(() => router.navigate(url, { hard: clone }));
        return cleared;
      }
    });

    // As JupyterLab's: the load first of all routes, a reset before it.
    router.register({ command: StateCommands.load, pattern: /.?/, rank: 30 });
    router.register({
      command: StateCommands.resetOnLoad,
      pattern: RESET_QUERY,
      rank: 20
    });
    return db;
  }
};
