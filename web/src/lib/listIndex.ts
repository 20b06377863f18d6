// The list's groups, counts and namespaces kept up to date by the changes of each batch instead
// of recomputed over every rollout: at 10,000 rollouts, filtering and sorting everything at
// every live update took 40–75 ms of the main thread; following the list's journal costs a
// binary search and an array copy per changed rollout. The result is always what
// [`groupRollouts`] computes from scratch (test/listIndex.test.ts checks it on random updates).

import { keyOf, type RolloutSummary } from '../api/protocol';
import { changedSince, type ListChange, type ListState } from './listState';
import { compare, compareWithin, heldOrderOf, holdOrder, type ListFilter, type ListGroups } from './listView';
import { parseSearch, searchMatcher } from './search';

/** What the index knows of one rollout: the copy it counted and where it put it. */
interface Entry {
  r: RolloutSummary;
  /** Passes the cluster, namespace and search filters (so it is counted). */
  counted: boolean;
  fav: boolean;
  /** 0: "needs attention", 1: the rest, null: hidden by the status, favorite or attention filters. */
  group: 0 | 1 | null;
}

type Cmp = (a: RolloutSummary, b: RolloutSummary) => number;

/** First index whose element does not sort before `r`. */
function lowerBound(rs: readonly RolloutSummary[], r: RolloutSummary, cmp: Cmp): number {
  let lo = 0;
  let hi = rs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cmp(rs[mid] as RolloutSummary, r) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Incremental [`groupRollouts`] over a [`ListState`], for one filter and set of favorites at a
 * time (another filter or favorites recompute everything, as a new snapshot does).
 */
export class ListIndex {
  private list: ListState | null = null;
  private seen: ListChange | null = null;
  private filter: ListFilter | null = null;
  private favorites: ReadonlySet<string> | null = null;
  private match: (r: RolloutSummary) => boolean = () => true;
  private nsSet: ReadonlySet<string> | null = null;
  private clusterSet: ReadonlySet<string> | null = null;
  private statusSet: ReadonlySet<string> | null = null;
  private cmp: Cmp = () => 0;
  private entries = new Map<string, Entry>();
  private groups: [RolloutSummary[], RolloutSummary[]] = [[], []];
  private counts: Record<string, number> = {};
  private attentionCount = 0;
  private favoritesCount = 0;
  private result: ListGroups | null = null;
  private nsCounts = new Map<string, number>();
  private nsList: string[] | null = null;
  private clusterCounts = new Map<string, number>();
  private clusterList: string[] | null = null;

  /** The groups of `list` under `filter` and `favorites`; the same object while nothing changed. */
  sync(list: ListState, filter: ListFilter, favorites: ReadonlySet<string>): ListGroups {
    if (this.result !== null && list === this.list && filter === this.filter && favorites === this.favorites) return this.result;
    const keys = filter === this.filter && favorites === this.favorites ? changedSince(list, this.seen) : null;
    if (keys === null) this.rebuild(list, filter, favorites);
    else this.follow(list, keys);
    this.list = list;
    this.seen = list.journal[list.journal.length - 1] ?? null;
    return this.result as ListGroups;
  }

  /** The group (0: attention, 1: the rest) and copy of a rollout shown under the filter, if it is. */
  placeOf(key: string): { group: 0 | 1; r: RolloutSummary } | undefined {
    const e = this.entries.get(key);
    return e && e.group !== null ? { group: e.group, r: e.r } : undefined;
  }

  /** The order of the groups (favorites first, then the sort's). */
  order(a: RolloutSummary, b: RolloutSummary): number {
    return this.cmp(a, b);
  }

  /** Every namespace that has a rollout, sorted; the same array while that set is unchanged. */
  namespaces(): readonly string[] {
    if (this.nsList === null) this.nsList = [...this.nsCounts.keys()].sort();
    return this.nsList;
  }

  /** Every cluster that has a rollout, sorted; the same array while that set is unchanged. */
  clusters(): readonly string[] {
    if (this.clusterList === null) this.clusterList = [...this.clusterCounts.keys()].sort();
    return this.clusterList;
  }

  private rebuild(list: ListState, filter: ListFilter, favorites: ReadonlySet<string>): void {
    this.filter = filter;
    this.favorites = favorites;
    this.match = searchMatcher(parseSearch(filter.search));
    this.nsSet = filter.namespaces.length > 0 ? new Set(filter.namespaces) : null;
    this.clusterSet = filter.clusters.length > 0 ? new Set(filter.clusters) : null;
    this.statusSet = filter.statuses.length > 0 ? new Set(filter.statuses) : null;
    this.cmp = compare(filter.sort, favorites);
    this.entries = new Map();
    this.counts = {};
    this.attentionCount = 0;
    this.favoritesCount = 0;
    this.nsCounts = new Map();
    this.nsList = null;
    this.clusterCounts = new Map();
    this.clusterList = null;
    const shown: [{ r: RolloutSummary; fav: boolean }[], { r: RolloutSummary; fav: boolean }[]] = [[], []];
    for (const [key, r] of list.rollouts) {
      const e = this.classify(key, r);
      this.count(e, 1);
      this.entries.set(key, e);
      if (e.group !== null) shown[e.group].push({ r, fav: e.fav });
    }
    // Sorted with the favorite flag computed once per rollout, not at every comparison.
    const within = compareWithin(filter.sort);
    const sorted = (xs: { r: RolloutSummary; fav: boolean }[]) =>
      xs.sort((a, b) => (a.fav === b.fav ? within(a.r, b.r) : a.fav ? -1 : 1)).map((x) => x.r);
    this.groups = [sorted(shown[0]), sorted(shown[1])];
    this.publish(list);
  }

  private follow(list: ListState, keys: readonly string[]): void {
    // Each group array is copied once per batch (at its first change), never mutated once
    // published: a held order (ListPage) keeps the previous one.
    const copied = [false, false];
    const group = (g: 0 | 1) => {
      if (!copied[g]) {
        this.groups[g] = this.groups[g].slice();
        copied[g] = true;
      }
      return this.groups[g];
    };
    let changed = false;
    for (const key of keys) {
      const old = this.entries.get(key);
      const r = list.rollouts.get(key);
      if (old?.r === r) continue; // a key repeated in the batch, or a no-op
      changed = true;
      if (old) {
        this.count(old, -1);
        this.entries.delete(key);
        if (old.group !== null) {
          const rs = group(old.group);
          let at = lowerBound(rs, old.r, this.cmp);
          // The order is total, so the copy is there; a linear search only if it were not.
          if (rs[at] !== old.r) at = rs.indexOf(old.r);
          if (at >= 0) rs.splice(at, 1);
        }
      }
      if (r) {
        const e = this.classify(key, r);
        this.count(e, 1);
        this.entries.set(key, e);
        if (e.group !== null) {
          const rs = group(e.group);
          rs.splice(lowerBound(rs, r, this.cmp), 0, r);
        }
      }
    }
    // Nothing changed (a resync flag, say): the same groups, so that nothing re-renders.
    if (changed) this.publish(list);
  }

  private classify(key: string, r: RolloutSummary): Entry {
    const f = this.filter as ListFilter;
    const fav = (this.favorites as ReadonlySet<string>).has(key);
    const counted = (this.clusterSet === null || this.clusterSet.has(r.cluster)) && (this.nsSet === null || this.nsSet.has(r.namespace)) && this.match(r);
    const shown =
      counted &&
      (this.statusSet === null || this.statusSet.has(r.status)) &&
      (!f.favoritesOnly || fav) &&
      (!f.attentionOnly || r.needsAttention);
    return { r, counted, fav, group: !shown ? null : r.needsAttention && f.sort === 'attention' ? 0 : 1 };
  }

  /** Adds (`d` = 1) or removes (-1) a rollout's share of the counts. */
  private count(e: Entry, d: 1 | -1): void {
    const ns = e.r.namespace;
    const n = (this.nsCounts.get(ns) ?? 0) + d;
    if (n === 0) this.nsCounts.delete(ns);
    else this.nsCounts.set(ns, n);
    if (n === 0 || (n === 1 && d === 1)) this.nsList = null;
    const cl = e.r.cluster;
    const m = (this.clusterCounts.get(cl) ?? 0) + d;
    if (m === 0) this.clusterCounts.delete(cl);
    else this.clusterCounts.set(cl, m);
    if (m === 0 || (m === 1 && d === 1)) this.clusterList = null;
    if (!e.counted) return;
    const c = (this.counts[e.r.status] ?? 0) + d;
    // A status nobody has any more is absent, as groupRollouts leaves it.
    if (c === 0) delete this.counts[e.r.status];
    else this.counts[e.r.status] = c;
    if (e.r.needsAttention) this.attentionCount += d;
    if (e.fav) this.favoritesCount += d;
  }

  private publish(list: ListState): void {
    this.result = {
      attention: this.groups[0],
      rest: this.groups[1],
      counts: { ...this.counts },
      attentionCount: this.attentionCount,
      favoritesCount: this.favoritesCount,
      total: list.rollouts.size,
    };
  }
}

/**
 * [`holdOrder`] followed by the changes of each batch: while the pointer holds the list, a
 * changed rollout keeps its place with its fresh copy, a new one goes to the end of its group
 * and one gone is dropped. Recomputing the held order from every shown key cost about 10 ms of
 * an update at 10,000 rollouts. Made when the hold starts, from the groups then on screen.
 */
export class HeldList {
  private shown: [RolloutSummary[], RolloutSummary[]];
  /** Where each shown rollout is, built at the first change (a hold without updates needs none). */
  private pos: Map<string, { group: 0 | 1; index: number }> | null = null;
  private seen: ListChange | null;
  private fresh: ListGroups;
  private result: ListGroups;

  /** `shown`: the groups on screen when the hold starts, computed from `list`. */
  constructor(shown: ListGroups, list: ListState) {
    this.shown = [shown.attention, shown.rest];
    this.seen = list.journal[list.journal.length - 1] ?? null;
    this.fresh = shown;
    this.result = shown;
  }

  /** The held order of `fresh`, the groups `index` computed for `list`. */
  follow(list: ListState, fresh: ListGroups, index: ListIndex): ListGroups {
    if (fresh === this.fresh) return this.result;
    const keys = changedSince(list, this.seen);
    this.seen = list.journal[list.journal.length - 1] ?? null;
    this.fresh = fresh;
    if (keys === null) {
      this.result = holdOrder(fresh, heldOrderOf({ attention: this.shown[0], rest: this.shown[1] }));
      this.shown = [this.result.attention, this.result.rest];
      this.pos = null;
      return this.result;
    }
    const pos = this.positions();
    // Copied once per batch, never mutated once published (the previous render may hold them).
    const shown: [RolloutSummary[], RolloutSummary[]] = [this.shown[0].slice(), this.shown[1].slice()];
    const added: [RolloutSummary[], RolloutSummary[]] = [[], []];
    const gone = new Set<string>();
    for (const key of new Set(keys)) {
      const p = pos.get(key);
      const f = index.placeOf(key);
      if (p && f) shown[p.group][p.index] = f.r;
      else if (p) gone.add(key);
      else if (f) added[f.group].push(f.r);
    }
    for (const g of [0, 1] as const) {
      if (gone.size > 0) shown[g] = shown[g].filter((r) => !gone.has(keyOf(r)));
      // New rows in the order of their group, as holdOrder adds them.
      shown[g].push(...added[g].sort((a, b) => index.order(a, b)));
    }
    this.shown = shown;
    if (gone.size > 0) this.pos = null;
    else {
      for (const g of [0, 1] as const) {
        const from = shown[g].length - added[g].length;
        added[g].forEach((r, i) => pos.set(keyOf(r), { group: g, index: from + i }));
      }
    }
    this.result = { ...fresh, attention: shown[0], rest: shown[1] };
    return this.result;
  }

  private positions(): Map<string, { group: 0 | 1; index: number }> {
    if (this.pos === null) {
      const pos = new Map<string, { group: 0 | 1; index: number }>();
      for (const g of [0, 1] as const) this.shown[g].forEach((r, index) => pos.set(keyOf(r), { group: g, index }));
      this.pos = pos;
    }
    return this.pos;
  }
}
