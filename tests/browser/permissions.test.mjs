// Signed-in person, per-rollout permissions and session end, against a --demo instance behind
// a (simulated) authenticating proxy: the test browser sends the identity headers itself
// (127.0.0.1 is a trusted proxy address by default). Denials, token mode and 401s are mocked
// with page.route, since the demo has no cluster RBAC to deny anything.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage } from './browser.mjs';
import { startServer } from './server.mjs';

let server;
let browser;
before(async () => {
  server = await startServer('demo-proxy', ['--demo', '--auth', 'proxy']);
  browser = await launch();
  await browser.context.setExtraHTTPHeaders({ 'X-Forwarded-User': 'alice@example.com', 'X-Forwarded-Groups': 'dev,ops' });
});
after(async () => {
  await browser?.close();
  server?.stop();
});

const DENY = {
  actions: { promote: false, 'promote-full': false, abort: true, retry: true, restart: false, pause: true, resume: true, 'set-image': false, undo: false },
  reasons: {
    promote: 'Kubernetes RBAC: alice@example.com may not patch rollouts/status in namespace "demo-shop"',
    'promote-full': 'Kubernetes RBAC: alice@example.com may not patch rollouts/status in namespace "demo-shop"',
    restart: 'Kubernetes RBAC: alice@example.com may not patch rollouts in namespace "demo-shop"',
    'set-image': 'Kubernetes RBAC: alice@example.com may not patch rollouts in namespace "demo-shop"',
    undo: 'Kubernetes RBAC: alice@example.com may not patch rollouts in namespace "demo-shop"',
  },
};

test('proxy mode: the header names the signed-in person; no sign-out (the proxy owns the session)', async () => {
  const { page, problems } = await openPage(browser.context, server.url);
  const user = page.locator('[data-user]');
  await user.waitFor();
  assert.match(await user.innerText(), /alice@example\.com/);
  assert.match((await user.getAttribute('title')) ?? '', /Groups: dev, ops/);
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});

test('detail: actions the person may not use are disabled with the reason; others keep their own rules', async () => {
  const page = await browser.context.newPage();
  let calls = 0;
  await page.route('**/api/v1/clusters/prod-eu/namespaces/demo-shop/rollouts/checkout-api/permissions', (route) => {
    calls++;
    return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(DENY) });
  });
  await page.goto(server.url + 'rollout/prod-eu/demo-shop/checkout-api');
  await page.getByRole('heading', { level: 1, name: 'checkout-api' }).waitFor();
  const bar = page.getByRole('toolbar', { name: /Actions for checkout-api/ });
  const restart = bar.getByRole('button', { name: 'Restart', exact: true });
  await page.waitForFunction(() => document.querySelector('button[data-action="restart"]')?.disabled === true, null, { timeout: 15000 });
  assert.match((await restart.getAttribute('title')) ?? '', /^You may not restart: Kubernetes RBAC: alice@example\.com may not patch rollouts/);
  const promote = bar.getByRole('button', { name: 'Promote', exact: true });
  assert.equal(await promote.isDisabled(), true);
  assert.match((await promote.getAttribute('title')) ?? '', /^You may not promote: Kubernetes RBAC/);
  // Allowed by RBAC: only whether it applies decides (pause applies unless paused by a user).
  const pause = bar.getByRole('button', { name: 'Pause', exact: true });
  assert.doesNotMatch((await pause.getAttribute('title')) ?? '', /You may not/);
  const setImage = page.locator('button[data-action="set-image"]').first();
  assert.equal(await setImage.isDisabled(), true);
  assert.match((await setImage.getAttribute('title')) ?? '', /^You may not set image:/);
  assert.equal(calls, 1, 'one request for every button of the page');
  await page.close();
});

test('list: the Promote buttons follow the permissions', async () => {
  const page = await browser.context.newPage();
  await page.route('**/api/v1/clusters/*/namespaces/*/rollouts/*/permissions', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(DENY) }),
  );
  await page.goto(server.url);
  // Some demo rollout pauses for promotion by itself.
  await page.waitForFunction(() => document.querySelector('.row button[data-action="promote"], .card button[data-action="promote"]'), null, { timeout: 60000 });
  await page.waitForFunction(() => [...document.querySelectorAll('button[data-action="promote"]')].every((b) => b.disabled && b.title.startsWith('You may not promote: ')), null, { timeout: 15000 });
  await page.close();
});

test('token mode: Sign out posts with the anti-CSRF header, then the sign-in page', async () => {
  const page = await browser.context.newPage();
  await page.route('**/api/v1/whoami', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ user: 'bob', groups: [], authMode: 'token', readOnly: false, sessionExpiresInSeconds: 3600 }) }),
  );
  let signOut = null;
  await page.route('**/auth/sign-out', (route) => {
    signOut = { method: route.request().method(), headers: route.request().headers() };
    return route.fulfill({ status: 204 });
  });
  await page.route('**/auth/sign-in', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<title>Sign in</title><h1>Sign in</h1>' }));
  await page.goto(server.url);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/auth\/sign-in$/);
  assert.equal(signOut?.method, 'POST');
  assert.equal(signOut?.headers['x-rollouts-dashboard'], '1');
  await page.close();
});

test('token mode: a 401 from the API sends the browser to the sign-in page', async () => {
  const page = await browser.context.newPage();
  await page.route('**/api/v1/whoami', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ user: 'bob', groups: [], authMode: 'token', readOnly: false, sessionExpiresInSeconds: 5 }) }),
  );
  await page.route('**/api/v1/clusters/*/namespaces/*/rollouts/*/permissions', (route) =>
    route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ error: { code: 'unauthenticated', message: 'not signed in, or the session expired: sign in again' } }) }),
  );
  await page.route('**/auth/sign-in', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Sign in</h1>' }));
  await page.goto(server.url + 'rollout/prod-eu/demo-shop/checkout-api');
  await page.waitForURL(/\/auth\/sign-in$/, { timeout: 15000 });
  await page.close();
});

test('token mode: WebSocket close 1008 (session ended) sends the browser to the sign-in page', async () => {
  const page = await browser.context.newPage();
  await page.route('**/api/v1/whoami', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ user: 'bob', groups: [], authMode: 'token', readOnly: false, sessionExpiresInSeconds: 5 }) }),
  );
  await page.route('**/auth/sign-in', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Sign in</h1>' }));
  let closeIt;
  const closed = new Promise((r) => (closeIt = r));
  await page.routeWebSocket(/\/api\/v1\/stream$/, (ws) => {
    const server = ws.connectToServer();
    closeIt(() => ws.close({ code: 1008, reason: 'session expired; sign in again' }));
    void server;
  });
  await page.goto(server.url);
  await page.locator('[data-conn="open"]').waitFor({ timeout: 15000 });
  (await closed)();
  await page.waitForURL(/\/auth\/sign-in$/, { timeout: 15000 });
  await page.close();
});
