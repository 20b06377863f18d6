// The Ingress path, for real (issue #16): headless Chromium → nginx (TLS, /rollouts) →
// oauth2-proxy (htpasswd sign-in) → rollouts-dashboard --auth proxy → the real test cluster.
// Started by tests/ingress/run.sh, which runs the chain and sets the RD_INGRESS_* variables.
// Without them it FAILS (never skips).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');
// playwright-core from tests/browser's node_modules (no browser download; Debian's chromium).
const { chromium } = createRequire(join(REPO, 'tests', 'browser', 'package.json'))('playwright-core');

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through tests/ingress/run.sh`);
  return v;
}
const URL_ = env('RD_INGRESS_URL'); // https://dash.rollouts.test:PORT/rollouts/
const ORIGIN = new URL(URL_).origin;
const HOST = env('RD_INGRESS_HOST');
const KUBECONFIG = env('RD_INGRESS_KUBECONFIG');
const NS_A = env('RD_INGRESS_NS_A');
const NS_B = env('RD_INGRESS_NS_B');
const ALICE = { user: env('RD_INGRESS_ALICE'), password: env('RD_INGRESS_ALICE_PASSWORD') };
const BOB = { user: env('RD_INGRESS_BOB'), password: env('RD_INGRESS_BOB_PASSWORD') };
const NAME = 'rollout-canary';
const EXAMPLE = resolve(REPO, '..', 'shared', 'fixtures', 'argo-rollouts-examples', 'rollout-canary.yaml');
// Live updates: a label change every 10 s for two minutes, then a quiet stretch longer than
// nginx's 60 s proxy_read_timeout in which only the dashboard's heartbeats keep the stream open.
const LIVE_CHANGES = 13; // at t = 0, 10, ..., 120 s
const LIVE_EVERY_MS = 10_000;
const QUIET_MS = 80_000;

function kubectl(...args) {
  return execFileSync('kubectl', ['--kubeconfig', KUBECONFIG, ...args], { encoding: 'utf8' });
}
function kubectlApply(obj) {
  execFileSync('kubectl', ['--kubeconfig', KUBECONFIG, 'apply', '-f', '-'], { input: JSON.stringify(obj), encoding: 'utf8' });
}
const field = (ns, path) => kubectl('-n', ns, 'get', 'rollout', NAME, '-o', `jsonpath={${path}}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, timeoutMs = 150_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {
      // not there yet
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

/** A Role in `ns` with `rules`, bound to the user `user`. */
function grant(ns, user, rules) {
  kubectlApply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: `ingress-${user}`, namespace: ns }, rules });
  kubectlApply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: `ingress-${user}`, namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `ingress-${user}` },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
  });
}
const READ = [{ apiGroups: ['argoproj.io'], resources: ['rollouts'], verbs: ['get', 'list', 'watch'] }];
const OPERATE = [
  { apiGroups: ['argoproj.io'], resources: ['rollouts'], verbs: ['get', 'list', 'watch', 'patch'] },
  { apiGroups: ['argoproj.io'], resources: ['rollouts/status'], verbs: ['patch'] },
  { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['list'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
];

/** Headless Chromium with a fresh profile; dash.rollouts.test resolves to 127.0.0.1. */
async function launch() {
  const userDataDir = mkdtempSync(join(tmpdir(), 'rd-ingress-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    ignoreHTTPSErrors: true, // the certificate was made by run.sh a minute ago
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
    ],
    viewport: { width: 1440, height: 900 },
    reducedMotion: 'reduce',
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** A page that records page errors and every WebSocket with its frames. */
async function newPage(context) {
  const page = await context.newPage();
  const seen = { pageErrors: [], sockets: [] };
  page.on('pageerror', (e) => seen.pageErrors.push(String(e)));
  page.on('websocket', (ws) => {
    const s = { url: ws.url(), openedAt: Date.now(), closedAt: null, frames: [] };
    seen.sockets.push(s);
    ws.on('framereceived', (f) => {
      let type = '?';
      try {
        type = JSON.parse(String(f.payload)).type ?? '?';
      } catch {
        // not JSON
      }
      s.frames.push({ at: Date.now(), type });
    });
    ws.on('close', () => {
      s.closedAt = Date.now();
    });
  });
  return { page, seen };
}

/** Opens `path` (under the base path), lands on oauth2-proxy's form, signs in, returns where it lands. */
async function signIn(page, who, path) {
  const res = await page.goto(URL_ + path, { waitUntil: 'domcontentloaded' });
  // No session: oauth2-proxy's own sign-in page, not the dashboard.
  assert.equal(res.status(), 403, 'without a session oauth2-proxy answers its sign-in page (403)');
  assert.match(await page.title(), /Sign In/i);
  await page.locator('#username').fill(who.user);
  await page.locator('#password').fill(who.password);
  const [signedIn] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/rollouts/oauth2/sign_in'),
    page.getByRole('button', { name: 'Sign in', exact: true }).click(),
  ]);
  assert.equal(signedIn.status(), 302, 'the htpasswd sign-in redirects back');
  await page.waitForURL(URL_ + path);
  await page.waitForLoadState('domcontentloaded');
}

/**
 * GET/POST through the chain from inside the page (fetch: the browser's cookies, its Origin and
 * its resolver, so the request takes the same path as the app's own).
 */
async function api(page, method, path, { headers = {}, data } = {}) {
  return page.evaluate(
    async ({ url, method, headers, body }) => {
      const r = await fetch(url, { method, headers: { Accept: 'application/json', ...headers }, body, redirect: 'manual' });
      let json = null;
      try {
        json = await r.json();
      } catch {
        // not JSON
      }
      return { status: r.status, body: json };
    },
    { url: URL_ + path, method, headers, body: data === undefined ? undefined : JSON.stringify(data) },
  );
}

const namespacesOf = (list) => [...new Set(list.rollouts.map((r) => r.namespace ?? r.summary?.namespace))].sort();
const streamSockets = (seen) => seen.sockets.filter((s) => new URL(s.url).pathname === '/rollouts/api/v1/stream');

before(async () => {
  for (const ns of [NS_A, NS_B]) {
    kubectl('create', 'namespace', ns);
    kubectl('-n', ns, 'create', '-f', EXAMPLE);
  }
  grant(NS_A, ALICE.user, OPERATE);
  grant(NS_B, BOB.user, READ);
  for (const ns of [NS_A, NS_B]) await until(`${ns}/${NAME} to be Healthy`, () => field(ns, '.status.phase') === 'Healthy');
  for (const ns of [NS_A, NS_B]) {
    kubectl('-n', ns, 'patch', 'rollout', NAME, '--type', 'json', '-p',
      JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'argoproj/rollouts-demo:yellow' }]));
  }
  for (const ns of [NS_A, NS_B]) {
    await until(`${ns}/${NAME} to pause at step 1`, () => field(ns, '.status.currentStepIndex') === '1' && field(ns, '.status.pauseConditions[0].reason') === 'CanaryPauseStep');
  }
});

