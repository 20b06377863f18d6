import { useEffect, useRef, useState } from 'preact/hooks';
import type { AnalysisRunView, ContainerView, ExperimentView, MetricView, ReplicaSetView, RevisionView, RolloutDetail, RolloutSummary, StepView } from '../api/protocol';
import { splitImage, ellipsizeMiddle } from '../lib/format';
import { failingMetric, shortWhy } from '../lib/failure';
import { currentStepNumber, restateSteps, stepPosition, upstreamStepFigure } from '../lib/steps';
import { deniedReason } from '../lib/permissions';
import { type Unobserved, overdueMs, trackUnobserved } from '../lib/unobserved';
import { useStore } from '../state/store';
import { ActionBar, requestAction, useFreshPermissions, usePermissions } from './actions';
import { MetricChart } from './AnalysisChart';
import { Countdown, Empty, ImageTags, PodSquares, RelTime, StatusBadge, StatusIcon, WeightBar, useNow, useOffline } from './common';
import { Link } from './router';

function Section({ title, id, children, count }: { title: string; id: string; children: preact.ComponentChildren; count?: number }) {
  return (
    <section class="panel" aria-labelledby={`h-${id}`} id={id}>
      <h2 id={`h-${id}`}>
        {title}
        {count !== undefined ? <span class="count">{count}</span> : null}
      </h2>
      {children}
    </section>
  );
}

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

function Steps({ steps, summary }: { steps: StepView[]; summary: RolloutSummary }) {
  return (
    <ol class="steps">
      {steps.map((s) => {
        const detail = stepDetail(s);
        const current = s.state === 'current';
        return (
          <li key={s.index} class={`step step-${s.state}`} aria-current={current ? 'step' : undefined}>
            <span class="step-dot" aria-hidden="true">
              {s.state === 'done' ? '✓' : <StepGlyph kind={s.kind} />}
            </span>
            <div class="step-body">
              <div>
                <span class="step-num small muted">{s.index + 1}.</span> <strong>{s.label}</strong>
                <span class="visually-hidden"> ({s.state})</span>
                {current ? <span class="tag tag-current">current</span> : null}
              </div>
              {current && s.kind === 'pause' && s.endsAt ? <Countdown label="Paused until" until={s.endsAt} done="resuming" /> : null}
              {current && s.kind === 'pause' && !s.endsAt && summary.status === 'Paused' ? <span class="small attention-text">Waiting for promotion</span> : null}
              {detail ? <div class="small muted mono">{detail}</div> : null}
            </div>
          </li>
        );
      })}
    </ol>
  );
}

function ReplicaSetBlock({ rs }: { rs: ReplicaSetView }) {
  return (
    <div class="rs">
      <div class="rs-head">
        <StatusIcon status={rs.status} size={14} />
        <span class="mono" title={rs.name}>{ellipsizeMiddle(rs.name, 44)}</span>
        {rs.roles.map((r) => (
          <span key={r} class={`tag tag-${r}`}>{r}</span>
        ))}
        {rs.template ? <span class="tag tag-exp">Σ {rs.template}</span> : null}
        <span class="small muted">
          {rs.status} · {rs.available}/{rs.desired ?? rs.replicas} available
        </span>
        {rs.scaleDownDeadline ? <Countdown label="scales down at" until={rs.scaleDownDeadline} done="scaling down" /> : null}
      </div>
      <PodSquares pods={rs.pods} max={100} />
    </div>
  );
}

function RollbackButton({ rollout, revision }: { rollout: RolloutSummary; revision: number }) {
  const offline = useOffline();
  const denied = offline ?? deniedReason('undo', usePermissions(rollout.namespace, rollout.name));
  return (
    <button type="button" class="btn btn-small" disabled={denied !== null} title={denied ?? `Roll back to revision ${revision}`} data-action="undo" onClick={() => requestAction({ action: 'undo', rollout, extra: { revision } })}>
      Roll back to {revision}
    </button>
  );
}

