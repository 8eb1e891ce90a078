/**
 * Who is present in a shared space (`GET spaces/{name}/presence`).
 *
 * Read when the model starts, then every `interval` ms while the page is
 * visible (presence has no events stream; 15 s is slow enough not to load the
 * domain and quick enough for faces to appear). A 409 means the space's
 * server did not answer this time: asked again after 1 s, 2 s, 4 s ... (up to
 * `interval`), the last list kept. A 404 or 403 (gone, or no longer the
 * caller's to see) empties the model and stops it for good.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { IPresence, SpacesApiError, SpacesClient } from './api';

export interface IPresenceModelOptions {
  client: SpacesClient;
  space: string;
  /** Milliseconds between reads (default 15000). */
  interval?: number;
}

export class PresenceModel implements IDisposable {
  constructor(options: IPresenceModelOptions) {
    this.client = options.client;
    this.space = options.space;
    this.interval = options.interval ?? 15000;
  }

  readonly client: SpacesClient;
  readonly space: string;
  readonly interval: number;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The people present, one entry per user (the first entry kept). */
  get people(): ReadonlyArray<IPresence> {
    return this._people;
  }

  /** Whether the server refused presence for good (gone, or no longer visible). */
  get stopped(): boolean {
    return this._stopped;
  }

  /** Read now and keep reading every `interval`. */
  start(): void {
    if (this._timer !== null || this._isDisposed) {
      return;
    }
    void this.refresh();
    this._timer = setInterval(() => {
      if (
        typeof document === 'undefined' ||
        document.visibilityState !== 'hidden'
      ) {
        void this.refresh();
      }
    }, this.interval);
  }

  async refresh(): Promise<void> {
    if (this._stopped || this._isDisposed) {
      return;
    }
    try {
      const answer = await this.client.presence(this.space);
      this._failures = 0;
      this._set(dedupe(answer.items));
    } catch (error) {
      if (
        error instanceof SpacesApiError &&
        (error.status === 404 || error.status === 403)
      ) {
        this._stopped = true;
        this._clearTimer();
        this._set([]);
      } else if (error instanceof SpacesApiError && error.status === 409) {
        this._retrySoon();
      }
      // Other errors (network, 5xx): keep the last list, try again later.
    }
  }

  /** The next read after a 409, sooner than the interval, each wait twice the last. */
  private _retrySoon(): void {
    if (this._retry !== null || this._isDisposed) {
      return;
    }
    const delay = Math.min(this.interval, 1000 * 2 ** this._failures);
    this._failures++;
    this._retry = setTimeout(() => {
      this._retry = null;
      void this.refresh();
    }, delay);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._clearTimer();
    Signal.clearData(this);
  }

  private _set(people: IPresence[]): void {
    if (this._isDisposed) {
      return;
    }
    const key = (list: ReadonlyArray<IPresence>) =>
      JSON.stringify(list.map(p => [p.user.name, p.documents ?? []]));
    if (key(people) === key(this._people)) {
      return;
    }
    this._people = people;
    this._changed.emit();
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      clearInterval(this._timer);
      this._timer = null;
    }
    if (this._retry !== null) {
      clearTimeout(this._retry);
      this._retry = null;
    }
  }

  private _changed = new Signal<this, void>(this);
  private _people: IPresence[] = [];
  private _timer: ReturnType<typeof setInterval> | null = null;
  private _retry: ReturnType<typeof setTimeout> | null = null;
  private _failures = 0;
  private _stopped = false;
  private _isDisposed = false;
}

/** One entry per user, in the server's order. */
export function dedupe(items: ReadonlyArray<IPresence>): IPresence[] {
  const seen = new Set<string>();
  const result: IPresence[] = [];
  for (const item of items) {
    if (!item?.user?.name || seen.has(item.user.name)) {
      continue;
    }
    seen.add(item.user.name);
    result.push(item);
  }
  return result;
}
