/**
 * The domain's JupyterLab (the spaces home) has no kernels, sessions, kernel
 * specs or server events socket: the domain refuses those APIs (they live in the spaces).
 * JupyterLab's service manager would poll them anyway (403s in the console
 * and the server log), so in the domain these plugins provide managers that
 * never ask. The domain's page config disables JupyterLab's own ones; the
 * plugins are exported only when the page config says "domain" (see index).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IStream, Stream } from '@lumino/signaling';
import {
  Event,
  IEventManager,
  IKernelManager,
  IKernelSpecManager,
  Kernel,
  KernelManager,
  KernelSpec,
  KernelSpecManager,
  ServerConnection,
  Session,
  SessionManager,
  ISessionManager
} from '@jupyterlab/services';

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

const eventManager: JupyterFrontEndPlugin<Event.IManager> = {
  id: 'jupyter-spaces:domain-event-manager',
  description: 'No server events socket in the spaces home.',
  autoStart: true,
  provides: IEventManager,
  activate: (): Event.IManager => new NoEventManager()
};

/** Kernel specs that are never requested: the domain has none. */
export class NoKernelSpecManager extends KernelSpecManager {
  protected async requestSpecs(): Promise<void> {
    // nothing to ask: specs stay null
  }
}

const kernelManager: JupyterFrontEndPlugin<Kernel.IManager> = {
  id: 'jupyter-spaces:domain-kernel-manager',
  description: 'No kernels in the spaces home (the domain refuses them).',
  autoStart: true,
  provides: IKernelManager,
  activate: (): Kernel.IManager =>
    new KernelManager.NoopManager({
      serverSettings: ServerConnection.makeSettings(),
      standby: 'when-hidden'
    })
};

const kernelSpecManager: JupyterFrontEndPlugin<KernelSpec.IManager> = {
  id: 'jupyter-spaces:domain-kernel-spec-manager',
  description: 'No kernel specs in the spaces home.',
  autoStart: true,
  provides: IKernelSpecManager,
  activate: (): KernelSpec.IManager =>
    new NoKernelSpecManager({
      serverSettings: ServerConnection.makeSettings(),
      standby: 'when-hidden'
    })
};

const sessionManager: JupyterFrontEndPlugin<Session.IManager> = {
  id: 'jupyter-spaces:domain-session-manager',
  description: 'No sessions in the spaces home.',
  autoStart: true,
  provides: ISessionManager,
  requires: [IKernelManager],
  activate: (
    _app: JupyterFrontEnd,
    kernelManager: Kernel.IManager
  ): Session.IManager =>
    new SessionManager.NoopManager({
      serverSettings: ServerConnection.makeSettings(),
      kernelManager,
      standby: 'when-hidden'
    })
};

/** The service plugins of the domain's JupyterLab. */
export const domainServicePlugins: JupyterFrontEndPlugin<any>[] = [
  eventManager,
  kernelManager,
  kernelSpecManager,
  sessionManager
];
