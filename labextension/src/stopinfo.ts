/**
 * What stopping a space ends, for the confirmation: in a JupyterLab space its
 * running kernels and terminals (read through the domain's proxy with the
 * user's login, like the space's own JupyterLab reads them) and the unsaved
 * documents when the space stopped is the one this page belongs to; in a Code
 * Editor or MLflow space what that app runs and what its users lose; and the
 * reminder that resources started from the space elsewhere keep running.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';

import { ISpace } from './api';
import { canOpen } from './util';

/** What a stop would end. */
export interface IStopInfo {
  /** Whether the caller may look inside the space (admins may not, in another's private space). */
  listable: boolean;
  /** Running kernels, `null` when they could not be counted. */
  kernels: number | null;
  /** Open terminals, `null` when they could not be counted. */
  terminals: number | null;
  /** Paths of open documents with unsaved changes (this page's space only), or `null` if unknown. */
  unsaved: string[] | null;
}

/** Reads a JSON list from a URL: `{status, body}` (tests replace it). */
export type Fetcher = (url: string) => Promise<{ status: number; body: any }>;

/**
 * The count of a Jupyter server list answer: kernels and terminals are JSON
 * arrays; a missing terminals service (404) is none; anything else unknown.
 */
export function countOf(
  status: number,
  body: unknown,
  missingIsNone = false
): number | null {
  if (status === 200 && Array.isArray(body)) {
    return body.length;
  }
  if (status === 404 && missingIsNone) {
    return 0;
  }
  return null;
}

/** A fetcher through `ServerConnection` (login cookie, XSRF). */
export function makeFetcher(settings: ServerConnection.ISettings): Fetcher {
  return async (url: string) => {
    // makeRequest wants URLs under the server's (absolute) base URL
    const absolute = /^[a-z]+:\/\//i.test(settings.baseUrl)
      ? new URL(url, settings.baseUrl).href
      : url;
    const response = await ServerConnection.makeRequest(absolute, {}, settings);
    let body: any = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    return { status: response.status, body };
  };
}

/** Count a space's kernels and terminals (none fetched if it cannot be opened). */
export async function runningInSpace(
  space: ISpace,
  fetcher: Fetcher,
  unsaved: string[] | null = null
): Promise<IStopInfo> {
  // only JupyterLab has a kernels and terminals API to count with
  if (!canOpen(space) || !space.role || space.app_type !== 'jupyterlab') {
    return { listable: false, kernels: null, terminals: null, unsaved };
  }
  const get = async (path: string, missingIsNone: boolean) => {
    try {
      const { status, body } = await fetcher(
        URLExt.join(space.url!, 'api', path)
      );
      return countOf(status, body, missingIsNone);
    } catch {
      return null;
    }
  };
  const [kernels, terminals] = await Promise.all([
    get('kernels', false),
    get('terminals', true)
  ]);
  return { listable: true, kernels, terminals, unsaved };
}

/** The confirmation's text. */
export function stopMessage(
  space: ISpace,
  info: IStopInfo,
  trans: TranslationBundle
): string {
  const name = space.display_name || space.name;
  const kept = trans.__(
    'Resources started from inside the space elsewhere (cloud jobs, databases) keep running.'
  );
  switch (space.app_type) {
    case 'code-editor':
      return [
        trans.__(
          "Ending in “%1”: the Code Editor's terminals and its extension host, with every process started from them.",
          name
        ),
        trans.__(
          'Unsaved changes in its editors may be lost: save them first.'
        ),
        trans.__(
          "Files on its volume are kept, with VS Code's settings and extensions."
        ),
        kept
      ].join(' ');
    case 'mlflow':
      return [
        trans.__('Ending in “%1”: its MLflow tracking server.', name),
        trans.__(
          'Clients logging to it (notebooks, jobs) get errors until it is started again.'
        ),
        trans.__('Its experiments, runs and artifacts on its volume are kept.'),
        kept
      ].join(' ');
  }
  const parts: string[] = [];
  if (!info.listable) {
    parts.push(
      trans.__(
        'The kernels and terminals of “%1” cannot be listed (you cannot open this space); any running there end.',
        name
      )
    );
  } else if (info.kernels === null || info.terminals === null) {
    parts.push(
      trans.__('Any kernels and terminals running in “%1” end.', name)
    );
  } else {
    parts.push(
      trans.__(
        'Ending in “%1”: %2 and %3.',
        name,
        trans._n('%1 running kernel', '%1 running kernels', info.kernels),
        trans._n('%1 terminal', '%1 terminals', info.terminals)
      )
    );
  }
  if (info.unsaved === null) {
    parts.push(trans.__('Unsaved changes in its open documents are lost.'));
  } else if (info.unsaved.length) {
    parts.push(
      trans._n(
        '%1 open document has unsaved changes, which are lost: %2.',
        '%1 open documents have unsaved changes, which are lost: %2.',
        info.unsaved.length,
        info.unsaved.join(', ')
      )
    );
  } else {
    parts.push(trans.__('No open document has unsaved changes.'));
  }
  parts.push(trans.__('Files on its volume are kept.'), kept);
  return parts.join(' ');
}
