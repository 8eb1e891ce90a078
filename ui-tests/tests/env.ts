import * as path from 'path';

/**
 * Where the global setup keeps the logged-in browser states and the server's
 * details (`SPACES_UI_AUTH_DIR`: another directory, so that two runs from
 * one checkout do not share, or tear down, one domain).
 */
export const AUTH_DIR = process.env.SPACES_UI_AUTH_DIR
  ? path.resolve(process.env.SPACES_UI_AUTH_DIR)
  : path.resolve(__dirname, '..', '.auth');
export const SERVER_FILE = path.join(AUTH_DIR, 'server.json');

export interface IServerInfo {
  baseURL: string;
  dataDir: string;
  pid: number;
  log: string;
  /** API tokens by user name. */
  tokens: Record<string, string>;
}

/**
 * The domain's users: people, an admin, the screenshots' user and linus, the
 * editor who writes a booby-trapped notebook (xss.spec.ts).
 */
export const USERS = [
  { name: 'alice', display: 'Alice Archer', admin: false },
  { name: 'bob', display: 'Bob Baker', admin: false },
  { name: 'root', display: 'Rita Root', admin: true },
  { name: 'shot', display: 'Sam Shot', admin: false },
  { name: 'linus', display: 'Linus Lurker', admin: false }
] as const;

/**
 * The origin of a space (`http://{space}.localhost:PORT/`) for a domain at
 * `http://localhost:PORT/`, with a trailing slash.
 */
export function spaceOrigin(baseURL: string, name: string): string {
  const url = new URL(baseURL);
  return `${url.protocol}//${name}.${url.host}/`;
}

export type UserName = (typeof USERS)[number]['name'];
