import type { ReplicaSetView } from '../../api/protocol';
import { ellipsizeMiddle } from '../../lib/format';
import { Countdown, PodSquares, StatusIcon } from '../common';

/** One ReplicaSet: status, roles, counts and its pods. */
export function ReplicaSetBlock({ rs }: { rs: ReplicaSetView }) {
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
