// jsdom, plus the fetch API of node (Request, Response, Headers) that the
// fake server and @jupyterlab/services use; jsdom has none of them.
const JSDOMEnvironment = require('jest-environment-jsdom').default;

const FROM_NODE = [
  'fetch',
  'Request',
  'Response',
  'Headers',
  'ReadableStream',
  'TextEncoder',
  'TextDecoder',
  'AbortController',
  'AbortSignal',
  'structuredClone'
];

class JSDOMWithFetchEnvironment extends JSDOMEnvironment {
  constructor(...args) {
    super(...args);
    for (const key of FROM_NODE) {
      if (this.global[key] === undefined && globalThis[key] !== undefined) {
        this.global[key] = globalThis[key];
      }
    }
  }
}

module.exports = JSDOMWithFetchEnvironment;
