import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseThresholds, thresholdHolds } from '../src/lib/thresholds';

test('parses simple comparisons', () => {
  assert.deepEqual(parseThresholds('result[0] >= 0.95'), [{ key: 'result[0]', op: '>=', value: 0.95 }]);
  assert.deepEqual(parseThresholds('result < 100'), [{ key: 'result', op: '<', value: 100 }]);
  assert.deepEqual(parseThresholds('0.9 < result'), [{ key: 'result', op: '>', value: 0.9 }]);
  assert.deepEqual(parseThresholds('result.p99 <= 250 && result.p50 > 1e1'), [
    { key: 'result.p99', op: '<=', value: 250 },
    { key: 'result.p50', op: '>', value: 10 },
  ]);
});

test('skips what it cannot parse', () => {
  assert.deepEqual(parseThresholds('len(result) > 0'), []);
  assert.deepEqual(parseThresholds('result == "ok"'), []);
  assert.deepEqual(parseThresholds('result >= {{args.x}}'), []);
  assert.deepEqual(parseThresholds(null), []);
  assert.deepEqual(parseThresholds('(result[0] > 5) || result[0] < -1'), [
    { key: 'result[0]', op: '>', value: 5 },
    { key: 'result[0]', op: '<', value: -1 },
  ]);
});

test('thresholdHolds', () => {
  assert.equal(thresholdHolds({ key: 'r', op: '>=', value: 1 }, 1), true);
  assert.equal(thresholdHolds({ key: 'r', op: '<', value: 1 }, 1), false);
  assert.equal(thresholdHolds({ key: 'r', op: '!=', value: 1 }, 2), true);
});
