import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Suppressor } from '../../../lib/detect/suppress';
import { makeAlert } from '../../../lib/detect/alerts';
import type { Alert } from '../../../lib/detect/alert';

const info = { rule: 'test.rule', sid: 1, signature: 'test', category: 'flood', severity: 'low', tracks: 'src' } as const;
const make = (ts: number) => (count: number): Alert =>
  makeAlert(info, { ts, src: '10.0.0.1', dst: '10.0.0.2', proto: 'tcp', count, windowMs: 1000, threshold: 1, reason: 'r', detector: 'd' });

test('hits within the cooldown are counted into the next alert', () => {
  const s = new Suppressor(100, 1000);
  assert.equal(s.offer('r', 'a', 0, make(0))?.count, 1);
  for (let t = 1; t < 1000; t += 100) assert.equal(s.offer('r', 'a', t, make(t)), null);
  assert.equal(s.suppressed, 10);
  const next = s.offer('r', 'a', 1000, make(1000));
  assert.equal(next?.count, 11);
  // another source is not suppressed by the first
  assert.equal(s.offer('r', 'b', 1000, make(1000))?.count, 1);
});

test('flush emits a summary with the pending count once the cooldown ends', () => {
  const s = new Suppressor(100, 1000);
  s.offer('r', 'a', 0, make(0));
  s.offer('r', 'a', 10, make(10));
  s.offer('r', 'a', 20, make(20));
  assert.deepEqual(s.flush(500), []);
  const [summary, ...rest] = s.flush(1000);
  assert.equal(rest.length, 0);
  assert.equal(summary.count, 2);
  assert.equal(summary.ts, 20);
  assert.match(summary.reason, /2 further hit/);
  assert.deepEqual(s.flush(5000), []);
  // after the flush a new hit is a fresh alert, not a repeat count
  assert.equal(s.offer('r', 'a', 6000, make(6000))?.count, 1);
});
