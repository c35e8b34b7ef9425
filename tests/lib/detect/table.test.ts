import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedTable } from '../../../lib/detect/table';

test('BoundedTable evicts the stalest entry when full and counts evictions', () => {
  const t = new BoundedTable<string, { n: number }>(3, () => ({ n: 0 }), 0);
  t.touch('a', 1).n++;
  t.touch('b', 2).n++;
  t.touch('c', 3).n++;
  t.touch('a', 4).n++; // a is now the freshest; b the stalest
  t.touch('d', 5);
  assert.equal(t.size, 3);
  assert.equal(t.evictions, 1);
  assert.equal(t.has('b'), false);
  assert.equal(t.get('a')?.n, 2);
  assert.deepEqual([...t.entries()].map(([k]) => k), ['c', 'a', 'd']);
});

test('BoundedTable stays at its cap under a million distinct keys', () => {
  const t = new BoundedTable<number, number>(1000, () => 0);
  for (let i = 0; i < 1_000_000; i++) t.touch(i, i);
  assert.equal(t.size, 1000);
  assert.equal(t.evictions, 999_000);
  assert.equal(t.has(999_999), true);
  assert.equal(t.has(0), false);
});

test('BoundedTable shrinking the cap evicts stalest first; expire ages out old entries', () => {
  const t = new BoundedTable<string, number>(10, () => 0, 0);
  for (let i = 0; i < 10; i++) t.touch(`k${i}`, i * 100);
  t.cap = 5;
  assert.deepEqual([...t.entries()].map(([k]) => k), ['k5', 'k6', 'k7', 'k8', 'k9']);
  assert.equal(t.expire(800), 3);
  assert.deepEqual([...t.entries()].map(([k]) => k), ['k8', 'k9']);
  assert.throws(() => (t.cap = 0), /integer >= 1/);
});
