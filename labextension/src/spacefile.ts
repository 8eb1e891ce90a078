/**
 * A space's File menu ends with Log Out and Stop Space… (schema/plugin.json
 * puts them there). JupyterLab's own Shut Down asks the space server to end
 * itself, which it refuses (only the domain stops a space); the space's page
 * says `quitButton: false` (space/labpage.py), which takes JupyterLab's Log
 * Out away with Shut Down: this Log Out goes where JupyterLab's went (the
 * space's `logout`, which sends to the domain's), and Stop Space… stops the
 * space through the domain, after the switcher's confirmation.
 */
import { showErrorMessage } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';

import { ISpace } from './api';
import { canRun } from './util';

/** The ids of the space's File menu commands. */
export namespace SpaceFileCommandIDs {
  export const logOut = 'jupyter-spaces:log-out';
  export const stopSpace = 'jupyter-spaces:stop-space';
}

/** What the space's File menu commands act on. */
export interface ISpaceFileOptions {
  trans: TranslationBundle;
  /** The space's base URL (its JupyterLab's). */
  baseUrl: string;
  /** Go to a URL in this tab. */
  go: (url: string) => void;
  /** The space as last known (undefined: not known yet). */
  space: () => ISpace | undefined;
  /** Ask whether to stop (the switcher's dialog). */
  confirmStop: (space: ISpace) => Promise<boolean>;
  /** Ask the domain to stop the space. */
  stop: (name: string) => Promise<unknown>;
  /** Where to go once it stops: the spaces home. */
  homeUrl: string;
}

/** Whether the caller may stop the space now. */
function stoppable(space: ISpace | undefined): space is ISpace {
  return !!space && canRun(space) && space.status === 'running';
}

/** Add Log Out and Stop Space… to `commands`. */
export function addSpaceFileCommands(
  commands: CommandRegistry,
  options: ISpaceFileOptions
): void {
  const { trans } = options;
  commands.addCommand(SpaceFileCommandIDs.logOut, {
    label: trans.__('Log Out'),
    caption: trans.__('Log out of Jupyter Spaces'),
    describedBy: { args: { type: 'object', properties: {} } },
    execute: () => options.go(URLExt.join(options.baseUrl, 'logout'))
  });
  commands.addCommand(SpaceFileCommandIDs.stopSpace, {
    label: trans.__('Stop Space…'),
    caption: trans.__('Stop this space: its kernels and terminals end'),
    describedBy: { args: { type: 'object', properties: {} } },
    // viewers may not stop a space: the item is not there for them
    isVisible: () => stoppable(options.space()),
    isEnabled: () => stoppable(options.space()),
    execute: async () => {
      const space = options.space();
      if (!stoppable(space) || !(await options.confirmStop(space))) {
        return;
      }
      try {
        await options.stop(space.name);
      } catch (error) {
        await showErrorMessage(
          trans.__('Could not stop the space'),
          error as Error
        );
        return;
      }
      options.go(options.homeUrl);
    }
  });
}
