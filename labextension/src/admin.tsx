/**
 * The admin console of the spaces home: every space's metadata with stop,
 * resize and delete; users with add (API token and login link), admin
 * rights, login links, passwords, sign-out-everywhere and removal; and the
 * audit log with filters. The logic apart from the views is adminmodel.ts.
 */
import { Clipboard, Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { addIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { ICreatedUser, ILoginLink, ISpace, IUser } from './api';
import {
  AUDIT_ACTIONS,
  auditFilterError,
  AuditLog,
  demoteRefusal,
  describeDetail,
  linkLifetime,
  resizeChanges,
  resizeLockedReason
} from './adminmodel';
import { Avatar } from './avatars';
import { HomeModel } from './homemodel';
import { CancelSubmit, DialogButton, Field, FormError, Modal } from './modal';
import {
  ActionsHeader,
  IRowAction,
  ISpaceColumn,
  RowActions,
  SpaceTable,
  StatusCell,
  TimeCell
} from './spacetable';
import { fieldErrors, formatBytes, sharingLabel } from './util';

export interface IAdminProps {
  model: HomeModel;
  trans: TranslationBundle;
  /** Run an action; its error goes to the home's banner. */
  run: (fn: () => Promise<unknown>) => Promise<void>;
}

/** Ask, then say whether to go on. */
async function confirm(
  title: string,
  body: string,
  accept: string,
  trans: TranslationBundle,
  warn = true
): Promise<boolean> {
  const result = await showDialog({
    title,
    body,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      warn
        ? Dialog.warnButton({ label: accept })
        : Dialog.okButton({ label: accept })
    ]
  });
  return result.button.accept;
}

/** Copy to the clipboard (the async API, else JupyterLab's copy command). */
async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    Clipboard.copyToSystem(text);
  }
}

/** A secret or link to hand over: the value and a Copy button. */
export function CopyField(props: {
  value: string;
  /** The button's accessible name ("Copy login link"). */
  label: string;
  trans: TranslationBundle;
  /** `data-*` attribute of the value (what tests find it by). */
  data: string;
}): JSX.Element {
  const [copied, setCopied] = React.useState(false);
  return (
    <div className="jp-SpacesCopy">
      <code
        className="jp-SpacesToken-value"
        {...{ [`data-${props.data}`]: '' }}
      >
        {props.value}
      </code>
      <button
        type="button"
        className="jp-SpacesSmallButton jp-SpacesCopy-button"
        aria-label={props.label}
        onClick={async () => {
          await copyText(props.value);
          setCopied(true);
        }}
      >
        {copied ? props.trans.__('Copied') : props.trans.__('Copy')}
      </button>
    </div>
  );
}

/* ------------------------------------------------------------ all spaces */

