import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RolloutDetail } from '../src/api/protocol';
import { openDetail } from '../src/lib/detailState';
import { Store } from '../src/state/store';
import { summary } from './fixtures';

// Only the fields the store touches matter here; the rest of a detail rides along untouched.
function detail(stepIndex: number): RolloutDetail {
  return { summary: summary({ stepIndex, step: `${stepIndex}/8` }), containers: [] } as unknown as RolloutDetail;
}

function opened(): { store: Store; resyncs: () => number } {
  const store = new Store({ basePath: '/', version: 't', readOnly: false, source: 'cluster' });
  let n = 0;
  store.onDetailResync = () => n++;
  store.set({ detail: openDetail('prod-eu', 'default', 'web') });
  store.applyFrames([{ type: 'detail', seq: 5, rollout: detail(1) }]);
  return { store, resyncs: () => n };
}

const toStep2 = [
  { op: 'replace' as const, path: '/summary/stepIndex', value: 2 },
  { op: 'replace' as const, path: '/summary/step', value: '2/8' },
];

test('a detail patch on the copy at its base applies', () => {
  const { store, resyncs } = opened();
  store.applyFrames([{ type: 'detailPatch', seq: 9, base: 5, namespace: 'default', name: 'web', patch: toStep2 }]);
  const d = store.state.detail!;
  assert.equal(d.seq, 9);
  assert.equal(d.detail!.summary.stepIndex, 2);
  assert.equal(d.detail!.summary.step, '2/8');
  assert.equal(resyncs(), 0);
});

test('a detail patch on another base asks once for a fresh detail and changes nothing', () => {
  const { store, resyncs } = opened();
  const before = store.state.detail!.detail;
  store.applyFrames([{ type: 'detailPatch', seq: 9, base: 7, namespace: 'default', name: 'web', patch: toStep2 }]);
  store.applyFrames([{ type: 'detailPatch', seq: 11, base: 9, namespace: 'default', name: 'web', patch: toStep2 }]);
  assert.equal(store.state.detail!.detail, before, 'the shown detail is untouched');
  assert.equal(resyncs(), 1, 'one re-subscribe until the fresh detail arrives');
  store.applyFrames([{ type: 'detail', seq: 12, rollout: detail(3) }]);
  assert.equal(store.state.detail!.detail!.summary.stepIndex, 3);
  store.applyFrames([{ type: 'detailPatch', seq: 13, base: 1, namespace: 'default', name: 'web', patch: toStep2 }]);
  assert.equal(resyncs(), 2, 'a later misfit asks again');
});

test('a patch that does not fit the document asks for a fresh detail', () => {
  const { store, resyncs } = opened();
  store.applyFrames([
    { type: 'detailPatch', seq: 9, base: 5, namespace: 'default', name: 'web', patch: [{ op: 'remove', path: '/nope/0' }] },
  ]);
  assert.equal(store.state.detail!.seq, 5);
  assert.equal(resyncs(), 1);
});

test("another rollout's or an older patch is ignored", () => {
  const { store, resyncs } = opened();
  const before = store.state.detail;
  store.applyFrames([
    { type: 'detailPatch', seq: 9, base: 5, namespace: 'default', name: 'api', patch: toStep2 },
    { type: 'detailPatch', seq: 4, base: 2, namespace: 'default', name: 'web', patch: toStep2 },
  ]);
  assert.equal(store.state.detail, before);
  assert.equal(resyncs(), 0);
});
