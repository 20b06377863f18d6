// Benchmark (not a test): N rollouts served with --from-files; prints, per bundle, the time to
// first render, the time to apply a filter, the main-thread cost of each of 100 live updates
// applied one at a time (mean and p95), and the long tasks (> 50 ms) while updates stream.
//
// Live updates are fed through the page's test hook `window.__rolloutsDashboard.applyFrames`
// (web/src/main.tsx), which applies frames exactly as the WebSocket client does (same store,
// same seq rule, same rendering); only the network is skipped.
//
// The web bundle measured is served from a directory (a `static/` as `npm --prefix web run
// build` writes it) by intercepting the page's two asset requests, so that two builds of the web
// app (before and after a change) are measured against the same server, data and browser, one
// after the other in one run. The server binary only serves the shell and the API.
//
// Usage: node tests/browser/bench.mjs [count ...] [--bundle NAME=DIR ...] [--repeat N] [--json FILE]
//   count      rollouts to generate (default 2000); several counts run one after the other
//   --bundle   a built static/ directory to measure, named NAME (default: this tree's static/)
//   --repeat   runs per count and bundle, interleaved (default 1); the report shows the median
//   --json     also write every raw figure to FILE
//   ROLLOUTS_DASHBOARD_BIN overrides the server binary; BENCH_CPU_PROFILE=DIR writes a CPU
//   profile (.cpuprofile, for Chrome DevTools) of each run's one-at-a-time updates into DIR.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch } from './browser.mjs';
import { REPO, startServer, stopAll } from './server.mjs';

const args = process.argv.slice(2);
const counts = [];
const bundles = [];
let repeat = 1;
let jsonOut = null;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--bundle') {
    const [name, ...rest] = (args[++i] ?? '').split('=');
    if (!name || rest.length === 0) throw new Error('--bundle NAME=DIR');
    bundles.push({ name, dir: rest.join('=') });
  } else if (a === '--repeat') repeat = Number(args[++i]);
  else if (a === '--json') jsonOut = args[++i];
  else if (/^\d+$/.test(a)) counts.push(Number(a));
  else throw new Error(`unknown argument ${a}`);
}
if (counts.length === 0) counts.push(2000);
if (bundles.length === 0) bundles.push({ name: 'this tree', dir: join(REPO, 'static') });
if (!(repeat >= 1)) throw new Error('--repeat N, N >= 1');
const profileDir = process.env.BENCH_CPU_PROFILE || null;
const traceDir = process.env.BENCH_TRACE || null;
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

