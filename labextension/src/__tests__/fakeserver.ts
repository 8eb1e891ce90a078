/**
 * A fetch-level fake of the domain server for unit tests.
 *
 * The seam is `ServerConnection.ISettings.fetch`: the client under test
 * builds real `Request` objects through `ServerConnection.makeRequest`, and
 * this fake records them and answers with real `Response` objects.
 *
 * Every request to the domain API (`<base_url>spaces/api/...`) and every answer
 * to it is checked against `jupyter_spaces/openapi.yaml`: the route must be an
 * operation there, the request body must match its schema, and the status, the
 * required headers and the JSON body must match that operation's response. A
 * mismatch fails the test that made it (see the `afterEach` below), so canned
 * bodies cannot drift from what the real server sends. An answer that is off
 * the contract on purpose (a proxy's HTML 502, a broken body) says why in
 * `offContract`.
 */
import { ServerConnection } from '@jupyterlab/services';

import { IInstanceType, IUser, SpacesClient } from '../api';

import { contract } from './contract';

/** A request as the fake server saw it. */
export interface IRecordedRequest {
  method: string;
  url: string;
  /** The path below the server root, e.g. `/base/spaces/api/spaces`. */
  path: string;
  /** Query parameters, without the `no-store` cache buster. */
  query: Record<string, string>;
  /** The raw query string, without the cache buster. */
  search: string;
  headers: Headers;
  /** The decoded JSON body, if any. */
  body: unknown;
}

/** A canned answer. */
export interface IFakeResponse {
  status?: number;
  body?: unknown;
  /** Sent verbatim instead of JSON-encoding `body`. */
  text?: string;
  headers?: Record<string, string>;
  /**
   * Why this answer is not one the domain server may give (it tests the client
   * against a broken server or a proxy in between); skips the contract check.
   */
  offContract?: string;
}

export type Handler = (
  request: IRecordedRequest
) => IFakeResponse | Promise<IFakeResponse>;

export const BASE_URL = 'http://example.test/base/';

/** Fake servers with contract violations the current test has not seen yet. */
const unchecked = new Set<FakeServer>();

// Registered by importing this module: after each test of the file, any
// request or answer that broke the contract fails that test.
afterEach(() => {
  const problems = [...unchecked].flatMap(server => server.takeViolations());
  unchecked.clear();
  if (problems.length) {
    throw new Error(
      'the fake server broke jupyter_spaces/openapi.yaml:\n  ' +
        problems.join('\n  ')
    );
  }
});

/** A fake server: set `handler`, make requests, inspect `requests`. */
export class FakeServer {
  constructor(handler?: Handler) {
    this.handler = handler ?? (() => ({ status: 200, body: {} }));
  }

  handler: Handler;
  readonly requests: IRecordedRequest[] = [];

  /** Server settings whose `fetch` is this fake. */
  settings(
    options: Partial<ServerConnection.ISettings> = {}
  ): ServerConnection.ISettings {
    return ServerConnection.makeSettings({
      baseUrl: BASE_URL,
      wsUrl: 'ws://example.test/base/',
      token: '',
      fetch: (input: RequestInfo | URL, init?: RequestInit) =>
        this.fetch(input, init),
      Request,
      Headers,
      ...options
    });
  }

  /** Answer with `responses` in order, then fail. */
  sequence(...responses: IFakeResponse[]): void {
    const queue = [...responses];
    this.handler = () => {
      const next = queue.shift();
      if (!next) {
        throw new Error('no more canned responses');
      }
      return next;
    };
  }

  /** Contract violations so far; a test that expects them takes them. */
  takeViolations(): string[] {
    return this.violations.splice(0);
  }

  get last(): IRecordedRequest {
    if (!this.requests.length) {
      throw new Error('no request was made');
    }
    return this.requests[this.requests.length - 1];
  }

  private async fetch(
    input: RequestInfo | URL,
    init?: RequestInit
  ): Promise<Response> {
    const request =
      input instanceof Request ? input : new Request(String(input), init);
    const url = new URL(request.url);
    const query: Record<string, string> = {};
    const kept = new URLSearchParams();
    url.searchParams.forEach((value, key) => {
      // ServerConnection appends `&<timestamp>` for `cache: 'no-store'`.
      if (/^\d+$/.test(key) && value === '') {
        return;
      }
      query[key] = value;
      kept.append(key, value);
    });
    const text = await request.text();
    const recorded: IRecordedRequest = {
      method: request.method,
      url: request.url,
      path: url.pathname,
      query,
      search: kept.toString(),
      headers: request.headers,
      body: text ? JSON.parse(text) : undefined
    };
    this.requests.push(recorded);
    const answer = await this.handler(recorded);
    const status = answer.status ?? 200;
    const payload =
      answer.text !== undefined
        ? answer.text
        : answer.body === undefined || status === 204
          ? null
          : JSON.stringify(answer.body);
    const response = new Response(payload, {
      status,
      headers: {
        'Content-Type': 'application/json',
        ...(answer.headers ?? {})
      }
    });
    this.check(recorded, answer, response.headers, payload);
    return response;
  }

  private check(
    request: IRecordedRequest,
    answer: IFakeResponse,
    headers: Headers,
    payload: string | null
  ): void {
    const where = `${request.method} ${request.path}`;
    try {
      this.checkContract(request, answer, headers, payload, where);
    } catch (error) {
      // A broken checker must fail the test too, not pass as a network error.
      this.violations.push(`${where}: checking the contract failed: ${error}`);
      unchecked.add(this);
    }
  }

