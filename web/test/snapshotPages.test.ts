import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { applyPaging, gunzipText, type PagingFrame } from '../src/lib/snapshotPages';
import { Store } from '../src/state/store';
import { summary } from './fixtures';

const begin = (seq: number, pages: number): PagingFrame => ({ type: 'snapshotBegin', seq, total: pages, pages, encoding: 'gzip' });
const page = (seq: number, index: number, ...names: string[]): PagingFrame => ({
  type: 'snapshotPage',
  seq,
  index,
  rollouts: names.map((name) => summary({ name })),
});
const end = (seq: number): PagingFrame => ({ type: 'snapshotEnd', seq });

function newStore(): { store: Store; resyncs: () => number } {
  const store = new Store({ basePath: '/', version: 't', readOnly: false, source: 'cluster' });
  let n = 0;
  store.onListResync = () => n++;
  return { store, resyncs: () => n };
}

const names = (store: Store) => [...store.state.list.rollouts.values()].map((r) => r.name);

test('pages in order add up to the snapshot at its end', () => {
  let step = applyPaging(null, begin(7, 2), false);
  assert.equal(step.snapshot, null);
  step = applyPaging(step.paging, page(7, 0, 'a', 'b'), false);
  assert.equal(step.snapshot, null, 'not progressive: nothing shown before the end');
  step = applyPaging(step.paging, page(7, 1, 'c'), false);
  step = applyPaging(step.paging, end(7), false);
  assert.equal(step.broken, false);
  assert.equal(step.paging, null);
  assert.equal(step.snapshot?.seq, 7);
  assert.deepEqual(step.snapshot?.rollouts.map((r) => r.name), ['a', 'b', 'c']);
});

test('progressive: each page shows what the pages so far hold', () => {
  let step = applyPaging(null, begin(3, 2), true);
  step = applyPaging(step.paging, page(3, 0, 'urgent'), false);
  assert.deepEqual(step.snapshot?.rollouts.map((r) => r.name), ['urgent']);
  step = applyPaging(step.paging, page(3, 1, 'calm'), false);
  assert.deepEqual(step.snapshot?.rollouts.map((r) => r.name), ['urgent', 'calm']);
});

test('a missing, repeated or foreign page breaks the snapshot', () => {
  const started = applyPaging(null, begin(5, 2), false).paging;
  assert.equal(applyPaging(started, page(5, 1, 'x'), false).broken, true, 'page 0 skipped');
  assert.equal(applyPaging(started, page(6, 0, 'x'), false).broken, true, 'another snapshot');
  assert.equal(applyPaging(null, page(5, 0, 'x'), false).broken, true, 'no begin');
  assert.equal(applyPaging(started, end(5), false).broken, true, 'ended before its pages');
  const one = applyPaging(started, page(5, 0, 'x'), false).paging;
  assert.equal(applyPaging(one, page(5, 0, 'x'), false).broken, true, 'page 0 twice');
});

test('the store paints the first page of the first snapshot, then the whole list', () => {
  const { store, resyncs } = newStore();
  store.applyFrames([begin(4, 2), page(4, 0, 'a')]);
  assert.deepEqual(names(store), ['a']);
  assert.equal(store.state.everHadSnapshot, true);
  store.applyFrames([page(4, 1, 'b'), end(4), { type: 'upsert', seq: 5, rollout: summary({ name: 'c' }) }]);
  assert.deepEqual(names(store).sort(), ['a', 'b', 'c']);
  assert.equal(store.state.list.snapshotSeq, 4);
  assert.equal(resyncs(), 0);
});

test('a resync keeps the list shown until the whole fresh snapshot is in', () => {
  const { store, resyncs } = newStore();
  store.applyFrames([begin(4, 1), page(4, 0, 'old'), end(4)]);
  store.applyFrames([begin(9, 2), page(9, 0, 'new1')]);
  assert.deepEqual(names(store), ['old']);
  store.applyFrames([page(9, 1, 'new2'), end(9)]);
  assert.deepEqual(names(store), ['new1', 'new2']);
  assert.equal(store.state.list.snapshotSeq, 9);
  assert.equal(resyncs(), 0);
});

test('broken pages make the store ask for a fresh snapshot', () => {
  const { store, resyncs } = newStore();
  store.applyFrames([begin(4, 2), page(4, 1, 'b')]);
  assert.equal(resyncs(), 1);
});

test('a compressed page decompresses to its JSON', async () => {
  const json = JSON.stringify(page(1, 0, 'a'));
  const gz = gzipSync(json);
  const body = gz.buffer.slice(gz.byteOffset, gz.byteOffset + gz.byteLength) as ArrayBuffer;
  assert.equal(await gunzipText(body), json);
});
