import { useEffect, useState } from 'preact/hooks';
import type { ImageInfo, PodBrief } from '../api/protocol';
import { offlineReason } from '../lib/offline';
import { useStore } from '../state/store';
import { formatAbsolute, formatClock, formatAgo, formatDuration, parseTime, secondsLeft, splitImage } from '../lib/format';

/** The current time, refreshed every `ms`. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

const STATUS_CLASS: Record<string, string> = {
  Healthy: 'ok', Successful: 'ok', Running: 'run', Progressing: 'run', Pending: 'run',
  Paused: 'pause', Degraded: 'bad', Failed: 'bad', Error: 'bad', ReplicaFailure: 'bad',
  Inconclusive: 'warn', ScaledDown: 'muted', Terminated: 'muted',
};

export function statusClass(status: string | null | undefined): string {
  return STATUS_CLASS[status ?? ''] ?? 'unknown';
}

/** A status icon drawn in SVG; the text next to it carries the meaning. */
export function StatusIcon({ status, size = 16 }: { status: string | null | undefined; size?: number }) {
  const cls = statusClass(status);
  let glyph;
  switch (cls) {
    case 'ok':
      glyph = <path d="M4.5 8.5l2.3 2.3 4.7-5" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" />;
      break;
    case 'pause':
      glyph = <path d="M6 5v6M10 5v6" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" />;
      break;
    case 'bad':
      glyph = <path d="M5.5 5.5l5 5M10.5 5.5l-5 5" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" />;
      break;
    case 'run':
      glyph = <path d="M8 3.5a4.5 4.5 0 1 1-4.5 4.5" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" class="spin" />;
      break;
    case 'warn':
      glyph = <path d="M8 4.5v4.5M8 11.2v.3" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" />;
      break;
    case 'muted':
      glyph = <circle cx="8" cy="8" r="2" fill="currentColor" />;
      break;
    default:
      glyph = <path d="M6.3 6.2a1.8 1.8 0 1 1 2.4 1.7c-.5.2-.7.6-.7 1.1M8 11.2v.3" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" />;
  }
  return (
    <svg class={`icon st-${cls}`} width={size} height={size} viewBox="0 0 16 16" aria-hidden="true" focusable="false">
      <circle cx="8" cy="8" r="7.2" fill="none" stroke="currentColor" stroke-width="1.2" opacity="0.45" />
      {glyph}
    </svg>
  );
}

export function StatusBadge({ status, title }: { status: string; title?: string | undefined }) {
  return (
    <span class={`badge st-${statusClass(status)}`} title={title}>
      <StatusIcon status={status} size={14} />
      <span>{status || 'Unknown'}</span>
    </span>
  );
}

/** Desired (set) weight as an outline marker and actual weight as the filled bar. */
export function WeightBar({ set, actual, max = 100, compact = false }: { set: number | null; actual: number | null; max?: number | null; compact?: boolean }) {
  if (set === null && actual === null) return <span class="muted">—</span>;
  const m = max && max > 0 ? max : 100;
  const pct = (v: number) => Math.max(0, Math.min(100, (v / m) * 100));
  const label = `Canary weight: desired ${set ?? '?'}%, actual ${actual ?? '?'}%`;
  return (
    <span class={`weight${compact ? ' weight--compact' : ''}`} title={label} role="img" aria-label={label}>
      <svg class="weight-bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
        <rect class="weight-track" x="0" y="0" width="100" height="10" rx="2" />
        {actual !== null && <rect class="weight-actual" x="0" y="0" width={pct(actual)} height="10" rx="2" />}
        {set !== null && <rect class="weight-set" x={Math.max(0, pct(set) - 0.8)} y="0" width="1.6" height="10" />}
      </svg>
      <span class="weight-text">
        {actual ?? '–'}%{set !== null && set !== actual ? <span class="muted"> → {set}%</span> : null}
      </span>
    </span>
  );
}

