import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DistinctCounter, WindowCounter } from '../../../lib/detect/window';

test('WindowCounter counts events in the last window of packet time', () => {
  const w = new WindowCounter();
  let n = 0;
  for (let i = 0; i < 100; i++) n = w.add(1000 + i * 10, 1000); // 100 events in 1 s
  assert.equal(n, 100);
  assert.equal(w.value(2500, 1000), 50); // half of the previous bucket still overlaps
  assert.equal(w.value(4000, 1000), 0);
});

test('WindowCounter at a steady rate stays at the rate', () => {
  const w = new WindowCounter();
  let n = 0;
  for (let i = 0; i < 10_000; i++) n = w.add(i * 5, 1000); // 200 per second for 50 s
  assert.ok(Math.abs(n - 200) <= 2, `got ${n}`);
});

test('WindowCounter.remove takes back an event still in the window only', () => {
  const w = new WindowCounter();
  w.add(0, 1000);
  w.add(100, 1000);
  w.remove(100, 200, 1000);
  assert.equal(w.value(200, 1000), 1);
  w.remove(0, 5000, 1000); // long gone: no effect, no negative counts
  assert.equal(w.value(5000, 1000), 0);
});

test('DistinctCounter counts distinct values in the window, capped', () => {
  const d = new DistinctCounter();
  for (let port = 1; port <= 10; port++) d.add(port, port * 1000, 60_000, 100);
  assert.equal(d.add(5, 11_000, 60_000, 100), 10); // repeat is not new
  assert.equal(d.count(65_000, 60_000), 6); // ports 1..4 are older than 60 s (5 was refreshed)
  for (let port = 100; port < 1000; port++) d.add(port, 70_000, 60_000, 25);
  assert.equal(d.count(70_000, 60_000), 25);
  assert.equal(d.delete(100), true);
  assert.equal(d.count(70_000, 60_000), 24);
});

test('DistinctCounter keeps order and times through delete, expiry, reset and reuse', () => {
  const d = new DistinctCounter();
  const big = 2 ** 37 * 65536 + 443; // a 53-bit key (withPort of a text id): not a small integer
  assert.equal(d.add(7, 1000, 10_000, 10), 1);
  assert.equal(d.add(big, 2000, 10_000, 10), 2);
  assert.equal(d.add(9, 3000, 10_000, 10), 3);
  assert.equal(d.add(7, 4000, 10_000, 10), 3); // refreshed: 7 now last seen at 4000
  assert.equal(d.delete(big), true);
  assert.equal(d.delete(big), false);
  assert.deepEqual(d.values(), [7, 9]);
  assert.equal(d.add(big, 5000, 10_000, 10), 3);
  assert.deepEqual(d.values(), [7, 9, big]);
  assert.equal(d.count(13_500, 10_000), 2); // 9 (3000) expired; 7 (4000) and big (5000) stay, in order
  assert.deepEqual(d.values(), [7, big]);
  assert.equal(d.count(14_500, 10_000), 1);
  assert.equal(d.count(15_500, 10_000), 0);
  assert.equal(d.add(1, 20_000, 10_000, 2), 1); // empty again: the oldest time starts over
  assert.equal(d.count(29_000, 10_000), 1);
  d.reset();
  assert.equal(d.count(29_000, 10_000), 0);
  assert.deepEqual(d.values(), []);
  assert.equal(d.delete(1), false);
  assert.equal(d.add(3, 30_000, 10_000, 2), 1); // reused after reset: no stale value or time
  assert.equal(d.add(4, 31_000, 10_000, 2), 2);
  assert.equal(d.add(5, 31_000, 10_000, 2), 2); // capped
  assert.deepEqual(d.values(), [3, 4]);
  assert.equal(d.count(40_500, 10_000), 1); // 3 (30000) expired, 4 stays
  assert.deepEqual(d.values(), [4]);
});
