import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyOf, splitKey, type RolloutSummary } from '../src/api/protocol';
import { HeldList, ListIndex } from '../src/lib/listIndex';
import { applyListFrames, changedSince, emptyListState, JOURNAL_MAX, type ListFrame, type ListState } from '../src/lib/listState';
import { defaultFilter, groupRollouts, heldOrderOf, holdOrder, type ListFilter, type ListGroups, type SortKey } from '../src/lib/listView';
import { rng, summary } from './fixtures';

const STATUSES = ['Healthy', 'Progressing', 'Paused', 'Degraded', 'Unknown'];
const NAMESPACES = ['a', 'b', 'c', 'shop'];
// Two clusters with the same namespaces and names: the same namespace/name is often in both.
const CLUSTERS = ['prod-eu', 'staging'];

function randomRollout(next: () => number): RolloutSummary {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const status = pick(STATUSES);
  return summary({
    cluster: pick(CLUSTERS),
    namespace: pick(NAMESPACES),
    // Few names, so that upserts hit existing rollouts and names repeat across namespaces.
    name: `svc-${Math.floor(next() * 40)}`,
    status,
    needsAttention: status === 'Degraded' || (status === 'Paused' && next() < 0.7),
    createdAt: next() < 0.2 ? null : `2024-01-0${1 + Math.floor(next() * 3)}T00:00:00Z`,
    labels: { tier: pick(['web', 'db']) },
    resourceVersion: String(Math.floor(next() * 1e9)),
  });
}

function randomFilter(next: () => number): ListFilter {
  const sorts: SortKey[] = ['attention', 'name', 'namespace', 'cluster', 'status', 'updated'];
  const some = <T>(xs: readonly T[]) => xs.filter(() => next() < 0.3);
  const searches = ['svc-1', 'tier:web', '!svc-2', 'shop', 'staging', 'prod-eu/a/', '!staging'];
  return {
    clusters: next() < 0.3 ? some(CLUSTERS) : [],
    namespaces: next() < 0.4 ? some(NAMESPACES) : [],
    search: next() < 0.3 ? searches[Math.floor(next() * searches.length)] as string : '',
    statuses: next() < 0.3 ? some(STATUSES) : [],
    favoritesOnly: next() < 0.15,
    attentionOnly: next() < 0.15,
    sort: sorts[Math.floor(next() * sorts.length)] as SortKey,
  };
}

function randomBatch(next: () => number, list: ListState, seq: { n: number }): ListFrame[] {
  const frames: ListFrame[] = [];
  const size = 1 + Math.floor(next() * 6);
  for (let i = 0; i < size; i++) {
    const x = next();
    if (x < 0.02) {
      frames.push({ type: 'snapshot', seq: ++seq.n, rollouts: Array.from({ length: Math.floor(next() * 60) }, () => randomRollout(next)) });
    } else if (x < 0.2) {
      const keys = [...list.rollouts.keys()];
      const key = keys[Math.floor(next() * keys.length)] ?? 'staging/a/svc-0';
      const { cluster, namespace, name } = splitKey(key)!;
      frames.push({ type: 'delete', seq: ++seq.n, cluster, namespace, name });
    } else if (x < 0.3) {
      // A patch from a wrong base: dropped, and the list asks for a resync (no rollout changes).
      frames.push({ type: 'patch', seq: ++seq.n, base: -1, cluster: 'prod-eu', namespace: 'a', name: 'svc-0', patch: [] });
    } else {
      frames.push({ type: 'upsert', seq: ++seq.n, rollout: randomRollout(next) });
    }
  }
  return frames;
}

function assertSame(index: ListIndex, list: ListState, filter: ListFilter, favorites: ReadonlySet<string>, where: string): void {
  const got = index.sync(list, filter, favorites);
  const want = groupRollouts(list.rollouts.values(), filter, favorites);
  assert.deepStrictEqual(got.attention.map(keyOf), want.attention.map(keyOf), `${where}: attention`);
  assert.deepStrictEqual(got.rest.map(keyOf), want.rest.map(keyOf), `${where}: rest`);
  // The very copies of the list (fresh data), not older ones.
  got.attention.forEach((r, i) => assert.equal(r, want.attention[i], `${where}: attention copy ${i}`));
  got.rest.forEach((r, i) => assert.equal(r, want.rest[i], `${where}: rest copy ${i}`));
  assert.deepStrictEqual(got.counts, want.counts, `${where}: counts`);
  assert.equal(got.attentionCount, want.attentionCount, `${where}: attentionCount`);
  assert.equal(got.favoritesCount, want.favoritesCount, `${where}: favoritesCount`);
  assert.equal(got.total, want.total, `${where}: total`);
  const namespaces = [...new Set([...list.rollouts.values()].map((r) => r.namespace))].sort();
  assert.deepStrictEqual([...index.namespaces()], namespaces, `${where}: namespaces`);
  const clusters = [...new Set([...list.rollouts.values()].map((r) => r.cluster))].sort();
  assert.deepStrictEqual([...index.clusters()], clusters, `${where}: clusters`);
}

