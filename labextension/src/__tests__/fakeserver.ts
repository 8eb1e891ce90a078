/**
 * A fetch-level fake of the domain server for unit tests.
 *
 * The seam is `ServerConnection.ISettings.fetch`: the client under test
 * builds real `Request` objects through `ServerConnection.makeRequest`, and
 * this fake records them and answers with real `Response` objects.
 */
import { ServerConnection } from '@jupyterlab/services';

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
}

export type Handler = (
  request: IRecordedRequest
) => IFakeResponse | Promise<IFakeResponse>;

export const BASE_URL = 'http://example.test/base/';

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
    return new Response(payload, {
      status,
      headers: {
        'Content-Type': 'application/json',
        ...(answer.headers ?? {})
      }
    });
  }
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
    last_activity: null,
    role: 'owner',
    url: `/base/spaces/${name}/`,
    volume_used_bytes: 0,
    ...extra
  };
}
