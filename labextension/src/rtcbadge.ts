/**
 * The RTC badge: in a shared space, every launcher says documents opened
 * here are edited together in real time.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

/** The badge's class. */
export const RTC_BADGE_CLASS = 'jp-SpacesRtcBadge';

/** Add the badge to a launcher's node if it has none; `true` if added. */
export function addRtcBadge(
  launcher: HTMLElement,
  trans: TranslationBundle
): boolean {
  if (launcher.querySelector(`:scope > .${RTC_BADGE_CLASS}`)) {
    return false;
  }
  const badge = document.createElement('div');
  badge.className = RTC_BADGE_CLASS;
  badge.textContent = trans.__('Collaborative');
  badge.title = trans.__(
    'A shared space: documents opened here are edited together in real time with the other people in it.'
  );
  badge.setAttribute('role', 'note');
  launcher.prepend(badge);
  return true;
}

/** Badge the launchers of the main area, now and whenever the layout changes. */
export function watchLaunchers(
  app: Pick<JupyterFrontEnd, 'shell'>,
  trans: TranslationBundle
): () => number {
  const scan = () => {
    let added = 0;
    for (const widget of app.shell.widgets('main') as Iterable<Widget>) {
      // on the launcher's main-area widget, outside the launcher's own
      // React tree (React clears its container when it first renders)
      const isLauncher =
        widget.node.classList.contains('jp-Launcher') ||
        !!widget.node.querySelector('.jp-Launcher');
      if (isLauncher && addRtcBadge(widget.node, trans)) {
        added++;
      }
    }
    return added;
  };
  const shell = app.shell as any;
  shell.layoutModified?.connect(() => scan());
  shell.currentChanged?.connect(() => scan());
  scan();
  return scan;
}
