// The fleet (issue #14) in the web app's pure parts: keys, routes, the cluster filter and
// sort, search, stale clusters, favorites saved before clusters, and the store's clusters.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyOf, rolloutKey, rolloutPath, splitKey, type ClusterStatus, type RolloutDetail } from '../src/api/protocol';
import { clusterFacts, clusterNames, isStale, migrateFavorites, staleText, unavailableReason } from '../src/lib/clusters';
import { openDetail, reduceDetail } from '../src/lib/detailState';
import { formatClock } from '../src/lib/format';
import { ListIndex } from '../src/lib/listIndex';
import { applyListFrames, emptyListState } from '../src/lib/listState';
import { compareWithin, defaultFilter, filterFromQuery, filterToQuery, groupRollouts } from '../src/lib/listView';
import { detailHref, legacyTarget, parseRoute } from '../src/lib/router';
import { parseSearch, searchMatcher } from '../src/lib/search';
import { endsSession, parseWhoami, type Whoami } from '../src/lib/session';
import { clustersOf, factsOf, isFleet, Store } from '../src/state/store';
import { summary } from './fixtures';

const status = (over: Partial<ClusterStatus> & { name: string }): ClusterStatus => ({
  state: 'synced',
  problem: null,
  since: '2026-11-30T10:00:00Z',
  lastSyncedAt: '2026-11-30T10:00:00Z',
  rollouts: 3,
  ...over,
});

test('keys: cluster/namespace/name, split back even when the cluster name holds slashes', () => {
  assert.equal(rolloutKey('prod-eu', 'shop', 'checkout'), 'prod-eu/shop/checkout');
  assert.equal(keyOf(summary({ cluster: 'staging', namespace: 'shop', name: 'checkout' })), 'staging/shop/checkout');
  assert.deepEqual(splitKey('prod-eu/shop/checkout'), { cluster: 'prod-eu', namespace: 'shop', name: 'checkout' });
  const arn = 'arn:aws:eks:eu-west-1:123:cluster/prod';
  assert.deepEqual(splitKey(rolloutKey(arn, 'shop', 'checkout')), { cluster: arn, namespace: 'shop', name: 'checkout' });
  assert.equal(splitKey('shop/checkout'), null, 'a key from before clusters');
  assert.equal(splitKey('checkout'), null);
  assert.equal(
    rolloutPath({ cluster: arn, namespace: 'shop', name: 'checkout' }),
    'api/v1/clusters/arn%3Aaws%3Aeks%3Aeu-west-1%3A123%3Acluster%2Fprod/namespaces/shop/rollouts/checkout',
  );
});

test('routes: the detail page names its cluster; the old detail URL is told apart', () => {
  const arn = 'arn:aws:eks:eu-west-1:123:cluster/prod';
  assert.equal(detailHref('prod-eu', 'shop', 'checkout'), 'rollout/prod-eu/shop/checkout');
  assert.deepEqual(parseRoute(detailHref(arn, 'shop', 'a b'), '?x=1'), { page: 'detail', cluster: arn, namespace: 'shop', name: 'a b', query: '?x=1' });
  assert.deepEqual(parseRoute('rollout/shop/checkout', ''), { page: 'legacyDetail', namespace: 'shop', name: 'checkout', query: '' });
  assert.equal(parseRoute('rollout/a/b/c/d', '').page, 'notFound');
  assert.equal(parseRoute('rollout/%E0%A4%A/b/c', '').page, 'notFound', 'a broken escape');
});

