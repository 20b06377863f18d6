// The failing metric behind an abort, read from the controller's message. Pure.
//
// Upstream's abort message reads: `Rollout aborted update to revision 2: Metric "error-rate"
// assessed Failed due to failed (3) > failureLimit (2)`; the analysis run says the same from
// `Metric "…"` on.

export interface FailingMetric {
  metric: string;
  /** `Failed`, `Error`, `Inconclusive`. */
  phase: string;
  /** `failed (3) > failureLimit (2)`, when the message says. */
  why: string | null;
}

/** The metric named in a controller message, or null. */
export function failingMetric(message: string | null | undefined): FailingMetric | null {
  if (!message) return null;
  const m = /Metric "([^"]+)" assessed (\w+)(?: due to ([^;]+?))?\s*(?:;|$)/.exec(message);
  if (!m || !m[1] || !m[2]) return null;
  return { metric: m[1], phase: m[2], why: m[3]?.trim() || null };
}

/** `failed (3) > failureLimit (2)` → `3 failed > limit 2`; anything else unchanged. */
export function shortWhy(why: string): string {
  const m = /^(\w+) \((\d+)\) > (\w+)Limit \((\d+)\)$/.exec(why);
  return m ? `${m[2]} ${m[1]} > limit ${m[4]}` : why;
}

// ---- the order of a rollout's images and ReplicaSets ------------------------------------

/** Stable (or active) first, then canary/preview, then the rest: the same order for images and pods. */
export function roleRank(roles: readonly string[]): number {
  if (roles.includes('stable') || roles.includes('active')) return 0;
  if (roles.includes('canary') || roles.includes('preview')) return 1;
  return 2;
}

/** Sorts by role rank, keeping the given order (newest revision first) within a rank. */
export function byRole<T>(items: readonly T[], roles: (t: T) => readonly string[]): T[] {
  return items
    .map((t, i) => ({ t, i, k: roleRank(roles(t)) }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map((x) => x.t);
}
