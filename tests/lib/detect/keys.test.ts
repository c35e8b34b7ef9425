import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addrKey, keyText, srcKey, TEXT_GENERATION, withPort } from '../../../lib/detect/keys';
import { decodePacket } from '../../../lib/packet/decode';
import { LINKTYPE_ETHERNET } from '../../../lib/packet/linktypes';
import { FloodDetector } from '../../../lib/detect/flood';
import { ScanDetector } from '../../../lib/detect/scan';
import { BoundedTable } from '../../../lib/detect/table';
import { ether, ipv4, ipv6, tcp } from '../../../bench/support/make-capture';
import type { Packet } from '../../../lib/packet/types';

test('addrKey: the decoder\'s src4 for dotted quads, a number id for any other text; keyText gives the text back', () => {
  for (const ip of ['0.0.0.0', '10.0.0.1', '127.0.0.1', '192.168.1.80', '255.255.255.255', '203.0.113.9']) {
    const p = decodePacket(ether('02:00:00:00:00:02', '02:00:00:00:00:01', 0x0800, ipv4(ip, '10.9.9.9', 6, tcp(1, 2, 'S'))), LINKTYPE_ETHERNET, 0, 60);
    assert.equal(p.src, ip);
    assert.equal(typeof p.src4, 'number');
    assert.equal(addrKey(ip), p.src4, ip);
    assert.equal(keyText(addrKey(ip)), ip);
  }
  const texts = ['fd00::1', '', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1..2.3', '1.2.3.4 ', 'a.b.c.d', '1.2.3.', '2001:db8::1', '02:00:00:00:00:01'];
  const ids = texts.map(addrKey);
  for (let i = 0; i < texts.length; i++) {
    const what = JSON.stringify(texts[i]);
    assert.equal(typeof ids[i], 'number', what);
    assert.ok(ids[i] >= 2 ** 32 && Number.isSafeInteger(withPort(ids[i], 65535)), `${what}: above every IPv4 key, exact with a port`);
    assert.equal(addrKey(texts[i]), ids[i], `${what}: the same id again`);
    assert.equal(keyText(ids[i]), texts[i], what);
  }
  assert.equal(new Set(ids).size, ids.length, 'distinct texts, distinct ids');
  const v6 = decodePacket(ether('02:00:00:00:00:02', '02:00:00:00:00:01', 0x86dd, ipv6('fd00::a', 'fd00::b', 6, tcp(1, 2, 'S'))), LINKTYPE_ETHERNET, 0, 60);
  assert.equal(v6.src4, undefined);
  assert.equal(srcKey(v6), addrKey('fd00::a'));
});

test('text ids: an address seen at least once a generation keeps its id; one unseen for two generations gets a new one', () => {
  const hot = addrKey('fd00:77::1');
  const cold = addrKey('fd00:77::2');
  for (let i = 0; i < 2 * TEXT_GENERATION + 10; i++) {
    addrKey(`fd00:78::${i.toString(16)}`);
    if (i % 1000 === 0) assert.equal(addrKey('fd00:77::1'), hot);
  }
  assert.equal(keyText(hot), 'fd00:77::1');
  assert.equal(keyText(cold), '?', 'forgotten');
  const again = addrKey('fd00:77::2');
  assert.notEqual(again, cold, 'a new id: its old state is as if evicted');
  assert.equal(keyText(again), 'fd00:77::2');
});

test('two-part keys: distinct tuples never share a key, IPv4 or not', () => {
  const seen = new Map<string, string>();
  const addrs = ['10.0.0.1', '10.0.0.2', '0.0.0.0', '255.255.255.255', '128.0.0.0', 'fd00::1', 'fd00::1>10.0.0.1'].map(addrKey);
  for (const a of addrs) for (const b of addrs) for (const n of [0, 1, 65535]) {
    const id = `${a}/${withPort(b, n)}`;
    const what = `${keyText(a)} ${keyText(b)} ${n}`;
    assert.equal(seen.get(id) ?? what, what, `pair key ${id}`);
    seen.set(id, what);
    const conn = `c${withPort(a, n)}/${withPort(b, 7)}`;
    assert.equal(seen.get(conn) ?? what, what, `conn key ${conn}`);
    seen.set(conn, what);
  }
  const t = new BoundedTable<string | number, number>(100, () => 0);
  t.touch(1, 0, 2);
  assert.equal(t.has(1, 2), true);
  assert.equal(t.has(1), false);
  assert.equal(t.has(1, 3), false);
  assert.equal(t.delete(1, 2), true);
  assert.equal(t.size, 0);
});

test('detectors raise the same alerts whether packets carry src4/dst4 (decoder) or only the text, also mixed in one stream', () => {
  const frames: Buffer[] = [];
  // SYN flood and a port scan from IPv4, a port scan from IPv6.
  for (let i = 0; i < 300; i++) frames.push(ether('02:00:00:00:00:02', '02:00:00:00:00:01', 0x0800, ipv4('10.66.0.1', '192.168.1.80', 6, tcp(1024 + i, 80, 'S'))));
  for (let i = 0; i < 40; i++) frames.push(ether('02:00:00:00:00:02', '02:00:00:00:00:01', 0x0800, ipv4('10.66.0.4', '192.168.1.80', 6, tcp(45678, 1 + i, 'S'))));
  for (let i = 0; i < 40; i++) frames.push(ether('02:00:00:00:00:02', '02:00:00:00:00:01', 0x86dd, ipv6('fd00::66', 'fd00::80', 6, tcp(45678, 1 + i, 'S'))));
  const decoded = (): Packet[] => frames.map((f, i) => decodePacket(f, LINKTYPE_ETHERNET, 1_700_000_000_000 + i, f.length));
  // Every other packet without the numbers: were the two keys to differ, each count would be split in half and stay under its threshold.
  const mixed = decoded().map((p, i) => {
    if (i % 2 === 1) {
      delete p.src4;
      delete p.dst4;
    }
    return p;
  });
  const run = (packets: Packet[]) => [...new FloodDetector('f').process(packets), ...new ScanDetector('s').process(packets)];
  const a = run(decoded());
  assert.deepEqual(a.map((x) => `${x.rule} ${x.src}`).sort(), ['flood.syn.dst 10.66.0.1', 'flood.syn.src 10.66.0.1', 'scan.vertical 10.66.0.4', 'scan.vertical fd00::66']);
  assert.deepEqual(run(mixed), a);
});