/** Every space of the domain: owner, status, size and activity; stop, resize, delete. */
export function AllSpacesView(
  props: IAdminProps & {
    onStop: (space: ISpace) => void;
    onDelete: (space: ISpace) => void;
    search: React.ReactNode;
  }
): JSX.Element {
  const { model, trans } = props;
  const [resizing, setResizing] = React.useState<string | null>(null);
  const now = Date.now();
  const columns: ISpaceColumn[] = [
    {
      header: trans.__('Name'),
      cell: space => (
        <td>
          <div className="jp-SpacesRow-name">{space.display_name}</div>
          <div className="jp-SpacesMuted">{space.name}</div>
        </td>
      )
    },
    { header: trans.__('Owner'), cell: space => <td>{space.owner}</td> },
    {
      header: trans.__('Sharing'),
      cell: space => <td>{sharingLabel(space.sharing, trans)}</td>
    },
    {
      header: trans.__('Status'),
      cell: space => (
        <td>
          <StatusCell
            space={space}
            progress={model.spaces.progress(space.name)}
            trans={trans}
          />
        </td>
      )
    },
    {
      header: trans.__('Instance'),
      cell: space => <td>{space.instance_type}</td>
    },
    {
      header: trans.__('Volume'),
      cell: space => (
        <td className="jp-SpacesVolume">
          {trans.__(
            '%1 of %2 GiB',
            formatBytes(space.volume_used_bytes),
            space.volume_gb
          )}
        </td>
      )
    },
    {
      header: trans.__('Last activity'),
      cell: space => (
        <TimeCell time={space.last_activity} now={now} trans={trans} />
      )
    }
  ];
  const actions = (space: ISpace): IRowAction[] => {
    const locked = resizeLockedReason(space, trans);
    return [
      {
        label: trans.__('Stop'),
        disabled: space.status !== 'running' && space.status !== 'starting',
        onClick: () => props.onStop(space)
      },
      {
        label: trans.__('Resize'),
        disabled: locked !== null,
        title: locked ?? trans.__('Change the instance type or volume size'),
        onClick: () => setResizing(space.name)
      },
      {
        label: trans.__('Delete'),
        kind: 'warn',
        disabled: locked !== null,
        title: locked
          ? trans.__('Stop the space before deleting it.')
          : undefined,
        onClick: () => props.onDelete(space)
      }
    ];
  };
  const target = resizing ? model.spaces.get(resizing) : undefined;
  return (
    <section
      className="jp-SpacesList jp-SpacesAll"
      aria-label={trans.__('All spaces')}
    >
      <div className="jp-SpacesToolbar">
        {props.search}
        <span className="jp-SpacesMuted">
          {trans.__(
            'Metadata of every space in the domain. Private spaces of others cannot be opened.'
          )}
        </span>
      </div>
      <SpaceTable
        spaces={model.allSpaces}
        columns={columns}
        actions={actions}
        trans={trans}
        empty={trans.__('No spaces.')}
      />
      {target && (
        <ResizeDialog
          space={target}
          model={model}
          trans={trans}
          onClose={() => setResizing(null)}
        />
      )}
    </section>
  );
}

