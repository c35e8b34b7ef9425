/**
 * vendor-lookup in Node-RED (node-red-node-test-helper) with a dnsmasq
 * lease file on disk. The real lease from a DHCP exchange is in
 * tests/integration/router.test.ts.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDetector } from '../support/detector-harness';
import { startServer, stopServer, unload } from '../support/node-helper';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const vendorNode = require('../../nodes/vendor-lookup/vendor-lookup');

let dir = '';
let leaseFile = '';
before(async () => {
  await startServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-vl-'));
  leaseFile = path.join(dir, 'dnsmasq.leases');
  fs.writeFileSync(leaseFile, '0 b8:27:eb:5a:01:02 192.168.4.57 pi-camera *\n');
});
after(async () => {
  await stopServer();
  fs.rmSync(dir, { recursive: true, force: true });
});
afterEach(unload);

describe('vendor-lookup node', () => {
  it('enriches a Device stats array from the lease file and the OUI registry, keeping the message', async () => {
    const h = await loadDetector(vendorNode, 'vendor-lookup', { fields: 'auto', leaseFile, neighbours: false, refreshS: 30 });
    await h.send({ topic: 'devices', payload: [{ ip: '192.168.4.57' }, { ip: '192.168.4.60', mac: '02:11:22:33:44:55' }], keep: 1 });
    assert.equal(h.packets.length, 1);
    assert.equal(h.packets[0].topic, 'devices');
    assert.equal(h.packets[0].keep, 1);
    assert.deepEqual(h.packets[0].payload, [
      { ip: '192.168.4.57', mac: 'b8:27:eb:5a:01:02', vendor: 'Raspberry Pi Foundation', hostname: 'pi-camera' },
      { ip: '192.168.4.60', mac: '02:11:22:33:44:55', vendor: 'randomized (locally administered)' },
    ]);
  });

  it('enriches an Alert by its source, and custom properties on any object', async () => {
    const h = await loadDetector(vendorNode, 'vendor-lookup', { fields: 'auto', leaseFile, neighbours: false });
    await h.send({ topic: 'scan.vertical', payload: { rule: 'scan.vertical', src: '192.168.4.57', dst: '10.0.0.1' } });
    assert.deepEqual(h.packets[0].payload, { rule: 'scan.vertical', src: '192.168.4.57', dst: '10.0.0.1', srcMac: 'b8:27:eb:5a:01:02', srcVendor: 'Raspberry Pi Foundation', srcHostname: 'pi-camera' });
    await unload();
    const c = await loadDetector(vendorNode, 'vendor-lookup', { fields: 'custom', ipField: 'host', macField: '', vendorField: 'maker', hostnameField: 'name', outMacField: '', leaseFile, neighbours: false });
    await c.send({ payload: { host: '192.168.4.57' } });
    assert.deepEqual(c.packets[0].payload, { host: '192.168.4.57', maker: 'Raspberry Pi Foundation', name: 'pi-camera' });
  });

  it('shows a relative lease file path and bad property names at deploy and passes messages on unchanged', async () => {
    const h = await loadDetector(vendorNode, 'vendor-lookup', { leaseFile: 'leases.txt' });
    assert.match(h.errors.join(' '), /lease file must be an absolute path/);
    assert.equal(h.statuses.at(-1)?.fill, 'red');
    // On the message path: fail-open, messages go on unchanged.
    await h.send({ topic: 'devices', payload: [{ ip: '192.168.4.57' }] });
    assert.deepEqual(h.packets.map((m) => m.payload), [[{ ip: '192.168.4.57' }]]);
    await unload();
    const c = await loadDetector(vendorNode, 'vendor-lookup', { fields: 'custom', ipField: 'a b', macField: '', vendorField: 'v', hostnameField: '', outMacField: '', leaseFile });
    assert.match(c.errors.join(' '), /is not a property name/);
  });
});
