/**
 * Members and roles of a shared space: everyone who sees the space reads
 * the list; the owner and admins add, change and remove members.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IMember, ISpace, IUser, Role, SpacesClient } from './api';
import { Avatar } from './avatars';
import { DialogButton, Field, Modal } from './modal';
import { roleLabel } from './util';

export interface IMembersDialogProps {
  space: ISpace;
  client: SpacesClient;
  /** Whether the caller may change members (owner or admin). */
  canManage: boolean;
  trans: TranslationBundle;
  onClose: () => void;
}

export function MembersDialog(props: IMembersDialogProps): JSX.Element {
  const { space, client, trans, canManage } = props;
  const [members, setMembers] = React.useState<IMember[] | null>(null);
  const [othersRole, setOthersRole] = React.useState<Role | null>(null);
  const [users, setUsers] = React.useState<IUser[]>([]);
  const [error, setError] = React.useState('');
  const [newUser, setNewUser] = React.useState('');
  const [newRole, setNewRole] = React.useState<'editor' | 'viewer'>('editor');

  const load = React.useCallback(async () => {
    try {
      const answer = await client.listMembers(space.name);
      setMembers(answer.items);
      setOthersRole(answer.default_role ?? null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [client, space.name]);

  React.useEffect(() => {
    void load();
    if (canManage) {
      client
        .listUsers({ limit: 500 })
        .then(page => setUsers(page.items))
        .catch(e => setError((e as Error).message));
    }
  }, [load, canManage, client]);

  const act = async (fn: () => Promise<unknown>) => {
    setError('');
    try {
      await fn();
      await load();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const memberNames = new Set((members ?? []).map(m => m.user.name));
  const candidates = users.filter(u => !memberNames.has(u.name));

  return (
    <Modal
      title={trans.__('Members of %1', space.display_name)}
      className="jp-SpacesMembersDialog"
      onClose={props.onClose}
      onSubmit={() =>
        newUser && act(() => client.setMember(space.name, newUser, newRole))
      }
      footer={
        <DialogButton
          kind="accept"
          label={trans.__('Close')}
          onClick={props.onClose}
        />
      }
    >
      <p className="jp-SpacesField-help jp-SpacesMembers-roles">
        {rolesText(othersRole, trans)}
      </p>
      {members === null ? (
        <div>{trans.__('Loading…')}</div>
      ) : (
        <ul className="jp-SpacesMembers">
          {members.map(m => (
            <li key={m.user.name} className="jp-SpacesMembers-item">
              <Avatar user={m.user} />
              <span className="jp-SpacesMembers-name">
                {m.user.display_name}{' '}
                <span className="jp-SpacesMuted">@{m.user.name}</span>
              </span>
              {m.role === 'owner' || !canManage ? (
                <span className="jp-SpacesMembers-role">
                  {roleLabel(m.role, trans)}
                </span>
              ) : (
                <>
                  <select
                    className="jp-mod-styled"
                    aria-label={trans.__('Role of %1', m.user.display_name)}
                    value={m.role}
                    onChange={e =>
                      act(() =>
                        client.setMember(
                          space.name,
                          m.user.name,
                          e.target.value as 'editor' | 'viewer'
                        )
                      )
                    }
                  >
                    <option value="editor">{trans.__('Editor')}</option>
                    <option value="viewer">{trans.__('Viewer')}</option>
                  </select>
                  <button
                    type="button"
                    className="jp-SpacesSmallButton jp-mod-reject"
                    onClick={() =>
                      act(() => client.removeMember(space.name, m.user.name))
                    }
                  >
                    {trans.__('Remove')}
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      {canManage && (
        <div className="jp-SpacesMembers-add">
          <Field label={trans.__('Add member')}>
            <select
              className="jp-mod-styled"
              value={newUser}
              onChange={e => setNewUser(e.target.value)}
            >
              <option value="">{trans.__('Choose a user…')}</option>
              {candidates.map(u => (
                <option key={u.name} value={u.name}>
                  {u.display_name} (@{u.name})
                </option>
              ))}
            </select>
          </Field>
          <Field label={trans.__('Role')}>
            <select
              className="jp-mod-styled"
              value={newRole}
              onChange={e => setNewRole(e.target.value as 'editor' | 'viewer')}
            >
              <option value="editor">{trans.__('Editor')}</option>
              <option value="viewer">{trans.__('Viewer')}</option>
            </select>
          </Field>
          <button
            type="submit"
            className="jp-SpacesSmallButton jp-mod-accept"
            disabled={!newUser}
          >
            {trans.__('Add')}
          </button>
        </div>
      )}
      {error && (
        <div className="jp-SpacesForm-error" role="alert">
          {error}
        </div>
      )}
    </Modal>
  );
}

/**
 * What each role may do, and what everyone else in the domain may do in this
 * space: the domain's default role, as the server reports it.
 */
export function rolesText(
  othersRole: Role | null,
  trans: TranslationBundle
): string {
  const roles = trans.__(
    'Editors run code and edit files; viewers open the space read-only.'
  );
  switch (othersRole) {
    case 'editor':
      return trans.__(
        '%1 Everyone else in the domain who is not listed here is an editor of this shared space: they may open it, run code and edit files.',
        roles
      );
    case 'viewer':
      return trans.__(
        '%1 Everyone else in the domain who is not listed here may open this shared space read-only, as a viewer.',
        roles
      );
    default:
      return roles;
  }
}
