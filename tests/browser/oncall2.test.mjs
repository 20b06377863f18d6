// On-call UX, round 3 (issue #15 items 9 and 13): the running analysis beside the step timeline
// with relative times that are right; and the states seen on a real cluster (a person's pause
// with 0 of 2 pods, an invalid spec, a workloadRef, a blue-green preview, an experiment ended by
// an abort). Those states are YAML written here into a temporary directory and served by a
// --from-files instance this file starts; their details and rows (computed by that server, with
// its action verdicts) are shown in the demo's page by rewriting its stream, so the toolbar is
// there (a --from-files source is read-only).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { axeViolations, env, launch, openPage, row, screenshot } from './browser.mjs';
import { startServer } from './server.mjs';

let browser;
let files;
let dir;

const NS = 'oncall2';
const T0 = '2024-05-01T10:00:00Z';

function meta(kind, name, extra = '') {
  return `apiVersion: ${kind === 'ReplicaSet' || kind === 'Deployment' ? 'apps/v1' : 'argoproj.io/v1alpha1'}
kind: ${kind}
metadata:
  name: ${name}
  namespace: ${NS}
  uid: uid-${name}
  resourceVersion: "7"
  generation: 1
  creationTimestamp: "${T0}"
${extra}`;
}

const TEMPLATE = `  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.25
`;

/** The rollouts of issue #15.13, as a real cluster had them. */
const OBJECTS = [
  // Paused by a person mid-update, with 0 of 2 pods up.
  `${meta('Rollout', 'held')}spec:
  replicas: 2
  paused: true
${TEMPLATE}  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {}
      - setWeight: 60
status:
  observedGeneration: "1"
  phase: Paused
  message: manually paused
  replicas: 2
  updatedReplicas: 1
  readyReplicas: 0
  availableReplicas: 0
  currentStepIndex: 0
  currentPodHash: new1
  stableRS: old1
`,
  // An invalid step: the controller says which one.
  `${meta('Rollout', 'broken')}spec:
  replicas: 1
${TEMPLATE}  strategy:
    canary:
      steps:
      - setWeight: 20
      - setWeight: 120
      - pause: {}
status:
  observedGeneration: "1"
  phase: Degraded
  message: 'InvalidSpec: The Rollout "broken" is invalid: spec.strategy.canary.steps[1].setWeight: Invalid value: 120: must be between 0 and 100'
  replicas: 1
  readyReplicas: 1
  availableReplicas: 1
  updatedReplicas: 1
  currentStepIndex: 0
  currentPodHash: new2
  stableRS: new2
  conditions:
  - type: InvalidSpec
    status: "True"
    reason: InvalidSpec
    message: 'The Rollout "broken" is invalid: spec.strategy.canary.steps[1].setWeight: Invalid value: 120: must be between 0 and 100'
    lastTransitionTime: "${T0}"
    lastUpdateTime: "${T0}"
`,
  // A template from a Deployment.
  `${meta('Rollout', 'referenced')}spec:
  replicas: 1
  selector:
    matchLabels:
      app: ref
  workloadRef:
    apiVersion: apps/v1
    kind: Deployment
    name: ref-deploy
  strategy:
    canary:
      steps:
      - setWeight: 50
status:
  observedGeneration: "1"
  phase: Healthy
  replicas: 1
  readyReplicas: 1
  availableReplicas: 1
  updatedReplicas: 1
  currentStepIndex: 1
  currentPodHash: refhash
  stableRS: refhash
`,
  `${meta('ReplicaSet', 'referenced-refhash', `  labels:
    rollouts-pod-template-hash: refhash
  annotations:
    rollout.argoproj.io/revision: "1"
  ownerReferences:
  - apiVersion: argoproj.io/v1alpha1
    kind: Rollout
    name: referenced
    uid: uid-referenced
    controller: true
`)}spec:
  replicas: 1
  selector:
    matchLabels:
      app: ref
  template:
    metadata:
      labels:
        app: ref
        rollouts-pod-template-hash: refhash
    spec:
      containers:
      - name: app
        image: ghcr.io/demo/ref:1.0
status:
  replicas: 1
  readyReplicas: 1
  availableReplicas: 1
`,
  // A blue-green whose preview runs 1 replica, and a canary aborted during an experiment that
  // still reads Successful.
  `${meta('Rollout', 'bluegreen')}spec:
  replicas: 3
${TEMPLATE}  strategy:
    blueGreen:
      activeService: bg-active
      previewService: bg-preview
      previewReplicaCount: 1
      autoPromotionEnabled: false
status:
  observedGeneration: "1"
  phase: Paused
  message: BlueGreenPause
  replicas: 4
  readyReplicas: 4
  availableReplicas: 4
  updatedReplicas: 1
  currentPodHash: bgnew
  stableRS: bgold
  blueGreen:
    activeSelector: bgold
    previewSelector: bgnew
  pauseConditions:
  - reason: BlueGreenPause
    startTime: "${T0}"
  controllerPause: true
`,
  `${meta('ReplicaSet', 'bluegreen-bgnew', `  labels:
    rollouts-pod-template-hash: bgnew
  annotations:
    rollout.argoproj.io/revision: "2"
  ownerReferences:
  - apiVersion: argoproj.io/v1alpha1
    kind: Rollout
    name: bluegreen
    uid: uid-bluegreen
    controller: true
`)}spec:
  replicas: 1
${TEMPLATE}status:
  replicas: 1
  readyReplicas: 1
  availableReplicas: 1
`,
  `${meta('Rollout', 'experimented')}spec:
  replicas: 1
${TEMPLATE}  strategy:
    canary:
      steps:
      - experiment:
          templates:
          - name: baseline
            specRef: stable
status:
  observedGeneration: "1"
  phase: Degraded
  message: 'RolloutAborted: Rollout aborted update to revision 2'
  abort: true
  abortedAt: "${T0}"
  replicas: 1
  readyReplicas: 1
  availableReplicas: 1
  currentStepIndex: 0
  currentPodHash: exnew
  stableRS: exold
  conditions:
  - type: Progressing
    status: "False"
    reason: RolloutAborted
    message: Rollout aborted update to revision 2
    lastTransitionTime: "${T0}"
    lastUpdateTime: "${T0}"
`,
  `${meta('Experiment', 'experimented-2-0', `  annotations:
    rollout.argoproj.io/revision: "2"
  ownerReferences:
  - apiVersion: argoproj.io/v1alpha1
    kind: Rollout
    name: experimented
    uid: uid-experimented
    controller: true
`)}spec:
  terminate: true
  templates: []
status:
  phase: Successful
  availableAt: "${T0}"
`,
];

