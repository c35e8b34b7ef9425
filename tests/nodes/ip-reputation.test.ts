/**
 * ip-reputation in Node-RED (node-red-node-test-helper) with a list file on
 * disk and the Node-RED user directory in a temporary directory: packets
 * passed on in the form received, alerts naming the device with its MAC and
 * vendor, suppression, drop mode, the allowlist, flow records enriched with
 * GeoIP, a refresh that removes an address, a bad configuration.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nodeHelper, load, startServer, stopServer, unload, type Spy } from '../support/node-helper';
import { decodePacket } from '../../lib/packet/decode';
import type { Packet } from '../../lib/packet/types';
import type { Alert } from '../../lib/detect/alert';
import type { ListReport } from '../../lib/net/reputation/engine';
import { ether, ipv4, tcp } from '../../bench/support/make-capture';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const repNode = require('../../nodes/ip-reputation/ip-reputation');

interface HelperNode {
  on(event: string, fn: (arg: never) => void): void;
  receive(msg: Record<string, unknown>): void;
  error: Spy;
  status: Spy;
}
interface Out {
  topic?: string;
  payload: unknown;
  [k: string]: unknown;
}

const helper = nodeHelper<HelperNode>();
const PI_MAC = 'b8:27:eb:5a:01:02';
const GW_MAC = '02:00:00:00:00:01';
const DEVICE = '192.168.4.57';
const C2 = '203.0.113.66';

let dir = '';
let listFile = '';
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-rep-node-'));
  listFile = path.join(dir, 'c2.txt');
  helper.settings({ userDir: dir });
  await startServer();
});
after(async () => {
  await stopServer();
  fs.rmSync(dir, { recursive: true, force: true });
});
afterEach(unload);

/** A TCP SYN on Ethernet, decoded as pcap-in would. */
function syn(src: string, dst: string, srcMac: string, dstMac: string, dport = 443): Packet {
  const frame = ether(dstMac, srcMac, 0x0800, ipv4(src, dst, 6, tcp(40_000, dport, 'S')));
  return decodePacket(frame, 1, 1_700_000_000_000, frame.length);
}

