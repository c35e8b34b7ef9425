/**
 * Wi-Fi captures: 802.11 frames bare (105), behind radiotap (127) and behind
 * PPI (192). The fixtures are the real Ethernet lab capture as a monitor-mode
 * card records it (scripts/wifi-encap.js, run by scripts/make-fixtures.sh);
 * tshark is the independent reader each packet is checked against. Then the
 * user's view: `ips analyze` raises the same alerts on the radiotap capture
 * as on the Ethernet one. Crafted frames cover what the lab has not: bad and
 * short headers, fragments, A-MSDU, a snaplen-cut FCS, PPI around Ethernet.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { CaptureFileReader } from '../../../lib/capture/pcap-file';
import { decodePacket } from '../../../lib/packet/decode';
import { LINKTYPE_IEEE802_11, LINKTYPE_IEEE802_11_RADIOTAP, LINKTYPE_PPI, isSupportedLinktype } from '../../../lib/packet/linktypes';
import type { Packet } from '../../../lib/packet/types';
import { packageRoot } from '../../support/red-runtime';
import { toolMissing } from '../../support/netns';
import { jsonlAlerts, runIps, type AlertLine } from '../../support/ips-cli';

const FIXTURES = path.join(packageRoot, 'tests', 'fixtures');
const WIFI = ['lab-wlan.pcap', 'lab-radiotap.pcap', 'lab-ppi.pcap'];

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd}: ${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

async function decodeFile(file: string): Promise<Packet[]> {
  const out: Packet[] = [];
  for await (const batch of new CaptureFileReader(file)) for (const r of batch) out.push(decodePacket(Buffer.from(r.data), r.linktype, r.ts, r.len, r.iface));
  return out;
}

const TSHARK_FIELDS = ['wlan.fc.type', 'wlan.fc.protected', 'wlan.sa', 'wlan.da', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'tcp.flags.str', 'arp.src.proto_ipv4'];

/** What tshark makes of the packet, in the same terms as our fields. */
function ours(p: Packet): string[] {
  const wlanType = p.proto === 'wlan-mgmt' ? '0' : p.proto === 'wlan-ctrl' ? '1' : '2';
  const v4 = p.ip === 4;
  const v6 = p.ip === 6;
  const tcp = p.proto === 'tcp';
  const udp = p.proto === 'udp';
  return [
    wlanType,
    p.proto === 'wlan-encrypted' ? '1' : '0',
    p.proto === 'wlan-ctrl' ? '' : p.srcMac ?? '',
    p.proto === 'wlan-ctrl' ? '' : p.dstMac ?? '',
    v4 ? p.src : '', v4 ? p.dst : '', v6 ? p.src : '', v6 ? p.dst : '',
    tcp ? String(p.sport) : '', tcp ? String(p.dport) : '', udp ? String(p.sport) : '', udp ? String(p.dport) : '',
    tcp ? p.flags ?? '' : '',
    p.proto === 'arp' ? p.src : '',
  ];
}

/** tshark's 12-character flag string ('·······A·S··') as our letters in F S R P A U E C order. */
function tsharkFlags(s: string): string {
  if (!s) return '';
  const t = s.replace(/\u00b7/g, '.');
  // tshark: reserved(3) AccECN CWR ECE URG ACK PSH RST SYN FIN
  const bits: Array<[number, string]> = [[11, 'F'], [10, 'S'], [9, 'R'], [8, 'P'], [7, 'A'], [6, 'U'], [5, 'E'], [4, 'C']];
  return bits.filter(([i]) => t[i] !== '.').map(([, l]) => l).join('');
}

