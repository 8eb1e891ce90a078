/**
 * The admin console's logic, apart from its views: the audit log's filters
 * and pages, what a resize sends, who may lose admin rights, and how long a
 * login link lasts.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import {
  IAuditEvent,
  IAuditQuery,
  IInstanceType,
  ISpace,
  IUpdateSpace,
  IUser,
  SpacesApiError,
  SpacesClient
} from './api';
import { EDITABLE_STATUSES, statusLabel } from './util';

/* ------------------------------------------------------------- audit log */

/** The audit view's filters as the form holds them (`''`: not filtered). */
export interface IAuditFilters {
  actor: string;
  /** An action (`space.stop`) or a family of them (`space`). */
  action: string;
  target: string;
  /** `<input type="datetime-local">` values: local time, no zone. */
  since: string;
  until: string;
}

export const NO_AUDIT_FILTERS: IAuditFilters = {
  actor: '',
  action: '',
  target: '',
  since: '',
  until: ''
};

/** The families and actions the action filter offers (the server's names). */
export const AUDIT_ACTIONS: ReadonlyArray<string> = [
  'user',
  'user.create',
  'user.update',
  'user.delete',
  'user.login',
  'user.login_link',
  'user.logout',
  'user.sign_out',
  'user.lockout',
  'token',
  'space',
  'space.create',
  'space.update',
  'space.resize',
  'space.start',
  'space.stop',
  'space.idle_stop',
  'space.crashed',
  'space.delete',
  'member'
];

/**
 * A local `datetime-local` value as an ISO time with its zone (what the API
 * asks for), or `undefined` for an empty or unreadable one.
 */
export function localToIso(value: string): string | undefined {
  if (!value.trim()) {
    return undefined;
  }
  const time = new Date(value);
  return isNaN(time.getTime()) ? undefined : time.toISOString();
}

/** The query of `GET audit` for these filters (empty ones left out). */
export function auditQuery(filters: IAuditFilters, limit = 50): IAuditQuery {
  const query: IAuditQuery = { limit };
  const text = (value: string) => value.trim() || undefined;
  query.actor = text(filters.actor);
  query.action = text(filters.action);
  query.target = text(filters.target);
  query.since = localToIso(filters.since);
  query.until = localToIso(filters.until);
  for (const key of Object.keys(query) as Array<keyof IAuditQuery>) {
    if (query[key] === undefined) {
      delete query[key];
    }
  }
  return query;
}

/** A filter the form cannot send as it is (`null` when they all can). */
export function auditFilterError(
  filters: IAuditFilters,
  trans: TranslationBundle
): string | null {
  const since = localToIso(filters.since);
  const until = localToIso(filters.until);
  if (filters.since.trim() && !since) {
    return trans.__('“From” is not a date and time.');
  }
  if (filters.until.trim() && !until) {
    return trans.__('“To” is not a date and time.');
  }
  if (since && until && since >= until) {
    return trans.__('“From” must be before “To”.');
  }
  return null;
}

/**
 * The audit log as the console shows it: the events matching the filters,
 * newest first, a page at a time.
 */
export class AuditLog {
  constructor(
    readonly client: SpacesClient,
    readonly pageSize = 50
  ) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get filters(): IAuditFilters {
    return { ...this._filters };
  }

  get events(): ReadonlyArray<IAuditEvent> {
    return this._events;
  }

  /** More events match than are shown. */
  get hasMore(): boolean {
    return this._cursor !== null;
  }

  get loading(): boolean {
    return this._loading;
  }

  get error(): SpacesApiError | null {
    return this._error;
  }

  /** Change the form's filters (not yet applied). */
  setFilters(filters: Partial<IAuditFilters>): void {
    this._filters = { ...this._filters, ...filters };
    this._changed.emit();
  }

  /** Load the first page for the filters (anything shown is replaced). */
  async load(): Promise<void> {
    const generation = ++this._generation;
    this._applied = auditQuery(this._filters, this.pageSize);
    await this._fetch(generation, undefined, true);
  }

  /** Load the next page of the filters last applied. */
  async more(): Promise<void> {
    if (this._cursor === null || this._loading) {
      return;
    }
    await this._fetch(this._generation, this._cursor, false);
  }

  /** Clear the filters and load again. */
  async reset(): Promise<void> {
    this._filters = { ...NO_AUDIT_FILTERS };
    await this.load();
  }

