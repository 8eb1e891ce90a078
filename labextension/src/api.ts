/**
 * A typed client for the jupyter-spaces REST API (`<base_url>spaces/api/`).
 *
 * Every request goes through `ServerConnection.makeRequest`, so the login
 * cookie, the XSRF header, the token (if any) and the base URL are the ones
 * JupyterLab itself uses. The contract is `docs/api.md` and
 * `jupyter_spaces/openapi.yaml`.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The path of the REST API, relative to the server's base URL. */
export const API_PATH = 'spaces/api';

/* ------------------------------------------------------------------ models */

/** Whether a space is private to its owner or shared with the domain. */
export type Sharing = 'private' | 'shared';

/** The app a space runs. */
export type AppType = 'jupyterlab' | 'code-editor' | 'mlflow' | 'rstudio';

/** The lifecycle status of a space. */
export type SpaceStatus =
  | 'stopped'
  | 'starting'
  | 'running'
  | 'stopping'
  | 'updating'
  | 'failed'
  | 'deleting';

/** A member's role in a space. */
export type Role = 'owner' | 'editor' | 'viewer';

/** The sort orders `GET spaces` accepts. */
export type SpaceSort =
  | 'name'
  | '-name'
  | 'created'
  | '-created'
  | 'last_activity'
  | '-last_activity';

/** A domain user (`GET me`, `GET users/{name}`). */
export interface IUser {
  name: string;
  display_name: string;
  initials: string;
  color: string;
  admin: boolean;
  created: string;
  last_activity: string | null;
}

/** A user as returned by `POST users`, with its one-time API token. */
export interface ICreatedUser extends IUser {
  token: string;
}

/** A one-time browser login link (`POST users/{name}/login-link`). */
export interface ILoginLink {
  user: string;
  /** On the domain's own address; signs its first opener in as the user. */
  url: string;
  /** When it stops working (ISO 8601). */
  expires: string;
}

/** An API token's metadata; `token` is present only right after creation. */
export interface IToken {
  id: number;
  note: string | null;
  created: string;
  expires: string | null;
  last_used: string | null;
  token?: string;
}

/** A space (`GET spaces/{name}`). */
export interface ISpace {
  name: string;
  display_name: string;
  owner: string;
  sharing: Sharing;
  app_type: AppType;
  instance_type: string;
  image: string;
  volume_gb: number;
  idle_timeout_minutes: number | null;
  status: SpaceStatus;
  failure_reason: string | null;
  created: string;
  updated: string;
  last_activity: string | null;
  /** The caller's role; `null` for an admin looking at another's private space. */
  role: Role | null;
  /** Where the space's app is served; `null` when the caller may not open it. */
  url: string | null;
  volume_used_bytes: number | null;
  /** Who or what stopped it (a space's own status events only). */
  stopped_by?: IStopCause | null;
}

/** Who or what stopped a space, as its status events say. */
export interface IStopCause {
  kind: 'owner' | 'user' | 'admin' | 'idle' | 'failure';
  /** Who, for `owner`, `user` and `admin` (`system`: the domain's command line). */
  user?: string;
  /** The idle timeout, for `idle`. */
  minutes?: number;
}

/** A member of a shared space. */
export interface IMember {
  user: IUser;
  role: Role;
}

/** The members list: the people, and what everyone else may do (shared spaces). */
export interface IMembers extends IItems<IMember> {
  /** The domain's role for users who are not members; null for a private space. */
  default_role?: Exclude<Role, 'owner'> | null;
}

/** Someone present in a space now (`Presence` in openapi.yaml). */
export interface IPresence {
  user: Pick<IUser, 'name' | 'display_name' | 'initials' | 'color'>;
  role: Role;
  /** Paths of the documents they have open in the collaborative editor. */
  documents: string[];
  /** When they came in (ISO 8601). */
  since: string;
}

/** An entry of `GET instance-types`. */
export interface IInstanceType {
  name: string;
  display_name: string;
  cpus: number;
  memory_gb: number;
  max_processes: number | null;
  available: boolean;
  reason: string | null;
}

/** An entry of `GET images`. */
export interface IImage {
  name: string;
  display_name: string;
  description: string;
  /** Whether spaces can run on this image on this host. */
  available: boolean;
  /** Why not (what to fix); empty when available. */
  reason: string;
}

