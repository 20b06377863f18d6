import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSearch, searchMatcher } from '../src/lib/search';

const r = (name: string, labels: Record<string, string> = {}, namespace = 'shop', cluster = 'prod-eu') => ({ name, labels, namespace, cluster });

test('parses terms', () => {
  assert.deepEqual(parseSearch(' web , app:"checkout", !tier:fr, "exact" ,,'), [
    { kind: 'name', value: 'web', exact: false, negate: false },
    { kind: 'label', key: 'app', value: 'checkout', exact: true, negate: false },
    { kind: 'label', key: 'tier', value: 'fr', exact: false, negate: true },
    { kind: 'name', value: 'exact', exact: true, negate: false },
  ]);
  assert.deepEqual(parseSearch(''), []);
  assert.deepEqual(parseSearch('!'), []);
});

test('substring name match, case-insensitive', () => {
  const m = searchMatcher(parseSearch('CHECK'));
  assert.equal(m(r('checkout-api')), true);
  assert.equal(m(r('cart')), false);
});

test('any positive term matches', () => {
  const m = searchMatcher(parseSearch('cart, pay'));
  assert.equal(m(r('cart')), true);
  assert.equal(m(r('payments')), true);
  assert.equal(m(r('web')), false);
});

test('exact name with quotes', () => {
  const m = searchMatcher(parseSearch('"web"'));
  assert.equal(m(r('web')), true);
  assert.equal(m(r('web-2')), false);
});

test('label contains and label exact', () => {
  assert.equal(searchMatcher(parseSearch('team:pay'))(r('x', { team: 'payments' })), true);
  assert.equal(searchMatcher(parseSearch('team:"pay"'))(r('x', { team: 'payments' })), false);
  assert.equal(searchMatcher(parseSearch('team:"payments"'))(r('x', { team: 'payments' })), true);
  assert.equal(searchMatcher(parseSearch('team:pay'))(r('x', {})), false);
});

test('negation excludes, alone or with positives', () => {
  const m = searchMatcher(parseSearch('!canary'));
  assert.equal(m(r('web-canary')), false);
  assert.equal(m(r('web')), true);
  const m2 = searchMatcher(parseSearch('web, !"web-old"'));
  assert.equal(m2(r('web-old')), false);
  assert.equal(m2(r('web-new')), true);
  assert.equal(searchMatcher(parseSearch('!env:"prod"'))(r('a', { env: 'prod' })), false);
});

test('namespace/name substring', () => {
  const m = searchMatcher(parseSearch('shop/we'));
  assert.equal(m(r('web')), true);
  assert.equal(m(r('web', {}, 'other')), false);
});

test('label lookups ignore prototype keys', () => {
  assert.equal(searchMatcher(parseSearch('constructor:x'))(r('a')), false);
});
