/**
 * Plugins that put a service manager of our own in the place of one of
 * JupyterLab's (domainservices.ts, viewerservices.ts).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ServerConnection } from '@jupyterlab/services';
import { Token } from '@lumino/coreutils';

/**
 * A plugin providing `provides` with what `make` builds for this page's server
 * settings; `make` also gets the services named in `requires`, in order.
 */
export function servicePlugin<T>(
  id: string,
  description: string,
  provides: Token<T>,
  make: (serverSettings: ServerConnection.ISettings, ...required: any[]) => T,
  requires: Token<any>[] = []
): JupyterFrontEndPlugin<T> {
  return {
    id,
    description,
    autoStart: true,
    provides,
    requires,
    activate: (_app: JupyterFrontEnd, ...required: any[]): T =>
      make(ServerConnection.makeSettings(), ...required)
  };
}
