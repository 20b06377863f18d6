// Issue #15.7, time and history: the detail's History section (the rollout's Kubernetes Events,
// newest first, naming who did what), each step's start and end, and the list row's waiting
// time, ticking.
//
// The first tests run against a --from-files instance of their own, over a rollout and Events
// written here with times relative to now (Kubernetes keeps Events about an hour, and the page
// shows relative times). The promote test runs against a --demo instance of its own: a promote
// through the UI records our Event, which the history then shows with the person's name.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { axeViolations, launch, openForAxe, openPage, row, screenshot, waitUntilPromotable } from './browser.mjs';
import { startServer } from './server.mjs';

const NOW = Date.now();
const ago = (seconds) => new Date(Math.floor(NOW / 1000) * 1000 - seconds * 1000).toISOString().replace('.000Z', 'Z');
const T = {
  failed: ago(900),
  updated: ago(600),
  step1: ago(590),
  step2: ago(560),
  step3: ago(555),
  pause: ago(250),
  retried: ago(200),
};

function rollout() {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'history-web', namespace: 'history', uid: 'uid-history-web', generation: 2, resourceVersion: '7', creationTimestamp: ago(7200),
      annotations: { 'rollout.argoproj.io/revision': '2' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'history-web' } },
      template: { metadata: { labels: { app: 'history-web' } }, spec: { containers: [{ name: 'app', image: 'ghcr.io/example/web:2' }] } },
      strategy: { canary: { steps: [{ setWeight: 20 }, { pause: { duration: '30s' } }, { setWeight: 50 }, { pause: {} }, { setWeight: 80 }] } },
    },
    status: {
      observedGeneration: '2', currentStepIndex: 3, currentPodHash: 'new', stableRS: 'old', stepHash: 'h', currentStepHash: 'h',
      phase: 'Paused', message: 'CanaryPauseStep', controllerPause: true,
      pauseConditions: [{ reason: 'CanaryPauseStep', startTime: T.pause }],
      replicas: 2, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2,
      conditions: [
        { type: 'Paused', status: 'True', reason: 'RolloutPaused', message: 'Rollout is paused', lastTransitionTime: T.pause, lastUpdateTime: T.pause },
        { type: 'Progressing', status: 'Unknown', reason: 'RolloutPaused', message: 'Rollout is paused', lastTransitionTime: T.pause, lastUpdateTime: T.pause },
      ],
    },
  };
}

let seq = 0;
function event(reason, message, at, { type = 'Normal', component = 'rollouts-controller', count = 1, first = at } = {}) {
  seq += 1;
  return {
    apiVersion: 'v1', kind: 'Event',
    metadata: { name: `history-web.${seq}`, namespace: 'history' },
    involvedObject: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'history-web', namespace: 'history', uid: 'uid-history-web' },
    type, reason, message, source: { component }, firstTimestamp: first, lastTimestamp: at, count,
  };
}

const EVENTS = [
  // The previous update's analysis failed (a Warning), before this update began.
  event('AnalysisRunFailed', "Step Analysis Run 'history-web-old-1-2' Status New: 'Failed' Previous: 'Running'", T.failed, { type: 'Warning' }),
  event('RolloutUpdated', 'Rollout updated to revision 2', T.updated),
  event('RolloutStepCompleted', 'Rollout step 1/5 completed (setWeight: 20)', T.step1),
  // Step 2's completion has expired (older than an hour on a real cluster): its end is unknown.
  event('RolloutStepCompleted', 'Rollout step 3/5 completed (setWeight: 50)', T.step3),
  event('RolloutPaused', 'Rollout is paused (CanaryPauseStep)', T.pause, { count: 3, first: ago(3000) }),
  event('RetriedFromDashboard', 'bob@example.com via rollouts-dashboard: retried the update', T.retried, { component: 'rollouts-dashboard' }),
];