before(async () => {
  browser = await launch();
  dir = mkdtempSync(join(tmpdir(), 'rd-oncall2-'));
  OBJECTS.forEach((text, i) => writeFileSync(join(dir, `${String(i).padStart(2, '0')}.yaml`), text));
  files = await startServer('oncall2-files', ['--from-files', dir]);
});
after(async () => {
  await browser?.close();
  files?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function api(path) {
  const r = await fetch(new URL(path, files.url), { headers: { Accept: 'application/json' } });
  assert.equal(r.status, 200, `${path}: ${r.status}`);
  return r.json();
}

/**
 * Opens `path` on the demo with the files server's rollouts spliced into its stream: their rows
 * join every list snapshot, and the demo's notFound for one of them becomes that rollout's
 * detail (as the files server computed it, verdicts included).
 */
async function openSpliced(path) {
  const list = await api('api/v1/rollouts');
  const rows = (Array.isArray(list) ? list : list.rollouts ?? list.items).filter((r) => r.namespace === NS);
  assert.ok(rows.length >= 5, `the files server has the test's rollouts (${rows.length})`);
  const details = {};
  for (const r of rows) details[r.name] = await api(`api/v1/clusters/files/namespaces/${NS}/rollouts/${r.name}`);
  const { page, problems } = await openPage(browser.context, 'about:blank');
  // axe is injected as a script tag: this page (not the app) bypasses the CSP for it.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Page.setBypassCSP', { enabled: true });
  await page.routeWebSocket(/\/api\/v1\/stream$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => server.send(m));
    server.onMessage((m) => {
      if (typeof m !== 'string') {
        // A list snapshot's pages are gzip-compressed binary messages (protocol 4): the rows
        // join its first page.
        const page = JSON.parse(gunzipSync(m).toString('utf8'));
        if (page.type === 'snapshotPage' && page.index === 0) page.rollouts = [...page.rollouts, ...rows];
        ws.send(gzipSync(JSON.stringify(page)));
        return;
      }
      const f = JSON.parse(String(m));
      if (f.type === 'notFound' && f.namespace === NS && details[f.name]) {
        ws.send(JSON.stringify({ type: 'detail', seq: f.seq, rollout: details[f.name] }));
        return;
      }
      ws.send(JSON.stringify(f));
    });
  });
  await page.goto(env('RD_DEMO_URL') + path, { waitUntil: 'domcontentloaded' });
  return { page, problems, details };
}