after(() => {
  try {
    kubectl('delete', 'namespace', NS_A, NS_B, '--wait=false');
  } catch {
    // run.sh deletes them too
  }
});

test('without a session nothing gets through, and forged identity headers do not help', async () => {
  const b = await launch();
  try {
    const { page } = await newPage(b.context);
    // The Ingress path: /rollouts redirects to /rollouts/ (nginx), and there oauth2-proxy's
    // sign-in page answers; the probes pass without a session.
    const landed = await page.goto(`${ORIGIN}/rollouts`, { waitUntil: 'domcontentloaded' });
    assert.equal(page.url(), URL_);
    const redirect = await landed.request().redirectedFrom()?.response();
    assert.equal(redirect?.status(), 308);
    assert.equal(landed.status(), 403);
    assert.match(await page.title(), /Sign In/i);
    assert.equal((await api(page, 'GET', 'healthz')).status, 200);
    // The API without a session: oauth2-proxy's 401, with or without a forged user header.
    for (const headers of [{}, { 'X-Forwarded-User': ALICE.user, 'X-Forwarded-Groups': 'system:masters' }, { 'X-Auth-Request-User': ALICE.user }]) {
      const r = await api(page, 'GET', 'api/v1/rollouts', { headers });
      assert.equal(r.status, 401, `no session, headers ${JSON.stringify(headers)}: ${JSON.stringify(r.body)}`);
      assert.ok(!JSON.stringify(r.body ?? '').includes(NAME));
    }
    // A wrong password stays on the form.
    await page.goto(URL_, { waitUntil: 'domcontentloaded' });
    await page.locator('#username').fill(ALICE.user);
    await page.locator('#password').fill('not-the-password');
    const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/rollouts/oauth2/sign_in')), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
    assert.equal(res.status(), 401);
    assert.equal((await api(page, 'GET', 'api/v1/whoami')).status, 401);
  } finally {
    await b.close();
  }
});