describe('802.11 captures decode as tshark reads them', async () => {
  const skip = await toolMissing('tshark');

  it('the fixtures are what scripts/wifi-encap.js makes of the Ethernet lab capture', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-wifi-'));
    try {
      await run(process.execPath, [path.join(packageRoot, 'scripts', 'wifi-encap.js'), path.join(FIXTURES, 'lab-eth.pcap'), dir]);
      for (const f of WIFI) assert.ok(fs.readFileSync(path.join(dir, f)).equals(fs.readFileSync(path.join(FIXTURES, f))), `${f} regenerates`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const name of WIFI) {
    it(`${name}: every frame, its kind, MACs, addresses, ports and flags as tshark has them`, { skip: skip ?? false }, async () => {
      const file = path.join(FIXTURES, name);
      const packets = await decodeFile(file);
      const args = ['-n', '-r', file, '-T', 'fields', '-E', 'occurrence=f', '-E', 'separator=/t'];
      for (const f of TSHARK_FIELDS) args.push('-e', f);
      const rows = (await run('tshark', args)).split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));
      assert.equal(packets.length, rows.length, 'frame count');
      const kinds = new Map<string, number>();
      packets.forEach((p, i) => {
        assert.equal(p.malformed, undefined, `frame ${i + 1}: ${p.malformed}`);
        const want = rows[i].slice();
        want[12] = tsharkFlags(want[12]);
        assert.deepEqual(ours(p), want, `frame ${i + 1} (${p.proto})`);
        kinds.set(p.proto, (kinds.get(p.proto) ?? 0) + 1);
      });
      // The lab's traffic is all there, and the radio's own frames flow as non-IP packets.
      for (const k of ['tcp', 'icmp', 'icmp6', 'arp', 'wlan-mgmt', 'wlan-ctrl', 'wlan-nodata', 'wlan-encrypted']) assert.ok((kinds.get(k) ?? 0) > 0, `${name} has ${k} frames`);
    });
  }

  it('ips analyze raises the same alerts on a monitor-mode capture as on the Ethernet one', async () => {
    const comparable = (alerts: readonly AlertLine[]): string[] =>
      alerts.map(({ file: _file, ...a }) => JSON.stringify(a, Object.keys(a).sort())).sort();
    const eth = await runIps(['analyze', path.join(FIXTURES, 'lab-eth.pcap'), '--format', 'jsonl']);
    assert.equal(eth.code, 0, eth.stderr);
    const ethAlerts = jsonlAlerts(eth.stdout);
    assert.ok(ethAlerts.some((a) => a.category === 'scan'), 'the lab capture has an nmap scan');
    for (const name of ['lab-radiotap.pcap', 'lab-ppi.pcap']) {
      const wifi = await runIps(['analyze', path.join(FIXTURES, name), '--format', 'jsonl']);
      assert.equal(wifi.code, 0, wifi.stderr);
      assert.deepEqual(comparable(jsonlAlerts(wifi.stdout)), comparable(ethAlerts), name);
    }
  });
});

