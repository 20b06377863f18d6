// The fleet in the browser (issue #14), against a `--demo` of its own (two simulated clusters,
// `prod-eu` and `staging`, with the same namespace/name in both; actions here must not disturb
// the shared demo's other tests) and the shared `--from-files` instance (one cluster, `files`):
// the cluster column and filter (in the URL, surviving a reload), the same name twice, dialogs
// that name the cluster and an action that changes that cluster's rollout only, the clusters'
// health strip, a stale cluster's rows (a status frame fed through the page's test hook: the
// real outage of a cluster is the e2e suite's), "not signed in" on a cluster in token mode,
// the old detail URL, and no cluster column with one cluster.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiPath, DEMO_CLUSTER, DEMO_STAGING, detailPath, env, launch, openPage, row, screenshot } from './browser.mjs';
import { startServer } from './server.mjs';

let demo;
let browser;
before(async () => {
  demo = await startServer('fleet-demo', ['--demo']);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  demo?.stop();
});

async function getJson(base, path) {
  const r = await fetch(new URL(path, base), { headers: { Accept: 'application/json' } });
  assert.equal(r.status, 200, `${path}: ${r.status}`);
  return r.json();
}

/** Every rollout of the demo, from the REST API (all clusters). */
async function demoRollouts() {
  const body = await getJson(demo.url, 'api/v1/rollouts');
  return Array.isArray(body) ? body : body.rollouts;
}

/** A namespace/name the demo has in both clusters (the first by name whose staging copy is not paused by a person). */
async function sharedRollout() {
  const all = await demoRollouts();
  const by = new Map();
  for (const r of all) by.set(`${r.namespace}/${r.name}`, [...(by.get(`${r.namespace}/${r.name}`) ?? []), r]);
  const shared = [...by.values()]
    .filter((rs) => rs.some((r) => r.cluster === DEMO_CLUSTER) && rs.some((r) => r.cluster === DEMO_STAGING))
    .sort((a, b) => (a[0].name < b[0].name ? -1 : 1));
  assert.ok(shared.length > 0, `the demo has a namespace/name in both ${DEMO_CLUSTER} and ${DEMO_STAGING}`);
  const pick = shared.find((rs) => !rs.find((r) => r.cluster === DEMO_STAGING).paused) ?? shared[0];
  return { namespace: pick[0].namespace, name: pick[0].name };
}

test('two clusters: the cluster column, the same namespace/name twice, and the health strip', async () => {
  const { namespace, name } = await sharedRollout();
  const { page, problems } = await openPage(browser.context, demo.url + `?q=${encodeURIComponent(`"${name}"`)}`);
  await row(page, namespace, name, DEMO_CLUSTER).waitFor({ timeout: 30000 });
  await row(page, namespace, name, DEMO_STAGING).waitFor();
  assert.equal(await row(page, namespace, name).count(), 2, 'one row per cluster');
  // The column: its header (sortable) and each row's cluster.
  const head = page.locator('.row-head [role="columnheader"].c-cluster');
  assert.match(await head.innerText(), /Cluster/i);
  assert.equal(await row(page, namespace, name, DEMO_STAGING).locator('.c-cluster').innerText(), DEMO_STAGING);
  assert.equal(await row(page, namespace, name, DEMO_CLUSTER).locator('.c-cluster').innerText(), DEMO_CLUSTER);
  // Sorting by it: prod-eu's rows before staging's.
  await head.getByRole('button').click();
  await page.waitForURL(/sort=cluster/);
  await page.goto(demo.url + '?sort=cluster');
  await page.locator('.row[data-key]').first().waitFor();
  const clusters = await page.locator('.row[data-key] .c-cluster').allInnerTexts();
  assert.deepEqual(clusters, [...clusters].sort(), 'sorted by cluster');
  assert.equal(clusters[0], DEMO_CLUSTER);
  // The strip: both clusters, synced, with their counts.
  const strip = page.getByRole('region', { name: 'Clusters' });
  await strip.locator(`[data-cluster="${DEMO_STAGING}"][data-state="synced"]`).waitFor({ timeout: 30000 });
  await strip.locator(`[data-cluster="${DEMO_CLUSTER}"][data-state="synced"]`).waitFor();
  assert.match(await strip.innerText(), /2 clusters, all synced/);
  await strip.locator(`[data-cluster="${DEMO_STAGING}"] summary`).click();
  const pop = strip.getByRole('group', { name: `Cluster ${DEMO_STAGING}` });
  assert.match(await pop.innerText(), /State\s+synced/);
  assert.match(await pop.innerText(), /Last synced\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/);
  await screenshot(page, 'fleet-list');
  assert.deepEqual(problems.pageErrors, []);
  assert.deepEqual(problems.consoleErrors, []);
  await page.close();
});

