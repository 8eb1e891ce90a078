/**
 * @jest-environment ./jest-env-jsdom.js
 */
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import {
  INDICATOR_NAME,
  isEditingKey,
  LOCKED_CLASS,
  lockAllDocuments,
  lockDocument
} from '../readonly';
import { trans } from './trans';

function key(k: string, mods: Partial<KeyboardEvent> = {}) {
  return {
    key: k,
    ctrlKey: false,
    metaKey: false,
    altKey: false,
    shiftKey: false,
    ...mods
  };
}

describe('isEditingKey', () => {
  it('swallows command-mode edits, not navigation', () => {
    for (const k of ['a', 'b', 'd', 'x', 'v', 'm', 'y', 'z', '1', 'Delete']) {
      expect(isEditingKey(key(k), false)).toBe(true);
    }
    expect(isEditingKey(key('M', { shiftKey: true }), false)).toBe(true);
    for (const k of ['ArrowDown', 'ArrowUp', 'j', 'k', 'Escape', 'Enter']) {
      expect(isEditingKey(key(k), false)).toBe(false);
    }
    expect(isEditingKey(key('c'), false)).toBe(false);
  });

  it('lets letters through in an editor (the editor itself is read-only)', () => {
    expect(isEditingKey(key('a'), true)).toBe(false);
    expect(isEditingKey(key('ArrowLeft'), true)).toBe(false);
  });

  it('swallows paste, cut, undo, split and running', () => {
    for (const inEditor of [true, false]) {
      expect(isEditingKey(key('v', { ctrlKey: true }), inEditor)).toBe(true);
      expect(isEditingKey(key('x', { metaKey: true }), inEditor)).toBe(true);
      expect(isEditingKey(key('z', { ctrlKey: true }), inEditor)).toBe(true);
      expect(
        isEditingKey(key('-', { ctrlKey: true, shiftKey: true }), inEditor)
      ).toBe(true);
      expect(isEditingKey(key('Enter', { shiftKey: true }), inEditor)).toBe(
        true
      );
      expect(isEditingKey(key('Enter', { ctrlKey: true }), inEditor)).toBe(
        true
      );
    }
  });

  it('keeps copy, select all, find and save', () => {
    for (const k of ['c', 'a', 'f', 's']) {
      expect(isEditingKey(key(k, { ctrlKey: true }), false)).toBe(false);
    }
  });
});

/** A document widget as JupyterLab makes them, reduced to what is used. */
function makeDoc(kind: 'notebook' | 'editor') {
  const widget = new Widget() as any;
  const items: string[] = [];
  widget.toolbar = {
    insertBefore: () => false,
    addItem: (name: string, item: Widget) => {
      items.push(name);
      widget.node.appendChild(item.node);
      return true;
    }
  };
  widget.context = {
    model: { readOnly: false },
    ready: Promise.resolve()
  };
  const editorOptions: Record<string, unknown> = {};
  const editor = {
    setOption: (k: string, v: unknown) => (editorOptions[k] = v)
  };
  if (kind === 'editor') {
    widget.content = { editor };
  } else {
    const cells = { changed: new Signal<any, any>({}) };
    const makeCell = () => ({
      syncEditable: true,
      readOnly: false,
      editor: { setOption: jest.fn() }
    });
    widget.content = {
      widgets: [makeCell(), makeCell()],
      model: { cells },
      modelChanged: new Signal<any, any>({}),
      makeCell
    };
  }
  return { widget, items, editorOptions };
}

describe('lockDocument', () => {
  it('locks a notebook: model, cells (without syncing metadata), new cells', async () => {
    const { widget, items } = makeDoc('notebook');
    expect(lockDocument(widget, trans)).toBe(true);
    expect(widget.hasClass(LOCKED_CLASS)).toBe(true);
    expect(widget.context.model.readOnly).toBe(true);
    expect(items).toEqual([INDICATOR_NAME]);
    expect(widget.node.textContent).toContain('Read-only (viewer)');
    for (const cell of widget.content.widgets) {
      expect(cell.syncEditable).toBe(false);
      expect(cell.readOnly).toBe(true);
      expect(cell.editor.setOption).toHaveBeenCalledWith('readOnly', true);
    }
    // a cell arriving from a collaborator
    const late = widget.content.makeCell();
    widget.content.widgets.push(late);
    widget.content.model.cells.changed.emit({});
    await new Promise(r => setTimeout(r, 1));
    expect(late.readOnly).toBe(true);
    // idempotent
    expect(lockDocument(widget, trans)).toBe(false);
    expect(items).toEqual([INDICATOR_NAME]);
  });

  it('locks a text editor and swallows editing keys', () => {
    const { widget, editorOptions } = makeDoc('editor');
    Widget.attach(widget, document.body);
    lockDocument(widget, trans);
    expect(editorOptions.readOnly).toBe(true);
    const paste = new KeyboardEvent('keydown', {
      key: 'v',
      ctrlKey: true,
      bubbles: true,
      cancelable: true
    });
    widget.node.dispatchEvent(paste);
    expect(paste.defaultPrevented).toBe(true);
    const down = new KeyboardEvent('keydown', {
      key: 'ArrowDown',
      bubbles: true,
      cancelable: true
    });
    widget.node.dispatchEvent(down);
    expect(down.defaultPrevented).toBe(false);
    Widget.detach(widget);
  });

  it('leaves widgets without a document context alone', () => {
    expect(lockDocument(new Widget(), trans)).toBe(false);
  });
});

describe('lockAllDocuments', () => {
  it('locks open documents and those any factory creates later', () => {
    const open = makeDoc('editor').widget;
    const created = new Signal<any, Widget>({});
    const later = new Signal<any, Widget>({});
    const factories = [{ widgetCreated: created }];
    const changed = new Signal<any, any>({});
    const plain = new Widget();
    const app = {
      shell: { widgets: () => [open, plain][Symbol.iterator]() },
      docRegistry: {
        widgetFactories: () => factories[Symbol.iterator](),
        changed
      }
    };
    expect(lockAllDocuments(app as any, trans)).toBe(1);
    expect(open.hasClass(LOCKED_CLASS)).toBe(true);
    const doc = makeDoc('notebook').widget;
    created.emit(doc);
    expect(doc.hasClass(LOCKED_CLASS)).toBe(true);
    // a factory registered afterwards
    factories.push({ widgetCreated: later });
    changed.emit({});
    const doc2 = makeDoc('editor').widget;
    later.emit(doc2);
    expect(doc2.hasClass(LOCKED_CLASS)).toBe(true);
    expect(plain.hasClass(LOCKED_CLASS)).toBe(false);
    plain.dispose();
  });
});
