import type { AnalysisRunView, MetricView, RolloutDetail } from '../../api/protocol';
import { failingMetric, shortWhy } from '../../lib/failure';
import { RelTime } from '../common';

/** The failed metrics of the failed analysis runs, with the run each belongs to. */
function failedMetrics(d: RolloutDetail): { run: AnalysisRunView; m: MetricView }[] {
  return d.analysisRuns
    .filter((a) => a.phase === 'Failed' || a.phase === 'Error')
    .flatMap((run) => run.metrics.filter((m) => m.phase === 'Failed' || m.phase === 'Error').map((m) => ({ run, m })));
}

/** Why the update was aborted, told once: the failing metric and its condition, then the controller's words. */
export function AbortBox({ d, message }: { d: RolloutDetail; message: string }) {
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
