// The list store's pure reducer: applies snapshot/upsert/delete frames under the seq rule
// (a change is applied only when its seq is newer than the last snapshot's).

import { rolloutKey, type RolloutSummary, type ServerMsg } from '../api/protocol';

export interface ListState {
  /** `seq` of the last snapshot; `null` until the first snapshot arrives. */
  snapshotSeq: number | null;
  /** Highest seq applied (snapshot or change). */
  lastSeq: number;
  /** Rollouts by `namespace/name`. Replaced (never mutated) on every applied batch. */
  rollouts: ReadonlyMap<string, RolloutSummary>;
  /** Bumped on every applied change, to memoize derived lists cheaply. */
  version: number;
}

export const emptyListState: ListState = {
  snapshotSeq: null,
  lastSeq: 0,
  rollouts: new Map(),
  version: 0,
};

export type ListFrame = Extract<ServerMsg, { type: 'snapshot' | 'upsert' | 'delete' }>;

/** Applies a batch of frames in order. Returns the same object when nothing changed. */
export function applyListFrames(state: ListState, frames: readonly ListFrame[]): ListState {
  let map: Map<string, RolloutSummary> | null = null;
  let snapshotSeq = state.snapshotSeq;
  let lastSeq = state.lastSeq;
  let changed = false;
  for (const frame of frames) {
    if (frame.type === 'snapshot') {
      map = new Map();
      for (const r of frame.rollouts) map.set(rolloutKey(r.namespace, r.name), r);
      snapshotSeq = frame.seq;
      lastSeq = frame.seq;
      changed = true;
      continue;
    }
    // Changes before the first snapshot, or not newer than it, are dropped.
    if (snapshotSeq === null || frame.seq <= snapshotSeq) continue;
    if (map === null) map = new Map(state.rollouts);
    if (frame.type === 'upsert') {
      map.set(rolloutKey(frame.rollout.namespace, frame.rollout.name), frame.rollout);
    } else {
      map.delete(rolloutKey(frame.namespace, frame.name));
    }
    lastSeq = Math.max(lastSeq, frame.seq);
    changed = true;
  }
  if (!changed || map === null) return state;
  return { snapshotSeq, lastSeq, rollouts: map, version: state.version + 1 };
}

/** Forgets everything (a new subscription): the next snapshot starts over. */
export function resetListState(): ListState {
  return { ...emptyListState, rollouts: new Map() };
}
