import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WaitingKind } from '../src/api/protocol';
import { imageSuggestions, repositoryOf } from '../src/lib/images';
import { describeWaiting, shortWaiting, waitingSince } from '../src/lib/waiting';

const T = Date.parse('2026-11-30T06:58:33Z');

// The rule (which pause condition or condition dates the wait) is the server's: src/view/waiting.rs.
test('waiting: the server\'s kind in words, ticking, never "in …"', () => {
  const w = waitingSince({ waiting: { kind: 'promotion', since: '2026-11-30T06:58:33Z' } });
  assert.deepEqual(w, { what: 'waiting for promotion', since: T });
  assert.equal(describeWaiting(w!, T + 252_000), 'waiting for promotion for 4m 12s');
  assert.equal(describeWaiting(w!, T + 253_900), 'waiting for promotion for 4m 13s');
  // A start ahead of this browser's clock (cluster clock skew) reads 0s, not "in 3s".
  assert.equal(describeWaiting(w!, T - 3000), 'waiting for promotion for 0s');
  assert.equal(shortWaiting(w!, T + 252_000), 'waiting 4m 12s');
  const kinds: [WaitingKind, string, string][] = [
    ['pause', 'in this pause', 'waiting'],
    ['inconclusive', 'waiting for a decision on the inconclusive analysis', 'waiting'],
    ['person', 'paused by a person', 'paused'],
    ['paused', 'paused', 'paused'],
    ['degraded', 'Degraded', 'Degraded'],
  ];
  for (const [kind, what, short] of kinds) {
    const k = waitingSince({ waiting: { kind, since: '2026-11-30T06:58:33Z' } });
    assert.equal(k?.what, what);
    assert.equal(shortWaiting(k!, T + 3_725_000).split(' ')[0], short);
  }
  assert.equal(describeWaiting(waitingSince({ waiting: { kind: 'degraded', since: '2026-11-30T06:58:33Z' } })!, T + 3_725_000), 'Degraded for 1h 02m');
  // Not waiting, or no valid time: nothing said.
  assert.equal(waitingSince({ waiting: null }), null);
  assert.equal(waitingSince({ waiting: { kind: 'promotion', since: 'not a time' } }), null);
});

test('image suggestions: earlier revisions newest first, once each, without the images set now', () => {
  const revisions = [
    { revision: 3, images: [{ image: 'ghcr.io/demo/app:2.0' }, { image: 'ghcr.io/demo/sidecar:1.1' }] },
    { revision: 1, images: [{ image: 'ghcr.io/demo/app:1.0' }, { image: 'ghcr.io/demo/sidecar:1.0' }] },
    { revision: 2, images: [{ image: 'ghcr.io/demo/app:1.5' }, { image: 'ghcr.io/demo/app:1.0' }] },
  ];
  assert.deepEqual(imageSuggestions(revisions, 'ghcr.io/demo/app:2.0', ['ghcr.io/demo/sidecar:1.1']), ['ghcr.io/demo/app:1.5', 'ghcr.io/demo/app:1.0', 'ghcr.io/demo/sidecar:1.0']);
  // For the sidecar, its own repository first.
  assert.deepEqual(imageSuggestions(revisions, 'ghcr.io/demo/sidecar:1.1', ['ghcr.io/demo/app:2.0']), ['ghcr.io/demo/sidecar:1.0', 'ghcr.io/demo/app:1.5', 'ghcr.io/demo/app:1.0']);
  assert.deepEqual(imageSuggestions([], 'x:1'), []);
  assert.deepEqual(imageSuggestions([{ revision: 1, images: [{ image: 'x:1' }] }], 'x:1'), []);
  assert.equal(repositoryOf('registry.internal:5000/payments/ledger:2026.11.2'), 'registry.internal:5000/payments/ledger');
  assert.equal(repositoryOf('registry.internal:5000/payments/ledger'), 'registry.internal:5000/payments/ledger');
  assert.equal(repositoryOf('nginx@sha256:abc'), 'nginx');
});
