// One numbering of canary steps for the whole page. Pure.
//
// Upstream's `status.currentStepIndex` is the 0-based index of the step being executed, so
// `kubectl argo rollouts` prints "Step: 1/8" while the rollout is at the second step of the
// list. The timeline numbers steps from 1; everything the page writes about a step (header,
// dialogs, out-of-date messages) uses the timeline's number and the step's name, and names
// upstream's figure "1/8 done" where it shows it.

/** Timeline number (1-based) of the step the rollout is at; null without steps, or when every step is done. */
export function currentStepNumber(stepIndex: number | null, stepCount: number): number | null {
  if (stepIndex === null || stepCount <= 0 || stepIndex >= stepCount) return null;
  return Math.max(0, stepIndex) + 1;
}

/** `step 3 “Set weight 60%”` (or `step 3` when the step's label is unknown). */
export function stepName(num: number, labels?: readonly string[]): string {
  const label = labels?.[num - 1];
  return label ? `step ${num} “${label}”` : `step ${num}`;
}

/** Where the rollout is, in the timeline's words: `Step 2 of 8`, `All 8 steps done`; null without steps. */
export function stepPosition(stepIndex: number | null, stepCount: number): string | null {
  if (stepCount <= 0) return null;
  const cur = currentStepNumber(stepIndex, stepCount);
  if (cur !== null) return `Step ${cur} of ${stepCount}`;
  return stepIndex !== null && stepIndex >= stepCount ? `All ${stepCount} steps done` : null;
}

/** Upstream's own figure, named: `1/8 done`. */
export function upstreamStepFigure(stepIndex: number | null, stepCount: number): string | null {
  if (stepCount <= 0) return null;
  return `${stepIndex === null ? '–' : Math.min(Math.max(0, stepIndex), stepCount)}/${stepCount} done`;
}

/** What promoting does to the steps: `past step 2 “Pause” → step 3 “Set weight 40%”`. */
export function promoteSteps(stepIndex: number | null, stepCount: number, labels?: readonly string[]): string | null {
  const cur = currentStepNumber(stepIndex, stepCount);
  if (cur === null) return null;
  if (cur >= stepCount) return `past ${stepName(cur, labels)}, the last step → fully promoted`;
  return `past ${stepName(cur, labels)} → ${stepName(cur + 1, labels)}`;
}

/** The steps promote-full skips: `steps 2 “Pause” to 8 “Pause 30s”`. */
export function remainingSteps(stepIndex: number | null, stepCount: number, labels?: readonly string[]): string | null {
  const cur = currentStepNumber(stepIndex, stepCount);
  if (cur === null) return null;
  if (cur === stepCount) return stepName(cur, labels);
  const last = labels?.[stepCount - 1];
  return `${stepName(cur, labels).replace(/^step/, 'steps')} to ${stepCount}${last ? ` “${last}”` : ''}`;
}

/**
 * One change reported by the server's out-of-date check (src/actions/plan.rs `check_stale`),
 * told in the page's words: its "step moved from 1 to 3" (currentStepIndex values) becomes
 * "it moved on from step 2 “Pause” to step 4 “Pause 20s”".
 */
export function describeStaleChange(change: string, stepCount: number, labels?: readonly string[]): string {
  const step = /^step moved from (-?\d+) to (-?\d+)$/.exec(change);
  if (step) {
    const at = (i: number) => {
      const n = currentStepNumber(i, stepCount);
      return n === null ? (i >= stepCount && stepCount > 0 ? 'the end (all steps done)' : `step index ${i}`) : stepName(n, labels);
    };
    return `it moved on from ${at(Number(step[1]))} → ${at(Number(step[2]))}`;
  }
  const hash = /^pod hash changed from (\S+) to (\S+)$/.exec(change);
  if (hash) return hash[2] === 'none' ? `its update ended (pod template hash ${hash[1]} → none)` : `a new revision started (pod template hash ${hash[1]} → ${hash[2]})`;
  const rv = /^resourceVersion changed from (\S+) to (\S+)$/.exec(change);
  if (rv) return `it was changed (resourceVersion ${rv[1]} → ${rv[2]})`;
  return change;
}

/**
 * Restates the server's sentences in the timeline's numbering: its "step 1/8" (upstream's
 * currentStepIndex notation, e.g. "Current step 1/8: Pause until promoted") becomes
 * "step 2 of 8", the number the timeline gives that step.
 */
export function restateSteps(text: string): string {
  return text
    .replace(/\bCurrent step (\d+)\/(\d+): /g, (_m, i: string, n: string) => `At ${timelineOf(Number(i), Number(n))}: `)
    .replace(/\bstep (\d+)\/(\d+)\b/g, (_m, i: string, n: string) => timelineOf(Number(i), Number(n)));
}

function timelineOf(i: number, n: number): string {
  return i < n ? `step ${i + 1} of ${n}` : `the end (all ${n} steps done)`;
}
