// Which actions apply to a rollout, why not, and how to describe their effect. Pure.
//
// The server decides (src/view/applicability.rs): the detail carries its verdict for every
// action (`RolloutDetail.actions`) and the action API refuses the rest with the same reason.
// `availability` is only for the list, whose rows carry no verdicts: it follows the same rules
// from the summary's fields, and the server has the last word.

import type { ActionVerdict, RolloutSummary } from '../api/protocol';
import { promoteSteps, remainingSteps } from './steps';

export type ActionName =
  | 'promote' | 'promote-full' | 'abort' | 'retry' | 'restart' | 'pause' | 'resume' | 'set-image' | 'undo';

export interface ActionAvailability {
  enabled: boolean;
  /** Why it is disabled (for the title), or what it will do. */
  reason: string;
}

export const ACTION_LABELS: Record<ActionName, string> = {
  promote: 'Promote',
  'promote-full': 'Promote full',
  abort: 'Abort',
  retry: 'Retry',
  restart: 'Restart',
  pause: 'Pause',
  resume: 'Resume',
  'set-image': 'Set image',
  undo: 'Roll back',
};

type R = Pick<RolloutSummary, 'name' | 'status' | 'strategy' | 'stepIndex' | 'stepCount' | 'aborted' | 'paused' | 'pauseReasons' | 'currentPodHash' | 'stableRs' | 'message' | 'pauseKind'>;

/** The action a rollout's main button offers: a person's pause is cleared by Resume (Promote would skip a step). */
export function mainAction(r: Pick<RolloutSummary, 'pauseKind'>): 'resume' | 'promote' {
  return r.pauseKind === 'person' ? 'resume' : 'promote';
}

/** The server's verdict as an availability: its reason when refused, else the effect. */
export function fromVerdict(action: ActionName, r: R, v: ActionVerdict): ActionAvailability {
  return v.enabled ? { enabled: true, reason: describeEffect(action, r) } : { enabled: false, reason: v.reason ?? 'Not applicable now.' };
}

/** True when the update has reached its end: nothing left to promote. */
export function fullyPromoted(r: R): boolean {
  if (r.aborted) return false;
  if (r.status !== 'Healthy') return false;
  return r.currentPodHash === null || r.currentPodHash === r.stableRs;
}

function inUpdate(r: R): boolean {
  return r.status === 'Paused' || r.status === 'Progressing';
}

export function availability(action: ActionName, r: R): ActionAvailability {
  switch (action) {
    case 'promote':
      if (r.aborted) return { enabled: false, reason: 'The update was aborted: use Retry to start it again.' };
      if (!inUpdate(r)) return { enabled: false, reason: `Nothing to promote: the rollout is ${r.status || 'not updating'}.` };
      return { enabled: true, reason: describeEffect('promote', r) };
    case 'promote-full':
      if (r.aborted) return { enabled: false, reason: 'The update was aborted: use Retry to start it again.' };
      if (fullyPromoted(r)) return { enabled: false, reason: 'Nothing to promote: the rollout is fully promoted (Healthy).' };
      if (!inUpdate(r)) return { enabled: false, reason: `Nothing to promote: the rollout is ${r.status || 'not updating'}.` };
      return { enabled: true, reason: describeEffect('promote-full', r) };
    case 'abort':
      if (r.aborted) return { enabled: false, reason: 'Already aborted.' };
      if (!inUpdate(r)) return { enabled: false, reason: `Nothing to abort: the rollout is ${r.status || 'not updating'}.` };
      return { enabled: true, reason: describeEffect('abort', r) };
    case 'retry':
      if (!r.aborted) return { enabled: false, reason: 'Retry restarts an aborted update; this rollout is not aborted.' };
      return { enabled: true, reason: describeEffect('retry', r) };
    case 'pause':
      if (r.paused) return { enabled: false, reason: 'Already paused by a person.' };
      return { enabled: true, reason: describeEffect('pause', r) };
    case 'resume':
      if (!r.paused && r.pauseReasons.length === 0) return { enabled: false, reason: 'The rollout is not paused.' };
      return { enabled: true, reason: describeEffect('resume', r) };
    case 'restart':
    case 'set-image':
    case 'undo':
      return { enabled: true, reason: describeEffect(action, r) };
  }
}

/**
 * The confirmation sentence, in the timeline's numbering, with the steps' names when known:
 * "Promote checkout-api past step 2 “Pause” → step 3 “Set weight 40%”".
 */
export function describeEffect(action: ActionName, r: R, extra?: { image?: string; container?: string; revision?: number }, labels?: readonly string[]): string {
  const canary = r.strategy === 'Canary' && r.stepCount > 0;
  switch (action) {
    case 'promote': {
      const steps = canary ? promoteSteps(r.stepIndex, r.stepCount, labels) : null;
      if (steps) return `Promote ${r.name} ${steps}`;
      if (r.strategy === 'BlueGreen') return `Promote ${r.name}: switch the active service to the preview ReplicaSet`;
      return `Promote ${r.name} to the next step`;
    }
    case 'promote-full': {
      const rest = canary ? remainingSteps(r.stepIndex, r.stepCount, labels) : null;
      return rest
        ? `Promote ${r.name} fully: skip ${rest}, with their pauses and analyses`
        : `Promote ${r.name} fully: skip all remaining steps, pauses and analyses`;
    }
    case 'abort':
      return `Abort the update of ${r.name} and send all traffic back to the stable ReplicaSet`;
    case 'retry':
      return `Retry the aborted update of ${r.name} from the first step`;
    case 'restart':
      return `Restart every pod of ${r.name} (one by one, as the strategy allows)`;
    case 'pause':
      return `Pause ${r.name}: it stays at its current step until resumed`;
    case 'resume':
      return `Resume ${r.name}: clear the pause without skipping a step`;
    case 'set-image':
      return `Set the image of container ${extra?.container ?? '?'} of ${r.name} to ${extra?.image ?? '?'} (starts a new update)`;
    case 'undo':
      return `Roll ${r.name} back to revision ${extra?.revision ?? 'previous'} (starts a new update with that template)`;
  }
}

/** Body of an action request. */
export interface ActionBody {
  seen: { resourceVersion: string; stepIndex: number | null; podHash: string | null };
  container?: string;
  image?: string;
  revision?: number;
}

export function seenOf(r: Pick<RolloutSummary, 'resourceVersion' | 'stepIndex' | 'currentPodHash'>): ActionBody['seen'] {
  return { resourceVersion: r.resourceVersion, stepIndex: r.stepIndex, podHash: r.currentPodHash };
}
