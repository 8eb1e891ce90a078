/**
 * The spaces home: the caller's spaces with filters and search, create,
 * start (with progress from the events stream), stop, open, settings,
 * members, delete; and for admins an all-spaces metadata view and users.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { TranslationBundle } from '@jupyterlab/translation';
import { addIcon, ReactWidget, refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { AllSpacesView, AuditView, UsersView } from './admin';
import { ISpace } from './api';
import { Avatar } from './avatars';
import { appUrl, openTarget, viewerRefusal } from './apps';
import { spacesIcon } from './icons';
import { HomeModel } from './homemodel';
import { MembersDialog } from './members';
import { TokensDialog } from './tokens';
import { PasswordDialog } from './userdialogs';
import { CreateSpaceDialog, SettingsDialog } from './spaceform';
import {
  AppName,
  IRowAction,
  ISpaceColumn,
  SpaceTable,
  statusColumn,
  TimeCell
} from './spacetable';
import { makeFetcher, runningInSpace, stopMessage } from './stopinfo';
import {
  canOpen,
  canRun,
  formatBytes,
  sharingLabel,
  statusLabel
} from './util';

type Tab = 'spaces' | 'all' | 'users' | 'audit';
type ModalState =
  | { kind: 'create' }
  | { kind: 'settings'; space: string }
  | { kind: 'members'; space: string }
  | { kind: 'password' }
  | { kind: 'tokens' }
  | null;

export interface IHomeProps {
  model: HomeModel;
  trans: TranslationBundle;
  /** Open a URL (a space's JupyterLab); `newTab` on ctrl/cmd/middle click. */
  openUrl: (url: string, newTab: boolean) => void;
  /** The domain serves spaces on its own origin (path mode): admins are warned. */
  pathMode?: boolean;
}

/** Ask, then run; errors end in the banner. */
async function confirm(
  title: string,
  body: string,
  accept: string,
  trans: TranslationBundle
): Promise<boolean> {
  const result = await showDialog({
    title,
    body,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.warnButton({ label: accept })
    ]
  });
  return result.button.accept;
}

