// Filtering, grouping, counting and sorting of the list. Pure.

import { keyOf, type RolloutSummary } from '../api/protocol';
import { parseSearch, searchMatcher } from './search';

export const STATUSES = ['Degraded', 'Paused', 'Progressing', 'Healthy'] as const;
export type SortKey = 'attention' | 'name' | 'namespace' | 'cluster' | 'status' | 'updated';
export const SORT_KEYS: readonly SortKey[] = ['attention', 'name', 'namespace', 'cluster', 'status', 'updated'];

export interface ListFilter {
  /** Clusters shown; empty: all. */
  clusters: string[];
  namespaces: string[];
  search: string;
  statuses: string[];
  favoritesOnly: boolean;
  attentionOnly: boolean;
  sort: SortKey;
}

export const defaultFilter: ListFilter = {
  clusters: [],
  namespaces: [],
  search: '',
  statuses: [],
  favoritesOnly: false,
  attentionOnly: false,
  sort: 'attention',
};

const STATUS_RANK: Record<string, number> = { Degraded: 0, Paused: 1, Progressing: 2, Healthy: 3 };

export function statusRank(s: string): number {
  return STATUS_RANK[s] ?? 4;
}

export interface ListGroups {
  attention: RolloutSummary[];
  rest: RolloutSummary[];
  /** Counts per status over the cluster-, namespace- and search-filtered list (before status filters). */
  counts: Record<string, number>;
  attentionCount: number;
  favoritesCount: number;
  total: number;
}

/** The sort's order within the favorites and within the rest (a total order: keys are unique). */
export function compareWithin(sort: SortKey): (a: RolloutSummary, b: RolloutSummary) => number {
  // The same namespace/name may be in several clusters: the cluster breaks the last tie.
  const byName = (a: RolloutSummary, b: RolloutSummary) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0;
  return (a: RolloutSummary, b: RolloutSummary): number => {
    switch (sort) {
      case 'namespace': {
        const c = a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0;
        return c !== 0 ? c : byName(a, b);
      }
      case 'cluster': {
        const c = a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0;
        return c !== 0 ? c : byName(a, b);
      }
      case 'status':
      case 'attention': {
        const c = statusRank(a.status) - statusRank(b.status);
        return c !== 0 ? c : byName(a, b);
      }
      case 'updated': {
        const ta = a.createdAt ?? '';
        const tb = b.createdAt ?? '';
        return ta > tb ? -1 : ta < tb ? 1 : byName(a, b);
      }
      default:
        return byName(a, b);
    }
  };
}

/** The list's order: favorites first, then the sort's. */
export function compare(sort: SortKey, favorites: ReadonlySet<string>): (a: RolloutSummary, b: RolloutSummary) => number {
  const within = compareWithin(sort);
  const fav = (r: RolloutSummary) => (favorites.has(keyOf(r)) ? 0 : 1);
  return (a, b) => fav(a) - fav(b) || within(a, b);
}

/** Applies the filter and splits the result into "needs attention" and the rest. */
export function groupRollouts(
  all: Iterable<RolloutSummary>,
  filter: ListFilter,
  favorites: ReadonlySet<string>,
): ListGroups {
  const match = searchMatcher(parseSearch(filter.search));
  const nsSet = filter.namespaces.length > 0 ? new Set(filter.namespaces) : null;
  const clusterSet = filter.clusters.length > 0 ? new Set(filter.clusters) : null;
  const statusSet = filter.statuses.length > 0 ? new Set(filter.statuses) : null;
  const counts: Record<string, number> = {};
  let attentionCount = 0;
  let favoritesCount = 0;
  let total = 0;
  const attention: RolloutSummary[] = [];
  const rest: RolloutSummary[] = [];
  for (const r of all) {
    total++;
    if (clusterSet && !clusterSet.has(r.cluster)) continue;
    if (nsSet && !nsSet.has(r.namespace)) continue;
    if (!match(r)) continue;
    const isFav = favorites.has(keyOf(r));
    counts[r.status] = (counts[r.status] ?? 0) + 1;
    if (r.needsAttention) attentionCount++;
    if (isFav) favoritesCount++;
    if (statusSet && !statusSet.has(r.status)) continue;
    if (filter.favoritesOnly && !isFav) continue;
    if (filter.attentionOnly && !r.needsAttention) continue;
    if (r.needsAttention && filter.sort === 'attention') attention.push(r);
    else rest.push(r);
  }
  const cmp = compare(filter.sort, favorites);
  attention.sort(cmp);
  rest.sort(cmp);
  return { attention, rest, counts, attentionCount, favoritesCount, total };
}

