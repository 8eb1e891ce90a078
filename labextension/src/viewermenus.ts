/**
 * A viewer of a space may read but not write: the space refuses every new
 * file or folder, upload, rename, delete and paste. The page does not offer
 * them: this plugin's schema (schema/viewer-menus.json) disables File > New,
 * the file browser's New Folder and Upload buttons and its writing
 * context-menu items, the way a user's settings would (JupyterLab merges
 * every loaded plugin's menus and toolbars, and leaves out what one
 * disables). It is loaded for viewers only, so editors keep them all; the
 * Launcher is left out of a viewer's page by the page config
 * (space/labpage.py).
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';

/** The plugin whose schema takes the writing items out (it does nothing else). */
export const viewerMenusPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-spaces:viewer-menus',
  description:
    'No File > New, New Folder, Upload, rename, delete or paste for a viewer of a space.',
  autoStart: true,
  activate: () => undefined
};
