/**
 * A space stopped under the page open in it: by its owner, another user, an
 * administrator, its idle timeout or a failure. Instead of JupyterLab's
 * "Kernel died" and "Disconnected", the page says what happened, by whom or
 * why, and offers what the user may do: start it again, or go back to the
 * spaces home.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { ISpace } from './api';
import { labUrl } from './context';
import { SpacesModel } from './model';

/** The query parameter that makes the home start a space and open it once it runs. */
export const START_SPACE_PARAM = 'spaces-start';

/** Statuses that end the page's session in the space. */
const GONE = ['stopping', 'stopped', 'failed', 'deleting'];

/**
 * Whether the change from `before` to `after` (undefined: the space is gone
 * or hidden) is the space stopping under a page that was using it.
 */
export function stoppedUnderYou(
  before: ISpace | undefined,
  after: ISpace | undefined
): boolean {
  if (!before || before.status !== 'running') {
    return false;
  }
  return after === undefined || GONE.includes(after.status);
}

/** What the dialog says. */
export interface IStopNotice {
  title: string;
  message: string;
  /** Whether "Start again" is offered (owners and editors start spaces). */
  canStart: boolean;
}

/** The notice for space `name` (now `space`, undefined when gone) seen by user `me`. */
export function stopNotice(
  name: string,
  space: ISpace | undefined,
  me: string | null,
  trans: TranslationBundle
): IStopNotice {
  const label = space?.display_name || name;
  if (!space || space.status === 'deleting') {
    return {
      title: trans.__('Space %1 is gone', label),
      message: trans.__(
        'This space was deleted, or you no longer have access to it.'
      ),
      canStart: false
    };
  }
  const cause = space.stopped_by ?? null;
  const failed = space.status === 'failed' || cause?.kind === 'failure';
  let why: string;
  if (failed) {
    why = space.failure_reason
      ? trans.__(
          'This space stopped unexpectedly: %1',
          // a sentence, whether or not the reason ends like one
          space.failure_reason.replace(/([^.!?])$/, '$1.')
        )
      : trans.__('This space stopped unexpectedly.');
  } else if (cause?.kind === 'idle') {
    why = trans.__(
      'This space was stopped after %1 minutes without activity.',
      cause.minutes ?? '?'
    );
  } else if (cause && cause.user && cause.user === me) {
    why = trans.__('You stopped this space (in another window or tab).');
  } else if (cause?.kind === 'admin') {
    why =
      cause.user && cause.user !== 'system'
        ? trans.__(
            'This space was stopped by an administrator (%1).',
            cause.user
          )
        : trans.__('This space was stopped by an administrator.');
  } else if (cause?.kind === 'owner') {
    why = trans.__(
      'This space was stopped by its owner, %1.',
      cause.user ?? ''
    );
  } else if (cause?.kind === 'user') {
    why = trans.__('This space was stopped by %1.', cause.user ?? '');
  } else {
    why = trans.__('This space was stopped.');
  }
  const canStart = space.role === 'owner' || space.role === 'editor';
  const next = canStart
    ? trans.__(
        'Its files are kept: start it again, or go back to your spaces. Unsaved changes in this page are lost.'
      )
    : trans.__(
        'Its files are kept. Go back to your spaces; an owner or editor can start it again.'
      );
  return {
    title: failed
      ? trans.__('Space %1 failed', label)
      : trans.__('Space %1 was stopped', label),
    message: `${why} ${next}`,
    canStart
  };
}

/** In the home: start space `name` if it is stopped, and open it once it runs. */
export async function startAndOpen(
  model: SpacesModel,
  name: string,
  go: (url: string) => void
): Promise<void> {
  const space = model.get(name);
  if (!space) {
    return;
  }
  if (space.status === 'stopped' || space.status === 'failed') {
    try {
      await model.start(name);
    } catch {
      return; // the home shows the error
    }
  }
  const opened = () => {
    const now = model.get(name);
    if (now?.status === 'running' && now.url) {
      model.changed.disconnect(opened);
      go(labUrl(now.url));
    } else if (!now || now.status === 'failed' || now.status === 'stopped') {
      model.changed.disconnect(opened);
    }
  };
  model.changed.connect(opened);
  opened();
}