test('the cluster filter narrows to one cluster, is in the URL, and survives a reload', async () => {
  const { page, problems } = await openPage(browser.context, demo.url);
  await page.locator('.row[data-key]').first().waitFor({ timeout: 30000 });
  const picker = page.locator('details[data-picker="clusters"]');
  await picker.locator('summary').click();
  await picker.getByRole('checkbox', { name: DEMO_STAGING, exact: true }).check();
  await page.waitForURL(new RegExp(`[?&]cluster=${DEMO_STAGING}(&|$)`));
  const onlyStaging = () =>
    page.waitForFunction(
      (c) => {
        const keys = [...document.querySelectorAll('.row[data-key]')].map((r) => r.getAttribute('data-key'));
        return keys.length > 0 && keys.every((k) => k.startsWith(`${c}/`));
      },
      DEMO_STAGING,
      { timeout: 15000 },
    );
  await onlyStaging();
  const staging = (await demoRollouts()).filter((r) => r.cluster === DEMO_STAGING).length;
  assert.match(await page.locator('.summary-line').innerText(), new RegExp(`^${staging} of \\d+ rollouts shown · clusters: ${DEMO_STAGING}`));
  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.locator('.row[data-key]').first().waitFor({ timeout: 30000 });
  await onlyStaging();
  assert.match(await picker.locator('summary').innerText(), new RegExp(DEMO_STAGING));
  // Back to all clusters.
  await picker.locator('summary').click();
  await picker.getByRole('checkbox', { name: 'All clusters' }).check();
  await page.waitForFunction(() => !location.search.includes('cluster='));
  await page.waitForFunction((c) => [...document.querySelectorAll('.row[data-key]')].some((r) => !r.getAttribute('data-key').startsWith(`${c}/`)), DEMO_STAGING);
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});

