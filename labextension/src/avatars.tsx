/**
 * Collaborator avatars: coloured circles with initials of the people present
 * in a shared space (tooltip: display name and the document they have open).
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IPresence, IUser } from './api';
import { PresenceModel } from './presence';
import { initialsOf } from './util';

/** How many circles are shown before "+N". */
export const MAX_AVATARS = 5;

/** One person's circle. */
export function Avatar(props: {
  user: Pick<IUser, 'name' | 'display_name'> &
    Partial<Pick<IUser, 'initials' | 'color'>>;
  title?: string;
}): JSX.Element {
  const { user } = props;
  return (
    <span
      className="jp-SpacesAvatar"
      style={{ backgroundColor: user.color || 'var(--jp-layout-color3)' }}
      title={props.title ?? user.display_name}
      aria-label={props.title ?? user.display_name}
      role="img"
    >
      {user.initials || initialsOf(user.display_name || user.name)}
    </span>
  );
}

/** The tooltip of a person present: name, and the documents open if any. */
export function presenceTitle(
  person: IPresence,
  trans: TranslationBundle
): string {
  const name = person.user.display_name || person.user.name;
  const documents = person.documents ?? [];
  return documents.length
    ? trans.__('%1 — %2', name, documents.join(', '))
    : trans.__('%1 — no document open', name);
}

/** The circles of everyone present. */
export function Avatars(props: {
  people: ReadonlyArray<IPresence>;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { people, trans } = props;
  if (!people.length) {
    return null;
  }
  const shown = people.slice(0, MAX_AVATARS);
  const rest = people.slice(MAX_AVATARS);
  return (
    <div
      className="jp-SpacesAvatars"
      role="list"
      aria-label={trans.__('People in this space')}
    >
      {shown.map(p => (
        <span role="listitem" key={p.user.name}>
          <Avatar user={p.user} title={presenceTitle(p, trans)} />
        </span>
      ))}
      {rest.length > 0 && (
        <span
          role="listitem"
          className="jp-SpacesAvatar jp-SpacesAvatar-more"
          title={rest.map(p => presenceTitle(p, trans)).join('\n')}
        >
          +{rest.length}
        </span>
      )}
    </div>
  );
}

/** The top-bar widget: avatars fed by a {@link PresenceModel}. */
export class AvatarsWidget extends ReactWidget {
  constructor(
    readonly model: PresenceModel,
    private _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-SpacesAvatarsWidget');
    model.changed.connect(this.update, this);
  }

  render(): JSX.Element | null {
    return <Avatars people={this.model.people} trans={this._trans} />;
  }

  dispose(): void {
    this.model.dispose();
    super.dispose();
  }
}
