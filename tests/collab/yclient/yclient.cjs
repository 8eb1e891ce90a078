// A collaboration client that is not ours: y-websocket's WebsocketProvider with yjs and
// y-protocols' Awareness, connected the way JupyterLab's @jupyter/docprovider connects
// (PUT api/collaboration/session/<path>, then the room `format:type:fileId` with
// `?sessionId=` and no BroadcastChannel). Driven by tests/collab/test_collab_yclient.py:
//
//   node yclient.cjs '{"baseUrl": ..., "path": ..., "headers": {...}}'
//
// Commands on stdin, one JSON object a line: {"op": "insert", "index" (or "end"), "text"},
// {"op": "awareness", "state"}, {"op": "disconnect"}, {"op": "connect"}, {"op": "quit"}.
// Events on stdout, one JSON object a line: ready, status, sync, text, awareness, close,
// error, done (the answer to each command, with its "op").
'use strict';

const readline = require('readline');
const WebSocket = require('ws');
const Y = require('yjs');
const { WebsocketProvider } = require('y-websocket');
const { Awareness } = require('y-protocols/awareness');

const config = JSON.parse(process.argv[2]);
const headers = config.headers || {};

function emit(event, fields) {
  process.stdout.write(JSON.stringify({ event, ...fields }) + '\n');
}

// A browser sends its cookies; here the test's identity headers go with every request.
class HeaderWebSocket extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols, { headers });
  }
}

async function main() {
  const base = config.baseUrl.replace(/\/?$/, '/');
  const format = config.format || 'text';
  const type = config.type || 'file';
  const response = await fetch(base + 'api/collaboration/session/' + encodeURIComponent(config.path), {
    method: 'PUT',
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: JSON.stringify({ format, type })
  });
  if (response.status !== 201) {
    throw new Error(`session request: ${response.status} ${await response.text()}`);
  }
  const session = await response.json();
  const doc = new Y.Doc();
  const awareness = new Awareness(doc);
  awareness.setLocalState(null); // nothing until the test sets a state
  const source = doc.getText('source'); // jupyter_ydoc's YFile
  const provider = new WebsocketProvider(
    base.replace(/^http/, 'ws') + 'api/collaboration/room',
    `${session.format}:${session.type}:${session.fileId}`,
    doc,
    {
      disableBc: true,
      params: { sessionId: session.sessionId },
      awareness,
      WebSocketPolyfill: HeaderWebSocket,
      maxBackoffTime: 200
    }
  );
  emit('ready', { fileId: session.fileId, sessionId: session.sessionId, clientId: doc.clientID });
  provider.on('status', ({ status }) => emit('status', { status }));
  provider.on('sync', synced => emit('sync', { synced }));
  provider.on('connection-close', event => emit('close', { code: event && event.code, reason: event && event.reason }));
  doc.on('update', () => emit('text', { text: source.toString() }));
  awareness.on('change', () => {
    const states = {};
    awareness.getStates().forEach((state, id) => {
      if (id !== doc.clientID) states[id] = state;
    });
    emit('awareness', { states });
  });

  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const cmd = JSON.parse(line);
    if (cmd.op === 'insert') {
      source.insert(cmd.index === 'end' ? source.length : cmd.index, cmd.text);
    } else if (cmd.op === 'awareness') {
      awareness.setLocalState(cmd.state);
    } else if (cmd.op === 'disconnect') {
      provider.disconnect();
    } else if (cmd.op === 'connect') {
      provider.connect();
    } else if (cmd.op === 'quit') {
      provider.destroy();
      emit('done', { op: cmd.op });
      break;
    } else {
      throw new Error(`unknown command ${line}`);
    }
    emit('done', { op: cmd.op, text: source.toString() });
  }
  process.exit(0);
}

main().catch(err => {
  emit('error', { message: String(err && err.stack ? err.stack : err) });
  process.exit(1);
});
