import type { AnalysisRunView, RevisionView, RolloutSummary } from '../../api/protocol';
import { deniedReason } from '../../lib/permissions';
import { requestAction, useClusterBlocked, usePermissions } from '../actions';
import { ImageTags, StatusIcon, useOffline } from '../common';
import { ReplicaSetBlock } from './Pods';

function RollbackButton({ rollout, revision }: { rollout: RolloutSummary; revision: number }) {
  const offline = useOffline();
  const blocked = useClusterBlocked(rollout.cluster);
  const denied = offline ?? blocked ?? deniedReason('undo', usePermissions(rollout));
  return (
    <button type="button" class="btn btn-small" disabled={denied !== null} title={denied ?? `Roll back to revision ${revision}`} data-action="undo" onClick={() => requestAction({ action: 'undo', rollout, extra: { revision } })}>
      Roll back to {revision}
    </button>
  );
}

export function Revision({ rev, rollout, readOnly, analysisRuns }: { rev: RevisionView; rollout: RolloutSummary; readOnly: boolean; analysisRuns: AnalysisRunView[] }) {
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


/** Every revision, newest first; past the third, folded. */
export function Revisions({ revisions, rollout, readOnly, analysisRuns }: { revisions: RevisionView[]; rollout: RolloutSummary; readOnly: boolean; analysisRuns: AnalysisRunView[] }) {
  return (
    <>
      {revisions.length === 0 ? <p class="muted">No ReplicaSets yet.</p> : null}
      <ol class="revisions">
        {revisions.slice(0, 3).map((rev) => (
          <Revision key={rev.revision} rev={rev} rollout={rollout} readOnly={readOnly} analysisRuns={analysisRuns} />
        ))}
      </ol>
      {revisions.length > 3 ? (
        <details class="older">
          <summary class="small">Older revisions ({revisions.length - 3})</summary>
          <ol class="revisions">
            {revisions.slice(3).map((rev) => (
              <Revision key={rev.revision} rev={rev} rollout={rollout} readOnly={readOnly} analysisRuns={analysisRuns} />
            ))}
          </ol>
        </details>
      ) : null}
    </>
  );
}