  private checkContract(
    request: IRecordedRequest,
    answer: IFakeResponse,
    headers: Headers,
    payload: string | null,
    where: string
  ): void {
    const route = contract().route(request.path);
    if (route === null) {
      return; // not the domain API (a space's own server, say)
    }
    const problems = contract().checkRequest(
      request.method,
      route,
      request.body
    );
    if (!answer.offContract && !problems.length) {
      problems.push(
        ...contract().checkResponse(
          request.method,
          route,
          answer.status ?? 200,
          headers,
          payload
        )
      );
    }
    if (problems.length) {
      this.violations.push(...problems.map(p => `${where}: ${p}`));
      unchecked.add(this);
    }
  }

  private readonly violations: string[] = [];
}

/** A fake server and a client of it. */
export interface IFakeClient {
  server: FakeServer;
  client: SpacesClient;
}

/**
 * Call at the top of a suite or a `describe`: `server` (answering `{}` until a
 * test sets its handler) and a `client` of it are made anew before each test.
 */
export function clientEachTest(): IFakeClient {
  const fake = {} as IFakeClient;
  beforeEach(() => {
    fake.server = new FakeServer();
    fake.client = new SpacesClient({ serverSettings: fake.server.settings() });
  });
  return fake;
}

/** A user as the server would send it: `alice` is Alice, initials AL. */
export function makeUser(name: string, extra: Partial<IUser> = {}): IUser {
  return {
    name,
    display_name: name.charAt(0).toUpperCase() + name.slice(1),
    initials: name.slice(0, 2).toUpperCase(),
    color: '#123456',
    admin: false,
    created: '2024-01-01T00:00:00Z',
    last_activity: null,
    ...extra
  };
}

/** The caller of most specs, as `GET me` sends them. */
export const ALICE = makeUser('alice');

/** An instance type as the server would send it: 1 CPU, 2 GiB, available. */
export function makeInstanceType(
  name: string,
  extra: Partial<IInstanceType> = {}
): IInstanceType {
  return {
    name,
    display_name: name.charAt(0).toUpperCase() + name.slice(1),
    cpus: 1,
    memory_gb: 2,
    max_processes: 256,
    available: true,
    reason: '',
    ...extra
  };
}

/** What a fake domain holds (see {@link domainHandler}). */
export interface IFakeDomain {
  /** The caller (`GET me`), and the only user `GET users` lists. */
  me: IUser;
  /** What `GET spaces` lists, as one page. */
  spaces?: unknown[];
  /** What each catalogue route lists; an absent one lists nothing. */
  catalog?: Partial<
    Record<'instance-types' | 'images' | 'app-types', unknown[]>
  >;
  /** The API token `POST users` gives the user it makes (`secret-token`). */
  token?: string;
}

/**
 * A handler answering as `domain` what a home loads (`GET me`, the
 * catalogue, `GET spaces`) and the users routes (`POST users` makes the user
 * asked for). `more` answers first, for a spec's own routes (`route` is the
 * path below `spaces/api/`); what neither answers is a 404.
 */
export function domainHandler(
  domain: IFakeDomain,
  more?: (req: IRecordedRequest, route: string) => IFakeResponse | undefined
): Handler {
  return req => {
    const route = req.path.replace('/base/spaces/api/', '');
    return (
      more?.(req, route) ??
      domainAnswer(domain, req, route) ?? {
        status: 404,
        body: { message: 'No such thing.', reason: 'not_found' }
      }
    );
  };
}

function domainAnswer(
  domain: IFakeDomain,
  req: IRecordedRequest,
  route: string
): IFakeResponse | undefined {
  if (route === 'me') {
    return { body: domain.me };
  }
  if (
    route === 'instance-types' ||
    route === 'images' ||
    route === 'app-types'
  ) {
    return { body: { items: domain.catalog?.[route] ?? [] } };
  }
  if (route === 'spaces') {
    return { body: { items: domain.spaces ?? [], next_cursor: null } };
  }
  if (route === 'users' && req.method === 'GET') {
    return { body: { items: [domain.me], next_cursor: null } };
  }
  if (route === 'users' && req.method === 'POST') {
    const { password: _, ...asked } = req.body as IUser & { password?: string }; // eslint-disable-line @typescript-eslint/no-unused-vars
    return {
      status: 201,
      headers: { Location: `/base/spaces/api/users/${asked.name}` },
      body: {
        ...makeUser(asked.name),
        ...asked,
        token: domain.token ?? 'secret-token'
      }
    };
  }
  return undefined;
}

/** A space as the server would send it. */
export function makeSpace(name: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    display_name: name,
    owner: 'alice',
    sharing: 'private',
    app_type: 'jupyterlab',
    instance_type: 'small',
    image: 'default',
    volume_gb: 5,
    idle_timeout_minutes: 60,
    status: 'stopped',
    failure_reason: null,
    created: '2024-01-01T00:00:00Z',
    updated: '2024-01-01T00:00:00Z',
    last_activity: '2024-01-01T00:00:00Z',
    role: 'owner',
    url: `/base/spaces/${name}/`,
    volume_used_bytes: 0,
    ...extra
  };
}
