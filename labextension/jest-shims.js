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
