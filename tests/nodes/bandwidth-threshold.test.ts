/**
 * bandwidth-threshold in Node-RED (node-red-node-test-helper), flag mode:
 * pass-through, alert messages, runtime config and refusals. Throttling
 * with real tc and iperf3 is in tests/integration/router.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../../lib/detect/alert';
import type { DeviceStats } from '../../lib/net/types';
import { loadDetector } from '../support/detector-harness';
import { useServerPerFile, unload } from '../support/node-helper';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const bandwidthNode = require('../../nodes/bandwidth-threshold/bandwidth-threshold');

const stats = (rxBps: number): DeviceStats[] => [{ ip: '192.168.4.20', mac: 'b8:27:eb:00:00:01', rxBytes: 0, txBytes: 0, rxBps, txBps: 0, flows: 1, lastSeen: 0 }];

useServerPerFile();

describe('bandwidth-threshold node', () => {
  it('passes Device stats through unchanged and sends an alert message, topic = rule, when a device goes over', async () => {
    const h = await loadDetector(bandwidthNode, 'bandwidth-threshold', { limitBps: 1000, sustainS: 0, clearS: 0, action: 'flag' });
    await h.send({ topic: 'devices', payload: stats(5000) });
    assert.equal(h.packets.length, 1);
    assert.equal(h.packets[0].topic, 'devices');
    assert.deepEqual(h.packets[0].payload, stats(5000));
    assert.equal(h.alerts.length, 1);
    assert.equal(h.alerts[0].topic, 'bandwidth.limit');
    const a = h.alerts[0].payload as Alert;
    assert.equal(a.src, '192.168.4.20');
    assert.equal(a.srcMac, 'b8:27:eb:00:00:01');
    assert.equal(a.detector, 'under test');
    await h.send({ topic: 'devices', payload: stats(10) });
    assert.equal(h.alerts.at(-1)?.topic, 'bandwidth.clear');
    assert.deepEqual(h.errors, []);
  });

  it('config changes the limit at runtime; a bad config is refused with the reason and the old limit stays', async () => {
    const h = await loadDetector(bandwidthNode, 'bandwidth-threshold', { limitBps: 1_000_000, sustainS: 0, action: 'flag' });
    await h.send({ topic: 'devices', payload: stats(5000) });
    assert.equal(h.alerts.length, 0);
    await h.send({ topic: 'config', payload: { limitBps: 1000 } });
    await h.send({ topic: 'devices', payload: stats(5000) });
    assert.equal(h.alerts.length, 1);
    await h.send({ topic: 'config', payload: { limitBps: -5, clearPct: 200 } });
    assert.match(h.errors.at(-1) ?? '', /limitBps must be >= 0.*clearPct must be <= 100/);
    assert.equal(h.statuses.at(-1)?.fill, 'red');
    await h.send({ topic: 'config', payload: { action: 'throttle' } });
    assert.match(h.errors.at(-1) ?? '', /throttle needs the LAN-facing interface/);
  });

  it('refuses a payload that is not Device stats; a config it cannot use at deploy is shown and Device stats pass unchecked', async () => {
    const h = await loadDetector(bandwidthNode, 'bandwidth-threshold', { limitBps: 1000 });
    await h.send({ payload: 'hello' });
    assert.match(h.errors.at(-1) ?? '', /expected Device stats/);
    assert.equal(h.packets.length, 0);
    await unload();
    const bad = await loadDetector(bandwidthNode, 'bandwidth-threshold', { limitBps: 1000, action: 'throttle', interface: '' });
    assert.match(bad.errors.join(' '), /throttle needs the LAN-facing interface/);
    assert.equal(bad.statuses.at(-1)?.fill, 'red');
    // On the message path: fail-open, Device stats go on unchecked.
    await bad.send({ topic: 'devices', payload: stats(5000) });
    assert.deepEqual(bad.packets.map((m) => m.payload), [stats(5000)]);
    assert.equal(bad.alerts.length, 0);
  });
});
