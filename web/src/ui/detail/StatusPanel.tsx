import { useRef } from 'preact/hooks';
import type { RolloutDetail, RolloutSummary } from '../../api/protocol';
import { currentStepNumber, restateSteps, stepPosition, upstreamStepFigure } from '../../lib/steps';
import { type Unobserved, overdueMs, trackUnobserved } from '../../lib/unobserved';
import { formatAbsolute } from '../../lib/format';
import { describeWaiting, waitingSince } from '../../lib/waiting';
import { useStore } from '../../state/store';
import { Countdown, RelTime, StatusBadge, StatusIcon, WeightBar, useNow } from '../common';
import { AbortBox } from './AbortBox';

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

/**
 * "Waiting for promotion for 4m 12s", ticking each second: how long the rollout has been
 * paused or Degraded, from the times the controller wrote. Not a live region: a screen reader
 * would read it every second.
 */
function WaitedFor({ d }: { d: RolloutDetail }) {
  const w = waitingSince(d.summary);
  const now = useNow(1000);
  if (w === null) return null;
  const text = describeWaiting(w, Math.max(now, Date.now()));
  return (
    <p class="waited-for" title={`Since ${formatAbsolute(w.since)} (${new Date(w.since).toISOString()})`}>
      {text.charAt(0).toUpperCase() + text.slice(1)}
    </p>
  );
}

export function StatusPanel({ d }: { d: RolloutDetail }) {
  const s = d.summary;
  const bg = d.blueGreen;
  const reasonIsCountdown = s.pauseKind === 'timed' && s.pauseUntil !== null;
  const abortCondition = d.conditions.find((c) => c.reason === 'RolloutAborted');
  const aborted = s.attentionKind === 'aborted' || s.aborted || abortCondition !== undefined;
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
          <WaitedFor d={d} />
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
          <dd title="desired / current / updated / ready / available, as kubectl argo rollouts get rollout shows them" class="replica-figures">
            {s.replicas.available}/{s.replicas.desired} available · {s.replicas.current} current · {s.replicas.updated} updated · {s.replicas.ready} ready
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
        {d.workloadRef ? (
          <div>
            <dt>Template</dt>
            <dd class="workload-ref-fact">
              from {d.workloadRef.kind} <span class="mono">{d.workloadRef.name}</span>
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
          {bg.previewReplicas !== null ? (
            <div>
              <dt>Preview replicas</dt>
              <dd class="preview-replicas">{bg.previewReplicas}</dd>
            </div>
          ) : null}
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