function ResizeDialog(props: {
  space: ISpace;
  model: HomeModel;
  trans: TranslationBundle;
  onClose: () => void;
}): JSX.Element {
  const { space, model, trans } = props;
  const types = model.catalog.instanceTypes;
  const [instanceType, setInstanceType] = React.useState(space.instance_type);
  const [volumeGb, setVolumeGb] = React.useState(String(space.volume_gb));
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  const [busy, setBusy] = React.useState(false);
  const locked = resizeLockedReason(space, trans);
  const submit = async () => {
    const { body, errors } = resizeChanges(
      space,
      { instanceType, volumeGb },
      types,
      trans
    );
    setErrors(errors);
    if (Object.keys(errors).length) {
      return;
    }
    if (!Object.keys(body).length) {
      props.onClose();
      return;
    }
    setBusy(true);
    try {
      await model.spaces.update(space.name, body);
      props.onClose();
    } catch (error) {
      setErrors(fieldErrors(error, ['instance_type', 'volume_gb']));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      title={trans.__('Resize %1', space.display_name)}
      className="jp-SpacesResizeDialog"
      onClose={props.onClose}
      onSubmit={submit}
      footer={
        <CancelSubmit
          cancel={trans.__('Cancel')}
          submit={trans.__('Resize')}
          busy={busy || locked !== null}
          onCancel={props.onClose}
        />
      }
    >
      <p className="jp-SpacesMuted">
        {trans.__(
          '%1 (%2), owned by %3.',
          space.display_name,
          space.name,
          space.owner
        )}
      </p>
      {locked && <div className="jp-SpacesForm-note">{locked}</div>}
      <Field label={trans.__('Instance type')} error={errors.instance_type}>
        <select
          className="jp-mod-styled"
          value={instanceType}
          disabled={locked !== null}
          onChange={e => setInstanceType(e.target.value)}
        >
          {types.map(t => (
            <option
              key={t.name}
              value={t.name}
              disabled={!t.available && t.name !== space.instance_type}
            >
              {t.display_name}
            </option>
          ))}
        </select>
      </Field>
      <Field
        label={trans.__('Volume size (GiB)')}
        error={errors.volume_gb}
        help={trans.__(
          'Now %1 used. A smaller size works only if the files fit.',
          formatBytes(space.volume_used_bytes)
        )}
      >
        <input
          className="jp-mod-styled"
          type="number"
          min={1}
          step={1}
          value={volumeGb}
          disabled={locked !== null}
          onChange={e => setVolumeGb(e.target.value)}
        />
      </Field>
      <FormError error={errors['']} />
    </Modal>
  );
}

/* ----------------------------------------------------------------- users */

type UserModal =
  | { kind: 'add' }
  | { kind: 'link'; user: IUser }
  | { kind: 'password'; user: IUser }
  | null;

/** The domain's users and what an admin may do with each. */
export function UsersView(props: IAdminProps): JSX.Element {
  const { model, trans, run } = props;
  const [modal, setModal] = React.useState<UserModal>(null);
  const [notice, setNotice] = React.useState('');
  const now = Date.now();
  const me = model.me?.name;
  const act = async (fn: () => Promise<unknown>, done: string) => {
    setNotice('');
    let ok = true;
    await run(async () => {
      try {
        await fn();
      } catch (error) {
        ok = false;
        throw error;
      }
    });
    if (ok) {
      setNotice(done);
    }
  };

  const toggleAdmin = async (user: IUser) => {
    if (user.admin) {
      const refusal = demoteRefusal(user, model.users, trans);
      if (refusal) {
        await showDialog({
          title: trans.__('%1 stays an administrator', user.display_name),
          body: refusal,
          buttons: [Dialog.okButton({ label: trans.__('OK') })]
        });
        return;
      }
      const self = user.name === me;
      const ok = await confirm(
        trans.__('Remove admin rights of %1?', user.display_name),
        self
          ? trans.__(
              'You will no longer manage users or see every space; another administrator can give the rights back.'
            )
          : trans.__(
              '%1 will no longer manage users or see every space.',
              user.display_name
            ),
        trans.__('Remove admin rights'),
        trans
      );
      if (ok) {
        await act(
          () => model.updateUser(user.name, { admin: false }),
          trans.__('%1 is no longer an administrator.', user.display_name)
        );
      }
      return;
    }
    const ok = await confirm(
      trans.__('Make %1 an administrator?', user.display_name),
      trans.__(
        '%1 will manage users, see every space’s metadata, stop, resize and delete any space, and read the audit log.',
        user.display_name
      ),
      trans.__('Make admin'),
      trans,
      false
    );
    if (ok) {
      await act(
        () => model.updateUser(user.name, { admin: true }),
        trans.__('%1 is now an administrator.', user.display_name)
      );
    }
  };

  const signOut = async (user: IUser) => {
    const ok = await confirm(
      trans.__('Sign %1 out everywhere?', user.display_name),
      trans.__(
        'Every browser signed in as “%1” is signed out, in the home and in every space; they sign in again with a password or a new login link. API tokens keep working.',
        user.name
      ),
      trans.__('Sign out everywhere'),
      trans
    );
    if (ok) {
      await act(
        () => model.client.signOutEverywhere(user.name),
        trans.__('%1 was signed out everywhere.', user.display_name)
      );
    }
  };

  const remove = async (user: IUser) => {
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
      await act(
        () => model.removeUser(user.name),
        trans.__('%1 was removed.', user.display_name)
      );
    }
  };

  return (
    <section
      className="jp-SpacesList jp-SpacesUsers"
      aria-label={trans.__('Users')}
    >
      <div className="jp-SpacesToolbar">
        <span className="jp-SpacesNotice" role="status">
          {notice}
        </span>
        <div className="jp-SpacesHome-spacer" />
        <button
          className="jp-mod-styled jp-mod-accept jp-SpacesPrimary"
          onClick={() => setModal({ kind: 'add' })}
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
            <ActionsHeader trans={trans} />
          </tr>
        </thead>
        <tbody>
          {model.users.map(user => (
            <tr key={user.name} data-user={user.name}>
              <td>
                <Avatar user={user} /> {user.display_name}
              </td>
              <td>{user.name}</td>
              <td>
                {user.admin ? (
                  <span className="jp-SpacesBadge">{trans.__('Admin')}</span>
                ) : (
                  trans.__('User')
                )}
              </td>
              <TimeCell time={user.last_activity} now={now} trans={trans} />
              <RowActions
                actions={[
                  {
                    label: user.admin
                      ? trans.__('Remove admin')
                      : trans.__('Make admin'),
                    onClick: () => toggleAdmin(user)
                  },
                  {
                    label: trans.__('Login link'),
                    title: trans.__('Make a one-time browser login link'),
                    onClick: () => setModal({ kind: 'link', user })
                  },
                  {
                    label: trans.__('Password'),
                    title: trans.__('Set or remove the password'),
                    onClick: () => setModal({ kind: 'password', user })
                  },
                  {
                    label: trans.__('Sign out everywhere'),
                    onClick: () => signOut(user)
                  },
                  {
                    label: trans.__('Remove'),
                    kind: 'warn',
                    disabled: user.name === me,
                    title:
                      user.name === me
                        ? trans.__('You cannot remove yourself.')
                        : undefined,
                    onClick: () => remove(user)
                  }
                ]}
              />
            </tr>
          ))}
        </tbody>
      </table>
      {modal?.kind === 'add' && (
        <AddUserDialog
          model={model}
          trans={trans}
          onClose={() => setModal(null)}
        />
      )}
      {modal?.kind === 'link' && (
        <LoginLinkDialog
          user={modal.user}
          model={model}
          trans={trans}
          onClose={() => setModal(null)}
        />
      )}
      {modal?.kind === 'password' && (
        <PasswordDialog
          user={modal.user}
          model={model}
          trans={trans}
          onDone={message => {
            setNotice(message);
            setModal(null);
          }}
          onClose={() => setModal(null)}
        />
      )}
    </section>
  );
}