test('bob sees team-b only and may not promote there: the button is disabled and a forced POST gets 403', async () => {
  const b = await launch();
  try {
    const { page, seen } = await newPage(b.context);
    await signIn(page, BOB, '');
    await page.locator(`[data-key$="/${NS_B}/${NAME}"]`).first().waitFor({ timeout: 60_000 });
    assert.equal(await page.locator(`[data-key*="/${NS_A}/"]`).count(), 0, `bob's list shows nothing of ${NS_A}`);

    const who = await api(page, 'GET', 'api/v1/whoami');
    assert.equal(who.status, 200);
    assert.equal(who.body.user, BOB.user);
    assert.equal(who.body.authMode, 'proxy');
    // A signed-in person forging another identity: oauth2-proxy (and nginx) replace the header.
    const forged = await api(page, 'GET', 'api/v1/whoami', { headers: { 'X-Forwarded-User': ALICE.user, 'X-Forwarded-Groups': 'system:masters' } });
    assert.equal(forged.body.user, BOB.user, `forged header believed: ${JSON.stringify(forged.body)}`);
    const list = await api(page, 'GET', 'api/v1/rollouts', { headers: { 'X-Forwarded-User': ALICE.user } });
    assert.equal(list.status, 200);
    assert.deepEqual(namespacesOf(list.body), [NS_B]);
    assert.deepEqual((await api(page, 'GET', 'api/v1/namespaces')).body.namespaces, [NS_B]);
    assert.equal((await api(page, 'GET', `api/v1/namespaces/${NS_A}/rollouts/${NAME}`)).status, 403, `bob may not read ${NS_A}`);

    // The detail page: Promote is there but disabled, saying why (RBAC).
    await page.locator(`[data-key$="/${NS_B}/${NAME}"] a.rname`).first().click();
    await page.getByRole('heading', { level: 1, name: NAME }).waitFor();
    const promote = page.getByRole('toolbar', { name: new RegExp(`Actions for ${NAME}`) }).getByRole('button', { name: 'Promote', exact: true });
    await until('the promote button to be disabled by RBAC', async () => (await promote.isDisabled()) && /You may not promote/.test((await promote.getAttribute('title')) ?? ''), 30_000);
    assert.match(await promote.getAttribute('title'), new RegExp(`may not patch rollouts`));

    // Forcing it: the POST reaches Kubernetes as bob and comes back 403; the rollout stays.
    const post = await api(page, 'POST', `api/v1/namespaces/${NS_B}/rollouts/${NAME}/promote`, {
      headers: { 'Content-Type': 'application/json', 'X-Rollouts-Dashboard': '1' },
      data: {},
    });
    assert.equal(post.status, 403, JSON.stringify(post.body));
    assert.equal(post.body?.error?.code, 'forbidden', JSON.stringify(post.body));
    assert.match(post.body.error.message, /not allowed to patch rollouts\/status/);
    assert.equal(field(NS_B, '.status.currentStepIndex'), '1');
    assert.equal(field(NS_B, '.status.pauseConditions[0].reason'), 'CanaryPauseStep');
    assert.equal(streamSockets(seen).length, 1, 'one stream for the whole visit');
    assert.deepEqual(seen.pageErrors, []);
  } finally {
    await b.close();
  }
});

