/**
 * The "Create space" and "Space settings" dialogs. Choices come from the
 * catalogue routes; what the server refuses is explained next to the field
 * it names (see {@link fieldErrors}).
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import {
  AppType,
  ICreateSpace,
  IImage,
  ISpace,
  IUpdateSpace,
  Sharing
} from './api';
import { ICatalog } from './homemodel';
import {
  CancelSubmit,
  Field,
  FormError,
  InputField,
  Modal,
  useSend
} from './modal';
import { AppIcon } from './spacetable';
import { FieldErrors, settingsLockedReason } from './util';

const CREATE_FIELDS = [
  'name',
  'display_name',
  'sharing',
  'app_type',
  'instance_type',
  'image',
  'volume_gb',
  'idle_timeout_minutes'
];

/** The create form's values (strings as typed). */
export interface ICreateFormValues {
  name: string;
  display_name: string;
  sharing: Sharing;
  app_type: AppType;
  instance_type: string;
  image: string;
  volume_gb: string;
  /** Minutes; empty for the domain's default. */
  idle_timeout_minutes: string;
}

/** The form's first values: the first available choice of each catalogue. */
export function defaultCreateValues(catalog: ICatalog): ICreateFormValues {
  const app = catalog.appTypes.find(a => a.available);
  const instance = catalog.instanceTypes.find(i => i.available);
  const image = catalog.images.find(i => i.available) ?? catalog.images[0];
  return {
    name: '',
    display_name: '',
    sharing: 'private',
    app_type: (app?.name ?? 'jupyterlab') as AppType,
    instance_type: instance?.name ?? '',
    image: image?.name ?? '',
    volume_gb: '5',
    idle_timeout_minutes: ''
  };
}

/**
 * A number as typed: a whole number, or else the text itself, sent as
 * typed so that the server explains it.
 */
function wholeValue(typed: string): number {
  const n = Number(typed);
  return (Number.isInteger(n) ? n : typed) as unknown as number;
}

/** The request body for the form's values. */
export function createBody(values: ICreateFormValues): ICreateSpace {
  const body: ICreateSpace = {
    name: values.name.trim(),
    sharing: values.sharing,
    app_type: values.app_type
  };
  if (values.display_name.trim()) {
    body.display_name = values.display_name.trim();
  }
  if (values.instance_type) {
    body.instance_type = values.instance_type;
  }
  if (values.image) {
    body.image = values.image;
  }
  if (values.volume_gb.trim()) {
    body.volume_gb = wholeValue(values.volume_gb);
  }
  if (values.idle_timeout_minutes.trim()) {
    body.idle_timeout_minutes = wholeValue(values.idle_timeout_minutes);
  }
  return body;
}

export interface ICreateSpaceDialogProps {
  catalog: ICatalog;
  trans: TranslationBundle;
  onCreate: (body: ICreateSpace) => Promise<unknown>;
  onClose: () => void;
}

