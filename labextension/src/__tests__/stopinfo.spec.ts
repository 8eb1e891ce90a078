/**
 * @jest-environment ./jest-env-jsdom.js
 */
import { unsavedDocuments } from '../index';
import {
  countOf,
  Fetcher,
  makeFetcher,
  runningInSpace,
  stopMessage
} from '../stopinfo';
import { FakeServer, makeSpace } from './fakeserver';
import { trans } from './trans';

describe('countOf', () => {
  it('counts lists, treats a missing terminals service as none', () => {
    expect(countOf(200, [{}, {}])).toBe(2);
    expect(countOf(200, [])).toBe(0);
    expect(countOf(404, null, true)).toBe(0);
    expect(countOf(404, null)).toBeNull();
    expect(countOf(403, [])).toBeNull();
    expect(countOf(200, { message: 'x' })).toBeNull();
  });
});

describe('runningInSpace', () => {
  const running = makeSpace('lab', { status: 'running' }) as any;

  it('counts kernels and terminals through the space URL', async () => {
    const asked: string[] = [];
    const fetcher: Fetcher = async url => {
      asked.push(url);
      return url.endsWith('kernels')
        ? { status: 200, body: [{ id: 'k1' }, { id: 'k2' }] }
        : { status: 200, body: [{ name: '1' }] };
    };
    const info = await runningInSpace(running, fetcher, ['a.ipynb']);
    expect(info).toEqual({
      listable: true,
      kernels: 2,
      terminals: 1,
      unsaved: ['a.ipynb']
    });
    expect(asked.sort()).toEqual([
      '/base/spaces/lab/api/kernels',
      '/base/spaces/lab/api/terminals'
    ]);
    expect(stopMessage(running, info, trans)).toBe(
      'Ending in “lab”: 2 running kernels and 1 terminal. 1 open document has unsaved changes, which are lost: a.ipynb. Files on its volume are kept. Resources started from inside the space elsewhere (cloud jobs, databases) keep running.'
    );
  });

  it('no terminals service is none; a refused or failed read is unknown', async () => {
    const info = await runningInSpace(running, async url =>
      url.endsWith('kernels')
        ? { status: 200, body: [] }
        : { status: 404, body: null }
    );
    expect(info.kernels).toBe(0);
    expect(info.terminals).toBe(0);
    expect(stopMessage(running, info, trans)).toContain(
      '0 running kernels and 0 terminals'
    );
    expect(stopMessage(running, info, trans)).toContain(
      'Unsaved changes in its open documents are lost.'
    );
    const failed = await runningInSpace(running, async () => {
      throw new Error('network');
    });
    expect(failed.kernels).toBeNull();
    // the home cannot count them (a space's kernels are read on its own origin)
    expect(stopMessage(running, failed, trans)).toContain(
      'Any kernels and terminals running in'
    );
  });

  it('does not look inside a space the caller cannot open', async () => {
    const fetcher = jest.fn();
    const hidden = makeSpace('other', {
      status: 'running',
      role: null,
      url: null
    }) as any;
    const info = await runningInSpace(hidden, fetcher);
    expect(fetcher).not.toHaveBeenCalled();
    expect(info.listable).toBe(false);
    expect(stopMessage(hidden, info, trans)).toContain('cannot be listed');
    expect(stopMessage(hidden, info, trans)).toContain('keep running');
  });

  it('says when no open document has unsaved changes', () => {
    const info = { listable: true, kernels: 1, terminals: 0, unsaved: [] };
    expect(stopMessage(running, info, trans)).toContain(
      '1 running kernel and 0 terminals. No open document has unsaved changes.'
    );
  });
});

describe('unsavedDocuments', () => {
  it('lists the dirty documents of the main area once each', () => {
    const doc = (path: string, dirty: boolean) => ({
      context: { path, model: { dirty } }
    });
    const widgets = [
      doc('a.ipynb', true),
      doc('b.py', false),
      doc('a.ipynb', true),
      {}
    ];
    const app = { shell: { widgets: () => widgets[Symbol.iterator]() } };
    expect(unsavedDocuments(app as any)).toEqual(['a.ipynb']);
  });
});

describe('makeFetcher', () => {
  it('reads a space-relative URL under the domain’s absolute base URL', async () => {
    const server = new FakeServer();
    const seen: string[] = [];
    server.handler = req => {
      seen.push(req.path);
      return { body: [{ id: 'k' }] };
    };
    const fetcher = makeFetcher(server.settings());
    const space = makeSpace('lab', { status: 'running' }) as any;
    const info = await runningInSpace(space, fetcher);
    expect(info.kernels).toBe(1);
    expect(info.terminals).toBe(1);
    expect(seen.sort()).toEqual([
      '/base/spaces/lab/api/kernels',
      '/base/spaces/lab/api/terminals'
    ]);
  });
});
