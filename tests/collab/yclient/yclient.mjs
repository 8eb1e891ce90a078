// A collaboration client that is not ours: JupyterLab's document models (@jupyter/ydoc's
// YFile and YNotebook) on y-websocket's WebsocketProvider, connected the way JupyterLab's
// @jupyter/docprovider connects (PUT api/collaboration/session/<path>, then the room
// `format:type:fileId` with `?sessionId=`, the model's awareness, no BroadcastChannel).
// Driven by tests/collab/test_collab_yclient.py:
//
//   node yclient.mjs '{"baseUrl", "path", "type": "file"|"notebook", "format", "headers"}'
//
// Commands on stdin, one JSON object a line: {"op": "insert", "index" (or "end"), "text"}
// (a file), {"op": "insert_cell", "index", "source"} and {"op": "append", "cell", "text"}
// (a notebook), {"op": "awareness", "state"}, {"op": "disconnect"}, {"op": "connect"},
// {"op": "quit"}. Events on stdout, one JSON object a line: ready, status, sync, content
// (the file's text, or the notebook's cells as [{id, cell_type, source}]), awareness
// (the other clients' states), close, error, and done (the answer to each command).
import readline from 'node:readline';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import { YFile, YNotebook } from '@jupyter/ydoc';

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
  const type = config.type || 'file';
  const format = config.format || (type === 'notebook' ? 'json' : 'text');
  const response = await fetch(base + 'api/collaboration/session/' + encodeURIComponent(config.path), {
    method: 'PUT',
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: JSON.stringify({ format, type })
  });
  if (response.status !== 201) {
    throw new Error(`session request: ${response.status} ${await response.text()}`);
  }
  const session = await response.json();
  const model = type === 'notebook' ? new YNotebook() : new YFile();
  const awareness = model.awareness;
  awareness.setLocalState(null); // nothing until the test sets a state
  const provider = new WebsocketProvider(
    base.replace(/^http/, 'ws') + 'api/collaboration/room',
    `${session.format}:${session.type}:${session.fileId}`,
    model.ydoc,
    {
      disableBc: true,
      params: { sessionId: session.sessionId },
      awareness,
      WebSocketPolyfill: HeaderWebSocket,
      maxBackoffTime: 200
    }
  );
  const content = () =>
    type === 'notebook'
      ? model.cells.map(c => ({ id: c.id, cell_type: c.cell_type, source: c.getSource() }))
      : model.getSource();
  emit('ready', { fileId: session.fileId, sessionId: session.sessionId, clientId: model.ydoc.clientID });
  provider.on('status', ({ status }) => emit('status', { status }));
  provider.on('sync', synced => emit('sync', { synced }));
  provider.on('connection-close', event => emit('close', { code: event && event.code, reason: event && event.reason }));
  model.ydoc.on('update', () => emit('content', { content: content() }));
  awareness.on('change', () => {
    const states = {};
    awareness.getStates().forEach((state, id) => {
      if (id !== model.ydoc.clientID) states[id] = state;
    });
    emit('awareness', { states });
  });

  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const cmd = JSON.parse(line);
    if (cmd.op === 'insert') {
      const at = cmd.index === 'end' ? model.source.length : cmd.index;
      model.updateSource(at, at, cmd.text);
    } else if (cmd.op === 'insert_cell') {
      // (@jupyter/ydoc reads the new cell before it is in the document: "Invalid access"
      // on stderr is its own, in the browser too)
      model.insertCell(cmd.index, { cell_type: 'code', source: cmd.source });
    } else if (cmd.op === 'append') {
      const cell = model.getCell(cmd.cell);
      cell.updateSource(cell.source.length, cell.source.length, cmd.text);
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
    emit('done', { op: cmd.op, content: content() });
  }
  process.exit(0);
}

main().catch(err => {
  emit('error', { message: String(err && err.stack ? err.stack : err) });
  process.exit(1);
});
