/**
 * Frame builders and a pcap generator: hand-built bytes for decoder tests and
 * large mixed captures for benchmarks (decoder, reader, pcap-in).
 *
 * Checksums are left zero: neither our decoder nor tshark (by default)
 * validates them.
 */
import fs from 'node:fs';
import { parseIp } from '../../lib/base/cidr';
import { LINKTYPE_ETHERNET } from '../../lib/packet/linktypes';

function addr(text: string, family: 4 | 6): Buffer {
  const p = parseIp(text);
  if (!p || p.family !== family) throw new Error(`not an IPv${family} address: ${text}`);
  return Buffer.from(p.bytes);
}

export function mac(text: string): Buffer {
  const b = Buffer.from(text.replace(/[:-]/g, ''), 'hex');
  if (b.length !== 6) throw new Error(`not a MAC address: ${text}`);
  return b;
}

/** Ethernet II frame, with 802.1Q tags (outermost first) when `vlans` is given; `tpid` for QinQ outer tags. */
export function ether(dst: string, src: string, type: number, payload: Buffer, vlans: number[] = [], outerTpid = 0x8100): Buffer {
  const h = Buffer.alloc(14 + 4 * vlans.length);
  mac(dst).copy(h, 0);
  mac(src).copy(h, 6);
  let o = 12;
  vlans.forEach((id, i) => {
    h.writeUInt16BE(i === 0 && vlans.length > 1 ? outerTpid : 0x8100, o);
    h.writeUInt16BE(id & 0x0fff, o + 2);
    o += 4;
  });
  h.writeUInt16BE(type, o);
  return Buffer.concat([h, payload]);
}

export interface Ipv4Options {
  ttl?: number;
  id?: number;
  /** Fragment offset in bytes (multiple of 8). */
  fragOffset?: number;
  moreFragments?: boolean;
  /** IP options (padded by the caller to a multiple of 4). */
  options?: Buffer;
  /** Override the IHL nibble (in 4-byte words) to build bad headers. */
  ihl?: number;
  /** Override the total length field. */
  totalLength?: number;
}

export function ipv4(src: string, dst: string, proto: number, payload: Buffer, o: Ipv4Options = {}): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const h = Buffer.alloc(20 + opts.length);
  h[0] = 0x40 | (o.ihl ?? (20 + opts.length) / 4);
  h.writeUInt16BE(o.totalLength ?? h.length + payload.length, 2);
  h.writeUInt16BE(o.id ?? 1, 4);
  h.writeUInt16BE(((o.moreFragments ? 1 : 0) << 13) | ((o.fragOffset ?? 0) >> 3), 6);
  h[8] = o.ttl ?? 64;
  h[9] = proto;
  addr(src, 4).copy(h, 12);
  addr(dst, 4).copy(h, 16);
  opts.copy(h, 20);
  return Buffer.concat([h, payload]);
}

/** An IPv6 extension header: `type` is its own protocol number, `body` follows next-header and length. */
export interface Ipv6Ext {
  type: number;
  body?: Buffer;
  /** For a fragment header (type 44): offset in bytes and more-fragments flag. */
  fragOffset?: number;
  moreFragments?: boolean;
}

export function ipv6(src: string, dst: string, next: number, payload: Buffer, o: { hopLimit?: number; ext?: Ipv6Ext[] } = {}): Buffer {
  const exts = o.ext ?? [];
  const parts: Buffer[] = [];
  exts.forEach((e, i) => {
    const nextType = i + 1 < exts.length ? exts[i + 1].type : next;
    if (e.type === 44) {
      const f = Buffer.alloc(8);
      f[0] = nextType;
      f.writeUInt16BE((e.fragOffset ?? 0) | (e.moreFragments ? 1 : 0), 2);
      f.writeUInt32BE(0x1234, 4);
      parts.push(f);
    } else {
      // generic: length in 8-byte units, not counting the first 8
      const body = e.body ?? Buffer.alloc(6);
      const total = Math.ceil((body.length + 2) / 8) * 8;
      const x = Buffer.alloc(total);
      x[0] = nextType;
      x[1] = total / 8 - 1;
      body.copy(x, 2);
      parts.push(x);
    }
  });
  const rest = Buffer.concat([...parts, payload]);
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(rest.length, 4);
  h[6] = exts.length ? exts[0].type : next;
  h[7] = o.hopLimit ?? 64;
  addr(src, 6).copy(h, 8);
  addr(dst, 6).copy(h, 24);
  return Buffer.concat([h, rest]);
}

const FLAG_BITS: Record<string, number> = { F: 1, S: 2, R: 4, P: 8, A: 16, U: 32, E: 64, C: 128 };

export function tcp(sport: number, dport: number, flags: string, payload: Buffer = Buffer.alloc(0), o: { options?: Buffer; dataOffset?: number; seq?: number } = {}): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const h = Buffer.alloc(20 + opts.length);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE((o.seq ?? 1000) >>> 0, 4);
  h[12] = (o.dataOffset ?? (20 + opts.length) / 4) << 4;
  let bits = 0;
  for (const c of flags) {
    if (!(c in FLAG_BITS)) throw new Error(`unknown TCP flag ${c}`);
    bits |= FLAG_BITS[c];
  }
  h[13] = bits;
  h.writeUInt16BE(64240, 14);
  opts.copy(h, 20);
  return Buffer.concat([h, payload]);
}

