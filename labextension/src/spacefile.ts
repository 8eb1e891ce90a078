/**
 * A space's File menu ends with Log Out (schema/plugin.json puts it there),
 * not JupyterLab's Shut Down: that asks the space server to end itself, which
 * it refuses (only the domain stops a space). The space's page says
 * `quitButton: false` (space/labpage.py), which takes JupyterLab's Log Out
 * away with Shut Down: this one goes where JupyterLab's went, the space's
 * `logout`, which sends to the domain's.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';

/** The ids of the space's File menu commands. */
export namespace SpaceFileCommandIDs {
  export const logOut = 'jupyter-spaces:log-out';
}

/** Add Log Out to `commands`: go to `<baseUrl>logout` with `go`. */
export function addSpaceFileCommands(
  commands: CommandRegistry,
  trans: TranslationBundle,
  baseUrl: string,
  go: (url: string) => void
): void {
  commands.addCommand(SpaceFileCommandIDs.logOut, {
    label: trans.__('Log Out'),
    caption: trans.__('Log out of Jupyter Spaces'),
    describedBy: { args: { type: 'object', properties: {} } },
    execute: () => go(URLExt.join(baseUrl, 'logout'))
  });
}
