import type { EventView, HistoryView } from '../../api/protocol';
import { RelTime } from '../common';

/** Our Events' message is `<person> via rollouts-dashboard: <what>`: the person is said apart, so the rest reads alone. */
function ownMessage(e: EventView): string {
  const marker = ' via rollouts-dashboard: ';
  const at = e.message.indexOf(marker);
  return e.by !== null && at >= 0 ? e.message.slice(at + marker.length) : e.message;
}

/** Who did it: the person, for this dashboard's Events; else the reporting component. */
function Who({ e }: { e: EventView }) {
  if (e.by !== null) {
    return (
      <span class="history-who">
        <strong>{e.action ?? e.reason}</strong> by <strong class="history-person">{e.by}</strong>
      </span>
    );
  }
  return <span class="history-who muted">{e.source || 'unknown source'}</span>;
}

/**
 * The rollout's Kubernetes Events, newest first: the controller's (steps, pauses, analysis,
 * aborts) and this dashboard's (who promoted or aborted, and when). The API server keeps Events
 * about an hour, so the history is no older than that.
 */
export function History({ history }: { history: HistoryView }) {
  if (history.unavailable !== null) {
    return (
      <p class="muted small history-unavailable" role="note">
        History unavailable: {history.unavailable}
      </p>
    );
  }
  if (history.events.length === 0) {
    return <p class="muted small">No Events about this rollout in the last hour (Kubernetes keeps Events about an hour).</p>;
  }
  return (
    <table class="ctable small history">
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">What</th>
          <th scope="col">Who</th>
        </tr>
      </thead>
      <tbody>
        {history.events.map((e, i) => (
          <tr key={`${i}-${e.reason}-${e.time ?? ''}`} class={e.type === 'Warning' ? 'history-warning' : undefined}>
            <td class="history-when">
              <RelTime iso={e.time} />
              {e.count > 1 ? (
                <span class="tag" title={e.firstTime ? `${e.count} times since ${e.firstTime}` : `${e.count} times`}>
                  ×{e.count}
                </span>
              ) : null}
            </td>
            <td>
              {e.type === 'Warning' ? <span class="tag tag-warning">Warning</span> : null} <strong>{e.reason}</strong> {ownMessage(e)}
            </td>
            <td>
              <Who e={e} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
