/**
 * A viewer of a space may read but not write: the space refuses every new
 * file or folder, upload, rename, delete and paste. The page does not offer
 * them: this plugin's schema (schema/viewer-menus.json) disables File > New,
 * the file browser's New Folder and Upload buttons and its writing
 * context-menu items, the way a user's settings would (JupyterLab merges
 * every loaded plugin's menus and toolbars, and leaves out what one
 * disables). It is loaded for viewers only, so editors keep them all. The
 * Launcher is left out of a viewer's page by the page config
 * (space/labpage.py).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';

/** JupyterLab's command that opens a Launcher, and the plugin that has it. */
export const LAUNCHER_COMMAND = 'launcher:create';
const LAUNCHER_PLUGIN = '@jupyterlab/launcher-extension:plugin';

/**
 * Without the Launcher, the file browser would still run its command when
 * the main area is empty ("Command 'launcher:create' not registered"): one
 * that opens nothing, in no menu, takes its place.
 */
export function addNoLauncher(
  app: Pick<JupyterFrontEnd, 'commands'>,
  isDisabled: (id: string) => boolean = PageConfig.Extension.isDisabled
): boolean {
  if (
    !isDisabled(LAUNCHER_PLUGIN) ||
    app.commands.hasCommand(LAUNCHER_COMMAND)
  ) {
    return false;
  }
  app.commands.addCommand(LAUNCHER_COMMAND, {
    describedBy: { args: { type: 'object', properties: {} } },
    isVisible: () => false,
    execute: () => undefined
  });
  return true;
}

/** The plugin whose schema takes the writing items out. */
export const viewerMenusPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-spaces:viewer-menus',
  description:
    'No Launcher, File > New, New Folder, Upload, rename, delete or paste for a viewer of a space.',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    addNoLauncher(app);
  }
};
