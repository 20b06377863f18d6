// The fleet (issue #14): each cluster's state as the page shows it, which of its rows are
// stale, and why its actions are disabled. Pure.
//
// A cluster that is not `synced` after it had synced once keeps its rollouts in the list as
// last known: they are "stale since" the time its current state began, and nothing may be done
// to them (the server answers 503 `clusterUnavailable` anyway; the page says why before).

import type { ClusterState, ClusterStatus } from '../api/protocol';
import type { Whoami } from './session';
import { formatClock, parseTime } from './format';

/** Each state in a few words, as the health strip and the rows say it. */
export const CLUSTER_STATE_LABELS: Record<ClusterState, string> = {
  synced: 'synced',
  syncing: 'syncing',
  unreachable: 'unreachable',
  forbidden: 'forbidden',
  crdMissing: 'CRDs missing',
  watchFailing: 'watch failing',
};

/** The label of a state, or the state as written for one this page does not know. */
export function clusterStateLabel(state: string): string {
  return (CLUSTER_STATE_LABELS as Record<string, string>)[state] ?? state;
}

/** The cluster had synced once and is not synced now: its rows are last known. */
export function isStale(st: ClusterStatus): boolean {
  return st.state !== 'synced' && st.lastSyncedAt !== null;
}

/** "stale since 12:03:04" (the time its current state began), or null when not stale. */
export function staleText(st: ClusterStatus): string | null {
  if (!isStale(st)) return null;
  const since = parseTime(st.since);
  return since !== null ? `stale since ${formatClock(since)}` : 'stale';
}

/**
 * Why nothing may be done to the rollouts of cluster `st` now, or null when it is synced. Said
 * on the disabled buttons (their title) and in the detail page.
 */
export function unavailableReason(st: ClusterStatus): string | null {
  if (st.state === 'synced') return null;
  const since = parseTime(st.since);
  const when = since !== null ? ` since ${formatClock(since)}` : '';
  const shown = isStale(st) ? ': its rollouts are shown as last known' : '';
  return `Cluster ${st.name}: ${clusterStateLabel(st.state)}${when}${shown}. Actions on it are disabled until it is synced again.`;
}

/** What the page knows per cluster, derived once per status frame (and whoami). */
export interface ClusterFacts {
  /** Cluster → "stale since …", for the clusters whose rows are stale. */
  stale: ReadonlyMap<string, string>;
  /** Cluster → why its actions are disabled (not synced, or not signed in there). */
  blocked: ReadonlyMap<string, string>;
}

/**
 * The stale rows' texts and the disabled clusters' reasons. A cluster absent from `statuses`
 * (a server that does not report clusters, or before its first status) is neither. With
 * `--auth token`, a cluster that did not accept the person's token is blocked too.
 */
export function clusterFacts(statuses: readonly ClusterStatus[], whoami: Whoami | null): ClusterFacts {
  const stale = new Map<string, string>();
  const blocked = new Map<string, string>();
  for (const st of statuses) {
    const s = staleText(st);
    if (s !== null) stale.set(st.name, s);
    const why = unavailableReason(st);
    if (why !== null) blocked.set(st.name, why);
  }
  for (const c of whoami?.clusters ?? []) {
    if (c.signedIn || blocked.has(c.name)) continue;
    blocked.set(c.name, `Not signed in on ${c.name}: the token you signed in with was not accepted by this cluster.`);
  }
  return { stale, blocked };
}

/**
 * The names of the clusters: `hello`'s (display order) when it names any, else the status
 * frame's. More than one name makes the page show the cluster column, filter and strip.
 */
export function clusterNames(hello: readonly string[], statuses: readonly ClusterStatus[]): readonly string[] {
  return hello.length > 0 ? hello : statuses.map((s) => s.name);
}

/**
 * Favorites saved before protocol 5 are `namespace/name`; a rollout is now
 * `cluster/namespace/name`. Once the clusters are known, an old favorite becomes the favorite
 * of that namespace/name in every cluster (what it meant when there was one). Null when
 * there is nothing to migrate.
 */
export function migrateFavorites(favorites: ReadonlySet<string>, clusters: readonly string[]): Set<string> | null {
  if (clusters.length === 0) return null;
  let out: Set<string> | null = null;
  for (const f of favorites) {
    // A current key has at least two slashes; an old one exactly one.
    const first = f.indexOf('/');
    if (first < 0 || f.indexOf('/', first + 1) >= 0) continue;
    out ??= new Set(favorites);
    out.delete(f);
    for (const c of clusters) out.add(`${c}/${f}`);
  }
  return out;
}
