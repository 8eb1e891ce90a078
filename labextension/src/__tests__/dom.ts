/**
 * What the component specs share: a place in the document to render into, fresh
 * for each test, and a live feed that stays silent.
 */
import { act } from 'react';
import { createRoot, Root } from 'react-dom/client';

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