/** A login link, how long it lasts, and who to hand it to. */
function LinkBlock(props: {
  link: ILoginLink;
  user: IUser;
  trans: TranslationBundle;
}): JSX.Element {
  const { link, user, trans } = props;
  return (
    <div className="jp-SpacesToken">
      <p>
        {trans.__(
          'Hand this login link to %1: it signs them in to the spaces home in a browser.',
          user.display_name
        )}{' '}
        {linkLifetime(link.expires, trans)}
      </p>
      <CopyField
        value={link.url}
        label={trans.__('Copy login link')}
        trans={trans}
        data="login-link"
      />
    </div>
  );
}

function AddUserDialog(props: {
  model: HomeModel;
  trans: TranslationBundle;
  onClose: () => void;
}): JSX.Element {
  const { model, trans } = props;
  const [name, setName] = React.useState('');
  const [displayName, setDisplayName] = React.useState('');
  const [password, setPassword] = React.useState('');
  const [admin, setAdmin] = React.useState(false);
  const [error, setError] = React.useState<Record<string, string>>({});
  const [busy, setBusy] = React.useState(false);
  const [created, setCreated] = React.useState<ICreatedUser | null>(null);
  const [link, setLink] = React.useState<ILoginLink | null>(null);
  const [linkError, setLinkError] = React.useState('');
  const submit = async () => {
    if (created) {
      props.onClose();
      return;
    }
    if (password && password.length < 8) {
      setError({ password: trans.__('A password has at least 8 characters.') });
      return;
    }
    setBusy(true);
    try {
      const user = await model.addUser({
        name: name.trim(),
        display_name: displayName.trim() || undefined,
        admin,
        ...(password ? { password } : {})
      });
      setCreated(user);
      try {
        setLink(await model.client.createLoginLink(user.name));
      } catch (e) {
        setLinkError(
          trans.__(
            'No login link could be made (%1); make one from the user’s row.',
            (e as Error).message
          )
        );
      }
    } catch (e) {
      setError(fieldErrors(e, ['name', 'display_name', 'password']));
    } finally {
      setBusy(false);
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
          <CancelSubmit
            cancel={trans.__('Cancel')}
            submit={trans.__('Add')}
            busy={busy}
            onCancel={props.onClose}
          />
        )
      }
    >
      {created ? (
        <>
          <p>{trans.__('User “%1” was added.', created.name)}</p>
          <h3 className="jp-SpacesModal-heading">{trans.__('Login link')}</h3>
          {link && <LinkBlock link={link} user={created} trans={trans} />}
          <FormError error={linkError} />
          <h3 className="jp-SpacesModal-heading">{trans.__('API token')}</h3>
          <div className="jp-SpacesToken">
            <p>
              {trans.__(
                'For scripts and the R addin. Shown this once; copy it now:'
              )}
            </p>
            <CopyField
              value={created.token}
              label={trans.__('Copy API token')}
              trans={trans}
              data="token"
            />
          </div>
        </>
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
          <Field
            label={trans.__('Initial password (optional)')}
            error={error.password}
            help={trans.__(
              'At least 8 characters. Either way you get a one-time login link to hand over.'
            )}
          >
            <input
              className="jp-mod-styled"
              name="password"
              type="password"
              value={password}
              autoComplete="new-password"
              onChange={e => setPassword(e.target.value)}
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
          <FormError error={error['']} />
        </>
      )}
    </Modal>
  );
}