/** An entry of `GET app-types`. */
export interface IAppTypeInfo {
  name: AppType;
  display_name: string;
  description: string;
  /** The frontend's icon name (`jupyter`, `code`, `mlflow`, `rstudio`). */
  icon: string;
  /** Several users edit in it at once. */
  co_edits: boolean;
  /** What a viewer of a shared space may do. */
  viewers: 'read-only' | 'refused';
  /** Why a viewer is refused, when refused. */
  viewer_reason: string;
  /** JupyterLab opens in place (`jupyterlab`), other apps in a browser tab. */
  opens_in: 'jupyterlab' | 'tab';
  available: boolean;
  reason: string | null;
}

/** An entry of `GET audit`. */
export interface IAuditEvent {
  id: number | string;
  time: string;
  actor: string | null;
  action: string;
  target_type: string;
  target: string;
  outcome: string;
  detail: unknown;
}

/** A page of a list route. */
export interface IPage<T> {
  items: T[];
  next_cursor: string | null;
}

/** An unpaged list (catalogues, members). */
export interface IItems<T> {
  items: T[];
}

/** The error body every failing route returns. */
export interface IErrorBody {
  message: string;
  reason: string;
}

/* ---------------------------------------------------------------- requests */

/** Paging parameters of the list routes. */
export interface IPageQuery {
  /** 1..500, server default 50. */
  limit?: number;
  /** The previous page's `next_cursor`. */
  cursor?: string | null;
}

/** Filters and sort of `GET spaces`. */
export interface ISpaceQuery extends IPageQuery {
  sharing?: Sharing;
  app_type?: AppType;
  owner?: string;
  status?: SpaceStatus;
  name_contains?: string;
  sort?: SpaceSort;
}

/** Filters of `GET audit` (each one given must match). */
export interface IAuditQuery extends IPageQuery {
  actor?: string;
  /** An action, or a family of them: `space` is every `space.*`. */
  action?: string;
  target_type?: 'user' | 'space';
  target?: string;
  /** ISO 8601 with a zone; inclusive. */
  since?: string;
  /** ISO 8601 with a zone; exclusive. */
  until?: string;
}

/** Body of `POST spaces`. */
export interface ICreateSpace {
  name: string;
  sharing: Sharing;
  app_type: AppType;
  display_name?: string;
  instance_type?: string;
  image?: string;
  volume_gb?: number;
  idle_timeout_minutes?: number | null;
}

/** Body of `PATCH spaces/{name}`. */
export interface IUpdateSpace {
  display_name?: string;
  instance_type?: string;
  image?: string;
  volume_gb?: number;
  idle_timeout_minutes?: number | null;
}

/** Body of `POST users`. */
export interface ICreateUser {
  name: string;
  display_name?: string;
  admin?: boolean;
  password?: string;
}

/** Body of `PATCH users/{name}`. */
export interface IUpdateUser {
  display_name?: string;
  admin?: boolean;
  /** `null` removes the password (the user then signs in with login links). */
  password?: string | null;
  color?: string;
}

/** Body of `POST users/{name}/tokens`. */
export interface ICreateToken {
  note?: string;
  expires_in_days?: number;
}

/** A query-string value; `undefined` and `null` are left out. */
export type QueryValue = string | number | boolean | null | undefined;

/* ------------------------------------------------------------------ errors */

/**
 * An error answered by the API (or a failure to reach it).
 *
 * `message` is the server's own sentence, fit to show to a person; `status`
 * is the HTTP status (0 when the server could not be reached) and `reason`
 * the machine word (`not_found`, `conflict`, `invalid`, ...).
 */
export class SpacesApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
    readonly response: Response | null = null,
    /** The request field a 400/422 is about (the server's `field`), if any. */
    readonly field: string | null = null
  ) {
    super(message);
    this.name = 'SpacesApiError';
    // Keep `instanceof` working when compiled to ES5-style classes.
    Object.setPrototypeOf(this, new.target.prototype);
  }

  /**
   * Build the error for a failed response, using the server's
   * `{message, reason}` body when there is one.
   */
  static async fromResponse(response: Response): Promise<SpacesApiError> {
    let text = '';
    try {
      text = await response.text();
    } catch {
      // body unreadable: fall back on the status line
    }
    let message = '';
    let reason = '';
    let field: string | null = null;
    if (text) {
      try {
        const body = JSON.parse(text);
        if (body && typeof body === 'object') {
          if (typeof body.message === 'string') {
            message = body.message;
          }
          if (typeof body.reason === 'string') {
            reason = body.reason;
          }
          if (typeof body.field === 'string' && body.field) {
            field = body.field;
          }
        }
      } catch {
        // not JSON (an HTML error page from a proxy, for instance)
      }
    }
    if (!message) {
      message = `${response.status} ${response.statusText || 'Error'}`.trim();
    }
    if (!reason) {
      reason = Private.reasonForStatus(response.status);
    }
    return new SpacesApiError(
      message,
      response.status,
      reason,
      response,
      field
    );
  }
}