test('the dialogs name the cluster, and the action changes that cluster\'s rollout only', async () => {
  const { namespace, name } = await sharedRollout();
  const before = {
    [DEMO_CLUSTER]: (await getJson(demo.url, apiPath(DEMO_CLUSTER, namespace, name))).summary,
    [DEMO_STAGING]: (await getJson(demo.url, apiPath(DEMO_STAGING, namespace, name))).summary,
  };
  assert.equal(before[DEMO_STAGING].paused, false, `${DEMO_STAGING}'s ${name} is not paused by a person`);

  // The list's row menu and its confirmation name the cluster.
  const { page, problems } = await openPage(browser.context, demo.url + `?q=${encodeURIComponent(`"${name}"`)}`);
  const r = row(page, namespace, name, DEMO_STAGING);
  await r.waitFor({ timeout: 30000 });
  await r.getByRole('button', { name: `More actions for ${name} in ${DEMO_STAGING}` }).click();
  const menu = page.getByRole('dialog', { name: `Actions for ${name} in ${DEMO_STAGING}` });
  await menu.waitFor();
  await menu.getByRole('button', { name: 'Close' }).click();

  // The detail page: the cluster in the breadcrumb and the title.
  await page.goto(demo.url + detailPath(DEMO_STAGING, namespace, name), { waitUntil: 'domcontentloaded' });
  await page.getByRole('heading', { level: 1, name: `${name} in ${DEMO_STAGING}` }).waitFor({ timeout: 30000 });
  assert.equal(await page.locator(`nav.crumbs a[data-cluster="${DEMO_STAGING}"]`).innerText(), DEMO_STAGING);
  assert.match(await page.title(), new RegExp(`${name} · ${namespace} · ${DEMO_STAGING}`));
  const pause = page.locator('.detail-head .actions button[data-action="pause"]');
  await page.waitForFunction(() => document.querySelector('.detail-head .actions button[data-action="pause"]')?.disabled === false, null, { timeout: 30000 });
  const posts = [];
  page.on('request', (q) => {
    if (q.method() === 'POST') posts.push(new URL(q.url()).pathname);
  });
  await pause.click();
  const dialog = page.getByRole('dialog', { name: `Pause ${name} in ${DEMO_STAGING}?` });
  await dialog.waitFor();
  assert.equal(await dialog.locator('.dialog-cluster').innerText(), DEMO_STAGING);
  assert.match(await dialog.innerText(), new RegExp(`Cluster ${DEMO_STAGING} · Namespace ${namespace}`));
  await screenshot(page, 'fleet-dialog');
  await dialog.getByRole('button', { name: 'Pause', exact: true }).click();
  await dialog.locator('.result-ok').waitFor({ timeout: 15000 });
  assert.deepEqual(posts, [new URL(`${apiPath(DEMO_STAGING, namespace, name)}/pause`, demo.url).pathname], 'one request, to staging');
  // Staging's copy is paused; prod-eu's is as it was.
  const after = {
    [DEMO_CLUSTER]: (await getJson(demo.url, apiPath(DEMO_CLUSTER, namespace, name))).summary,
    [DEMO_STAGING]: (await getJson(demo.url, apiPath(DEMO_STAGING, namespace, name))).summary,
  };
  assert.equal(after[DEMO_STAGING].paused, true);
  assert.equal(after[DEMO_CLUSTER].paused, before[DEMO_CLUSTER].paused, `${DEMO_CLUSTER}'s ${name} was not touched`);
  // The list shows it: staging's row offers Resume, prod-eu's keeps its own state.
  await page.goto(demo.url + `?q=${encodeURIComponent(`"${name}"`)}`, { waitUntil: 'domcontentloaded' });
  await row(page, namespace, name, DEMO_STAGING).locator('button[data-action="resume"]').waitFor({ timeout: 30000 });
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});

test('a cluster that stops being synced: its rows stay, marked stale since when, with their actions disabled', async () => {
  const { page, problems } = await openPage(browser.context, demo.url);
  await page.locator(`.row[data-cluster="${DEMO_STAGING}"]`).first().waitFor({ timeout: 30000 });
  const status = await getJson(demo.url, 'api/v1/status');
  assert.ok(Array.isArray(status.clusters) && status.clusters.length === 2, JSON.stringify(status.clusters));
  const since = new Date(Date.now() - 65_000).toISOString();
  const clock = await page.evaluate((t) => {
    const d = new Date(t);
    const p = (n) => String(n).padStart(2, '0');
    return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }, since);
  // The server's own status frame, with staging unreachable after it had synced.
  const frame = {
    type: 'status',
    health: status.health,
    clusters: status.clusters.map((c) =>
      c.name === DEMO_STAGING ? { ...c, state: 'unreachable', since, problem: { code: 'unreachable', message: 'connection refused (simulated)' } } : c,
    ),
  };
  assert.ok(frame.clusters.find((c) => c.name === DEMO_STAGING).lastSyncedAt, 'staging had synced');
  await page.evaluate((f) => window.__rolloutsDashboard.applyFrames([f]), frame);
  const stale = page.locator(`.row[data-cluster="${DEMO_STAGING}"]`).first();
  await stale.locator('.stale-tag').waitFor();
  assert.equal(await stale.locator('.stale-tag').innerText(), `stale since ${clock}`);
  assert.match((await stale.getAttribute('class')) ?? '', /row-stale/);
  assert.equal(await page.locator(`.row[data-cluster="${DEMO_CLUSTER}"] .stale-tag`).count(), 0, 'the other cluster is not stale');
  assert.ok((await page.locator(`.row[data-cluster="${DEMO_STAGING}"]`).count()) > 0, 'its rows stay visible');
  // Its buttons are disabled and say why; prod-eu's are not disabled for that.
  const menu = stale.locator('button.btn-more');
  await menu.click();
  const dialog = page.getByRole('dialog', { name: /^Actions for .* in staging$/ });
  await dialog.waitFor();
  for (const b of await dialog.locator('button[data-action]').all()) {
    assert.equal(await b.isDisabled(), true);
    assert.match((await b.getAttribute('title')) ?? '', new RegExp(`^Cluster ${DEMO_STAGING}: unreachable since ${clock}: its rollouts are shown as last known`));
  }
  await dialog.getByRole('button', { name: 'Close' }).click();
  const prodPromote = page.locator(`.row[data-cluster="${DEMO_CLUSTER}"] button[data-action]`);
  for (const b of await prodPromote.all()) assert.doesNotMatch((await b.getAttribute('title')) ?? '', /Cluster prod-eu:/);
  // The strip says it.
  const chip = page.getByRole('region', { name: 'Clusters' }).locator(`[data-cluster="${DEMO_STAGING}"]`);
  assert.equal(await chip.getAttribute('data-state'), 'unreachable');
  assert.match(await chip.locator('summary').innerText(), new RegExp(`staging\\s+unreachable\\s+since ${clock}`));
  assert.match(await page.getByRole('region', { name: 'Clusters' }).innerText(), /1 not synced/);
  await screenshot(page, 'fleet-stale');
  // Synced again: current again.
  await page.evaluate((f) => window.__rolloutsDashboard.applyFrames([f]), { ...frame, clusters: status.clusters });
  await page.waitForFunction(() => document.querySelectorAll('.stale-tag').length === 0);
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});