function LoginLinkDialog(props: {
  user: IUser;
  model: HomeModel;
  trans: TranslationBundle;
  onClose: () => void;
}): JSX.Element {
  const { user, model, trans } = props;
  const [link, setLink] = React.useState<ILoginLink | null>(null);
  const [error, setError] = React.useState('');
  React.useEffect(() => {
    let live = true;
    model.client.createLoginLink(user.name).then(
      made => live && setLink(made),
      e => live && setError((e as Error).message)
    );
    return () => {
      live = false;
    };
  }, [user.name]);
  return (
    <Modal
      title={trans.__('Login link for %1', user.display_name)}
      className="jp-SpacesLinkDialog"
      onClose={props.onClose}
      onSubmit={props.onClose}
      footer={<DialogButton kind="accept" submit label={trans.__('Done')} />}
    >
      {link ? (
        <LinkBlock link={link} user={user} trans={trans} />
      ) : (
        !error && <p className="jp-SpacesMuted">{trans.__('Making a link…')}</p>
      )}
      <FormError error={error} />
    </Modal>
  );
}

function PasswordDialog(props: {
  user: IUser;
  model: HomeModel;
  trans: TranslationBundle;
  onDone: (message: string) => void;
  onClose: () => void;
}): JSX.Element {
  const { user, model, trans } = props;
  const [password, setPassword] = React.useState('');
  const [error, setError] = React.useState<Record<string, string>>({});
  const [busy, setBusy] = React.useState(false);
  const save = async (value: string | null) => {
    if (value !== null && value.length < 8) {
      setError({ password: trans.__('A password has at least 8 characters.') });
      return;
    }
    setBusy(true);
    try {
      await model.updateUser(user.name, { password: value });
      props.onDone(
        value === null
          ? trans.__(
              '%1 has no password now: they sign in with login links.',
              user.display_name
            )
          : trans.__('The password of %1 was set.', user.display_name)
      );
    } catch (e) {
      setError(fieldErrors(e, ['password']));
      setBusy(false);
    }
  };
  return (
    <Modal
      title={trans.__('Password of %1', user.display_name)}
      className="jp-SpacesPasswordDialog"
      onClose={props.onClose}
      onSubmit={() => save(password)}
      footer={
        <>
          <DialogButton
            kind="warn"
            label={trans.__('Remove password')}
            disabled={busy}
            onClick={() => save(null)}
          />
          <CancelSubmit
            cancel={trans.__('Cancel')}
            submit={trans.__('Set password')}
            busy={busy}
            onCancel={props.onClose}
          />
        </>
      }
    >
      <p>
        {trans.__(
          'Set a new password for “%1” (their sessions stay signed in; sign them out everywhere to end those), or remove it: they then sign in with login links only.',
          user.name
        )}
      </p>
      <Field label={trans.__('New password')} error={error.password}>
        <input
          className="jp-mod-styled"
          type="password"
          name="new-password"
          autoComplete="new-password"
          value={password}
          onChange={e => setPassword(e.target.value)}
        />
      </Field>
      <FormError error={error['']} />
    </Modal>
  );
}

/* ------------------------------------------------------------- audit log */