/* ------------------------------------------------------------------ client */

/** Options of {@link SpacesClient}. */
export interface ISpacesClientOptions {
  /** Defaults to `ServerConnection.makeSettings()`. */
  serverSettings?: ServerConnection.ISettings;
}

/** Options of {@link SpacesClient.request}. */
export interface IRequestOptions {
  query?: Record<string, QueryValue>;
  body?: unknown;
}

/**
 * The REST API client. One method per route; list routes return one page,
 * and `allSpaces`, `allUsers` and `allAudit` follow `next_cursor`.
 */
export class SpacesClient {
  constructor(options: ISpacesClientOptions = {}) {
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
  }

  /** The settings every request is made with. */
  readonly serverSettings: ServerConnection.ISettings;

  /** The full URL of an API path (segments are URL-encoded). */
  url(
    segments: ReadonlyArray<string>,
    query: Record<string, QueryValue> = {}
  ): string {
    const path = segments.map(s => encodeURIComponent(s)).join('/');
    return (
      URLExt.join(this.serverSettings.baseUrl, API_PATH, path) +
      buildQuery(query)
    );
  }

  /** The URL of a space's events stream (server-sent events). */
  eventsUrl(name: string): string {
    return this.url(['spaces', name, 'events']);
  }

  /** The domain-wide feed of every space the caller sees (`GET events`). */
  domainEventsUrl(): string {
    return this.url(['events']);
  }

  /**
   * Make one request and decode the JSON answer (`undefined` for 204).
   * Throws a {@link SpacesApiError} for any non-2xx answer.
   */
  async request<T>(
    method: string,
    segments: ReadonlyArray<string>,
    options: IRequestOptions = {}
  ): Promise<T> {
    const url = this.url(segments, options.query);
    // `no-cache` (revalidate) rather than JupyterLab's default `no-store`,
    // for which `makeRequest` appends a `&<timestamp>` cache buster that the
    // API refuses as an unknown query parameter. `no-cache` makes the
    // browser revalidate every time, so answers are never stale.
    const init: RequestInit = { method, cache: 'no-cache' };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        url,
        init,
        this.serverSettings
      );
    } catch (error) {
      const message =
        error instanceof Error ? error.message : String(error ?? '');
      throw new SpacesApiError(
        message || 'The server could not be reached.',
        0,
        'network_error'
      );
    }
    if (!response.ok) {
      throw await SpacesApiError.fromResponse(response);
    }
    if (response.status === 204) {
      return undefined as T;
    }
    const text = await response.text();
    if (!text) {
      return undefined as T;
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new SpacesApiError(
        'The server sent an answer that is not JSON.',
        response.status,
        'bad_response',
        response
      );
    }
  }

  /* ---- identity */

  /** The caller. */
  me(): Promise<IUser> {
    return this.request('GET', ['me']);
  }

  /* ---- users */

  listUsers(query: IPageQuery = {}): Promise<IPage<IUser>> {
    return this.request('GET', ['users'], { query: { ...query } });
  }

  /** Every user, following `next_cursor`. */
  allUsers(query: IPageQuery = {}): AsyncIterableIterator<IUser> {
    return iteratePages(cursor => this.listUsers({ ...query, cursor }), query);
  }

  getUser(name: string): Promise<IUser> {
    return this.request('GET', ['users', name]);
  }

  createUser(body: ICreateUser): Promise<ICreatedUser> {
    return this.request('POST', ['users'], { body });
  }

  updateUser(name: string, body: IUpdateUser): Promise<IUser> {
    return this.request('PATCH', ['users', name], { body });
  }

  deleteUser(name: string): Promise<void> {
    return this.request('DELETE', ['users', name]);
  }

  /** A new one-time browser login link for the user (admin). */
  createLoginLink(name: string): Promise<ILoginLink> {
    return this.request('POST', ['users', name, 'login-link']);
  }

  /** End every browser session of the user (self or admin). */
  signOutEverywhere(name: string): Promise<void> {
    return this.request('DELETE', ['users', name, 'sessions']);
  }

  /* ---- tokens */

  listTokens(user: string): Promise<IItems<IToken>> {
    return this.request('GET', ['users', user, 'tokens']);
  }

  createToken(user: string, body: ICreateToken = {}): Promise<IToken> {
    return this.request('POST', ['users', user, 'tokens'], { body });
  }

  deleteToken(user: string, id: number): Promise<void> {
    return this.request('DELETE', ['users', user, 'tokens', String(id)]);
  }

  /* ---- spaces */

  /** One page of the spaces the caller may see. */
  listSpaces(query: ISpaceQuery = {}): Promise<IPage<ISpace>> {
    return this.request('GET', ['spaces'], { query: { ...query } });
  }

  /** Every space matching `query`, following `next_cursor`. */
  allSpaces(query: ISpaceQuery = {}): AsyncIterableIterator<ISpace> {
    return iteratePages(cursor => this.listSpaces({ ...query, cursor }), query);
  }

  getSpace(name: string): Promise<ISpace> {
    return this.request('GET', ['spaces', name]);
  }

  createSpace(body: ICreateSpace): Promise<ISpace> {
    return this.request('POST', ['spaces'], { body });
  }

  updateSpace(name: string, body: IUpdateSpace): Promise<ISpace> {
    return this.request('PATCH', ['spaces', name], { body });
  }

  /** Delete a space and its volume. */
  deleteSpace(name: string): Promise<void> {
    return this.request('DELETE', ['spaces', name]);
  }

  startSpace(name: string): Promise<ISpace> {
    return this.request('POST', ['spaces', name, 'start']);
  }

  stopSpace(name: string): Promise<ISpace> {
    return this.request('POST', ['spaces', name, 'stop']);
  }

  /* ---- members and presence */

  listMembers(space: string): Promise<IMembers> {
    return this.request('GET', ['spaces', space, 'members']);
  }

  setMember(
    space: string,
    user: string,
    role: Exclude<Role, 'owner'>
  ): Promise<IMember> {
    return this.request('PUT', ['spaces', space, 'members', user], {
      body: { role }
    });
  }

  removeMember(space: string, user: string): Promise<void> {
    return this.request('DELETE', ['spaces', space, 'members', user]);
  }

  presence(space: string): Promise<IItems<IPresence>> {
    return this.request('GET', ['spaces', space, 'presence']);
  }

  /* ---- catalogues */

  instanceTypes(): Promise<IItems<IInstanceType>> {
    return this.request('GET', ['instance-types']);
  }

  images(): Promise<IItems<IImage>> {
    return this.request('GET', ['images']);
  }

  appTypes(): Promise<IItems<IAppTypeInfo>> {
    return this.request('GET', ['app-types']);
  }

  /* ---- audit */

  listAudit(query: IAuditQuery = {}): Promise<IPage<IAuditEvent>> {
    return this.request('GET', ['audit'], { query: { ...query } });
  }

  allAudit(query: IAuditQuery = {}): AsyncIterableIterator<IAuditEvent> {
    return iteratePages(cursor => this.listAudit({ ...query, cursor }), query);
  }
}

