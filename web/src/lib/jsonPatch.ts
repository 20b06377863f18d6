// Applies the server's `patch` frames (RFC 6902: add, remove, replace) without mutating the
// input: only the objects and arrays on each operation's path are copied. Pure.

import type { JsonPatchOp } from '../api/protocol';

/** Keys that would reach an object's prototype instead of the object itself. */
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** Splits an RFC 6901 JSON Pointer ("/labels/app~1tier") into keys; null when malformed. */
export function parsePointer(pointer: string): string[] | null {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return null;
  const keys = pointer
    .slice(1)
    .split('/')
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  return keys.some((k) => FORBIDDEN.has(k)) ? null : keys;
}

type Container = Record<string, unknown> | unknown[];

function isContainer(v: unknown): v is Container {
  return typeof v === 'object' && v !== null;
}

function copy(c: Container): Container {
  return Array.isArray(c) ? c.slice() : { ...c };
}

/** An array index in `key` for an array of `length` (`-` appends when `adding`); null when invalid. */
function arrayIndex(key: string, length: number, adding: boolean): number | null {
  if (adding && key === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(key)) return null;
  const i = Number(key);
  return i < length || (adding && i === length) ? i : null;
}

function applyOne(doc: unknown, op: JsonPatchOp): { ok: true; doc: unknown } | { ok: false } {
  const keys = parsePointer(op.path);
  if (keys === null) return { ok: false };
  if (keys.length === 0) return op.op === 'remove' ? { ok: false } : { ok: true, doc: op.value };
  if (!isContainer(doc)) return { ok: false };
  const root = copy(doc);
  let parent: Container = root;
  for (const key of keys.slice(0, -1)) {
    const child: unknown = Array.isArray(parent)
      ? parent[arrayIndex(key, parent.length, false) ?? -1]
      : Object.hasOwn(parent, key)
        ? parent[key]
        : undefined;
    if (!isContainer(child)) return { ok: false };
    const next = copy(child);
    if (Array.isArray(parent)) parent[Number(key)] = next;
    else parent[key] = next;
    parent = next;
  }
  const last = keys[keys.length - 1] ?? '';
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, op.op === 'add');
    if (i === null) return { ok: false };
    if (op.op === 'add') parent.splice(i, 0, op.value);
    else if (op.op === 'replace') parent[i] = op.value;
    else parent.splice(i, 1);
  } else {
    const exists = Object.hasOwn(parent, last);
    if (op.op === 'add') parent[last] = op.value;
    else if (!exists) return { ok: false };
    else if (op.op === 'replace') parent[last] = op.value;
    else delete parent[last];
  }
  return { ok: true, doc: root };
}

/**
 * Applies `ops` in order to a copy of `doc`. Returns null if any operation does not fit the
 * document (a missing path, a bad index, an unknown op): the caller then fetches a fresh
 * copy instead of showing a half-applied one.
 */
export function applyJsonPatch<T>(doc: T, ops: readonly JsonPatchOp[]): T | null {
  let current: unknown = doc;
  for (const op of ops) {
    if (op.op !== 'add' && op.op !== 'replace' && op.op !== 'remove') return null;
    const r = applyOne(current, op);
    if (!r.ok) return null;
    current = r.doc;
  }
  return current as T;
}