export function Home(
  props: IHomeProps & { createRequests?: number }
): JSX.Element {
  const { model, trans } = props;
  const [chosenTab, setTab] = React.useState<Tab>('spaces');
  // an admin who gives up their rights is back on their own spaces
  const tab: Tab = model.isAdmin ? chosenTab : 'spaces';
  const [modal, setModal] = React.useState<ModalState>(null);
  React.useEffect(() => {
    if (props.createRequests) {
      setTab('spaces');
      setModal({ kind: 'create' });
    }
  }, [props.createRequests]);
  const [banner, setBanner] = React.useState('');
  const spaces = model.spaces;
  const me = model.me;

  const run = async (fn: () => Promise<unknown>) => {
    setBanner('');
    try {
      await fn();
    } catch (error) {
      setBanner(
        error instanceof Error ? error.message : String(error ?? 'Error')
      );
    }
  };

  const start = (space: ISpace) => run(() => spaces.start(space.name));
  // a stop while starting cancels the start
  const cancelStart = (space: ISpace) => run(() => spaces.stop(space.name));

  const stop = async (space: ISpace) => {
    const info = await runningInSpace(
      space,
      makeFetcher(spaces.client.serverSettings)
    );
    const ok = await confirm(
      trans.__('Stop %1?', space.display_name),
      stopMessage(space, info, trans),
      trans.__('Stop'),
      trans
    );
    if (ok) {
      await run(() => spaces.stop(space.name));
    }
  };

  const remove = async (space: ISpace) => {
    const ok = await confirm(
      trans.__('Delete %1?', space.display_name),
      trans.__(
        'The space “%1” (%2) and its %3 GiB volume with every file on it (%4 used) are deleted for good.%5 This cannot be undone.',
        space.display_name,
        space.name,
        space.volume_gb,
        formatBytes(space.volume_used_bytes),
        space.sharing === 'shared'
          ? ' ' + trans.__('Its members lose access.')
          : ''
      ),
      trans.__('Delete'),
      trans
    );
    if (ok) {
      await run(() => spaces.remove(space.name));
    }
  };

  const open = (space: ISpace, event: React.MouseEvent) => {
    if (space.url) {
      // JupyterLab in place; Code Editor and MLflow in a tab of their own
      const target = openTarget(
        space,
        model.catalog.appTypes,
        event.ctrlKey || event.metaKey || event.button === 1
      );
      props.openUrl(target.url, target.newTab);
    }
  };

  if (!model.loaded) {
    return <div className="jp-SpacesHome-loading">{trans.__('Loading…')}</div>;
  }
  if (model.loadError) {
    return (
      <div className="jp-SpacesHome-error" role="alert">
        {model.loadError.message}
      </div>
    );
  }

  const error = banner || model.listError?.message || '';
  const modalSpace =
    modal && 'space' in modal ? spaces.get(modal.space) : undefined;

  return (
    <div className="jp-SpacesHome-inner">
      <header className="jp-SpacesHome-header">
        <spacesIcon.react tag="span" className="jp-SpacesHome-logo" />
        <h1>{trans.__('Spaces')}</h1>
        <div className="jp-SpacesHome-spacer" />
        {me && (
          <span className="jp-SpacesHome-me" title={me.name}>
            <Avatar user={me} />
            {/* the name opens the caller's account: their password */}
            <button
              className="jp-SpacesHome-meButton"
              title={trans.__('Your password: set it or remove it')}
              onClick={() => setModal({ kind: 'password' })}
            >
              {me.display_name}
            </button>
            {me.admin && (
              <span className="jp-SpacesBadge">{trans.__('admin')}</span>
            )}
            <button
              className="jp-SpacesHome-meButton"
              title={trans.__('API tokens for scripts, the R addin, notebooks')}
              onClick={() => setModal({ kind: 'tokens' })}
            >
              {trans.__('Tokens')}
            </button>
            <a
              className="jp-SpacesHome-meButton"
              href={URLExt.join(model.client.serverSettings.baseUrl, 'logout')}
            >
              {trans.__('Log out')}
            </a>
          </span>
        )}
      </header>
      {model.isAdmin && props.pathMode && (
        <div className="jp-SpacesHome-warning" role="alert">
          {trans.__(
            'Path mode: every space is served on the domain’s own origin, so HTML written by a space’s editors runs with the credentials of whoever opens it. Set c.DomainApp.space_host (wildcard DNS and TLS) to give each space its own origin.'
          )}
        </div>
      )}
      {model.isAdmin && (
        <div
          className="jp-SpacesTabs"
          role="tablist"
          aria-label={trans.__('Views')}
        >
          {(
            [
              ['spaces', trans.__('My spaces')],
              ['all', trans.__('All spaces (admin)')],
              ['users', trans.__('Users (admin)')],
              ['audit', trans.__('Audit log (admin)')]
            ] as Array<[Tab, string]>
          ).map(([id, label]) => (
            <button
              key={id}
              role="tab"
              aria-selected={tab === id}
              className={`jp-SpacesTab${tab === id ? ' jp-mod-active' : ''}`}
              onClick={() => setTab(id)}
            >
              {label}
            </button>
          ))}
        </div>
      )}
      {error && (
        <div className="jp-SpacesBanner" role="alert">
          <span>{error}</span>
          <button
            className="jp-SpacesBanner-close"
            aria-label={trans.__('Dismiss')}
            onClick={() => setBanner('')}
          >
            ×
          </button>
        </div>
      )}
      {tab === 'spaces' && (
        <SpacesList
          {...props}
          onCreate={() => setModal({ kind: 'create' })}
          onStart={start}
          onCancelStart={cancelStart}
          onStop={stop}
          onOpen={open}
          onDelete={remove}
          onSettings={s => setModal({ kind: 'settings', space: s.name })}
          onMembers={s => setModal({ kind: 'members', space: s.name })}
          onRefresh={() => run(() => model.refresh())}
        />
      )}
      {tab === 'all' && model.isAdmin && (
        <AllSpacesView
          model={model}
          trans={trans}
          run={run}
          onStop={stop}
          onDelete={remove}
          search={
            <SearchInput
              label={trans.__('Search all spaces')}
              value={model.filters.search}
              onChange={search => model.setFilters({ search })}
            />
          }
        />
      )}
      {tab === 'users' && model.isAdmin && (
        <UsersView model={model} trans={trans} run={run} />
      )}
      {tab === 'audit' && model.isAdmin && (
        <AuditView model={model} trans={trans} run={run} />
      )}
      {modal?.kind === 'password' && me && (
        <PasswordDialog
          user={me}
          self
          model={model}
          trans={trans}
          onDone={message => {
            Notification.success(message, { autoClose: 5000 });
            setModal(null);
          }}
          onClose={() => setModal(null)}
        />
      )}
      {modal?.kind === 'tokens' && me && (
        <TokensDialog
          user={me}
          model={model}
          trans={trans}
          onClose={() => setModal(null)}
        />
      )}
      {modal?.kind === 'create' && (
        <CreateSpaceDialog
          catalog={model.catalog}
          trans={trans}
          onCreate={body => spaces.create(body)}
          onClose={() => setModal(null)}
        />
      )}
      {modal?.kind === 'settings' && modalSpace && (
        <SettingsDialog
          space={modalSpace}
          catalog={model.catalog}
          trans={trans}
          onSave={body => spaces.update(modalSpace.name, body)}
          onClose={() => setModal(null)}
        />
      )}
      {modal?.kind === 'members' && modalSpace && (
        <MembersDialog
          space={modalSpace}
          client={model.client}
          canManage={modalSpace.role === 'owner' || model.isAdmin}
          trans={trans}
          onClose={() => setModal(null)}
        />
      )}
    </div>
  );
}

