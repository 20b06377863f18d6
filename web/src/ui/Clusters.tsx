// The fleet in the page: each cluster's health (a strip of chips, each opening its details)
// and the resolution of an old `rollout/{ns}/{name}` link once the clusters are known.

import { useEffect, useState } from 'preact/hooks';
import type { ClusterStatus } from '../api/protocol';
import { getJson } from '../api/session';
import { clusterStateLabel, isStale } from '../lib/clusters';
import { formatAbsolute, formatClock, parseTime } from '../lib/format';
import { legacyTarget } from '../lib/router';
import { clustersOf, isFleet, useStore } from '../state/store';
import { navigate } from './router';

/** The strip's colour class of a state: synced is fine, syncing is on its way, the rest is wrong. */
function stateClass(st: ClusterStatus): string {
  return st.state === 'synced' ? 'ok' : st.state === 'syncing' && !isStale(st) ? 'run' : 'bad';
}

function time(iso: string | null): string {
  const t = parseTime(iso);
  return t === null ? 'never' : formatAbsolute(t);
}

/** One cluster: its name, state and count; opening it shows the message and the times. */
function ClusterChip({ st }: { st: ClusterStatus }) {
  const since = parseTime(st.since);
  const stale = isStale(st);
  return (
    <details class={`cluster-chip cluster-${stateClass(st)}`} data-cluster={st.name} data-state={st.state}>
      <summary class="btn btn-small" title={st.problem?.message ?? `${st.name}: ${clusterStateLabel(st.state)}`}>
        <span class="conn-dot" aria-hidden="true" /> <strong>{st.name}</strong> <span class="cluster-state">{clusterStateLabel(st.state)}</span>
        {stale && since !== null ? <span class="small"> since {formatClock(since)}</span> : null}
        <span class="count">{st.rollouts}</span>
      </summary>
      <div class="ns-menu cluster-pop" role="group" aria-label={`Cluster ${st.name}`}>
        <dl class="kv small">
          <div>
            <dt>Cluster</dt>
            <dd>{st.name}</dd>
          </div>
          <div>
            <dt>State</dt>
            <dd>{clusterStateLabel(st.state)}</dd>
          </div>
          <div>
            <dt>Since</dt>
            <dd>{time(st.since)}</dd>
          </div>
          <div>
            <dt>Last synced</dt>
            <dd>{time(st.lastSyncedAt)}</dd>
          </div>
          <div>
            <dt>Rollouts</dt>
            <dd>{st.rollouts}</dd>
          </div>
        </dl>
        {st.problem ? <p class="small">{st.problem.message}</p> : null}
        {stale ? <p class="small muted">Its rollouts are shown as last known, and actions on them are disabled until it is synced again.</p> : null}
      </div>
    </details>
  );
}

/**
 * Each cluster's state, shown with more than one cluster (with one, the page's banners say
 * what is wrong, as before): synced, syncing, unreachable, forbidden, CRDs missing, watch
 * failing, with the message and since when.
 */
export function ClusterStrip() {
  const fleet = useStore(isFleet);
  const statuses = useStore((s) => s.clusterStatus);
  if (!fleet || statuses.length === 0) return null;
  const bad = statuses.filter((st) => st.state !== 'synced').length;
  return (
    <section class="cluster-strip" aria-label="Clusters" data-bad={bad}>
      <span class="small muted">{bad === 0 ? `${statuses.length} clusters, all synced` : `${statuses.length} clusters, ${bad} not synced:`}</span>
      {statuses.map((st) => (
        <ClusterChip key={st.name} st={st} />
      ))}
    </section>
  );
}

/**
 * An old `rollout/{ns}/{name}` link: once the clusters are known (from the stream, else
 * GET api/v1/status), the rollout with one cluster, the list filtered to it with several.
 */
export function LegacyDetail({ namespace, name }: { namespace: string; name: string }) {
  const streamed = useStore(clustersOf);
  const [asked, setAsked] = useState<readonly string[]>([]);
  const clusters = streamed.length > 0 ? streamed : asked;
  useEffect(() => {
    // The stream may be blocked (polling): the status endpoint names the clusters too.
    let cancelled = false;
    void getJson('api/v1/status').then((j) => {
      const cs = (j as { clusters?: unknown } | null)?.clusters;
      if (cancelled || !Array.isArray(cs)) return;
      setAsked(cs.flatMap((c: unknown) => (typeof (c as { name?: unknown } | null)?.name === 'string' ? [(c as { name: string }).name] : [])));
    });
    return () => {
      cancelled = true;
    };
  }, []);
  const target = legacyTarget(namespace, name, clusters);
  useEffect(() => {
    if (target !== null) navigate(target, { replace: true });
  }, [target]);
  return (
    <main id="main" class="page page-detail">
      <div class="loading" role="status">
        <span class="spinner" aria-hidden="true" /> Finding {namespace}/{name}…
      </div>
    </main>
  );
}
