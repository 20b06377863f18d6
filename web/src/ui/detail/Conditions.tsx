import type { ConditionView } from '../../api/protocol';
import { RelTime } from '../common';

/** Status conditions; the abort's message is told once, in the abort box. */
export function Conditions({ conditions }: { conditions: ConditionView[] }) {
  const abortMessage = conditions.find((c) => c.reason === 'RolloutAborted')?.message ?? null;
  return (
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
        {conditions.map((c) => (
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
  );
}
