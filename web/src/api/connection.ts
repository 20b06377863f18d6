// One WebSocket per tab at api/v1/stream (relative to the base href), with reconnects
// (exponential backoff, capped at 10 s, with jitter), a heartbeat watchdog, and a pause while
// the tab has been hidden for 30 s (a hidden tab costs the server nothing).

import { parseServerMsg, type ClientMsg, type ServerMsg } from './protocol';
import { appUrl } from './config';
import { CLOSE_POLICY } from '../lib/session';
import { getJson, isLeaving, sessionEnded } from './session';
import type { Store } from '../state/store';

const HIDDEN_GRACE_MS = 30_000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 10_000;

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
    this.connect();
  }

  /** Replaces the subscription (sent now if connected, else after the next connect). */
  subscribe(msg: ClientMsg): void {
    this.sub = msg;
    if (msg.type === 'subscribeList') this.store.set({ listStale: true });
    this.send(msg);
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
    this.ws = ws;
    if (this.store.state.conn !== 'reconnecting') this.store.set({ conn: 'connecting' });
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.lastMessageAt = Date.now();
      if (this.sub) {
        if (this.sub.type === 'subscribeList') this.store.set({ listStale: true });
        this.send(this.sub);
      }
    };
    ws.onmessage = (ev: MessageEvent) => {
      this.lastMessageAt = Date.now();
      if (typeof ev.data !== 'string') return;
      const msg = parseServerMsg(ev.data);
      if (!msg) return;
      if (msg.type === 'hello') {
        this.attempt = 0;
        this.store.set({ conn: 'open', disconnectedSince: null });
      }
      this.queue.push(msg);
      this.scheduleFlush();
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
      this.scheduleReconnect();
    };
    ws.onerror = () => {
      // onclose follows and handles the retry.
    };
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
    this.store.set({ conn: 'paused', disconnectedSince: Date.now() });
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
    this.pause();
  }
}
