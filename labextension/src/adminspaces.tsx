/**
 * All spaces (admin): every space's metadata; stop, resize and delete.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { IAdminProps } from './admin';
import { ISpace } from './api';
import { resizeChanges, resizeLockedReason } from './adminmodel';
import { HomeModel } from './homemodel';
import {
  CancelSubmit,
  Field,
  FormError,
  InputField,
  Modal,
  useSend
} from './modal';
import {
  AppName,
  IRowAction,
  ISpaceColumn,
  SpaceTable,
  statusColumn,
  TimeCell
} from './spacetable';
import { formatBytes, sharingLabel } from './util';

/** Every space of the domain: owner, status, size and activity; stop, resize, delete. */
export function AllSpacesView(
  props: IAdminProps & {
    onStop: (space: ISpace) => void;
    onDelete: (space: ISpace) => void;
    search: React.ReactNode;
  }
): JSX.Element {
  const { model, trans } = props;
  const [resizing, setResizing] = React.useState<string | null>(null);
  const now = Date.now();
  const columns: ISpaceColumn[] = [
    {
      header: trans.__('Name'),
      cell: space => (
        <td>
          <div className="jp-SpacesRow-name">{space.display_name}</div>
          <div className="jp-SpacesMuted">{space.name}</div>
        </td>
      )
    },
    { header: trans.__('Owner'), cell: space => <td>{space.owner}</td> },
    {
      header: trans.__('Sharing'),
      cell: space => <td>{sharingLabel(space.sharing, trans)}</td>
    },
    {
      header: trans.__('App'),
      cell: space => (
        <td>
          <AppName appType={space.app_type} appTypes={model.catalog.appTypes} />
        </td>
      )
    },
    statusColumn(name => model.spaces.progress(name), trans),
    {
      header: trans.__('Instance'),
      cell: space => <td>{space.instance_type}</td>
    },
    {
      header: trans.__('Volume'),
      cell: space => (
        <td className="jp-SpacesVolume">
          {trans.__(
            '%1 of %2 GiB',
            formatBytes(space.volume_used_bytes),
            space.volume_gb
          )}
        </td>
      )
    },
    {
      header: trans.__('Last activity'),
      cell: space => (
        <TimeCell time={space.last_activity} now={now} trans={trans} />
      )
    }
  ];
  const actions = (space: ISpace): IRowAction[] => {
    const locked = resizeLockedReason(space, trans);
    return [
      {
        label: trans.__('Stop'),
        disabled: space.status !== 'running' && space.status !== 'starting',
        onClick: () => props.onStop(space)
      },
      {
        label: trans.__('Resize'),
        disabled: locked !== null,
        title: locked ?? trans.__('Change the instance type or volume size'),
        onClick: () => setResizing(space.name)
      },
      {
        label: trans.__('Delete'),
        kind: 'warn',
        disabled: locked !== null,
        title: locked
          ? trans.__('Stop the space before deleting it.')
          : undefined,
        onClick: () => props.onDelete(space)
      }
    ];
  };
  const target = resizing ? model.spaces.get(resizing) : undefined;
  return (
    <section
      className="jp-SpacesList jp-SpacesAll"
      aria-label={trans.__('All spaces')}
    >
      <div className="jp-SpacesToolbar">
        {props.search}
        <span className="jp-SpacesMuted">
          {trans.__(
            'Metadata of every space in the domain. Private spaces of others cannot be opened.'
          )}
        </span>
      </div>
      <SpaceTable
        spaces={model.allSpaces}
        columns={columns}
        actions={actions}
        trans={trans}
        empty={trans.__('No spaces.')}
      />
      {target && (
        <ResizeDialog
          space={target}
          model={model}
          trans={trans}
          onClose={() => setResizing(null)}
        />
      )}
    </section>
  );
}

function ResizeDialog(props: {
  space: ISpace;
  model: HomeModel;
  trans: TranslationBundle;
  onClose: () => void;
}): JSX.Element {
  const { space, model, trans } = props;
  const types = model.catalog.instanceTypes;
  const [instanceType, setInstanceType] = React.useState(space.instance_type);
  const [volumeGb, setVolumeGb] = React.useState(String(space.volume_gb));
  const { errors, setErrors, busy, send } = useSend(
    ['instance_type', 'volume_gb'],
    props.onClose
  );
  const locked = resizeLockedReason(space, trans);
  const submit = async () => {
    const { body, errors } = resizeChanges(
      space,
      { instanceType, volumeGb },
      types,
      trans
    );
    setErrors(errors);
    if (Object.keys(errors).length) {
      return;
    }
    if (!Object.keys(body).length) {
      props.onClose();
      return;
    }
    await send(() => model.spaces.update(space.name, body));
  };
  return (
    <Modal
      title={trans.__('Resize %1', space.display_name)}
      className="jp-SpacesResizeDialog"
      onClose={props.onClose}
      onSubmit={submit}
      footer={
        <CancelSubmit
          cancel={trans.__('Cancel')}
          submit={trans.__('Resize')}
          busy={busy || locked !== null}
          onCancel={props.onClose}
        />
      }
    >
      <p className="jp-SpacesMuted">
        {trans.__(
          '%1 (%2), owned by %3.',
          space.display_name,
          space.name,
          space.owner
        )}
      </p>
      {locked && <div className="jp-SpacesForm-note">{locked}</div>}
      <Field label={trans.__('Instance type')} error={errors.instance_type}>
        <select
          className="jp-mod-styled"
          value={instanceType}
          disabled={locked !== null}
          onChange={e => setInstanceType(e.target.value)}
        >
          {types.map(t => (
            <option
              key={t.name}
              value={t.name}
              disabled={!t.available && t.name !== space.instance_type}
            >
              {t.display_name}
            </option>
          ))}
        </select>
      </Field>
      <InputField
        label={trans.__('Volume size (GiB)')}
        error={errors.volume_gb}
        help={trans.__(
          'Now %1 used. A smaller size works only if the files fit.',
          formatBytes(space.volume_used_bytes)
        )}
        type="number"
        min={1}
        step={1}
        value={volumeGb}
        disabled={locked !== null}
        onChange={e => setVolumeGb(e.target.value)}
      />
      <FormError error={errors['']} />
    </Modal>
  );
}
