import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availability } from '../src/lib/actionRules';
import { deniedReason, parsePermissions, PermissionsCache, withPermission, type Permissions } from '../src/lib/permissions';
import { CLOSE_POLICY, parseWhoami, sessionEndTarget } from '../src/lib/session';
import { summary } from './fixtures';

const denyPromote: Permissions = {
  actions: { promote: false, abort: true, 'set-image': false },
  reasons: { promote: 'Kubernetes RBAC: alice may not patch rollouts/status in "shop"' },
};

test('permissions: parse keeps booleans and strings only', () => {
  assert.deepEqual(parsePermissions({ actions: { promote: true, abort: false, x: 'yes' }, reasons: { abort: 'no', y: 3 } }), {
    actions: { promote: true, abort: false },
    reasons: { abort: 'no' },
  });
  assert.deepEqual(parsePermissions({ actions: {} }), { actions: {}, reasons: {} });
  assert.equal(parsePermissions(null), null);
  assert.equal(parsePermissions({ error: { code: 'forbidden' } }), null);
  assert.equal(parsePermissions({ actions: [] }), null);
});

test('permissions: denied reason names the action and the server reason', () => {
  assert.equal(deniedReason('promote', denyPromote), 'You may not promote: Kubernetes RBAC: alice may not patch rollouts/status in "shop"');
  assert.equal(deniedReason('set-image', denyPromote), 'You may not set image: not allowed');
  assert.equal(deniedReason('abort', denyPromote), null);
  // Unknown (not loaded, or not in the answer): the server decides when the action is sent.
  assert.equal(deniedReason('retry', denyPromote), null);
  assert.equal(deniedReason('promote', null), null);
});

test('permissions combine with whether the action applies', () => {
  const paused = summary({ status: 'Paused', stepIndex: 1, stepCount: 4, currentPodHash: 'new' });
  const ok = availability('promote', paused);
  assert.equal(ok.enabled, true);
  assert.deepEqual(withPermission(ok, 'promote', null), ok);
  assert.deepEqual(withPermission(ok, 'promote', { actions: { promote: true }, reasons: {} }), ok);
  const denied = withPermission(ok, 'promote', denyPromote);
  assert.equal(denied.enabled, false);
  assert.match(denied.reason, /^You may not promote: Kubernetes RBAC/);

  const healthy = summary();
  const na = availability('promote', healthy);
  assert.equal(na.enabled, false);
  const both = withPermission(na, 'promote', denyPromote);
  assert.equal(both.enabled, false);
  assert.equal(both.reason, `${deniedReason('promote', denyPromote)}\n${na.reason}`);
  assert.deepEqual(withPermission(na, 'promote', null), na);
});

test('permissions cache: one request at a time, kept for the TTL, forced refresh', async () => {
  let now = 1000;
  const calls: string[] = [];
  const resolvers: ((p: Permissions | null) => void)[] = [];
  const cache = new PermissionsCache(
    ({ cluster, namespace, name }) => {
      calls.push(`${cluster}/${namespace}/${name}`);
      return new Promise((res) => resolvers.push(res));
    },
    30_000,
    () => now,
  );
  let notified = 0;
  cache.subscribe(() => notified++);
  cache.ensure({ cluster: 'c', namespace: 'a', name: 'x' });
  cache.ensure({ cluster: 'c', namespace: 'a', name: 'x' });
  cache.ensure({ cluster: 'c', namespace: 'a', name: 'x' }, true); // in flight: not again
  assert.deepEqual(calls, ['c/a/x']);
  assert.equal(cache.get({ cluster: 'c', namespace: 'a', name: 'x' }), null);
  resolvers.shift()?.(denyPromote);
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(notified, 1);
  assert.deepEqual(cache.get({ cluster: 'c', namespace: 'a', name: 'x' }), denyPromote);

  now += 29_000;
  cache.ensure({ cluster: 'c', namespace: 'a', name: 'x' });
  assert.equal(calls.length, 1, 'fresh within the TTL');
  cache.ensure({ cluster: 'c', namespace: 'b', name: 'x' });
  assert.equal(calls.length, 2, 'per rollout');
  now += 2_000;
  cache.ensure({ cluster: 'c', namespace: 'a', name: 'x' });
  assert.equal(calls.length, 3, 'stale after the TTL');
  assert.deepEqual(cache.get({ cluster: 'c', namespace: 'a', name: 'x' }), denyPromote, 'old value kept while refreshing');
  resolvers.shift()?.(null);
  resolvers.shift()?.(null);
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(cache.get({ cluster: 'c', namespace: 'a', name: 'x' }), null, 'a failed refresh is unknown, not a stale denial');
  cache.ensure({ cluster: 'c', namespace: 'a', name: 'x' });
  assert.equal(calls.length, 3, 'a failure is not retried before the TTL');
  cache.ensure({ cluster: 'c', namespace: 'a', name: 'x' }, true);
  assert.equal(calls.length, 4, 'forced');
});

test('permissions cache: per cluster, the same namespace/name elsewhere is another rollout', async () => {
  const calls: string[] = [];
  const cache = new PermissionsCache(
    async ({ cluster, namespace, name }) => {
      calls.push(`${cluster}/${namespace}/${name}`);
      return cluster === 'prod-eu' ? denyPromote : { actions: { promote: true }, reasons: {} };
    },
    30_000,
    () => 0,
  );
  cache.ensure({ cluster: 'prod-eu', namespace: 'shop', name: 'checkout' });
  cache.ensure({ cluster: 'staging', namespace: 'shop', name: 'checkout' });
  assert.deepEqual(calls, ['prod-eu/shop/checkout', 'staging/shop/checkout']);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(cache.get({ cluster: 'prod-eu', namespace: 'shop', name: 'checkout' }), denyPromote);
  assert.deepEqual(cache.get({ cluster: 'staging', namespace: 'shop', name: 'checkout' })?.actions, { promote: true });
});

test('permissions cache: a rejected load is remembered as unknown', async () => {
  const cache = new PermissionsCache(() => Promise.reject(new Error('network')), 30_000, () => 0);
  let notified = 0;
  cache.subscribe(() => notified++);
  cache.ensure({ cluster: 'c', namespace: 'a', name: 'x' });
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(notified, 1);
  assert.equal(cache.get({ cluster: 'c', namespace: 'a', name: 'x' }), null);
});

test('whoami: parse and validate', () => {
  assert.deepEqual(parseWhoami({ user: 'alice', groups: ['dev', 1], authMode: 'token', readOnly: false, sessionExpiresInSeconds: 1200 }), {
    user: 'alice', groups: ['dev'], authMode: 'token', readOnly: false, sessionExpiresInSeconds: 1200, clusters: [],
  });
  assert.deepEqual(parseWhoami({ user: 'local user (--auth none)', groups: [], authMode: 'none', readOnly: true, sessionExpiresInSeconds: null }), {
    user: 'local user (--auth none)', groups: [], authMode: 'none', readOnly: true, sessionExpiresInSeconds: null, clusters: [],
  });
  assert.equal(parseWhoami({ user: 'x', authMode: 'oidc' }), null);
  assert.equal(parseWhoami({ error: { code: 'unauthenticated' } }), null);
  assert.equal(parseWhoami('alice'), null);
});

test('session end: sign-in page, except behind a proxy', () => {
  assert.equal(sessionEndTarget('token'), 'sign-in');
  assert.equal(sessionEndTarget(null), 'sign-in');
  assert.equal(sessionEndTarget('none'), 'sign-in');
  assert.equal(sessionEndTarget('proxy'), 'reload');
  assert.equal(CLOSE_POLICY, 1008);
});