test('token mode: a cluster that did not accept the token has its buttons disabled, "not signed in"', async () => {
  const page = await browser.context.newPage();
  await page.route('**/api/v1/whoami', (route) =>
    route.fulfill({
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({
        user: 'bob',
        groups: [],
        authMode: 'token',
        readOnly: false,
        sessionExpiresInSeconds: 3600,
        clusters: [{ name: DEMO_CLUSTER, signedIn: true }, { name: DEMO_STAGING, signedIn: false }],
      }),
    }),
  );
  // What the server answers for a cluster that did not accept the token: the session goes on.
  let refused = 0;
  await page.route(`**/api/v1/clusters/${DEMO_STAGING}/namespaces/*/rollouts/*/permissions`, (route) => {
    refused++;
    return route.fulfill({
      status: 401,
      contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'notSignedIn', message: `not signed in on cluster ${DEMO_STAGING}` } }),
    });
  });
  await page.route('**/auth/sign-in', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Sign in</h1>' }));
  const { namespace, name } = await sharedRollout();
  await page.goto(demo.url + detailPath(DEMO_STAGING, namespace, name), { waitUntil: 'domcontentloaded' });
  await page.getByRole('heading', { level: 1, name: `${name} in ${DEMO_STAGING}` }).waitFor({ timeout: 30000 });
  await page.waitForFunction(
    () => {
      const bs = [...document.querySelectorAll('.detail-head .actions button[data-action]')];
      return bs.length > 0 && bs.every((b) => b.disabled && b.title.startsWith('Not signed in on staging'));
    },
    null,
    { timeout: 15000 },
  );
  assert.match(await page.locator('[data-cluster-blocked="staging"]').innerText(), /^Not signed in on staging/);
  for (let i = 0; i < 150 && refused === 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(refused >= 1, 'the permissions of staging were asked for and refused');
  await page.waitForTimeout(500);
  assert.ok(page.url().includes(detailPath(DEMO_STAGING, namespace, name)), `still on the page, not sent to sign in: ${page.url()}`);
  // The same rollout in prod-eu: not for that reason.
  await page.goto(demo.url + detailPath(DEMO_CLUSTER, namespace, name), { waitUntil: 'domcontentloaded' });
  await page.getByRole('heading', { level: 1, name: `${name} in ${DEMO_CLUSTER}` }).waitFor({ timeout: 30000 });
  await page.locator('.detail-head .actions button[data-action="pause"]').waitFor();
  for (const b of await page.locator('.detail-head .actions button[data-action]').all()) {
    assert.doesNotMatch((await b.getAttribute('title')) ?? '', /Not signed in/);
  }
  await page.close();
});

