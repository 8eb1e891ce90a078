/**
 * The tables of the spaces home: a table of spaces whose columns and row
 * actions each view chooses, and the cells and buttons the views share.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IAppTypeInfo, ISpace } from './api';
import { appIcon, appInfo } from './apps';
import { relativeTime, statusLabel } from './util';

/** A row's action: a small button. */
export interface IRowAction {
  label: string;
  onClick: (event: React.MouseEvent) => void;
  disabled?: boolean;
  /** Why it is disabled, or what it does. */
  title?: string;
  /** The button's emphasis (JupyterLab's `jp-mod-accept` / `jp-mod-warn`). */
  kind?: 'accept' | 'warn';
}

/** The buttons of a row's actions cell. */
export function RowActions(props: { actions: IRowAction[] }): JSX.Element {
  return (
    <td className="jp-SpacesActions">
      {props.actions.map(action => (
        <button
          key={action.label}
          className={`jp-SpacesSmallButton${action.kind ? ` jp-mod-${action.kind}` : ''}`}
          disabled={action.disabled}
          title={action.title}
          onClick={action.onClick}
        >
          {action.label}
        </button>
      ))}
    </td>
  );
}

/** The header of the actions column (named for screen readers only). */
export function ActionsHeader(props: {
  trans: TranslationBundle;
}): JSX.Element {
  return (
    <th>
      <span className="jp-SpacesVisuallyHidden">
        {props.trans.__('Actions')}
      </span>
    </th>
  );
}

/** An app's icon (decorative: its name is said beside it or elsewhere). */
export function AppIcon(props: {
  appType: string;
  appTypes?: ReadonlyArray<IAppTypeInfo>;
}): JSX.Element {
  const icon = appIcon(props.appType, props.appTypes);
  return (
    <span className="jp-SpacesApp-icon" data-app={props.appType} aria-hidden>
      <icon.react tag="span" />
    </span>
  );
}

/** An app with its icon (the catalogue's name for it, else its id). */
export function AppName(props: {
  appType: string;
  appTypes: ReadonlyArray<IAppTypeInfo>;
}): JSX.Element {
  return (
    <span className="jp-SpacesApp" data-app={props.appType}>
      <AppIcon appType={props.appType} appTypes={props.appTypes} />
      {appInfo(props.appType, props.appTypes)?.display_name ?? props.appType}
    </span>
  );
}

/** A time as "5 minutes ago", the exact time in its tooltip. */
export function TimeCell(props: {
  time: string | null;
  now: number;
  trans: TranslationBundle;
}): JSX.Element {
  return (
    <td className="jp-SpacesTime" title={props.time ?? undefined}>
      {relativeTime(props.time, props.trans, props.now)}
    </td>
  );
}

/** A status cell: the word, and a progress bar while starting or stopping. */
export function StatusCell(props: {
  space: ISpace;
  progress: { percent: number; message: string } | null;
  trans: TranslationBundle;
}): JSX.Element {
  const { space, progress, trans } = props;
  return (
    <div className="jp-SpacesStatusCell">
      <span
        className={`jp-SpacesStatus jp-SpacesStatus-${space.status}`}
        title={space.failure_reason ?? undefined}
      >
        {statusLabel(space.status, trans)}
      </span>
      {progress && (
        <div
          className="jp-SpacesProgress"
          role="progressbar"
          aria-label={trans.__('Progress of %1', space.display_name)}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(progress.percent)}
          aria-valuetext={progress.message || undefined}
          title={progress.message}
        >
          <div
            className="jp-SpacesProgress-bar"
            style={{ width: `${progress.percent}%` }}
          />
        </div>
      )}
      {progress?.message && (
        <div className="jp-SpacesProgress-message">{progress.message}</div>
      )}
      {space.status === 'failed' && space.failure_reason && (
        <div className="jp-SpacesProgress-message">{space.failure_reason}</div>
      )}
    </div>
  );
}

/** A column of a {@link SpaceTable}: its header and its cell (a `<td>`). */
export interface ISpaceColumn {
  header: string;
  cell: (space: ISpace) => JSX.Element;
}

/** The status column of the spaces tables, with a space's start or stop progress. */
export function statusColumn(
  progress: (name: string) => { percent: number; message: string } | null,
  trans: TranslationBundle
): ISpaceColumn {
  return {
    header: trans.__('Status'),
    cell: space => (
      <td>
        <StatusCell
          space={space}
          progress={progress(space.name)}
          trans={trans}
        />
      </td>
    )
  };
}

export interface ISpaceTableProps {
  spaces: ReadonlyArray<ISpace>;
  columns: ISpaceColumn[];
  /** The actions of a space's row. */
  actions: (space: ISpace) => IRowAction[];
  /** What the table says when it has no rows. */
  empty: React.ReactNode;
  rowClassName?: string;
  trans: TranslationBundle;
}

/** A table of spaces, one row each (`data-space` is the space's name). */
export function SpaceTable(props: ISpaceTableProps): JSX.Element {
  const { spaces, columns } = props;
  return (
    <table className="jp-SpacesTable">
      <thead>
        <tr>
          {columns.map(column => (
            <th key={column.header}>{column.header}</th>
          ))}
          <ActionsHeader trans={props.trans} />
        </tr>
      </thead>
      <tbody>
        {spaces.map(space => (
          <tr
            key={space.name}
            data-space={space.name}
            className={props.rowClassName}
          >
            {columns.map(column => (
              <React.Fragment key={column.header}>
                {column.cell(space)}
              </React.Fragment>
            ))}
            <RowActions actions={props.actions(space)} />
          </tr>
        ))}
        {!spaces.length && (
          <tr>
            <td colSpan={columns.length + 1} className="jp-SpacesEmpty">
              {props.empty}
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}
