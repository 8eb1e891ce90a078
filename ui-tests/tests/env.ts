import * as path from 'path';

/** Where the global setup keeps the logged-in browser states. */
export const AUTH_DIR = path.resolve(__dirname, '..', '.auth');
export const SERVER_FILE = path.join(AUTH_DIR, 'server.json');

export interface IServerInfo {
  baseURL: string;
  dataDir: string;
  pid: number;
  log: string;
  /** API tokens by user name. */
  tokens: Record<string, string>;
}

/** The domain's users: two people and an admin. */
export const USERS = [
  { name: 'alice', display: 'Alice Archer', admin: false },
  { name: 'bob', display: 'Bob Baker', admin: false },
  { name: 'root', display: 'Rita Root', admin: true },
  { name: 'shot', display: 'Sam Shot', admin: false }
] as const;

export type UserName = (typeof USERS)[number]['name'];