test('an old detail URL (rollout/{ns}/{name}) opens the list filtered to it with two clusters', async () => {
  const { namespace, name } = await sharedRollout();
  const { page, problems } = await openPage(browser.context, demo.url + `rollout/${namespace}/${name}`);
  await page.waitForURL((u) => u.pathname === new URL(demo.url).pathname && u.searchParams.get('ns') === namespace && u.searchParams.get('q') === `"${name}"`, { timeout: 30000 });
  await row(page, namespace, name, DEMO_CLUSTER).waitFor({ timeout: 30000 });
  await row(page, namespace, name, DEMO_STAGING).waitFor();
  assert.equal(await page.locator('.row[data-key]').count(), 2);
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});

test('one cluster (--from-files): no cluster column, filter or strip; the old detail URL opens the rollout', async () => {
  const base = env('RD_FILES_URL');
  const { page, problems } = await openPage(browser.context, base);
  await page.locator('.row[data-key]').first().waitFor({ timeout: 30000 });
  const keys = await page.locator('.row[data-key]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-key')));
  assert.ok(keys.every((k) => k.startsWith('files/')), keys.join(' '));
  assert.equal(await page.locator('.c-cluster').count(), 0, 'no cluster column');
  assert.equal(await page.locator('details[data-picker="clusters"]').count(), 0, 'no cluster filter');
  assert.equal(await page.getByRole('region', { name: 'Clusters' }).count(), 0, 'no strip');
  await page.goto(base + 'rollout/jesse-test/canary-demo', { waitUntil: 'domcontentloaded' });
  await page.waitForURL(base + 'rollout/files/jesse-test/canary-demo', { timeout: 15000 });
  const h1 = page.getByRole('heading', { level: 1 });
  await h1.waitFor();
  assert.equal((await h1.innerText()).trim(), 'canary-demo', 'no cluster in the title with one cluster');
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});

test('with the stream blocked (the page polls the REST API), it still knows the clusters', async () => {
  const page = await browser.context.newPage();
  await page.routeWebSocket(/\/api\/v1\/stream$/, (ws) => ws.close());
  await page.goto(demo.url, { waitUntil: 'domcontentloaded' });
  await page.locator('.row[data-key] .c-cluster').first().waitFor({ timeout: 30000 });
  const strip = page.getByRole('region', { name: 'Clusters' });
  await strip.locator(`[data-cluster="${DEMO_STAGING}"]`).waitFor();
  const clusters = new Set(await page.locator('.row[data-key] .c-cluster').allInnerTexts());
  assert.ok(clusters.has(DEMO_CLUSTER), [...clusters].join(' '));
  await page.close();
});

test('two clusters that cannot be reached (a real kubeconfig, nothing listening): the strip says so for each, with the message', async () => {
  // Two contexts whose API servers refuse connections: each cluster's own state, from the server.
  const dir = mkdtempSync(join(tmpdir(), 'rd-fleet-kc-'));
  const config = join(dir, 'config');
  writeFileSync(
    config,
    `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
- name: b
  cluster: {server: "https://127.0.0.1:2", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: "x"}
contexts:
- name: east
  context: {cluster: a, user: u}
- name: west
  context: {cluster: b, user: u}
current-context: east
`,
  );
  const server = await startServer('fleet-unreachable', ['--kubeconfig', config, '--all-contexts']);
  try {
    const { page, problems } = await openPage(browser.context, server.url);
    const strip = page.getByRole('region', { name: 'Clusters' });
    for (const c of ['east', 'west']) await strip.locator(`[data-cluster="${c}"][data-state="unreachable"]`).waitFor({ timeout: 60000 });
    assert.match(await strip.innerText(), /2 clusters, 2 not synced/);
    await strip.locator('[data-cluster="west"] summary').click();
    const pop = strip.getByRole('group', { name: 'Cluster west' });
    assert.match(await pop.innerText(), /State\s+unreachable/);
    assert.match(await pop.innerText(), /Last synced\s+never/);
    assert.match(await pop.innerText(), /failed to perform initial object list/);
    // No cluster could show data: the page-level panel as with one cluster.
    await page.locator('[data-problem="unreachable"]').waitFor();
    await screenshot(page, 'fleet-unreachable');
    assert.deepEqual(problems.pageErrors, []);
    await page.close();
  } finally {
    server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
