/**
 * @jest-environment ./jest-env-jsdom.js
 */
import { Menu, MenuBar, Widget } from '@lumino/widgets';
import { CommandRegistry } from '@lumino/commands';

import { HOME_HIDDEN_MENUS, hideWorkMenus } from '../homemenus';

describe('the home’s main menus', () => {
  it('leave out File, Edit, Run, Kernel and Tabs, and keep the rest', () => {
    const commands = new CommandRegistry();
    const bar = new MenuBar();
    const ids = [
      'jp-mainmenu-file',
      'jp-mainmenu-edit',
      'jp-mainmenu-view',
      'jp-mainmenu-run',
      'jp-mainmenu-kernel',
      'jp-mainmenu-tabs',
      'jp-mainmenu-settings',
      'jp-mainmenu-help'
    ];
    for (const id of ids) {
      const menu = new Menu({ commands });
      menu.id = id;
      bar.addMenu(menu);
    }
    const other = new Widget();
    const shell = {
      widgets: (area: string) =>
        (area === 'menu' ? [other, bar] : [])[Symbol.iterator]()
    };
    expect(hideWorkMenus({ shell } as any)).toBe(HOME_HIDDEN_MENUS.length);
    expect(bar.menus.map(m => m.id)).toEqual([
      'jp-mainmenu-view',
      'jp-mainmenu-settings',
      'jp-mainmenu-help'
    ]);
    other.dispose();
    bar.dispose();
  });
});
