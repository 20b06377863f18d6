// The app's single store: connection, health, the list and the open detail. Components read
// it through `useStore(selector)`; frames are applied in batches (one per animation frame).

import { useEffect, useReducer, useRef } from 'preact/hooks';
import { PROTOCOL_VERSION, unbatch, type ClusterStatus, type Health, type RolloutDetail, type RolloutId, type RolloutSummary, type ServerMsg } from '../api/protocol';
import { clusterFacts, clusterNames, type ClusterFacts } from '../lib/clusters';
import type { RdConfig } from '../api/config';
import type { Whoami } from '../lib/session';
import { reduceDetail, type DetailState } from '../lib/detailState';
import { applyListFrames, emptyListState, type ListFrame, type ListState } from '../lib/listState';
import { applyPaging, type Paging } from '../lib/snapshotPages';

export type ConnState = 'connecting' | 'open' | 'reconnecting' | 'paused';

export type { DetailState } from '../lib/detailState';

export interface Toast {
  id: number;
  kind: 'ok' | 'error' | 'info';
  text: string;
}

export interface AppState {
  config: RdConfig;
  readOnly: boolean;
  demo: boolean;
  serverVersion: string | null;
  /** Git commit the server was built from (`hello.commit`). */
  serverCommit: string | null;
  heartbeatSeconds: number;
  conn: ConnState;
  /** When the connection was lost (ms), while not connected. */
  disconnectedSince: number | null;
  /** When data was last known fresh: set while connected. */
  health: Health | null;
  /** The clusters' names in display order (`hello.clusters`); empty until known. */
  helloClusters: readonly string[];
  /** Each cluster's state (`status.clusters`); empty until the first status. */
  clusterStatus: readonly ClusterStatus[];
  list: ListState;
  /** The list subscription was replaced and its fresh snapshot has not arrived yet. */
  listStale: boolean;
  everHadSnapshot: boolean;
  detail: DetailState | null;
  toasts: Toast[];
  /** The signed-in person (api/v1/whoami), once known. */
  whoami: Whoami | null;
  /** `hello` announced another protocol than this page's: its frames cannot be trusted. */
  protocolMismatch: boolean;
  /**
   * The WebSocket keeps failing before its `hello` while the REST API answers: something
   * between the browser and the server (an Ingress, a proxy) blocks WebSockets.
   */
  liveBlocked: boolean;
  /** The page polls the REST API because the stream is down. */
  polling: boolean;
  /** The last poll succeeded: the data is as fresh as the poll interval. */
  pollFresh: boolean;
  /** When the last poll succeeded (ms). */
  polledAt: number | null;
}

type Listener = () => void;

export class Store {
  state: AppState;
  private listeners = new Set<Listener>();
  /** Called when a list patch did not fit: the connection re-subscribes for a fresh snapshot. */
  onListResync: (() => void) | null = null;
  /** Called when a detail patch did not fit: the connection re-subscribes for a fresh detail. */
  onDetailResync: (() => void) | null = null;
  /** The paged list snapshot being received (protocol 4), between its begin and its end. */
  private paging: Paging | null = null;

