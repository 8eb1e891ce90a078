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
import { JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  IEventManager,
  IKernelManager,
  ISessionManager,
  ITerminalManager,
  IWorkspaceManager,
  Kernel,
  KernelManager,
  SessionManager,
  TerminalManager,
  Workspace,
  WorkspaceManager
} from '@jupyterlab/services';

import { NoEventManager } from './domainservices';
import { servicePlugin } from './serviceplugin';

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

const eventManager = servicePlugin(
  'jupyter-spaces:viewer-event-manager',
  'No server events socket for a viewer of a space.',
  IEventManager,
  () => new NoEventManager()
);

const workspaceManager = servicePlugin(
  'jupyter-spaces:viewer-workspace-manager',
  'A viewer’s layout is not saved in the space.',
  IWorkspaceManager,
  serverSettings => new ReadOnlyWorkspaceManager({ serverSettings })
);

const kernelManager = servicePlugin(
  'jupyter-spaces:viewer-kernel-manager',
  'No kernel connections for a viewer of a space.',
  IKernelManager,
  serverSettings =>
    new QuietKernelManager({ serverSettings, standby: 'when-hidden' })
);

const sessionManager = servicePlugin(
  'jupyter-spaces:viewer-session-manager',
  'No sessions for a viewer of a space.',
  ISessionManager,
  (serverSettings, kernelManager: Kernel.IManager) =>
    new QuietSessionManager({
      serverSettings,
      kernelManager,
      standby: 'when-hidden'
    }),
  [IKernelManager]
);

const terminalManager = servicePlugin(
  'jupyter-spaces:viewer-terminal-manager',
  'No terminals for a viewer of a space.',
  ITerminalManager,
  serverSettings =>
    new QuietTerminalManager({ serverSettings, standby: 'when-hidden' })
);

/** The service plugins of a viewer's JupyterLab in a space. */
export const viewerServicePlugins: JupyterFrontEndPlugin<any>[] = [
  eventManager,
  kernelManager,
  sessionManager,
  terminalManager,
  workspaceManager
];
