import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UNOBSERVED_AFTER_MS, isUnobserved, overdueMs, trackUnobserved } from '../src/lib/unobserved';

test('a generation newer than the observed one is unobserved', () => {
  assert.equal(isUnobserved(9, '8'), true);
  assert.equal(isUnobserved(9, '9'), false);
  assert.equal(isUnobserved(9, '10'), false);
  assert.equal(isUnobserved(3, null), true);
  assert.equal(isUnobserved(3, ''), true);
});

test('legacy hash observedGeneration and a missing generation count as observed', () => {
  assert.equal(isUnobserved(4, '6b8c9f7d4c'), false);
  assert.equal(isUnobserved(null, '2'), false);
  assert.equal(isUnobserved(null, null), false);
});

test('the waiting time runs per generation and is cleared once observed', () => {
  let s = trackUnobserved(null, 9, '8', 1_000);
  assert.deepEqual(s, { generation: 9, since: 1_000 });
  s = trackUnobserved(s, 9, '8', 20_000);
  assert.deepEqual(s, { generation: 9, since: 1_000 }, 'the same generation keeps its start');
  assert.equal(overdueMs(s, 1_000 + UNOBSERVED_AFTER_MS - 1), null);
  assert.equal(overdueMs(s, 1_000 + UNOBSERVED_AFTER_MS + 5_000), UNOBSERVED_AFTER_MS + 5_000);
  s = trackUnobserved(s, 10, '8', 40_000);
  assert.deepEqual(s, { generation: 10, since: 40_000 }, 'a newer change starts again');
  assert.equal(overdueMs(s, 45_000), null);
  s = trackUnobserved(s, 10, '10', 50_000);
  assert.equal(s, null);
  assert.equal(overdueMs(s, 500_000), null);
});
