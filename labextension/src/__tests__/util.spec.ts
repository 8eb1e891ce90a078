import { ISpace, SpacesApiError } from '../api';
import {
  canOpen,
  canRun,
  fieldErrors,
  formatBytes,
  initialsOf,
  matchesSearch,
  relativeTime,
  settingsLockedReason
} from '../util';
import { makeSpace } from './fakeserver';
import { trans } from './trans';

const space = (extra: Record<string, unknown> = {}) =>
  makeSpace('s', extra) as unknown as ISpace;

describe('fieldErrors', () => {
  const fields = ['name', 'volume_gb'];

  it('puts a 422 on the field the server names', () => {
    const error = new SpacesApiError(
      'The name may contain only lowercase letters (a-z), digits and single hyphens.',
      422,
      'invalid',
      null,
      'name'
    );
    expect(fieldErrors(error, fields)).toEqual({ name: error.message });
    const volume = new SpacesApiError(
      'The volume size must be at least 1 GiB.',
      422,
      'invalid',
      null,
      'volume_gb'
    );
    expect(fieldErrors(volume, fields)).toEqual({ volume_gb: volume.message });
  });

  it('reads the field from the response body', async () => {
    const response = new Response(
      JSON.stringify({
        message: 'The volume size must be at least 1 GiB.',
        reason: 'invalid',
        field: 'volume_gb'
      }),
      { status: 422 }
    );
    const error = await SpacesApiError.fromResponse(response);
    expect(error.field).toBe('volume_gb');
    expect(fieldErrors(error, fields)).toEqual({
      volume_gb: 'The volume size must be at least 1 GiB.'
    });
  });

  it('puts a taken name on the name field', () => {
    const error = new SpacesApiError(
      "The name 's1' is taken; choose another.",
      409,
      'conflict'
    );
    expect(fieldErrors(error, fields)).toEqual({ name: error.message });
  });

  it('puts everything else on the form', () => {
    const other = new SpacesApiError(
      "Unknown image 'x'.",
      422,
      'invalid',
      null,
      'image'
    );
    expect(fieldErrors(other, fields)).toEqual({ '': other.message });
    expect(fieldErrors(new Error('boom'), fields)).toEqual({ '': 'boom' });
  });
});

describe('permissions and locks', () => {
  it('locks compute settings unless stopped or failed, and says why', () => {
    expect(settingsLockedReason(space(), trans)).toBeNull();
    expect(settingsLockedReason(space({ status: 'failed' }), trans)).toBeNull();
    expect(settingsLockedReason(space({ status: 'running' }), trans)).toBe(
      'Instance type, image and volume size can change only while the space is stopped (it is Running).'
    );
    expect(settingsLockedReason(space({ role: 'editor' }), trans)).toMatch(
      /owner/
    );
    // an admin's metadata view (role null) may change settings
    expect(settingsLockedReason(space({ role: null }), trans)).toBeNull();
  });

  it('lets owners and editors run, and opens running spaces with a URL', () => {
    expect(canRun(space({ role: 'viewer' }))).toBe(false);
    expect(canRun(space({ role: 'editor' }))).toBe(true);
    expect(canOpen(space())).toBe(false);
    expect(canOpen(space({ status: 'running' }))).toBe(true);
    expect(canOpen(space({ status: 'running', url: null }))).toBe(false);
  });
});

describe('formatting', () => {
  it('words times relative to now', () => {
    const now = Date.parse('2024-01-02T00:00:00Z');
    expect(relativeTime(null, trans, now)).toBe('—');
    expect(relativeTime('garbage', trans, now)).toBe('—');
    expect(relativeTime('2024-01-01T23:59:50Z', trans, now)).toBe('just now');
    expect(relativeTime('2024-01-01T23:55:00Z', trans, now)).toBe(
      '5 minutes ago'
    );
    expect(relativeTime('2024-01-01T23:00:00Z', trans, now)).toBe('1 hour ago');
    expect(relativeTime('2023-12-30T00:00:00Z', trans, now)).toBe('3 days ago');
  });

  it('formats bytes and initials, and searches name, title and owner', () => {
    expect(formatBytes(null)).toBe('—');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(initialsOf('Ada Lovelace')).toBe('AL');
    expect(initialsOf('ada')).toBe('AD');
    expect(initialsOf(' ')).toBe('?');
    const s = space({ display_name: 'Team Analysis', owner: 'grace' });
    expect(matchesSearch(s, 'analysis')).toBe(true);
    expect(matchesSearch(s, 'GRACE')).toBe(true);
    expect(matchesSearch(s, 'nope')).toBe(false);
    expect(matchesSearch(s, '  ')).toBe(true);
  });
});
