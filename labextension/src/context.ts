/**
 * Where the extension runs: in the domain (the spaces home), inside a space's
 * JupyterLab, or in a plain JupyterLab that knows nothing of spaces.
 *
 * Decision (see README): the server tells us through page config when it
 * can (`spacesContext`, `spacesName`, `spacesDomainBaseUrl`); otherwise the
 * base URL decides: a space's server is served at `<domain base>spaces/<name>/`,
 * so a base URL of that shape is space `<name>` and its prefix is the domain's
 * base URL. Anything else is the domain if `GET <base>spaces/api/me` answers.
 */
import { URLExt } from '@jupyterlab/coreutils';

/** Space names reserved by the domain (they are its own pages). */
export const RESERVED_NAMES: ReadonlyArray<string> = ['api', 'home', 'static'];

/** The pattern of a space name (as the server validates it). */
export const SPACE_NAME_PATTERN = /^[a-z0-9](-?[a-z0-9]){0,62}$/;

/** The page-config keys the server may set. */
export namespace PageConfigKeys {
  /** `domain` or `space`. */
  export const context = 'spacesContext';
  /** The space's name (in a space). */
  export const name = 'spacesName';
  /** The domain's base URL, e.g. `/` or `/jupyter/` (in a space). */
  export const domainBaseUrl = 'spacesDomainBaseUrl';
  /** `own` (each space its own origin) or `path` (the domain's), in the home. */
  export const origins = 'spacesOrigins';
  /** The caller's role in the space (`viewer`: no kernels, sessions or terminals). */
  export const role = 'spacesRole';
}

/** What the extension knows about where it runs. */
export interface ISpacesContext {
  /** `unknown` until the domain API has answered (see {@link detectContext}). */
  kind: 'domain' | 'space' | 'unknown';
  /** The domain server's base URL (absolute when the input was). */
  domainBaseUrl: string;
  /** The space this JupyterLab belongs to, if any. */
  spaceName: string | null;
}

/**
 * Decide from page config and the base URL (no request made).
 *
 * @param baseUrl - the server's base URL (`PageConfig.getBaseUrl()`).
 * @param getOption - reads a page-config option (`''` when absent).
 */
export function detectContext(
  baseUrl: string,
  getOption: (key: string) => string
): ISpacesContext {
  const declared = getOption(PageConfigKeys.context);
  const declaredName = getOption(PageConfigKeys.name);
  const declaredDomain = getOption(PageConfigKeys.domainBaseUrl);
  if (declared === 'domain') {
    return { kind: 'domain', domainBaseUrl: baseUrl, spaceName: null };
  }
  const parsed = spaceFromBaseUrl(baseUrl);
  if (declared === 'space' && declaredName) {
    return {
      kind: 'space',
      spaceName: declaredName,
      domainBaseUrl: declaredDomain
        ? absoluteLike(baseUrl, declaredDomain)
        : (parsed?.domainBaseUrl ?? baseUrl)
    };
  }
  if (parsed) {
    return { kind: 'space', ...parsed };
  }
  return { kind: 'unknown', domainBaseUrl: baseUrl, spaceName: null };
}

/**
 * Split `<domain base>spaces/<name>/` into its parts; `null` for any other
 * shape (or a reserved name, which is one of the domain's own pages).
 */
export function spaceFromBaseUrl(
  baseUrl: string
): { domainBaseUrl: string; spaceName: string } | null {
  const match = /^(.*\/)spaces\/([^/?#]+)\/?$/.exec(baseUrl);
  if (!match) {
    return null;
  }
  const name = decodeURIComponent(match[2]);
  if (!SPACE_NAME_PATTERN.test(name) || RESERVED_NAMES.includes(name)) {
    return null;
  }
  return { domainBaseUrl: match[1], spaceName: name };
}

/** Resolve `path` (e.g. `/jupyter/`) against an absolute `baseUrl`'s origin. */
function absoluteLike(baseUrl: string, path: string): string {
  if (path.startsWith('/') && /^[a-z]+:\/\//i.test(baseUrl)) {
    return new URL(baseUrl).origin + path;
  }
  return path;
}

/**
 * Whether a space's page is served on the space's own origin
 * (`{space}.localhost`, `{space}.spaces.example.org`): its host name's first
 * label is the space's name. There the domain answers about this space only
 * (the switcher cannot list the others); in path mode the page is on the
 * domain's origin.
 */
export function onOwnOrigin(spaceName: string, hostname: string): boolean {
  return hostname.toLowerCase().startsWith(`${spaceName}.`);
}

/** The URL of a space's JupyterLab (`url + 'lab'`). */
export function labUrl(spaceUrl: string): string {
  return URLExt.join(spaceUrl, 'lab');
}

/** The URL of the spaces home (the domain's JupyterLab). */
export function homeLabUrl(domainBaseUrl: string): string {
  return URLExt.join(domainBaseUrl, 'lab');
}

/** The query parameter that makes the home open its create dialog. */
export const NEW_SPACE_PARAM = 'spaces-new';
