import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availability, describeEffect, seenOf } from '../src/lib/actionRules';
import { filterFromQuery, filterToQuery, groupRollouts, defaultFilter } from '../src/lib/listView';
import { summary } from './fixtures';

test('promote describes the step change', () => {
  const r = summary({ name: 'checkout-api', status: 'Paused', stepIndex: 2, stepCount: 8, currentPodHash: 'new' });
  // currentStepIndex 2 is the timeline's step 3.
  assert.equal(describeEffect('promote', r), 'Promote checkout-api past step 3 → step 4');
  const labels = ['Set weight 20%', 'Pause until promoted', 'Set weight 40%', 'Pause 30s', 'Set weight 60%', 'Pause 30s', 'Set weight 80%', 'Pause 30s'];
  assert.equal(describeEffect('promote', r, undefined, labels), 'Promote checkout-api past step 3 “Set weight 40%” → step 4 “Pause 30s”');
  assert.equal(describeEffect('promote', { ...r, stepIndex: 7 }, undefined, labels), 'Promote checkout-api past step 8 “Pause 30s”, the last step → fully promoted');
  assert.equal(describeEffect('promote-full', { ...r, stepIndex: 1 }, undefined, labels), 'Promote checkout-api fully: skip steps 2 “Pause until promoted” to 8 “Pause 30s”, with their pauses and analyses');
  assert.equal(availability('promote', r).enabled, true);
});

test('healthy rollouts cannot be aborted or promoted', () => {
  const r = summary();
  assert.equal(availability('abort', r).enabled, false);
  assert.match(availability('abort', r).reason, /Healthy/);
  assert.equal(availability('promote-full', r).enabled, false);
  assert.equal(availability('retry', r).enabled, false);
  assert.equal(availability('restart', r).enabled, true);
});

test('retry only when aborted or degraded', () => {
  assert.equal(availability('retry', summary({ status: 'Degraded', aborted: true })).enabled, true);
  assert.equal(availability('promote', summary({ status: 'Degraded', aborted: true })).enabled, false);
});

test('seen state comes from the displayed rollout', () => {
  assert.deepEqual(seenOf(summary({ resourceVersion: '77', stepIndex: 3, currentPodHash: 'h' })), {
    resourceVersion: '77', stepIndex: 3, podHash: 'h',
  });
});

test('filter round-trips through the query string', () => {
  const f = { ...defaultFilter, namespaces: ['a', 'b'], search: 'app:"x", !y', statuses: ['Paused'], favoritesOnly: true, sort: 'name' as const };
  const q = filterToQuery(f, { view: 'cards' });
  assert.deepEqual(filterFromQuery(q), f);
  assert.equal(filterToQuery(defaultFilter), '');
});

test('grouping: attention first, counts before status filter, favorites sort first', () => {
  const all = [
    summary({ name: 'a', status: 'Healthy' }),
    summary({ name: 'b', status: 'Paused', needsAttention: true }),
    summary({ name: 'c', status: 'Degraded', needsAttention: true }),
    summary({ name: 'd', status: 'Healthy', namespace: 'other' }),
  ];
  const g = groupRollouts(all, defaultFilter, new Set(['prod-eu/other/d']));
  assert.deepEqual(g.attention.map((r) => r.name), ['c', 'b']);
  assert.deepEqual(g.rest.map((r) => r.name), ['d', 'a']);
  assert.deepEqual(g.counts, { Healthy: 2, Paused: 1, Degraded: 1 });
  const only = groupRollouts(all, { ...defaultFilter, statuses: ['Healthy'], namespaces: ['default'] }, new Set());
  assert.deepEqual([...only.attention, ...only.rest].map((r) => r.name), ['a']);
  assert.equal(only.counts.Paused, 1);
});

import { parseRoute, detailHref, relativePath } from '../src/lib/router';
import { backoffDelay } from '../src/api/connection';

test('routes', () => {
  assert.deepEqual(parseRoute('', '?q=x'), { page: 'list', query: '?q=x' });
  assert.deepEqual(parseRoute(detailHref('prod-eu', 'ns', 'a b'), ''), { page: 'detail', cluster: 'prod-eu', namespace: 'ns', name: 'a b', query: '' });
  assert.equal(parseRoute('nope/x', '').page, 'notFound');
  assert.equal(relativePath('/rollouts/rollout/a/b', '/rollouts/'), 'rollout/a/b');
  assert.equal(relativePath('/rollouts', '/rollouts/'), '');
  assert.equal(relativePath('/', '/'), '');
});

test('backoff grows, is capped at 10 s and jittered', () => {
  assert.equal(backoffDelay(0, 1), 500);
  assert.equal(backoffDelay(0, 0), 250);
  assert.equal(backoffDelay(3, 1), 4000);
  assert.equal(backoffDelay(20, 1), 10000);
  assert.equal(backoffDelay(20, 0), 5000);
});
