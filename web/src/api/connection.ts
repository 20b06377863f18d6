// One WebSocket per tab at api/v1/stream (relative to the base href), with reconnects
// (exponential backoff, capped at 10 s, with jitter), a heartbeat watchdog, and a pause while
// the tab has been hidden for 30 s (a hidden tab costs the server nothing).
//
// While the stream is down (or never says `hello`: a proxy that blocks WebSockets), the page
// polls the REST API every few seconds for what it shows (the list, or the open rollout), so
// it never sits on "Connecting…" with nothing; the stream's next `hello` stops the polling.
//
// A list snapshot's pages arrive as gzip-compressed binary messages (protocol 4): each is
// decompressed in turn, and every message waits for those before it, so the store sees them
// in the order the server sent them. The changes of one flush of the server come as one
// `batch` message (protocol 5); messages are applied together once per animation frame, so a
// batch is rendered once.

import { parseServerMsg, rolloutPath, type ClientMsg, type ServerMsg } from './protocol';
import { appUrl } from './config';
import { CLOSE_POLICY, endsSession } from '../lib/session';
import { getJson, isLeaving, sessionEnded } from './session';
import type { RolloutDetail, RolloutSummary } from './protocol';
import type { Store } from '../state/store';
import { gunzipText } from '../lib/snapshotPages';

const HIDDEN_GRACE_MS = 30_000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 10_000;
/** How often the REST API is polled while the stream is down. */
export const POLL_INTERVAL_MS = 4000;
/** A stream that has not said `hello` this long after the page started is not coming soon: poll. */
const FIRST_HELLO_GRACE_MS = 5000;
/** Connections in a row that ended before their `hello`: then a blocked WebSocket is suspected. */
const BLOCKED_AFTER = 2;

/** GET a JSON endpoint with the app's headers: the status and body, or null when unreachable. */
async function fetchJson(relative: string): Promise<{ status: number; body: unknown } | null> {
  let res: Response;
  // A request that hangs (a proxy holding it) counts as failed after a while.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 8000);
  try {
    res = await fetch(appUrl(relative), { credentials: 'same-origin', headers: { Accept: 'application/json' }, signal: abort.signal });
  } catch {
    clearTimeout(timer);
    return null;
  }
  clearTimeout(timer);
  if (res.status === 401) {
    if (endsSession(await res.json().catch(() => null))) sessionEnded();
    return null;
  }
  let body: unknown = null;
  try {
    body = (await res.json()) as unknown;
  } catch {
    if (res.ok) return null;
  }
  return { status: res.status, body };
}

export function backoffDelay(attempt: number, random: number): number {
  const exp = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 10));
  return Math.round(exp * (0.5 + random * 0.5));
}

export class Connection {
  private ws: WebSocket | null = null;
  private sub: ClientMsg | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private hiddenTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private lastMessageAt = 0;
  private queue: ServerMsg[] = [];
  private flushScheduled = false;
  /** Connections in a row that ended without a `hello`. */
  private failedInARow = 0;
  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  private firstHelloTimer: ReturnType<typeof setTimeout> | null = null;
  private probing = false;

  constructor(private readonly store: Store) {
    store.onListResync = () => this.resync('subscribeList');
    store.onDetailResync = () => this.resync('subscribeRollout');
  }

  /** A patch did not fit the copy held (a missed version): ask again for a fresh one. */
  private resync(kind: 'subscribeList' | 'subscribeRollout'): void {
    if (this.sub?.type === kind) this.send(this.sub);
  }

  start(): void {
    document.addEventListener('visibilitychange', () => this.onVisibility());
    window.addEventListener('online', () => this.reconnectNow());
    this.watchdog = setInterval(() => this.checkHeartbeat(), 5000);
    this.firstHelloTimer = setTimeout(() => {
      this.firstHelloTimer = null;
      if (this.store.state.conn !== 'open') this.startPolling();
    }, FIRST_HELLO_GRACE_MS);
    this.connect();
  }

  /** Replaces the subscription (sent now if connected, else after the next connect). */
  subscribe(msg: ClientMsg): void {
    this.sub = msg;
    if (msg.type === 'subscribeList') this.store.set({ listStale: true });
    this.send(msg);
    // While polling, fetch what the new page shows now rather than at the next tick.
    if (this.pollTimer) {
      clearTimeout(this.pollTimer);
      this.pollTimer = null;
      void this.pollOnce();
    }
  }

