import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentStepNumber, describeStaleChange, promoteSteps, restateSteps, stepName, stepPosition, upstreamStepFigure } from '../src/lib/steps';
import { byRole, failingMetric, roleRank, shortWhy } from '../src/lib/failure';
import { defaultFilter, groupRollouts, heldOrderOf, holdOrder } from '../src/lib/listView';
import { formatAgo } from '../src/lib/format';
import { offlineReason } from '../src/lib/offline';
import { summary } from './fixtures';

const LABELS = ['Set weight 20%', 'Pause until promoted', 'Set weight 40%', 'Pause 30s'];

test('steps: the timeline number is currentStepIndex + 1, and every text uses it', () => {
  assert.equal(currentStepNumber(1, 4), 2);
  assert.equal(currentStepNumber(0, 4), 1);
  assert.equal(currentStepNumber(4, 4), null, 'all done');
  assert.equal(currentStepNumber(null, 4), null);
  assert.equal(currentStepNumber(0, 0), null);
  assert.equal(stepName(2, LABELS), 'step 2 “Pause until promoted”');
  assert.equal(stepName(9, LABELS), 'step 9');
  assert.equal(stepPosition(1, 4), 'Step 2 of 4');
  assert.equal(stepPosition(4, 4), 'All 4 steps done');
  assert.equal(stepPosition(null, 0), null);
  assert.equal(upstreamStepFigure(1, 4), '1/4 done');
  assert.equal(promoteSteps(1, 4, LABELS), 'past step 2 “Pause until promoted” → step 3 “Set weight 40%”');
  assert.equal(promoteSteps(4, 4, LABELS), null);
});

test('steps: the server\'s out-of-date changes and sentences are restated in timeline numbers', () => {
  assert.equal(describeStaleChange('step moved from 1 to 3', 4, LABELS), 'it moved on from step 2 “Pause until promoted” → step 4 “Pause 30s”');
  assert.equal(describeStaleChange('step moved from 3 to 4', 4), 'it moved on from step 4 → the end (all steps done)');
  assert.match(describeStaleChange('pod hash changed from a to b', 4), /new revision started \(pod template hash a → b\)/);
  assert.match(describeStaleChange('resourceVersion changed from 1 to 2', 4), /resourceVersion 1 → 2/);
  assert.equal(describeStaleChange('something else', 4), 'something else');
  assert.equal(restateSteps('Current step 1/8: Pause until promoted'), 'At step 2 of 8: Pause until promoted');
  assert.equal(restateSteps('Waiting for promotion at step 1/8 (pause with no duration)'), 'Waiting for promotion at step 2 of 8 (pause with no duration)');
  assert.equal(restateSteps('step 8/8'), 'the end (all 8 steps done)');
});

test('failure: the failing metric is read from the controller\'s message', () => {
  const msg = 'Rollout aborted update to revision 2: Metric "error-rate" assessed Failed due to failed (3) > failureLimit (2)';
  assert.deepEqual(failingMetric(msg), { metric: 'error-rate', phase: 'Failed', why: 'failed (3) > failureLimit (2)' });
  assert.deepEqual(failingMetric('Metric "x" assessed Error'), { metric: 'x', phase: 'Error', why: null });
  assert.equal(failingMetric('Rollout aborted update to revision 2'), null);
  assert.equal(failingMetric(null), null);
  assert.equal(shortWhy('failed (3) > failureLimit (2)'), '3 failed > limit 2');
  assert.equal(shortWhy('consecutiveErrors (5) > consecutiveErrorLimit (4)'), '5 consecutiveErrors > limit 4');
});

test('images and ReplicaSets are put in one order: stable first, newest first within a role', () => {
  assert.equal(roleRank(['stable']), 0);
  assert.equal(roleRank(['active', 'stable']), 0);
  assert.equal(roleRank(['canary']), 1);
  assert.equal(roleRank([]), 2);
  const rs = [{ n: 'r3', roles: ['canary'] }, { n: 'r2', roles: [] }, { n: 'r1', roles: ['stable'] }];
  assert.deepEqual(byRole(rs, (x) => x.roles).map((x) => x.n), ['r1', 'r3', 'r2']);
});

test('held order: rows keep group and place; new rows go to the end; gone rows drop', () => {
  const a = summary({ name: 'a', status: 'Healthy' });
  const b = summary({ name: 'b', status: 'Paused', needsAttention: true });
  const c = summary({ name: 'c', status: 'Healthy' });
  const first = groupRollouts([a, b, c], defaultFilter, new Set());
  const held = heldOrderOf(first);
  assert.deepEqual(held, { attention: ['prod-eu/default/b'], rest: ['prod-eu/default/a', 'prod-eu/default/c'] });
  // c degrades (would jump to the top), b recovers, a is deleted, d appears.
  const c2 = { ...c, status: 'Degraded', needsAttention: true };
  const b2 = { ...b, status: 'Healthy', needsAttention: false };
  const d = summary({ name: 'd', status: 'Degraded', needsAttention: true });
  const fresh = groupRollouts([b2, c2, d], defaultFilter, new Set());
  assert.deepEqual(fresh.attention.map((r) => r.name), ['c', 'd']);
  const shown = holdOrder(fresh, held);
  assert.deepEqual(shown.attention.map((r) => r.name), ['b', 'd']);
  assert.deepEqual(shown.rest.map((r) => r.name), ['c']);
  assert.equal(shown.rest[0]?.status, 'Degraded', 'with its fresh data');
  assert.deepEqual(shown.counts, fresh.counts);
});

test('relative times of past events never read "in …"', () => {
  const now = 1_000_000_000;
  assert.equal(formatAgo(now + 6000, now), 'just now');
  assert.equal(formatAgo(now + 3_600_000, now), 'just now');
  assert.equal(formatAgo(now - 30_000, now), '30s ago');
});

test('offline: actions are allowed while live or freshly polled only', () => {
  assert.equal(offlineReason('open', false, null), null);
  assert.equal(offlineReason('reconnecting', true, 1), null);
  assert.match(offlineReason('reconnecting', false, Date.UTC(2024, 0, 1, 12, 3, 10)) ?? '', /^Not connected to the dashboard server since \d\d:03:10: .*Actions are disabled until/);
  assert.match(offlineReason('connecting', false, null) ?? '', /^Not connected to the dashboard server: /);
});