test('the old detail URL: the rollout with one cluster, the list filtered to it with several, nothing while unknown', () => {
  assert.equal(legacyTarget('shop', 'checkout', []), null);
  assert.equal(legacyTarget('shop', 'checkout', ['kind-a']), 'rollout/kind-a/shop/checkout');
  const many = legacyTarget('shop', 'checkout', ['prod-eu', 'staging']);
  assert.ok(many?.startsWith('./?'), many ?? 'null');
  const f = filterFromQuery((many as string).slice(2));
  assert.deepEqual(f.namespaces, ['shop']);
  assert.equal(f.search, '"checkout"');
  assert.deepEqual(f.clusters, []);
  // The exact-name search it makes matches that name in every cluster, and no other name.
  const m = searchMatcher(parseSearch(f.search));
  assert.equal(m(summary({ cluster: 'staging', namespace: 'shop', name: 'checkout' })), true);
  assert.equal(m(summary({ cluster: 'prod-eu', namespace: 'shop', name: 'checkout-2' })), false);
});

test('the cluster filter in the URL: repeated, read back, other keys kept', () => {
  const f = { ...defaultFilter, clusters: ['prod-eu', 'a,b'], namespaces: ['shop'] };
  const q = filterToQuery(f, { view: 'cards' });
  assert.equal(q, '?cluster=prod-eu&cluster=a%2Cb&ns=shop&view=cards');
  assert.deepEqual(filterFromQuery(q).clusters, ['prod-eu', 'a,b'], 'a comma in a cluster name survives');
  assert.deepEqual(filterFromQuery('?cluster=x&cluster=x&cluster=').clusters, ['x']);
  assert.deepEqual(filterFromQuery('?ns=a').clusters, []);
  assert.equal(filterFromQuery('?sort=cluster').sort, 'cluster');
  assert.equal(filterToQuery(defaultFilter), '');
});

test('grouping: the same namespace/name in two clusters is two rows; the cluster filter narrows and counts', () => {
  const all = [
    summary({ cluster: 'prod-eu', name: 'checkout', status: 'Paused', needsAttention: true }),
    summary({ cluster: 'staging', name: 'checkout' }),
    summary({ cluster: 'staging', name: 'cart' }),
  ];
  const g = groupRollouts(all, defaultFilter, new Set(['staging/default/checkout']));
  assert.deepEqual(g.attention.map(keyOf), ['prod-eu/default/checkout']);
  assert.deepEqual(g.rest.map(keyOf), ['staging/default/checkout', 'staging/default/cart'], 'the favorite first');
  assert.equal(g.favoritesCount, 1, 'the favorite of one cluster only');
  const only = groupRollouts(all, { ...defaultFilter, clusters: ['staging'] }, new Set());
  assert.deepEqual([...only.attention, ...only.rest].map(keyOf), ['staging/default/cart', 'staging/default/checkout']);
  assert.deepEqual(only.counts, { Healthy: 2 });
  assert.equal(only.total, 3);
});

test('sort by cluster, then name; the order is total across clusters', () => {
  const a = summary({ cluster: 'staging', name: 'a' });
  const b = summary({ cluster: 'prod-eu', name: 'b' });
  const c = summary({ cluster: 'prod-eu', name: 'a' });
  assert.deepEqual([a, b, c].sort(compareWithin('cluster')).map(keyOf), ['prod-eu/default/a', 'prod-eu/default/b', 'staging/default/a']);
  // By name, the same namespace/name is ordered by cluster, never "equal" (the index's binary search needs it).
  for (const sort of ['name', 'namespace', 'status', 'attention', 'updated', 'cluster'] as const) {
    assert.notEqual(compareWithin(sort)(a, c), 0, sort);
    assert.equal(Math.sign(compareWithin(sort)(a, c)), -Math.sign(compareWithin(sort)(c, a)), sort);
  }
});

