// Whether the Argo Rollouts controller has acted on the latest change to a rollout, and
// since when (on this page) it has not. A change the controller never picks up looks, to the
// person who clicked, like a button that did nothing: the page says so after a while.

/** How long a change may wait for the controller before the page points it out. */
export const UNOBSERVED_AFTER_MS = 30_000;

/** What the page remembers: the generation that is waiting and when it was first seen. */
export interface Unobserved {
  generation: number;
  since: number;
}

/**
 * True when the rollout's `metadata.generation` is newer than `status.observedGeneration`.
 * As upstream does (`isGenerationObserved`), a non-numeric observedGeneration (controllers
 * before v0.10 wrote a hash there) counts as observed, and so does a missing generation.
 */
export function isUnobserved(generation: number | null, observedGeneration: string | null): boolean {
  if (generation === null) return false;
  if (observedGeneration === null || observedGeneration === '') return true;
  if (!/^\d+$/.test(observedGeneration)) return false;
  return Number(observedGeneration) < generation;
}

/**
 * The next remembered state: kept while the same generation waits, restarted for a newer
 * one, cleared once the controller has observed it.
 */
export function trackUnobserved(
  previous: Unobserved | null,
  generation: number | null,
  observedGeneration: string | null,
  now: number,
): Unobserved | null {
  if (generation === null || !isUnobserved(generation, observedGeneration)) return null;
  if (previous && previous.generation === generation) return previous;
  return { generation, since: now };
}

/** Milliseconds the waiting generation has been seen unobserved, once past the threshold. */
export function overdueMs(state: Unobserved | null, now: number): number | null {
  if (!state) return null;
  const waited = now - state.since;
  return waited >= UNOBSERVED_AFTER_MS ? waited : null;
}
