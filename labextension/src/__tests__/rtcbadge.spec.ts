/**
 * @jest-environment ./jest-env-jsdom.js
 */
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { loadPreferences } from '../index';
import { RTC_BADGE_CLASS, watchLaunchers } from '../rtcbadge';
import { trans } from './trans';

describe('watchLaunchers', () => {
  it('badges every launcher once, also those opened later', () => {
    const launcher = () => {
      const w = new Widget();
      const inner = document.createElement('div');
      inner.className = 'jp-Launcher';
      w.node.appendChild(inner);
      return w;
    };
    const plain = new Widget();
    const widgets: Widget[] = [launcher(), plain];
    const layoutModified = new Signal<any, void>({});
    const app = {
      shell: {
        widgets: () => widgets[Symbol.iterator](),
        layoutModified
      }
    };
    const scan = watchLaunchers(app as any, trans);
    const badges = () =>
      widgets.map(w => w.node.querySelectorAll(`.${RTC_BADGE_CLASS}`).length);
    expect(badges()).toEqual([1, 0]);
    expect(widgets[0].node.textContent).toBe('Collaborative');
    widgets.push(launcher());
    layoutModified.emit();
    expect(badges()).toEqual([1, 0, 1]);
    expect(scan()).toBe(0);
    widgets.forEach(w => w.dispose());
    plain.dispose();
  });
});

describe('loadPreferences', () => {
  it('defaults without a registry; reads and follows the setting', async () => {
    expect(await loadPreferences(null)).toEqual({ openInNewTab: false });
    const changed = new Signal<any, void>({});
    let value = true;
    const registry = {
      load: async (id: string) => {
        expect(id).toBe('jupyter-spaces:plugin');
        return { get: () => ({ composite: value }), changed };
      }
    };
    const prefs = await loadPreferences(registry as any);
    expect(prefs.openInNewTab).toBe(true);
    value = false;
    changed.emit();
    expect(prefs.openInNewTab).toBe(false);
  });

  it('keeps the defaults when the settings cannot be loaded', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    const registry = { load: async () => Promise.reject(new Error('403')) };
    expect(await loadPreferences(registry as any)).toEqual({
      openInNewTab: false
    });
    warn.mockRestore();
  });
});
