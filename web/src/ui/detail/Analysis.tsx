import type { AnalysisRunView, MetricView, RolloutDetail } from '../../api/protocol';
import { MetricChart } from '../AnalysisChart';
import { RelTime, StatusIcon } from '../common';

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

export function AnalysisRunBlock({ run }: { run: AnalysisRunView }) {
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


/** The analysis runs the rollout points at now (step, background, pre-/post-promotion), and any still running. */
export function currentRuns(d: RolloutDetail): AnalysisRunView[] {
  const named = new Set(d.analysisRefs.map((r) => r.name));
  return d.analysisRuns.filter((a) => named.has(a.name) || a.phase === 'Running' || a.phase === 'Pending' || a.phase === '');
}
