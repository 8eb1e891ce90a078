/**
 * The spaces home: the caller's spaces with filters and search, create,
 * start (with progress from the events stream), stop, open, settings,
 * members, delete; and for admins an all-spaces metadata view and users.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { addIcon, ReactWidget, refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { ICreatedUser, ISpace, IUser, SpacesApiError } from './api';
import { Avatar } from './avatars';
import { labUrl } from './context';
import { spacesIcon } from './icons';
import { HomeModel } from './homemodel';
import { MembersDialog } from './members';
import { DialogButton, Field, Modal } from './modal';
import { CreateSpaceDialog, SettingsDialog } from './spaceform';
import { makeFetcher, runningInSpace, stopMessage } from './stopinfo';
import {
  canOpen,
  canRun,
  formatBytes,
  relativeTime,
  sharingLabel,
  statusLabel
} from './util';

type Tab = 'spaces' | 'all' | 'users';
type ModalState =
  | { kind: 'create' }
  | { kind: 'settings'; space: string }
  | { kind: 'members'; space: string }
  | { kind: 'add-user' }
  | null;

export interface IHomeProps {
  model: HomeModel;
  trans: TranslationBundle;
  /** Open a URL (a space's JupyterLab); `newTab` on ctrl/cmd/middle click. */
  openUrl: (url: string, newTab: boolean) => void;
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
  const [tab, setTab] = React.useState<Tab>('spaces');
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
        'The space “%1” (%2) and its %3 GB volume with every file on it (%4 used) are deleted for good.%5 This cannot be undone.',
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
      props.openUrl(
        labUrl(space.url),
        event.ctrlKey || event.metaKey || event.button === 1
      );
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
            {me.display_name}
            {me.admin && (
              <span className="jp-SpacesBadge">{trans.__('admin')}</span>
            )}
          </span>
        )}
      </header>
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
              ['users', trans.__('Users (admin)')]
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
          onStop={stop}
          onOpen={open}
          onDelete={remove}
          onSettings={s => setModal({ kind: 'settings', space: s.name })}
          onMembers={s => setModal({ kind: 'members', space: s.name })}
          onRefresh={() => run(() => model.refresh())}
        />
      )}
      {tab === 'all' && model.isAdmin && (
        <AllSpaces {...props} onStop={stop} onDelete={remove} />
      )}
      {tab === 'users' && model.isAdmin && (
        <Users
          {...props}
          onAdd={() => setModal({ kind: 'add-user' })}
          onRemove={async user => {
            const ok = await confirm(
              trans.__('Remove %1?', user.display_name),
              trans.__(
                'The user “%1” can no longer log in and their API tokens stop working.',
                user.name
              ),
              trans.__('Remove'),
              trans
            );
            if (ok) {
              await run(() => model.removeUser(user.name));
            }
          }}
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
      {modal?.kind === 'add-user' && (
        <AddUserDialog
          trans={trans}
          onAdd={body => model.addUser(body)}
          onClose={() => setModal(null)}
        />
      )}
    </div>
  );
}

interface ISpaceActions {
  onCreate: () => void;
  onStart: (space: ISpace) => void;
  onStop: (space: ISpace) => void;
  onOpen: (space: ISpace, event: React.MouseEvent) => void;
  onDelete: (space: ISpace) => void;
  onSettings: (space: ISpace) => void;
  onMembers: (space: ISpace) => void;
  onRefresh: () => void;
}

/** A status cell: the word, and a progress bar while starting or stopping. */
export function StatusCell(props: {
  space: ISpace;
  progress: { percent: number; message: string } | null;
  trans: TranslationBundle;
}): JSX.Element {
  const { space, progress, trans } = props;
  return (
    <div className="jp-SpacesStatusCell">
      <span
        className={`jp-SpacesStatus jp-SpacesStatus-${space.status}`}
        title={space.failure_reason ?? undefined}
      >
        {statusLabel(space.status, trans)}
      </span>
      {progress && (
        <div
          className="jp-SpacesProgress"
          role="progressbar"
          aria-label={trans.__('Progress of %1', space.display_name)}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(progress.percent)}
          aria-valuetext={progress.message || undefined}
          title={progress.message}
        >
          <div
            className="jp-SpacesProgress-bar"
            style={{ width: `${progress.percent}%` }}
          />
        </div>
      )}
      {progress?.message && (
        <div className="jp-SpacesProgress-message">{progress.message}</div>
      )}
      {space.status === 'failed' && space.failure_reason && (
        <div className="jp-SpacesProgress-message">{space.failure_reason}</div>
      )}
    </div>
  );
}

