/**
 * The audit log (admin), newest first, with filters.
 */
import * as React from 'react';

import type { IAdminProps } from './admin';
import {
  AUDIT_ACTIONS,
  auditFilterError,
  AuditLog,
  describeDetail
} from './adminmodel';

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
