/**
 * flood-detect in Node-RED (node-red-node-test-helper): what a flow sees on
 * both outputs, control messages, refusals, status. Real-traffic tests are in
 * tests/integration/detect-flood.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../../lib/detect/alert';
import type { Packet } from '../../lib/packet/types';
import { echoPkt, udpPkt } from '../support/packets';
import { loadDetector } from '../support/detector-harness';
import { useServerPerFile } from '../support/node-helper';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const floodNode = require('../../nodes/flood-detect/flood-detect');

const ATK = '10.9.0.66';
const VIC = '10.9.0.1';
const pings = (n: number, t0: number, src = ATK) => Array.from({ length: n }, (_, i) => echoPkt(t0 + i, src, VIC));

useServerPerFile();

describe('flood-detect node', () => {
  it('passes a batch on as a batch and sends one alert message per alert, topic = rule', async () => {
    const h = await loadDetector(floodNode, 'flood-detect', { icmpDst: '0' });
    const batch = pings(200, 1000);
    await h.send({ payload: batch });
    assert.equal(h.packets.length, 1);
    assert.ok(Array.isArray(h.packets[0].payload));
    assert.equal((h.packets[0].payload as Packet[]).length, 200);
    assert.equal(h.alerts.length, 1);
    const a = h.alerts[0].payload as Alert;
    assert.equal(h.alerts[0].topic, 'flood.icmp.src');
    assert.equal(a.src, ATK);
    assert.equal(a.detector, 'under test');
    assert.deepEqual(h.errors, []);
  });

  it('passes a single packet on as a single packet', async () => {
    const h = await loadDetector(floodNode, 'flood-detect', {});
    await h.send({ payload: echoPkt(1000, ATK, VIC), extra: 'kept' });
    assert.equal(h.packets.length, 1);
    assert.equal(Array.isArray(h.packets[0].payload), false);
    assert.equal((h.packets[0].payload as Packet).src, ATK);
    assert.equal(h.packets[0].extra, 'kept');
    assert.equal(h.alerts.length, 0);
  });

  it('config changes thresholds at runtime; a bad config is refused with the reason and the old settings stay', async () => {
    const h = await loadDetector(floodNode, 'flood-detect', { icmpDst: '0' });
    await h.send({ topic: 'config', payload: { icmpSrc: 10 } });
    await h.send({ payload: pings(20, 1000) });
    assert.equal(h.alerts.length, 1, 'threshold 10 trips on 20 pings');
    await h.send({ topic: 'config', payload: { icmpSrc: -1, udpSrc: 'many' } });
    assert.match(h.errors.at(-1) ?? '', /icmpSrc must be >= 0.*udpSrc must be a number/);
    assert.equal(h.statuses.at(-1)?.fill, 'red');
    await h.send({ payload: pings(20, 10_000, '10.9.0.77') });
    assert.equal(h.alerts.length, 2, 'old threshold 10 still applies');
    assert.equal((h.alerts[1].payload as Alert).src, '10.9.0.77');
  });

  it('reset forgets counts: two halves of a flood separated by a reset do not trip', async () => {
    const h = await loadDetector(floodNode, 'flood-detect', { icmpDst: '0' });
    await h.send({ payload: pings(40, 1000) });
    await h.send({ topic: 'reset' });
    await h.send({ payload: pings(40, 1040) });
    assert.equal(h.alerts.length, 0);
    await h.send({ payload: pings(40, 1080) });
    assert.equal(h.alerts.length, 1, 'without a reset 80 pings in a second trip it');
  });

  it('drop mode marks the flood packets with verdict drop', async () => {
    const h = await loadDetector(floodNode, 'flood-detect', { action: 'drop', icmpDst: '0' });
    await h.send({ payload: pings(100, 1000) });
    const out = h.packets[0].payload as Packet[];
    assert.equal(out.filter((p) => p.verdict === 'drop').length, 50);
    assert.equal((h.alerts[0].payload as Alert).action, 'drop');
  });

  it('refuses a payload that is not a packet, naming what is expected', async () => {
    const h = await loadDetector(floodNode, 'flood-detect', {});
    await h.send({ payload: 'hello' });
    assert.match(h.errors.at(-1) ?? '', /not a packet or a batch of packets/);
    await h.send({ payload: [{ nope: 1 }] });
    assert.match(h.errors.at(-1) ?? '', /not a batch of packets/);
    assert.equal(h.packets.length, 0);
  });

  it('an invalid editor config shows the reason and passes packets through unchecked', async () => {
    const h = await loadDetector(floodNode, 'flood-detect', { synSrc: 'lots', allowlist: '10.0.0.0/99' });
    assert.match(h.errors.join('\n'), /allowlist: invalid CIDR '10.0.0.0\/99'.*synSrc must be a number, got 'lots'/);
    assert.equal(h.statuses.at(-1)?.fill, 'red');
    await h.send({ payload: pings(200, 1000) });
    assert.equal(h.packets.length, 1);
    assert.equal(h.alerts.length, 0);
  });

  it('status shows packets, alerts and evictions', async () => {
    const h = await loadDetector(floodNode, 'flood-detect', { maxTracked: '16', icmpSrc: '0', icmpDst: '0' });
    await h.send({ payload: Array.from({ length: 100 }, (_, i) => udpPkt(1000 + i, `10.9.2.${i}`, VIC, 4000, 53)) });
    await h.send({ topic: 'reset' }); // reset refreshes the status at once
    assert.match(h.statuses.at(-1)?.text ?? '', /^0 pkts · 0 alerts · 0 evicted$/);
    await h.send({ payload: Array.from({ length: 100 }, (_, i) => udpPkt(1000 + i, `10.9.2.${i}`, VIC, 4000, 53)) });
    await new Promise((r) => setTimeout(r, 1200));
    assert.match(h.statuses.at(-1)?.text ?? '', /^100 pkts · 0 alerts · 84 evicted$/);
  });
});
