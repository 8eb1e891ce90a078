/**
 * The space switcher in the top bar of a space's JupyterLab: the current
 * space (name, private/shared badge, status) and a menu of the user's other
 * spaces with their status, to open, start or stop them, plus "Spaces home"
 * and "New space".
 *
 * The list is read when the menu opens (and once at start); the current
 * space's status is live, from its events stream (SpacesModel, `live`).
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { ISpace } from './api';
import { openTarget } from './apps';
import { homeLabUrl, NEW_SPACE_PARAM } from './context';
import { spacesIcon } from './icons';
import { SpacesModel } from './model';
import { AppIcon } from './spacetable';
import { canOpen, canRun, sharingLabel, statusLabel } from './util';

export interface ISwitcherProps {
  /** The space this JupyterLab belongs to. */
  current: string;
  model: SpacesModel;
  domainBaseUrl: string;
  trans: TranslationBundle;
  /** Navigate (the same tab unless `newTab`). */
  openUrl: (url: string, newTab: boolean) => void;
  /** Ask before stopping (resolves `true` to go ahead). */
  confirmStop: (space: ISpace) => Promise<boolean>;
  /**
   * Whether this page is on the space's own origin, where the domain tells
   * it about this space only: the menu then sends to the home for the others.
   */
  ownOrigin?: boolean;
}

/** The other spaces of the menu: usable ones (role set), current excluded. */
export function otherSpaces(
  spaces: ReadonlyArray<ISpace>,
  current: string
): ISpace[] {
  return spaces.filter(s => s.name !== current && s.role !== null);
}