export function udp(sport: number, dport: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** ICMP or ICMPv6 message: type, code, checksum, then 4 bytes `rest` (echo id/seq) and data. */
export function icmp(type: number, code: number, data: Buffer = Buffer.alloc(0), id = 1, seq = 1): Buffer {
  const h = Buffer.alloc(8);
  h[0] = type;
  h[1] = code;
  h.writeUInt16BE(id, 4);
  h.writeUInt16BE(seq, 6);
  return Buffer.concat([h, data]);
}

export function arp(op: number, senderMac: string, senderIp: string, targetMac: string, targetIp: string): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16BE(1, 0);
  b.writeUInt16BE(0x0800, 2);
  b[4] = 6;
  b[5] = 4;
  b.writeUInt16BE(op, 6);
  mac(senderMac).copy(b, 8);
  addr(senderIp, 4).copy(b, 14);
  mac(targetMac).copy(b, 18);
  addr(targetIp, 4).copy(b, 24);
  return b;
}

/** Classic pcap global header (little-endian, as libpcap writes on x86). */
export function pcapHeader(linktype: number, opts: { snaplen?: number; nano?: boolean } = {}): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(opts.snaplen ?? 262144, 16);
  h.writeUInt32LE(linktype, 20);
  return h;
}

/** One pcap record (microsecond timestamps); `ts` in ms since epoch. */
export function pcapRecord(tsMs: number, frame: Buffer, origLen = frame.length): Buffer {
  const h = Buffer.alloc(16);
  const sec = Math.floor(tsMs / 1000);
  h.writeUInt32LE(sec, 0);
  h.writeUInt32LE(Math.round((tsMs - sec * 1000) * 1000), 4);
  h.writeUInt32LE(frame.length, 8);
  h.writeUInt32LE(origLen, 12);
  return Buffer.concat([h, frame]);
}

/** Small deterministic PRNG so generated captures are the same every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

/**
 * A set of distinct Ethernet frames of mixed kinds: IPv4/IPv6, TCP (SYN,
 * SYN-ACK, ACK, PSH-ACK with HTTP-ish text), UDP (DNS-sized), ICMP/ICMPv6
 * echo, about 1 in 10 with a VLAN tag, and an ARP now and then.
 */
export function mixedFrames(count: number, seed = 1): Buffer[] {
  const rnd = lcg(seed);
  const frames: Buffer[] = [];
  const http = Buffer.from('GET /index.html?q=1 HTTP/1.1\r\nHost: lab.test\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n');
  for (let i = 0; i < count; i++) {
    const r = rnd();
    const host = (r >>> 8) & 0xff;
    const six = r % 5 === 0;
    const src = six ? `fd00:10::${(host + 1).toString(16)}` : `10.0.${(r >>> 16) & 0xff}.${host}`;
    const dst = six ? 'fd00:20::80' : '192.168.1.80';
    const sport = 1024 + (r % 60000);
    const kind = (r >>> 4) % 10;
    let l4: Buffer;
    let proto: number;
    if (kind < 5) {
      proto = 6;
      const flags = ['S', 'SA', 'A', 'PA', 'FA'][kind];
      l4 = tcp(sport, 80, flags, flags === 'PA' ? http : Buffer.alloc(0), { seq: r });
    } else if (kind < 8) {
      proto = 17;
      l4 = udp(sport, 53, Buffer.alloc(40 + (r % 60), 0x61));
    } else {
      proto = six ? 58 : 1;
      l4 = icmp(six ? 128 : 8, 0, Buffer.alloc(56, 0x2a), r & 0xffff, i & 0xffff);
    }
    const vlans = r % 10 === 3 ? [100] : [];
    if (r % 97 === 0) {
      frames.push(ether('ff:ff:ff:ff:ff:ff', '02:00:00:00:00:01', 0x0806, arp(1, '02:00:00:00:00:01', '192.168.1.1', '00:00:00:00:00:00', `192.168.1.${host}`)));
      continue;
    }
    const l3 = six ? ipv6(src, dst, proto, l4) : ipv4(src, dst, proto, l4, { id: i & 0xffff });
    frames.push(ether('02:00:00:00:00:02', '02:00:00:00:00:01', six ? 0x86dd : 0x0800, l3, vlans));
  }
  return frames;
}

export interface CaptureOptions {
  /** Distinct background frames to cycle through (default 4096). */
  distinct?: number;
  startMs?: number;
  seed?: number;
  /** Packet-time gap between records, µs (default 10). */
  gapUs?: number;
  /** Replace every Nth record by the next attack frame (see attackFrame); 0 = none. */
  attackEvery?: number;
  /** Build record i's frame instead (e.g. spoofedSyn); overrides the mix. */
  frame?: (i: number) => Buffer;
}