/** The audit log, newest first, with filters. */
export function AuditView(props: IAdminProps): JSX.Element {
  const { model, trans } = props;
  const log = React.useMemo(() => new AuditLog(model.client), [model.client]);
  const [, setTick] = React.useState(0);
  React.useEffect(() => {
    const update = () => setTick(t => t + 1);
    log.changed.connect(update);
    void log.load();
    return () => {
      log.changed.disconnect(update);
    };
  }, [log]);
  const f = log.filters;
  const invalid = auditFilterError(f, trans);
  const apply = () => {
    if (!invalid) {
      void log.load();
    }
  };
  const shown = log.error?.message ?? invalid;
  return (
    <section
      className="jp-SpacesList jp-SpacesAudit"
      aria-label={trans.__('Audit log')}
    >
      <form
        className="jp-SpacesToolbar jp-SpacesAudit-filters"
        onSubmit={e => {
          e.preventDefault();
          apply();
        }}
      >
        <input
          className="jp-mod-styled"
          aria-label={trans.__('Actor')}
          placeholder={trans.__('Actor')}
          list="jp-SpacesAudit-users"
          value={f.actor}
          onChange={e => log.setFilters({ actor: e.target.value })}
        />
        <datalist id="jp-SpacesAudit-users">
          {model.users.map(u => (
            <option key={u.name} value={u.name} />
          ))}
        </datalist>
        <select
          className="jp-mod-styled"
          aria-label={trans.__('Action')}
          value={f.action}
          onChange={e => log.setFilters({ action: e.target.value })}
        >
          <option value="">{trans.__('Any action')}</option>
          {AUDIT_ACTIONS.map(a => (
            <option key={a} value={a}>
              {a.includes('.') ? a : trans.__('%1.* (all)', a)}
            </option>
          ))}
        </select>
        <input
          className="jp-mod-styled"
          aria-label={trans.__('Target')}
          placeholder={trans.__('Target (user or space)')}
          value={f.target}
          onChange={e => log.setFilters({ target: e.target.value })}
        />
        <label className="jp-SpacesAudit-time">
          {trans.__('From')}
          <input
            className="jp-mod-styled"
            type="datetime-local"
            value={f.since}
            onChange={e => log.setFilters({ since: e.target.value })}
          />
        </label>
        <label className="jp-SpacesAudit-time">
          {trans.__('To')}
          <input
            className="jp-mod-styled"
            type="datetime-local"
            value={f.until}
            onChange={e => log.setFilters({ until: e.target.value })}
          />
        </label>
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept jp-SpacesSmallButton"
          disabled={!!invalid}
        >
          {trans.__('Apply')}
        </button>
        <button
          type="button"
          className="jp-SpacesSmallButton"
          onClick={() => void log.reset()}
        >
          {trans.__('Clear')}
        </button>
      </form>
      {shown && (
        <div className="jp-SpacesForm-error" role="alert">
          {shown}
        </div>
      )}
      <table className="jp-SpacesTable">
        <thead>
          <tr>
            <th>{trans.__('Time')}</th>
            <th>{trans.__('Actor')}</th>
            <th>{trans.__('Action')}</th>
            <th>{trans.__('Target')}</th>
            <th>{trans.__('Outcome')}</th>
            <th>{trans.__('Detail')}</th>
          </tr>
        </thead>
        <tbody>
          {log.events.map(event => (
            <tr key={event.id} data-audit={event.id}>
              <td className="jp-SpacesTime" title={event.time}>
                {new Date(event.time).toLocaleString()}
              </td>
              <td>{event.actor}</td>
              <td>
                <code>{event.action}</code>
              </td>
              <td>
                <span className="jp-SpacesMuted">{event.target_type}</span>{' '}
                {event.target}
              </td>
              <td>
                <span
                  className={`jp-SpacesOutcome${event.outcome === 'ok' ? '' : ' jp-mod-refused'}`}
                >
                  {event.outcome}
                </span>
              </td>
              <td className="jp-SpacesAudit-detail">
                {describeDetail(event.detail)}
              </td>
            </tr>
          ))}
          {!log.events.length && (
            <tr>
              <td colSpan={6} className="jp-SpacesEmpty">
                {log.loading
                  ? trans.__('Loading…')
                  : trans.__('No event matches the filters.')}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {log.hasMore && (
        <div className="jp-SpacesAudit-more">
          <button
            className="jp-SpacesSmallButton"
            disabled={log.loading}
            onClick={() => void log.more()}
          >
            {trans.__('Load more')}
          </button>
        </div>
      )}
    </section>
  );
}
