import { contract } from './contract';
import { clientEachTest, makeSpace } from './fakeserver';

/**
 * The fake server checks what it answers against jupyter_spaces/openapi.yaml;
 * these show the check can fail. (Each test takes the violations it caused,
 * else the fake server's `afterEach` would fail it.)
 */
describe('the fake server keeps to openapi.yaml', () => {
  const fake = clientEachTest();

  it('accepts an answer that matches the contract', async () => {
    fake.server.handler = () => ({ body: makeSpace('demo') });
    await fake.client.getSpace('demo');
    expect(fake.server.takeViolations()).toEqual([]);
  });

  it('refuses a body that does not match the response schema', async () => {
    const { volume_used_bytes, ...missing } = makeSpace('demo');
    expect(volume_used_bytes).toBe(0);
    fake.server.handler = () => ({
      body: { ...missing, status: 'sleeping', extra: 1 }
    });
    await fake.client.getSpace('demo');
    const problems = fake.server.takeViolations().join('\n');
    expect(problems).toContain('GET /spaces/{name} (getSpace) 200');
    expect(problems).toContain("required property 'volume_used_bytes'");
    expect(problems).toContain('/status must be equal to one of the allowed');
    expect(problems).toContain('additional properties');
  });

  it('refuses a status the operation does not list', async () => {
    fake.server.handler = () => ({
      status: 418,
      body: { message: 'teapot', reason: 'teapot' }
    });
    await fake.client.getSpace('demo').catch(() => undefined);
    expect(fake.server.takeViolations()).toEqual([
      'GET /base/spaces/api/spaces/demo: GET /spaces/{name} (getSpace) ' +
        'answered 418; openapi.yaml lists 200, 400, 403, 404, 413'
    ]);
  });

  it('refuses an error body without the Error shape', async () => {
    fake.server.handler = () => ({ status: 404, body: { error: 'gone' } });
    await fake.client.getSpace('demo').catch(() => undefined);
    expect(fake.server.takeViolations().join('\n')).toContain(
      "required property 'reason'"
    );
  });

  it('refuses a route that is not an operation', async () => {
    fake.server.handler = () => ({ status: 202, body: makeSpace('demo') });
    await fake.server.settings().fetch(
      new Request('http://example.test/base/spaces/api/spaces/demo/restart', {
        method: 'POST'
      })
    );
    expect(fake.server.takeViolations()).toEqual([
      'POST /base/spaces/api/spaces/demo/restart: POST /spaces/demo/restart ' +
        'is not an operation of openapi.yaml (paths: no path matches)'
    ]);
  });

  it('refuses a missing required header (Location of a 201)', async () => {
    fake.server.handler = () => ({ status: 201, body: makeSpace('demo') });
    await fake.client.createSpace({
      name: 'demo',
      sharing: 'private',
      app_type: 'jupyterlab'
    });
    expect(fake.server.takeViolations()).toEqual([
      'POST /base/spaces/api/spaces: POST /spaces (createSpace) 201: ' +
        'no Location header'
    ]);
  });

  it('refuses a request body the client should not send', () => {
    expect(
      contract().checkRequest('POST', '/spaces', { sharing: 'all', size: 1 })
    ).toEqual(
      expect.arrayContaining([
        expect.stringContaining("required property 'name'"),
        expect.stringContaining('must NOT have additional properties'),
        expect.stringContaining('/sharing must be equal to one of the allowed')
      ])
    );
  });

  it('leaves answers outside the domain API alone', async () => {
    await fake.server
      .settings()
      .fetch(new Request('http://example.test/base/spaces/demo/api/contents'));
    expect(fake.server.takeViolations()).toEqual([]);
  });

  it('lets an answer off the contract on purpose say so', async () => {
    fake.server.handler = () => ({
      status: 502,
      text: 'Bad Gateway',
      offContract: 'a proxy in front of the domain'
    });
    await fake.client.getSpace('demo').catch(() => undefined);
    expect(fake.server.takeViolations()).toEqual([]);
  });
});