interface ISpaceActions {
  onCreate: () => void;
  onStart: (space: ISpace) => void;
  onCancelStart: (space: ISpace) => void;
  onStop: (space: ISpace) => void;
  onOpen: (space: ISpace, event: React.MouseEvent) => void;
  onDelete: (space: ISpace) => void;
  onSettings: (space: ISpace) => void;
  onMembers: (space: ISpace) => void;
  onRefresh: () => void;
}

/** The search field of a view's toolbar. */
function SearchInput(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <input
      className="jp-mod-styled jp-SpacesSearch"
      type="search"
      placeholder={props.label}
      aria-label={props.label}
      value={props.value}
      onChange={e => props.onChange(e.target.value)}
    />
  );
}

/** A view's main button (create a space, add a user). */
function AddButton(props: { label: string; onClick: () => void }): JSX.Element {
  return (
    <button
      className="jp-mod-styled jp-mod-accept jp-SpacesPrimary"
      onClick={props.onClick}
    >
      <addIcon.react tag="span" />
      {props.label}
    </button>
  );
}

function SpacesList(props: IHomeProps & ISpaceActions): JSX.Element {
  const { model, trans } = props;
  const f = model.filters;
  const now = Date.now();
  const { appTypes, instanceTypes } = model.catalog;
  const columns: ISpaceColumn[] = [
    {
      header: trans.__('Name'),
      cell: space => (
        <td>
          <div className="jp-SpacesRow-name">
            {canOpen(space) && !viewerRefusal(space, appTypes) ? (
              <a
                href={appUrl(space, appTypes)}
                onClick={e => {
                  e.preventDefault();
                  props.onOpen(space, e);
                }}
              >
                {space.display_name}
              </a>
            ) : (
              space.display_name
            )}
          </div>
          <div className="jp-SpacesMuted">{space.name}</div>
        </td>
      )
    },
    {
      header: trans.__('Sharing'),
      cell: space => (
        <td>
          <span className={`jp-SpacesBadge jp-SpacesBadge-${space.sharing}`}>
            {sharingLabel(space.sharing, trans)}
          </span>
        </td>
      )
    },
    {
      header: trans.__('App'),
      cell: space => (
        <td>
          <AppName appType={space.app_type} appTypes={appTypes} />
        </td>
      )
    },
    {
      header: trans.__('Instance'),
      cell: space => (
        <td
          title={
            instanceTypes.find(i => i.name === space.instance_type)
              ?.display_name
          }
        >
          {space.instance_type}
        </td>
      )
    },
    statusColumn(name => model.spaces.progress(name), trans),
    { header: trans.__('Owner'), cell: space => <td>{space.owner}</td> },
    {
      header: trans.__('Last activity'),
      cell: space => (
        <TimeCell time={space.last_activity} now={now} trans={trans} />
      )
    }
  ];
  const actions = (space: ISpace): IRowAction[] => {
    const isOwner = space.role === 'owner' || model.isAdmin;
    const busy = ['starting', 'stopping', 'updating', 'deleting'].includes(
      space.status
    );
    const lifecycle: IRowAction[] =
      space.status === 'running'
        ? [
            {
              label: trans.__('Open'),
              kind: 'accept',
              disabled: !canOpen(space) || !!viewerRefusal(space, appTypes),
              title: viewerRefusal(space, appTypes) || undefined,
              onClick: e => props.onOpen(space, e)
            },
            {
              label: trans.__('Stop'),
              disabled: !canRun(space),
              title: canRun(space)
                ? undefined
                : trans.__('Viewers cannot stop'),
              onClick: () => props.onStop(space)
            }
          ]
        : space.status === 'starting' && canRun(space)
          ? [
              {
                // nothing runs yet, so nothing to confirm: the launcher undoes the start
                label: trans.__('Cancel start'),
                onClick: () => props.onCancelStart(space)
              }
            ]
          : [
              {
                label: trans.__('Start'),
                disabled: !canRun(space) || busy,
                title: canRun(space)
                  ? undefined
                  : trans.__('Viewers cannot start'),
                onClick: () => props.onStart(space)
              }
            ];
    return [
      ...lifecycle,
      {
        label: trans.__('Settings'),
        disabled: !isOwner,
        onClick: () => props.onSettings(space)
      },
      ...(space.sharing === 'shared'
        ? [
            {
              label: trans.__('Members'),
              onClick: () => props.onMembers(space)
            }
          ]
        : []),
      {
        label: trans.__('Delete'),
        kind: 'warn',
        disabled: !isOwner || busy,
        onClick: () => props.onDelete(space)
      }
    ];
  };
  return (
    <section className="jp-SpacesList" aria-label={trans.__('Spaces')}>
      <div className="jp-SpacesToolbar">
        <SearchInput
          label={trans.__('Search spaces')}
          value={f.search}
          onChange={search => model.setFilters({ search })}
        />
        <select
          className="jp-mod-styled"
          aria-label={trans.__('Sharing')}
          value={f.sharing}
          onChange={e => model.setFilters({ sharing: e.target.value as any })}
        >
          <option value="">{trans.__('Private and shared')}</option>
          <option value="private">{trans.__('Private')}</option>
          <option value="shared">{trans.__('Shared')}</option>
        </select>
        <select
          className="jp-mod-styled"
          aria-label={trans.__('Status')}
          value={f.status}
          onChange={e => model.setFilters({ status: e.target.value as any })}
        >
          <option value="">{trans.__('Any status')}</option>
          {(['running', 'stopped', 'starting', 'failed'] as const).map(s => (
            <option key={s} value={s}>
              {statusLabel(s, trans)}
            </option>
          ))}
        </select>
        <select
          className="jp-mod-styled"
          aria-label={trans.__('Application')}
          value={f.appType}
          onChange={e => model.setFilters({ appType: e.target.value as any })}
        >
          <option value="">{trans.__('Any application')}</option>
          {appTypes.map(a => (
            <option key={a.name} value={a.name}>
              {a.display_name}
            </option>
          ))}
        </select>
        <label className="jp-SpacesCheck">
          <input
            type="checkbox"
            checked={f.mine}
            onChange={e => model.setFilters({ mine: e.target.checked })}
          />
          {trans.__('Only mine')}
        </label>
        <div className="jp-SpacesHome-spacer" />
        <button
          className="jp-mod-styled jp-SpacesIconButton"
          title={trans.__('Refresh')}
          aria-label={trans.__('Refresh')}
          onClick={props.onRefresh}
        >
          <refreshIcon.react tag="span" />
        </button>
        <AddButton label={trans.__('Create space')} onClick={props.onCreate} />
      </div>
      <SpaceTable
        spaces={model.visibleSpaces}
        columns={columns}
        actions={actions}
        rowClassName="jp-SpacesRow"
        trans={trans}
        empty={
          model.spaces.loading
            ? trans.__('Loading…')
            : model.spaces.spaces.some(s => s.role !== null)
              ? trans.__('No space matches the filters.')
              : trans.__(
                  'No spaces yet. Create one to get a JupyterLab with its own compute and storage.'
                )
        }
      />
    </section>
  );
}

/** The home as a main-area widget. */
export class HomeWidget extends ReactWidget {
  constructor(
    readonly model: HomeModel,
    private _trans: TranslationBundle,
    private _openUrl: (url: string, newTab: boolean) => void,
    private _pathMode = false
  ) {
    super();
    this.id = 'jp-spaces-home';
    this.addClass('jp-SpacesHome');
    this.title.label = _trans.__('Spaces');
    this.title.icon = spacesIcon;
    this.title.closable = false;
    model.changed.connect(this.update, this);
  }

  /** Open the "Create space" dialog. */
  openCreate(): void {
    this._createRequests++;
    this.update();
  }

  render(): JSX.Element {
    return (
      <Home
        model={this.model}
        trans={this._trans}
        openUrl={this._openUrl}
        pathMode={this._pathMode}
        createRequests={this._createRequests}
      />
    );
  }

  private _createRequests = 0;

  dispose(): void {
    this.model.dispose();
    super.dispose();
  }
}
