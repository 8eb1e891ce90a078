/**
 * A viewer of a space may not run code: the space refuses them kernels,
 * sessions, terminals, the server's events socket and writes (their
 * workspace layout too). JupyterLab's own service managers would connect to
 * the kernels editors run, try to start sessions, poll terminals and save the
 * layout anyway; every refused websocket is retried, filling the console and
 * the server log, and the kernel indicator says "Connecting" forever. For a
 * viewer the space's page config leaves those managers out
 * (`space/labpage.py`) and says `spacesRole: "viewer"`; these managers, which
 * never ask, take their place. Unlike JupyterLab's no-op managers they are
 * ready at once: a space's notebooks and consoles restore when the service
 * manager is ready.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Event,
  IEventManager,
  IKernelManager,
  ISessionManager,
  ITerminalManager,
  IWorkspaceManager,
  Kernel,
  KernelManager,
  ServerConnection,
  Session,
  SessionManager,
  Terminal,
  TerminalManager,
  Workspace,
  WorkspaceManager
} from '@jupyterlab/services';

import { NoEventManager } from './domainservices';

/** No kernels: none listed, none started or connected to; ready at once. */
export class QuietKernelManager extends KernelManager.NoopManager {
  get ready(): Promise<void> {
    return this.parentReady;
  }
}

/** No sessions: none listed, none started; ready at once. */
export class QuietSessionManager extends SessionManager.NoopManager {
  get ready(): Promise<void> {
    return this.parentReady;
  }
}

/** No terminals: none listed, none started; ready at once. */
export class QuietTerminalManager extends TerminalManager.NoopManager {
  get ready(): Promise<void> {
    return this.parentReady;
  }
}

/** Workspaces read as usual; a viewer's layout is not saved (the space refuses it). */
export class ReadOnlyWorkspaceManager extends WorkspaceManager {
  async save(_id: string, _workspace: Workspace.IWorkspace): Promise<void> {
    // a viewer writes nothing to the space
  }
}

const eventManager: JupyterFrontEndPlugin<Event.IManager> = {
  id: 'jupyter-spaces:viewer-event-manager',
  description: 'No server events socket for a viewer of a space.',
  autoStart: true,
  provides: IEventManager,
  activate: (): Event.IManager => new NoEventManager()
};

const workspaceManager: JupyterFrontEndPlugin<Workspace.IManager> = {
  id: 'jupyter-spaces:viewer-workspace-manager',
  description: 'A viewer’s layout is not saved in the space.',
  autoStart: true,
  provides: IWorkspaceManager,
  activate: (): Workspace.IManager =>
    new ReadOnlyWorkspaceManager({
      serverSettings: ServerConnection.makeSettings()
    })
};

const kernelManager: JupyterFrontEndPlugin<Kernel.IManager> = {
  id: 'jupyter-spaces:viewer-kernel-manager',
  description: 'No kernel connections for a viewer of a space.',
  autoStart: true,
  provides: IKernelManager,
  activate: (): Kernel.IManager =>
    new QuietKernelManager({
      serverSettings: ServerConnection.makeSettings(),
      standby: 'when-hidden'
    })
};

const sessionManager: JupyterFrontEndPlugin<Session.IManager> = {
  id: 'jupyter-spaces:viewer-session-manager',
  description: 'No sessions for a viewer of a space.',
  autoStart: true,
  provides: ISessionManager,
  requires: [IKernelManager],
  activate: (
    _app: JupyterFrontEnd,
    kernelManager: Kernel.IManager
  ): Session.IManager =>
    new QuietSessionManager({
      serverSettings: ServerConnection.makeSettings(),
      kernelManager,
      standby: 'when-hidden'
    })
};

const terminalManager: JupyterFrontEndPlugin<Terminal.IManager> = {
  id: 'jupyter-spaces:viewer-terminal-manager',
  description: 'No terminals for a viewer of a space.',
  autoStart: true,
  provides: ITerminalManager,
  activate: (): Terminal.IManager =>
    new QuietTerminalManager({
      serverSettings: ServerConnection.makeSettings(),
      standby: 'when-hidden'
    })
};

/** The service plugins of a viewer's JupyterLab in a space. */
export const viewerServicePlugins: JupyterFrontEndPlugin<any>[] = [
  eventManager,
  kernelManager,
  sessionManager,
  terminalManager,
  workspaceManager
];
