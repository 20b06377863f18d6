import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServerMsg, type ServerMsg } from '../src/api/protocol';
import { Store } from '../src/state/store';
import { summary } from './fixtures';

function newStore(): { store: Store; renders: () => number; resyncs: () => number } {
  const store = new Store({ basePath: '/', version: 't', readOnly: false, source: 'cluster' });
  let renders = 0;
  let resyncs = 0;
  store.subscribe(() => renders++);
  store.onListResync = () => resyncs++;
  return { store, renders: () => renders, resyncs: () => resyncs };
}

const rows = (store: Store) =>
  [...store.state.list.rollouts.values()].map((r) => `${r.name}:${r.status}:${r.labels['x'] ?? '-'}`).sort();

// One flush of the server: a new rollout, a patch of it within the same batch (its base is the
// upsert before it), a patch of a snapshot row, a delete.
const flush: ServerMsg[] = [
  { type: 'upsert', seq: 2, rollout: summary({ name: 'c' }) },
  { type: 'patch', seq: 3, base: 1, cluster: 'prod-eu', namespace: 'default', name: 'a', patch: [{ op: 'replace', path: '/status', value: 'Paused' }] },
  { type: 'patch', seq: 4, base: 2, cluster: 'prod-eu', namespace: 'default', name: 'c', patch: [{ op: 'add', path: '/labels/x', value: 'y' }] },
  { type: 'delete', seq: 5, cluster: 'prod-eu', namespace: 'default', name: 'b' },
];
const snapshot: ServerMsg = { type: 'snapshot', seq: 1, rollouts: [summary({ name: 'a' }), summary({ name: 'b' })] };

test('a batch applies its frames in order, as one by one would, and renders once', () => {
  const batched = newStore();
  batched.store.applyFrames([snapshot]);
  const before = batched.renders();
  batched.store.applyFrames([{ type: 'batch', frames: flush }]);
  assert.equal(batched.renders() - before, 1, 'one render for the whole batch');
  assert.deepEqual(rows(batched.store), ['a:Paused:-', 'c:Healthy:y']);
  assert.equal(batched.store.state.list.lastSeq, 5);
  assert.equal(batched.resyncs(), 0, 'every patch fitted');

  const single = newStore();
  single.store.applyFrames([snapshot]);
  for (const f of flush) single.store.applyFrames([f]);
  assert.deepEqual(rows(single.store), rows(batched.store));
  assert.deepEqual([...single.store.state.list.rollouts.values()], [...batched.store.state.list.rollouts.values()]);
});

test('a batch out of order is not reordered: a patch whose base it has not seen asks for a snapshot', () => {
  const { store, resyncs } = newStore();
  store.applyFrames([snapshot]);
  // The patch of c comes before c's upsert: its base (2) is not the copy held.
  store.applyFrames([{ type: 'batch', frames: [flush[2]!, flush[0]!] }]);
  assert.equal(resyncs(), 1);
});

test('a batch message parses into its known frames, never a nested batch', () => {
  const text = JSON.stringify({
    type: 'batch',
    frames: [...flush, { type: 'promote' }, { type: 'batch', frames: [flush[0]] }, 7],
  });
  const msg = parseServerMsg(text);
  assert.equal(msg?.type, 'batch');
  assert.deepEqual(msg?.type === 'batch' ? msg.frames : null, flush);
  assert.equal(parseServerMsg('{"type":"batch"}'), null, 'a batch without frames');
});
