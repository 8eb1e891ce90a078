/**
 * The admin's dialogs about a user: add (API token and login link), login link, password.
 */
import { Clipboard } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { ICreatedUser, ILoginLink, IUser } from './api';
import { linkLifetime } from './adminmodel';
import { HomeModel } from './homemodel';
import {
  CancelSubmit,
  DialogButton,
  FormError,
  InputField,
  Modal
} from './modal';
import { fieldErrors } from './util';

/** Copy to the clipboard (the async API, else JupyterLab's copy command). */
async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    Clipboard.copyToSystem(text);
  }
}

/** A secret or link to hand over: the value and a Copy button. */
function CopyField(props: {
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

/** A secret or link handed over once: what it is, then the value to copy. */
export function HandOver(props: {
  /** What it is and what to do with it. */
  children: React.ReactNode;
  value: string;
  /** The Copy button's accessible name. */
  label: string;
  trans: TranslationBundle;
  /** `data-*` attribute of the value (what tests find it by). */
  data: string;
}): JSX.Element {
  return (
    <div className="jp-SpacesToken">
      <p>{props.children}</p>
      <CopyField
        value={props.value}
        label={props.label}
        trans={props.trans}
        data={props.data}
      />
    </div>
  );
}

function LinkBlock(props: {
  link: ILoginLink;
  user: IUser;
  trans: TranslationBundle;
}): JSX.Element {
  const { link, user, trans } = props;
  return (
    <HandOver
      value={link.url}
      label={trans.__('Copy login link')}
      trans={trans}
      data="login-link"
    >
      {trans.__(
        'Hand this login link to %1: it signs them in to the spaces home in a browser.',
        user.display_name
      )}{' '}
      <span className="jp-SpacesLinkExpiry">
        {linkLifetime(link.expires, trans)}
      </span>
    </HandOver>
  );
}

export function AddUserDialog(props: {
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
          <HandOver
            value={created.token}
            label={trans.__('Copy API token')}
            trans={trans}
            data="token"
          >
            {trans.__(
              'For scripts and the R addin. Shown this once; copy it now:'
            )}
          </HandOver>
        </>
      ) : (
        <>
          <InputField
            label={trans.__('User name')}
            error={error.name}
            name="name"
            value={name}
            onChange={e => setName(e.target.value)}
            autoComplete="off"
          />
          <InputField
            label={trans.__('Display name')}
            error={error.display_name}
            name="display_name"
            value={displayName}
            onChange={e => setDisplayName(e.target.value)}
          />
          <InputField
            label={trans.__('Initial password (optional)')}
            error={error.password}
            help={trans.__(
              'At least 8 characters. Either way you get a one-time login link to hand over.'
            )}
            name="password"
            type="password"
            value={password}
            autoComplete="new-password"
            onChange={e => setPassword(e.target.value)}
          />
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

export function LoginLinkDialog(props: {
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

export function PasswordDialog(props: {
  user: IUser;
  /** The caller's own password (any user), not an admin's change of another's. */
  self?: boolean;
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
        props.self
          ? value === null
            ? trans.__(
                'You have no password now: you sign in with login links from an administrator.'
              )
            : trans.__(
                'Your password was set. Other browsers signed in as you were signed out.'
              )
          : value === null
            ? trans.__(
                '%1 has no password now and was signed out everywhere: they sign in with login links.',
                user.display_name
              )
            : trans.__(
                'The password of %1 was set, and they were signed out everywhere.',
                user.display_name
              )
      );
    } catch (e) {
      setError(fieldErrors(e, ['password']));
      setBusy(false);
    }
  };
  return (
    <Modal
      title={
        props.self
          ? trans.__('Your password')
          : trans.__('Password of %1', user.display_name)
      }
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
        {props.self
          ? trans.__(
              'Set a password to sign in on the sign-in page with your user name “%1”, or remove it: you then sign in with login links from an administrator.',
              user.name
            )
          : trans.__(
              'Set a new password for “%1” (their sessions stay signed in; sign them out everywhere to end those), or remove it: they then sign in with login links only.',
              user.name
            )}
      </p>
      <InputField
        label={trans.__('New password')}
        error={error.password}
        type="password"
        name="new-password"
        autoComplete="new-password"
        value={password}
        onChange={e => setPassword(e.target.value)}
      />
      <FormError error={error['']} />
    </Modal>
  );
}
