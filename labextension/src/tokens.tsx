/**
 * A user's own API tokens (the name's menu in the home): what scripts, the R
 * addin and a notebook logging to an MLflow space send as
 * `Authorization: token …`. Made here, a token is shown once; listed after
 * that by its note and dates only; revoked at once (open connections made
 * with it close).
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IToken, IUser } from './api';
import { HomeModel } from './homemodel';
import { DialogButton, FormError, InputField, Modal } from './modal';
import { HandOver } from './userdialogs';
import { fieldErrors, relativeTime } from './util';

export function TokensDialog(props: {
  user: IUser;
  model: HomeModel;
  trans: TranslationBundle;
  onClose: () => void;
}): JSX.Element {
  const { user, model, trans } = props;
  const client = model.client;
  const [tokens, setTokens] = React.useState<IToken[] | null>(null);
  const [note, setNote] = React.useState('');
  const [days, setDays] = React.useState('');
  const [made, setMade] = React.useState<IToken | null>(null);
  const [error, setError] = React.useState<Record<string, string>>({});
  const [busy, setBusy] = React.useState(false);

  const reload = async () => {
    try {
      setTokens((await client.listTokens(user.name)).items);
    } catch (e) {
      setError({ '': (e as Error).message });
    }
  };
  React.useEffect(() => {
    void reload();
  }, [user.name]);

  const create = async () => {
    const expires = days.trim() ? Number(days) : undefined;
    if (expires !== undefined && !(Number.isInteger(expires) && expires > 0)) {
      setError({
        expires_in_days: trans.__('A whole number of days, 1 or more.')
      });
      return;
    }
    setBusy(true);
    setError({});
    try {
      setMade(
        await client.createToken(user.name, {
          ...(note.trim() ? { note: note.trim() } : {}),
          ...(expires ? { expires_in_days: expires } : {})
        })
      );
      setNote('');
      setDays('');
      await reload();
    } catch (e) {
      setError(fieldErrors(e, ['note', 'expires_in_days']));
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (token: IToken) => {
    setError({});
    try {
      await client.deleteToken(user.name, token.id);
      if (made?.id === token.id) {
        setMade(null);
      }
      await reload();
    } catch (e) {
      setError({ '': (e as Error).message });
    }
  };

  return (
    <Modal
      title={trans.__('Your API tokens')}
      className="jp-SpacesTokensDialog"
      onClose={props.onClose}
      onSubmit={create}
      footer={
        <>
          <DialogButton
            kind="reject"
            label={trans.__('Close')}
            onClick={props.onClose}
          />
          <DialogButton
            kind="accept"
            submit
            label={trans.__('New token')}
            disabled={busy}
          />
        </>
      }
    >
      <p className="jp-SpacesMuted">
        {trans.__(
          'A token acts as you from scripts, the R addin or a notebook: send it as “Authorization: token …” to this domain’s address. Anyone holding it can do what you can; revoke it when it is no longer needed.'
        )}
      </p>
      {made?.token && (
        <HandOver
          value={made.token}
          label={trans.__('Copy token')}
          trans={trans}
          data="new-token"
        >
          {trans.__('Your new token. Copy it now: it is not shown again.')}
        </HandOver>
      )}
      <InputField
        label={trans.__('Note (what it is for)')}
        error={error.note}
        name="note"
        value={note}
        maxLength={200}
        onChange={e => setNote(e.target.value)}
      />
      <InputField
        label={trans.__('Expires after (days)')}
        help={trans.__('Leave empty for a token that does not expire.')}
        error={error.expires_in_days}
        name="expires_in_days"
        inputMode="numeric"
        value={days}
        onChange={e => setDays(e.target.value)}
      />
      <FormError error={error[''] ?? ''} />
      {tokens === null ? (
        <p className="jp-SpacesMuted">{trans.__('Loading…')}</p>
      ) : tokens.length === 0 ? (
        <p className="jp-SpacesMuted">{trans.__('You have no API tokens.')}</p>
      ) : (
        <table className="jp-SpacesTable jp-SpacesTokens">
          <thead>
            <tr>
              <th>{trans.__('Note')}</th>
              <th>{trans.__('Created')}</th>
              <th>{trans.__('Expires')}</th>
              <th>{trans.__('Last used')}</th>
              <th>
                <span className="jp-SpacesVisuallyHidden">
                  {trans.__('Actions')}
                </span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.map(token => (
              <tr key={token.id} data-token-id={token.id}>
                <td>{token.note || '—'}</td>
                <td>{relativeTime(token.created, trans)}</td>
                <td>
                  {token.expires
                    ? new Date(token.expires).toLocaleDateString()
                    : trans.__('never')}
                </td>
                <td>{relativeTime(token.last_used, trans)}</td>
                <td>
                  <button
                    type="button"
                    className="jp-mod-styled jp-mod-warn jp-SpacesSmallButton"
                    aria-label={trans.__('Revoke %1', token.note || token.id)}
                    onClick={() => void revoke(token)}
                  >
                    {trans.__('Revoke')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Modal>
  );
}