export function Switcher(props: ISwitcherProps): JSX.Element {
  const { model, trans, current } = props;
  const [open, setOpen] = React.useState(false);
  const [error, setError] = React.useState('');
  const root = React.useRef<HTMLDivElement>(null);
  const space = model.get(current);

  React.useEffect(() => {
    if (!open) {
      return;
    }
    const onDown = (event: MouseEvent) => {
      if (root.current && !root.current.contains(event.target as Node)) {
        setOpen(false);
      }
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, [open]);

  const toggle = () => {
    if (!open) {
      setError('');
      model.refresh().catch(e => setError((e as Error).message));
      window.setTimeout(() =>
        root.current
          ?.querySelector<HTMLElement>('[role="menuitem"]:not([disabled])')
          ?.focus()
      );
    }
    setOpen(!open);
  };

  const run = async (fn: () => Promise<unknown>) => {
    setError('');
    try {
      await fn();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const onKeyDown = (event: React.KeyboardEvent) => {
    if (event.key === 'Escape' && open) {
      event.stopPropagation();
      setOpen(false);
      root.current
        ?.querySelector<HTMLElement>('.jp-SpacesSwitcher-button')
        ?.focus();
    } else if (open && (event.key === 'ArrowDown' || event.key === 'ArrowUp')) {
      event.preventDefault();
      const items = [
        ...(root.current?.querySelectorAll<HTMLElement>(
          '[role="menuitem"]:not([disabled])'
        ) ?? [])
      ];
      const at = items.indexOf(document.activeElement as HTMLElement);
      const next =
        event.key === 'ArrowDown'
          ? (at + 1) % items.length
          : (at - 1 + items.length) % items.length;
      items[next]?.focus();
    }
  };

  const others = otherSpaces(model.spaces, current);
  return (
    <div className="jp-SpacesSwitcher" ref={root} onKeyDown={onKeyDown}>
      <button
        className="jp-SpacesSwitcher-button"
        aria-haspopup="menu"
        aria-expanded={open}
        title={trans.__('Switch space')}
        onClick={toggle}
      >
        <spacesIcon.react tag="span" className="jp-SpacesSwitcher-icon" />
        <span className="jp-SpacesSwitcher-name">
          {space?.display_name ?? current}
        </span>
        {space && (
          <span className={`jp-SpacesBadge jp-SpacesBadge-${space.sharing}`}>
            {sharingLabel(space.sharing, trans)}
          </span>
        )}
        {space && (
          <span
            className={`jp-SpacesDot jp-SpacesStatus-${space.status}`}
            title={statusLabel(space.status, trans)}
            aria-label={statusLabel(space.status, trans)}
          />
        )}
      </button>
      {open && (
        <div
          className="jp-SpacesSwitcher-menu"
          role="menu"
          aria-label={trans.__('Spaces')}
        >
          {error && (
            <div className="jp-SpacesSwitcher-error" role="alert">
              {error}
            </div>
          )}
          <div className="jp-SpacesSwitcher-section">
            {trans.__('Other spaces')}
          </div>
          {!others.length && (
            <div className="jp-SpacesSwitcher-empty">
              {model.loading
                ? trans.__('Loading…')
                : props.ownOrigin
                  ? trans.__('Listed in the spaces home')
                  : trans.__('None')}
            </div>
          )}
          {others.map(s => (
            <div
              className="jp-SpacesSwitcher-item"
              key={s.name}
              data-space={s.name}
            >
              <span
                className={`jp-SpacesDot jp-SpacesStatus-${s.status}`}
                aria-hidden="true"
              />
              <AppIcon appType={s.app_type} />
              <span className="jp-SpacesSwitcher-itemName" title={s.name}>
                {s.display_name}
              </span>
              <span className="jp-SpacesMuted">
                {statusLabel(s.status, trans)}
              </span>
              {s.status === 'running' ? (
                <>
                  <button
                    role="menuitem"
                    className="jp-SpacesSwitcher-action"
                    disabled={!canOpen(s)}
                    onClick={e => {
                      // JupyterLab in place; Code Editor and MLflow in a tab
                      const target = openTarget(s, [], e.ctrlKey || e.metaKey);
                      props.openUrl(target.url, target.newTab);
                    }}
                  >
                    {trans.__('Open')}
                  </button>
                  <button
                    role="menuitem"
                    className="jp-SpacesSwitcher-action"
                    disabled={!canRun(s)}
                    onClick={async () => {
                      if (await props.confirmStop(s)) {
                        await run(() => model.stop(s.name));
                      }
                    }}
                  >
                    {trans.__('Stop')}
                  </button>
                </>
              ) : (
                <button
                  role="menuitem"
                  className="jp-SpacesSwitcher-action"
                  disabled={
                    !canRun(s) ||
                    (s.status !== 'stopped' && s.status !== 'failed')
                  }
                  onClick={() => run(() => model.start(s.name))}
                >
                  {trans.__('Start')}
                </button>
              )}
            </div>
          ))}
          <div className="jp-SpacesSwitcher-separator" role="separator" />
          <button
            role="menuitem"
            className="jp-SpacesSwitcher-link"
            onClick={e =>
              props.openUrl(
                homeLabUrl(props.domainBaseUrl),
                e.ctrlKey || e.metaKey
              )
            }
          >
            {trans.__('Spaces home')}
          </button>
          <button
            role="menuitem"
            className="jp-SpacesSwitcher-link"
            onClick={e =>
              props.openUrl(
                `${homeLabUrl(props.domainBaseUrl)}?${NEW_SPACE_PARAM}=1`,
                e.ctrlKey || e.metaKey
              )
            }
          >
            {trans.__('New space…')}
          </button>
        </div>
      )}
    </div>
  );
}

/** The switcher as a top-bar widget. */
export class SwitcherWidget extends ReactWidget {
  constructor(private _props: ISwitcherProps) {
    super();
    this.id = 'jp-spaces-switcher';
    this.addClass('jp-SpacesSwitcherWidget');
    _props.model.changed.connect(this.update, this);
  }

  get model(): SpacesModel {
    return this._props.model;
  }

  render(): JSX.Element {
    return <Switcher {...this._props} />;
  }

  dispose(): void {
    this._props.model.dispose();
    super.dispose();
  }
}