export function CreateSpaceDialog(props: ICreateSpaceDialogProps): JSX.Element {
  const { catalog, trans } = props;
  const [values, setValues] = React.useState(() =>
    defaultCreateValues(catalog)
  );
  const { errors, setErrors, busy, send } = useSend(
    CREATE_FIELDS,
    props.onClose
  );
  const set =
    (key: keyof ICreateFormValues) =>
    (event: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => {
      setValues({ ...values, [key]: event.target.value });
      if (errors[key] || errors['']) {
        const { [key]: _dropped, '': _form, ...rest } = errors; // eslint-disable-line @typescript-eslint/no-unused-vars
        setErrors(rest);
      }
    };
  const submit = () => send(() => props.onCreate(createBody(values)));
  const app = catalog.appTypes.find(a => a.name === values.app_type);
  return (
    <Modal
      title={trans.__('Create space')}
      className="jp-SpacesCreateDialog"
      onClose={props.onClose}
      onSubmit={submit}
      footer={
        <CancelSubmit
          cancel={trans.__('Cancel')}
          submit={busy ? trans.__('Creating…') : trans.__('Create')}
          busy={busy}
          onCancel={props.onClose}
        />
      }
    >
      <InputField
        label={trans.__('Name')}
        error={errors.name}
        help={trans.__(
          'Up to 63 lowercase letters (a–z), digits and single hyphens, starting and ending with a letter or digit, such as “sales-model-2”. It is part of the space’s address and cannot change.'
        )}
        name="name"
        value={values.name}
        onChange={set('name')}
        autoComplete="off"
        spellCheck={false}
        required
      />
      <DisplayNameField
        trans={trans}
        error={errors.display_name}
        value={values.display_name}
        onChange={set('display_name')}
        placeholder={values.name}
      />
      <fieldset className="jp-SpacesField jp-SpacesSharing">
        <legend>{trans.__('Sharing')}</legend>
        <label>
          <input
            type="radio"
            name="sharing"
            value="private"
            checked={values.sharing === 'private'}
            onChange={set('sharing')}
          />
          {trans.__('Private')}
          <span className="jp-SpacesField-help">
            {trans.__('Only you can see and open it.')}
          </span>
        </label>
        <label>
          <input
            type="radio"
            name="sharing"
            value="shared"
            checked={values.sharing === 'shared'}
            onChange={set('sharing')}
          />
          {trans.__('Shared')}
          <span className="jp-SpacesField-help">
            {trans.__(
              'Everyone in the domain sees it; members edit together in real time.'
            )}
          </span>
        </label>
        {errors.sharing && (
          <div className="jp-SpacesField-error" role="alert">
            {errors.sharing}
          </div>
        )}
      </fieldset>
      <CatalogSelect
        label={trans.__('Application')}
        name="app_type"
        entries={catalog.appTypes}
        value={values.app_type}
        onChange={set('app_type')}
        error={errors.app_type}
        help={app && !app.available ? (app.reason ?? '') : undefined}
        before={
          <AppIcon appType={values.app_type} appTypes={catalog.appTypes} />
        }
        trans={trans}
      />
      <ComputeFields
        catalog={catalog}
        trans={trans}
        errors={errors}
        values={values}
        set={set}
        locked={null}
        idleOptional
      />
      <FormError error={errors['']} />
    </Modal>
  );
}

/** A change handler of the form's field `key`. */
type FieldSetter<K extends string> = (
  key: K
) => (event: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => void;

/** An entry of a catalogue (app types, instance types, images). */
interface ICatalogEntry {
  name: string;
  display_name: string;
  description?: string;
  available: boolean;
  reason?: string | null;
}

/** A field choosing one entry of a catalogue, named `name` in the form. */
function CatalogSelect(props: {
  label: string;
  name: string;
  entries: ICatalogEntry[];
  value: string;
  onChange: (event: React.ChangeEvent<HTMLSelectElement>) => void;
  error?: string;
  help?: string;
  before?: React.ReactNode;
  disabled?: boolean;
  trans: TranslationBundle;
}): JSX.Element {
  return (
    <Field
      label={props.label}
      error={props.error}
      help={props.help}
      before={props.before}
    >
      <select
        className="jp-mod-styled"
        name={props.name}
        value={props.value}
        onChange={props.onChange}
        disabled={props.disabled}
      >
        {props.entries.map(entry => (
          <CatalogOption key={entry.name} entry={entry} trans={props.trans} />
        ))}
      </select>
    </Field>
  );
}

/**
 * A catalogue entry as a choice, with its description if it has one; one
 * unavailable is disabled, with why.
 */
function CatalogOption(props: {
  entry: ICatalogEntry;
  trans: TranslationBundle;
}): JSX.Element {
  const { entry, trans } = props;
  const label = entry.description
    ? trans.__('%1 — %2', entry.display_name, entry.description)
    : entry.display_name;
  return (
    <option
      value={entry.name}
      disabled={!entry.available}
      title={entry.available ? undefined : (entry.reason ?? undefined)}
    >
      {entry.available
        ? label
        : trans.__('%1 — unavailable: %2', entry.display_name, entry.reason)}
    </option>
  );
}

/** The help under the image field: why the chosen image cannot run, or what is in it. */
export function imageHelp(
  image: IImage | undefined,
  trans: TranslationBundle
): string | undefined {
  if (!image) {
    return undefined;
  }
  if (!image.available) {
    return trans.__('Unavailable: %1', image.reason);
  }
  return image.description || undefined;
}

/** The display name field of both dialogs. */
function DisplayNameField(props: {
  trans: TranslationBundle;
  error?: string;
  value: string;
  onChange: (event: React.ChangeEvent<HTMLInputElement>) => void;
  placeholder?: string;
}): JSX.Element {
  return (
    <InputField
      label={props.trans.__('Display name')}
      error={props.error}
      name="display_name"
      value={props.value}
      onChange={props.onChange}
      placeholder={props.placeholder}
    />
  );
}

/**
 * The idle timeout of both dialogs; it may change while the space runs.
 * `optional`: empty means the domain's default (the create dialog).
 */
function IdleTimeoutField(props: {
  trans: TranslationBundle;
  error?: string;
  value: string;
  onChange: (event: React.ChangeEvent<HTMLInputElement>) => void;
  optional?: boolean;
  disabled?: boolean;
}): JSX.Element {
  const { trans } = props;
  return (
    <InputField
      label={trans.__('Idle timeout (minutes)')}
      error={props.error}
      help={
        props.optional
          ? trans.__(
              'Stop the space after this many minutes without activity; 0 never stops it. Empty: the domain’s default.'
            )
          : trans.__(
              'Stop the space after this many minutes without activity; 0 never stops it.'
            )
      }
      name="idle_timeout_minutes"
      type="number"
      min={0}
      max={10080}
      step={1}
      value={props.value}
      onChange={props.onChange}
      placeholder={props.optional ? trans.__('default') : undefined}
      disabled={props.disabled}
    />
  );
}

type ComputeKey =
  'instance_type' | 'image' | 'volume_gb' | 'idle_timeout_minutes';

/**
 * The compute fields shared by both dialogs: instance type, image and volume
 * (disabled while `locked` says why), and the idle timeout (`idleOptional`:
 * empty means the domain's default; `idleDisabled`: not the caller's to change).
 */
function ComputeFields(props: {
  catalog: ICatalog;
  trans: TranslationBundle;
  errors: FieldErrors;
  values: Record<ComputeKey, string>;
  set: FieldSetter<ComputeKey>;
  locked: string | null;
  idleOptional?: boolean;
  idleDisabled?: boolean;
}): JSX.Element {
  const { catalog, trans, errors, values, set, locked } = props;
  const instance = catalog.instanceTypes.find(
    i => i.name === values.instance_type
  );
  const image = catalog.images.find(i => i.name === values.image);
  return (
    <>
      <CatalogSelect
        label={trans.__('Instance type')}
        name="instance_type"
        entries={catalog.instanceTypes}
        value={values.instance_type}
        onChange={set('instance_type')}
        error={errors.instance_type}
        help={instance && !instance.available ? (instance.reason ?? '') : ''}
        disabled={!!locked}
        trans={trans}
      />
      <CatalogSelect
        label={trans.__('Image')}
        name="image"
        entries={catalog.images}
        value={values.image}
        onChange={set('image')}
        error={errors.image}
        help={imageHelp(image, trans)}
        disabled={!!locked}
        trans={trans}
      />
      <InputField
        label={trans.__('Volume size (GiB)')}
        error={errors.volume_gb}
        name="volume_gb"
        type="number"
        min={1}
        step={1}
        value={values.volume_gb}
        onChange={set('volume_gb')}
        disabled={!!locked}
      />
      <IdleTimeoutField
        trans={trans}
        error={errors.idle_timeout_minutes}
        value={values.idle_timeout_minutes}
        onChange={set('idle_timeout_minutes')}
        optional={props.idleOptional}
        disabled={props.idleDisabled}
      />
    </>
  );
}

const SETTINGS_FIELDS = [
  'display_name',
  'instance_type',
  'image',
  'volume_gb',
  'idle_timeout_minutes'
];

/**
 * Only what changed, as a `PATCH` body (compute fields only when unlocked;
 * the idle timeout, like the display name, may change while the space runs).
 */
export function settingsBody(
  space: ISpace,
  values: {
    display_name: string;
    instance_type: string;
    image: string;
    volume_gb: string;
    idle_timeout_minutes: string;
  },
  locked: boolean
): IUpdateSpace {
  const body: IUpdateSpace = {};
  if (values.display_name.trim() !== space.display_name) {
    body.display_name = values.display_name.trim();
  }
  const idle = values.idle_timeout_minutes.trim();
  if (idle && idle !== String(space.idle_timeout_minutes)) {
    body.idle_timeout_minutes = wholeValue(idle);
  }
  if (!locked) {
    if (values.instance_type !== space.instance_type) {
      body.instance_type = values.instance_type;
    }
    if (values.image !== space.image) {
      body.image = values.image;
    }
    if (values.volume_gb.trim() !== String(space.volume_gb)) {
      body.volume_gb = wholeValue(values.volume_gb);
    }
  }
  return body;
}

export interface ISettingsDialogProps {
  space: ISpace;
  catalog: ICatalog;
  trans: TranslationBundle;
  onSave: (body: IUpdateSpace) => Promise<unknown>;
  onClose: () => void;
}

export function SettingsDialog(props: ISettingsDialogProps): JSX.Element {
  const { space, catalog, trans } = props;
  const [values, setValues] = React.useState({
    display_name: space.display_name,
    instance_type: space.instance_type,
    image: space.image,
    volume_gb: String(space.volume_gb),
    idle_timeout_minutes:
      space.idle_timeout_minutes === null
        ? ''
        : String(space.idle_timeout_minutes)
  });
  const { errors, setErrors, busy, send } = useSend(
    SETTINGS_FIELDS,
    props.onClose
  );
  const locked = settingsLockedReason(space, trans);
  const set =
    (key: keyof typeof values) =>
    (event: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => {
      setValues({ ...values, [key]: event.target.value });
      setErrors({});
    };
  const submit = async () => {
    if (busy) {
      return;
    }
    const body = settingsBody(space, values, !!locked);
    if (!Object.keys(body).length) {
      props.onClose();
      return;
    }
    await send(() => props.onSave(body));
  };
  return (
    <Modal
      title={trans.__('Settings of %1', space.display_name)}
      className="jp-SpacesSettingsDialog"
      onClose={props.onClose}
      onSubmit={submit}
      footer={
        <CancelSubmit
          cancel={trans.__('Cancel')}
          submit={trans.__('Save')}
          busy={busy}
          onCancel={props.onClose}
        />
      }
    >
      <DisplayNameField
        trans={trans}
        error={errors.display_name}
        value={values.display_name}
        onChange={set('display_name')}
      />
      {locked && (
        <div className="jp-SpacesForm-locked" role="note">
          {locked}
        </div>
      )}
      <ComputeFields
        catalog={catalog}
        trans={trans}
        errors={errors}
        values={values}
        set={set}
        locked={locked}
        idleDisabled={space.role !== 'owner' && space.role !== null}
      />
      <FormError error={errors['']} />
    </Modal>
  );
}