let browser;
let files;
let demo;
let dir;
before(async () => {
  browser = await launch();
  dir = mkdtempSync(join(tmpdir(), 'rd-history-'));
  writeFileSync(join(dir, 'rollout.json'), JSON.stringify(rollout()));
  writeFileSync(join(dir, 'events.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: EVENTS }));
  [files, demo] = await Promise.all([startServer('history-files', ['--from-files', dir]), startServer('history-demo', ['--demo'])]);
});
after(async () => {
  await browser?.close();
  files?.stop();
  demo?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Serious or critical axe violations, page errors and console errors: none. */
async function assertClean(page, problems) {
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], JSON.stringify(violations, null, 2));
  assert.deepEqual(problems.pageErrors, []);
  assert.deepEqual(problems.consoleErrors, []);
}

/** The History section's rows: [what, who, when's datetime]. */
async function historyRows(page) {
  return page.locator('#history table.history tbody tr').evaluateAll((trs) =>
    trs.map((tr) => {
      const cells = [...tr.querySelectorAll('td')];
      return [cells[1]?.textContent?.trim() ?? '', cells[2]?.textContent?.trim() ?? '', cells[0]?.querySelector('time')?.getAttribute('datetime') ?? ''];
    }),
  );
}

test('#15.7 the History section lists the Events newest first, naming who did what', async () => {
  const { page, problems } = await openForAxe(browser.context, files.url + 'rollout/files/history/history-web');
  await page.getByRole('heading', { level: 1, name: 'history-web' }).waitFor();
  const section = page.getByRole('region', { name: /History/ });
  await section.waitFor();
  await page.locator('#history table.history').waitFor();
  const rows = await historyRows(page);
  assert.deepEqual(
    rows.map(([what, who, when]) => [what.replace(/^Warning\s+/, '').split(' ')[0], who, when]),
    [
      ['RetriedFromDashboard', 'retried by bob@example.com', T.retried],
      ['RolloutPaused', 'rollouts-controller', T.pause],
      ['RolloutStepCompleted', 'rollouts-controller', T.step3],
      ['RolloutStepCompleted', 'rollouts-controller', T.step1],
      ['RolloutUpdated', 'rollouts-controller', T.updated],
      ['AnalysisRunFailed', 'rollouts-controller', T.failed],
    ],
  );
  // A Warning says so, in words, not only in colour.
  const warning = page.locator('#history tbody tr').last();
  assert.equal((await warning.locator('.tag-warning').innerText()).trim(), 'Warning');
  // Our Event's message reads without the person (named under Who); the controller's whole.
  assert.equal(rows[0][0], 'RetriedFromDashboard retried the update');
  assert.equal(rows[2][0], 'RolloutStepCompleted Rollout step 3/5 completed (setWeight: 50)');
  // Relative times, never "in …"; the absolute time on hover; the count when it recurred.
  const first = page.locator('#history tbody tr').first().locator('time');
  assert.match((await first.innerText()).trim(), /^(3m ago|just now|\d+m ago)$/);
  assert.match((await first.getAttribute('title')) ?? '', new RegExp(`\\(${new Date(T.retried).toISOString().replace(/[.]/g, '\\.')}\\)$`));
  const paused = page.locator('#history tbody tr').nth(1);
  assert.equal((await paused.locator('.tag').innerText()).trim(), '×3');
  for (const t of await page.locator('#history time').allInnerTexts()) assert.doesNotMatch(t, /\bin \d/);
  await screenshot(page, 'history-section');
  await assertClean(page, problems);
  // And in the dark theme.
  await page.emulateMedia({ colorScheme: 'dark' });
  await assertClean(page, problems);
  await page.close();
});

test('#15.7 each step says when it started and ended, "unknown" where the Events no longer tell', async () => {
  const { page, problems } = await openPage(browser.context, files.url + 'rollout/files/history/history-web');
  await page.getByRole('heading', { level: 1, name: 'history-web' }).waitFor();
  await page.locator('.step .step-times').first().waitFor();
  const steps = await page.locator('ol.steps > li').evaluateAll((lis) =>
    lis.map((li) => {
      const t = li.querySelector('.step-times');
      return t ? [t.textContent?.trim() ?? '', [...t.querySelectorAll('time')].map((e) => e.getAttribute('datetime'))] : null;
    }),
  );
  // Step 1: from the update to its completion, 10 s.
  assert.deepEqual(steps[0][1], [T.updated, T.step1]);
  assert.match(steps[0][0], /^started \d\d:\d\d:\d\d · ended \d\d:\d\d:\d\d · 10s$/);
  // Step 2: started when step 1 ended; its end's Event is gone: unknown, no made-up duration.
  assert.deepEqual(steps[1][1], [T.step1]);
  assert.match(steps[1][0], /^started \d\d:\d\d:\d\d · ended unknown$/);
  // Step 3: its start is unknown for the same reason; it ended at its Event.
  assert.deepEqual(steps[2][1], [T.step3]);
  assert.match(steps[2][0], /^started unknown · ended \d\d:\d\d:\d\d$/);
  // Step 4, the current pause: from its pause condition, counting.
  assert.deepEqual(steps[3][1], [T.pause]);
  const soFar = /^started \d\d:\d\d:\d\d · (\d+)m (\d\d)s so far$/.exec(steps[3][0]);
  assert.ok(soFar, steps[3][0]);
  const counted = Number(soFar[1]) * 60 + Number(soFar[2]);
  const since = (Date.now() - Date.parse(T.pause)) / 1000;
  assert.ok(Math.abs(counted - since) <= 3, `${steps[3][0]} vs ${since.toFixed(1)} s since the pause began`);
  // Step 5 has not started.
  assert.equal(steps[4], null);
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});

test('#15.7 the list row says how long a rollout has waited, ticking', async () => {
  const { page, problems } = await openForAxe(browser.context, files.url);
  const r = row(page, 'history', 'history-web', 'files');
  await r.waitFor();
  const tag = r.locator('.waiting-tag');
  await tag.waitFor();
  const first = (await tag.innerText()).trim();
  // Paused at the indefinite pause since T.pause, about 250 s ago.
  const m = /^waiting (\d+)m (\d\d)s$/.exec(first);
  assert.ok(m, first);
  const shown = Number(m[1]) * 60 + Number(m[2]);
  const expected = (Date.now() - Date.parse(T.pause)) / 1000;
  assert.ok(Math.abs(shown - expected) <= 3, `${first} vs ${expected.toFixed(1)} s`);
  assert.match((await tag.getAttribute('title')) ?? '', /^Waiting for promotion for \d+m \d\ds, since /);
  await page.waitForFunction(
    ([ns, name, s]) => {
      const t = document.querySelector(`[data-key="files/${ns}/${name}"] .waiting-tag`)?.textContent ?? '';
      const mm = /(\d+)m (\d\d)s/.exec(t);
      return mm !== null && Number(mm[1]) * 60 + Number(mm[2]) >= s + 2;
    },
    ['history', 'history-web', shown],
    { timeout: 10000, polling: 250 },
  );
  await assertClean(page, problems);
  await page.close();
});

test('#15.7 a promote through the UI adds "promoted by <person>" to the history', async () => {
  const { page, problems } = await openPage(browser.context, demo.url + 'rollout/prod-eu/demo-shop/checkout-api');
  await page.getByRole('heading', { level: 1, name: 'checkout-api' }).waitFor();
  const promote = page.getByRole('toolbar', { name: /Actions for checkout-api/ }).getByRole('button', { name: 'Promote', exact: true });
  // The demo brings it to its indefinite pause by itself.
  await waitUntilPromotable(page);
  const before = await historyRows(page);
  assert.ok(!before.some(([, who]) => who.startsWith('promoted by')), JSON.stringify(before));
  // The demo's simulated controller records the Events upstream's would: the pause it waits in.
  assert.ok(
    before.some(([what, who]) => what.startsWith('RolloutPaused ') && who === 'rollouts-controller'),
    JSON.stringify(before),
  );
  const clicked = Date.now();
  await promote.click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Promote', exact: true }).click();
  const ours = page.locator('#history tbody tr', { hasText: 'promoted by' }).first();
  await ours.waitFor({ timeout: 15000 });
  // The controller's answer to the promote (it resumes) comes a tick later, above ours.
  await page
    .locator('#history tbody tr', { hasText: /RolloutResumed|RolloutStepCompleted/ })
    .first()
    .waitFor({ timeout: 15000 });
  const rows = await historyRows(page);
  const whens = rows.map(([, , when]) => Date.parse(when));
  assert.deepEqual(whens, [...whens].sort((a, b) => b - a), `newest first: ${JSON.stringify(rows)}`);
  const [what, who, when] = rows.find(([, who]) => who.startsWith('promoted by'));
  // Naming the person (--auth none: the local user) and what they did.
  assert.equal(who, 'promoted by local user (--auth none)');
  assert.match(what, /^PromotedFromDashboard /);
  assert.ok(Math.abs(Date.parse(when) - clicked) < 10000, `${when} vs ${new Date(clicked).toISOString()}`);
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});