/** The bundle of `dir` (its manifest.json): served in place of the server's own. */
function readBundle(dir) {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  return {
    js: readFileSync(join(dir, manifest.js)),
    css: manifest.css ? readFileSync(join(dir, manifest.css)) : Buffer.from(''),
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Main-thread busy time so far (ms): the renderer's TaskDuration (scripts, style, layout, paint). */
async function busyMs(cdp) {
  return (await metricsMs(cdp)).TaskDuration;
}

/**
 * The renderer's cumulative durations (ms): TaskDuration (wall time of the main thread's
 * tasks), ThreadTime (the main thread's CPU time: what other processes on a shared machine do
 * not inflate), and the style and layout parts of TaskDuration. (Its ScriptDuration leaves
 * out the scripts run as microtasks, where rendering happens.)
 */
async function metricsMs(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const out = {};
  for (const name of ['TaskDuration', 'ThreadTime', 'RecalcStyleDuration', 'LayoutDuration']) out[name] = metrics.find((m) => m.name === name).value * 1000;
  return out;
}

/**
 * 100 updates (of the first 100 rollouts, statuses shifted by `round`), each applied and
 * rendered on its own; the main thread's task time and CPU time of each, and the wall time.
 */
async function oneAtATime(page, cdp, round) {
  const perUpdate = [];
  const cpuPerUpdate = [];
  let wall = 0;
  for (let i = 0; i < 100; i++) {
    const m0 = await metricsMs(cdp);
    wall += await page.evaluate(
      async ([i, round]) => {
        const t = performance.now();
        window.__rolloutsDashboard.applyFrames([window.__benchFrame(window.__benchRollouts[i], i + round)]);
        await window.__benchSettle();
        return performance.now() - t;
      },
      [i, round],
    );
    const m1 = await metricsMs(cdp);
    perUpdate.push(m1.TaskDuration - m0.TaskDuration);
    cpuPerUpdate.push(m1.ThreadTime - m0.ThreadTime);
  }
  return { perUpdate, cpuPerUpdate, wall };
}

/** One page load and its measurements, with `bundle` served in place of the server's. */
async function measure(browser, server, count, bundle, label) {
  const page = await browser.context.newPage();
  // Only the two entry files are replaced; the shell (with its CSP nonce) and the API are the server's.
  await page.route(/\/assets\/app-[0-9a-f]+\.js$/, (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: bundle.js }));
  await page.route(/\/assets\/app-[0-9a-f]+\.css$/, (route) => route.fulfill({ status: 200, contentType: 'text/css', body: bundle.css }));
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');

  await page.goto(server.url);
  await page.waitForFunction((n) => window.__rolloutsDashboard?.rolloutCount() === n && document.querySelector('.row[data-key]'), count, { timeout: 120000, polling: 'raf' });
  const firstRender = await page.evaluate(() => performance.now());
  const rendered = await page.locator('.row[data-key]').count();

  // In the page: waits until the next frame has been rendered (and its microtasks and paint are done).
  await page.evaluate(() => {
    window.__benchSettle = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  });
  const clickChip = () =>
    page.evaluate(async () => {
      const chip = [...document.querySelectorAll('button.chip')].find((b) => b.textContent.includes('Paused'));
      const t = performance.now();
      chip.click();
      await window.__benchSettle();
      return performance.now() - t;
    });
  const f0 = await metricsMs(cdp);
  const filterMs = await clickChip();
  const filterCpu = (await metricsMs(cdp)).ThreadTime - f0.ThreadTime;
  const filtered = await page.locator('.row[data-key]').count();
  await clickChip(); // back to everything

  // Frames: status changes of the first 100 rollouts (by the API's order), cycling through four
  // statuses, so that each one moves between groups and places; `round` varies the status.
  await page.evaluate(async () => {
    const res = await fetch(new URL('api/v1/rollouts', document.baseURI));
    window.__benchRollouts = (await res.json()).rollouts;
    window.__benchSeq = window.__rolloutsDashboard.lastSeq() + 1;
    window.__benchFrame = (r, round) => {
      const statuses = ['Healthy', 'Progressing', 'Paused', 'Degraded'];
      const seq = window.__benchSeq++;
      return { type: 'upsert', seq, rollout: { ...r, status: statuses[round % 4], resourceVersion: String(seq) } };
    };
  });

  // 100 updates in one batch (as the socket delivers a burst).
  let b0 = await busyMs(cdp);
  const batchWall = await page.evaluate(async () => {
    const rs = window.__benchRollouts.slice(0, 100);
    const t = performance.now();
    window.__rolloutsDashboard.applyFrames(rs.map((r, i) => window.__benchFrame(r, i + 1)));
    await window.__benchSettle();
    return performance.now() - t;
  });
  const batchBusy = (await busyMs(cdp)) - b0;

  // The floor: the same round trip and frame with no update (what each figure below includes anyway).
  const floor = [];
  const cpuFloor = [];
  for (let i = 0; i < 20; i++) {
    const m0 = await metricsMs(cdp);
    await page.evaluate(() => window.__benchSettle());
    const m1 = await metricsMs(cdp);
    floor.push(m1.TaskDuration - m0.TaskDuration);
    cpuFloor.push(m1.ThreadTime - m0.ThreadTime);
  }

  // 100 updates, each applied and rendered on its own: main-thread time per update.
  const traceEvents = [];
  if (traceDir) {
    cdp.on('Tracing.dataCollected', (e) => traceEvents.push(...e.value));
    await cdp.send('Tracing.start', { categories: 'devtools.timeline,v8.execute,disabled-by-default-devtools.timeline', transferMode: 'ReportEvents' });
  }
  if (profileDir) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
    await cdp.send('Profiler.start');
  }
  const parts0 = await metricsMs(cdp);
  const { perUpdate, cpuPerUpdate, wall: sequentialWall } = await oneAtATime(page, cdp, 2);
  const parts1 = await metricsMs(cdp);
  if (traceDir) {
    const done = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
    await cdp.send('Tracing.end');
    await done;
    mkdirSync(traceDir, { recursive: true });
    writeFileSync(join(traceDir, `${label}.json`), JSON.stringify({ traceEvents }));
  }
  // Style and layout time of the 100 updates, per update (ms).
  const part = (k) => (parts1[k] - parts0[k]) / 100;
  if (profileDir) {
    const { profile } = await cdp.send('Profiler.stop');
    mkdirSync(profileDir, { recursive: true });
    writeFileSync(join(profileDir, `${label}.cpuprofile`), JSON.stringify(profile));
  }

  // A stream: 300 updates at 100 per second spread over the whole list (the socket delivers
  // them as they come, batched per animation frame by the connection; here one per timer),
  // while a PerformanceObserver records every long task (> 50 ms).
  b0 = await busyMs(cdp);
  const stream = await page.evaluate(async () => {
    const longTasks = [];
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) longTasks.push(e.duration);
    });
    obs.observe({ type: 'longtask' });
    const rs = window.__benchRollouts;
    const t = performance.now();
    await new Promise((done) => {
      let i = 0;
      const id = setInterval(() => {
        const r = rs[(i * 7919) % rs.length];
        window.__rolloutsDashboard.applyFrames([window.__benchFrame(r, i + 3)]);
        if (++i === 300) {
          clearInterval(id);
          done();
        }
      }, 10);
    });
    await window.__benchSettle();
    await new Promise((r) => setTimeout(r, 100)); // let the observer deliver the last entries
    obs.disconnect();
    return { wall: performance.now() - t, longTasks };
  });
  const streamBusy = (await busyMs(cdp)) - b0;

  // The same 100 updates with the pointer resting over the list, where rows keep their places
  // (ListPage's held order) and only their content changes.
  const box = await page.locator('.vlist').boundingBox();
  await page.mouse.move(box.x + 300, Math.min(box.y + 300, 880));
  await page.evaluate(() => window.__benchSettle());
  const hover = await oneAtATime(page, cdp, 4);
  const heldRows = await page.locator('.row[data-key]').count();
  await page.mouse.move(5, 5);
  const applied = await page.evaluate(() => window.__rolloutsDashboard.lastSeq() === window.__benchSeq - 1);
  if (!applied) throw new Error(`${label}: not every update was applied`);
  await page.close();
  return {
    rendered,
    firstRender,
    filterMs,
    filterCpu,
    filtered,
    batchWall,
    batchBusy,
    floorMean: mean(floor),
    cpuFloorMean: mean(cpuFloor),
    cpuMean: mean(cpuPerUpdate),
    cpuP95: percentile(cpuPerUpdate, 95),
    perUpdate,
    updateMean: mean(perUpdate),
    updateP95: percentile(perUpdate, 95),
    updateMax: Math.max(...perUpdate),
    updateStyle: part('RecalcStyleDuration'),
    updateLayout: part('LayoutDuration'),
    sequentialWall,
    streamWall: stream.wall,
    streamBusyFraction: streamBusy / stream.wall,
    longTasks: stream.longTasks.length,
    longestTask: stream.longTasks.length ? Math.max(...stream.longTasks) : 0,
    hoverMean: mean(hover.perUpdate),
    hoverP95: percentile(hover.perUpdate, 95),
    hoverCpuMean: mean(hover.cpuPerUpdate),
    heldRows,
  };
}

