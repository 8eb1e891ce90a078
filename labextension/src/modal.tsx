/**
 * A modal dialog in JupyterLab's dialog style that stays open while the
 * server's answer is awaited, so invalid input can be explained inline
 * (`@jupyterlab/apputils`' `showDialog` resolves on the first click).
 */
import * as React from 'react';

import { fieldErrors, FieldErrors } from './util';

export interface IModalProps {
  title: string;
  onClose: () => void;
  children: React.ReactNode;
  /** Buttons (rendered in the dialog's footer). */
  footer: React.ReactNode;
  /** Extra class of the content box. */
  className?: string;
  onSubmit?: () => void;
}

export function Modal(props: IModalProps): JSX.Element {
  const content = React.useRef<HTMLFormElement>(null);
  const titleId = React.useId();
  React.useEffect(() => {
    const first = content.current?.querySelector<HTMLElement>(
      'input:not([disabled]), select:not([disabled]), textarea, button'
    );
    first?.focus();
  }, []);
  const onKeyDown = (event: React.KeyboardEvent) => {
    if (event.key === 'Escape') {
      event.stopPropagation();
      props.onClose();
    }
  };
  return (
    <div
      className="jp-Dialog jp-ThemedContainer jp-SpacesModal"
      onKeyDown={onKeyDown}
    >
      <form
        ref={content}
        className={`jp-Dialog-content ${props.className ?? ''}`}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        onSubmit={event => {
          event.preventDefault();
          props.onSubmit?.();
        }}
        noValidate
      >
        <div className="jp-Dialog-header" id={titleId}>
          {props.title}
        </div>
        <div className="jp-Dialog-body jp-SpacesModal-body">
          {props.children}
        </div>
        <div className="jp-Dialog-footer">
          <div className="jp-Dialog-footerButtons">{props.footer}</div>
        </div>
      </form>
    </div>
  );
}

/**
 * A dialog's sending: `send(request)` closes the dialog once `request`
 * succeeds, else shows the server's errors next to `fields` and lets the user
 * try again; while one is awaited, another `send` does nothing.
 */
export function useSend(
  fields: string[],
  onClose: () => void
): {
  errors: FieldErrors;
  setErrors: (errors: FieldErrors) => void;
  busy: boolean;
  send: (request: () => Promise<unknown>) => Promise<void>;
} {
  const [errors, setErrors] = React.useState<FieldErrors>({});
  const [busy, setBusy] = React.useState(false);
  const send = async (request: () => Promise<unknown>) => {
    if (busy) {
      return;
    }
    setBusy(true);
    try {
      await request();
      onClose();
    } catch (error) {
      setErrors(fieldErrors(error, fields));
      setBusy(false);
    }
  };
  return { errors, setErrors, busy, send };
}

/** A labelled form field with its help text and inline error. */
export function Field(props: {
  label: string;
  error?: string;
  help?: string;
  /** Shown before the control on its line (the chosen app's icon). */
  before?: React.ReactNode;
  children: React.ReactElement;
}): JSX.Element {
  const id = React.useId();
  const errorId = `${id}-error`;
  const helpId = `${id}-help`;
  const describedBy =
    [props.error ? errorId : '', props.help ? helpId : '']
      .filter(Boolean)
      .join(' ') || undefined;
  const child = React.cloneElement(props.children, {
    id,
    'aria-invalid': props.error ? true : undefined,
    'aria-describedby': describedBy
  });
  return (
    <div className={`jp-SpacesField${props.error ? ' jp-mod-error' : ''}`}>
      <label htmlFor={id}>{props.label}</label>
      {props.before ? (
        <div className="jp-SpacesField-line">
          {props.before}
          {child}
        </div>
      ) : (
        child
      )}
      {props.help && (
        <div className="jp-SpacesField-help" id={helpId}>
          {props.help}
        </div>
      )}
      {props.error && (
        <div className="jp-SpacesField-error" id={errorId} role="alert">
          {props.error}
        </div>
      )}
    </div>
  );
}

/**
 * A {@link Field} holding one styled input: `label`, `error` and `help` go to
 * the field, every other prop to the input.
 */
export function InputField(
  props: { label: string; error?: string; help?: string } & Omit<
    React.InputHTMLAttributes<HTMLInputElement>,
    'className'
  >
): JSX.Element {
  const { label, error, help, ...input } = props;
  return (
    <Field label={label} error={error} help={help}>
      <input className="jp-mod-styled" {...input} />
    </Field>
  );
}

/** A footer button in JupyterLab's dialog style. */
export function DialogButton(props: {
  label: string;
  kind: 'accept' | 'reject' | 'warn';
  disabled?: boolean;
  submit?: boolean;
  onClick?: () => void;
}): JSX.Element {
  return (
    <button
      type={props.submit ? 'submit' : 'button'}
      className={`jp-Dialog-button jp-mod-${props.kind} jp-mod-styled`}
      disabled={props.disabled}
      onClick={props.onClick}
    >
      <div className="jp-Dialog-buttonLabel">{props.label}</div>
    </button>
  );
}

/** The error of a whole form (one no field is named in), if any. */
export function FormError(props: { error?: string }): JSX.Element | null {
  return props.error ? (
    <div className="jp-SpacesForm-error" role="alert">
      {props.error}
    </div>
  ) : null;
}

/** A form's footer: Cancel, and the submit button (disabled while busy). */
export function CancelSubmit(props: {
  cancel: string;
  submit: string;
  busy?: boolean;
  onCancel: () => void;
}): JSX.Element {
  return (
    <>
      <DialogButton
        kind="reject"
        label={props.cancel}
        onClick={props.onCancel}
      />
      <DialogButton
        kind="accept"
        submit
        disabled={props.busy}
        label={props.submit}
      />
    </>
  );
}