test('the list keeps both clusters\' copies; a delete or patch changes its own cluster only', () => {
  let s = applyListFrames(emptyListState, [
    { type: 'snapshot', seq: 1, rollouts: [summary({ cluster: 'prod-eu', name: 'checkout' }), summary({ cluster: 'staging', name: 'checkout' })] },
  ]);
  assert.deepEqual([...s.rollouts.keys()], ['prod-eu/default/checkout', 'staging/default/checkout']);
  s = applyListFrames(s, [{ type: 'patch', seq: 2, base: 1, cluster: 'staging', namespace: 'default', name: 'checkout', patch: [{ op: 'replace', path: '/status', value: 'Paused' }] }]);
  assert.equal(s.rollouts.get('staging/default/checkout')?.status, 'Paused');
  assert.equal(s.rollouts.get('prod-eu/default/checkout')?.status, 'Healthy');
  s = applyListFrames(s, [{ type: 'delete', seq: 3, cluster: 'prod-eu', namespace: 'default', name: 'checkout' }]);
  assert.deepEqual([...s.rollouts.keys()], ['staging/default/checkout']);
});

test('the index lists the clusters present and follows a cluster filter', () => {
  const index = new ListIndex();
  let list = applyListFrames(emptyListState, [{ type: 'snapshot', seq: 1, rollouts: [summary({ cluster: 'staging', name: 'a' }), summary({ cluster: 'prod-eu', name: 'a' })] }]);
  const filter = { ...defaultFilter, clusters: ['prod-eu'] };
  const favs = new Set<string>();
  let g = index.sync(list, filter, favs);
  assert.deepEqual(g.rest.map(keyOf), ['prod-eu/default/a']);
  assert.deepEqual(index.clusters(), ['prod-eu', 'staging']);
  const before = index.clusters();
  list = applyListFrames(list, [{ type: 'upsert', seq: 2, rollout: summary({ cluster: 'prod-eu', name: 'b' }) }]);
  g = index.sync(list, filter, favs);
  assert.deepEqual(g.rest.map(keyOf), ['prod-eu/default/a', 'prod-eu/default/b']);
  assert.equal(index.clusters(), before, 'the same array while the set of clusters is the same');
  list = applyListFrames(list, [{ type: 'delete', seq: 3, cluster: 'staging', namespace: 'default', name: 'a' }]);
  index.sync(list, filter, favs);
  assert.deepEqual(index.clusters(), ['prod-eu']);
});

test('search: the whole name of a cluster matches its rollouts; a part of it does not; slashes reach the cluster', () => {
  const pe = summary({ cluster: 'prod-eu', namespace: 'shop', name: 'checkout' });
  const st = summary({ cluster: 'staging', namespace: 'shop', name: 'checkout' });
  const ic = summary({ cluster: 'in-cluster', namespace: 'shop', name: 'cart' });
  const m = (q: string) => [pe, st, ic].filter(searchMatcher(parseSearch(q))).map(keyOf);
  assert.deepEqual(m('staging'), ['staging/shop/checkout']);
  assert.deepEqual(m('STAGING'), ['staging/shop/checkout'], 'case-insensitive');
  assert.deepEqual(m('in'), [], 'a part of a cluster name is not a match (else `in` matches all of in-cluster)');
  assert.deepEqual(m('prod-eu/shop'), ['prod-eu/shop/checkout']);
  assert.deepEqual(m('shop/checkout'), ['prod-eu/shop/checkout', 'staging/shop/checkout'], 'namespace/name in every cluster');
  assert.deepEqual(m('"staging/shop/checkout"'), ['staging/shop/checkout']);
  assert.deepEqual(m('"shop/checkout"'), ['prod-eu/shop/checkout', 'staging/shop/checkout']);
  assert.deepEqual(m('!staging'), ['prod-eu/shop/checkout', 'in-cluster/shop/cart']);
  assert.deepEqual(m('cart'), ['in-cluster/shop/cart']);
});

