import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ellipsizeMiddle, formatCountdown, formatDuration, formatRelative, parseTime, secondsLeft, splitImage } from '../src/lib/format';

test('durations', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(42.9), '42s');
  assert.equal(formatDuration(65), '1m 05s');
  assert.equal(formatDuration(3600 + 180), '1h 03m');
  assert.equal(formatDuration(86400 * 2 + 3600 * 5), '2d 5h');
  assert.equal(formatDuration(-5), '0s');
});

test('relative times', () => {
  const now = 1_000_000_000;
  assert.equal(formatRelative(now - 2000, now), 'just now');
  assert.equal(formatRelative(now - 30_000, now), '30s ago');
  assert.equal(formatRelative(now - 5 * 60_000, now), '5m ago');
  assert.equal(formatRelative(now - 3 * 3600_000, now), '3h ago');
  assert.equal(formatRelative(now - 2 * 86400_000, now), '2d ago');
  assert.equal(formatRelative(now + 90_000, now), 'in 1m');
});

test('countdowns', () => {
  const until = Date.UTC(2024, 0, 1, 12, 3, 10);
  const s = formatCountdown('Paused until', until, until - 42_000);
  assert.match(s, /^Paused until \d\d:\d\d:10 · 42s left$/);
  assert.match(formatCountdown('Paused until', until, until + 1000), /due now$/);
  assert.equal(secondsLeft(until, until - 1500), 2);
  assert.equal(secondsLeft(until, until + 1500), 0);
});

test('parseTime', () => {
  assert.equal(parseTime('2024-01-01T00:00:00Z'), Date.UTC(2024, 0, 1));
  assert.equal(parseTime('nonsense'), null);
  assert.equal(parseTime(null), null);
});

test('image and string helpers', () => {
  assert.deepEqual(splitImage('argoproj/rollouts-demo:blue'), { repo: 'argoproj/rollouts-demo', tag: 'blue' });
  assert.deepEqual(splitImage('localhost:5000/app'), { repo: 'localhost:5000/app', tag: 'latest' });
  assert.deepEqual(splitImage('nginx@sha256:abc'), { repo: 'nginx', tag: '@sha256:abc' });
  assert.equal(ellipsizeMiddle('abcdefghij', 5), 'ab…ij');
  assert.equal(ellipsizeMiddle('abc', 5), 'abc');
});