function Revision({ rev, rollout, readOnly, analysisRuns }: { rev: RevisionView; rollout: RolloutSummary; readOnly: boolean; analysisRuns: AnalysisRunView[] }) {
  const runs = analysisRuns.filter((a) => rev.analysisRuns.includes(a.name));
  return (
    <li class="revision">
      <div class="rev-head">
        <h3>
          Revision {rev.revision} {rev.current ? <span class="tag tag-current">current</span> : null}
        </h3>
        {!rev.current && !readOnly ? <RollbackButton rollout={rollout} revision={rev.revision} /> : null}
      </div>
      <ImageTags images={rev.images} />
      {rev.replicaSets.map((rs) => (
        <ReplicaSetBlock key={rs.uid || rs.name} rs={rs} />
      ))}
      {runs.length > 0 ? (
        <div class="small">
          Analysis:{' '}
          {runs.map((a) => (
            <a key={a.name} href={`#ar-${a.name}`} class={`chip chip-small st-${a.phase}`}>
              <StatusIcon status={a.phase} size={12} /> {a.name.split('-').slice(-2).join('-')} {a.phase}
            </a>
          ))}
        </div>
      ) : null}
      {rev.experiments.length > 0 ? <div class="small">Experiments: {rev.experiments.join(', ')}</div> : null}
    </li>
  );
}