const results = [];
let browser;
try {
  const loaded = bundles.map((b) => ({ ...b, bundle: readBundle(b.dir) }));
  browser = await launch({ viewport: { width: 1440, height: 900 } });
  for (const count of counts) {
    const dir = mkdtempSync(join(tmpdir(), 'rd-bench-'));
    try {
      const chunks = [];
      for (let i = 0; i < count; i++) chunks.push(rolloutYaml(i));
      writeFileSync(join(dir, 'rollouts.yaml'), chunks.join('---\n'));
      const server = await startServer(`bench-${count}`, ['--from-files', dir], { timeoutMs: 120000 });
      try {
        for (let run = 0; run < repeat; run++) {
          for (const b of loaded) {
            const label = `${count}-${b.name.replace(/[^A-Za-z0-9_-]/g, '_')}-${run + 1}`;
            const r = await measure(browser, server, count, b.bundle, label);
            results.push({ count, bundle: b.name, run: run + 1, ...r });
            process.stderr.write(`# ${count} ${b.name} run ${run + 1}: update mean ${r.updateMean.toFixed(2)} ms (CPU ${r.cpuMean.toFixed(2)}, style ${r.updateStyle.toFixed(2)}, layout ${r.updateLayout.toFixed(2)}), p95 ${r.updateP95.toFixed(2)} ms, first render ${r.firstRender.toFixed(0)} ms\n`);
          }
        }
      } finally {
        server.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
} finally {
  await browser?.close();
  stopAll();
}

// Report: one line per count and bundle (medians over the runs).
const ms = (n) => (n >= 100 ? `${n.toFixed(0)} ms` : `${n.toFixed(1)} ms`);
const lines = [
  '| rollouts | bundle | first render | filter (Paused): wall / CPU | update: main thread mean / p95 / max | update: main-thread CPU mean / p95 | of which style / layout (mean) | 100 one at a time (wall) | 100 in one batch (main thread) | stream 300 at 100/s: busy, long tasks > 50 ms (longest) | update, pointer over the list: main thread mean / p95, CPU mean | floor: main thread / CPU |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
];
for (const count of counts) {
  for (const b of bundles) {
    const rs = results.filter((r) => r.count === count && r.bundle === b.name);
    const m = (k) => median(rs.map((r) => r[k]));
    lines.push(
      `| ${count.toLocaleString('en')} | ${b.name} | ${ms(m('firstRender'))} | ${ms(m('filterMs'))} / ${ms(m('filterCpu'))} | ${m('updateMean').toFixed(2)} / ${m('updateP95').toFixed(2)} / ${m('updateMax').toFixed(1)} ms | ${m('cpuMean').toFixed(2)} / ${m('cpuP95').toFixed(2)} ms | ${m('updateStyle').toFixed(2)} / ${m('updateLayout').toFixed(2)} ms | ${ms(m('sequentialWall'))} | ${ms(m('batchBusy'))} | ${(m('streamBusyFraction') * 100).toFixed(0)} %, ${m('longTasks')} (${ms(m('longestTask'))}) | ${m('hoverMean').toFixed(2)} / ${m('hoverP95').toFixed(2)}, ${m('hoverCpuMean').toFixed(2)} ms | ${m('floorMean').toFixed(2)} / ${m('cpuFloorMean').toFixed(2)} ms |`,
    );
  }
}
console.log(`rows in the DOM (windowed): ${[...new Set(results.map((r) => r.rendered))].join(', ')}; after the filter: ${[...new Set(results.map((r) => r.filtered))].join(', ')}; runs per cell: ${repeat}`);
console.log(lines.join('\n'));
if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ counts, bundles: bundles.map((b) => b.name), repeat, results }, null, 2)}\n`);
