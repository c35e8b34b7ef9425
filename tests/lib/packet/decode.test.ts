import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodePacket, decodeFrame, decodeIp } from '../../../lib/packet/decode';
import { formatIpv6At } from '../../../lib/base/address';
import {
  LINKTYPE_ETHERNET, LINKTYPE_NULL, LINKTYPE_LOOP, LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, DLT_RAW_BSD, DLT_RAW_OPENBSD,
} from '../../../lib/packet/linktypes';
import { formatIp } from '../../../lib/base/cidr';
import type { Packet } from '../../../lib/packet/types';
import { ether, ipv4, ipv6, tcp, udp, icmp, arp } from '../../../bench/support/make-capture';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const TS = 1_700_000_000_123.5;

function eth(l3: Buffer, type = 0x0800): Buffer {
  return ether(B, A, type, l3);
}

function decodeEth(frame: Buffer): Packet {
  return decodePacket(frame, LINKTYPE_ETHERNET, TS, frame.length, 'eth0');
}

/** True when `view` shares memory with `data` (a view, not a copy). */
function isViewOf(view: Buffer, data: Buffer): boolean {
  return view.buffer === data.buffer && view.byteOffset >= data.byteOffset && view.byteOffset + view.length <= data.byteOffset + data.length;
}

describe('decodePacket: Ethernet / IPv4 / TCP', () => {
  const body = Buffer.from('GET / HTTP/1.1\r\n\r\n');
  const frame = eth(ipv4('10.0.0.1', '192.168.100.254', 6, tcp(40000, 80, 'PA', body), { ttl: 63 }));

  it('fills every field of the Packet contract', () => {
    const p = decodeEth(frame);
    assert.equal(p.ts, TS);
    assert.equal(p.len, frame.length);
    assert.equal(p.caplen, frame.length);
    assert.equal(p.iface, 'eth0');
    assert.equal(p.srcMac, A);
    assert.equal(p.dstMac, B);
    assert.equal(p.vlan, undefined);
    assert.equal(p.ip, 4);
    assert.equal(p.src, '10.0.0.1');
    assert.equal(p.dst, '192.168.100.254');
    assert.equal(p.proto, 'tcp');
    assert.equal(p.sport, 40000);
    assert.equal(p.dport, 80);
    assert.equal(p.flags, 'PA');
    assert.equal(p.flagBits, 0x18);
    assert.equal(p.ttl, 63);
    assert.equal(p.malformed, undefined);
    assert.equal(p.frag, undefined);
    assert.equal(p.payload.toString(), body.toString());
  });

  it('gives the payload as a view of the captured bytes, not a copy', () => {
    const p = decodeEth(frame);
    assert.ok(isViewOf(p.payload, frame));
    frame[frame.length - 1] = 0x21;
    assert.equal(p.payload[p.payload.length - 1], 0x21);
  });

  it('writes TCP flags in the order F S R P A U E C, and the flag byte as flagBits', () => {
    const cases: Array<[string, string, number]> = [['S', 'S', 0x02], ['AS', 'SA', 0x12], ['UPF', 'FPU', 0x29], ['CEUAPRSF', 'FSRPAUEC', 0xff], ['', '', 0], ['RA', 'RA', 0x14]];
    for (const [given, want, bits] of cases) {
      const p = decodeEth(eth(ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1, 2, given))));
      assert.equal(p.flags, want, given);
      assert.equal(p.flagBits, bits, given);
    }
  });

  it('drops the Ethernet trailer (padding past the IPv4 total length) from the payload', () => {
    const small = eth(ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1, 2, 'A')));
    const padded = Buffer.concat([small, Buffer.alloc(60 - small.length, 0xee)]);
    const p = decodeEth(padded);
    assert.equal(p.payload.length, 0);
    assert.equal(p.malformed, undefined);
  });

  it('skips IPv4 options, including zero-length ones, by the header length', () => {
    // option bytes: NOP, an option claiming length 0, one claiming length 1, EOL
    const options = Buffer.from([0x01, 0x07, 0x00, 0x44, 0x01, 0x00, 0x00, 0x00]);
    const p = decodeEth(eth(ipv4('10.1.1.1', '10.2.2.2', 17, udp(5353, 53, Buffer.from('q')), { options })));
    assert.equal(p.malformed, undefined);
    assert.equal(p.proto, 'udp');
    assert.equal(p.sport, 5353);
    assert.equal(p.dport, 53);
    assert.equal(p.payload.toString(), 'q');
  });

  it('skips TCP options with length 0 or 1 by the data offset', () => {
    const options = Buffer.from([0x02, 0x00, 0x05, 0x01, 0x08, 0x01, 0x00, 0x00]);
    const p = decodeEth(eth(ipv4('10.1.1.1', '10.2.2.2', 6, tcp(1234, 443, 'S', Buffer.from('xy'), { options }))));
    assert.equal(p.malformed, undefined);
    assert.equal(p.flags, 'S');
    assert.equal(p.payload.toString(), 'xy');
  });

  it('refuses an IPv4 header length below 20 with the reason, keeping the addresses', () => {
    const p = decodeEth(eth(ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1, 2, 'S'), { ihl: 3 })));
    assert.match(p.malformed ?? '', /IPv4 header length 12 < 20/);
    assert.equal(p.src, '10.0.0.1');
    assert.equal(p.dst, '10.0.0.2');
    assert.equal(p.sport, undefined);
    assert.equal(p.payload.length, 0);
  });

  it('refuses an IPv4 total length shorter than its header', () => {
    const p = decodeEth(eth(ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1, 2, 'S'), { totalLength: 10 })));
    assert.match(p.malformed ?? '', /total length 10 < header length 20/);
  });

  it('stops at a TCP data offset that runs past the capture, keeping ports and flags', () => {
    const p = decodeEth(eth(ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1, 2, 'S', Buffer.alloc(0), { dataOffset: 15 }))));
    assert.match(p.malformed ?? '', /TCP header length 60 runs past the captured bytes \(20 left\)/);
    assert.equal(p.sport, 1);
    assert.equal(p.flags, 'S');
  });

  it('refuses a TCP data offset below 5', () => {
    const p = decodeEth(eth(ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1, 2, 'S', Buffer.alloc(0), { dataOffset: 2 }))));
    assert.match(p.malformed ?? '', /TCP data offset 2 < 5/);
  });

  it('names unknown IP protocols by number and keeps their payload', () => {
    const p = decodeEth(eth(ipv4('10.0.0.1', '10.0.0.2', 47, Buffer.from('gre!'))));
    assert.equal(p.proto, 'ip-47');
    assert.equal(p.payload.toString(), 'gre!');
    assert.equal(p.sport, undefined);
  });
});