  constructor(config: RdConfig) {
    this.state = {
      config,
      readOnly: config.readOnly,
      demo: config.source === 'demo',
      serverVersion: null,
      serverCommit: null,
      heartbeatSeconds: 20,
      conn: 'connecting',
      disconnectedSince: null,
      health: null,
      helloClusters: [],
      clusterStatus: [],
      list: emptyListState,
      listStale: false,
      everHadSnapshot: false,
      detail: null,
      toasts: [],
      whoami: null,
      protocolMismatch: false,
      liveBlocked: false,
      polling: false,
      pollFresh: false,
      polledAt: null,
    };
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  set(patch: Partial<AppState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  /**
   * Applies server messages in order, the frames of a `batch` (protocol 5) in place of it, as
   * if they had come one by one; then notifies once (one render however many frames).
   */
  applyFrames(messages: readonly ServerMsg[]): void {
    const frames = unbatch(messages);
    const s = this.state;
    let list = s.list;
    let detail = s.detail;
    const patch: Partial<AppState> = {};
    let pendingList: ListFrame[] = [];
    let pagingBroken = false;
    const flushList = () => {
      if (pendingList.length > 0) {
        list = applyListFrames(list, pendingList);
        pendingList = [];
      }
    };
    for (const f of frames) {
      switch (f.type) {
        case 'hello':
          patch.serverVersion = f.version;
          patch.serverCommit = f.commit || null;
          patch.protocolMismatch = f.protocol !== PROTOCOL_VERSION;
          patch.readOnly = s.config.readOnly || f.readOnly;
          patch.demo = s.config.source === 'demo' || f.demo;
          patch.heartbeatSeconds = f.heartbeatSeconds > 0 ? f.heartbeatSeconds : 20;
          patch.helloClusters = Array.isArray(f.clusters) ? f.clusters : [];
          break;
        case 'status':
          patch.health = f.health;
          patch.clusterStatus = Array.isArray(f.clusters) ? f.clusters : [];
          break;
        case 'snapshot':
          pendingList.push(f);
          patch.listStale = false;
          patch.everHadSnapshot = true;
          break;
        case 'snapshotBegin':
        case 'snapshotPage':
        case 'snapshotEnd': {
          const step = applyPaging(this.paging, f, !(patch.everHadSnapshot ?? s.everHadSnapshot));
          this.paging = step.paging;
          if (step.broken) pagingBroken = true;
          if (step.snapshot) {
            // Pages arriving in one batch: only the last assembly is worth building a list of.
            const last = pendingList[pendingList.length - 1];
            if (last?.type === 'snapshot') pendingList.pop();
            pendingList.push(step.snapshot);
            patch.listStale = false;
            patch.everHadSnapshot = true;
          }
          break;
        }
        case 'upsert':
        case 'patch':
          pendingList.push(f);
          break;
        case 'delete':
          detail = reduceDetail(detail, f);
          pendingList.push(f);
          break;
        case 'detail':
        case 'detailPatch':
        case 'notFound':
          detail = reduceDetail(detail, f);
          break;
        case 'heartbeat':
          break;
        case 'error':
          this.toast('error', `Server: ${f.message}`);
          break;
        case 'batch':
          // unbatch() took its frames out; batches are never nested.
          break;
      }
    }
    flushList();
    const resync = list.resyncNeeded && !s.list.resyncNeeded;
    if (list !== s.list) patch.list = list;
    if (detail !== s.detail) patch.detail = detail;
    if (Object.keys(patch).length > 0) this.set(patch);
    if (resync || pagingBroken) this.onListResync?.();
    // Asked once per misfit: the flag stays set until a fresh detail (or notFound) answers.
    if (detail?.resyncNeeded && !s.detail?.resyncNeeded) this.onDetailResync?.();
  }

  /** The clusters' states (and the health) polled from GET api/v1/status while the stream is down. */
  applyPolledStatus(body: unknown): void {
    const b = body as { health?: unknown; clusters?: unknown } | null;
    if (!b || typeof b !== 'object' || !Array.isArray(b.clusters)) return;
    const patch: Partial<AppState> = { clusterStatus: b.clusters as ClusterStatus[] };
    if (b.health && typeof b.health === 'object') patch.health = b.health as Health;
    this.set(patch);
  }

  /** A list polled from GET api/v1/rollouts, as a snapshot (the stream's next snapshot replaces it). */
  applyPolledList(rollouts: RolloutSummary[]): void {
    const s = this.state;
    const list = applyListFrames(s.list, [{ type: 'snapshot', seq: s.list.lastSeq, rollouts }]);
    this.set({ list, listStale: false, everHadSnapshot: true, pollFresh: true, polledAt: Date.now() });
  }

  /**
   * A detail polled from GET api/v1/clusters/{c}/namespaces/{ns}/rollouts/{name} (null: 404).
   * It has no seq: the stream's next `detail` frame replaces it, and its patches ask for a
   * fresh one.
   */
  applyPolledDetail(id: RolloutId, rollout: RolloutDetail | null): void {
    const d = this.state.detail;
    const patch: Partial<AppState> = { pollFresh: true, polledAt: Date.now() };
    if (d && d.cluster === id.cluster && d.namespace === id.namespace && d.name === id.name) {
      patch.detail = { ...d, seq: null, detail: rollout, notFound: rollout === null, deleted: false, resyncNeeded: false };
    }
    this.set(patch);
  }

  private toastId = 0;
  toast(kind: Toast['kind'], text: string, ms = kind === 'error' ? 12000 : 6000): void {
    const id = ++this.toastId;
    this.set({ toasts: [...this.state.toasts.slice(-4), { id, kind, text }] });
    setTimeout(() => this.dismiss(id), ms);
  }

  dismiss(id: number): void {
    this.set({ toasts: this.state.toasts.filter((t) => t.id !== id) });
  }
}

/** The clusters' names: `hello`'s, else the status frame's. The same array while they are. */
export function clustersOf(s: AppState): readonly string[] {
  if (s.helloClusters !== namesFrom.hello || s.clusterStatus !== namesFrom.statuses) {
    const names = clusterNames(s.helloClusters, s.clusterStatus);
    namesFrom = { hello: s.helloClusters, statuses: s.clusterStatus, names: sameNames(namesFrom.names, names) ? namesFrom.names : names };
  }
  return namesFrom.names;
}
let namesFrom: { hello: readonly string[]; statuses: readonly ClusterStatus[]; names: readonly string[] } = { hello: [], statuses: [], names: [] };
function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** More than one cluster: the page shows the cluster column, filter, strip and names in dialogs. */
export function isFleet(s: AppState): boolean {
  return clustersOf(s).length > 1;
}

/** The stale rows and disabled clusters, derived once per status frame (or whoami), not per row. */
export function factsOf(s: AppState): ClusterFacts {
  if (s.clusterStatus !== factsFrom.statuses || s.whoami !== factsFrom.whoami) {
    factsFrom = { statuses: s.clusterStatus, whoami: s.whoami, facts: clusterFacts(s.clusterStatus, s.whoami) };
  }
  return factsFrom.facts;
}
let factsFrom: { statuses: readonly ClusterStatus[]; whoami: AppState['whoami']; facts: ClusterFacts } = {
  statuses: [],
  whoami: null,
  facts: clusterFacts([], null),
};

let current: Store | null = null;

export function initStore(config: RdConfig): Store {
  current = new Store(config);
  return current;
}

export function store(): Store {
  if (!current) throw new Error('store not initialized');
  return current;
}

/** Re-renders the component when the selected value changes (compared with Object.is). */
export function useStore<T>(select: (s: AppState) => T): T {
  const st = store();
  const [, force] = useReducer((n: number) => n + 1, 0);
  const selected = select(st.state);
  const ref = useRef({ select, selected });
  ref.current = { select, selected };
  useEffect(() => {
    const check = () => {
      const next = ref.current.select(st.state);
      if (!Object.is(next, ref.current.selected)) force(0);
    };
    const unsub = st.subscribe(check);
    check();
    return unsub;
  }, [st]);
  return selected;
}
