import { test } from 'node:test';
import assert from 'node:assert/strict';
import { editOf, PersistentMap } from '../src/lib/persistentMap';
import { rng } from './fixtures';

function assertLike(m: PersistentMap<string, number>, want: Map<string, number>, where: string): void {
  assert.equal(m.size, want.size, `${where}: size`);
  assert.deepStrictEqual([...m], [...want], `${where}: entries in order`);
  assert.deepStrictEqual([...m.keys()], [...want.keys()], `${where}: keys`);
  assert.deepStrictEqual([...m.values()], [...want.values()], `${where}: values`);
  const seen: [string, number][] = [];
  m.forEach((v, k) => seen.push([k, v]));
  assert.deepStrictEqual(seen, [...want], `${where}: forEach`);
  for (let k = 0; k < 70; k++) {
    assert.equal(m.get(`k${k}`), want.get(`k${k}`), `${where}: get k${k}`);
    assert.equal(m.has(`k${k}`), want.has(`k${k}`), `${where}: has k${k}`);
  }
}

test('a persistent map reads and iterates as a Map after random sets and deletes; older versions stay as they were (seeded)', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const next = rng(seed);
    const initial = Array.from({ length: Math.floor(next() * 50) }, (_, i) => [`k${Math.floor(next() * 70)}`, i] as [string, number]);
    let m = PersistentMap.of(initial);
    let want = new Map(initial);
    const history: { m: PersistentMap<string, number>; want: Map<string, number> }[] = [];
    for (let step = 0; step < 200; step++) {
      const ed = m.edit();
      const copy = new Map(want);
      const ops = 1 + Math.floor(next() * 8);
      for (let i = 0; i < ops; i++) {
        const key = `k${Math.floor(next() * 70)}`;
        if (next() < 0.35) {
          ed.delete(key);
          copy.delete(key);
        } else {
          const v = Math.floor(next() * 1000);
          ed.set(key, v);
          copy.set(key, v);
        }
        assert.equal(ed.get(key), copy.get(key), `seed ${seed} step ${step}: editor get`);
      }
      history.push({ m, want });
      m = ed.done();
      want = copy;
      assertLike(m, want, `seed ${seed} step ${step}`);
    }
    // Every version still reads as it did when it was made (folds included).
    history.forEach((h, i) => assertLike(h.m, h.want, `seed ${seed} version ${i}`));
  }
});

test('a deleted key set again goes to the end, as in a Map', () => {
  const m0 = PersistentMap.of([
    ['a', 1],
    ['b', 2],
    ['c', 3],
  ]);
  const ed = m0.edit();
  ed.delete('a');
  ed.set('b', 20);
  ed.set('a', 10);
  ed.set('d', 4);
  const m1 = ed.done();
  assert.deepStrictEqual([...m1], [
    ['b', 20],
    ['c', 3],
    ['a', 10],
    ['d', 4],
  ]);
  assert.deepStrictEqual([...m0], [
    ['a', 1],
    ['b', 2],
    ['c', 3],
  ]);
});

test('editOf a plain Map edits a copy; of a persistent map, a new version', () => {
  const plain = new Map([['a', 1]]);
  const ed = editOf(plain);
  ed.set('b', 2);
  const m = ed.done();
  assert.deepStrictEqual([...m], [['a', 1], ['b', 2]]);
  assert.deepStrictEqual([...plain], [['a', 1]]);
  const ed2 = editOf(m);
  ed2.delete('a');
  assert.deepStrictEqual([...ed2.done()], [['b', 2]]);
  assert.deepStrictEqual([...m], [['a', 1], ['b', 2]]);
});