describe('decodePacket: IPv4 fragments', () => {
  const l4 = udp(5000, 6000, Buffer.alloc(32, 1));
  it('decodes the first fragment (ports present) and marks it', () => {
    const p = decodeEth(eth(ipv4('10.0.0.1', '10.0.0.2', 17, l4, { moreFragments: true })));
    assert.equal(p.frag, 'first');
    assert.equal(p.sport, 5000);
    assert.equal(p.dport, 6000);
  });
  it('gives non-first fragments the protocol from the IP header and no ports', () => {
    for (const [more, note] of [[true, 'middle'], [false, 'last']] as const) {
      const p = decodeEth(eth(ipv4('10.0.0.1', '10.0.0.2', 17, Buffer.alloc(24, 9), { fragOffset: 1480, moreFragments: more })));
      assert.equal(p.frag, note);
      assert.equal(p.proto, 'udp');
      assert.equal(p.sport, undefined);
      assert.equal(p.dport, undefined);
      assert.equal(p.payload.length, 24);
      assert.equal(p.malformed, undefined);
    }
  });
});

describe('decodePacket: UDP, ICMP, ARP', () => {
  it('decodes UDP and bounds the payload by the UDP length', () => {
    const p = decodeEth(eth(ipv4('10.0.0.1', '10.0.0.2', 17, udp(53, 33000, Buffer.from('answer')))));
    assert.deepEqual([p.proto, p.sport, p.dport, p.payload.toString()], ['udp', 53, 33000, 'answer']);
  });
  it('decodes ICMP echo type and code, payload after the 8-byte header', () => {
    const p = decodeEth(eth(ipv4('10.0.0.1', '10.0.0.2', 1, icmp(8, 0, Buffer.from('ping-data')))));
    assert.deepEqual([p.proto, p.icmpType, p.icmpCode, p.payload.toString()], ['icmp', 8, 0, 'ping-data']);
    assert.equal(p.sport, undefined);
  });
  it('fills ARP src/dst from the sender and target protocol addresses', () => {
    const p = decodeEth(ether('ff:ff:ff:ff:ff:ff', A, 0x0806, arp(1, A, '192.168.1.10', '00:00:00:00:00:00', '192.168.1.1')));
    assert.equal(p.proto, 'arp');
    assert.equal(p.ip, 0);
    assert.equal(p.src, '192.168.1.10');
    assert.equal(p.dst, '192.168.1.1');
    assert.equal(p.srcMac, A);
    assert.equal(p.dstMac, 'ff:ff:ff:ff:ff:ff');
    assert.equal(p.malformed, undefined);
  });
  it('leaves ip 0 and empty addresses for a non-IP ethertype, naming it', () => {
    const p = decodeEth(ether(B, A, 0x88cc, Buffer.from('lldp')));
    assert.equal(p.ip, 0);
    assert.equal(p.src, '');
    assert.equal(p.dst, '');
    assert.equal(p.proto, 'ether-0x88cc');
    assert.equal(p.payload.toString(), 'lldp');
  });
});

