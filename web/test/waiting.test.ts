import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConditionView } from '../src/api/protocol';
import { imageSuggestions, repositoryOf } from '../src/lib/images';
import { describeWaiting, waitingSince, type WaitingInput } from '../src/lib/waiting';

const T = Date.parse('2026-11-30T06:58:33Z');

function cond(type: string, status: string, reason: string, at: string): ConditionView {
  return { type, status, reason, message: null, lastTransitionTime: at, lastUpdateTime: at };
}

function input(over: Partial<WaitingInput['summary']>, rest: Partial<Omit<WaitingInput, 'summary'>> = {}): WaitingInput {
  return {
    summary: { status: 'Paused', pauseKind: 'promotion', attentionKind: null, aborted: false, ...over },
    pauseConditions: [],
    conditions: [],
    ...rest,
  };
}

test('waiting for promotion: from the pause step condition, ticking, never "in …"', () => {
  const d = input(
    { pauseKind: 'promotion', attentionKind: 'waitingForPromotion' },
    {
      pauseConditions: [{ reason: 'CanaryPauseStep', startTime: '2026-11-30T06:58:33Z' }],
      conditions: [cond('Progressing', 'True', 'ReplicaSetUpdated', '2026-11-30T06:58:27Z')],
    },
  );
  const w = waitingSince(d);
  assert.deepEqual(w, { what: 'waiting for promotion', since: T });
  assert.equal(describeWaiting(w!, T + 252_000), 'waiting for promotion for 4m 12s');
  assert.equal(describeWaiting(w!, T + 253_900), 'waiting for promotion for 4m 13s');
  // A start ahead of this browser's clock (cluster clock skew) reads 0s, not "in 3s".
  assert.equal(describeWaiting(w!, T - 3000), 'waiting for promotion for 0s');
  // A blue-green's pause.
  const bg = input({ pauseKind: 'promotion' }, { pauseConditions: [{ reason: 'BlueGreenPause', startTime: '2026-11-30T06:58:31Z' }] });
  assert.equal(describeWaiting(waitingSince(bg)!, T + 60_000), 'waiting for promotion for 1m 02s');
});

test('the pause that matches the kind wins over an earlier other one; timed, inconclusive, person, other', () => {
  const pcs = [
    { reason: 'PausedByUser', startTime: '2026-11-30T06:50:00Z' },
    { reason: 'CanaryPauseStep', startTime: '2026-11-30T06:58:33Z' },
  ];
  assert.equal(waitingSince(input({ pauseKind: 'promotion' }, { pauseConditions: pcs }))?.since, T);
  assert.equal(waitingSince(input({ pauseKind: 'timed' }, { pauseConditions: pcs }))?.what, 'in this pause');
  assert.deepEqual(waitingSince(input({ pauseKind: 'person' }, { pauseConditions: pcs })), { what: 'paused by a person', since: Date.parse('2026-11-30T06:50:00Z') });
  const inc = waitingSince(input({ pauseKind: 'inconclusive' }, { pauseConditions: [{ reason: 'InconclusiveAnalysis', startTime: '2026-11-30T06:58:33Z' }] }));
  assert.equal(inc?.what, 'waiting for a decision on the inconclusive analysis');
  assert.equal(waitingSince(input({ pauseKind: 'other' }, { pauseConditions: [{ reason: 'Something', startTime: '2026-11-30T06:58:33Z' }] }))?.what, 'paused');
  // A person's pause without a pause condition: the Paused condition's transition.
  const person = waitingSince(input({ pauseKind: 'person' }, { conditions: [cond('Paused', 'True', 'RolloutPaused', '2026-11-30T06:58:33Z')] }));
  assert.deepEqual(person, { what: 'paused by a person', since: T });
  // No time known: nothing said.
  assert.equal(waitingSince(input({ pauseKind: 'person' })), null);
  assert.equal(waitingSince(input({ pauseKind: 'promotion' }, { pauseConditions: [{ reason: 'CanaryPauseStep', startTime: null }] })), null);
});

test('Degraded: since the abort, the Progressing condition turned False, or the InvalidSpec', () => {
  const aborted = input(
    { status: 'Degraded', pauseKind: null, attentionKind: 'aborted', aborted: true },
    { conditions: [cond('Progressing', 'False', 'RolloutAborted', '2026-11-30T06:58:35Z')], abortedAt: '2026-11-30T06:58:34Z' },
  );
  assert.deepEqual(waitingSince(aborted), { what: 'Degraded', since: Date.parse('2026-11-30T06:58:34Z') });
  assert.equal(waitingSince({ ...aborted, abortedAt: null })?.since, Date.parse('2026-11-30T06:58:35Z'));
  const deadline = input(
    { status: 'Degraded', pauseKind: null, attentionKind: 'degraded' },
    { conditions: [cond('Available', 'True', 'AvailableReason', '2026-11-30T06:00:00Z'), cond('Progressing', 'False', 'ProgressDeadlineExceeded', '2026-11-30T06:58:33Z')] },
  );
  assert.equal(describeWaiting(waitingSince(deadline)!, T + 3_725_000), 'Degraded for 1h 02m');
  const invalid = input(
    { status: 'Degraded', pauseKind: null, attentionKind: 'degraded' },
    { conditions: [cond('Available', 'True', 'AvailableReason', '2026-11-30T06:53:30Z'), cond('InvalidSpec', 'True', 'InvalidSpec', '2026-11-30T06:58:33Z')] },
  );
  assert.equal(waitingSince(invalid)?.since, T);
  assert.equal(waitingSince(input({ status: 'Degraded', pauseKind: null }, { conditions: [cond('Available', 'True', 'AvailableReason', '2026-11-30T06:53:30Z')] })), null);
});

test('not waiting: Healthy and Progressing say nothing, even with stale pause conditions', () => {
  const pcs = [{ reason: 'CanaryPauseStep', startTime: '2026-11-30T06:58:33Z' }];
  assert.equal(waitingSince(input({ status: 'Healthy', pauseKind: null }, { pauseConditions: pcs })), null);
  assert.equal(waitingSince(input({ status: 'Progressing', pauseKind: null }, { pauseConditions: pcs })), null);
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
