/**
 * Small pure helpers of the UI: field errors from the server's 422 messages,
 * what may be changed and why not, formatting of times and sizes.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { ISpace, SpacesApiError, SpaceStatus } from './api';

/** Errors by form field (`''` for the form as a whole). */
export type FieldErrors = Record<string, string>;

/**
 * Map an API error onto a form's fields: a 400/422 names its field (the
 * server's `field`), and a taken name is a 409 naming it. Unknown fields and
 * other errors go to `''` (shown above the buttons).
 */
export function fieldErrors(
  error: unknown,
  fields: ReadonlyArray<string>
): FieldErrors {
  const message =
    error instanceof Error ? error.message : String(error ?? 'Error');
  if (error instanceof SpacesApiError) {
    if (
      (error.status === 422 || error.status === 400) &&
      error.field &&
      fields.includes(error.field)
    ) {
      return { [error.field]: message };
    }
    if (
      error.status === 409 &&
      fields.includes('name') &&
      /name/i.test(message)
    ) {
      return { name: message };
    }
  }
  return { '': message };
}

/** Settings other than the display name change only while stopped or failed. */
export const EDITABLE_STATUSES: ReadonlyArray<SpaceStatus> = [
  'stopped',
  'failed'
];

/** Why a space's compute settings cannot change now (`null` when they can). */
export function settingsLockedReason(
  space: ISpace,
  trans: TranslationBundle
): string | null {
  if (space.role !== 'owner' && space.role !== null) {
    return trans.__('Only the owner (or an admin) can change settings.');
  }
  if (!EDITABLE_STATUSES.includes(space.status)) {
    return trans.__(
      'Instance type, image and volume size can change only while the space is stopped (it is %1).',
      statusLabel(space.status, trans)
    );
  }
  return null;
}

/** Whether the caller may start or stop a space (viewers may not). */
export function canRun(space: ISpace): boolean {
  return space.role === 'owner' || space.role === 'editor';
}

/** Whether the caller may open a space's app. */
export function canOpen(space: ISpace): boolean {
  return space.url !== null && space.status === 'running';
}

/** A status in words. */
export function statusLabel(
  status: SpaceStatus,
  trans: TranslationBundle
): string {
  switch (status) {
    case 'stopped':
      return trans.__('Stopped');
    case 'starting':
      return trans.__('Starting');
    case 'running':
      return trans.__('Running');
    case 'stopping':
      return trans.__('Stopping');
    case 'updating':
      return trans.__('Updating');
    case 'failed':
      return trans.__('Failed');
    case 'deleting':
      return trans.__('Deleting');
    default:
      return String(status);
  }
}

/** A sharing mode in words. */
export function sharingLabel(
  sharing: string,
  trans: TranslationBundle
): string {
  return sharing === 'shared' ? trans.__('Shared') : trans.__('Private');
}

/** A role in words. */
export function roleLabel(
  role: string | null,
  trans: TranslationBundle
): string {
  switch (role) {
    case 'owner':
      return trans.__('Owner');
    case 'editor':
      return trans.__('Editor');
    case 'viewer':
      return trans.__('Viewer');
    default:
      return trans.__('No access');
  }
}

/**
 * "5 minutes ago"-style time, relative to `now` (ms since epoch).
 * `null` or unparsable input gives `'—'`.
 */
export function relativeTime(
  iso: string | null,
  trans: TranslationBundle,
  now: number = Date.now()
): string {
  if (!iso) {
    return '—';
  }
  const then = Date.parse(iso);
  if (Number.isNaN(then)) {
    return '—';
  }
  const seconds = Math.round((now - then) / 1000);
  if (seconds < 45) {
    return trans.__('just now');
  }
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) {
    return trans._n('%1 minute ago', '%1 minutes ago', minutes);
  }
  const hours = Math.round(minutes / 60);
  if (hours < 24) {
    return trans._n('%1 hour ago', '%1 hours ago', hours);
  }
  const days = Math.round(hours / 24);
  return trans._n('%1 day ago', '%1 days ago', days);
}

/** Bytes in human units (binary). */
export function formatBytes(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes)) {
    return '—';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Initials of a display name, for people the server gave none. */
export function initialsOf(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (!words.length) {
    return '?';
  }
  if (words.length === 1) {
    return words[0].slice(0, 2).toUpperCase();
  }
  return (words[0][0] + words[words.length - 1][0]).toUpperCase();
}

/** Lower-case text match of a space against a search string. */
export function matchesSearch(space: ISpace, search: string): boolean {
  const needle = search.trim().toLowerCase();
  if (!needle) {
    return true;
  }
  return [space.name, space.display_name, space.owner].some(value =>
    value.toLowerCase().includes(needle)
  );
}
