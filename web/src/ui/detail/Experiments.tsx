import type { ExperimentView } from '../../api/protocol';
import { ImageTags, StatusIcon } from '../common';
import { AnalysisRunBlock } from './Analysis';
import { ReplicaSetBlock } from './Pods';

export function ExperimentBlock({ e }: { e: ExperimentView }) {
  return (
    <div class="experiment">
      <h3>
        <StatusIcon status={e.terminated ? 'Terminated' : e.phase} size={14} /> {e.name}{' '}
        <span class="small muted" title={e.terminated ? `status.phase ${e.phase || '(none)'}: ended early by the controller (the update was aborted or the step was promoted past)` : undefined}>
          {e.terminated ? 'Terminated early' : e.phase || 'Pending'} · revision {e.revision}
          {e.duration ? ` · duration ${e.duration}` : ''}
        </span>
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