async function loadRep(config: Record<string, unknown>) {
  const flow = [
    { id: 'iprep', type: 'ip-reputation', name: 'threat lists', wires: [['o1'], ['o2'], ['o3']], ...config },
    { id: 'o1', type: 'helper' },
    { id: 'o2', type: 'helper' },
    { id: 'o3', type: 'helper' },
    { id: 'done', type: 'complete', scope: ['iprep'], uncaught: false, wires: [['fin']] },
    { id: 'caught', type: 'catch', scope: ['iprep'], uncaught: false, wires: [['fin']] },
    { id: 'fin', type: 'helper' },
  ];
  const out = { o1: [] as Out[], o2: [] as Out[], o3: [] as Out[], fin: 0, errors: [] as string[], statuses: [] as { fill?: string; text?: string }[] };
  await load(repNode, flow);
  for (const id of ['o1', 'o2', 'o3'] as const) helper.getNode(id).on('input', (m: Out) => void out[id].push(m));
  helper.getNode('fin').on('input', () => void out.fin++);
  const node = helper.getNode('iprep');
  for (const call of node.error.getCalls()) if (call.thisValue === node) out.errors.push(String(call.args[0]));
  node.on('call:error', (call: { args: unknown[] }) => void out.errors.push(String(call.args[0])));
  node.on('call:status', (call: { args: unknown[] }) => void out.statuses.push(call.args[0] as { fill?: string; text?: string }));
  const until = async (what: string, cond: () => boolean, ms = 120_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  // Start refreshes every list (the file may have changed since a cached copy): wait for that report, unless the node did not start.
  if (!/passing messages through/.test(out.errors.join(' '))) await until('the first refresh report', () => out.o3.some((m) => Array.isArray(m.refresh)));
  return {
    out,
    until,
    async send(msg: Record<string, unknown>): Promise<void> {
      const before = out.fin;
      node.receive(msg);
      await until('the node to finish the message', () => out.fin > before);
      await new Promise((r) => setTimeout(r, 30));
    },
  };
}

const sources = (extra: Record<string, unknown> = {}) => JSON.stringify([{ name: 'feodo', url: listFile, format: 'feodo', category: 'c2', severity: 'high', refreshS: 0, ...extra }]);

describe('ip-reputation node', () => {
  it('passes a batch on unchanged and alerts once per device and list, naming the device, its MAC and vendor; the listed address is the offender', async () => {
    fs.writeFileSync(listFile, `# Feodo Tracker\n${C2}\n198.51.100.0/24\n`);
    const h = await loadRep({ sources: sources(), geoip: false });
    await h.until('the list report at start', () => h.out.o3.length > 0);
    const lists = h.out.o3[0].payload as ListReport[];
    assert.equal(lists[0].name, 'feodo');
    assert.equal(lists[0].entries, 2);
    const batch = [syn(DEVICE, C2, PI_MAC, GW_MAC), syn(DEVICE, '192.0.2.80', PI_MAC, GW_MAC), syn(DEVICE, C2, PI_MAC, GW_MAC)];
    await h.send({ payload: batch });
    assert.equal(h.out.o1.length, 1);
    assert.equal((h.out.o1[0].payload as Packet[]).length, 3);
    assert.equal((h.out.o1[0].payload as Packet[])[0].verdict, undefined, 'alert mode sets no verdict');
    assert.equal(h.out.o2.length, 1, 'the second hit of the same device and list is suppressed');
    const a = h.out.o2[0].payload as Alert;
    assert.equal(h.out.o2[0].topic, 'reputation.outbound');
    assert.equal(a.category, 'reputation');
    assert.equal(a.list, 'feodo');
    assert.equal(a.listEntry, `${C2}/32`);
    assert.equal(a.direction, 'outbound');
    assert.equal(a.device, DEVICE);
    assert.equal(a.deviceMac, PI_MAC);
    assert.equal(a.deviceVendor, 'Raspberry Pi Foundation');
    assert.equal(a.offender, C2);
    assert.match(a.reason, /LAN device 192\.168\.4\.57 \(b8:27:eb:5a:01:02, Raspberry Pi Foundation\) reached 203\.0\.113\.66, on list 'feodo' \(c2\) as 203\.0\.113\.66\/32/);
    // A scanner in the listed network reaching in.
    await h.send({ payload: syn('198.51.100.9', DEVICE, GW_MAC, PI_MAC, 22) });
    const inbound = h.out.o2[1].payload as Alert;
    assert.equal(inbound.rule, 'reputation.inbound');
    assert.equal(inbound.offender, '198.51.100.9');
    assert.equal(inbound.listEntry, '198.51.100.0/24');
    assert.equal(inbound.deviceMac, PI_MAC);
  });

  it("drop mode marks packets to and from listed addresses 'drop'; the allowlist wins over the list", async () => {
    fs.writeFileSync(listFile, `${C2}\n198.51.100.0/24\n`);
    const h = await loadRep({ sources: sources(), geoip: false, mode: 'drop', allowlist: '198.51.100.7' });
    const batch = [syn(DEVICE, C2, PI_MAC, GW_MAC), syn(DEVICE, '192.0.2.80', PI_MAC, GW_MAC), syn('198.51.100.7', DEVICE, GW_MAC, PI_MAC), syn('198.51.100.8', DEVICE, GW_MAC, PI_MAC)];
    await h.send({ payload: batch });
    const passed = h.out.o1[0].payload as Packet[];
    assert.deepEqual(passed.map((p) => p.verdict), ['drop', undefined, undefined, 'drop']);
    assert.deepEqual(h.out.o2.map((m) => (m.payload as Alert).offender), [C2, '198.51.100.8']);
    assert.ok(h.out.o2.every((m) => (m.payload as Alert).action === 'drop'));
  });

  it('a refresh that removes an address stops its alerts; a failed refresh keeps the list and says why', async () => {
    fs.writeFileSync(listFile, `${C2}\n203.0.113.67\n`);
    const h = await loadRep({ sources: sources(), geoip: false, cooldownS: 0 });
    await h.send({ payload: syn(DEVICE, C2, PI_MAC, GW_MAC) });
    assert.equal(h.out.o2.length, 1);
    fs.writeFileSync(listFile, '203.0.113.67\n');
    await h.send({ topic: 'refresh' });
    await h.until('the refresh report', () => h.out.o3.some((m) => Array.isArray(m.refresh)));
    const report = h.out.o3.find((m) => Array.isArray(m.refresh)) as Out;
    assert.equal((report.refresh as { result: string }[])[0].result, 'updated');
    await h.send({ payload: syn(DEVICE, C2, PI_MAC, GW_MAC) });
    assert.equal(h.out.o2.length, 1, 'no alert for the address taken off the list');
    fs.rmSync(listFile);
    const n = h.out.o3.length;
    await h.send({ topic: 'refresh' });
    await h.until('the second refresh report', () => h.out.o3.length > n);
    const failed = (h.out.o3.at(-1)?.payload as ListReport[])[0];
    assert.equal(failed.last?.result, 'failed');
    assert.match(failed.last?.reason ?? '', /ENOENT.*keeping the good copy \(1 entries\)/);
    assert.equal(failed.entries, 1);
    await h.until('a yellow status naming the list', () => h.out.statuses.some((s) => s.fill === 'yellow' && /feodo/.test(s.text ?? '')));
  });

  it('adds country, AS number and organisation to flow records and to other alerts, and alerts on flows with the MAC learnt from device stats', async () => {
    fs.writeFileSync(listFile, '8.8.4.4\n');
    const h = await loadRep({ sources: sources(), geoip: true, asn: true });
    await h.send({ topic: 'devices', payload: [{ ip: DEVICE, mac: PI_MAC, rxBytes: 0, txBytes: 0, rxBps: 0, txBps: 0, flows: 2, lastSeen: 0 }] });
    const flow = (dst: string) => ({ proto: 'tcp', src: DEVICE, dst, sport: 40_000, dport: 443, origBytes: 100, origPackets: 1, replyBytes: 0, replyPackets: 0, start: 1_700_000_000_000, device: DEVICE });
    await h.send({ topic: 'flows', payload: [flow('1.1.1.1'), flow('8.8.4.4')] });
    const flows = h.out.o1.at(-1)?.payload as Record<string, unknown>[];
    assert.deepEqual([flows[0].country, flows[0].asn, flows[0].asOrg], ['AU', 13335, 'Cloudflare, Inc.']);
    assert.deepEqual([flows[1].country, flows[1].asn, flows[1].asOrg], ['US', 15169, 'Google LLC']);
    const a = h.out.o2[0].payload as Alert;
    // Another detector's alert passes on output 1 with the GeoIP of its offender.
    await h.send({ topic: 'scan.vertical', payload: { rule: 'scan.vertical', severity: 'medium', category: 'scan', src: '1.1.1.1', dst: DEVICE, offender: '1.1.1.1' } });
    assert.deepEqual(h.out.o1.at(-1)?.payload, { rule: 'scan.vertical', severity: 'medium', category: 'scan', src: '1.1.1.1', dst: DEVICE, offender: '1.1.1.1', country: 'AU', asn: 13335, asOrg: 'Cloudflare, Inc.' });
    assert.equal(a.rule, 'reputation.outbound');
    assert.equal(a.deviceMac, PI_MAC);
    assert.equal(a.deviceVendor, 'Raspberry Pi Foundation');
    assert.deepEqual([a.country, a.asn, a.asOrg, a.offender], ['US', 15169, 'Google LLC', '8.8.4.4']);
  });

  it('an unreadable MMDB file turns GeoIP off with a warning; the lists still alert', async () => {
    fs.writeFileSync(listFile, `${C2}\n`);
    const h = await loadRep({ sources: sources(), geoip: true, mmdbFile: path.join(dir, 'missing.mmdb') });
    await h.send({ payload: syn(DEVICE, C2, PI_MAC, GW_MAC) });
    assert.equal(h.out.o2.length, 1);
    assert.equal((h.out.o2[0].payload as Alert).country, undefined);
    await h.until('a yellow status saying why', () => h.out.statuses.some((st) => st.fill === 'yellow' && /no GeoIP/.test(st.text ?? '')));
  });

  it('a bad lists setting is shown in red and packets pass through unchecked', async () => {
    const h = await loadRep({ sources: '[{"name":"x","url":"ftp://nowhere"}]', geoip: false });
    assert.match(h.out.errors.join(' '), /x: url must be an http\(s\) URL or an absolute file path; passing messages through unchecked/);
    await h.send({ payload: syn(DEVICE, C2, PI_MAC, GW_MAC) });
    assert.equal(h.out.o1.length, 1);
    assert.equal(h.out.o2.length, 0);
  });
});
