/**
 * What the component specs share: a place in the document to render into, fresh
 * for each test, and a live feed that stays silent.
 */
import { act } from 'react';
import { createRoot, Root } from 'react-dom/client';

// Tells React that updates are wrapped in act(), as they are in the specs that
// render, which all import this module.
(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

/** A container in the document and a React root on it. */
export interface IMount {
  container: HTMLDivElement;
  root: Root;
}

/**
 * Call at the top of a suite or a `describe`: `container` and `root` are made
 * anew before each of its tests and unmounted and removed after it.
 */
export function mountEachTest(): IMount {
  const mount = {} as IMount;
  beforeEach(() => {
    mount.container = document.createElement('div');
    document.body.appendChild(mount.container);
    mount.root = createRoot(mount.container);
  });
  afterEach(() => {
    act(() => mount.root.unmount());
    mount.container.remove();
  });
  return mount;
}

/** An `EventSource` that never delivers: a model's list is what `GET spaces` says. */
export const silentFeed = (): EventSource =>
  ({
    addEventListener: () => undefined,
    close: () => undefined,
    onerror: null
  }) as any;

/**
 * Set a control's value through its prototype's setter, past the tracker React
 * puts on the element, so that React sees a change when `event` fires.
 */
function setValue(
  control: HTMLInputElement | HTMLSelectElement,
  value: string,
  event: 'input' | 'change'
): void {
  const setter = Object.getOwnPropertyDescriptor(
    Object.getPrototypeOf(control),
    'value'
  )!.set!;
  setter.call(control, value);
  control.dispatchEvent(new Event(event, { bubbles: true }));
}

/** Type `value` into an input as a user would. */
export function type(input: HTMLInputElement, value: string): void {
  setValue(input, value, 'input');
}

/** Choose `value` in a select as a user would. */
export function choose(select: HTMLSelectElement, value: string): void {
  setValue(select, value, 'change');
}

/** The button in `scope` whose text is `label`. */
export function button(scope: ParentNode, label: string): HTMLButtonElement {
  const found = [...scope.querySelectorAll('button')].find(
    b => b.textContent?.trim() === label
  );
  if (!found) {
    throw new Error(`no button ${label}`);
  }
  return found;
}

/** Let pending requests and the React updates they cause finish. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await act(async () => {
      await new Promise(r => setTimeout(r, 0));
    });
  }
}
