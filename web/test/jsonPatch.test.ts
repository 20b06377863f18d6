import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyJsonPatch, parsePointer } from '../src/lib/jsonPatch';
import type { JsonPatchOp } from '../src/api/protocol';

test('pointers unescape ~1 and ~0 and refuse prototype keys', () => {
  assert.deepEqual(parsePointer(''), []);
  assert.deepEqual(parsePointer('/labels/app.kubernetes.io~1name'), ['labels', 'app.kubernetes.io/name']);
  assert.deepEqual(parsePointer('/a~01'), ['a~1']);
  assert.deepEqual(parsePointer('/'), ['']);
  assert.equal(parsePointer('labels'), null);
  assert.equal(parsePointer('/__proto__/polluted'), null);
  assert.equal(parsePointer('/constructor/prototype'), null);
});

test('replace, add and remove as the server diff produces them, without touching the input', () => {
  const before = {
    status: 'Progressing',
    labels: { app: 'web' },
    pauseReasons: [] as string[],
    images: [{ image: 'a' }, { image: 'b' }, { image: 'c' }],
    step: null as string | null,
  };
  const frozen = JSON.parse(JSON.stringify(before));
  const ops: JsonPatchOp[] = [
    { op: 'replace', path: '/status', value: 'Paused' },
    { op: 'add', path: '/labels/rdb-mark', value: 'm7' },
    { op: 'add', path: '/pauseReasons/0', value: 'CanaryPauseStep' },
    // json-patch's diff removes trailing array items at the same index, one after the other.
    { op: 'remove', path: '/images/1' },
    { op: 'remove', path: '/images/1' },
    { op: 'replace', path: '/step', value: '1/2' },
  ];
  const after = applyJsonPatch(before, ops);
  assert.deepEqual(after, {
    status: 'Paused',
    labels: { app: 'web', 'rdb-mark': 'm7' },
    pauseReasons: ['CanaryPauseStep'],
    images: [{ image: 'a' }],
    step: '1/2',
  });
  assert.deepEqual(before, frozen, 'the input is not mutated');
  assert.equal(after?.images[0], before.images[0], 'untouched branches are shared');
});

test('null values are kept as null, not dropped', () => {
  assert.deepEqual(applyJsonPatch({ a: 1, b: 'x' }, [{ op: 'replace', path: '/b', value: null }]), { a: 1, b: null });
  assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: 'add', path: '/b', value: null }]), { a: 1, b: null });
});

test('an operation that does not fit the document fails the whole patch', () => {
  const doc = { a: { b: 1 }, list: [1, 2] };
  for (const op of [
    { op: 'replace', path: '/missing', value: 1 },
    { op: 'remove', path: '/a/c' },
    { op: 'replace', path: '/x/y/z', value: 1 },
    { op: 'add', path: '/list/5', value: 1 },
    { op: 'remove', path: '/list/01' },
    { op: 'replace', path: '/__proto__/polluted', value: 1 },
    { op: 'move', from: '/a', path: '/b' },
    { op: 'remove', path: '' },
  ] as unknown as JsonPatchOp[]) {
    assert.equal(applyJsonPatch(doc, [op]), null, JSON.stringify(op));
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(applyJsonPatch(doc, [{ op: 'replace', path: '/a/b', value: 2 }, { op: 'remove', path: '/nope' }]), null);
});

test('adding with "-" appends; a whole-document replace returns the value', () => {
  assert.deepEqual(applyJsonPatch({ l: [1] }, [{ op: 'add', path: '/l/-', value: 2 }]), { l: [1, 2] });
  assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '', value: { b: 2 } }]), { b: 2 });
});
