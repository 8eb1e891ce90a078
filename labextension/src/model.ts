/**
 * The frontend model of the spaces a user sees: a list kept in step with the
 * REST API, with lifecycle actions and live updates from one stream of
 * server-sent events (`live`):
 *
 * - `'domain'` (the home): the domain's feed, `GET events`: `snapshot`
 *   (`{items}`), `space` (a listing entry), `deleted` (`{name}`) and
 *   `progress` (`{name, percent, message}`);
 * - a space's name (inside that space, whose host answers about it alone):
 *   that space's stream, `GET spaces/{name}/events`: `status` and `progress`.
 *
 * The stream stays open; after an error it is reopened with a growing delay,
 * and the list is read anew once it is back (what happened meanwhile).
 * Without `live`, each space's stream is followed only while the space is in
 * a transitional status. Nothing is polled.
 *
 * A space's events (the `event:` name, or a `type` field in the JSON data):
 * - `progress`: `{percent, message}` while a space starts or stops;
 * - `status`: the space JSON, or at least `{status, failure_reason?}`.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  collect,
  ICreateSpace,
  ISpace,
  ISpaceQuery,
  IUpdateSpace,
  SpacesApiError,
  SpaceStatus,
  SpacesClient
} from './api';

/** Progress of a start or stop. */
export interface IProgress {
  /** 0..100 */
  percent: number;
  message: string;
}

/** The subset of `EventSource` the model uses. */
export interface IEventSourceLike {
  addEventListener(
    type: string,
    listener: (event: { data: string }) => void
  ): void;
  onerror: ((event: any) => void) | null;
  close(): void;
}

/** Opens an events stream for a URL (the browser's `EventSource` by default). */
export type EventSourceFactory = (url: string) => IEventSourceLike;

/** Statuses during which a space's events stream is followed. */
export const TRANSITIONAL_STATUSES: ReadonlyArray<SpaceStatus> = [
  'starting',
  'stopping',
  'updating',
  'deleting'
];

/** Delays before reopening a dropped live stream, in ms (the last repeats). */
export const RECONNECT_DELAYS: ReadonlyArray<number> = [
  500, 1000, 2000, 5000, 10000, 30000
];

/** Options of {@link SpacesModel}. */
export interface ISpacesModelOptions {
  client: SpacesClient;
  /** Filters and sort of the list. */
  query?: ISpaceQuery;
  eventSourceFactory?: EventSourceFactory;
  /** The live stream to follow: `'domain'`, or one space's name. */
  live?: 'domain' | string;
  /** Schedules a reconnect (`setTimeout` by default; tests run it at once). */
  schedule?: (fn: () => void, ms: number) => unknown;
}

/** The spaces list with lifecycle actions and live updates. */
export class SpacesModel implements IDisposable {
  constructor(options: ISpacesModelOptions) {
    this.client = options.client;
    this._query = { ...(options.query ?? {}) };
    this._eventSourceFactory =
      options.eventSourceFactory ?? Private.defaultEventSourceFactory;
    this._live = options.live ?? null;
    this._schedule = options.schedule ?? ((fn, ms) => setTimeout(fn, ms));
  }

  /** The API client the model uses. */
  readonly client: SpacesClient;

  /** Emitted whenever spaces, progress, loading state or error change. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The spaces, in the server's order. */
  get spaces(): ReadonlyArray<ISpace> {
    return this._order.map(name => this._spaces.get(name)!);
  }

  /** Whether a refresh is under way. */
  get loading(): boolean {
    return this._loading > 0;
  }

  /** The last error from the API (cleared by the next successful call). */
  get error(): SpacesApiError | null {
    return this._error;
  }

