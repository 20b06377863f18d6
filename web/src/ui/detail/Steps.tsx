import type { RolloutSummary, StepView } from '../../api/protocol';
import { formatAbsolute, formatClock, formatDuration, parseTime } from '../../lib/format';
import { Countdown, useNow } from '../common';

const STEP_ICON: Record<string, string> = {
  setWeight: '%', experiment: 'Σ', setCanaryScale: '×', setHeaderRoute: 'H', setMirrorRoute: 'M', plugin: 'P', unknown: '?',
};

function StepGlyph({ kind }: { kind: string }) {
  if (kind === 'pause') {
    return (
      <svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true">
        <path d="M4 2.5v7M8 2.5v7" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
      </svg>
    );
  }
  if (kind === 'analysis') {
    return (
      <svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true">
        <path d="M1.5 9.5l3-3.5 2 2 4-5" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round" />
      </svg>
    );
  }
  return <>{STEP_ICON[kind] ?? '•'}</>;
}

function stepDetail(s: StepView): string | null {
  const raw = s.raw as Record<string, unknown> | null;
  if (!raw || typeof raw !== 'object') return null;
  const v = raw[s.kind];
  if (s.kind === 'analysis' || s.kind === 'experiment') {
    const templates = (v as { templates?: { templateName?: string; name?: string; specRef?: string; weight?: number }[] } | undefined)?.templates ?? [];
    return templates.map((t) => [t.name, t.templateName, t.specRef ? `specRef ${t.specRef}` : '', t.weight !== undefined ? `weight ${t.weight}%` : ''].filter(Boolean).join(' ')).join(', ') || null;
  }
  if (s.kind === 'setCanaryScale' || s.kind === 'setHeaderRoute' || s.kind === 'setMirrorRoute' || s.kind === 'plugin') {
    return JSON.stringify(v);
  }
  return null;
}

/** A time of day, the full time on hover; "unknown" when the server could not know it. */
function At({ iso }: { iso: string | null }) {
  const t = parseTime(iso);
  if (t === null) return <span class="muted">unknown</span>;
  return (
    <time dateTime={iso ?? undefined} title={`${formatAbsolute(t)} (${new Date(t).toISOString()})`}>
      {formatClock(t)}
    </time>
  );
}

/**
 * When a done or current step started and ended: "started 14:02:11 · 3m 10s". A time the
 * Events no longer tell (Kubernetes keeps them about an hour) reads "unknown", never a guess.
 */
function StepTimes({ s }: { s: StepView }) {
  const current = s.state === 'current';
  const now = Math.max(useNow(current ? 1000 : 60_000), Date.now());
  if (s.state === 'pending') return null;
  const began = parseTime(s.beganAt);
  const ended = parseTime(s.endedAt);
  let took: string | null = null;
  if (began !== null && ended !== null) took = formatDuration((ended - began) / 1000);
  else if (current && began !== null) took = `${formatDuration((now - began) / 1000)} so far`;
  return (
    <div class="small muted step-times">
      started <At iso={s.beganAt} />
      {current ? null : (
        <>
          {' '}
          · ended <At iso={s.endedAt} />
        </>
      )}
      {took !== null ? ` · ${took}` : null}
    </div>
  );
}

/** The canary step timeline; the step an InvalidSpec condition names is marked. */
export function Steps({ steps, summary, invalidStep = null, invalidSpec = null }: { steps: StepView[]; summary: RolloutSummary; invalidStep?: number | null; invalidSpec?: string | null }) {
  return (
    <ol class="steps">
      {steps.map((s) => {
        const detail = stepDetail(s);
        const current = s.state === 'current';
        const invalid = s.index === invalidStep;
        return (
          <li key={s.index} class={`step step-${s.state}${invalid ? ' step-invalid' : ''}`} aria-current={current ? 'step' : undefined}>
            <span class="step-dot" aria-hidden="true">
              {s.state === 'done' ? '✓' : <StepGlyph kind={s.kind} />}
            </span>
            <div class="step-body">
              <div>
                <span class="step-num small muted">{s.index + 1}.</span> <strong>{s.label}</strong>
                <span class="visually-hidden"> ({s.state})</span>
                {current ? <span class="tag tag-current">current</span> : null}
                {invalid ? (
                  <span class="tag tag-invalid" title={invalidSpec ?? undefined}>
                    invalid
                  </span>
                ) : null}
              </div>
              {invalid && invalidSpec ? <div class="small attention-text step-invalid-why">{invalidSpec}</div> : null}
              {current && s.kind === 'pause' && s.endsAt ? <Countdown label="Paused until" until={s.endsAt} done="resuming" /> : null}
              {current && s.kind === 'pause' && !s.endsAt && summary.status === 'Paused' ? <span class="small attention-text">Waiting for promotion</span> : null}
              <StepTimes s={s} />
              {detail ? <div class="small muted mono">{detail}</div> : null}
            </div>
          </li>
        );
      })}
    </ol>
  );
}