describe('decodePacket: IPv6', () => {
  it('writes addresses in RFC 5952 text and decodes ICMPv6', () => {
    const p = decodeEth(eth(ipv6('2001:DB8:0:0:1:0:0:1', 'fe80::0211:22ff:fe33:4455', 58, icmp(128, 0, Buffer.from('x')), { hopLimit: 255 }), 0x86dd));
    assert.equal(p.ip, 6);
    assert.equal(p.src, '2001:db8::1:0:0:1');
    assert.equal(p.dst, 'fe80::211:22ff:fe33:4455');
    assert.equal(p.ttl, 255);
    assert.deepEqual([p.proto, p.icmpType, p.icmpCode], ['icmp6', 128, 0]);
  });

  it('walks hop-by-hop, routing and fragment headers to TCP', () => {
    const l3 = ipv6('fd00::1', 'fd00::2', 6, tcp(5555, 22, 'S', Buffer.from('hello')), {
      ext: [{ type: 0, body: Buffer.alloc(6) }, { type: 43, body: Buffer.alloc(22) }, { type: 44, fragOffset: 0, moreFragments: true }],
    });
    const p = decodeEth(eth(l3, 0x86dd));
    assert.equal(p.malformed, undefined);
    assert.equal(p.proto, 'tcp');
    assert.equal(p.sport, 5555);
    assert.equal(p.dport, 22);
    assert.equal(p.flags, 'S');
    assert.equal(p.frag, 'first');
    assert.equal(p.payload.toString(), 'hello');
  });

  it('does not read ports from a non-first IPv6 fragment', () => {
    const l3 = ipv6('fd00::1', 'fd00::2', 17, Buffer.alloc(16, 7), { ext: [{ type: 0 }, { type: 44, fragOffset: 1448, moreFragments: false }] });
    const p = decodeEth(eth(l3, 0x86dd));
    assert.equal(p.frag, 'last');
    assert.equal(p.proto, 'udp');
    assert.equal(p.sport, undefined);
    assert.equal(p.payload.length, 16);
  });

  it('stops on an extension chain longer than the walk limit', () => {
    const ext = Array.from({ length: 20 }, () => ({ type: 60 }));
    const p = decodeEth(eth(ipv6('fd00::1', 'fd00::2', 6, tcp(1, 2, 'S'), { ext }), 0x86dd));
    assert.match(p.malformed ?? '', /more than 16 IPv6 extension headers/);
  });

  it('formats every address the same way as lib/base/cidr formatIp', () => {
    let seed = 7;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.alloc(16);
      // mostly zero groups, so runs of every length and position occur
      for (let g = 0; g < 8; g++) if (rnd() % 3 === 0) b.writeUInt16BE(rnd() & (rnd() % 2 ? 0xffff : 0x00ff), 2 * g);
      assert.equal(formatIpv6At(b, 0), formatIp(b), b.toString('hex'));
    }
  });
});

