// How long a rollout has been waiting (issue #15.7): paused (for promotion, in a timed pause, by
// a person, on an inconclusive analysis) or Degraded, and since when. The rule lives on the
// server (src/view/waiting.rs), which sends `summary.waiting` for the list row and the detail
// alike; here it is only put in words. Pure: `now` is passed in.
import type { RolloutSummary, WaitingKind } from '../api/protocol';
import { formatDuration, parseTime } from './format';

/** What the rollout waits on, and since when (ms since epoch). */
export interface Waiting {
  /** Lower-case words that read before "for 4m 12s": `waiting for promotion`, `Degraded`. */
  what: string;
  since: number;
}

const WHAT: Record<WaitingKind, string> = {
  promotion: 'waiting for promotion',
  pause: 'in this pause',
  inconclusive: 'waiting for a decision on the inconclusive analysis',
  person: 'paused by a person',
  paused: 'paused',
  degraded: 'Degraded',
};

/** Since when the rollout has been waiting, as the server found it; null when it is not or no time is known. */
export function waitingSince(s: Pick<RolloutSummary, 'waiting'>): Waiting | null {
  const w = s.waiting;
  const since = parseTime(w?.since);
  if (!w || since === null) return null;
  return { what: WHAT[w.kind] ?? 'waiting', since };
}

/** "waiting for promotion for 4m 12s": always a time already passed (a start ahead of `now` reads 0s). */
export function describeWaiting(w: Waiting, now: number): string {
  return `${w.what} for ${formatDuration((now - w.since) / 1000)}`;
}

/** The list row's short form: "waiting 4m 12s", "Degraded 1h 02m". */
export function shortWaiting(w: Waiting, now: number): string {
  const word = w.what === 'Degraded' ? 'Degraded' : w.what.startsWith('paused') ? 'paused' : 'waiting';
  return `${word} ${formatDuration((now - w.since) / 1000)}`;
}
