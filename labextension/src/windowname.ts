/**
 * The tab's workspace name, as JupyterLab's window resolver
 * (`@jupyterlab/apputils-extension:resolver`) gives it, without its wait
 * where the browser has Web Locks (issue 17).
 *
 * Two tabs on one workspace would overwrite each other's layout, so
 * JupyterLab's resolver asks the origin's other tabs (through localStorage)
 * whether one has the workspace, and waits 200–500 ms for an objection at
 * every page load, before any plugin that needs the state may start. Here
 * the tab takes a Web Lock named after the workspace and holds it while the
 * page lives: granted at once, or refused at once when another tab of the
 * space holds it; that tab then goes, as with JupyterLab's, to a workspace
 * of its own (`auto-<letter>`, reset). Web Locks exist in secure contexts
 * only (https, `*.localhost`); elsewhere JupyterLab's resolver is used.
 *
 * The space's page config leaves JupyterLab's plugin out when this one is
 * there (`space/labpage.py`); `plugins()` adds this one only then.
 */
import {
  IRouter,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IWindowResolver, WindowResolver } from '@jupyterlab/apputils';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { PromiseDelegate } from '@lumino/coreutils';

/** JupyterLab's resolver plugin, which this one replaces. */
export const CORE_RESOLVER_PLUGIN = '@jupyterlab/apputils-extension:resolver';

/** The part of the Web Locks API used here. */
export interface ILockManager {
  request(
    name: string,
    options: { ifAvailable: boolean },
    callback: (lock: unknown) => Promise<void> | void
  ): Promise<unknown>;
}

/** A window name held as a Web Lock for as long as the page lives. */
export class LockedWindowName implements IWindowResolver {
  constructor(private _locks: ILockManager) {}

  get name(): string {
    return this._name;
  }

  /** Take `candidate`; rejects at once when another tab of the origin has it. */
  async resolve(candidate: string): Promise<void> {
    const granted = new PromiseDelegate<boolean>();
    this._locks
      .request(
        `jupyter-spaces:workspace:${candidate}`,
        { ifAvailable: true },
        lock => {
          granted.resolve(lock !== null);
          // Never settles: the lock is released when the page goes.
          return lock === null ? undefined : new Promise<void>(() => undefined);
        }
      )
      .catch(reason => granted.reject(reason));
    if (!(await granted.promise)) {
      throw new Error(`Window name candidate "${candidate}" already exists`);
    }
    this._name = candidate;
  }

  private _name = '';
}

/** The page's Web Locks, where the browser gives them (secure contexts). */
export function webLocks(): ILockManager | null {
  const locks = (navigator as any).locks;
  return locks && typeof locks.request === 'function' ? locks : null;
}

export const windowNamePlugin: JupyterFrontEndPlugin<IWindowResolver> = {
  id: 'jupyter-spaces:window-name',
  description:
    "The tab's workspace name, held as a Web Lock (no wait for other tabs).",
  autoStart: true,
  provides: IWindowResolver,
  requires: [JupyterFrontEnd.IPaths, IRouter],
  activate: async (
    _app: JupyterFrontEnd,
    paths: JupyterFrontEnd.IPaths,
    router: IRouter
  ): Promise<IWindowResolver> => {
    const locks = webLocks();
    const solver = locks ? new LockedWindowName(locks) : new WindowResolver();
    const workspace = PageConfig.getOption('workspace');
    const candidate = workspace || PageConfig.defaultWorkspace;
    try {
      await solver.resolve(candidate);
      return solver;
    } catch {
      // Another tab has this workspace: this one goes to one of its own, as
      // with JupyterLab's resolver, and the plugins that need a name wait forever.
      const { hash, search } = router.current;
      const query = URLExt.queryStringToObject(search || '');
      const treePath = PageConfig.getOption('treePath');
      const mode =
        PageConfig.getOption('mode') === 'multiple-document' ? 'lab' : 'doc';
      const pool =
        'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
      const letter = pool[Math.floor(Math.random() * pool.length)];
      let path = URLExt.join(
        paths.urls.base,
        mode,
        'workspaces',
        `auto-${letter}`
      );
      if (treePath) {
        path = URLExt.join(path, URLExt.encodeParts(`tree/${treePath}`));
      }
      query['reset'] = '1'; // not empty: proxies may drop an empty parameter
      router.navigate(path + URLExt.objectToQueryString(query) + (hash || ''), {
        hard: true
      });
      return new Promise<IWindowResolver>(() => undefined);
    }
  }
};
