// The detail store's pure reducer: applies detail/detailPatch/notFound/delete frames for the
// rollout the page shows, under the seq rule. A patch applies only to the exact copy it was
// made from (`base`); anything else marks the state as needing a fresh detail.

import type { RolloutDetail, ServerMsg } from '../api/protocol';
import { applyJsonPatch } from './jsonPatch';

export interface DetailState {
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

/** The state of a page that has just opened `namespace/name`. */
export function openDetail(namespace: string, name: string): DetailState {
  return { namespace, name, seq: null, detail: null, notFound: false, deleted: false, resyncNeeded: false };
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
      if (state.namespace !== s.namespace || state.name !== s.name) return state;
      if (!isNewer(state, frame.seq) && state.detail !== null) return state.resyncNeeded ? { ...state, resyncNeeded: false } : state;
      return { ...state, seq: frame.seq, detail: frame.rollout, notFound: false, deleted: false, resyncNeeded: false };
    }
    case 'detailPatch': {
      if (state.namespace !== frame.namespace || state.name !== frame.name || !isNewer(state, frame.seq)) return state;
      const next = state.detail && state.seq === frame.base ? applyJsonPatch(state.detail, frame.patch) : null;
      if (next) return { ...state, seq: frame.seq, detail: next, notFound: false, deleted: false };
      return state.resyncNeeded ? state : { ...state, resyncNeeded: true };
    }
    case 'notFound':
      if (state.namespace !== frame.namespace || state.name !== frame.name) return state;
      return { ...state, seq: frame.seq, notFound: true, detail: null, resyncNeeded: false };
    case 'delete':
      if (state.namespace !== frame.namespace || state.name !== frame.name || !isNewer(state, frame.seq)) return state;
      return { ...state, seq: frame.seq, deleted: true, detail: null };
  }
}

/** Applies frames in order. */
export function reduceDetailFrames(state: DetailState | null, frames: readonly DetailFrame[]): DetailState | null {
  return frames.reduce<DetailState | null>(reduceDetail, state);
}
