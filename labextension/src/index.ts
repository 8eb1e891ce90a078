import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

export * from './api';
export * from './model';

/** The command ids of this extension. */
export namespace CommandIDs {
  export const openHome = 'jupyter-spaces:open-home';
}

/** The URL of the spaces home for a server base URL. */
export function homeUrl(baseUrl: string): string {
  return URLExt.join(baseUrl, 'spaces', 'home');
}

/**
 * The main plugin: commands of the spaces frontend.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-spaces:plugin',
  description: 'Jupyter Spaces: open the spaces home and manage spaces.',
  autoStart: true,
  optional: [ITranslator, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null,
    palette: ICommandPalette | null
  ) => {
    const trans = (translator ?? nullTranslator).load('jupyter_spaces');
    app.commands.addCommand(CommandIDs.openHome, {
      label: trans.__('Open Spaces Home'),
      caption: trans.__('Open the spaces home in a new browser tab'),
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => {
        const { baseUrl } = app.serviceManager.serverSettings;
        window.open(homeUrl(baseUrl), '_blank', 'noopener');
      }
    });
    if (palette) {
      palette.addItem({
        command: CommandIDs.openHome,
        category: trans.__('Spaces')
      });
    }
  }
};

export default plugin;
