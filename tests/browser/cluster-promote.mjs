// One click-through of Promote on the REAL cluster (tests/cluster), in headless Chromium:
// a canary created from the upstream example pauses at its first pause step; the person
// opens it, clicks Promote, confirms, and the Argo Rollouts controller moves it on.
// Run by tests/run-all.sh in its cluster phase (after `cluster.sh up`), with
// ROLLOUTS_DASHBOARD_E2E_KUBECONFIG set and kubectl on PATH. Without them it FAILS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { launch, openPage, screenshot } from './browser.mjs';
import { REPO, startServer, stopAll } from './server.mjs';

const KUBECONFIG = process.env.ROLLOUTS_DASHBOARD_E2E_KUBECONFIG;
const NS = `e2e-browser-${process.pid}`;
const NAME = 'rollout-canary';
const EXAMPLE = resolve(REPO, '..', 'shared', 'fixtures', 'argo-rollouts-examples', 'rollout-canary.yaml');

function kubectl(...args) {
  return execFileSync('kubectl', ['--kubeconfig', KUBECONFIG, ...args], { encoding: 'utf8' });
}

async function until(what, fn, timeoutMs = 150000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (fn()) return;
    } catch {
      // not there yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const field = (path) => kubectl('-n', NS, 'get', 'rollout', NAME, '-o', `jsonpath={${path}}`);

let browser;
let server;
before(async () => {
  assert.ok(KUBECONFIG, 'ROLLOUTS_DASHBOARD_E2E_KUBECONFIG is not set: bring the test cluster up first (tests/run-all.sh does)');
  kubectl('create', 'namespace', NS);
  kubectl('-n', NS, 'create', '-f', EXAMPLE);
  await until('the rollout to be Healthy', () => field('.status.phase') === 'Healthy');
  kubectl('-n', NS, 'patch', 'rollout', NAME, '--type', 'json', '-p',
    JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'argoproj/rollouts-demo:yellow' }]));
  await until('the canary to pause at step 1', () => field('.status.currentStepIndex') === '1' && field('.status.pauseConditions[0].reason') === 'CanaryPauseStep');
  server = await startServer('cluster', ['--kubeconfig', KUBECONFIG, '-n', NS]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  stopAll();
  try {
    kubectl('delete', 'namespace', NS, '--wait=false');
  } catch {
    // best effort
  }
});

test('promote a paused canary on the real cluster from the detail page', async () => {
  const { page, problems } = await openPage(browser.context, `${server.url}rollout/${NS}/${NAME}`);
  await page.getByRole('heading', { level: 1, name: NAME }).waitFor();
  await page.waitForFunction(
    () => document.querySelector('.status-panel')?.textContent?.includes('Paused'),
    null,
    { timeout: 60000 },
  );
  const stepBefore = await page.evaluate(() => document.querySelector('.step-current .step-num')?.textContent ?? '');
  assert.notEqual(stepBefore, '');
  const promote = page.getByRole('toolbar', { name: new RegExp(`Actions for ${NAME}`) }).getByRole('button', { name: 'Promote', exact: true });
  await promote.click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  // currentStepIndex 1 is the timeline's step 2 (the pause); the dialog names both steps (#15).
  assert.match(await dialog.innerText(), new RegExp(`Promote ${NAME} past step 2 “Pause until promoted” → step 3 “Set weight 40%”`));
  await dialog.getByRole('button', { name: 'Promote', exact: true }).click();
  // The controller moves past the pause; the page shows it live, and the cluster agrees.
  await page.waitForFunction(
    (s) => (document.querySelector('.step-current .step-num')?.textContent ?? s) !== s,
    stepBefore,
    { timeout: 60000 },
  );
  await until('the controller to move past step 1', () => Number(field('.status.currentStepIndex')) >= 2, 60000);
  await screenshot(page, 'cluster-promoted');
  const events = kubectl('-n', NS, 'get', 'events', '--field-selector', 'reason=PromotedFromDashboard', '-o', 'name');
  assert.notEqual(events.trim(), '', 'a PromotedFromDashboard event is recorded');
  assert.deepEqual(problems.pageErrors, []);
  assert.deepEqual(problems.consoleErrors, []);
});
