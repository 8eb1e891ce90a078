/**
 * The spaces home is JupyterLab on the domain, where there are no files,
 * kernels or documents: the main menus that act on those (File, Edit, Run,
 * Kernel, Tabs) would do nothing there, so the home goes without them. View,
 * Settings (the theme, the language) and Help stay.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';

/** The ids of the main menus the home leaves out. */
export const HOME_HIDDEN_MENUS: ReadonlyArray<string> = [
  'jp-mainmenu-file',
  'jp-mainmenu-edit',
  'jp-mainmenu-run',
  'jp-mainmenu-kernel',
  'jp-mainmenu-tabs'
];

/** The parts of JupyterLab's main menu bar this module uses (duck-typed). */
interface IMenuBarLike {
  readonly menus: ReadonlyArray<{ id: string }>;
  removeMenu(menu: { id: string }): void;
}

function isMenuBar(widget: unknown): widget is IMenuBarLike {
  const bar = widget as IMenuBarLike;
  return Array.isArray(bar?.menus) && typeof bar.removeMenu === 'function';
}

/** Remove the menus of {@link HOME_HIDDEN_MENUS}; returns how many. */
export function hideWorkMenus(app: Pick<JupyterFrontEnd, 'shell'>): number {
  let removed = 0;
  for (const widget of app.shell.widgets('menu')) {
    if (!isMenuBar(widget)) {
      continue;
    }
    for (const menu of [...widget.menus]) {
      if (HOME_HIDDEN_MENUS.includes(menu.id)) {
        widget.removeMenu(menu);
        removed++;
      }
    }
  }
  return removed;
}