/**
 * Reads the filter from a query string
 * (`?cluster=prod-eu&cluster=staging&ns=a,b&q=…&status=Paused&fav=1&attention=1&sort=name`).
 * `cluster` is repeated rather than comma-separated: a cluster's name is a kubeconfig context's,
 * which may hold a comma.
 */
export function filterFromQuery(search: string): ListFilter {
  const p = new URLSearchParams(search);
  const list = (k: string) => (p.get(k) ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const sort = p.get('sort');
  return {
    clusters: [...new Set(p.getAll('cluster').filter((c) => c !== ''))],
    namespaces: list('ns'),
    search: p.get('q') ?? '',
    statuses: list('status'),
    favoritesOnly: p.get('fav') === '1',
    attentionOnly: p.get('attention') === '1',
    sort: SORT_KEYS.includes(sort as SortKey) ? (sort as SortKey) : 'attention',
  };
}

/** The inverse of [`filterFromQuery`], leaving out defaults; `extra` keeps other keys (view). */
export function filterToQuery(f: ListFilter, extra: Record<string, string | null> = {}): string {
  const p = new URLSearchParams();
  for (const c of f.clusters) p.append('cluster', c);
  if (f.namespaces.length > 0) p.set('ns', f.namespaces.join(','));
  if (f.search !== '') p.set('q', f.search);
  if (f.statuses.length > 0) p.set('status', f.statuses.join(','));
  if (f.favoritesOnly) p.set('fav', '1');
  if (f.attentionOnly) p.set('attention', '1');
  if (f.sort !== 'attention') p.set('sort', f.sort);
  for (const [k, v] of Object.entries(extra)) if (v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

/** The order shown, by key, per group: what [`holdOrder`] keeps. */
export interface HeldOrder {
  attention: string[];
  rest: string[];
}

export function heldOrderOf(g: Pick<ListGroups, 'attention' | 'rest'>): HeldOrder {
  return { attention: g.attention.map(keyOf), rest: g.rest.map(keyOf) };
}

/**
 * Keeps rows where they were while the pointer is over the list: every rollout already shown
 * keeps its group and place (with its fresh data); a rollout new to the list goes to the end
 * of the group the sort puts it in; a rollout gone is dropped. Counts stay the fresh ones.
 */
export function holdOrder(fresh: ListGroups, held: HeldOrder): ListGroups {
  const pos = new Map<string, { group: 0 | 1; index: number }>();
  held.attention.forEach((k, index) => pos.set(k, { group: 0, index }));
  held.rest.forEach((k, index) => pos.set(k, { group: 1, index }));
  // Kept rows go to their held slot (slots of rows gone stay empty), in linear time.
  const slots: [(RolloutSummary | undefined)[], (RolloutSummary | undefined)[]] = [new Array(held.attention.length), new Array(held.rest.length)];
  const added: [RolloutSummary[], RolloutSummary[]] = [[], []];
  const visit = (rs: RolloutSummary[], group: 0 | 1) => {
    for (const r of rs) {
      const p = pos.get(keyOf(r));
      if (p) slots[p.group][p.index] = r;
      else added[group].push(r);
    }
  };
  visit(fresh.attention, 0);
  visit(fresh.rest, 1);
  const shown = (group: 0 | 1) => [...slots[group].filter((r): r is RolloutSummary => r !== undefined), ...added[group]];
  return { ...fresh, attention: shown(0), rest: shown(1) };
}
