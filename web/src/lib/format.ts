// Pure formatting of times, durations and countdowns. `now` is always passed in (ms since epoch).

/** Parses an RFC3339 time; `null` when missing or invalid. */
export function parseTime(s: string | null | undefined): number | null {
  if (!s) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

/** A compact duration: `42s`, `3m 05s`, `2h 03m`, `4d 2h`. Negative values count as 0. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  const d = Math.floor(h / 24);
  return `${d}d ${h % 24}h`;
}

/** `hh:mm:ss` in local time. */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Absolute local time for titles: `2024-05-01 12:03:10`. */
export function formatAbsolute(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${formatClock(ms)}`;
}

/** `5s ago`, `3m ago`, `in 2h`, `just now`. */
export function formatRelative(then: number, now: number): string {
  const diff = Math.round((now - then) / 1000);
  if (Math.abs(diff) < 5) return 'just now';
  const coarse = (sec: number) => {
    if (sec < 60) return `${sec}s`;
    if (sec < 3600) return `${Math.floor(sec / 60)}m`;
    if (sec < 86400) return `${Math.floor(sec / 3600)}h`;
    return `${Math.floor(sec / 86400)}d`;
  };
  return diff > 0 ? `${coarse(diff)} ago` : `in ${coarse(-diff)}`;
}

/**
 * A past event relative to now: `5s ago`, never `in 6s`. A time slightly ahead of this
 * browser's clock (the cluster's clock runs ahead, or the page's "now" has not ticked yet)
 * reads `just now`.
 */
export function formatAgo(then: number, now: number): string {
  return formatRelative(Math.min(then, now), now);
}

/** "Paused until 12:03:10 · 42s left", or "… · ending" once the deadline has passed. */
export function formatCountdown(label: string, until: number, now: number): string {
  const left = Math.ceil((until - now) / 1000);
  const tail = left > 0 ? `${formatDuration(left)} left` : 'due now';
  return `${label} ${formatClock(until)} · ${tail}`;
}

/** Seconds left until `until`, never negative. */
export function secondsLeft(until: number, now: number): number {
  return Math.max(0, Math.ceil((until - now) / 1000));
}

/** Shortens the middle of a long string: `checkout-api-7d9…f6c`. */
export function ellipsizeMiddle(s: string, max: number): string {
  if (s.length <= max) return s;
  const keep = Math.max(1, max - 1);
  const head = Math.ceil(keep / 2);
  return `${s.slice(0, head)}…${s.slice(s.length - (keep - head))}`;
}

/** Splits an image reference into repository and tag/digest for display. */
export function splitImage(image: string): { repo: string; tag: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { repo: image.slice(0, at), tag: image.slice(at) };
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon > slash) return { repo: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { repo: image, tag: 'latest' };
}