function bar(page) {
  return page.locator('.detail-head .actions');
}

test('#15.9 the running analysis sits beside the steps, above the fold, with times that are right', async () => {
  const { page, problems } = await openPage(browser.context, env('RD_DEMO_URL') + 'rollout/prod-eu/demo-payments/payments-gateway');
  await page.getByRole('heading', { level: 1, name: 'payments-gateway' }).waitFor();
  // The demo's analysis canary collects a measurement every few seconds while at its analysis step.
  await page.waitForFunction(() => [...document.querySelectorAll('.run')].some((r) => /Running/.test(r.querySelector('summary')?.textContent ?? '') && r.querySelectorAll('.mtable tbody tr').length >= 1), null, {
    timeout: 120000,
    polling: 250,
  });
  const layout = await page.evaluate(() => {
    const run = [...document.querySelectorAll('.run')].find((r) => /Running/.test(r.querySelector('summary')?.textContent ?? ''));
    const steps = document.getElementById('steps')?.getBoundingClientRect();
    const box = run.getBoundingClientRect();
    const metric = run.querySelector('.metric h4')?.getBoundingClientRect();
    return { steps: steps && { top: steps.top, bottom: steps.bottom, right: steps.right }, run: { top: box.top, left: box.left }, metric: metric && { top: metric.top }, scrollY: window.scrollY, height: window.innerHeight };
  });
  assert.equal(layout.scrollY, 0);
  assert.ok(layout.steps, 'the step timeline is shown');
  // Beside the timeline (to its right, starting within its height), and its metric above the fold.
  assert.ok(layout.run.left >= layout.steps.right, `the run is right of the steps: ${JSON.stringify(layout)}`);
  assert.ok(layout.run.top < layout.steps.bottom, `the run starts beside the steps: ${JSON.stringify(layout)}`);
  assert.ok(layout.metric && layout.metric.top + 40 < layout.height, `its metric is visible without scrolling at 1440×900: ${JSON.stringify(layout)}`);

  // A measurement that arrives while the page is open: once it is 8 s old it says so (not "just now").
  const count = () => page.evaluate(() => document.querySelectorAll('.run .mtable tbody tr').length);
  const before = await count();
  await page.waitForFunction((n) => document.querySelectorAll('.run .mtable tbody tr').length > n, before, { timeout: 60000, polling: 250 });
  const iso = await page.evaluate(() => {
    const rows = [...document.querySelectorAll('.run .mtable tbody tr time')];
    return rows.map((t) => t.getAttribute('datetime')).sort().at(-1);
  });
  await page.waitForFunction((t) => Date.now() - Date.parse(t) >= 8500, iso, { timeout: 30000, polling: 250 });
  const cell = await page.evaluate((t) => {
    const el = [...document.querySelectorAll('.run .mtable tbody tr time')].find((x) => x.getAttribute('datetime') === t);
    return { text: el.textContent, title: el.getAttribute('title'), age: (Date.now() - Date.parse(t)) / 1000 };
  }, iso);
  const m = /^(\d+)s ago$/.exec(cell.text ?? '');
  assert.ok(m, `an 8 s old measurement reads "Ns ago", not ${JSON.stringify(cell.text)}`);
  assert.ok(Math.abs(Number(m[1]) - cell.age) <= 2, `${cell.text} for a measurement ${cell.age.toFixed(1)} s old`);
  // The absolute time on hover: local date and time, and the ISO time.
  assert.match(cell.title ?? '', /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);
  await screenshot(page, 'oncall2-analysis-beside-steps');
  assert.deepEqual(problems.pageErrors, []);
});

