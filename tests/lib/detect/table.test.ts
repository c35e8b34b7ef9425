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

test('BoundedTable: a number key and a string key with the same text are different entries', () => {
  const t = new BoundedTable<string | number, { v: string }>(10, (k) => ({ v: typeof k }), 0);
  t.touch(1, 1);
  t.touch('1', 2);
  t.touch(0, 3);
  t.touch('', 4);
  t.touch('NaN', 5);
  assert.equal(t.size, 5);
  assert.equal(t.get(1)?.v, 'number');
  assert.equal(t.get('1')?.v, 'string');
  assert.equal(t.get(0)?.v, 'number');
  assert.equal(t.get('')?.v, 'string');
  assert.equal(t.has('0'), false);
  assert.equal(t.has(NaN), false, 'a string cell holds NaN as its number key: it must never match');
  assert.equal(t.delete('1'), true);
  assert.equal(t.get(1)?.v, 'number');
  assert.deepEqual([...t.entries()].map(([k]) => k), [1, 0, '', 'NaN']);
});

test('BoundedTable: 48-bit number keys (address × 65536 + port) and their second parts are exact', () => {
  const t = new BoundedTable<number, { n: number }>(100, () => ({ n: 0 }), 0);
  const a = 0xc0a80150; // 192.168.1.80 above 2^31
  const k1 = a * 65536 + 443;
  const k2 = a * 65536 + 444;
  t.touch(k1, 1, 0x0a000001 * 65536 + 80).n = 1;
  t.touch(k2, 2, 0x0a000001 * 65536 + 80).n = 2;
  t.touch(k1, 3, 0x0a000001 * 65536 + 81).n = 3;
  t.touch(-k1, 4).n = 4;
  assert.equal(t.size, 4);
  assert.equal(t.get(k1, 0x0a000001 * 65536 + 80)?.n, 1);
  assert.equal(t.get(k2, 0x0a000001 * 65536 + 80)?.n, 2);
  assert.equal(t.get(k1, 0x0a000001 * 65536 + 81)?.n, 3);
  assert.equal(t.get(-k1)?.n, 4);
  assert.equal(t.has(k1), false, 'key2 0 is a different key');
  assert.equal(t.lastTouch(k2, 0x0a000001 * 65536 + 80), 2);
  assert.deepEqual([...t.entries()].map(([k]) => k), [k1, k2, k1, -k1]);
});

test('BoundedTable grows past its first cells keeping every key and the order; a full table then evicts stalest first', () => {
  const cap = 5000;
  const t = new BoundedTable<string | number, { k: string | number }>(cap, (k) => ({ k }), 0);
  const keyOf = (i: number): string | number => (i % 3 === 0 ? `fd00::${i.toString(16)}` : i * 65536 + 7);
  for (let i = 0; i < cap; i++) t.touch(keyOf(i), i);
  assert.equal(t.size, cap);
  for (let i = 0; i < cap; i++) assert.equal(t.get(keyOf(i))?.k, keyOf(i));
  // Touch the first 10 again: they become the freshest; the next 10 are then evicted first.
  for (let i = 0; i < 10; i++) t.touch(keyOf(i), cap + i);
  for (let i = 0; i < 10; i++) t.touch(keyOf(cap + i), 2 * cap + i);
  assert.equal(t.evictions, 10);
  for (let i = 10; i < 20; i++) assert.equal(t.has(keyOf(i)), false);
  for (let i = 0; i < 10; i++) assert.equal(t.has(keyOf(i)), true);
  const order = [...t.entries()].map(([k]) => k);
  assert.deepEqual(order.slice(0, 3), [keyOf(20), keyOf(21), keyOf(22)]);
  assert.deepEqual(order.slice(-20), [...Array.from({ length: 10 }, (_, i) => keyOf(i)), ...Array.from({ length: 10 }, (_, i) => keyOf(cap + i))]);
});

test('BoundedTable touchExisting and cellOf/touchCell touch like touch does, and create nothing for an absent key', () => {
  const t = new BoundedTable<string | number, { n: number }>(3, () => ({ n: 0 }), 0);
  t.touch(1, 1);
  t.touch('b', 2);
  t.touch(3, 3);
  assert.equal(t.touchExisting(2, 4), undefined);
  assert.equal(t.cellOf('x'), -1);
  assert.equal(t.size, 3);
  assert.ok(t.touchExisting(1, 5) !== undefined);
  const cell = t.cellOf('b');
  assert.ok(cell >= 0);
  t.touchCell(cell, 6).n = 9;
  assert.equal(t.get('b')?.n, 9);
  assert.equal(t.lastTouch('b'), 6);
  assert.deepEqual([...t.entries()].map(([k]) => k), [3, 1, 'b']);
});

test('BoundedTable with a reorder granularity: an entry moves to the end at most once per granularity, and the order matches a reference under random touches, inserts, deletes and evictions', () => {
  let seed = 17;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let round = 0; round < 100; round++) {
    const cap = 1 + Math.floor(rnd() * 60);
    const reorderMs = Math.floor(rnd() * 50);
    const t = new BoundedTable<string | number, { v: number }>(cap, () => ({ v: 0 }), reorderMs);
    // Reference: insertion order = eviction order; the value is the packet time of the last move (or insert).
    const ref = new Map<string | number, number>();
    const last = new Map<string | number, number>();
    for (let ts = 1; ts <= 1500; ts++) {
      const n = Math.floor(rnd() * cap * 1.5);
      const key = rnd() < 0.3 ? `fd00::${n}` : n * 65536 + 7;
      if (rnd() < 0.9) {
        t.touch(key, ts);
        const moved = ref.get(key);
        if (moved === undefined) {
          if (ref.size >= cap) {
            const old = ref.keys().next().value as string | number;
            ref.delete(old);
            last.delete(old);
          }
          ref.set(key, ts);
        } else if (ts - moved >= reorderMs) {
          ref.delete(key);
          ref.set(key, ts);
        }
        last.set(key, ts);
      } else {
        assert.equal(t.delete(key), ref.delete(key));
        last.delete(key);
      }
    }
    assert.deepEqual([...t.entries()].map(([k]) => k), [...ref.keys()]);
    // Exact to within the granularity: every entry's last touch is less than reorderMs after its place in the order.
    for (const [k, moved] of ref) {
      assert.equal(t.lastTouch(k), last.get(k));
      assert.ok((last.get(k) as number) - moved < Math.max(1, reorderMs));
    }
  }
});

test('BoundedTable reorderMs can be changed: later touches follow the new granularity; a bad value is refused', () => {
  const t = new BoundedTable<number, number>(10, () => 0, 1000);
  t.touch(1, 0);
  t.touch(2, 1);
  t.touch(1, 500); // within 1000 ms of its insert: stays first
  assert.deepEqual([...t.entries()].map(([k]) => k), [1, 2]);
  t.reorderMs = 100;
  assert.equal(t.reorderMs, 100);
  t.touch(1, 600);
  assert.deepEqual([...t.entries()].map(([k]) => k), [2, 1]);
  assert.throws(() => (t.reorderMs = -1), /finite number >= 0/);
  assert.throws(() => (t.reorderMs = Number.NaN), /finite number >= 0/);
  assert.equal(t.reorderMs, 100);
});
