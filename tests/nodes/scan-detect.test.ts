/**
 * scan-detect in Node-RED (node-red-node-test-helper). Real nmap scans are
 * in tests/integration/detect-scan.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../../lib/detect/alert';
import type { Packet } from '../../lib/packet/types';
import { tcpPkt } from '../support/packets';
import { loadDetector } from '../support/detector-harness';
import { useServerPerFile } from '../support/node-helper';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const scanNode = require('../../nodes/scan-detect/scan-detect');

const ATK = '10.9.0.66';
const VIC = '10.9.0.1';
const scan = (ports: number, t0: number, flags = 'S') => Array.from({ length: ports }, (_, i) => tcpPkt(t0 + i * 10, ATK, VIC, 45000, i + 1, flags));

useServerPerFile();

describe('scan-detect node', () => {
  it('a port scan in one batch raises scan.vertical with the ports as evidence; the batch passes on', async () => {
    const h = await loadDetector(scanNode, 'scan-detect', {});
    await h.send({ payload: scan(50, 1000) });
    assert.equal((h.packets[0].payload as Packet[]).length, 50);
    assert.deepEqual(h.alerts.map((m) => m.topic), ['scan.vertical']);
    const a = h.alerts[0].payload as Alert;
    assert.equal(a.src, ATK);
    assert.match(a.evidence ?? '', /^ports 1,2,3/);
  });

  it('one NULL-flag packet sent on its own raises scan.null', async () => {
    const h = await loadDetector(scanNode, 'scan-detect', {});
    await h.send({ payload: tcpPkt(1000, ATK, VIC, 45000, 80, '') });
    assert.deepEqual(h.alerts.map((m) => m.topic), ['scan.null']);
    assert.equal((h.packets[0].payload as Packet).dport, 80);
  });

  it('editor settings apply (odd flags off, 5 ports) and config can change the brute-force ports', async () => {
    const h = await loadDetector(scanNode, 'scan-detect', { oddFlags: false, verticalPorts: '5', bruteForcePorts: '22' });
    await h.send({ payload: scan(8, 1000, 'FPU') });
    assert.deepEqual(h.alerts.map((m) => m.topic), ['scan.vertical']);
    await h.send({ topic: 'config', payload: { bruteForcePorts: 'ssh' } });
    assert.match(h.errors.at(-1) ?? '', /bruteForcePorts: 'ssh' is not a port/);
    await h.send({ topic: 'config', payload: { bruteForcePorts: [2222], bruteForceAttempts: 3 } });
    await h.send({ payload: Array.from({ length: 5 }, (_, i) => tcpPkt(5000 + i, '10.9.0.70', VIC, 50000 + i, 2222, 'S')) });
    assert.equal(h.alerts.at(-1)?.topic, 'scan.bruteforce');
  });

  it('an allowlisted scanner passes without alerts', async () => {
    const h = await loadDetector(scanNode, 'scan-detect', { allowlist: '10.9.0.0/24' });
    await h.send({ payload: scan(100, 1000, '') });
    assert.equal(h.alerts.length, 0);
    assert.equal(h.packets.length, 1);
  });
});