/* ----------------------------------------------------------------- helpers */

/**
 * Encode a query string (with its leading `?`, or `''` when empty).
 * `undefined` and `null` values are left out; keys keep their order.
 */
export function buildQuery(query: Record<string, QueryValue> = {}): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) {
      continue;
    }
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(value)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/**
 * Iterate over the items of a paged route, asking for the next page with
 * the previous `next_cursor` until it is `null`.
 *
 * @param fetchPage - fetch the page at a cursor (`undefined` for the first).
 * @param start - where to start (its `cursor`, if any).
 */
export async function* iteratePages<T>(
  fetchPage: (cursor: string | undefined) => Promise<IPage<T>>,
  start: IPageQuery = {}
): AsyncIterableIterator<T> {
  let cursor: string | undefined = start.cursor ?? undefined;
  const seen = new Set<string>();
  for (;;) {
    const page = await fetchPage(cursor);
    for (const item of page.items) {
      yield item;
    }
    const next = page.next_cursor;
    if (!next) {
      return;
    }
    if (seen.has(next)) {
      throw new SpacesApiError(
        'The server returned the same page cursor twice.',
        0,
        'bad_response'
      );
    }
    seen.add(next);
    cursor = next;
  }
}

/** Collect an async iterator into an array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const result: T[] = [];
  for await (const item of items) {
    result.push(item);
  }
  return result;
}

namespace Private {
  /** The API's reason word for a status, when the body did not say. */
  export function reasonForStatus(status: number): string {
    switch (status) {
      case 400:
        return 'bad_request';
      case 401:
      case 403:
        return 'forbidden';
      case 404:
        return 'not_found';
      case 409:
        return 'conflict';
      case 413:
        return 'too_large';
      case 422:
        return 'invalid';
      default:
        return status >= 500 ? 'server_error' : 'error';
    }
  }
}