  private send(msg: ClientMsg): void {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private connect(): void {
    if (isLeaving()) return;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    const url = appUrl('api/v1/stream');
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws: WebSocket;
    try {
      ws = new WebSocket(url.href);
    } catch {
      this.scheduleReconnect();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    if (this.store.state.conn !== 'reconnecting') this.store.set({ conn: 'connecting' });
    let opened = false;
    let hello = false;
    /** Messages decoded so far, in order: a text frame waits for the pages before it. */
    let inbox: Promise<void> = Promise.resolve();
    ws.onopen = () => {
      opened = true;
      this.lastMessageAt = Date.now();
      if (this.sub) {
        if (this.sub.type === 'subscribeList') this.store.set({ listStale: true });
        this.send(this.sub);
      }
    };
    const receive = (text: string) => {
      if (this.ws !== ws) return;
      const msg = parseServerMsg(text);
      if (!msg) return;
      // A batch (protocol 5) stays whole in the queue: the store applies its frames in order.
      if (msg.type === 'hello' || (msg.type === 'batch' && msg.frames.some((f) => f.type === 'hello'))) {
        hello = true;
        this.attempt = 0;
        this.failedInARow = 0;
        this.stopPolling();
        this.store.set({ conn: 'open', disconnectedSince: null, liveBlocked: false, polling: false, pollFresh: false });
      }
      this.queue.push(msg);
      this.scheduleFlush();
    };
    ws.onmessage = (ev: MessageEvent) => {
      this.lastMessageAt = Date.now();
      const data: unknown = ev.data;
      inbox = inbox
        .then(async () => receive(typeof data === 'string' ? data : data instanceof ArrayBuffer ? await gunzipText(data) : ''))
        .catch(() => {
          // A page that does not decompress: start over on a fresh connection.
          if (this.ws === ws) ws.close();
        });
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.store.state.conn === 'paused') return;
      // 1008: the server ended the socket because the session expired or was signed out.
      if (ev.code === CLOSE_POLICY) {
        sessionEnded();
        return;
      }
      // A refused handshake (401 when the session is gone) only shows as 1006: ask whoami,
      // which ends the session on 401, unless no one ever signs in here.
      if (!opened && this.store.state.whoami && this.store.state.whoami.authMode !== 'none') void getJson('api/v1/whoami');
      this.store.set({
        conn: 'reconnecting',
        disconnectedSince: this.store.state.disconnectedSince ?? Date.now(),
      });
      this.failedInARow = hello ? 0 : this.failedInARow + 1;
      this.startPolling();
      if (this.failedInARow >= BLOCKED_AFTER) void this.probeBlocked();
      this.scheduleReconnect();
    };
    ws.onerror = () => {
      // onclose follows and handles the retry.
    };
  }

  /**
   * The stream keeps ending before its `hello`: if the REST API answers, the server is up and
   * something in between blocks WebSockets (said in a banner); if not, the server is away.
   */
  private async probeBlocked(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    const res = await fetchJson('api/v1/status');
    this.probing = false;
    if (this.store.state.conn === 'open') return;
    const blocked = res !== null && res.status < 500 && this.failedInARow >= BLOCKED_AFTER;
    if (blocked !== this.store.state.liveBlocked) this.store.set({ liveBlocked: blocked });
  }

  private startPolling(): void {
    if (this.pollTimer || this.store.state.polling || isLeaving()) return;
    this.store.set({ polling: true });
    void this.pollOnce();
  }

  private stopPolling(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  /** One poll of what the page shows, then the next one in POLL_INTERVAL_MS. */
  private async pollOnce(): Promise<void> {
    const sub = this.sub;
    let ok = false;
    // The clusters (and their states) too: without the stream's hello and status frames,
    // nothing else tells the page that there are several, or which of them is stale.
    const status = await fetchJson('api/v1/status');
    if (status?.status === 200 && this.store.state.conn !== 'open') this.store.applyPolledStatus(status.body);
    if (sub?.type === 'subscribeList') {
      const res = await fetchJson('api/v1/rollouts');
      const rollouts = (res?.body as { rollouts?: unknown } | null)?.rollouts;
      if (this.store.state.conn === 'open') return;
      if (res && res.status === 200 && Array.isArray(rollouts) && this.sub === sub) {
        this.store.applyPolledList(rollouts as RolloutSummary[]);
        ok = true;
      }
    } else if (sub?.type === 'subscribeRollout') {
      const res = await fetchJson(rolloutPath(sub));
      if (this.store.state.conn === 'open') return;
      if (res && (res.status === 200 || res.status === 404) && this.sub === sub) {
        const body = res.body as RolloutDetail | null;
        this.store.applyPolledDetail(sub, res.status === 200 && body && typeof body === 'object' && 'summary' in body ? body : null);
        ok = true;
      }
    }
    if (this.store.state.conn === 'open' || this.store.state.conn === 'paused') return;
    if (this.sub !== sub) {
      // The page changed while asking: ask for the new one now.
      void this.pollOnce();
      return;
    }
    if (!ok && this.store.state.pollFresh) this.store.set({ pollFresh: false });
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      void this.pollOnce();
    }, POLL_INTERVAL_MS);
  }

  private scheduleReconnect(): void {
    if (this.retryTimer) return;
    const delay = backoffDelay(this.attempt++, Math.random());
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  private reconnectNow(): void {
    if (this.ws || this.store.state.conn === 'paused') return;
    this.attempt = 0;
    this.connect();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    const run = () => {
      this.flushScheduled = false;
      const batch = this.queue;
      this.queue = [];
      if (batch.length > 0) this.store.applyFrames(batch);
    };
    // requestAnimationFrame does not run in hidden tabs; fall back to a timer there.
    if (document.hidden) setTimeout(run, 50);
    else requestAnimationFrame(run);
  }

  private checkHeartbeat(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const limit = this.store.state.heartbeatSeconds * 1000 * 2.5;
    if (Date.now() - this.lastMessageAt > limit) {
      // Two heartbeats missed: the connection is dead even if the socket does not know it.
      ws.close();
    }
  }

  private onVisibility(): void {
    if (document.hidden) {
      if (this.hiddenTimer) return;
      this.hiddenTimer = setTimeout(() => {
        this.hiddenTimer = null;
        this.pause();
      }, HIDDEN_GRACE_MS);
    } else {
      if (this.hiddenTimer) {
        clearTimeout(this.hiddenTimer);
        this.hiddenTimer = null;
      }
      if (this.store.state.conn === 'paused') {
        this.store.set({ conn: 'connecting' });
        this.attempt = 0;
        this.connect();
      }
    }
  }

  private pause(): void {
    this.stopPolling();
    this.store.set({ conn: 'paused', disconnectedSince: Date.now(), polling: false, pollFresh: false });
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, 'tab hidden');
  }

  stop(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.firstHelloTimer) clearTimeout(this.firstHelloTimer);
    this.pause();
  }
}
