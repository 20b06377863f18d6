// Benchmark (not a test): 2,000 rollouts served with --from-files; prints time to first
// render, time to apply a filter, and time to apply 100 live updates.
//
// Live updates are fed through the page's test hook `window.__rolloutsDashboard.applyFrames`
// (web/src/main.tsx), which applies frames exactly as the WebSocket client does (same store,
// same seq rule, same rendering); only the network is skipped.
//
// Usage: node tests/browser/bench.mjs [count]   (ROLLOUTS_DASHBOARD_BIN overrides the binary)

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch } from './browser.mjs';
import { startServer, stopAll } from './server.mjs';

const COUNT = Number(process.argv[2] ?? 2000);
const STATUSES = ['Healthy', 'Healthy', 'Healthy', 'Progressing', 'Paused', 'Degraded'];

function rolloutYaml(i) {
  const ns = `team-${String(i % 20).padStart(2, '0')}`;
  const name = `svc-${String(i).padStart(4, '0')}`;
  const uid = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const phase = STATUSES[i % STATUSES.length];
  const step = phase === 'Healthy' ? 4 : i % 4;
  const hash = `h${i.toString(16)}`;
  const stable = phase === 'Healthy' ? hash : `s${i.toString(16)}`;
  const pause = phase === 'Paused' ? `  pauseConditions:\n  - reason: CanaryPauseStep\n    startTime: "2024-01-01T00:00:00Z"\n` : '';
  return `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: ${name}
  namespace: ${ns}
  uid: ${uid}
  resourceVersion: "${i + 1}"
  generation: 1
  creationTimestamp: "2024-01-01T00:00:00Z"
  labels:
    app: ${name}
    team: ${ns}
    tier: ${i % 3 === 0 ? 'frontend' : 'backend'}
spec:
  replicas: 2
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      containers:
      - name: app
        image: ghcr.io/bench/${name}:1.${i % 50}.0
  strategy:
    canary:
      steps:
      - setWeight: 25
      - pause: {}
      - setWeight: 50
      - pause: {duration: 30s}
status:
  observedGeneration: "1"
  phase: ${phase}
  message: ${phase === 'Paused' ? 'CanaryPauseStep' : '""'}
  replicas: 2
  updatedReplicas: 2
  readyReplicas: 2
  availableReplicas: 2
  currentStepIndex: ${step}
  currentPodHash: ${hash}
  stableRS: ${stable}
${pause}---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: ${name}-${hash}
  namespace: ${ns}
  uid: rs-${uid}
  creationTimestamp: "2024-01-01T00:00:00Z"
  labels:
    rollouts-pod-template-hash: ${hash}
  annotations:
    rollout.argoproj.io/revision: "1"
  ownerReferences:
  - apiVersion: argoproj.io/v1alpha1
    kind: Rollout
    name: ${name}
    uid: ${uid}
    controller: true
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: app
        image: ghcr.io/bench/${name}:1.${i % 50}.0
status:
  replicas: 2
  readyReplicas: 2
  availableReplicas: 2
`;
}

const dir = mkdtempSync(join(tmpdir(), 'rd-bench-'));
let browser;
try {
  const chunks = [];
  for (let i = 0; i < COUNT; i++) chunks.push(rolloutYaml(i));
  writeFileSync(join(dir, 'rollouts.yaml'), chunks.join('---\n'));
  const server = await startServer('bench', ['--from-files', dir], { timeoutMs: 120000 });
  browser = await launch({ viewport: { width: 1440, height: 900 } });
  const page = await browser.context.newPage();

  const t0 = Date.now();
  await page.goto(server.url);
  await page.waitForFunction((n) => window.__rolloutsDashboard?.rolloutCount() === n && document.querySelector('.row[data-key]'), COUNT, { timeout: 120000, polling: 'raf' });
  const firstRender = await page.evaluate(() => performance.now());
  const wall = Date.now() - t0;
  const rendered = await page.locator('.row[data-key]').count();

  const settle = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const filterMs = await page.evaluate(async (settleSrc) => {
    const settleFn = new Function(`return (${settleSrc})()`);
    const chip = [...document.querySelectorAll('button.chip')].find((b) => b.textContent.startsWith('Paused') || b.textContent.includes('Paused'));
    const t = performance.now();
    chip.click();
    await settleFn();
    return performance.now() - t;
  }, settle.toString());
  const filtered = await page.locator('.row[data-key]').count();
  // back to everything
  await page.evaluate(async (settleSrc) => {
    const settleFn = new Function(`return (${settleSrc})()`);
    [...document.querySelectorAll('button.chip')].find((b) => b.textContent.includes('Paused')).click();
    await settleFn();
  }, settle.toString());

  const updates = await page.evaluate(async (settleSrc) => {
    const settleFn = new Function(`return (${settleSrc})()`);
    const hook = window.__rolloutsDashboard;
    const res = await fetch(new URL('api/v1/rollouts', document.baseURI));
    const { rollouts } = await res.json();
    let seq = hook.lastSeq() + 1;
    const statuses = ['Healthy', 'Progressing', 'Paused', 'Degraded'];
    const frames = (round) => rollouts.slice(0, 100).map((r, i) => ({ type: 'upsert', seq: seq++, rollout: { ...r, status: statuses[(i + round) % 4], resourceVersion: String(seq) } }));
    // 100 updates in one frame batch (as the socket delivers a burst)
    let t = performance.now();
    hook.applyFrames(frames(1));
    await settleFn();
    const batch = performance.now() - t;
    // 100 updates each rendered on its own
    const single = frames(2);
    t = performance.now();
    for (const f of single) {
      hook.applyFrames([f]);
      await settleFn();
    }
    const sequential = performance.now() - t;
    return { batch, sequential };
  }, settle.toString());

  const fmt = (n) => `${n.toFixed(1)} ms`;
  console.log(`rollouts:                          ${COUNT} (rows in the DOM: ${rendered}, windowed)`);
  console.log(`time to first render:              ${fmt(firstRender)} after navigation start (${wall} ms wall clock incl. browser)`);
  console.log(`time to apply a filter (Paused):   ${fmt(filterMs)} (${filtered} rows in the DOM)`);
  console.log(`100 live updates, one batch:       ${fmt(updates.batch)}`);
  console.log(`100 live updates, one at a time:   ${fmt(updates.sequential)} (${fmt(updates.sequential / 100)} each)`);
} finally {
  await browser?.close();
  stopAll();
  rmSync(dir, { recursive: true, force: true });
}