test('the index equals a from-scratch grouping after every random batch (seeded)', () => {
  for (let seed = 1; seed <= 60; seed++) {
    const next = rng(seed);
    const index = new ListIndex();
    const seq = { n: 0 };
    let list = applyListFrames(emptyListState, [{ type: 'snapshot', seq: ++seq.n, rollouts: Array.from({ length: 50 }, () => randomRollout(next)) }]);
    let filter = randomFilter(next);
    let favorites: ReadonlySet<string> = new Set(['prod-eu/a/svc-1', 'staging/shop/svc-3', 'prod-eu/b/svc-7']);
    assertSame(index, list, filter, favorites, `seed ${seed} start`);
    for (let step = 0; step < 150; step++) {
      list = applyListFrames(list, randomBatch(next, list, seq));
      const x = next();
      if (x < 0.03) filter = randomFilter(next);
      else if (x < 0.05) favorites = new Set([...favorites, `${CLUSTERS[step % 2]}/${NAMESPACES[step % 4]}/svc-${step % 40}`]);
      // Sometimes several batches pass unseen (renders skipped): the index follows them all.
      if (next() < 0.6) assertSame(index, list, filter, favorites, `seed ${seed} step ${step}`);
    }
    assertSame(index, list, filter, favorites, `seed ${seed} end`);
  }
});

test('the index follows further than the journal remembers by recomputing', () => {
  const index = new ListIndex();
  let list = applyListFrames(emptyListState, [{ type: 'snapshot', seq: 1, rollouts: [summary({ name: 'a' })] }]);
  const favorites = new Set<string>();
  index.sync(list, defaultFilter, favorites);
  for (let i = 0; i < JOURNAL_MAX + 5; i++) {
    list = applyListFrames(list, [{ type: 'upsert', seq: 2 + i, rollout: summary({ name: `n${i}`, status: i % 2 ? 'Paused' : 'Healthy' }) }]);
  }
  assertSame(index, list, defaultFilter, favorites, 'after the journal');
});

test('nothing changed: the same groups; a change: new arrays, the published ones untouched', () => {
  const index = new ListIndex();
  const a = summary({ name: 'a' });
  const b = summary({ name: 'b', status: 'Degraded', needsAttention: true });
  let list = applyListFrames(emptyListState, [{ type: 'snapshot', seq: 1, rollouts: [a, b] }]);
  const favorites = new Set<string>();
  const g1 = index.sync(list, defaultFilter, favorites);
  assert.equal(index.sync(list, defaultFilter, favorites), g1);
  // A resync flag alone changes no rollout.
  list = applyListFrames(list, [{ type: 'patch', seq: 2, base: 0, cluster: 'prod-eu', namespace: 'default', name: 'zzz', patch: [] }]);
  assert.equal(list.resyncNeeded, true);
  assert.equal(index.sync(list, defaultFilter, favorites), g1);
  list = applyListFrames(list, [{ type: 'upsert', seq: 3, rollout: { ...b, status: 'Healthy', needsAttention: false } }]);
  const g2 = index.sync(list, defaultFilter, favorites);
  assert.notEqual(g2.rest, g1.rest);
  assert.deepEqual(g1.attention.map((r) => r.name), ['b']);
  assert.deepEqual(g1.rest.map((r) => r.name), ['a']);
  assert.deepEqual(g2.attention.map((r) => r.name), []);
  assert.deepEqual(g2.rest.map((r) => r.name), ['a', 'b']);
});

