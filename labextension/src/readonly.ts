/**
 * Documents are read-only for a viewer of a shared space.
 *
 * The space's collaboration server already refuses a viewer's updates; this
 * makes the page agree, so typing does not change the viewer's own copy
 * either: the document model is marked read-only (JupyterLab then refuses to
 * save it), every cell's and text editor's CodeMirror is read-only, the
 * notebook's editing shortcuts (insert, delete, paste, merge, split, change
 * type, run) are swallowed, its editing buttons are hidden, and the document's
 * toolbar says "Read-only (viewer)".
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

/** The class of a locked document widget (hides editing controls). */
export const LOCKED_CLASS = 'jp-mod-spacesReadOnly';

/** The page's class for a viewer (hides the status bar's kernel item). */
export const VIEWER_BODY_CLASS = 'jp-mod-spacesViewer';

/** The toolbar item that says the document is read-only. */
export const INDICATOR_NAME = 'spaces-read-only';

/** Command-mode keys (no modifier, or with Shift) that change a notebook. */
const COMMAND_MODE_KEYS = new Set([
  'a',
  'b',
  'd',
  'm',
  'r',
  'v',
  'x',
  'y',
  'z',
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  'Delete',
  'Backspace'
]);

/** Keys with Ctrl/Cmd that change a document whatever the mode. */
const MODIFIED_KEYS = new Set(['v', 'x', 'z', 'y', '-', '_', 'Backspace']);

/**
 * Whether a key press would edit a read-only document (and must be
 * swallowed). `inEditor` is whether focus is in a text editor (a cell's
 * editor is read-only itself, so only shortcuts matter there).
 */
export function isEditingKey(
  event: Pick<
    KeyboardEvent,
    'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey'
  >,
  inEditor: boolean
): boolean {
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  const mod = event.ctrlKey || event.metaKey;
  if (key === 'Enter' && (mod || event.shiftKey || event.altKey)) {
    return true; // run cells: outputs and execution counts change
  }
  if (mod) {
    if (key === 'c' && !inEditor) {
      return false; // copy cells
    }
    return MODIFIED_KEYS.has(key);
  }
  if (inEditor || event.altKey) {
    return false;
  }
  return COMMAND_MODE_KEYS.has(key);
}

/** The parts of a document widget this module touches (duck-typed). */
interface ILockable extends Widget {
  context?: {
    model?: { readOnly: boolean };
    ready?: Promise<void>;
    sessionContext?: { kernelPreference: Record<string, unknown> };
  };
  toolbar?: {
    insertBefore?(at: string, name: string, widget: Widget): boolean;
    addItem(name: string, widget: Widget): boolean;
  };
  content?: any;
}

/** The "Read-only (viewer)" toolbar label. */
export function createIndicator(trans: TranslationBundle): Widget {
  const widget = new Widget();
  widget.addClass('jp-SpacesReadOnly');
  widget.node.textContent = trans.__('Read-only (viewer)');
  widget.node.title = trans.__(
    'You are a viewer of this space: you see the others’ changes but cannot edit.'
  );
  return widget;
}

/** Make one cell widget read-only without writing to the shared notebook. */
function lockCell(cell: any): void {
  if (!cell || cell.isDisposed) {
    return;
  }
  // Notebook cells keep `editable: false` in their metadata when synced:
  // that would be an edit of the shared document.
  if ('syncEditable' in cell) {
    cell.syncEditable = false;
  }
  if ('readOnly' in cell && cell.readOnly !== true) {
    cell.readOnly = true;
  }
  cell.editor?.setOption?.('readOnly', true);
}

/** Lock every cell of a notebook, now and when cells arrive. */
function lockNotebook(notebook: any): void {
  const lockAll = () => {
    for (const cell of notebook.widgets ?? []) {
      lockCell(cell);
    }
  };
  let cells: any = null;
  const onCells = () => {
    lockAll();
    // the notebook creates widgets for new cells in its own handler
    setTimeout(lockAll, 0);
  };
  const hook = () => {
    cells?.changed?.disconnect(onCells);
    cells = notebook.model?.cells ?? null;
    cells?.changed?.connect(onCells);
    onCells();
  };
  notebook.modelChanged?.connect(hook);
  hook();
  // cells rendered late (windowed notebooks) get their editor when shown
  notebook.placeholderCellRendered?.connect((_: unknown, cell: any) =>
    lockCell(cell)
  );
}

/**
 * Lock a document widget: model read-only, editors read-only, editing keys
 * swallowed, indicator in its toolbar. Widgets without a document context are
 * left alone. Idempotent.
 */
export function lockDocument(
  widget: Widget,
  trans: TranslationBundle
): boolean {
  const doc = widget as ILockable;
  if (!doc.context || doc.hasClass(LOCKED_CLASS) || doc.isDisposed) {
    return false;
  }
  doc.addClass(LOCKED_CLASS);
  const markModel = () => {
    if (doc.context?.model && !doc.isDisposed) {
      doc.context.model.readOnly = true;
    }
  };
  markModel();
  void doc.context.ready?.then(markModel).catch(() => undefined);
  // A viewer runs no code: the document never asks for a kernel (its
  // session context is initialized after this, once the file is read).
  const session = doc.context.sessionContext;
  if (session) {
    session.kernelPreference = {
      ...session.kernelPreference,
      canStart: false,
      shouldStart: false,
      autoStartDefault: false
    };
  }

  if (doc.toolbar) {
    const indicator = createIndicator(trans);
    const inserted = doc.toolbar.insertBefore?.(
      'kernelName',
      INDICATOR_NAME,
      indicator
    );
    if (!inserted) {
      doc.toolbar.addItem(INDICATOR_NAME, indicator);
    }
  }

  const content = doc.content;
  if (content?.editor?.setOption) {
    content.editor.setOption('readOnly', true); // a text editor
  }
  if (content && 'widgets' in content && 'modelChanged' in content) {
    lockNotebook(content); // a notebook
  }

  doc.node.addEventListener(
    'keydown',
    (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      const inEditor = !!target?.closest?.('.cm-editor, input, textarea');
      if (isEditingKey(event, inEditor)) {
        event.preventDefault();
        event.stopPropagation();
      }
    },
    true
  );
  doc.node.addEventListener(
    'drop',
    (event: DragEvent) => {
      event.preventDefault();
      event.stopPropagation();
    },
    true
  );
  return true;
}

/**
 * Lock every document widget of the app, the open ones and those created
 * later (by any widget factory). Returns the number locked right away.
 */
export function lockAllDocuments(
  app: Pick<JupyterFrontEnd, 'shell' | 'docRegistry'>,
  trans: TranslationBundle
): number {
  let count = 0;
  for (const widget of app.shell.widgets('main')) {
    if (lockDocument(widget, trans)) {
      count++;
    }
  }
  const registry = app.docRegistry;
  const hooked = new Set<unknown>();
  const hookFactories = () => {
    for (const factory of registry.widgetFactories()) {
      if (hooked.has(factory)) {
        continue;
      }
      hooked.add(factory);
      factory.widgetCreated.connect((_: unknown, widget: Widget) => {
        lockDocument(widget, trans);
      });
    }
  };
  hookFactories();
  registry.changed.connect(hookFactories);
  return count;
}
