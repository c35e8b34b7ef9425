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

test('BoundedTable keeps the same entries and order as a reference LRU under random touches, deletes, clears and cap changes', () => {
  // Deterministic pseudo-random sequence, so a failure reproduces.
  let seed = 9;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let round = 0; round < 200; round++) {
    let cap = 1 + Math.floor(rnd() * 40);
    const t = new BoundedTable<string | number, { v: number }>(1, () => ({ v: 0 }), 0);
    t.cap = cap;
    const ref = new Map<string | number, number>(); // insertion order = LRU order
    for (let ts = 1; ts <= 2000; ts++) {
      const n = Math.floor(rnd() * cap * 2);
      const key = rnd() < 0.5 ? `10.0.0.${n}` : n;
      const op = rnd();
      if (op < 0.7) {
        t.touch(key, ts);
        if (ref.has(key)) ref.delete(key);
        else if (ref.size >= cap) ref.delete(ref.keys().next().value as string | number);
        ref.set(key, ts);
      } else if (op < 0.8) {
        assert.equal(t.delete(key), ref.delete(key));
      } else if (op < 0.995) {
        assert.equal(t.has(key), ref.has(key));
      } else if (op < 0.998) {
        t.clear();
        ref.clear();
      } else {
        cap = 1 + Math.floor(rnd() * 40);
        t.cap = cap;
        while (ref.size > cap) ref.delete(ref.keys().next().value as string | number);
      }
      assert.equal(t.size, ref.size);
    }
    assert.deepEqual([...t.entries()].map(([k]) => k), [...ref.keys()]);
  }
});
