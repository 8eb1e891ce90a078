// Browser APIs jsdom lacks that Lumino/JupyterLab touch at import time.
if (typeof window !== 'undefined') {
  if (typeof globalThis.DragEvent === 'undefined') {
    globalThis.DragEvent = class DragEvent extends MouseEvent {};
  }
  if (typeof window.matchMedia === 'undefined') {
    window.matchMedia = () => ({
      matches: false,
      addListener: () => undefined,
      removeListener: () => undefined,
      addEventListener: () => undefined,
      removeEventListener: () => undefined
    });
  }
}
if (typeof window !== 'undefined' && !window.requestIdleCallback) {
  // ReactWidget renders on idle; jsdom has no idle callbacks.
  window.requestIdleCallback = cb =>
    setTimeout(() => cb({ timeRemaining: () => 0, didTimeout: true }), 0);
  window.cancelIdleCallback = id => clearTimeout(id);
  globalThis.requestIdleCallback = window.requestIdleCallback;
  globalThis.cancelIdleCallback = window.cancelIdleCallback;
}