  /** The list's filters and sort. */
  get query(): ISpaceQuery {
    return { ...this._query };
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** A space by name. */
  get(name: string): ISpace | undefined {
    return this._spaces.get(name);
  }

  /** The progress of a starting/stopping space, if any is known. */
  progress(name: string): IProgress | null {
    return this._progress.get(name) ?? null;
  }

  /** Names of the spaces whose events stream is open (without `live`). */
  get watching(): ReadonlyArray<string> {
    return [...this._sources.keys()];
  }

  /** Whether the live stream is open and has answered. */
  get connected(): boolean {
    return this._connected;
  }

  /** Change the filters and sort, and reload. */
  async setQuery(query: ISpaceQuery): Promise<void> {
    this._query = { ...query };
    await this.refresh();
  }

  /** Reload the whole list (every page). */
  async refresh(): Promise<void> {
    if (this._live !== null && !this._started) {
      this._started = true; // followed from the first read on, until disposed
      this._connect();
    }
    const generation = ++this._generation;
    this._loading++;
    this._changed.emit();
    try {
      const spaces = await collect(this.client.allSpaces(this._query));
      if (this._isDisposed || generation !== this._generation) {
        return; // a newer refresh owns the list
      }
      this._spaces.clear();
      this._order = [];
      for (const space of spaces) {
        this._spaces.set(space.name, space);
        this._order.push(space.name);
      }
      for (const name of [...this._progress.keys()]) {
        if (!this._spaces.has(name)) {
          this._progress.delete(name);
        }
      }
      this._error = null;
      this._syncWatches();
    } catch (error) {
      this._setError(error);
      throw error;
    } finally {
      this._loading--;
      if (!this._isDisposed) {
        this._changed.emit();
      }
    }
  }

  /** Create a space and add it to the list. */
  async create(body: ICreateSpace): Promise<ISpace> {
    const space = await this._call(() => this.client.createSpace(body));
    this._upsert(space, true);
    return space;
  }

  /** Update a space's settings. */
  async update(name: string, body: IUpdateSpace): Promise<ISpace> {
    const space = await this._call(() => this.client.updateSpace(name, body));
    this._upsert(space);
    return space;
  }

  /** Start a space and follow its progress. */
  async start(name: string): Promise<ISpace> {
    const space = await this._call(() => this.client.startSpace(name));
    this._progress.set(name, { percent: 0, message: '' });
    this._upsert(space);
    return space;
  }

  /** Stop a space and follow its progress. */
  async stop(name: string): Promise<ISpace> {
    const space = await this._call(() => this.client.stopSpace(name));
    this._upsert(space);
    return space;
  }

  /** Delete a space (and its volume) and drop it from the list. */
  async remove(name: string): Promise<void> {
    await this._call(() => this.client.deleteSpace(name));
    this._unwatch(name);
    this._spaces.delete(name);
    this._progress.delete(name);
    this._order = this._order.filter(n => n !== name);
    this._changed.emit();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    for (const name of [...this._sources.keys()]) {
      this._unwatch(name);
    }
    this._closeLive();
    Signal.clearData(this);
  }

  /* ---------------------------------------------------------- internals */

  private async _call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const result = await fn();
      if (this._error) {
        this._error = null;
        this._changed.emit();
      }
      return result;
    } catch (error) {
      this._setError(error);
      this._changed.emit();
      throw error;
    }
  }

  private _setError(error: unknown): void {
    this._error =
      error instanceof SpacesApiError
        ? error
        : new SpacesApiError(String(error), 0, 'error');
  }

  private _upsert(space: ISpace, prepend = false): void {
    if (this._isDisposed) {
      return;
    }
    if (!this._spaces.has(space.name)) {
      if (prepend) {
        this._order.unshift(space.name);
      } else {
        this._order.push(space.name);
      }
    }
    this._spaces.set(space.name, space);
    if (!TRANSITIONAL_STATUSES.includes(space.status)) {
      this._progress.delete(space.name);
    }
    this._syncWatches();
    this._changed.emit();
  }

  private _drop(name: string): void {
    if (!this._spaces.has(name)) {
      return;
    }
    this._unwatch(name);
    this._spaces.delete(name);
    this._progress.delete(name);
    this._order = this._order.filter(n => n !== name);
    this._changed.emit();
  }

  /** A listing entry from the domain's feed: in the list if the query wants it. */
  private _fromFeed(space: ISpace): void {
    if (!Private.matches(space, this._query)) {
      this._drop(space.name);
      return;
    }
    if (!this._spaces.has(space.name)) {
      const at = Private.insertAt(this.spaces, space, this._query.sort);
      this._order.splice(at, 0, space.name);
      this._spaces.set(space.name, space);
    }
    this._upsert(space);
  }

  /* ------------------------------------------------------- live stream */

  private _liveUrl(): string {
    const url =
      this._live === 'domain'
        ? this.client.domainEventsUrl()
        : this.client.eventsUrl(this._live!);
    return Private.withToken(url, this.client);
  }

  private _connect(): void {
    if (this._isDisposed) {
      return;
    }
    const source = this._eventSourceFactory(this._liveUrl());
    this._live$ = source;
    const on = (type: string) => (event: { data: string }) => {
      if (this._live$ !== source) {
        return; // a stream given up on
      }
      this._opened();
      const data = Private.parse(event.data);
      if (data === null) {
        return;
      }
      if (this._live === 'domain') {
        this._onFeedEvent(type === 'message' ? data.type : type, data);
      } else {
        this._onEvent(this._live!, type, event.data);
      }
    };
    for (const type of this._live === 'domain'
      ? ['snapshot', 'space', 'deleted', 'progress', 'message']
      : ['status', 'progress', 'message']) {
      source.addEventListener(type, on(type));
    }
    source.onerror = () => {
      if (this._live$ !== source) {
        return;
      }
      // Closed here and reopened by us, with a growing delay: the browser's own
      // retry gives up for good on an HTTP error (a restarting domain's 502).
      this._closeLive();
      if (this._live !== 'domain') {
        void this._stillThere();
      }
      const delay =
        RECONNECT_DELAYS[Math.min(this._failures, RECONNECT_DELAYS.length - 1)];
      this._failures++;
      this._schedule(() => this._connect(), delay);
    };
  }

  /** The stream answered: after a drop, read the list anew. */
  private _opened(): void {
    if (this._connected) {
      return;
    }
    this._connected = true;
    this._failures = 0;
    if (this._everConnected) {
      void this.refresh().catch(() => undefined);
    }
    this._everConnected = true;
    this._changed.emit();
  }

  /**
   * Inside a space, a stream that fails may mean the space is gone or the
   * caller's access with it (the host then refuses it): read the list, and
   * on a 404 or 403 drop what it showed.
   */
  private async _stillThere(): Promise<void> {
    try {
      await this.refresh();
    } catch (error) {
      const status = (error as SpacesApiError).status;
      if (status === 404 || status === 403) {
        for (const name of [...this._order]) {
          this._drop(name);
        }
      }
    }
  }

  private _closeLive(): void {
    const source = this._live$;
    this._live$ = null;
    if (source) {
      source.onerror = null;
      source.close();
    }
    if (this._connected) {
      this._connected = false;
      if (!this._isDisposed) {
        this._changed.emit();
      }
    }
  }

  private _onFeedEvent(kind: string, data: any): void {
    if (this._isDisposed) {
      return;
    }
    if (kind === 'snapshot' && Array.isArray(data.items)) {
      const names = new Set<string>();
      for (const space of data.items as ISpace[]) {
        names.add(space.name);
        this._fromFeed(space);
      }
      for (const name of [...this._order]) {
        if (!names.has(name)) {
          this._drop(name);
        }
      }
    } else if (kind === 'space' && typeof data.name === 'string') {
      this._fromFeed(data as ISpace);
    } else if (kind === 'deleted' && typeof data.name === 'string') {
      this._drop(data.name);
    } else if (kind === 'progress' && typeof data.name === 'string') {
      if (this._spaces.has(data.name)) {
        this._onEvent(data.name, 'progress', JSON.stringify(data));
      }
    }
  }

  /** Without `live`: open streams for transitional spaces, close the others. */
  private _syncWatches(): void {
    if (this._live !== null) {
      return; // the one live stream tells everything
    }
    for (const [name, space] of this._spaces) {
      const transitional = TRANSITIONAL_STATUSES.includes(space.status);
      if (transitional && !this._sources.has(name)) {
        this._watch(name);
      } else if (!transitional && this._sources.has(name)) {
        this._unwatch(name);
      }
    }
    for (const name of [...this._sources.keys()]) {
      if (!this._spaces.has(name)) {
        this._unwatch(name);
      }
    }
  }

  private _watch(name: string): void {
    const source = this._eventSourceFactory(this._eventsUrl(name));
    this._sources.set(name, source);
    const handle = (type: string) => (event: { data: string }) =>
      this._onEvent(name, type, event.data);
    source.addEventListener('progress', handle('progress'));
    source.addEventListener('status', handle('status'));
    source.addEventListener('message', handle('message'));
    source.onerror = () => {
      // EventSource reconnects on its own; a closed stream (the space is
      // gone or hidden) is settled by the next refresh.
    };
  }

  private _unwatch(name: string): void {
    const source = this._sources.get(name);
    if (source) {
      this._sources.delete(name);
      source.onerror = null;
      source.close();
    }
  }

  private _eventsUrl(name: string): string {
    return Private.withToken(this.client.eventsUrl(name), this.client);
  }

  private _onEvent(name: string, type: string, raw: string): void {
    if (this._isDisposed || !this._spaces.has(name)) {
      return;
    }
    let data: any;
    try {
      data = JSON.parse(raw);
    } catch {
      return; // not ours (keep-alive comments never reach here)
    }
    if (!data || typeof data !== 'object') {
      return;
    }
    const kind = type === 'message' ? data.type : type;
    if (kind === 'status' && data.status === 'deleted') {
      this._drop(name);
    } else if (kind === 'progress') {
      const percent = Number(data.percent);
      this._progress.set(name, {
        percent: Number.isFinite(percent)
          ? Math.max(0, Math.min(100, percent))
          : 0,
        message: typeof data.message === 'string' ? data.message : ''
      });
      this._changed.emit();
    } else if (kind === 'status') {
      const current = this._spaces.get(name)!;
      const next: ISpace =
        typeof data.space === 'object' && data.space
          ? { ...current, ...data.space }
          : { ...current, ...Private.statusFields(data) };
      next.name = name;
      this._upsert(next);
    }
  }

  private _changed = new Signal<this, void>(this);
  private _spaces = new Map<string, ISpace>();
  private _order: string[] = [];
  private _progress = new Map<string, IProgress>();
  private _sources = new Map<string, IEventSourceLike>();
  private _eventSourceFactory: EventSourceFactory;
  private _live: string | null;
  private _live$: IEventSourceLike | null = null;
  private _schedule: (fn: () => void, ms: number) => unknown;
  private _started = false;
  private _connected = false;
  private _everConnected = false;
  private _failures = 0;
  private _query: ISpaceQuery;
  private _error: SpacesApiError | null = null;
  private _loading = 0;
  private _generation = 0;
  private _isDisposed = false;
}