export function PodSquares({ pods, max = 40 }: { pods: PodBrief[]; max?: number }) {
  if (pods.length === 0) return <span class="muted small">no pods</span>;
  const shown = pods.slice(0, max);
  return (
    <span class="pods" role="list" aria-label={`${pods.length} pods`}>
      {shown.map((p) => (
        <span
          key={p.name}
          role="listitem"
          class={`pod pod-${p.iconClass}`}
          title={`${p.name}\n${p.status} · ready ${p.ready} · ${p.restarts} restart${p.restarts === 1 ? '' : 's'}`}
          aria-label={`${p.name}: ${p.status}, ready ${p.ready}, ${p.restarts} restarts`}
        />
      ))}
      {pods.length > max ? <span class="small muted">+{pods.length - max}</span> : null}
    </span>
  );
}

/**
 * "5s ago", right at every render: the clock is read when rendering, and the tick (every
 * second while under a minute old, then rarer) only re-renders. The absolute local time and
 * the ISO time are in the title.
 */
export function RelTime({ iso, prefix = '' }: { iso: string | null | undefined; prefix?: string }) {
  const t = parseTime(iso);
  const age = t === null ? Infinity : Date.now() - t;
  useNow(age < 60_000 ? 1000 : age < 3_600_000 ? 15_000 : 60_000);
  const now = Date.now();
  if (t === null) return <span class="muted">—</span>;
  return (
    <time dateTime={iso ?? undefined} title={`${formatAbsolute(t)} (${new Date(t).toISOString()})`}>
      {prefix}
      {formatAgo(t, now)}
    </time>
  );
}

/** Why actions are disabled because the page does not follow the server; null when it does. */
export function useOffline(): string | null {
  const conn = useStore((s) => s.conn);
  const pollFresh = useStore((s) => s.pollFresh);
  const since = useStore((s) => s.disconnectedSince);
  return offlineReason(conn, pollFresh, since);
}

/** "Paused until 12:03:10 · 42s left", ticking every second; stopped while the page is not live. */
export function Countdown({ label, until, done = 'due now' }: { label: string; until: string | null | undefined; done?: string }) {
  const offline = useOffline() !== null;
  return offline ? <StoppedCountdown label={label} until={until} /> : <LiveCountdown label={label} until={until} done={done} />;
}

function StoppedCountdown({ label, until }: { label: string; until: string | null | undefined }) {
  const t = parseTime(until);
  if (t === null) return null;
  return (
    <span class="countdown countdown-stopped" title="Not live: the page cannot tell whether this has happened">
      {label} <time dateTime={until ?? undefined}>{formatClock(t)}</time> · <em>countdown stopped (not live)</em>
    </span>
  );
}

function LiveCountdown({ label, until, done }: { label: string; until: string | null | undefined; done: string }) {
  const now = useNow(1000);
  const t = parseTime(until);
  if (t === null) return null;
  const left = secondsLeft(t, now);
  return (
    <span class="countdown" title={formatAbsolute(t)}>
      {label} <time dateTime={until ?? undefined}>{formatClock(t)}</time> · <strong>{left > 0 ? `${formatDuration(left)} left` : done}</strong>
    </span>
  );
}

export function ImageTags({ images, compact = false }: { images: ImageInfo[]; compact?: boolean }) {
  if (images.length === 0) return <span class="muted">—</span>;
  return (
    <ul class={`images${compact ? ' images--compact' : ''}`}>
      {images.map((img) => {
        const { repo, tag } = splitImage(img.image);
        return (
          <li key={img.image} title={img.image}>
            <span class="img-repo">{compact ? repo.split('/').pop() : repo}</span>
            <span class="img-tag">{tag.startsWith('@') ? tag.slice(0, 15) : `:${tag}`}</span>
            {img.tags.map((t) => (
              <span key={t} class={`tag tag-${t.startsWith('Σ') ? 'exp' : t}`}>{t}</span>
            ))}
          </li>
        );
      })}
    </ul>
  );
}

export function Empty({ title, children }: { title: string; children?: preact.ComponentChildren }) {
  return (
    <section class="empty" aria-live="polite">
      <h2>{title}</h2>
      {children}
    </section>
  );
}
