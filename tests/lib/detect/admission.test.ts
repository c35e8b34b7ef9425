import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admit, RepeatFilter } from '../../../lib/detect/admission';
import { BoundedTable } from '../../../lib/detect/table';
import { FloodDetector } from '../../../lib/detect/flood';
import { ScanDetector } from '../../../lib/detect/scan';
import type { Packet } from '../../../lib/packet/types';
import { tcpPkt } from '../../support/packets';

const full = () => {
  const t = new BoundedTable<string, { n: number }>(2, () => ({ n: 0 }), 0);
  t.touch('a', 0);
  t.touch('b', 0);
  return t;
};

test('admit: while the table has room every key gets an entry at once', () => {
  const t = new BoundedTable<string, { n: number }>(4, () => ({ n: 0 }), 0);
  const seen = new RepeatFilter();
  assert.ok(admit(t, seen, 'x', 1, 1000) !== undefined);
  assert.equal(seen.admitted, false);
  assert.equal(t.has('x'), true);
});

test('admit: while the table is full a one-shot key creates no entry; a repeated one does, with its first sighting', () => {
  const t = full();
  const seen = new RepeatFilter();
  assert.equal(admit(t, seen, 'one-shot', 100, 1000, 7), undefined);
  assert.equal(t.has('one-shot'), false);
  assert.equal(t.evictions, 1, 'the refused key counts as evicted state');
  assert.equal(admit(t, seen, 'repeat', 110, 1000, 21), undefined);
  const v = admit(t, seen, 'repeat', 120, 1000, 22);
  assert.ok(v !== undefined);
  assert.equal(seen.admitted, true);
  assert.equal(seen.lastTs, 110);
  assert.equal(seen.lastDatum, 21);
  assert.equal(t.has('repeat'), true);
  assert.equal(t.has('one-shot'), false);
});

test('admit: a second sighting after the window is a first sighting again', () => {
  const t = full();
  const seen = new RepeatFilter();
  assert.equal(admit(t, seen, 'slow', 0, 1000), undefined);
  assert.equal(admit(t, seen, 'slow', 5000, 1000), undefined);
  assert.ok(admit(t, seen, 'slow', 5500, 1000) !== undefined);
});

test('a million one-shot spoofed SYNs still alert at the target, and a real single-source flood among them is caught per source', () => {
  const flood = new FloodDetector('fd', { maxTracked: 1000 });
  const scan = new ScanDetector('sd', { maxTracked: 1000 });
  const rules = new Set<string>();
  let attackerAlerts = 0;
  const batch: Packet[] = [];
  const flush = () => {
    for (const d of [flood, scan]) {
      for (const a of d.process(batch)) {
        rules.add(a.rule);
        if (a.rule === 'flood.syn.src' && a.src === '10.250.0.1') attackerAlerts++;
      }
    }
    batch.length = 0;
  };
  for (let i = 0; i < 1_000_000; i++) {
    const ts = 1_000_000 + i * 0.01;
    batch.push(tcpPkt(ts, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, '10.9.0.1', 1024 + (i % 60000), 80, 'S'));
    // One real single-source SYN flood: 1 in 50 packets, 2000 SYNs a second of packet time, from new ports.
    if (i % 50 === 0) batch.push(tcpPkt(ts, '10.250.0.1', '10.9.0.2', 2000 + ((i / 50) % 60000), 443, 'S'));
    if (batch.length >= 10_000) flush();
  }
  flush();
  assert.ok(rules.has('flood.syn.dst'), 'the distributed flood is caught at its target');
  assert.ok(attackerAlerts >= 1, 'the single-source flood among the spoofed ones is caught per source');
  assert.ok(flood.stats.evictions > 900_000, `evictions ${flood.stats.evictions}`);
});

test('admit: while the table is full a key it holds is touched (moved to the freshest end), not refused', () => {
  const t = full(); // a then b, a stalest
  const seen = new RepeatFilter();
  assert.ok(admit(t, seen, 'a', 10, 1000) !== undefined);
  assert.equal(seen.admitted, false);
  assert.equal(t.evictions, 0);
  assert.equal(t.lastTouch('a'), 10);
  assert.deepEqual([...t.entries()].map(([k]) => k), ['b', 'a']);
});
