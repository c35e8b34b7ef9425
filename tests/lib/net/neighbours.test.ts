/**
 * IP → MAC/hostname: dnsmasq lease files (the format dnsmasq writes, v4 and
 * v6), the kernel neighbour table read with `ip -j neigh` in a namespace,
 * an interface's networks, and the vendor-lookup enricher over Device
 * stats, Packets and Alerts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NeighbourTable, parseLeases, parseNeighbours, readLeases } from '../../../lib/net/neighbours';
import { Enricher, checkFields } from '../../../lib/net/enrich';
import { LOCALLY_ADMINISTERED } from '../../../lib/net/vendor';
import { Lab, netnsUnavailable } from '../../support/netns';

const LEASES = [
  '1893456000 b8:27:eb:5a:01:02 192.168.4.57 pi-camera 01:b8:27:eb:5a:01:02',
  '0 dc:a6:32:00:00:09 192.168.4.58 * *',
  '1000 aa:bb:cc:00:00:01 192.168.4.59 expired-laptop *',
  'duid 00:01:00:01:2c:1d:aa:bb:cc:dd:ee:ff',
  '1893456000 1234567 fd04::57 pi-camera 00:01:00:01:2c:1d:aa:bb:cc:dd:ee:ff',
  'garbage',
].join('\n');

describe('lease file and neighbour table', () => {
  test('dnsmasq leases: v4 with MAC and hostname, "*" = no hostname, DHCPv6 without a MAC, junk skipped', () => {
    const l = parseLeases(LEASES);
    assert.equal(l.length, 4);
    assert.deepEqual(l[0], { ip: '192.168.4.57', mac: 'b8:27:eb:5a:01:02', hostname: 'pi-camera', expires: 1893456000000 });
    assert.equal(l[1].hostname, undefined);
    assert.equal(l[3].ip, 'fd04::57');
    assert.equal(l[3].mac, undefined);
  });

  test('a missing lease file is empty, not an error', async () => {
    assert.deepEqual(await readLeases('/nonexistent/dnsmasq.leases'), []);
  });

  test('NeighbourTable merges leases and neighbours; expired leases are dropped', () => {
    const table = new NeighbourTable();
    table.load(parseNeighbours(JSON.stringify([
      { dst: '192.168.4.58', dev: 'wlan0', lladdr: 'DC:A6:32:00:00:09', state: ['REACHABLE'] },
      { dst: '192.168.4.99', dev: 'wlan0', state: ['FAILED'] },
    ])), parseLeases(LEASES), 1_700_000_000_000);
    assert.deepEqual(table.byIp('192.168.4.57'), { ip: '192.168.4.57', mac: 'b8:27:eb:5a:01:02', hostname: 'pi-camera' });
    assert.equal(table.byIp('192.168.4.58')?.mac, 'dc:a6:32:00:00:09');
    assert.equal(table.byIp('192.168.4.59'), undefined, 'expired lease');
    assert.equal(table.byIp('192.168.4.99'), undefined, 'FAILED neighbour');
    assert.equal(table.byMac('B8-27-EB-5A-01-02')?.hostname, 'pi-camera');
    assert.equal(table.byIp('fd04:0::57')?.hostname, 'pi-camera');
  });
});

describe('ip -j neigh in a namespace', () => {
  let skip: string | null = null;
  let lab: Lab;
  before(async () => {
    skip = await netnsUnavailable();
    if (!skip) lab = new Lab();
  });
  after(async () => lab?.cleanup());

  test('a pinged neighbour appears with its MAC', async (t) => {
    if (skip) return t.skip(skip);
    const a = await lab.host('nba');
    const b = await lab.host('nbb');
    await lab.link(a, '10.78.0.1/24', b, '10.78.0.2/24', { bMac: 'b8:27:eb:00:78:02' });
    await a.exec('ping', ['-c', '1', '-W', '2', '10.78.0.2']);
    const n = parseNeighbours((await a.exec('ip', ['-j', 'neigh', 'show'])).stdout);
    assert.deepEqual(n.find((x) => x.ip === '10.78.0.2')?.mac, 'b8:27:eb:00:78:02');
  });
});

describe('Enricher (vendor-lookup engine)', () => {
  const table = new NeighbourTable();
  table.load([{ ip: '192.168.4.57', mac: 'b8:27:eb:5a:01:02' }], parseLeases(LEASES), 1_700_000_000_000);

  test('Device stats arrays: MAC from the table, vendor, hostname', () => {
    const e = new Enricher(table);
    const devices: Record<string, unknown>[] = [{ ip: '192.168.4.57', rxBps: 1 }, { ip: '192.168.4.60', mac: 'da:00:00:00:00:01' }, { ip: '192.168.4.61' }];
    assert.equal(e.enrich(devices), 2);
    assert.deepEqual(devices[0], { ip: '192.168.4.57', rxBps: 1, mac: 'b8:27:eb:5a:01:02', vendor: 'Raspberry Pi Foundation', hostname: 'pi-camera' });
    assert.equal(devices[1].vendor, LOCALLY_ADMINISTERED);
    assert.deepEqual(devices[2], { ip: '192.168.4.61' }, 'unknown device left as it was');
  });

  test('Packets and Alerts: the source end (src/srcMac → srcVendor/srcHostname)', () => {
    const e = new Enricher(table);
    const alert: Record<string, unknown> = { rule: 'scan.vertical', src: '192.168.4.57', dst: '10.0.0.1' };
    e.enrich(alert);
    assert.equal(alert.srcMac, 'b8:27:eb:5a:01:02');
    assert.equal(alert.srcVendor, 'Raspberry Pi Foundation');
    assert.equal(alert.srcHostname, 'pi-camera');
    const packet: Record<string, unknown> = { src: '10.0.0.9', srcMac: 'dc:a6:32:00:00:09', proto: 'tcp' };
    e.enrich([packet]);
    assert.equal(packet.srcVendor, 'Raspberry Pi Trading Ltd');
    assert.equal(packet.srcHostname, undefined);
  });

  test('custom properties; strings and buffers pass untouched; bad property names refused', () => {
    const e = new Enricher(table, checkFields({ ip: 'addr', mac: '', outVendor: 'maker', outHostname: '', outMac: 'hw' }));
    const o: Record<string, unknown> = { addr: '192.168.4.57' };
    e.enrich(o);
    assert.deepEqual(o, { addr: '192.168.4.57', hw: 'b8:27:eb:5a:01:02', maker: 'Raspberry Pi Foundation' });
    assert.equal(e.enrich('text'), 0);
    assert.equal(e.enrich(Buffer.from('x')), 0);
    assert.throws(() => checkFields({ ip: 'a.b', mac: '', outVendor: '', outHostname: '', outMac: '' }), /ip: 'a\.b' is not a property name/);
  });

  test('lease files on disk are read', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-leases-'));
    try {
      const file = path.join(dir, 'dnsmasq.leases');
      fs.writeFileSync(file, LEASES);
      const t = new NeighbourTable({ leaseFile: file, useNeighbours: false });
      await t.refresh();
      assert.equal(t.byIp('192.168.4.57')?.hostname, 'pi-camera');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