function SpacesList(props: IHomeProps & ISpaceActions): JSX.Element {
  const { model, trans } = props;
  const f = model.filters;
  const rows = model.visibleSpaces;
  const now = Date.now();
  return (
    <section className="jp-SpacesList" aria-label={trans.__('Spaces')}>
      <div className="jp-SpacesToolbar">
        <input
          className="jp-mod-styled jp-SpacesSearch"
          type="search"
          placeholder={trans.__('Search spaces')}
          aria-label={trans.__('Search spaces')}
          value={f.search}
          onChange={e => model.setFilters({ search: e.target.value })}
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
          {model.catalog.appTypes.map(a => (
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
        <button
          className="jp-mod-styled jp-mod-accept jp-SpacesPrimary"
          onClick={props.onCreate}
        >
          <addIcon.react tag="span" />
          {trans.__('Create space')}
        </button>
      </div>
      <table className="jp-SpacesTable">
        <thead>
          <tr>
            <th>{trans.__('Name')}</th>
            <th>{trans.__('Sharing')}</th>
            <th>{trans.__('App')}</th>
            <th>{trans.__('Instance')}</th>
            <th>{trans.__('Status')}</th>
            <th>{trans.__('Owner')}</th>
            <th>{trans.__('Last activity')}</th>
            <th>
              <span className="jp-SpacesVisuallyHidden">
                {trans.__('Actions')}
              </span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map(space => (
            <SpaceRow key={space.name} space={space} now={now} {...props} />
          ))}
          {!rows.length && (
            <tr>
              <td colSpan={8} className="jp-SpacesEmpty">
                {model.spaces.loading
                  ? trans.__('Loading…')
                  : model.spaces.spaces.some(s => s.role !== null)
                    ? trans.__('No space matches the filters.')
                    : trans.__(
                        'No spaces yet. Create one to get a JupyterLab with its own compute and storage.'
                      )}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

function SpaceRow(
  props: IHomeProps & ISpaceActions & { space: ISpace; now: number }
): JSX.Element {
  const { space, model, trans, now } = props;
  const app = model.catalog.appTypes.find(a => a.name === space.app_type);
  const instance = model.catalog.instanceTypes.find(
    i => i.name === space.instance_type
  );
  const isOwner = space.role === 'owner' || model.isAdmin;
  const busy = ['starting', 'stopping', 'updating', 'deleting'].includes(
    space.status
  );
  return (
    <tr data-space={space.name} className="jp-SpacesRow">
      <td>
        <div className="jp-SpacesRow-name">
          {canOpen(space) ? (
            <a
              href={labUrl(space.url!)}
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
      <td>
        <span className={`jp-SpacesBadge jp-SpacesBadge-${space.sharing}`}>
          {sharingLabel(space.sharing, trans)}
        </span>
      </td>
      <td>{app?.display_name ?? space.app_type}</td>
      <td title={instance?.display_name}>{space.instance_type}</td>
      <td>
        <StatusCell
          space={space}
          progress={model.spaces.progress(space.name)}
          trans={trans}
        />
      </td>
      <td>{space.owner}</td>
      <td className="jp-SpacesTime" title={space.last_activity ?? undefined}>
        {relativeTime(space.last_activity, trans, now)}
      </td>
      <td className="jp-SpacesActions">
        {space.status === 'running' ? (
          <>
            <button
              className="jp-SpacesSmallButton jp-mod-accept"
              disabled={!canOpen(space)}
              onClick={e => props.onOpen(space, e)}
            >
              {trans.__('Open')}
            </button>
            <button
              className="jp-SpacesSmallButton"
              disabled={!canRun(space)}
              title={
                canRun(space) ? undefined : trans.__('Viewers cannot stop')
              }
              onClick={() => props.onStop(space)}
            >
              {trans.__('Stop')}
            </button>
          </>
        ) : (
          <button
            className="jp-SpacesSmallButton"
            disabled={!canRun(space) || busy}
            title={canRun(space) ? undefined : trans.__('Viewers cannot start')}
            onClick={() => props.onStart(space)}
          >
            {trans.__('Start')}
          </button>
        )}
        <button
          className="jp-SpacesSmallButton"
          onClick={() => props.onSettings(space)}
          disabled={!isOwner}
        >
          {trans.__('Settings')}
        </button>
        {space.sharing === 'shared' && (
          <button
            className="jp-SpacesSmallButton"
            onClick={() => props.onMembers(space)}
          >
            {trans.__('Members')}
          </button>
        )}
        <button
          className="jp-SpacesSmallButton jp-mod-warn"
          onClick={() => props.onDelete(space)}
          disabled={!isOwner || busy}
        >
          {trans.__('Delete')}
        </button>
      </td>
    </tr>
  );
}

function AllSpaces(
  props: IHomeProps & {
    onStop: (space: ISpace) => void;
    onDelete: (space: ISpace) => void;
  }
): JSX.Element {
  const { model, trans } = props;
  const now = Date.now();
  return (
    <section
      className="jp-SpacesList jp-SpacesAll"
      aria-label={trans.__('All spaces')}
    >
      <div className="jp-SpacesToolbar">
        <input
          className="jp-mod-styled jp-SpacesSearch"
          type="search"
          placeholder={trans.__('Search all spaces')}
          aria-label={trans.__('Search all spaces')}
          value={model.filters.search}
          onChange={e => model.setFilters({ search: e.target.value })}
        />
        <span className="jp-SpacesMuted">
          {trans.__(
            'Metadata of every space in the domain. Private spaces of others cannot be opened.'
          )}
        </span>
      </div>
      <table className="jp-SpacesTable">
        <thead>
          <tr>
            <th>{trans.__('Name')}</th>
            <th>{trans.__('Owner')}</th>
            <th>{trans.__('Sharing')}</th>
            <th>{trans.__('Status')}</th>
            <th>{trans.__('Instance')}</th>
            <th>{trans.__('Volume')}</th>
            <th>{trans.__('Created')}</th>
            <th>{trans.__('Last activity')}</th>
            <th>
              <span className="jp-SpacesVisuallyHidden">
                {trans.__('Actions')}
              </span>
            </th>
          </tr>
        </thead>
        <tbody>
          {model.allSpaces.map(space => (
            <tr key={space.name} data-space={space.name}>
              <td>{space.name}</td>
              <td>{space.owner}</td>
              <td>{sharingLabel(space.sharing, trans)}</td>
              <td>
                <StatusCell
                  space={space}
                  progress={model.spaces.progress(space.name)}
                  trans={trans}
                />
              </td>
              <td>{space.instance_type}</td>
              <td>
                {trans.__(
                  '%1 of %2 GB',
                  formatBytes(space.volume_used_bytes),
                  space.volume_gb
                )}
              </td>
              <td className="jp-SpacesTime" title={space.created}>
                {relativeTime(space.created, trans, now)}
              </td>
              <td
                className="jp-SpacesTime"
                title={space.last_activity ?? undefined}
              >
                {relativeTime(space.last_activity, trans, now)}
              </td>
              <td className="jp-SpacesActions">
                <button
                  className="jp-SpacesSmallButton"
                  disabled={space.status !== 'running'}
                  onClick={() => props.onStop(space)}
                >
                  {trans.__('Stop')}
                </button>
                <button
                  className="jp-SpacesSmallButton jp-mod-warn"
                  onClick={() => props.onDelete(space)}
                >
                  {trans.__('Delete')}
                </button>
              </td>
            </tr>
          ))}
          {!model.allSpaces.length && (
            <tr>
              <td colSpan={9} className="jp-SpacesEmpty">
                {trans.__('No spaces.')}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

function Users(
  props: IHomeProps & {
    onAdd: () => void;
    onRemove: (user: IUser) => void;
  }
): JSX.Element {
  const { model, trans } = props;
  const now = Date.now();
  return (
    <section className="jp-SpacesList" aria-label={trans.__('Users')}>
      <div className="jp-SpacesToolbar">
        <div className="jp-SpacesHome-spacer" />
        <button
          className="jp-mod-styled jp-mod-accept jp-SpacesPrimary"
          onClick={props.onAdd}
        >
          <addIcon.react tag="span" />
          {trans.__('Add user')}
        </button>
      </div>
      <table className="jp-SpacesTable">
        <thead>
          <tr>
            <th>{trans.__('User')}</th>
            <th>{trans.__('Name')}</th>
            <th>{trans.__('Role')}</th>
            <th>{trans.__('Last activity')}</th>
            <th>
              <span className="jp-SpacesVisuallyHidden">
                {trans.__('Actions')}
              </span>
            </th>
          </tr>
        </thead>
        <tbody>
          {model.users.map(user => (
            <tr key={user.name} data-user={user.name}>
              <td>
                <Avatar user={user} /> {user.display_name}
              </td>
              <td>{user.name}</td>
              <td>{user.admin ? trans.__('Admin') : trans.__('User')}</td>
              <td
                className="jp-SpacesTime"
                title={user.last_activity ?? undefined}
              >
                {relativeTime(user.last_activity, trans, now)}
              </td>
              <td className="jp-SpacesActions">
                <button
                  className="jp-SpacesSmallButton jp-mod-warn"
                  disabled={user.name === model.me?.name}
                  onClick={() => props.onRemove(user)}
                >
                  {trans.__('Remove')}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function AddUserDialog(props: {
  trans: TranslationBundle;
  onAdd: (body: {
    name: string;
    display_name?: string;
    admin: boolean;
  }) => Promise<ICreatedUser>;
  onClose: () => void;
}): JSX.Element {
  const { trans } = props;
  const [name, setName] = React.useState('');
  const [displayName, setDisplayName] = React.useState('');
  const [admin, setAdmin] = React.useState(false);
  const [error, setError] = React.useState<Record<string, string>>({});
  const [created, setCreated] = React.useState<ICreatedUser | null>(null);
  const submit = async () => {
    if (created) {
      props.onClose();
      return;
    }
    try {
      setCreated(
        await props.onAdd({
          name: name.trim(),
          display_name: displayName.trim() || undefined,
          admin
        })
      );
    } catch (e) {
      const message = (e as Error).message;
      const field =
        e instanceof SpacesApiError &&
        (/^Invalid name/.test(message) || e.status === 409)
          ? 'name'
          : /^Invalid display_name/.test(message)
            ? 'display_name'
            : '';
      setError({ [field]: message });
    }
  };
  return (
    <Modal
      title={trans.__('Add user')}
      className="jp-SpacesAddUserDialog"
      onClose={props.onClose}
      onSubmit={submit}
      footer={
        created ? (
          <DialogButton kind="accept" submit label={trans.__('Done')} />
        ) : (
          <>
            <DialogButton
              kind="reject"
              label={trans.__('Cancel')}
              onClick={props.onClose}
            />
            <DialogButton kind="accept" submit label={trans.__('Add')} />
          </>
        )
      }
    >
      {created ? (
        <div className="jp-SpacesToken">
          <p>
            {trans.__(
              'User “%1” was added. Their API token is shown this once; copy it now:',
              created.name
            )}
          </p>
          <code className="jp-SpacesToken-value" data-token>
            {created.token}
          </code>
        </div>
      ) : (
        <>
          <Field label={trans.__('User name')} error={error.name}>
            <input
              className="jp-mod-styled"
              name="name"
              value={name}
              onChange={e => setName(e.target.value)}
              autoComplete="off"
            />
          </Field>
          <Field label={trans.__('Display name')} error={error.display_name}>
            <input
              className="jp-mod-styled"
              name="display_name"
              value={displayName}
              onChange={e => setDisplayName(e.target.value)}
            />
          </Field>
          <label className="jp-SpacesCheck">
            <input
              type="checkbox"
              checked={admin}
              onChange={e => setAdmin(e.target.checked)}
            />
            {trans.__('Administrator')}
          </label>
          {error[''] && (
            <div className="jp-SpacesForm-error" role="alert">
              {error['']}
            </div>
          )}
        </>
      )}
    </Modal>
  );
}

/** The home as a main-area widget. */
export class HomeWidget extends ReactWidget {
  constructor(
    readonly model: HomeModel,
    private _trans: TranslationBundle,
    private _openUrl: (url: string, newTab: boolean) => void
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
