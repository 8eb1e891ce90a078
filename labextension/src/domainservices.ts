/**
 * The domain's JupyterLab (the spaces home) has no kernels, sessions, kernel
 * specs or server events socket: the domain refuses those APIs (they live in the spaces).
 * JupyterLab's service manager would poll them anyway (403s in the console
 * and the server log), so in the domain these plugins provide managers that
 * never ask. The domain's page config disables JupyterLab's own ones; the
 * plugins are exported only when the page config says "domain" (see index).
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IStream, Stream } from '@lumino/signaling';
import {
  Event,
  IEventManager,
  IKernelManager,
  IKernelSpecManager,
  Kernel,
  KernelManager,
  KernelSpecManager,
  ServerConnection,
  SessionManager,
  ISessionManager
} from '@jupyterlab/services';

import { servicePlugin } from './serviceplugin';

/** An event bus without the server's events socket (the domain refuses it). */
export class NoEventManager implements Event.IManager {
  readonly serverSettings = ServerConnection.makeSettings();

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get stream(): Event.Stream {
    return this._stream as IStream<Event.IManager, Event.Emission>;
  }

  async emit(_event: Event.Request): Promise<void> {
    // nowhere to send it
  }

  dispose(): void {
    if (!this._isDisposed) {
      this._isDisposed = true;
      this._stream.stop();
    }
  }

  private _isDisposed = false;
  private _stream = new Stream<this, Event.Emission>(this);
}

const eventManager = servicePlugin(
  'jupyter-spaces:domain-event-manager',
  'No server events socket in the spaces home.',
  IEventManager,
  () => new NoEventManager()
);

/** Kernel specs that are never requested: the domain has none. */
export class NoKernelSpecManager extends KernelSpecManager {
  protected async requestSpecs(): Promise<void> {
    // nothing to ask: specs stay null
  }
}

const kernelManager = servicePlugin(
  'jupyter-spaces:domain-kernel-manager',
  'No kernels in the spaces home (the domain refuses them).',
  IKernelManager,
  serverSettings =>
    new KernelManager.NoopManager({ serverSettings, standby: 'when-hidden' })
);

const kernelSpecManager = servicePlugin(
  'jupyter-spaces:domain-kernel-spec-manager',
  'No kernel specs in the spaces home.',
  IKernelSpecManager,
  serverSettings =>
    new NoKernelSpecManager({ serverSettings, standby: 'when-hidden' })
);

const sessionManager = servicePlugin(
  'jupyter-spaces:domain-session-manager',
  'No sessions in the spaces home.',
  ISessionManager,
  (serverSettings, kernelManager: Kernel.IManager) =>
    new SessionManager.NoopManager({
      serverSettings,
      kernelManager,
      standby: 'when-hidden'
    }),
  [IKernelManager]
);

/** The service plugins of the domain's JupyterLab. */
export const domainServicePlugins: JupyterFrontEndPlugin<any>[] = [
  eventManager,
  kernelManager,
  kernelSpecManager,
  sessionManager
];
