/**
 * lan-watch in Node-RED (node-red-node-test-helper). Real tools (arpspoof,
 * arping, DHCP) in namespaces are in tests/integration/lan-watch.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../../lib/detect/alert';
import type { Packet } from '../../lib/packet/types';
import { arpPacket } from '../support/lan-frames';
import { loadDetector } from '../support/detector-harness';
import { useServerPerFile } from '../support/node-helper';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const lanNode = require('../../nodes/lan-watch/lan-watch');

const GW_MAC = '02:00:00:00:00:01';
const VIC_MAC = '02:00:00:00:00:20';
const ATK_MAC = '02:00:00:00:00:66';
const poisoning = (t0: number): Packet[] => [
  arpPacket(t0, 1, VIC_MAC, '10.9.0.20', '', '10.9.0.1'),
  arpPacket(t0 + 1, 2, GW_MAC, '10.9.0.1', VIC_MAC, '10.9.0.20'),
  arpPacket(t0 + 2, 2, ATK_MAC, '10.9.0.1', VIC_MAC, '10.9.0.20'),
];

useServerPerFile();

describe('lan-watch node', () => {
  it('a batch with ARP poisoning of the gateway passes on and raises lan.spoof.gateway; the status counts devices', async () => {
    const h = await loadDetector(lanNode, 'lan-watch', { gateways: '10.9.0.1', learnS: '0', leaseFile: '' });
    await h.send({ payload: poisoning(1000) });
    assert.equal((h.packets[0].payload as Packet[]).length, 3);
    const spoof = h.alerts.map((m) => m.payload as Alert).find((a) => a.rule === 'lan.spoof.gateway');
    assert.equal(spoof?.offender, ATK_MAC);
    await new Promise((r) => setTimeout(r, 1200));
    assert.match(h.statuses.at(-1)?.text ?? '', /^3 pkts · \d+ alerts · 0 evicted · 3 devices$/);
  });

  it('an invalid editor config shows the reason and passes packets through unchecked', async () => {
    const h = await loadDetector(lanNode, 'lan-watch', { knownDevices: 'not-a-mac', pollS: '-1' });
    assert.match(h.errors.join('\n'), /knownDevices: 'not-a-mac' is not a list of MAC addresses.*pollS must be >= 0/);
    assert.equal(h.statuses.at(-1)?.fill, 'red');
    await h.send({ payload: poisoning(1000) });
    assert.equal(h.packets.length, 1);
    assert.equal(h.alerts.length, 0);
  });
});