namespace Private {
  export function defaultEventSourceFactory(url: string): IEventSourceLike {
    if (typeof EventSource === 'undefined') {
      // No server-sent events here (node): a stream that never says anything.
      return {
        addEventListener: () => undefined,
        onerror: null,
        close: () => undefined
      };
    }
    return new EventSource(url, { withCredentials: true });
  }

  export function withToken(url: string, client: SpacesClient): string {
    const settings = client.serverSettings;
    if (settings.token && settings.appendToken) {
      return `${url}?token=${encodeURIComponent(settings.token)}`;
    }
    return url;
  }

  export function parse(raw: string): any {
    try {
      const data = JSON.parse(raw);
      return data && typeof data === 'object' ? data : null;
    } catch {
      return null; // not ours (keep-alive comments never reach here)
    }
  }

  /** Whether `space` is one the list's filters keep (as `GET spaces` would). */
  export function matches(space: ISpace, query: ISpaceQuery): boolean {
    return (
      (!query.sharing || space.sharing === query.sharing) &&
      (!query.app_type || space.app_type === query.app_type) &&
      (!query.owner || space.owner === query.owner) &&
      (!query.status || space.status === query.status) &&
      (!query.name_contains || space.name.includes(query.name_contains))
    );
  }

  /** Where a new space goes in a list kept in the query's order. */
  export function insertAt(
    list: ReadonlyArray<ISpace>,
    space: ISpace,
    sort: string | undefined
  ): number {
    const key = (sort ?? 'name').replace(/^-/, '') as keyof ISpace;
    const sign = sort?.startsWith('-') ? -1 : 1;
    const compare = (a: ISpace, b: ISpace) => {
      const x = String(a[key] ?? '');
      const y = String(b[key] ?? '');
      return sign * (x < y ? -1 : x > y ? 1 : 0) || (a.name < b.name ? -1 : 1);
    };
    const at = list.findIndex(other => compare(space, other) < 0);
    return at === -1 ? list.length : at;
  }

  /** The space fields a `status` event may carry. */
  export function statusFields(data: any): Partial<ISpace> {
    const fields: Partial<ISpace> = {};
    for (const key of Object.keys(data)) {
      if (key !== 'type' && key !== 'name') {
        (fields as any)[key] = data[key];
      }
    }
    return fields;
  }
}
