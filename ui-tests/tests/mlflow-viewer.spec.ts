/**
 * A viewer browses a shared MLflow space read-only (issue 14): MLflow's own UI in
 * Chromium shows the experiment, its run and the run's metric to a viewer, and none of
 * the requests the UI makes for that is refused (the gate lets a viewer's reads through:
 * GETs, the searches, GraphQL); a write the viewer tries is refused with the gate's words.
 */
import { expect, test } from './fixtures';

test('a viewer browses an MLflow space, and cannot write to it', async ({
  server,
  home,
  sharedSpace
}) => {
  test.setTimeout(180_000);
  const { space, alice } = await sharedSpace({
    prefix: 'mlview',
    appType: 'mlflow',
    member: 'bob',
    role: 'viewer'
  });

  // the owner logs a run through the proxy, as a tracking client does
  const mlflow = `${server.baseURL}spaces/${space.name}/api/2.0/mlflow/`;
  const owner = { Authorization: `token ${server.tokens.alice}` };
  const post = async (route: string, data: unknown) => {
    const r = await alice.post(mlflow + route, { data, headers: owner });
    expect(r.status(), await r.text()).toBe(200);
    return r.json();
  };
  const { experiment_id: experiment } = await post('experiments/create', {
    name: 'seen-by-viewers'
  });
  const { run } = await post('runs/create', {
    experiment_id: experiment,
    run_name: 'visible-run',
    start_time: Date.now()
  });
  const runId = run.info.run_id;
  await post('runs/log-metric', {
    run_id: runId,
    key: 'val_loss',
    value: 0.125,
    timestamp: Date.now(),
    step: 0
  });
  await post('runs/update', {
    run_id: runId,
    status: 'FINISHED',
    end_time: Date.now()
  });

  const page = await home('bob');
  const refused: string[] = [];
  page.on('response', r => {
    if (r.status() === 403) {
      refused.push(`${r.request().method()} ${r.url()}`);
    }
  });
  await page.goto(`${server.baseURL}spaces/${space.name}/`);
  await expect(page.getByText('seen-by-viewers').first()).toBeVisible({
    timeout: 90_000
  });
  const root = page.url().split('#')[0];
  await page.goto(`${root}#/experiments/${experiment}/runs`);
  await expect(
    page.getByText('visible-run').first(),
    refused.join('\n')
  ).toBeVisible({
    timeout: 60_000
  });
  await page.goto(`${root}#/experiments/${experiment}/runs/${runId}`);
  await expect(
    page.getByText('val_loss').first(),
    refused.join('\n')
  ).toBeVisible({
    timeout: 60_000
  });
  await expect(page.getByText('0.125').first()).toBeVisible();
  expect(refused).toEqual([]);

  // a write from the viewer's page: refused by the gate, saying why
  const write = await page.evaluate(async url => {
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'from-a-viewer' })
    });
    return { status: r.status, text: await r.text() };
  }, `${root}ajax-api/2.0/mlflow/experiments/create`);
  expect(write.status).toBe(403);
  expect(write.text).toContain('read-only for viewers');
});