describe('decodePacket: VLAN and other link types', () => {
  const l3 = ipv4('10.9.9.9', '10.8.8.8', 17, udp(1000, 2000, Buffer.from('v')));
  it('reads one 802.1Q tag', () => {
    const p = decodeEth(ether(B, A, 0x0800, l3, [42]));
    assert.equal(p.vlan, 42);
    assert.equal(p.src, '10.9.9.9');
    assert.equal(p.payload.toString(), 'v');
  });
  it('reads QinQ (0x88a8 outer, 0x8100 inner) and keeps the outer VLAN id', () => {
    const p = decodeEth(ether(B, A, 0x0800, l3, [300, 7], 0x88a8));
    assert.equal(p.vlan, 300);
    assert.equal(p.sport, 1000);
    assert.equal(p.malformed, undefined);
  });
  it('decodes Linux cooked SLL (v1): source MAC and protocol from the 16-byte header', () => {
    // packet type 0 (to us), ARPHRD_ETHER, address length 6, address + 2 pad, protocol 0x0800
    const sll = Buffer.concat([Buffer.from('0000000100060200000000aa00000800', 'hex'), l3]);
    const p = decodePacket(sll, LINKTYPE_LINUX_SLL, TS, sll.length);
    assert.equal(p.srcMac, '02:00:00:00:00:aa');
    assert.equal(p.dstMac, undefined);
    assert.deepEqual([p.ip, p.src, p.proto, p.dport], [4, '10.9.9.9', 'udp', 2000]);
    // libpcap re-inserts an offloaded VLAN tag after the cooked header, with protocol 0x8100
    const tagged = Buffer.concat([Buffer.from('0000000100060200000000aa00008100', 'hex'), Buffer.from('00c80800', 'hex'), l3]);
    const t = decodePacket(tagged, LINKTYPE_LINUX_SLL, TS, tagged.length);
    assert.deepEqual([t.vlan, t.src, t.dport, t.malformed], [200, '10.9.9.9', 2000, undefined]);
  });
  it('decodes Linux cooked SLL2: protocol first, 20-byte header', () => {
    // protocol 0x86dd, reserved, ifindex 3, ARPHRD_ETHER, packet type 4 (outgoing), address length 6, address + 2 pad
    const v6 = ipv6('fd00::a', 'fd00::b', 58, icmp(129, 0));
    const sll2 = Buffer.concat([Buffer.from('86dd00000000000300010406020000000bb00000', 'hex'), v6]);
    const p = decodePacket(sll2, LINKTYPE_LINUX_SLL2, TS, sll2.length);
    assert.equal(p.srcMac, '02:00:00:00:0b:b0');
    assert.deepEqual([p.ip, p.src, p.dst, p.proto, p.icmpType], [6, 'fd00::a', 'fd00::b', 'icmp6', 129]);
  });
  it('decodes NULL/loopback with the family in either byte order, and OpenBSD LOOP', () => {
    const v6 = ipv6('::1', '::1', 17, udp(1, 2));
    const cases: Array<[number, Buffer, Buffer, number]> = [
      [LINKTYPE_NULL, Buffer.from('02000000', 'hex'), l3, 4],
      [LINKTYPE_NULL, Buffer.from('00000002', 'hex'), l3, 4],
      [LINKTYPE_NULL, Buffer.from('1e000000', 'hex'), v6, 6], // Darwin AF_INET6 30, little-endian
      [LINKTYPE_NULL, Buffer.from('0000001c', 'hex'), v6, 6], // FreeBSD AF_INET6 28, big-endian
      [LINKTYPE_NULL, Buffer.from('0a000000', 'hex'), v6, 6], // Linux AF_INET6 10
      [LINKTYPE_LOOP, Buffer.from('00000018', 'hex'), v6, 6], // OpenBSD AF_INET6 24
    ];
    for (const [lt, fam, ip, version] of cases) {
      const p = decodePacket(Buffer.concat([fam, ip]), lt, TS, 0);
      assert.equal(p.ip, version, fam.toString('hex'));
      assert.equal(p.malformed, undefined);
      assert.equal(p.proto, 'udp');
    }
    const other = decodePacket(Buffer.from('07000000abcd', 'hex'), LINKTYPE_NULL, TS, 6);
    assert.equal(other.proto, 'af-7');
    assert.equal(other.ip, 0);
  });
  it('decodes raw IP for every raw link type and through decodeIp (NFQUEUE)', () => {
    const v6 = ipv6('fd00::1', 'fd00::2', 6, tcp(7, 8, 'SA'));
    for (const lt of [LINKTYPE_RAW, DLT_RAW_BSD, DLT_RAW_OPENBSD]) {
      assert.equal(decodePacket(l3, lt, TS, l3.length).src, '10.9.9.9');
      assert.equal(decodePacket(v6, lt, TS, v6.length).flags, 'SA');
    }
    assert.equal(decodePacket(l3, LINKTYPE_IPV4, TS, l3.length).dport, 2000);
    assert.equal(decodePacket(v6, LINKTYPE_IPV6, TS, v6.length).dport, 8);
    assert.match(decodePacket(v6, LINKTYPE_IPV4, TS, v6.length).malformed ?? '', /IP version 6 where IPv4 was expected/);
    const q = decodeIp(v6, TS);
    assert.deepEqual([q.ip, q.src, q.sport, q.len, q.caplen], [6, 'fd00::1', 7, v6.length, v6.length]);
    assert.match(decodeIp(Buffer.from([0x50, 0, 0]), TS).malformed ?? '', /unknown IP version 5/);
  });
  it('reports an unsupported link type instead of guessing', () => {
    const p = decodePacket(l3, 147, TS, l3.length);
    assert.equal(p.malformed, 'unsupported link type 147');
    assert.equal(p.ip, 0);
    assert.equal(p.payload.length, 0);
  });
});

