// How long a rollout has been waiting (issue #15.7): paused (for promotion, in a timed pause, by
// a person, on an inconclusive analysis) or Degraded, and since when. Pure: `now` is passed in.
import type { ConditionView, PauseConditionView, RolloutSummary } from '../api/protocol';
import { formatDuration, parseTime } from './format';

/** What the rollout waits on, and since when (ms since epoch). */
export interface Waiting {
  /** Lower-case words that read before "for 4m 12s": `waiting for promotion`, `Degraded`. */
  what: string;
  since: number;
}

export interface WaitingInput {
  summary: Pick<RolloutSummary, 'status' | 'pauseKind' | 'attentionKind' | 'aborted'>;
  pauseConditions: readonly PauseConditionView[];
  conditions: readonly ConditionView[];
  abortedAt?: string | null;
}

const PAUSE_STEP = ['CanaryPauseStep', 'BlueGreenPause'];
const INCONCLUSIVE = ['InconclusiveAnalysis', 'InconclusiveExperiment'];

/** The earliest start of the pause conditions with one of `reasons` (any reason when omitted). */
function pausedSince(pcs: readonly PauseConditionView[], reasons?: readonly string[]): number | null {
  let first: number | null = null;
  for (const pc of pcs) {
    if (reasons && !reasons.includes(pc.reason)) continue;
    const t = parseTime(pc.startTime);
    if (t !== null && (first === null || t < first)) first = t;
  }
  return first;
}

/** The last transition of the first condition that matches. */
function conditionSince(conditions: readonly ConditionView[], match: (c: ConditionView) => boolean): number | null {
  const c = conditions.find(match);
  return c ? parseTime(c.lastTransitionTime) : null;
}

/** The first of the candidates that is known. */
function firstKnown(...candidates: (() => number | null)[]): number | null {
  for (const c of candidates) {
    const t = c();
    if (t !== null) return t;
  }
  return null;
}

/**
 * Since when the rollout has been waiting, from the times the controller wrote: a pause from
 * its pause condition's `startTime` (a person's pause, which has none upstream, from the
 * `Paused` condition), Degraded from the condition that made it so (the abort, the
 * `Progressing` condition turned False, an `InvalidSpec` or `ReplicaFailure`). Null when it is
 * not waiting or no time is known.
 */
export function waitingSince(d: WaitingInput): Waiting | null {
  const s = d.summary;
  const pcs = d.pauseConditions;
  const conds = d.conditions;
  const pausedCondition = () => conditionSince(conds, (c) => c.type === 'Paused' && c.status === 'True');
  if (s.status === 'Degraded') {
    const aborted = s.aborted || s.attentionKind === 'aborted';
    const since = firstKnown(
      () => (aborted ? firstKnown(() => parseTime(d.abortedAt), () => conditionSince(conds, (c) => c.reason === 'RolloutAborted')) : null),
      () => conditionSince(conds, (c) => c.type === 'Progressing' && c.status === 'False'),
      () => conditionSince(conds, (c) => c.type === 'InvalidSpec' && c.status === 'True'),
      () => conditionSince(conds, (c) => c.type === 'ReplicaFailure' && c.status === 'True'),
      () => conditionSince(conds, (c) => c.type === 'Available' && c.status === 'False'),
    );
    return since === null ? null : { what: 'Degraded', since };
  }
  if (s.status !== 'Paused') return null;
  const any = () => pausedSince(pcs);
  const at = (what: string, ...candidates: (() => number | null)[]): Waiting | null => {
    const since = firstKnown(...candidates, any, pausedCondition);
    return since === null ? null : { what, since };
  };
  switch (s.pauseKind) {
    case 'promotion':
      return at('waiting for promotion', () => pausedSince(pcs, PAUSE_STEP));
    case 'timed':
      return at('in this pause', () => pausedSince(pcs, PAUSE_STEP));
    case 'inconclusive':
      return at('waiting for a decision on the inconclusive analysis', () => pausedSince(pcs, INCONCLUSIVE));
    case 'person':
      return at('paused by a person', () => pausedSince(pcs, ['PausedByUser']));
    default:
      return at('paused');
  }
}

/** "waiting for promotion for 4m 12s": always a time already passed (a start ahead of `now` reads 0s). */
export function describeWaiting(w: Waiting, now: number): string {
  return `${w.what} for ${formatDuration((now - w.since) / 1000)}`;
}