  private async _fetch(
    generation: number,
    cursor: string | undefined,
    replace: boolean
  ): Promise<void> {
    this._loading = true;
    this._changed.emit();
    try {
      const page = await this.client.listAudit({ ...this._applied, cursor });
      if (generation !== this._generation) {
        return; // a newer load replaced this one
      }
      this._events = replace ? page.items : [...this._events, ...page.items];
      this._cursor = page.next_cursor;
      this._error = null;
    } catch (error) {
      if (generation !== this._generation) {
        return;
      }
      this._error =
        error instanceof SpacesApiError
          ? error
          : new SpacesApiError(String(error), 0, 'error');
      if (replace) {
        this._events = [];
        this._cursor = null;
      }
    } finally {
      if (generation === this._generation) {
        this._loading = false;
        this._changed.emit();
      }
    }
  }

  private _changed = new Signal<this, void>(this);
  private _filters: IAuditFilters = { ...NO_AUDIT_FILTERS };
  private _applied: IAuditQuery = {};
  private _events: IAuditEvent[] = [];
  private _cursor: string | null = null;
  private _loading = false;
  private _error: SpacesApiError | null = null;
  private _generation = 0;
}

/** An audit event's detail in one short line (`key=value`, JSON values). */
export function describeDetail(detail: unknown): string {
  if (!detail || typeof detail !== 'object') {
    return '';
  }
  return Object.entries(detail as Record<string, unknown>)
    .map(
      ([key, value]) =>
        `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`
    )
    .join(' ');
}

/* ---------------------------------------------------------------- resize */

/** The resize form: an instance type and a volume size in GiB (as typed). */
export interface IResizeForm {
  instanceType: string;
  volumeGb: string;
}

/** Why a space cannot be resized now (`null` when it can). */
export function resizeLockedReason(
  space: ISpace,
  trans: TranslationBundle
): string | null {
  if (EDITABLE_STATUSES.includes(space.status)) {
    return null;
  }
  return trans.__(
    'Stop the space to resize it: instance type and volume size change only while it is stopped (it is %1).',
    statusLabel(space.status, trans)
  );
}

/**
 * What `PATCH spaces/{name}` is sent for a resize: only what changed. An
 * error (by field: `instance_type`, `volume_gb`) when the form cannot be sent.
 */
export function resizeChanges(
  space: ISpace,
  form: IResizeForm,
  instanceTypes: ReadonlyArray<IInstanceType>,
  trans: TranslationBundle
): { body: IUpdateSpace; errors: Record<string, string> } {
  const body: IUpdateSpace = {};
  const errors: Record<string, string> = {};
  if (form.instanceType !== space.instance_type) {
    const type = instanceTypes.find(t => t.name === form.instanceType);
    if (!type) {
      errors.instance_type = trans.__('Choose an instance type.');
    } else if (!type.available) {
      errors.instance_type =
        type.reason || trans.__('This instance type is not available here.');
    } else {
      body.instance_type = form.instanceType;
    }
  }
  const text = form.volumeGb.trim();
  const size = Number(text);
  if (!/^\d+$/.test(text) || size < 1) {
    errors.volume_gb = trans.__(
      'The volume size is a whole number of GiB, 1 or more.'
    );
  } else if (size !== space.volume_gb) {
    body.volume_gb = size;
  }
  return { body, errors };
}

/* ----------------------------------------------------------------- users */

/**
 * Why `user` may not lose admin rights (`null` when they may): the domain
 * keeps at least one administrator (the server refuses it too).
 */
export function demoteRefusal(
  user: IUser,
  users: ReadonlyArray<IUser>,
  trans: TranslationBundle
): string | null {
  if (!user.admin) {
    return null;
  }
  const others = users.filter(u => u.admin && u.name !== user.name);
  return others.length
    ? null
    : trans.__(
        '%1 is the only administrator, and the domain must keep at least one. Make another user an administrator first.',
        user.display_name
      );
}

/** How long a login link lasts, for the sentence beside it. */
export function linkLifetime(
  expires: string,
  trans: TranslationBundle,
  now = Date.now()
): string {
  const until = new Date(expires);
  const hours = Math.round((until.getTime() - now) / 3_600_000);
  const at = until.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit'
  });
  return hours >= 1
    ? trans._n(
        'It works once, within %1 hour (until %2).',
        'It works once, within %1 hours (until %2).',
        hours,
        at
      )
    : trans.__('It works once, until %1.', at);
}