test('alice sees team-a only; live updates flow through nginx for 3+ minutes on one WebSocket; she promotes', { timeout: 480_000 }, async () => {
  const b = await launch();
  try {
    const { page, seen } = await newPage(b.context);
    await signIn(page, ALICE, '');
    await page.locator(`[data-key$="/${NS_A}/${NAME}"]`).first().waitFor({ timeout: 60_000 });
    assert.equal(await page.locator(`[data-key*="/${NS_B}/"]`).count(), 0, `alice's list shows nothing of ${NS_B}`);
    const who = await api(page, 'GET', 'api/v1/whoami');
    assert.equal(who.body.user, ALICE.user);
    const list = await api(page, 'GET', 'api/v1/rollouts');
    assert.deepEqual(namespacesOf(list.body), [NS_A]);
    assert.equal((await api(page, 'GET', `api/v1/namespaces/${NS_B}/rollouts/${NAME}`)).status, 403);

    await page.locator(`[data-key$="/${NS_A}/${NAME}"] a.rname`).first().click();
    await page.getByRole('heading', { level: 1, name: NAME }).waitFor();
    await until('the stream to be open', () => streamSockets(seen).some((s) => s.closedAt === null && s.frames.length > 0), 30_000);
    const open = streamSockets(seen).filter((s) => s.closedAt === null);
    assert.equal(open.length, 1, 'exactly one stream open on the detail page');
    const ws = open[0];
    const t0 = Date.now();

    // A label change every 10 s for two minutes; each must show up on the page, live.
    const label = (v) => page.evaluate((want) => {
      for (const div of document.querySelectorAll('#meta dl div')) {
        if (div.querySelector('dt')?.textContent === 'ingress-tick') return div.querySelector('dd')?.textContent === want;
      }
      return false;
    }, v);
    const latencies = [];
    let lastChangeAt = t0;
    for (let i = 1; i <= LIVE_CHANGES; i++) {
      const due = t0 + (i - 1) * LIVE_EVERY_MS;
      if (Date.now() < due) await sleep(due - Date.now());
      const value = `t${i}`;
      const sent = Date.now();
      lastChangeAt = sent;
      kubectl('-n', NS_A, 'label', 'rollout', NAME, `ingress-tick=${value}`, '--overwrite');
      await until(`label ingress-tick=${value} on the page`, () => label(value), LIVE_EVERY_MS - 1000);
      latencies.push(Date.now() - sent);
    }
    // Quiet: nothing changes for longer than nginx's proxy_read_timeout (60 s).
    const quietFrom = Date.now();
    await sleep(QUIET_MS);
    const quiet = ws.frames.filter((f) => f.at >= quietFrom);
    assert.equal(ws.closedAt, null, 'the stream survived the quiet stretch');
    assert.ok(quiet.filter((f) => f.type === 'heartbeat').length >= 3, `heartbeats in ${QUIET_MS} ms: ${JSON.stringify(quiet)}`);
    // And it still carries changes afterwards.
    kubectl('-n', NS_A, 'annotate', 'rollout', NAME, 'ingress-after-quiet=yes', '--overwrite');
    await until('the annotation after the quiet stretch', () => page.evaluate(() => [...document.querySelectorAll('#meta dt')].some((dt) => dt.textContent === 'ingress-after-quiet')), 10_000);

    // Promote as alice: the dialog, the confirmation, the controller moves on.
    const stepBefore = await page.evaluate(() => document.querySelector('.step-current .step-num')?.textContent ?? '');
    assert.notEqual(stepBefore, '');
    const promote = page.getByRole('toolbar', { name: new RegExp(`Actions for ${NAME}`) }).getByRole('button', { name: 'Promote', exact: true });
    await until('promote to be enabled for alice', () => promote.isEnabled(), 30_000);
    await promote.click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    const [postRes] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/rollouts/api/v1/clusters/') && r.url().endsWith(`/namespaces/${NS_A}/rollouts/${NAME}/promote`)),
      dialog.getByRole('button', { name: 'Promote', exact: true }).click(),
    ]);
    assert.equal(postRes.status(), 200, await postRes.text());
    await page.waitForFunction((s) => (document.querySelector('.step-current .step-num')?.textContent ?? s) !== s, stepBefore, { timeout: 60_000 });
    await until('the controller to move past step 1', () => Number(field(NS_A, '.status.currentStepIndex')) >= 2, 60_000);
    const events = kubectl('-n', NS_A, 'get', 'events', '--field-selector', 'reason=PromotedFromDashboard', '-o', 'jsonpath={.items[*].message}');
    assert.match(events, new RegExp(ALICE.user), 'the event names alice');

    // One WebSocket the whole time: no reconnect, no second stream.
    const elapsed = Date.now() - t0;
    let maxGap = 0;
    for (let i = 1; i < ws.frames.length; i++) maxGap = Math.max(maxGap, ws.frames[i].at - ws.frames[i - 1].at);
    const types = {};
    for (const f of ws.frames) types[f.type] = (types[f.type] ?? 0) + 1;
    console.log(`alice's stream: ${Math.round(elapsed / 1000)} s on one WebSocket (changes for ${Math.round((lastChangeAt - t0) / 1000)} s, then ${QUIET_MS / 1000} s quiet), frames ${JSON.stringify(types)}, longest gap ${maxGap} ms, label latencies ${latencies.join(',')} ms`);
    assert.ok(lastChangeAt - t0 >= 120_000 && elapsed >= 120_000 + QUIET_MS, `changes for ${lastChangeAt - t0} ms, ran ${elapsed} ms`);
    assert.equal(ws.closedAt, null, 'the stream never closed');
    assert.deepEqual(streamSockets(seen).filter((s) => s !== ws).map((s) => s.url), [], 'no reconnect, no second stream');
    assert.ok(maxGap <= 30_000, `longest gap between frames through nginx: ${maxGap} ms`);
    assert.equal(await page.evaluate(() => document.body.textContent.includes('Live updates interrupted') || document.body.textContent.includes('Not connected to the dashboard server')), false);
    assert.deepEqual(seen.pageErrors, []);
  } finally {
    await b.close();
  }
});
