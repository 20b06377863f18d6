import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyListFrames, emptyListState, type ListFrame } from '../src/lib/listState';
import { summary } from './fixtures';

test('changes before the first snapshot are dropped', () => {
  const s = applyListFrames(emptyListState, [{ type: 'upsert', seq: 5, rollout: summary() }]);
  assert.equal(s, emptyListState);
  assert.equal(s.snapshotSeq, null);
});

test('snapshot replaces everything', () => {
  let s = applyListFrames(emptyListState, [{ type: 'snapshot', seq: 3, rollouts: [summary({ name: 'a' }), summary({ name: 'b' })] }]);
  assert.deepEqual([...s.rollouts.keys()], ['prod-eu/default/a', 'prod-eu/default/b']);
  s = applyListFrames(s, [{ type: 'snapshot', seq: 9, rollouts: [summary({ name: 'c' })] }]);
  assert.deepEqual([...s.rollouts.keys()], ['prod-eu/default/c']);
  assert.equal(s.snapshotSeq, 9);
});

test('upserts and deletes not newer than the snapshot are dropped', () => {
  let s = applyListFrames(emptyListState, [{ type: 'snapshot', seq: 10, rollouts: [summary({ name: 'a' })] }]);
  const before = s;
  s = applyListFrames(s, [
    { type: 'upsert', seq: 10, rollout: summary({ name: 'x' }) },
    { type: 'delete', seq: 7, cluster: 'prod-eu', namespace: 'default', name: 'a' },
  ]);
  assert.equal(s, before);
  s = applyListFrames(s, [
    { type: 'upsert', seq: 11, rollout: summary({ name: 'a', status: 'Paused' }) },
    { type: 'upsert', seq: 12, rollout: summary({ name: 'b' }) },
    { type: 'delete', seq: 14, cluster: 'prod-eu', namespace: 'default', name: 'b' },
  ]);
  assert.equal(s.rollouts.get('prod-eu/default/a')?.status, 'Paused');
  assert.equal(s.rollouts.has('prod-eu/default/b'), false);
  assert.equal(s.lastSeq, 14);
  assert.equal(s.version, before.version + 1);
});

test('upserts and deletes are idempotent and do not mutate the previous state', () => {
  const s0 = applyListFrames(emptyListState, [{ type: 'snapshot', seq: 1, rollouts: [summary({ name: 'a' })] }]);
  const s1 = applyListFrames(s0, [
    { type: 'delete', seq: 2, cluster: 'prod-eu', namespace: 'default', name: 'a' },
    { type: 'delete', seq: 3, cluster: 'prod-eu', namespace: 'default', name: 'a' },
    { type: 'upsert', seq: 4, rollout: summary({ name: 'n', namespace: 'x' }) },
    { type: 'upsert', seq: 5, rollout: summary({ name: 'n', namespace: 'x' }) },
  ]);
  assert.equal(s0.rollouts.size, 1);
  assert.deepEqual([...s1.rollouts.keys()], ['prod-eu/x/n']);
});

test('a snapshot in the middle of a batch resets the base seq', () => {
  const s = applyListFrames(emptyListState, [
    { type: 'snapshot', seq: 1, rollouts: [] },
    { type: 'upsert', seq: 4, rollout: summary({ name: 'old' }) },
    { type: 'snapshot', seq: 20, rollouts: [summary({ name: 'a' })] },
    { type: 'upsert', seq: 15, rollout: summary({ name: 'late' }) },
    { type: 'upsert', seq: 21, rollout: summary({ name: 'new' }) },
  ]);
  assert.deepEqual([...s.rollouts.keys()].sort(), ['prod-eu/default/a', 'prod-eu/default/new']);
});

test('a patch applies to the snapshot copy, then chains from its own seq', () => {
  let s = applyListFrames(emptyListState, [{ type: 'snapshot', seq: 10, rollouts: [summary({ name: 'a' })] }]);
  s = applyListFrames(s, [
    { type: 'patch', seq: 12, base: 4, cluster: 'prod-eu', namespace: 'default', name: 'a', patch: [{ op: 'replace', path: '/status', value: 'Paused' }] },
    { type: 'patch', seq: 15, base: 12, cluster: 'prod-eu', namespace: 'default', name: 'a', patch: [{ op: 'replace', path: '/message', value: 'CanaryPauseStep' }] },
  ]);
  assert.equal(s.resyncNeeded, false);
  assert.equal(s.rollouts.get('prod-eu/default/a')?.status, 'Paused');
  assert.equal(s.rollouts.get('prod-eu/default/a')?.message, 'CanaryPauseStep');
  assert.equal(s.versions.get('prod-eu/default/a'), 15);
  assert.equal(s.lastSeq, 15);
});

test('a patch that does not fit the copy held asks for a resync and keeps the last good copy', () => {
  const s0 = applyListFrames(emptyListState, [{ type: 'snapshot', seq: 10, rollouts: [summary({ name: 'a', status: 'Healthy' })] }]);
  const cases = [
    // Made from a version newer than the snapshot, which this client never got.
    { type: 'patch', seq: 13, base: 11, cluster: 'prod-eu', namespace: 'default', name: 'a', patch: [{ op: 'replace', path: '/status', value: 'Paused' }] },
    // A rollout this client does not have.
    { type: 'patch', seq: 13, base: 2, cluster: 'prod-eu', namespace: 'default', name: 'zz', patch: [] },
    // Operations that do not fit the document.
    { type: 'patch', seq: 13, base: 2, cluster: 'prod-eu', namespace: 'default', name: 'a', patch: [{ op: 'remove', path: '/nothing' }] },
  ];
  for (const frame of cases as ListFrame[]) {
    const s = applyListFrames(s0, [frame]);
    assert.equal(s.resyncNeeded, true, JSON.stringify(frame));
    assert.equal(s.rollouts.get('prod-eu/default/a')?.status, 'Healthy');
  }
  // After an upsert the chain restarts from the upsert's seq.
  let s = applyListFrames(s0, [
    { type: 'upsert', seq: 11, rollout: summary({ name: 'a', status: 'Degraded' }) },
    { type: 'patch', seq: 12, base: 10, cluster: 'prod-eu', namespace: 'default', name: 'a', patch: [{ op: 'replace', path: '/status', value: 'Paused' }] },
  ]);
  assert.equal(s.resyncNeeded, true);
  assert.equal(s.rollouts.get('prod-eu/default/a')?.status, 'Degraded');
  // The fresh snapshot clears the flag.
  s = applyListFrames(s, [{ type: 'snapshot', seq: 20, rollouts: [summary({ name: 'a', status: 'Paused' })] }]);
  assert.equal(s.resyncNeeded, false);
  assert.equal(s.versions.size, 0);
});
