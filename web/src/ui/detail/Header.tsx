import type { RolloutDetail } from '../../api/protocol';
import { currentStepNumber, stepPosition, upstreamStepFigure } from '../../lib/steps';
import { ActionBar } from '../actions';
import { StatusBadge } from '../common';

/** Name, status, strategy, step and the toolbar (with the server's verdict for each action). */
export function DetailHeader({ d, readOnly, fleet, stale }: { d: RolloutDetail; readOnly: boolean; fleet: boolean; stale: string | null }) {
  const s = d.summary;
  const labels = d.steps.map((st) => st.label);
  const position = s.strategy === 'Canary' ? stepPosition(s.stepIndex, s.stepCount) : null;
  const cur = currentStepNumber(s.stepIndex, s.stepCount);
  return (
    <header class="detail-head">
      <h1 id="rollout-title" class="rollout-title">
        {s.name}
        {fleet ? (
          <span class="title-cluster" data-cluster={s.cluster}>
            {' '}
            <span class="muted">in</span> {s.cluster}
          </span>
        ) : null}
      </h1>
      {stale !== null ? <span class="stale-tag small">{stale}</span> : null}
      <StatusBadge status={s.status} />
      <span class="tag">{s.strategy || 'no strategy'}</span>
      {position ? (
        <span class="tag" title={`status.currentStepIndex ${s.stepIndex ?? '–'}: kubectl argo rollouts shows ${s.step ?? '–'} (${upstreamStepFigure(s.stepIndex, s.stepCount) ?? ''})`}>
          {position}
          {cur !== null && labels[cur - 1] ? ` · ${labels[cur - 1]}` : ''}
        </span>
      ) : null}
      {!readOnly ? <ActionBar rollout={s} steps={labels} verdicts={d.actions} /> : null}
    </header>
  );
}