describe('decodePacket: truncation at every layer', () => {
  /** Cut `frame` at every length below `full` and check the reason names the layer the cut falls in. */
  function cutEverywhere(frame: Buffer, linktype: number, layers: Array<[number, RegExp]>, headerEnd: number): void {
    for (let n = 0; n < headerEnd; n++) {
      const cut = Buffer.from(frame.subarray(0, n));
      const p = decodePacket(cut, linktype, TS, frame.length);
      assert.ok(p.malformed, `cut at ${n} should be malformed`);
      const layer = layers.find(([end]) => n < end);
      assert.ok(layer, `no layer for cut ${n}`);
      assert.match(p.malformed, layer[1], `cut at ${n}: ${p.malformed}`);
      assert.equal(p.payload.length, 0);
      assert.equal(p.caplen, n);
      assert.equal(p.len, frame.length);
    }
    const whole = decodePacket(frame, linktype, TS, frame.length);
    assert.equal(whole.malformed, undefined);
  }

  it('Ethernet + QinQ + IPv4 with options + TCP with options', () => {
    const l4 = tcp(1, 2, 'S', Buffer.alloc(0), { options: Buffer.from([2, 4, 5, 0xb4, 1, 1, 4, 2]) });
    const frame = ether(B, A, 0x0800, ipv4('10.0.0.1', '10.0.0.2', 6, l4, { options: Buffer.from([1, 1, 1, 0]) }), [5, 6], 0x88a8);
    cutEverywhere(frame, LINKTYPE_ETHERNET, [
      [14, /truncated Ethernet header \(\d+ of 14/],
      [22, /truncated 802\.1Q tag header/],
      [42, /truncated IPv4 header \(\d+ of 20/],
      [46, /truncated IPv4 \(with options\) header \(\d+ of 24/],
      [66, /truncated TCP header \(\d+ of 20/],
      [74, /TCP header length 28 runs past the captured bytes/],
    ], frame.length);
  });

  it('Ethernet + IPv6 + hop-by-hop + routing + fragment + UDP', () => {
    const frame = eth(ipv6('fd00::1', 'fd00::2', 17, udp(1, 2), { ext: [{ type: 0 }, { type: 43, body: Buffer.alloc(14) }, { type: 44 }] }), 0x86dd);
    cutEverywhere(frame, LINKTYPE_ETHERNET, [
      [14, /Ethernet/],
      [54, /truncated IPv6 header/],
      [62, /truncated IPv6 extension \(0\) header/],
      [78, /truncated IPv6 extension \(43\) header/],
      [86, /truncated IPv6 fragment header/],
      [94, /truncated UDP header/],
    ], frame.length);
  });

  it('ICMP, ICMPv6, ARP, SLL, SLL2, NULL', () => {
    const icmp4 = eth(ipv4('10.0.0.1', '10.0.0.2', 1, icmp(3, 1)));
    cutEverywhere(icmp4, LINKTYPE_ETHERNET, [[14, /Ethernet/], [34, /IPv4/], [42, /truncated ICMP header/]], icmp4.length);
    const icmp6 = ipv6('fd00::1', 'fd00::2', 58, icmp(135, 0));
    cutEverywhere(icmp6, LINKTYPE_RAW, [[1, /truncated IP header/], [40, /IPv6/], [48, /truncated ICMPv6 header/]], icmp6.length);
    const arpFrame = ether('ff:ff:ff:ff:ff:ff', A, 0x0806, arp(1, A, '10.0.0.1', B, '10.0.0.2'));
    cutEverywhere(arpFrame, LINKTYPE_ETHERNET, [[14, /Ethernet/], [22, /truncated ARP header \(\d+ of 8/], [42, /truncated ARP header \(\d+ of 28/]], arpFrame.length);
    const ip = ipv4('10.0.0.1', '10.0.0.2', 17, udp(1, 2));
    const sll = Buffer.concat([Buffer.from('0000000100060200000000aa00000800', 'hex'), ip]);
    cutEverywhere(sll, LINKTYPE_LINUX_SLL, [[16, /Linux SLL header/], [36, /IPv4/], [44, /UDP/]], sll.length);
    const sll2 = Buffer.concat([Buffer.from('080000000000000300010006020000000aa00000', 'hex'), ip]);
    cutEverywhere(sll2, LINKTYPE_LINUX_SLL2, [[20, /Linux SLL2 header/], [40, /IPv4/], [48, /UDP/]], sll2.length);
    const nul = Buffer.concat([Buffer.from('02000000', 'hex'), ip]);
    cutEverywhere(nul, LINKTYPE_NULL, [[4, /loopback header/], [24, /IPv4/], [32, /UDP/]], nul.length);
  });
});

describe('decodePacket: address text', () => {
  it('gives the right text for many different addresses (the string caches never mix them up)', () => {
    let seed = 99;
    const rnd = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
    const frame = eth(ipv4('10.0.0.1', '10.0.0.2', 17, udp(1, 2)));
    for (let i = 0; i < 20000; i++) {
      // a few hosts reused (cache hits) mixed with random ones (misses and slot collisions)
      const src = i % 3 === 0 ? 0x0a000001 + (i % 7) : rnd();
      const dst = rnd();
      frame.writeUInt32BE(src, 26);
      frame.writeUInt32BE(dst, 30);
      for (let k = 0; k < 6; k++) frame[6 + k] = i % 2 ? rnd() & 0xff : k;
      const p = decodeEth(frame);
      assert.equal(p.src, formatIp(frame.subarray(26, 30)));
      assert.equal(p.dst, formatIp(frame.subarray(30, 34)));
      assert.equal(p.srcMac, [...frame.subarray(6, 12)].map((b) => b.toString(16).padStart(2, '0')).join(':'));
    }
    const v6 = eth(ipv6('fd00::1', 'fd00::2', 17, udp(1, 2)), 0x86dd);
    for (let i = 0; i < 20000; i++) {
      for (let k = 0; k < 16; k++) v6[22 + k] = i % 3 === 0 ? (k === 15 ? i % 5 : 0) : rnd() % 4 === 0 ? rnd() & 0xff : 0;
      for (let k = 0; k < 16; k++) v6[38 + k] = rnd() & 0xff;
      const p = decodeEth(v6);
      assert.equal(p.src, formatIp(v6.subarray(22, 38)));
      assert.equal(p.dst, formatIp(v6.subarray(38, 54)));
    }
  });
});

describe('decodeFrame: a frame read in place from a larger buffer', () => {
  it('gives the same packet as decodePacket on the frame alone, and never reads past the frame', () => {
    const gso = eth(ipv4('10.0.0.1', '10.0.0.2', 17, udp(1, 2, Buffer.from('abcdef'))));
    gso.writeUInt16BE(0, 16); // IPv4 total length 0: take what was captured
    const jumbo = eth(ipv6('fd00::1', 'fd00::2', 6, tcp(1, 2, 'PA', Buffer.from('xyz'))), 0x86dd);
    jumbo.writeUInt16BE(0, 18); // IPv6 payload length 0: same
    const ip = ipv4('10.0.0.1', '10.0.0.2', 6, tcp(3, 4, 'PA', Buffer.from('hello')));
    const frames: Array<[Buffer, number]> = [
      [eth(ipv4('10.0.0.1', '192.168.1.80', 6, tcp(40000, 80, 'PA', Buffer.from('GET / HTTP/1.1\r\n\r\n')))), LINKTYPE_ETHERNET],
      [ether(B, A, 0x86dd, ipv6('fd00::1', 'fd00::2', 17, udp(1, 2, Buffer.alloc(9, 7)), { ext: [{ type: 0 }, { type: 44, moreFragments: true }] }), [1, 2]), LINKTYPE_ETHERNET],
      [ether('ff:ff:ff:ff:ff:ff', A, 0x0806, arp(1, A, '10.0.0.1', B, '10.0.0.2')), LINKTYPE_ETHERNET],
      [eth(ipv4('10.0.0.1', '10.0.0.2', 1, icmp(8, 0, Buffer.alloc(56, 0x2a)))), LINKTYPE_ETHERNET],
      [ether(B, A, 0x88b5, Buffer.from('local experimental ethertype')), LINKTYPE_ETHERNET],
      [gso, LINKTYPE_ETHERNET],
      [jumbo, LINKTYPE_ETHERNET],
      [ip, LINKTYPE_RAW],
      [ip, LINKTYPE_IPV4],
      [Buffer.concat([Buffer.from('0000000100060200000000aa00000800', 'hex'), ip]), LINKTYPE_LINUX_SLL],
      [Buffer.concat([Buffer.from('080000000000000300010006020000000aa00000', 'hex'), ip]), LINKTYPE_LINUX_SLL2],
      [Buffer.concat([Buffer.from('02000000', 'hex'), ip]), LINKTYPE_NULL],
      [Buffer.concat([Buffer.from('00000063', 'hex'), Buffer.from('other family')]), LINKTYPE_LOOP],
    ];
    // What follows the frame in the buffer: bytes that would decode as more header and payload if read.
    const after = Buffer.concat([ip, Buffer.alloc(64, 0x45)]);
    for (const [frame, linktype] of frames) {
      for (let n = 0; n <= frame.length; n++) {
        const alone = Buffer.from(frame.subarray(0, n));
        const host = Buffer.concat([Buffer.alloc(7, 0xff), alone, after]);
        const where = `link type ${linktype}, ${n} of ${frame.length} bytes`;
        const expected = decodePacket(alone, linktype, TS, frame.length, 'eth0');
        const p = decodeFrame(host, 7, n, linktype, TS, frame.length, 'eth0');
        assert.deepEqual({ ...p, payload: undefined }, { ...expected, payload: undefined }, where);
        assert.ok(p.payload.equals(expected.payload), `${where}: payload bytes`);
        assert.ok(p.payload.length === 0 || isViewOf(p.payload, host.subarray(7, 7 + n)), `${where}: payload is a view inside the frame`);
      }
    }
  });
});

describe('decodePacket: never throws', () => {
  it('survives thousands of random and mutated buffers on every link type', () => {
    let seed = 12345;
    const rnd = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
    const valid = [
      eth(ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1, 2, 'S', Buffer.from('abc'), { options: Buffer.alloc(4, 1) }))),
      ether(B, A, 0x86dd, ipv6('fd00::1', 'fd00::2', 17, udp(1, 2, Buffer.alloc(9)), { ext: [{ type: 0 }, { type: 44, moreFragments: true }] }), [1, 2]),
      ether(B, A, 0x0806, arp(2, A, '10.0.0.1', B, '10.0.0.2')),
    ];
    const linktypes = [LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_NULL, LINKTYPE_LOOP, 999];
    let decoded = 0;
    for (let i = 0; i < 6000; i++) {
      let buf: Buffer;
      if (i % 2 === 0) {
        buf = Buffer.alloc(rnd() % 120);
        for (let j = 0; j < buf.length; j++) buf[j] = rnd() & 0xff;
      } else {
        const base = valid[rnd() % valid.length];
        buf = Buffer.from(base.subarray(0, rnd() % (base.length + 1)));
        for (let k = rnd() % 4; k > 0 && buf.length; k--) buf[rnd() % buf.length] = rnd() & 0xff;
      }
      const lt = linktypes[rnd() % linktypes.length];
      const p = decodePacket(buf, lt, TS, buf.length);
      assert.ok(isViewOf(p.payload, buf) || p.payload.length === 0, 'payload stays inside the data');
      assert.equal(typeof p.proto, 'string');
      assert.ok(p.ip === 0 || p.ip === 4 || p.ip === 6);
      decoded++;
    }
    assert.equal(decoded, 6000);
  });
});
