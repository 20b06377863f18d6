// An immutable map whose updated versions share their contents: a version is a frozen base
// `Map` plus the few changes made since it, folded into a new base once they grow past about
// the square root of its size. The list reducer made a whole copy of its 10,000-entry maps at
// every batch to stay pure (half of a live update's script time); with this, a batch costs
// its changes plus, amortized, a small share of the occasional fold. Reads and iteration
// behave as a `Map` built by the same sets and deletes, in the same order
// (test/persistentMap.test.ts checks it against one on random operations).

/** Marks a base key deleted in `over`. */
const GONE: unique symbol = Symbol('gone');
type Gone = typeof GONE;

function lookup<K, V>(base: ReadonlyMap<K, V>, over: ReadonlyMap<K, V | Gone>, added: ReadonlyMap<K, V>, key: K): V | undefined {
  const o = over.get(key);
  if (o !== undefined || over.has(key)) return o === GONE ? added.get(key) : (o as V);
  return added.has(key) ? added.get(key) : base.get(key);
}

export class PersistentMap<K, V> implements ReadonlyMap<K, V> {
  /**
   * `base`: shared by every version made from it, never mutated. `over`: base keys replaced
   * (their new value) or deleted (`GONE`). `added`: keys not in the base, in insertion order.
   * `over` and `added` belong to this version alone (an edit copies them).
   */
  private constructor(
    private readonly base: ReadonlyMap<K, V>,
    private readonly over: ReadonlyMap<K, V | Gone>,
    private readonly added: ReadonlyMap<K, V>,
    private readonly deleted: number,
  ) {}

  /** A map of these entries (later entries win, as in `new Map(entries)`). */
  static of<K, V>(entries: Iterable<readonly [K, V]> = []): PersistentMap<K, V> {
    return new PersistentMap<K, V>(new Map(entries), new Map(), new Map(), 0);
  }

  get size(): number {
    return this.base.size - this.deleted + this.added.size;
  }

  get(key: K): V | undefined {
    return lookup(this.base, this.over, this.added, key);
  }

  has(key: K): boolean {
    const o = this.over.get(key);
    if (o === GONE) return this.added.has(key);
    return this.over.has(key) || this.added.has(key) || this.base.has(key);
  }

  *entries(): MapIterator<[K, V]> {
    for (const [k, v] of this.base) {
      const o = this.over.get(k);
      if (o === undefined && !this.over.has(k)) yield [k, v];
      else if (o !== GONE) yield [k, o as V];
    }
    yield* this.added;
  }

  *keys(): MapIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(f: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) f.call(thisArg, v, k, this);
  }

  /** Starts a new version: apply sets and deletes to the editor, then `done()`; this one is unchanged. */
  edit(): PersistentMapEditor<K, V> {
    return new PersistentMapEditor(this.base, new Map(this.over), new Map(this.added), this.deleted, PersistentMap.make);
  }

  private static make<K, V>(base: ReadonlyMap<K, V>, over: Map<K, V | Gone>, added: Map<K, V>, deleted: number): PersistentMap<K, V> {
    const m = new PersistentMap(base, over, added, deleted);
    // Folding costs one copy of the map; past about √size changes, reads and edits would cost more.
    if (over.size + added.size > 32 + Math.sqrt(base.size)) return new PersistentMap(new Map(m.entries()), new Map(), new Map(), 0);
    return m;
  }
}

/** The changes of one new version of a [`PersistentMap`]; used once. */
export class PersistentMapEditor<K, V> {
  constructor(
    private readonly base: ReadonlyMap<K, V>,
    private readonly over: Map<K, V | Gone>,
    private readonly added: Map<K, V>,
    private deleted: number,
    private readonly make: (base: ReadonlyMap<K, V>, over: Map<K, V | Gone>, added: Map<K, V>, deleted: number) => PersistentMap<K, V>,
  ) {}

  get(key: K): V | undefined {
    return lookup(this.base, this.over, this.added, key);
  }

  set(key: K, value: V): void {
    // A base key keeps its place unless it was deleted (then it goes to the end, as in a Map).
    if (this.base.has(key) && this.over.get(key) !== GONE) this.over.set(key, value);
    else this.added.set(key, value);
  }

  delete(key: K): void {
    if (this.added.delete(key)) return;
    if (this.base.has(key) && this.over.get(key) !== GONE) {
      this.over.set(key, GONE);
      this.deleted++;
    }
  }

  done(): PersistentMap<K, V> {
    return this.make(this.base, this.over, this.added, this.deleted);
  }
}

/** An editor of a new version of `m`: shared if it is a persistent map, else of a copy of it. */
export function editOf<K, V>(m: ReadonlyMap<K, V>): PersistentMapEditor<K, V> {
  return m instanceof PersistentMap ? (m as PersistentMap<K, V>).edit() : PersistentMap.of(m).edit();
}