describe('802.11 frames the lab does not have', () => {
  const BSSID = 'aabbccddee01';
  const STA = 'aabbccddee02';
  const DST = 'aabbccddee03';
  const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
  const snap = (ethertype: string, body: string): string => `aaaa03000000${ethertype}${body}`;
  // IPv4 UDP 10.0.0.1:1000 → 10.0.0.2:53, no payload.
  const ipUdp = '4500001c00000000401100000a0000010a000002' + '03e80035000800' + '00';
  const toAp = (flags: string, extra = '', body = snap('0800', ipUdp)): Buffer => hex(`08${flags} 2c00 ${BSSID} ${STA} ${DST} 1000 ${extra} ${body}`);
  const decode = (b: Buffer, lt = LINKTYPE_IEEE802_11, len = b.length): Packet => decodePacket(b, lt, 0, len);

  it('knows the three link types', () => {
    for (const lt of [LINKTYPE_IEEE802_11, LINKTYPE_IEEE802_11_RADIOTAP, LINKTYPE_PPI]) assert.ok(isSupportedLinktype(lt));
  });

  it('a data frame to the AP: SA and DA from the address fields, the IP packet inside', () => {
    const p = decode(toAp('01'));
    assert.deepEqual([p.srcMac, p.dstMac, p.src, p.dst, p.proto, p.sport, p.dport], ['aa:bb:cc:dd:ee:02', 'aa:bb:cc:dd:ee:03', '10.0.0.1', '10.0.0.2', 'udp', 1000, 53]);
  });

  it('QoS data with HT control (Order bit) skips both fields', () => {
    const b = hex(`88 81 2c00 ${BSSID} ${STA} ${DST} 1000 0500 00000000 ${snap('0800', ipUdp)}`);
    assert.equal(decode(b).dport, 53);
  });

  it('fragments, A-MSDUs, null frames and non-SNAP LLC flow as non-IP packets that say why', () => {
    assert.equal(decode(hex(`08 05 2c00 ${BSSID} ${STA} ${DST} 1000 ${snap('0800', ipUdp)}`)).proto, 'wlan-fragment');
    assert.equal(decode(hex(`08 01 2c00 ${BSSID} ${STA} ${DST} 1100 ${snap('0800', ipUdp)}`)).proto, 'wlan-fragment');
    assert.equal(decode(hex(`88 01 2c00 ${BSSID} ${STA} ${DST} 1000 8000 ${snap('0800', ipUdp)}`)).proto, 'wlan-amsdu');
    assert.equal(decode(hex(`48 01 2c00 ${BSSID} ${STA} ${BSSID} 1000`)).proto, 'wlan-nodata');
    const stp = decode(toAp('01', '', '424203000000'));
    assert.deepEqual([stp.proto, stp.payload.length], ['llc', 6]);
  });

  it('short or foreign headers mark the packet malformed, never throw', () => {
    assert.match(decode(hex('0801 2c00 aabb')).malformed ?? '', /truncated 802\.11 header \(6 of 10 bytes\)/);
    assert.match(decode(hex(`08 01 2c00 ${BSSID} ${STA}`)).malformed ?? '', /truncated 802\.11 header \(16 of 24 bytes\)/);
    assert.match(decode(hex(`08 03 2c00 ${BSSID} ${STA} ${DST} 1000`)).malformed ?? '', /of 30 bytes/);
    assert.match(decode(hex(`8a 01 2c00 ${BSSID} ${STA} ${DST} 1000`)).malformed ?? '', /version 2/);
    assert.match(decode(hex('01 00 0800 00000000'), LINKTYPE_IEEE802_11_RADIOTAP).malformed ?? '', /radiotap version 1/);
    assert.match(decode(hex('00 00 4000 00000000'), LINKTYPE_IEEE802_11_RADIOTAP).malformed ?? '', /bad radiotap length 64/);
    assert.match(decode(hex('00 00 0c00 00000080 00000080'), LINKTYPE_IEEE802_11_RADIOTAP).malformed ?? '', /bitmaps overrun/);
    assert.match(decode(hex('00 00 0800 69000000'), LINKTYPE_PPI).malformed ?? '', /radiotap|PPI header around link type 105|truncated 802\.11/);
    assert.match(decode(hex('00 00 0c00 c0000000 0200 1400'), LINKTYPE_PPI).malformed ?? '', /PPI field overruns/);
    for (let n = 0; n < 40; n++) decode(toAp('01').subarray(0, n));
  });

  it('radiotap: the Flags field is found behind extended bitmaps and an 8-aligned TSFT; its FCS is not payload', () => {
    // An LLC body runs to the frame's end, so a kept FCS would show in the payload.
    const frame = toAp('01', '', '424203000000');
    // present: TSFT|Flags|Ext, then a second word (no bits): fields start at 12, TSFT aligned to 16.
    const rt = hex('00 00 1900 03000080 00000000 00000000 0102030405060708 10');
    const withFcs = Buffer.concat([rt, frame, hex('deadbeef')]);
    const p = decode(withFcs, LINKTYPE_IEEE802_11_RADIOTAP);
    assert.equal(p.malformed, undefined);
    assert.deepEqual([p.proto, p.srcMac], ['llc', 'aa:bb:cc:dd:ee:02']);
    assert.equal(p.payload.length, 6, 'the LLC bytes, not the FCS');
    // Snaplen cut before the FCS: nothing more to strip.
    const cut = decode(withFcs.subarray(0, withFcs.length - 4), LINKTYPE_IEEE802_11_RADIOTAP, withFcs.length);
    assert.equal(cut.payload.length, 6);
  });

  it('mutated and cut frames of the Wi-Fi fixtures never throw, and payloads stay inside the data', async () => {
    let seed = 4242;
    const rnd = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
    for (const [name, lt] of [['lab-wlan.pcap', LINKTYPE_IEEE802_11], ['lab-radiotap.pcap', LINKTYPE_IEEE802_11_RADIOTAP], ['lab-ppi.pcap', LINKTYPE_PPI]] as const) {
      const frames: Buffer[] = [];
      for await (const batch of new CaptureFileReader(path.join(FIXTURES, name))) for (const r of batch) frames.push(Buffer.from(r.data));
      for (let i = 0; i < 3000; i++) {
        const base = frames[rnd() % frames.length];
        const buf = Buffer.from(base.subarray(0, rnd() % (base.length + 1)));
        for (let k = rnd() % 4; k > 0 && buf.length; k--) buf[rnd() % buf.length] = rnd() & 0xff;
        const p = decodePacket(buf, lt, 0, base.length);
        const inside = p.payload.length === 0 || (p.payload.buffer === buf.buffer && p.payload.byteOffset >= buf.byteOffset && p.payload.byteOffset + p.payload.length <= buf.byteOffset + buf.length);
        assert.ok(inside, `${name}: payload inside the frame`);
      }
    }
  });

  it('PPI can carry another link type: Ethernet behind PPI decodes as Ethernet', () => {
    const eth = hex(`${DST} ${STA} 0800 ${ipUdp}`);
    const p = decode(Buffer.concat([hex('00 00 0800 01000000'), eth]), LINKTYPE_PPI);
    assert.deepEqual([p.srcMac, p.src, p.dport, p.caplen], ['aa:bb:cc:dd:ee:02', '10.0.0.1', 53, eth.length + 8]);
  });
});