test('stale: a cluster not synced after it had synced; since the start of its state', () => {
  const since = '2026-11-30T10:11:12Z';
  assert.equal(isStale(status({ name: 'a' })), false);
  assert.equal(isStale(status({ name: 'a', state: 'unreachable', since })), true);
  assert.equal(isStale(status({ name: 'a', state: 'syncing', since })), true, 'relisting after it had synced');
  assert.equal(isStale(status({ name: 'a', state: 'syncing', lastSyncedAt: null })), false, 'never synced: no rows to be stale');
  assert.equal(isStale(status({ name: 'a', state: 'forbidden', lastSyncedAt: null })), false);
  assert.equal(staleText(status({ name: 'a', state: 'unreachable', since })), `stale since ${formatClock(Date.parse(since))}`);
  assert.equal(staleText(status({ name: 'a', state: 'unreachable', since: null })), 'stale');
  assert.equal(staleText(status({ name: 'a' })), null);
  assert.equal(unavailableReason(status({ name: 'a' })), null);
  assert.equal(
    unavailableReason(status({ name: 'staging', state: 'crdMissing', since })),
    `Cluster staging: CRDs missing since ${formatClock(Date.parse(since))}: its rollouts are shown as last known. Actions on it are disabled until it is synced again.`,
  );
  assert.equal(
    unavailableReason(status({ name: 'a', state: 'forbidden', since: null, lastSyncedAt: null })),
    'Cluster a: forbidden. Actions on it are disabled until it is synced again.',
  );
});

test('cluster facts: stale rows, disabled clusters, and clusters that did not accept the token', () => {
  const who = parseWhoami({
    user: 'alice',
    groups: [],
    authMode: 'token',
    readOnly: false,
    sessionExpiresInSeconds: 100,
    clusters: [{ name: 'prod-eu', signedIn: true }, { name: 'staging', signedIn: false }, { name: 'dev' }, { signedIn: false }],
  }) as Whoami;
  assert.deepEqual(who.clusters, [
    { name: 'prod-eu', signedIn: true },
    { name: 'staging', signedIn: false },
    { name: 'dev', signedIn: true },
  ]);
  const f = clusterFacts(
    [status({ name: 'prod-eu' }), status({ name: 'staging' }), status({ name: 'eu-2', state: 'unreachable', since: '2026-11-30T10:11:12Z' })],
    who,
  );
  assert.deepEqual([...f.stale.keys()], ['eu-2']);
  assert.deepEqual([...f.blocked.keys()].sort(), ['eu-2', 'staging']);
  assert.match(f.blocked.get('staging') ?? '', /^Not signed in on staging/);
  assert.equal(clusterFacts([], null).blocked.size, 0, 'nothing known: nothing disabled');
});

test('cluster names: hello\'s, else the status frame\'s', () => {
  assert.deepEqual(clusterNames(['b', 'a'], [status({ name: 'a' })]), ['b', 'a']);
  assert.deepEqual(clusterNames([], [status({ name: 'a' }), status({ name: 'b' })]), ['a', 'b']);
  assert.deepEqual(clusterNames([], []), []);
});

test('favorites saved before clusters become the favorites of that namespace/name in every cluster', () => {
  const old = new Set(['shop/checkout', 'prod-eu/shop/cart']);
  assert.equal(migrateFavorites(old, []), null, 'clusters unknown: wait');
  assert.deepEqual([...(migrateFavorites(old, ['prod-eu', 'staging']) ?? [])].sort(), ['prod-eu/shop/cart', 'prod-eu/shop/checkout', 'staging/shop/checkout']);
  assert.equal(migrateFavorites(new Set(['prod-eu/shop/cart']), ['prod-eu']), null, 'nothing to migrate');
});

test('the detail follows its own cluster only', () => {
  const mk = (cluster: string, stepIndex: number) => ({ summary: summary({ cluster, name: 'web', stepIndex }) }) as unknown as RolloutDetail;
  const open = openDetail('staging', 'default', 'web');
  assert.equal(reduceDetail(open, { type: 'detail', seq: 2, rollout: mk('prod-eu', 1) }), open, 'the same namespace/name of another cluster');
  const s = reduceDetail(open, { type: 'detail', seq: 2, rollout: mk('staging', 1) })!;
  assert.equal(s.detail?.summary.cluster, 'staging');
  assert.equal(reduceDetail(s, { type: 'delete', seq: 3, cluster: 'prod-eu', namespace: 'default', name: 'web' }), s, 'a delete in another cluster');
  assert.equal(reduceDetail(s, { type: 'delete', seq: 3, cluster: 'staging', namespace: 'default', name: 'web' })?.deleted, true);
  // A detailPatch without a cluster (it answers this page's one subscription) applies.
  const p = reduceDetail(s, { type: 'detailPatch', seq: 4, base: 2, namespace: 'default', name: 'web', patch: [{ op: 'replace', path: '/summary/stepIndex', value: 2 }] });
  assert.equal(p?.detail?.summary.stepIndex, 2);
});

