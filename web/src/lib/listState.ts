// The list store's pure reducer: applies snapshot/upsert/patch/delete frames under the seq rule
// (a change is applied only when its seq is newer than the last snapshot's). A patch applies
// only to the exact version it was made from; anything else asks for a fresh snapshot.

import { rolloutKey, type RolloutSummary, type ServerMsg } from '../api/protocol';
import { applyJsonPatch } from './jsonPatch';

export interface ListState {
  /** `seq` of the last snapshot; `null` until the first snapshot arrives. */
  snapshotSeq: number | null;
  /** Highest seq applied (snapshot or change). */
  lastSeq: number;
  /** Rollouts by `namespace/name`. Replaced (never mutated) on every applied batch. */
  rollouts: ReadonlyMap<string, RolloutSummary>;
  /**
   * `seq` of the frame each rollout's copy came from, for copies newer than the snapshot
   * (a copy from the snapshot is the version current at `snapshotSeq`).
   */
  versions: ReadonlyMap<string, number>;
  /** A patch did not fit the copy held: the list must be re-subscribed for a fresh snapshot. */
  resyncNeeded: boolean;
  /** Bumped on every applied change, to memoize derived lists cheaply. */
  version: number;
}

export const emptyListState: ListState = {
  snapshotSeq: null,
  lastSeq: 0,
  rollouts: new Map(),
  versions: new Map(),
  resyncNeeded: false,
  version: 0,
};

export type ListFrame = Extract<ServerMsg, { type: 'snapshot' | 'upsert' | 'patch' | 'delete' }>;

/** Applies a batch of frames in order. Returns the same object when nothing changed. */
export function applyListFrames(state: ListState, frames: readonly ListFrame[]): ListState {
  let map: Map<string, RolloutSummary> | null = null;
  let versions: Map<string, number> | null = null;
  let snapshotSeq = state.snapshotSeq;
  let lastSeq = state.lastSeq;
  let resyncNeeded = state.resyncNeeded;
  let changed = false;
  for (const frame of frames) {
    if (frame.type === 'snapshot') {
      map = new Map();
      for (const r of frame.rollouts) map.set(rolloutKey(r.namespace, r.name), r);
      versions = new Map();
      snapshotSeq = frame.seq;
      lastSeq = frame.seq;
      resyncNeeded = false;
      changed = true;
      continue;
    }
    // Changes before the first snapshot, or not newer than it, are dropped.
    if (snapshotSeq === null || frame.seq <= snapshotSeq) continue;
    if (map === null) map = new Map(state.rollouts);
    if (versions === null) versions = new Map(state.versions);
    if (frame.type === 'upsert') {
      const key = rolloutKey(frame.rollout.namespace, frame.rollout.name);
      map.set(key, frame.rollout);
      versions.set(key, frame.seq);
    } else if (frame.type === 'patch') {
      const key = rolloutKey(frame.namespace, frame.name);
      const held = map.get(key);
      const heldAt = versions.get(key);
      const fits = held !== undefined && (heldAt === undefined ? frame.base <= snapshotSeq : heldAt === frame.base);
      const patched = fits ? applyJsonPatch(held, frame.patch) : null;
      if (patched === null) {
        // Keep showing the last good copy until the fresh snapshot replaces everything.
        resyncNeeded = true;
        continue;
      }
      map.set(key, patched);
      versions.set(key, frame.seq);
    } else {
      const key = rolloutKey(frame.namespace, frame.name);
      map.delete(key);
      versions.delete(key);
    }
    lastSeq = Math.max(lastSeq, frame.seq);
    changed = true;
  }
  if (resyncNeeded !== state.resyncNeeded) changed = true;
  if (!changed) return state;
  return {
    snapshotSeq,
    lastSeq,
    rollouts: map ?? state.rollouts,
    versions: versions ?? state.versions,
    resyncNeeded,
    version: state.version + 1,
  };
}

/** Forgets everything (a new subscription): the next snapshot starts over. */
export function resetListState(): ListState {
  return { ...emptyListState, rollouts: new Map(), versions: new Map() };
}
