// Paged list snapshots (protocol 4): the server sends `snapshotBegin`, then each page as a
// gzip-compressed binary message holding a `snapshotPage`, then `snapshotEnd`. This module
// decompresses a page (the browser's own DecompressionStream) and assembles the pages, in
// order, into the `snapshot` the list reducer (listState.ts) takes. Pure apart from the
// decompression.

import type { RolloutSummary, ServerMsg } from '../api/protocol';

export type PagingFrame = Extract<ServerMsg, { type: 'snapshotBegin' | 'snapshotPage' | 'snapshotEnd' }>;
export type SnapshotFrame = Extract<ServerMsg, { type: 'snapshot' }>;

/** A snapshot whose pages are arriving. */
export interface Paging {
  seq: number;
  /** Pages announced by `snapshotBegin`. */
  pages: number;
  /** Pages received so far (the next page's index). */
  received: number;
  rollouts: RolloutSummary[];
  /**
   * Show each page as it arrives: no list is shown yet, so the first page (the rollouts that
   * need attention) paints at once. A list already shown stays until the whole snapshot is in.
   */
  progressive: boolean;
}

export interface PagingStep {
  paging: Paging | null;
  /** The list to show now: the whole snapshot at its end, or (progressive) the pages so far. */
  snapshot: SnapshotFrame | null;
  /** The pages did not add up (one missing, out of order, of another snapshot): ask again. */
  broken: boolean;
}

const broken: PagingStep = { paging: null, snapshot: null, broken: true };

/** Applies one frame of a paged snapshot. `progressive` is read at `snapshotBegin`. */
export function applyPaging(paging: Paging | null, frame: PagingFrame, progressive: boolean): PagingStep {
  switch (frame.type) {
    case 'snapshotBegin':
      return { paging: { seq: frame.seq, pages: frame.pages, received: 0, rollouts: [], progressive }, snapshot: null, broken: false };
    case 'snapshotPage': {
      if (!paging || frame.seq !== paging.seq || frame.index !== paging.received || paging.received >= paging.pages) return broken;
      const next: Paging = { ...paging, received: paging.received + 1, rollouts: paging.rollouts.concat(frame.rollouts) };
      const snapshot: SnapshotFrame | null = next.progressive ? { type: 'snapshot', seq: next.seq, rollouts: next.rollouts } : null;
      return { paging: next, snapshot, broken: false };
    }
    case 'snapshotEnd':
      if (!paging || frame.seq !== paging.seq || paging.received !== paging.pages) return broken;
      return { paging: null, snapshot: { type: 'snapshot', seq: paging.seq, rollouts: paging.rollouts }, broken: false };
  }
}

/** The text of a gzip-compressed binary message. */
export async function gunzipText(body: ArrayBuffer): Promise<string> {
  const stream = new Blob([body]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Response(stream).text();
}