test('the store: hello names the clusters, status their states; derived once per frame', () => {
  const store = new Store({ basePath: '/', version: 't', readOnly: false, source: 'cluster' });
  assert.equal(isFleet(store.state), false);
  store.applyFrames([{ type: 'hello', protocol: 5, version: 'x', commit: 'c', readOnly: false, demo: true, heartbeatSeconds: 20, clusters: ['prod-eu', 'staging'] }]);
  assert.deepEqual(clustersOf(store.state), ['prod-eu', 'staging']);
  assert.equal(isFleet(store.state), true);
  assert.equal(store.state.protocolMismatch, false);
  const health = { source: 'demo' as const, namespaces: [], kinds: {}, problem: null, notes: [] };
  store.applyFrames([{ type: 'status', health, clusters: [status({ name: 'prod-eu' }), status({ name: 'staging', state: 'unreachable' })] }]);
  const f = factsOf(store.state);
  assert.equal(factsOf(store.state), f, 'the same facts while nothing changed');
  assert.ok(f.stale.has('staging'));
  assert.ok(f.blocked.has('staging'));
  assert.equal(f.blocked.has('prod-eu'), false);
  store.set({ conn: 'open' });
  assert.equal(factsOf(store.state), f, 'another change of the store does not derive them again');
  const names = clustersOf(store.state);
  store.applyFrames([{ type: 'status', health, clusters: [status({ name: 'prod-eu' }), status({ name: 'staging' })] }]);
  assert.equal(factsOf(store.state).stale.size, 0);
  assert.equal(clustersOf(store.state), names, 'the same names array: no re-render of what depends on it');
  // One cluster: no fleet view.
  const one = new Store({ basePath: '/', version: 't', readOnly: false, source: 'files' });
  one.applyFrames([{ type: 'hello', protocol: 5, version: 'x', commit: 'c', readOnly: true, demo: false, heartbeatSeconds: 20, clusters: ['files'] }]);
  assert.equal(isFleet(one.state), false);
});

test('the store: a polled api/v1/status names the clusters and their states (the stream is down)', () => {
  const store = new Store({ basePath: '/', version: 't', readOnly: false, source: 'cluster' });
  store.applyPolledStatus({ ready: true, health: { source: 'cluster', namespaces: [], kinds: {}, problem: null, notes: [] } });
  assert.equal(store.state.clusterStatus.length, 0, 'a body without clusters changes nothing');
  store.applyPolledStatus({ health: { source: 'cluster', namespaces: [], kinds: {}, problem: null, notes: [] }, clusters: [status({ name: 'a' }), status({ name: 'b', state: 'forbidden' })] });
  assert.deepEqual(clustersOf(store.state), ['a', 'b']);
  assert.equal(isFleet(store.state), true);
  assert.ok(factsOf(store.state).stale.has('b'));
  assert.equal(store.state.health?.source, 'cluster');
});

test('a 401 notSignedIn (one cluster refused the token) does not end the session; any other 401 does', () => {
  assert.equal(endsSession({ error: { code: 'notSignedIn', message: 'not signed in on cluster staging' } }), false);
  assert.equal(endsSession({ error: { code: 'unauthenticated', message: 'session expired' } }), true);
  assert.equal(endsSession(null), true);
  assert.equal(endsSession('<html>'), true);
});
