import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RolloutDetail } from '../src/api/protocol';
import { openDetail, reduceDetail, reduceDetailFrames, type DetailState } from '../src/lib/detailState';
import { summary } from './fixtures';

function detail(name: string, stepIndex: number): RolloutDetail {
  return { summary: summary({ name, stepIndex }), containers: [] } as unknown as RolloutDetail;
}

const patchTo = (stepIndex: number) => [{ op: 'replace' as const, path: '/summary/stepIndex', value: stepIndex }];

function loaded(): DetailState {
  return reduceDetail(openDetail('prod-eu', 'default', 'web'), { type: 'detail', seq: 5, rollout: detail('web', 1) })!;
}

test('a detail for the open rollout is taken; one for another rollout is ignored', () => {
  const open = openDetail('prod-eu', 'default', 'web');
  assert.equal(reduceDetail(open, { type: 'detail', seq: 3, rollout: detail('other', 1) }), open);
  const s = loaded();
  assert.equal(s.seq, 5);
  assert.equal(s.detail!.summary.stepIndex, 1);
  assert.equal(reduceDetail(null, { type: 'detail', seq: 3, rollout: detail('web', 1) }), null, 'no page, no state');
});

test('the reducer is pure: the input state is never changed', () => {
  const s = loaded();
  const copy = JSON.stringify(s);
  const next = reduceDetail(s, { type: 'detailPatch', seq: 6, base: 5, namespace: 'default', name: 'web', patch: patchTo(2) })!;
  assert.equal(JSON.stringify(s), copy);
  assert.notEqual(next, s);
  assert.equal(next.detail!.summary.stepIndex, 2);
  assert.equal(s.detail!.summary.stepIndex, 1);
});

test('an older or equal seq changes nothing (same object)', () => {
  const s = loaded();
  assert.equal(reduceDetail(s, { type: 'detail', seq: 4, rollout: detail('web', 7) }), s);
  assert.equal(reduceDetail(s, { type: 'detailPatch', seq: 5, base: 4, namespace: 'default', name: 'web', patch: patchTo(2) }), s);
  assert.equal(reduceDetail(s, { type: 'delete', seq: 5, cluster: 'prod-eu', namespace: 'default', name: 'web' }), s);
});

test('a patch on another base marks resyncNeeded once and keeps the copy shown; a fresh detail clears it', () => {
  const s = loaded();
  const a = reduceDetail(s, { type: 'detailPatch', seq: 9, base: 7, namespace: 'default', name: 'web', patch: patchTo(2) })!;
  assert.equal(a.resyncNeeded, true);
  assert.equal(a.detail, s.detail);
  const b = reduceDetail(a, { type: 'detailPatch', seq: 10, base: 9, namespace: 'default', name: 'web', patch: patchTo(3) })!;
  assert.equal(b, a, 'later misfits wait quietly');
  const c = reduceDetail(b, { type: 'detail', seq: 11, rollout: detail('web', 3) })!;
  assert.equal(c.resyncNeeded, false);
  assert.equal(c.detail!.summary.stepIndex, 3);
});

test('notFound and delete clear the detail', () => {
  const gone = reduceDetailFrames(loaded(), [{ type: 'delete', seq: 6, cluster: 'prod-eu', namespace: 'default', name: 'web' }])!;
  assert.equal(gone.deleted, true);
  assert.equal(gone.detail, null);
  const missing = reduceDetail(openDetail('prod-eu', 'default', 'web'), { type: 'notFound', seq: 2, namespace: 'default', name: 'web' })!;
  assert.equal(missing.notFound, true);
  const back = reduceDetail(missing, { type: 'detail', seq: 3, rollout: detail('web', 0) })!;
  assert.equal(back.notFound, false);
  assert.equal(back.detail!.summary.stepIndex, 0);
});