function MetricBlock({ m, runMessage }: { m: MetricView; runMessage: string | null }) {
  const limits = [
    m.count !== null ? `count ${m.count}` : null,
    m.interval ? `every ${m.interval}` : null,
    m.failureLimit !== null ? `failure limit ${m.failureLimit}` : null,
    m.inconclusiveLimit !== null ? `inconclusive limit ${m.inconclusiveLimit}` : null,
    m.consecutiveErrorLimit !== null ? `consecutive error limit ${m.consecutiveErrorLimit}` : null,
  ].filter(Boolean);
  return (
    <div class="metric">
      <h4>
        <StatusIcon status={m.phase ?? 'Pending'} size={14} /> {m.name} <span class="small muted">{m.phase ?? 'no measurement yet'}</span>
        {m.provider ? <span class="tag">{m.provider}</span> : null}
      </h4>
      <p class="small counts">
        <span class="c-ok">✓ {m.successful} successful</span> · <span class="c-bad">✗ {m.failed} failed</span> · <span class="c-warn">? {m.inconclusive} inconclusive</span> · <span class="c-bad">⚠ {m.error} errors</span>
        {limits.length ? <span class="muted"> · {limits.join(' · ')}</span> : null}
      </p>
      {m.message && m.message !== runMessage ? <p class="small msg">{m.message}</p> : null}
      <MetricChart metric={m} />
      <dl class="conds small">
        {m.successCondition ? (
          <div>
            <dt>Success condition</dt>
            <dd class="mono">{m.successCondition}</dd>
          </div>
        ) : null}
        {m.failureCondition ? (
          <div>
            <dt>Failure condition</dt>
            <dd class="mono">{m.failureCondition}</dd>
          </div>
        ) : null}
      </dl>
      {m.query ? (
        <details class="query">
          <summary class="small">Query</summary>
          <pre class="code">{m.query}</pre>
        </details>
      ) : null}
      {m.measurements.length > 0 ? (
        <details class="measurements" open={m.measurements.length <= 12}>
          <summary class="small">Measurements ({m.measurements.length})</summary>
          <table class="mtable">
            <thead>
              <tr>
                <th scope="col">Phase</th>
                <th scope="col">Value</th>
                <th scope="col">Started</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {m.measurements.map((x, i) => (
                <tr key={i}>
                  <td>
                    <StatusIcon status={x.phase ?? 'Pending'} size={12} /> {x.phase ?? '—'}
                  </td>
                  <td class="mono">{x.value ?? (x.jobName ? `job ${x.jobName}` : '—')}</td>
                  <td>
                    <RelTime iso={x.startedAt} />
                  </td>
                  <td class="small">{x.message ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ) : null}
    </div>
  );
}

function AnalysisRunBlock({ run }: { run: AnalysisRunView }) {
  return (
    <details class={`run st-box-${run.phase}`} id={`ar-${run.name}`} open={run.phase !== 'Successful'}>
      <summary>
        <StatusIcon status={run.phase} size={16} /> <strong>{run.name}</strong> <span class="small">{run.phase || 'Pending'}</span>
        <span class="small muted">
          {' '}
          · revision {run.revision} · <RelTime iso={run.createdAt} />
          {' '}· ✓{run.successful} ✗{run.failed} ?{run.inconclusive} ⚠{run.error}
        </span>
      </summary>
      {run.message ? <p class={`msg ${run.phase === 'Failed' || run.phase === 'Error' ? 'msg-bad' : ''}`}>{run.message}</p> : null}
      {run.args.length > 0 ? (
        <p class="small muted">
          Args: {run.args.map((a) => `${a.name}=${a.value ?? a.valueFrom ?? ''}`).join(', ')}
        </p>
      ) : null}
      {run.metrics.map((m) => (
        <MetricBlock key={m.name} m={m} runMessage={run.message} />
      ))}
    </details>
  );
}

function ExperimentBlock({ e }: { e: ExperimentView }) {
  return (
    <div class="experiment">
      <h3>
        <StatusIcon status={e.phase} size={14} /> {e.name} <span class="small muted">{e.phase || 'Pending'} · revision {e.revision}{e.duration ? ` · duration ${e.duration}` : ''}</span>
      </h3>
      {e.message ? <p class="small msg">{e.message}</p> : null}
      <ImageTags images={e.images} />
      {e.replicaSets.map((rs) => (
        <ReplicaSetBlock key={rs.uid || rs.name} rs={rs} />
      ))}
      {e.analysisRuns.map((a) => (
        <AnalysisRunBlock key={a.name} run={a} />
      ))}
    </div>
  );
}

function SetImageForm({ c, rollout, suggestions }: { c: ContainerView; rollout: RolloutSummary; suggestions: string[] }) {
  const [value, setValue] = useState(c.image);
  useEffect(() => setValue(c.image), [c.image]);
  const id = `img-${c.name}`;
  const listId = `imgs-${c.name}`;
  const offline = useOffline();
  const denied = offline ?? deniedReason('set-image', usePermissions(rollout.namespace, rollout.name));
  return (
    <form
      class="set-image"
      onSubmit={(e) => {
        e.preventDefault();
        const image = value.trim();
        if (denied !== null || image === '' || image === c.image) return;
        requestAction({ action: 'set-image', rollout, extra: { container: c.name, image } });
      }}
    >
      <label for={id} class="visually-hidden">
        New image for container {c.name}
      </label>
      <input id={id} class="mono" value={value} list={listId} spellcheck={false} autocomplete="off" onInput={(e) => setValue((e.currentTarget as HTMLInputElement).value)} />
      <datalist id={listId}>
        {suggestions.map((s) => (
          <option key={s} value={s} />
        ))}
      </datalist>
      <button type="submit" class="btn btn-small" data-action="set-image" disabled={denied !== null || value.trim() === '' || value.trim() === c.image} title={denied ?? undefined}>
        Set image
      </button>
    </form>
  );
}

function Containers({ d, readOnly }: { d: RolloutDetail; readOnly: boolean }) {
  const suggestions = [...new Set(d.revisions.flatMap((r) => r.images.map((i) => i.image)))].sort();
  const rows = [...d.containers.map((c) => ({ c, init: false })), ...d.initContainers.map((c) => ({ c, init: true }))];
  if (rows.length === 0) return <p class="muted">No containers{d.workloadRef ? ` (workloadRef ${d.workloadRef.kind}/${d.workloadRef.name})` : ''}.</p>;
  return (
    <table class="ctable">
      <thead>
        <tr>
          <th scope="col">Container</th>
          <th scope="col">Image</th>
          {!readOnly && d.containersSource === 'rollout' ? <th scope="col">Change</th> : null}
        </tr>
      </thead>
      <tbody>
        {rows.map(({ c, init }) => {
          const { repo, tag } = splitImage(c.image);
          return (
            <tr key={`${init}-${c.name}`}>
              <td>
                {c.name}
                {init ? <span class="tag">init</span> : null}
              </td>
              <td class="mono" title={c.image}>
                {repo}
                <strong>:{tag}</strong>
              </td>
              {!readOnly && d.containersSource === 'rollout' ? (
                <td>{init ? null : <SetImageForm c={c} rollout={d.summary} suggestions={suggestions} />}</td>
              ) : null}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/**
 * Says when the controller has not acted on the rollout's latest change for a while (live
 * cluster only: a snapshot from files or the demo never waits for a controller).
 */
function UnobservedNotice({ s }: { s: RolloutSummary }) {
  const source = useStore((st) => st.config.source);
  const now = useNow(1000);
  const tracked = useRef<Unobserved | null>(null);
  tracked.current = trackUnobserved(tracked.current, s.generation, s.observedGeneration, now);
  const waited = overdueMs(tracked.current, now);
  if (source !== 'cluster' || waited === null) return null;
  return (
    <p class="attention-text unobserved" role="status">
      ⚑ The Argo Rollouts controller has not acted on the latest change to this rollout for {Math.round(waited / 1000)} s (generation {s.generation}; it last
      observed {s.observedGeneration || 'none'}). Check that the controller is running. Controllers before v1.10 can also miss a change made while they
      reconcile the rollout (argoproj/argo-rollouts#4784); any later change to the rollout, even a new annotation, wakes them.
    </p>
  );
}

/** The failed metrics of the failed analysis runs, with the run each belongs to. */
function failedMetrics(d: RolloutDetail): { run: AnalysisRunView; m: MetricView }[] {
  return d.analysisRuns
    .filter((a) => a.phase === 'Failed' || a.phase === 'Error')
    .flatMap((run) => run.metrics.filter((m) => m.phase === 'Failed' || m.phase === 'Error').map((m) => ({ run, m })));
}

/** Why the update was aborted, told once: the failing metric and its condition, then the controller's words. */
function AbortBox({ d, message }: { d: RolloutDetail; message: string }) {
  const failed = failedMetrics(d);
  const named = failed.length === 0 ? failingMetric(message) : null;
  return (
    <div class="abort-box" role="note" aria-labelledby="h-abort">
      <h3 id="h-abort">Why it was aborted</h3>
      {failed.map(({ run, m }) => {
        const bad = [...m.measurements].reverse().find((x) => x.phase === 'Failed' || x.phase === 'Error');
        const why = failingMetric(run.message ?? m.message)?.why ?? null;
        return (
          <p key={`${run.name}/${m.name}`} class="abort-metric">
            Metric <strong class="mono">{m.name}</strong> {m.phase === 'Error' ? 'errored' : 'failed'}
            {bad?.value ? (
              <>
                : measured <code>{bad.value}</code>
              </>
            ) : null}
            {m.failureCondition ? (
              <>
                {bad?.value ? ', ' : ': '}failure condition <code>{m.failureCondition}</code>
              </>
            ) : m.successCondition ? (
              <>
                {bad?.value ? ', ' : ': '}success condition <code>{m.successCondition}</code> not met
              </>
            ) : null}
            {why ? ` (${shortWhy(why)})` : ''}
            <span class="small muted">
              {' '}
              · analysis <a href={`#ar-${run.name}`}>{run.name}</a>
            </span>
          </p>
        );
      })}
      {named ? (
        <p class="abort-metric">
          Metric <strong class="mono">{named.metric}</strong> {named.phase}
          {named.why ? ` (${shortWhy(named.why)})` : ''}
        </p>
      ) : null}
      <p class="small">
        <span class="muted">Controller:</span> {message}
        {d.abortedAt ? (
          <span class="muted">
            {' '}
            · aborted <RelTime iso={d.abortedAt} />
          </span>
        ) : null}
      </p>
    </div>
  );
}

function StatusPanel({ d }: { d: RolloutDetail }) {
  const s = d.summary;
  const bg = d.blueGreen;
  const reasonIsCountdown = s.pauseUntil !== null && s.reason.startsWith('Paused until');
  const abortCondition = d.conditions.find((c) => c.reason === 'RolloutAborted');
  const aborted = s.aborted || abortCondition !== undefined;
  const abortMessage = abortCondition?.message ?? s.message;
  // The abort's message is told once, in the abort box; other places that repeat it are left out.
  const repeatsAbort = (text: string) => aborted && abortMessage !== '' && text.includes(abortMessage);
  const explanation = d.explanation.filter((e) => e !== s.reason && !repeatsAbort(e) && !(aborted && /^(Analysis .* (Failed|Error)|Aborted at )/.test(e)));
  const cur = currentStepNumber(s.stepIndex, s.stepCount);
  const curLabel = cur !== null ? d.steps[cur - 1]?.label : undefined;
  return (
    <section class={`panel status-panel st-box-${s.status}`} aria-labelledby="h-status">
      <h2 id="h-status" class="visually-hidden">
        Status
      </h2>
      <div class="status-main">
        <StatusIcon status={s.status} size={32} />
        <div>
          <p class="status-reason">
            <strong>{s.status || 'Unknown'}</strong>
            {' — '}
            {reasonIsCountdown ? (
              <Countdown label="Paused until" until={s.pauseUntil} done="resuming now" />
            ) : aborted ? (
              'Update aborted: traffic went back to the stable ReplicaSet (why: below)'
            ) : (
              restateSteps(s.reason || s.message || '—')
            )}
          </p>
          {s.attentionReason && !aborted && s.attentionReason !== s.reason ? <p class="attention-text">⚑ {restateSteps(s.attentionReason)}</p> : null}
          <UnobservedNotice s={s} />
          {bg && s.status === 'Paused' && bg.autoPromotionDeadline ? (
            <p>
              <Countdown label="Auto-promotion at" until={bg.autoPromotionDeadline} done="promoting now" />
            </p>
          ) : null}
          {bg && s.status === 'Paused' && !bg.autoPromotionDeadline && !bg.autoPromotionEnabled ? <p class="small">Auto-promotion is disabled: waiting for promotion.</p> : null}
        </div>
      </div>
      {aborted ? <AbortBox d={d} message={abortMessage} /> : null}
      {explanation.length > 0 ? (
        <ul class="explain small">
          {explanation.map((e, i) => (
            <li key={i}>{restateSteps(e)}</li>
          ))}
        </ul>
      ) : null}
      {s.message && !aborted && s.message.toLowerCase() !== s.reason.toLowerCase() ? <p class="small muted">Controller message: {s.message}</p> : null}
      <dl class="facts">
        <div>
          <dt>Strategy</dt>
          <dd>{s.strategy || '—'}</dd>
        </div>
        {s.strategy === 'Canary' ? (
          <div>
            <dt>Step</dt>
            <dd>
              {stepPosition(s.stepIndex, s.stepCount) ?? '—'}
              {curLabel ? ` “${curLabel}”` : ''}{' '}
              <span class="small muted" title="status.currentStepIndex, as kubectl argo rollouts shows it">
                ({upstreamStepFigure(s.stepIndex, s.stepCount) ?? s.step ?? '–'})
              </span>
            </dd>
          </div>
        ) : null}
        {s.setWeight !== null || s.actualWeight !== null ? (
          <div class="grow">
            <dt>Weight (actual → desired)</dt>
            <dd>
              <WeightBar set={s.setWeight} actual={s.actualWeight} max={d.canary?.maxTrafficWeight ?? 100} />
            </dd>
          </div>
        ) : null}
        <div>
          <dt>Replicas</dt>
          <dd title="desired / current / updated / ready / available">
            {s.replicas.available}/{s.replicas.desired} available · {s.replicas.updated} updated · {s.replicas.ready} ready
          </dd>
        </div>
        {s.analysisStatus ? (
          <div>
            <dt>Analysis</dt>
            <dd>
              <StatusBadge status={s.analysisStatus} />
            </dd>
          </div>
        ) : null}
        <div>
          <dt>Created</dt>
          <dd>
            <RelTime iso={s.createdAt} />
          </dd>
        </div>
        <div>
          <dt>Restarted</dt>
          <dd>{s.restartedAt ? <RelTime iso={s.restartedAt} /> : 'never'}</dd>
        </div>
      </dl>
      {bg ? (
        <dl class="facts bg">
          <div>
            <dt>Active</dt>
            <dd>
              <span class="mono">{bg.activeService ?? '—'}</span> → <span class="tag tag-active">{bg.activeSelector ?? 'none'}</span>
            </dd>
          </div>
          <div>
            <dt>Preview</dt>
            <dd>
              <span class="mono">{bg.previewService ?? '—'}</span> → <span class="tag tag-preview">{bg.previewSelector ?? 'none'}</span>
            </dd>
          </div>
          <div>
            <dt>Auto-promotion</dt>
            <dd>{bg.autoPromotionEnabled ? (bg.autoPromotionSeconds !== null ? `after ${bg.autoPromotionSeconds}s` : 'enabled') : 'disabled'}</dd>
          </div>
          {bg.scaleDownDelaySeconds !== null ? (
            <div>
              <dt>Scale-down delay</dt>
              <dd>{bg.scaleDownDelaySeconds}s</dd>
            </div>
          ) : null}
        </dl>
      ) : null}
      {d.canary && (d.canary.trafficRouting.length > 0 || d.canary.canaryService) ? (
        <p class="small muted">
          {d.canary.trafficRouting.length > 0 ? `Traffic routing: ${d.canary.trafficRouting.join(', ')}` : 'Replica-based weights (no traffic routing)'}
          {d.canary.canaryService ? ` · canary service ${d.canary.canaryService}` : ''}
          {d.canary.stableService ? ` · stable service ${d.canary.stableService}` : ''}
        </p>
      ) : null}
    </section>
  );
}

export function DetailPage({ namespace, name }: { namespace: string; name: string }) {
  const detailState = useStore((s) => s.detail);
  const listRow = useStore((s) => s.list.rollouts.get(`${namespace}/${name}`) ?? null);
  const readOnly = useStore((s) => s.readOnly);
  useFreshPermissions(namespace, name);
  const conn = useStore((s) => s.conn);
  const offline = useOffline();
  const ds = detailState && detailState.namespace === namespace && detailState.name === name ? detailState : null;
  const d = ds?.detail ?? null;

  useEffect(() => {
    document.title = `${name} · ${namespace} · Argo Rollouts`;
    return () => {
      document.title = 'Argo Rollouts · rollouts-dashboard';
    };
  }, [namespace, name]);

  const back = (
    <nav class="crumbs" aria-label="Breadcrumb">
      <Link href="">← All rollouts</Link> <span class="muted">/ {namespace} /</span>
    </nav>
  );

  if (!d) {
    if (ds?.notFound || ds?.deleted) {
      return (
        <main id="main" class="page page-detail">
          {back}
          <Empty title={ds.deleted ? `Rollout ${name} was deleted` : `Rollout ${name} not found`}>
            <p>
              There is no rollout <code>{name}</code> in namespace <code>{namespace}</code>. This page updates by itself if it appears.
            </p>
          </Empty>
        </main>
      );
    }
    return (
      <main id="main" class="page page-detail">
        {back}
        <h1 class="rollout-title">{name}</h1>
        {listRow ? <p>{listRow.reason}</p> : null}
        <div class="loading" role="status">
          <span class="spinner" aria-hidden="true" /> {conn === 'reconnecting' ? 'Waiting for the server…' : 'Loading details…'}
        </div>
      </main>
    );
  }

  const s = d.summary;
  const labels = d.steps.map((st) => st.label);
  const position = s.strategy === 'Canary' ? stepPosition(s.stepIndex, s.stepCount) : null;
  const cur = currentStepNumber(s.stepIndex, s.stepCount);
  const abortMessage = d.conditions.find((c) => c.reason === 'RolloutAborted')?.message ?? null;
  return (
    <main id="main" class={`page page-detail${offline !== null ? ' is-stale' : ''}`} aria-labelledby="rollout-title">
      {back}
      <header class="detail-head">
        <h1 id="rollout-title" class="rollout-title">
          {s.name}
        </h1>
        <StatusBadge status={s.status} />
        <span class="tag">{s.strategy || 'no strategy'}</span>
        {position ? (
          <span class="tag" title={`status.currentStepIndex ${s.stepIndex ?? '–'}: kubectl argo rollouts shows ${s.step ?? '–'} (${upstreamStepFigure(s.stepIndex, s.stepCount) ?? ''})`}>
            {position}
            {cur !== null && labels[cur - 1] ? ` · ${labels[cur - 1]}` : ''}
          </span>
        ) : null}
        {!readOnly ? <ActionBar rollout={s} steps={labels} /> : null}
      </header>
      {offline !== null && !readOnly ? (
        <p class="offline-note small" role="status">
          {offline}
        </p>
      ) : null}
      <StatusPanel d={d} />
      <div class="detail-grid">
        <div class="col">
          {d.steps.length > 0 ? (
            <Section title="Steps" id="steps" count={d.steps.length}>
              <Steps steps={d.steps} summary={s} />
            </Section>
          ) : null}
          <Section title="Containers" id="containers">
            <Containers d={d} readOnly={readOnly} />
          </Section>
          {d.conditions.length > 0 ? (
            <Section title="Conditions" id="conditions">
              <table class="ctable small">
                <thead>
                  <tr>
                    <th scope="col">Type</th>
                    <th scope="col">Status</th>
                    <th scope="col">Reason / message</th>
                    <th scope="col">Changed</th>
                  </tr>
                </thead>
                <tbody>
                  {d.conditions.map((c) => (
                    <tr key={c.type}>
                      <td>{c.type}</td>
                      <td>{c.status}</td>
                      <td>
                        <strong>{c.reason}</strong>{' '}
                        {abortMessage !== null && c.message === abortMessage ? <span class="muted">(its message is under “Why it was aborted” above)</span> : c.message}
                      </td>
                      <td>
                        <RelTime iso={c.lastTransitionTime} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Section>
          ) : null}
          <Section title="Labels and annotations" id="meta">
            {Object.keys(s.labels).length === 0 && Object.keys(d.annotations).length === 0 ? <p class="muted">None.</p> : null}
            {Object.keys(s.labels).length > 0 ? <h3 class="sub">Labels</h3> : null}
            <dl class="kv small">
              {Object.entries(s.labels).map(([k, v]) => (
                <div key={`l-${k}`}>
                  <dt>{k}</dt>
                  <dd>{v}</dd>
                </div>
              ))}
            </dl>
            {Object.keys(d.annotations).length > 0 ? <h3 class="sub">Annotations</h3> : null}
            <dl class="kv small">
              {Object.entries(d.annotations).map(([k, v]) => (
                <div key={`a-${k}`}>
                  <dt>{k}</dt>
                  <dd class="mono">{v.length > 300 ? `${v.slice(0, 300)}…` : v}</dd>
                </div>
              ))}
            </dl>
          </Section>
        </div>
        <div class="col">
          <Section title="Revisions" id="revisions" count={d.revisions.length}>
            {d.revisions.length === 0 ? <p class="muted">No ReplicaSets yet.</p> : null}
            <ol class="revisions">
              {d.revisions.slice(0, 3).map((rev) => (
                <Revision key={rev.revision} rev={rev} rollout={s} readOnly={readOnly} analysisRuns={d.analysisRuns} />
              ))}
            </ol>
            {d.revisions.length > 3 ? (
              <details class="older">
                <summary class="small">Older revisions ({d.revisions.length - 3})</summary>
                <ol class="revisions">
                  {d.revisions.slice(3).map((rev) => (
                    <Revision key={rev.revision} rev={rev} rollout={s} readOnly={readOnly} analysisRuns={d.analysisRuns} />
                  ))}
                </ol>
              </details>
            ) : null}
          </Section>
          {d.analysisRuns.length > 0 ? (
            <Section title="Analysis runs" id="analysis" count={d.analysisRuns.length}>
              {d.analysisRuns.map((a) => (
                <AnalysisRunBlock key={a.name} run={a} />
              ))}
            </Section>
          ) : null}
          {d.experiments.length > 0 ? (
            <Section title="Experiments" id="experiments" count={d.experiments.length}>
              {d.experiments.map((e) => (
                <ExperimentBlock key={e.name} e={e} />
              ))}
            </Section>
          ) : null}
        </div>
      </div>
    </main>
  );
}