test('changedSince: the keys of the batches since, or null past a snapshot or the journal', () => {
  const s0 = applyListFrames(emptyListState, [{ type: 'snapshot', seq: 1, rollouts: [summary({ name: 'a' })] }]);
  assert.equal(changedSince(s0, null), null);
  const e0 = s0.journal[s0.journal.length - 1] ?? null;
  assert.deepEqual(changedSince(s0, e0), []);
  const s1 = applyListFrames(s0, [{ type: 'upsert', seq: 2, rollout: summary({ name: 'b' }) }]);
  const s2 = applyListFrames(s1, [
    { type: 'delete', seq: 3, cluster: 'prod-eu', namespace: 'default', name: 'a' },
    { type: 'upsert', seq: 4, rollout: summary({ name: 'b', status: 'Paused' }) },
  ]);
  assert.deepEqual(changedSince(s2, e0), ['prod-eu/default/b', 'prod-eu/default/a', 'prod-eu/default/b']);
  const s3 = applyListFrames(s2, [{ type: 'snapshot', seq: 9, rollouts: [] }]);
  assert.equal(changedSince(s3, e0), null);
  // A list of another subscription does not hold the entry.
  const other = applyListFrames(emptyListState, [{ type: 'snapshot', seq: 1, rollouts: [] }, { type: 'upsert', seq: 2, rollout: summary() }]);
  assert.equal(changedSince(other, e0), null);
  assert.ok(s3.journal.length <= JOURNAL_MAX);
  // A state made by hand (rollouts replaced, journal copied): the journal cannot tell.
  const byHand = { ...s2, rollouts: new Map([['prod-eu/default/x', summary({ name: 'x' })]]) };
  assert.equal(changedSince(byHand, s2.journal[s2.journal.length - 1] ?? null), null);
});

test('the index recomputes a state whose rollouts were replaced without a journal entry', () => {
  const index = new ListIndex();
  const favorites = new Set<string>();
  const s0 = applyListFrames(emptyListState, [{ type: 'snapshot', seq: 1, rollouts: [summary({ name: 'a' })] }]);
  index.sync(s0, defaultFilter, favorites);
  const byHand = { ...s0, rollouts: new Map([['prod-eu/default/b', summary({ name: 'b' })]]) };
  assertSame(index, byHand, defaultFilter, favorites, 'by hand');
});

test('the held order followed batch by batch equals holdOrder from scratch (seeded)', () => {
  const names = (g: ListGroups) => [g.attention.map(keyOf), g.rest.map(keyOf)];
  let holds = 0;
  for (let seed = 1; seed <= 60; seed++) {
    const next = rng(seed * 7919);
    const index = new ListIndex();
    const seq = { n: 0 };
    let list = applyListFrames(emptyListState, [{ type: 'snapshot', seq: ++seq.n, rollouts: Array.from({ length: 50 }, () => randomRollout(next)) }]);
    let filter = randomFilter(next);
    const favorites: ReadonlySet<string> = new Set(['prod-eu/a/svc-1', 'staging/shop/svc-3']);
    // As ListPage does: what the last render showed, and the hold while the pointer is in.
    let shown = { groups: index.sync(list, filter, favorites), list, filter };
    let hold: HeldList | null = null;
    let pointerIn = false;
    for (let step = 0; step < 150; step++) {
      list = applyListFrames(list, randomBatch(next, list, seq));
      if (next() < 0.05) pointerIn = !pointerIn;
      if (next() < 0.02) filter = randomFilter(next);
      if (next() < 0.3) continue; // a render skipped: several batches at once
      const fresh = index.sync(list, filter, favorites);
      let groups = fresh;
      if (!pointerIn || shown.filter !== filter) hold = null;
      else {
        if (hold === null) hold = new HeldList(shown.groups, shown.list);
        groups = hold.follow(list, fresh, index);
        const want = holdOrder(fresh, heldOrderOf(shown.groups));
        assert.deepStrictEqual(names(groups), names(want), `seed ${seed} step ${step}`);
        groups.attention.forEach((r, i) => assert.equal(r, want.attention[i], `seed ${seed} step ${step}: fresh copy`));
        groups.rest.forEach((r, i) => assert.equal(r, want.rest[i], `seed ${seed} step ${step}: fresh copy`));
        assert.deepStrictEqual(groups.counts, want.counts);
        holds++;
      }
      shown = { groups, list, filter };
    }
  }
  assert.ok(holds > 500, `held renders checked: ${holds}`);
});