/** The attackers of `attackFrame`, by kind, for checking a benchmark's alerts. */
export const ATTACKERS = {
  synFlood: '10.66.0.1',
  icmpFlood: '10.66.0.2',
  udpFlood: '10.66.0.3',
  portScan: '10.66.0.4',
  xmasScan: '10.66.0.5',
  sqlInjection: '10.66.0.6',
} as const;

const ATTACK_TARGET = '192.168.1.80';
const SQLI_REQUEST = Buffer.from("GET /item.php?id=1%20UNION%20SELECT%20user,password%20FROM%20users-- HTTP/1.1\r\nHost: lab.test\r\n\r\n");

/**
 * The k-th frame of an attack mix cycling through six attackers against
 * 192.168.1.80: a SYN flood (new source port each time), an ICMP echo flood,
 * a UDP flood, a SYN port scan (ports 1-1024), XMAS probes and HTTP requests
 * carrying SQL injection.
 */
export function attackFrame(k: number): Buffer {
  const n = Math.floor(k / 6);
  let l3: Buffer;
  switch (k % 6) {
    case 0: l3 = ipv4(ATTACKERS.synFlood, ATTACK_TARGET, 6, tcp(1024 + (n % 60000), 80, 'S', Buffer.alloc(0), { seq: n })); break;
    case 1: l3 = ipv4(ATTACKERS.icmpFlood, ATTACK_TARGET, 1, icmp(8, 0, Buffer.alloc(56, 0x2a), 7, n & 0xffff)); break;
    case 2: l3 = ipv4(ATTACKERS.udpFlood, ATTACK_TARGET, 17, udp(40000, 9, Buffer.alloc(64, 0x55))); break;
    case 3: l3 = ipv4(ATTACKERS.portScan, ATTACK_TARGET, 6, tcp(45678, 1 + (n % 1024), 'S')); break;
    case 4: l3 = ipv4(ATTACKERS.xmasScan, ATTACK_TARGET, 6, tcp(45679, 1 + (n % 1024), 'FPU')); break;
    default: l3 = ipv4(ATTACKERS.sqlInjection, ATTACK_TARGET, 6, tcp(50000 + (n % 10000), 80, 'PA', SQLI_REQUEST)); break;
  }
  return ether('02:00:00:00:00:02', '02:00:00:00:00:66', 0x0800, l3);
}

/** Record i of a SYN flood from spoofed sources: every record a different IPv4 source (16.7 million before repeating). */
export function spoofedSyn(i: number, target = ATTACK_TARGET): Buffer {
  const src = `${11 + ((i >>> 24) & 0x3f)}.${(i >>> 16) & 0xff}.${(i >>> 8) & 0xff}.${i & 0xff}`;
  return ether('02:00:00:00:00:02', '02:00:00:00:00:66', 0x0800, ipv4(src, target, 6, tcp(1024 + (i % 60000), 80, 'S', Buffer.alloc(0), { seq: i })));
}

/**
 * Write a pcap (Ethernet, microsecond) of `packets` records cycling through
 * `distinct` generated frames, `gapUs` (default 10) µs apart, optionally
 * with an attack mix (`attackEvery`) or frames of the caller's (`frame`). Streams in 4 MiB writes, so a
 * multi-million-packet file costs little memory. Returns the file size.
 */
export function makeCapture(path: string, packets: number, opts: CaptureOptions = {}): number {
  const frames = opts.frame ? [] : mixedFrames(opts.distinct ?? 4096, opts.seed ?? 1);
  const startMs = opts.startMs ?? 1_700_000_000_000;
  const gapUs = opts.gapUs ?? 10;
  const attackEvery = opts.attackEvery ?? 0;
  const fd = fs.openSync(path, 'w');
  try {
    let buf = Buffer.alloc(4 << 20);
    let used = 0;
    let size = 0;
    const flush = (): void => {
      fs.writeSync(fd, buf, 0, used);
      size += used;
      used = 0;
    };
    pcapHeader(LINKTYPE_ETHERNET).copy(buf, 0);
    used = 24;
    for (let i = 0; i < packets; i++) {
      const frame = opts.frame
        ? opts.frame(i)
        : attackEvery > 0 && i % attackEvery === attackEvery - 1
          ? attackFrame(Math.floor(i / attackEvery))
          : frames[i % frames.length];
      if (used + 16 + frame.length > buf.length) {
        flush();
        if (16 + frame.length > buf.length) buf = Buffer.alloc(16 + frame.length);
      }
      const us = i * gapUs;
      const sec = Math.floor(startMs / 1000) + Math.floor(us / 1e6);
      buf.writeUInt32LE(sec, used);
      buf.writeUInt32LE(us % 1e6, used + 4);
      buf.writeUInt32LE(frame.length, used + 8);
      buf.writeUInt32LE(frame.length, used + 12);
      frame.copy(buf, used + 16);
      used += 16 + frame.length;
    }
    flush();
    return size;
  } finally {
    fs.closeSync(fd);
  }
}
