// The list store's pure reducer: applies snapshot/upsert/patch/delete frames under the seq rule
// (a change is applied only when its seq is newer than the last snapshot's). A patch applies
// only to the exact version it was made from; anything else asks for a fresh snapshot.

import { keyOf, rolloutKey, type RolloutSummary, type ServerMsg } from '../api/protocol';
import { applyJsonPatch } from './jsonPatch';
import { editOf, PersistentMap, type PersistentMapEditor } from './persistentMap';

export interface ListState {
  /** `seq` of the last snapshot; `null` until the first snapshot arrives. */
  snapshotSeq: number | null;
  /** Highest seq applied (snapshot or change). */
  lastSeq: number;
  /**
   * Rollouts by `cluster/namespace/name` ([`rolloutKey`]). Replaced (never mutated) on every applied batch; the
   * reducer's versions are [`PersistentMap`]s that share what did not change (a whole copy
   * per batch cost more than the rest of the batch at 10,000 rollouts).
   */
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
  /**
   * What the last applied batches changed, oldest first (at most [`JOURNAL_MAX`]), so that a
   * derived view can follow the changes since the state it last saw instead of recomputing
   * everything at every batch (10,000 rollouts). Entries are compared by identity.
   */
  journal: readonly ListChange[];
  /**
   * The `rollouts` the journal's newest entry led to. A state made otherwise than by
   * [`applyListFrames`] (rollouts replaced, journal copied) differs here, and then the journal
   * says nothing about it.
   */
  journalled: ReadonlyMap<string, RolloutSummary>;
}

/** The keys one applied batch changed (upserted, patched or deleted); `null`: everything (a snapshot). */
export interface ListChange {
  readonly keys: readonly string[] | null;
}

/** How many batches the journal remembers: a view further behind recomputes everything. */
export const JOURNAL_MAX = 64;

const noRollouts = PersistentMap.of<string, RolloutSummary>();

export const emptyListState: ListState = {
  snapshotSeq: null,
  lastSeq: 0,
  rollouts: noRollouts,
  versions: PersistentMap.of(),
  resyncNeeded: false,
  version: 0,
  journal: [],
  journalled: noRollouts,
};

export type ListFrame = Extract<ServerMsg, { type: 'snapshot' | 'upsert' | 'patch' | 'delete' }>;

/** Applies a batch of frames in order. Returns the same object when nothing changed. */
export function applyListFrames(state: ListState, frames: readonly ListFrame[]): ListState {
  let map: PersistentMapEditor<string, RolloutSummary> | null = null;
  let versions: PersistentMapEditor<string, number> | null = null;
  let snapshotSeq = state.snapshotSeq;
  let lastSeq = state.lastSeq;
  let resyncNeeded = state.resyncNeeded;
  let changed = false;
  // Keys this batch changed; `null` once a snapshot replaced everything.
  let touched: string[] | null = [];
  for (const frame of frames) {
    if (frame.type === 'snapshot') {
      map = PersistentMap.of(frame.rollouts.map((r) => [keyOf(r), r] as const)).edit();
      versions = PersistentMap.of<string, number>().edit();
      snapshotSeq = frame.seq;
      lastSeq = frame.seq;
      resyncNeeded = false;
      changed = true;
      touched = null;
      continue;
    }
    // Changes before the first snapshot, or not newer than it, are dropped.
    if (snapshotSeq === null || frame.seq <= snapshotSeq) continue;
    if (map === null) map = editOf(state.rollouts);
    if (versions === null) versions = editOf(state.versions);
    if (frame.type === 'upsert') {
      const key = keyOf(frame.rollout);
      map.set(key, frame.rollout);
      versions.set(key, frame.seq);
      touched?.push(key);
    } else if (frame.type === 'patch') {
      const key = rolloutKey(frame.cluster, frame.namespace, frame.name);
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
      touched?.push(key);
    } else {
      const key = rolloutKey(frame.cluster, frame.namespace, frame.name);
      map.delete(key);
      versions.delete(key);
      touched?.push(key);
    }
    lastSeq = Math.max(lastSeq, frame.seq);
    changed = true;
  }
  if (resyncNeeded !== state.resyncNeeded) changed = true;
  if (!changed) return state;
  const rollouts = map?.done() ?? state.rollouts;
  return {
    snapshotSeq,
    lastSeq,
    rollouts,
    versions: versions?.done() ?? state.versions,
    resyncNeeded,
    version: state.version + 1,
    journal: [...state.journal.slice(-(JOURNAL_MAX - 1)), { keys: touched }],
    journalled: rollouts,
  };
}

/**
 * The keys changed since the state whose newest journal entry was `since`, up to `state`
 * (keys may repeat), or `null` when that cannot be told (no entry, a snapshot since, or `since`
 * no longer in the journal, or from another list, or rollouts replaced without a journal entry):
 * then everything must be recomputed.
 */
export function changedSince(state: ListState, since: ListChange | null): string[] | null {
  if (state.journalled !== state.rollouts) return null;
  const j = state.journal;
  const from = since === null ? -1 : j.lastIndexOf(since);
  if (from < 0) return null;
  const keys: string[] = [];
  for (let i = from + 1; i < j.length; i++) {
    const k = (j[i] as ListChange).keys;
    if (k === null) return null;
    for (const key of k) keys.push(key);
  }
  return keys;
}

/** Forgets everything (a new subscription): the next snapshot starts over. */
export function resetListState(): ListState {
  const rollouts = PersistentMap.of<string, RolloutSummary>();
  return { ...emptyListState, rollouts, versions: PersistentMap.of(), journal: [], journalled: rollouts };
}