test("#15.13 a person's pause needs attention, Resume is its main action, and the list shows 0/2 ready", async () => {
  const { page, problems } = await openSpliced('');
  await row(page, NS, 'held', 'files').first().waitFor({ timeout: 30000 });
  // In the Needs attention group: the group head comes before its row, and no "Everything else" head between.
  const placement = await page.evaluate((key) => {
    const items = [...document.querySelectorAll('.group-head, [data-key]')];
    const i = items.findIndex((e) => e.getAttribute('data-key') === key);
    const head = items.slice(0, i).reverse().find((e) => e.classList.contains('group-head'));
    return head?.textContent ?? '';
  }, `files/${NS}/held`);
  assert.match(placement, /Needs attention/);
  const held = row(page, NS, 'held', 'files').first();
  assert.match(await held.innerText(), /0\/2 ready/);
  assert.match(await held.innerText(), /Paused by a person/);
  const main = held.locator('button[data-action]').first();
  assert.equal(await main.getAttribute('data-action'), 'resume');
  assert.match((await main.getAttribute('class')) ?? '', /btn-primary/);
  assert.equal(await held.locator('button[data-action="promote"]').count(), 0, 'no Promote (it would skip a step) as the main action');

  // The detail: Resume is the primary button, Promote is not.
  await page.goto(env('RD_DEMO_URL') + `rollout/files/${NS}/held`, { waitUntil: 'domcontentloaded' });
  await page.getByRole('heading', { level: 1, name: 'held' }).waitFor();
  const resume = bar(page).locator('button[data-action="resume"]');
  await resume.waitFor();
  assert.equal(await resume.isDisabled(), false);
  assert.match((await resume.getAttribute('class')) ?? '', /btn-primary/);
  assert.doesNotMatch((await bar(page).locator('button[data-action="promote"]').getAttribute('class')) ?? '', /btn-primary/);
  assert.match(await page.locator('.replica-figures').innerText(), /0\/2 available · 2 current · 1 updated · 0 ready/);
  assert.deepEqual(problems.pageErrors, []);
});

test('#15.13 an InvalidSpec rollout: the server refuses Promote and Retry, says why, and marks the invalid step', async () => {
  const { page, problems, details } = await openSpliced(`rollout/files/${NS}/broken`);
  await page.getByRole('heading', { level: 1, name: 'broken' }).waitFor();
  const v = details.broken.actions;
  assert.equal(v.promote.enabled, false);
  assert.equal(v.retry.enabled, false);
  const retry = bar(page).locator('button[data-action="retry"]');
  await retry.waitFor();
  assert.equal(await retry.isDisabled(), true, 'Retry is disabled (it would "retry" and change nothing)');
  assert.match((await retry.getAttribute('title')) ?? '', /not aborted/);
  const full = bar(page).locator('button[data-action="promote-full"]');
  assert.equal(await full.isDisabled(), true);
  const fullTitle = (await full.getAttribute('title')) ?? '';
  assert.doesNotMatch(fullTitle, /Already fully promoted/);
  assert.equal(fullTitle, v['promote-full'].reason, "the server's reason, word for word");
  assert.match(fullTitle, /spec is invalid/);
  assert.equal(await bar(page).locator('button[data-action="promote"]').isDisabled(), true);
  // The step the InvalidSpec message names (steps[1]: timeline item 2) is marked.
  const invalid = page.locator('.steps .step-invalid');
  assert.equal(await invalid.count(), 1);
  assert.match(await invalid.innerText(), /(^|\n)2\.\s*Set weight 120%/);
  assert.match(await invalid.innerText(), /invalid/);
  assert.match(await invalid.innerText(), /must be between 0 and 100/);
  await screenshot(page, 'oncall2-invalid-spec');
  assert.deepEqual(await axeViolations(page), []);
  assert.deepEqual(problems.pageErrors, []);
});

test('#15.13 workloadRef names its Deployment and offers Set image; blue-green preview replicas; an aborted experiment reads terminated', async () => {
  const { page, problems } = await openSpliced(`rollout/files/${NS}/referenced`);
  await page.getByRole('heading', { level: 1, name: 'referenced' }).waitFor();
  assert.match(await page.locator('.workload-ref-fact').innerText(), /from Deployment ref-deploy/);
  assert.match(await page.locator('#containers').innerText(), /Deployment ref-deploy/);
  const set = page.locator('#containers button[data-action="set-image"]');
  assert.equal(await set.count(), 1, 'Set image is offered for the workloadRef template');
  assert.deepEqual(problems.pageErrors, []);

  const bg = await openSpliced(`rollout/files/${NS}/bluegreen`);
  await bg.page.getByRole('heading', { level: 1, name: 'bluegreen' }).waitFor();
  assert.equal((await bg.page.locator('.preview-replicas').innerText()).trim(), '1');
  assert.match(await bg.page.locator('.replica-figures').innerText(), /4 current/);

  const ex = await openSpliced(`rollout/files/${NS}/experimented`);
  await ex.page.getByRole('heading', { level: 1, name: 'experimented' }).waitFor();
  const e = ex.page.locator('#experiments .experiment h3');
  await e.waitFor();
  const text = await e.innerText();
  assert.match(text, /Terminated/);
  assert.doesNotMatch(text, /Successful/);
  assert.deepEqual(bg.problems.pageErrors, []);
  assert.deepEqual(ex.problems.pageErrors, []);
});
