// Starting and stopping rollouts-dashboard instances for the browser tests and the benchmark.

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '..', '..');
export const FIXTURES = resolve(REPO, '..', 'shared', 'fixtures', 'argo-rollouts-info');

export function binary() {
  return process.env.ROLLOUTS_DASHBOARD_BIN || join(REPO, 'target', 'release', 'rollouts-dashboard');
}

const running = new Set();

/**
 * Starts the dashboard with `--port 0` and the given arguments; resolves with its base URL
 * (from the log line "rollouts-dashboard is serving http://127.0.0.1:PORT/...").
 */
export function startServer(name, args, { timeoutMs = 120000 } = {}) {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(binary(), ['--address', '127.0.0.1', '--port', '0', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', RUST_LOG: process.env.RUST_LOG || 'info' },
    });
    const server = { name, proc, url: '', log: '', stop: () => stop(server) };
    running.add(server);
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      stop(server);
      reject(new Error(`${name}: no "is serving" line within ${timeoutMs} ms. Log:\n${server.log}`));
    }, timeoutMs);
    const onData = (chunk) => {
      // eslint-disable-next-line no-control-regex
      const text = chunk.toString('utf8').replace(/\x1b\[[0-9;]*m/g, '');
      server.log += text;
      if (server.log.length > 200_000) server.log = server.log.slice(-100_000);
      const m = /rollouts-dashboard is serving (http:\/\/\S+?\/)(?=\s|$)/.exec(server.log);
      if (m && !done) {
        done = true;
        clearTimeout(timer);
        server.url = m[1];
        resolvePromise(server);
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code, signal) => {
      running.delete(server);
      if (!done) {
        done = true;
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code ?? signal}) before serving. Log:\n${server.log}`));
      }
    });
  });
}

export function stop(server) {
  if (server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill('SIGTERM');
  running.delete(server);
}

export function stopAll() {
  for (const s of [...running]) stop(s);
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    stopAll();
    process.exit(130);
  });
}
process.on('exit', stopAll);

export const HOSTILE = '<img src=x onerror=alert(1)>';

/** A directory with one normal-looking rollout whose label, annotation and messages are hostile. */
export function hostileFixtureDir() {
  const dir = mkdtempSync(join(tmpdir(), 'rd-hostile-'));
  const q = JSON.stringify(HOSTILE);
  writeFileSync(
    join(dir, 'hostile.yaml'),
    `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: hostile-demo
  namespace: pentest
  uid: 8f1d2a3b-0000-4000-8000-000000000001
  resourceVersion: "42"
  generation: 1
  creationTimestamp: "2024-01-01T00:00:00Z"
  labels:
    app: hostile-demo
    evil: ${q}
  annotations:
    note: ${q}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: hostile-demo
  template:
    metadata:
      labels:
        app: hostile-demo
    spec:
      containers:
      - name: app
        image: ${JSON.stringify('nginx:1.25')}
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {}
status:
  observedGeneration: "1"
  replicas: 1
  updatedReplicas: 1
  readyReplicas: 1
  availableReplicas: 1
  currentStepIndex: 1
  currentPodHash: abc123
  stableRS: def456
  phase: Paused
  message: ${q}
  pauseConditions:
  - reason: CanaryPauseStep
    startTime: "2024-01-01T00:00:00Z"
  conditions:
  - type: Progressing
    status: "True"
    reason: ReplicaSetUpdated
    message: ${q}
    lastTransitionTime: "2024-01-01T00:00:00Z"
    lastUpdateTime: "2024-01-01T00:00:00Z"
`,
  );
  return dir;
}

/** A directory with one empty YAML file: a source with no rollouts at all. */
export function emptyFixtureDir() {
  const dir = mkdtempSync(join(tmpdir(), 'rd-empty-'));
  writeFileSync(join(dir, 'empty.yaml'), '# no objects\n');
  return dir;
}
