// The detail store's pure reducer: applies detail/detailPatch/notFound/delete frames for the
// rollout the page shows, under the seq rule. A patch applies only to the exact copy it was
// made from (`base`); anything else marks the state as needing a fresh detail.

import type { RolloutDetail, ServerMsg } from '../api/protocol';
import { applyJsonPatch } from './jsonPatch';

export interface DetailState {
  cluster: string;
  namespace: string;
  name: string;
  seq: number | null;
  detail: RolloutDetail | null;
  notFound: boolean;
  deleted: boolean;
  /**
   * A patch did not fit the copy held: a fresh detail must be asked for. It stays set until a
   * `detail` or `notFound` frame answers, so later patches wait for it quietly.
   */
  resyncNeeded: boolean;
}

export type DetailFrame = Extract<ServerMsg, { type: 'detail' | 'detailPatch' | 'notFound' | 'delete' }>;

/** The state of a page that has just opened `cluster/namespace/name`. */
export function openDetail(cluster: string, namespace: string, name: string): DetailState {
  return { cluster, namespace, name, seq: null, detail: null, notFound: false, deleted: false, resyncNeeded: false };
}

/**
 * Whether a frame is about the open rollout. The detail frames answer this page's one
 * subscription; a `cluster` they carry must match too (a list `delete` always has one).
 */
function about(state: DetailState, f: { namespace: string; name: string }): boolean {
  if (state.namespace !== f.namespace || state.name !== f.name) return false;
  const cluster = (f as { cluster?: unknown }).cluster;
  return typeof cluster !== 'string' || cluster === state.cluster;
}

function isNewer(state: DetailState, seq: number): boolean {
  return state.seq === null || seq > state.seq;
}

/** Applies one frame. Returns the same object when the frame changes nothing. */
export function reduceDetail(state: DetailState | null, frame: DetailFrame): DetailState | null {
  if (state === null) return state;
  switch (frame.type) {
    case 'detail': {
      const s = frame.rollout.summary;
      if (!about(state, s)) return state;
      if (!isNewer(state, frame.seq) && state.detail !== null) return state.resyncNeeded ? { ...state, resyncNeeded: false } : state;
      return { ...state, seq: frame.seq, detail: frame.rollout, notFound: false, deleted: false, resyncNeeded: false };
    }
    case 'detailPatch': {
      if (!about(state, frame) || !isNewer(state, frame.seq)) return state;
      const next = state.detail && state.seq === frame.base ? applyJsonPatch(state.detail, frame.patch) : null;
      if (next) return { ...state, seq: frame.seq, detail: next, notFound: false, deleted: false };
      return state.resyncNeeded ? state : { ...state, resyncNeeded: true };
    }
    case 'notFound':
      if (!about(state, frame)) return state;
      return { ...state, seq: frame.seq, notFound: true, detail: null, resyncNeeded: false };
    case 'delete':
      if (!about(state, frame) || !isNewer(state, frame.seq)) return state;
      return { ...state, seq: frame.seq, deleted: true, detail: null };
  }
}

/** Applies frames in order. */
export function reduceDetailFrames(state: DetailState | null, frames: readonly DetailFrame[]): DetailState | null {
  return frames.reduce<DetailState | null>(reduceDetail, state);
}
