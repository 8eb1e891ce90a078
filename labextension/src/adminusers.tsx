/**
 * Users (admin): add, admin rights, login links, passwords, sign-out-everywhere, removal.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { addIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import type { IAdminProps } from './admin';
import { IUser } from './api';
import { demoteRefusal } from './adminmodel';
import { Avatar } from './avatars';
import { ActionsHeader, RowActions, TimeCell } from './spacetable';
import { AddUserDialog, LoginLinkDialog, PasswordDialog } from './userdialogs';

/** A question an admin answers before an action; ``warn`` for what is hard to undo. */
interface IQuestion {
  title: string;
  body: string;
  accept: string;
  warn?: boolean;
}

/** Ask, then say whether to go on. */
async function confirm(
  question: IQuestion,
  trans: TranslationBundle
): Promise<boolean> {
  const result = await showDialog({
    title: question.title,
    body: question.body,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      question.warn === false
        ? Dialog.okButton({ label: question.accept })
        : Dialog.warnButton({ label: question.accept })
    ]
  });
  return result.button.accept;
}

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
  /** Ask; when the admin agrees, act and say what was done. */
  const askThenAct = async (
    question: IQuestion,
    fn: () => Promise<unknown>,
    done: string
  ) => {
    if (await confirm(question, trans)) {
      await act(fn, done);
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
      await askThenAct(
        {
          title: trans.__('Remove admin rights of %1?', user.display_name),
          body:
            user.name === me
              ? trans.__(
                  'You will no longer manage users or see every space; another administrator can give the rights back.'
                )
              : trans.__(
                  '%1 will no longer manage users or see every space.',
                  user.display_name
                ),
          accept: trans.__('Remove admin rights')
        },
        () => model.updateUser(user.name, { admin: false }),
        trans.__('%1 is no longer an administrator.', user.display_name)
      );
      return;
    }
    await askThenAct(
      {
        title: trans.__('Make %1 an administrator?', user.display_name),
        body: trans.__(
          '%1 will manage users, see every space’s metadata, stop, resize and delete any space, and read the audit log.',
          user.display_name
        ),
        accept: trans.__('Make admin'),
        warn: false
      },
      () => model.updateUser(user.name, { admin: true }),
      trans.__('%1 is now an administrator.', user.display_name)
    );
  };

  const signOut = (user: IUser) =>
    askThenAct(
      {
        title: trans.__('Sign %1 out everywhere?', user.display_name),
        body: trans.__(
          'Every browser signed in as “%1” is signed out, in the home and in every space; they sign in again with a password or a new login link. API tokens keep working.',
          user.name
        ),
        accept: trans.__('Sign out everywhere')
      },
      () => model.client.signOutEverywhere(user.name),
      trans.__('%1 was signed out everywhere.', user.display_name)
    );

  const remove = (user: IUser) =>
    askThenAct(
      {
        title: trans.__('Remove %1?', user.display_name),
        body: trans.__(
          'The user “%1” can no longer log in and their API tokens stop working.',
          user.name
        ),
        accept: trans.__('Remove')
      },
      () => model.removeUser(user.name),
      trans.__('%1 was removed.', user.display_name)
    );

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
