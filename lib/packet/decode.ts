/**
 * Packet decoder: link layer (Ethernet with 802.1Q/QinQ, Linux SLL/SLL2,
 * BSD NULL/LOOP, raw IP, IEEE 802.11 bare or behind radiotap/PPI) → IPv4/IPv6/ARP → TCP/UDP/ICMP/ICMPv6, into the
 * Packet of docs/architecture.md.
 *
 * Hot path: one object per packet (the Packet, always built with the same
 * shape so V8 keeps one hidden class) plus one Buffer view for the payload;
 * no closures, no intermediate arrays, address text built from lookup tables
 * (and reused from small caches for IPv4, IPv6 and MAC addresses).
 * Every read is bounds-checked against the captured bytes: bad input never
 * throws, decoding stops and `malformed` says why.
 *
 * Frames read in place from a capture chunk (decodeFrame, decodeRecord) have their
 * 16- and 32-bit fields read through a DataView made once per chunk (FieldView):
 * decoding the mixed bench capture costs 130-170 instructions a packet less,
 * ~1,540 -> ~1,410 (callgrind, 200,000 records decoded 2 and 4 times).
 */
import type { Packet } from './types';
import { formatIpv6At } from '../base/address';
import { TCP_FLAG_TEXT } from './tcp-flags';
import {
  LINKTYPE_NULL,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  LINKTYPE_LOOP,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_IEEE802_11,
  LINKTYPE_IEEE802_11_RADIOTAP,
  LINKTYPE_PPI,
  DLT_RAW_BSD,
  DLT_RAW_OPENBSD,
} from './linktypes';
import { ppiHeader, radiotapHeader, wlanFrame, type RadioHeader } from './ieee80211';

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD = 0x9100;
const ETHERTYPE_IPV6 = 0x86dd;
/** At most this many stacked VLAN tags are walked (QinQ is 2; more is abuse). */
const MAX_VLAN_TAGS = 8;
/** At most this many IPv6 extension headers are walked. */
const MAX_IPV6_EXT = 16;

const IPPROTO_ICMP = 1;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_ICMPV6 = 58;

// Lookup tables built once: decimal octets (bare and after a dot), two-digit hex
// (as text and as the char codes of its two digits).
const DEC: string[] = [];
const DOT_DEC: string[] = [];
const HEX2: string[] = [];
const HEX_HI = new Uint8Array(256);
const HEX_LO = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  DEC.push(String(i));
  DOT_DEC.push('.' + String(i));
  HEX2.push(i.toString(16).padStart(2, '0'));
  HEX_HI[i] = HEX2[i].charCodeAt(0);
  HEX_LO[i] = HEX2[i].charCodeAt(1);
}
const COLON = 0x3a;
/** TCP flag byte → letters (a module-local binding: read per TCP packet). */
const TCP_FLAGS = TCP_FLAG_TEXT;

/** Names of well-known IP protocol numbers; the rest become 'ip-<n>'. */
const IP_PROTO_NAMES: string[] = [];
for (let n = 0; n < 256; n++) IP_PROTO_NAMES.push(`ip-${n}`);
IP_PROTO_NAMES[IPPROTO_ICMP] = 'icmp';
IP_PROTO_NAMES[IPPROTO_TCP] = 'tcp';
IP_PROTO_NAMES[IPPROTO_UDP] = 'udp';
IP_PROTO_NAMES[IPPROTO_ICMPV6] = 'icmp6';

// Small direct-mapped caches of address text. Home and lab traffic repeats the
// same few hosts, so most packets reuse a string instead of building one: less
// garbage, and flat strings whose hash is computed once for the detectors' maps.
// A miss (e.g. a spoofed-source flood) just builds the string and replaces the slot.
// 16384 IPv4 slots: a few thousand active hosts mostly hit (1024 slots missed 45% of
// lookups with 3,200 distinct addresses, 16384 miss 7%), for at most ~0.7 MiB: 64 KiB of
// keys, 128 KiB of references, and up to 16384 short strings of ~32 bytes.
const IP4_SLOTS = 16384;
const ip4Keys = new Int32Array(IP4_SLOTS); // key 0 ↔ '0.0.0.0' keeps empty slots consistent
const ip4Text: string[] = new Array<string>(IP4_SLOTS).fill('0.0.0.0');
const MAC_SLOTS = 256;
const macKeysHi = new Int32Array(MAC_SLOTS);
const macKeysLo = new Int32Array(MAC_SLOTS);
const macText: string[] = new Array<string>(MAC_SLOTS).fill('00:00:00:00:00:00');

/** The 4 bytes at `off` as a signed 32-bit integer, big-endian (Packet `src4`/`dst4`). */
export function ipv4IntAt(d: Buffer, off: number): number {
  return i32(d, null, off);
}

/** Dotted quad of an address given as `ipv4IntAt` returns it. */
export function ipv4Text(key: number): string {
  const slot = (key ^ (key >>> 10) ^ (key >>> 20)) & (IP4_SLOTS - 1);
  if (ip4Keys[slot] === key) return ip4Text[slot];
  const text = DEC[key >>> 24] + DOT_DEC[(key >>> 16) & 0xff] + DOT_DEC[(key >>> 8) & 0xff] + DOT_DEC[key & 0xff];
  ip4Keys[slot] = key;
  ip4Text[slot] = text;
  return text;
}

/** Lowercase 'aa:bb:cc:dd:ee:ff' of 6 bytes at `off`. */
export function macAt(d: Buffer, off: number): string {
  return macAtView(null, d, off);
}

/** `macAt` with the frame's DataView (see `frameView`), or null to read bytes. */
function macAtView(dv: FieldView, d: Buffer, off: number): string {
  const hi = u16(d, dv, off);
  const lo = i32(d, dv, off + 2);
  const slot = (lo ^ (lo >>> 8) ^ (lo >>> 16) ^ hi) & (MAC_SLOTS - 1);
  if (macKeysLo[slot] === lo && macKeysHi[slot] === hi) return macText[slot];
  const a = d[off], b = d[off + 1], c = d[off + 2], e = d[off + 3], f = d[off + 4], g = d[off + 5];
  // one flat string, no concatenation chain
  const text = String.fromCharCode(
    HEX_HI[a], HEX_LO[a], COLON, HEX_HI[b], HEX_LO[b], COLON, HEX_HI[c], HEX_LO[c], COLON,
    HEX_HI[e], HEX_LO[e], COLON, HEX_HI[f], HEX_LO[f], COLON, HEX_HI[g], HEX_LO[g],
  );
  macKeysHi[slot] = hi;
  macKeysLo[slot] = lo;
  macText[slot] = text;
  return text;
}

/**
 * The payload of packets that carry none (pure ACKs, SYNs, ARP, malformed):
 * one shared empty Buffer instead of an empty view per packet. It has no
 * bytes, so sharing it is safe.
 */
const NO_PAYLOAD = Buffer.alloc(0);

/** Payload view data[start, end), or the shared empty buffer. */
function view(data: Buffer, start: number, end: number): Buffer {
  return start < end ? data.subarray(start, end) : NO_PAYLOAD;
}

const IP6_SLOTS = 256;
/** Four 32-bit words per slot; all-zero keys ↔ '::' keeps empty slots consistent. */
const ip6Keys = new Int32Array(IP6_SLOTS * 4);
const ip6Text: string[] = new Array<string>(IP6_SLOTS).fill('::');

/** IPv6 text of 16 bytes at `off`, from the cache when this address was seen lately. */
function ipv6At(dv: FieldView, d: Buffer, off: number): string {
  const w0 = i32(d, dv, off);
  const w1 = i32(d, dv, off + 4);
  const w2 = i32(d, dv, off + 8);
  const w3 = i32(d, dv, off + 12);
  const h = w0 ^ w1 ^ w2 ^ w3;
  const slot = (h ^ (h >>> 8) ^ (h >>> 16) ^ (h >>> 24)) & (IP6_SLOTS - 1);
  const k = slot << 2;
  if (ip6Keys[k] === w0 && ip6Keys[k + 1] === w1 && ip6Keys[k + 2] === w2 && ip6Keys[k + 3] === w3) return ip6Text[slot];
  const text = formatIpv6At(d, off);
  ip6Keys[k] = w0;
  ip6Keys[k + 1] = w1;
  ip6Keys[k + 2] = w2;
  ip6Keys[k + 3] = w3;
  ip6Text[slot] = text;
  return text;
}

/**
 * Multi-byte fields of frames read in place from a capture chunk (decodeFrame)
 * are read through a DataView over the chunk: a 16- or 32-bit field is then one
 * bounds-checked load instead of two or four byte loads of ~7 instructions each
 * (the saving in the header comment). The
 * view is made once per chunk and reused while the same buffer
 * comes back (so it holds that buffer, at most one read chunk, until the next).
 * A buffer of one frame (live capture, NFQUEUE: decodePacket, decodeIp) is read
 * byte by byte as before (`null` view): making a DataView costs ~700
 * instructions (a C++ constructor and the `buffer` getter), more than it saves
 * on one frame. Every read is behind the same length checks either way: a
 * DataView read out of range would throw, and none is.
 */
type FieldView = DataView | null;

function u16(d: Buffer, dv: FieldView, o: number): number {
  return dv !== null ? dv.getUint16(o) : (d[o] << 8) | d[o + 1];
}

function i32(d: Buffer, dv: FieldView, o: number): number {
  return dv !== null ? dv.getInt32(o) : (d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3];
}

function u32(d: Buffer, dv: FieldView, o: number): number {
  return dv !== null ? dv.getUint32(o) : ((d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]) >>> 0;
}

let frameViewOf: Buffer | undefined;
let frameDv: DataView = new DataView(new ArrayBuffer(0));

/** The DataView over `data`, made when `data` is not the buffer of the last call. */
function frameView(data: Buffer): DataView {
  if (data !== frameViewOf) {
    frameDv = new DataView(data.buffer, data.byteOffset, data.length);
    frameViewOf = data;
  }
  return frameDv;
}

/**
 * A fresh packet, every field present so all packets share one shape.
 *
 * Made by `new` of a plain constructor, not as an object literal: V8 may
 * decide that a literal's objects are long-lived (allocation-site
 * pretenuring, when early in a run most of them outlived a young-generation
 * collection) and allocate every later one straight in the old generation,
 * where each packet becomes garbage that only a full collection frees. In
 * about a third of the detector chain benchmark's runs that happened: peak
 * RSS 385 instead of 273 MiB and twice the GC pause time. Objects made by
 * `new` have no allocation site. The constructor's prototype is
 * Object.prototype, so a packet is still a plain object.
 */
const PlainPacket = function (this: Packet, caplen: number, ts: number, len: number, iface: string | undefined): void {
  this.ts = ts;
  this.len = len;
  this.caplen = caplen;
  this.iface = iface;
  this.srcMac = undefined;
  this.dstMac = undefined;
  this.vlan = undefined;
  this.ip = 0;
  this.src = '';
  this.dst = '';
  this.src4 = undefined;
  this.dst4 = undefined;
  this.proto = 'unknown';
  this.sport = undefined;
  this.dport = undefined;
  this.flags = undefined;
  this.flagBits = undefined;
  this.seq = undefined;
  this.ack = undefined;
  this.icmpType = undefined;
  this.icmpCode = undefined;
  this.ttl = undefined;
  this.l4HeaderLen = undefined;
  this.window = undefined;
  this.frag = undefined;
  this.payload = NO_PAYLOAD;
  this.malformed = undefined;
} as unknown as new (caplen: number, ts: number, len: number, iface: string | undefined) => Packet;
PlainPacket.prototype = Object.prototype;

/** Marks `p` malformed, with no payload. */
function stop(p: Packet, reason: string): Packet {
  p.malformed = reason;
  p.payload = NO_PAYLOAD;
  return p;
}

function truncated(p: Packet, what: string, have: number, need: number): Packet {
  return stop(p, `truncated ${what} header (${have < 0 ? 0 : have} of ${need} bytes)`);
}

/** ARPHRD types whose cooked-header address is a MAC: Ethernet (1) and loopback (772, all zeros, as Linux reports it). */
function isEtherLike(arphrd: number): boolean {
  return arphrd === 1 || arphrd === 772;
}

/**
 * Decode one captured frame. Never throws: an unsupported link type or bad
 * bytes give a packet with `malformed` set to the reason. `payload` is a view
 * of `data` (the bytes after the last header decoded), never a copy; when
 * there are no such bytes it is a shared empty Buffer.
 *
 * @param data     captured bytes, starting at the link-layer header
 * @param linktype LINKTYPE_* of the capture (see ./linktypes)
 * @param ts       capture time, ms since epoch
 * @param len      original length on the wire
 * @param iface    interface name, when known
 */
export function decodePacket(data: Buffer, linktype: number, ts: number, len: number, iface?: string): Packet {
  return frame(data, null, 0, data.length, linktype, ts, len, iface);
}

/**
 * `decodePacket` of the frame data[start, start + caplen), straight from a
 * buffer that holds more (a capture file's read chunk): no view of the frame
 * is made, only the payload's. Same result as decoding such a view.
 * `start + caplen` must not pass the end of `data`.
 */
export function decodeFrame(data: Buffer, start: number, caplen: number, linktype: number, ts: number, len: number, iface?: string): Packet {
  return frame(data, frameView(data), start, caplen, linktype, ts, len, iface);
}

/** `decodeFrame`, with `dv` the DataView over all of `data` (or null: see FieldView). */
function frame(data: Buffer, dv: FieldView, start: number, caplen: number, linktype: number, ts: number, len: number, iface: string | undefined): Packet {
  const p = new PlainPacket(caplen, ts, len, iface);
  const n = caplen;
  const lim = start + caplen;
  switch (linktype) {
    case LINKTYPE_ETHERNET: {
      if (n < 14) return truncated(p, 'Ethernet', n, 14);
      p.dstMac = macAtView(dv, data, start);
      p.srcMac = macAtView(dv, data, start + 6);
      return decodeEthertype(p, data, dv, u16(data, dv, start + 12), start + 14, lim);
    }
    case LINKTYPE_RAW:
    case DLT_RAW_BSD:
    case DLT_RAW_OPENBSD:
      return decodeIpAt(p, data, dv, start, lim);
    case LINKTYPE_IPV4:
      return decodeIpv4(p, data, dv, start, lim);
    case LINKTYPE_IPV6:
      return decodeIpv6(p, data, dv, start, lim);
    case LINKTYPE_LINUX_SLL: {
      // packet type(2) ARPHRD(2) address length(2) address(8) protocol(2)
      if (n < 16) return truncated(p, 'Linux SLL', n, 16);
      if (isEtherLike((data[start + 2] << 8) | data[start + 3]) && ((data[start + 4] << 8) | data[start + 5]) === 6) p.srcMac = macAt(data, start + 6);
      return decodeEthertype(p, data, dv, (data[start + 14] << 8) | data[start + 15], start + 16, lim);
    }
    case LINKTYPE_LINUX_SLL2: {
      // protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) address length(1) address(8)
      if (n < 20) return truncated(p, 'Linux SLL2', n, 20);
      if (isEtherLike((data[start + 8] << 8) | data[start + 9]) && data[start + 11] === 6) p.srcMac = macAt(data, start + 12);
      return decodeEthertype(p, data, dv, (data[start] << 8) | data[start + 1], start + 20, lim);
    }
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
      if (n < 4) return truncated(p, 'loopback', n, 4);
      // NULL stores the family in the capturing host's byte order; families are small, so
      // a value with its low 16 bits zero in one order is the other order.
      let family = linktype === LINKTYPE_LOOP ? data.readUInt32BE(start) : data.readUInt32LE(start);
      if (family > 0xffff) family = data.readUInt32BE(start);
      if (family === 2) return decodeIpv4(p, data, dv, start + 4, lim);
      // AF_INET6 differs per OS: Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30.
      if (family === 10 || family === 24 || family === 28 || family === 30) return decodeIpv6(p, data, dv, start + 4, lim);
      p.proto = `af-${family}`;
      p.payload = view(data, start + 4, lim);
      return p;
    }
    case LINKTYPE_IEEE802_11:
      return decodeWlan(p, data, dv, start, lim);
    case LINKTYPE_IEEE802_11_RADIOTAP:
      return decodeRadio(p, data, dv, radiotapHeader(data, start, lim), start, lim);
    case LINKTYPE_PPI:
      return decodeRadio(p, data, dv, ppiHeader(data, start, lim), start, lim);
    default:
      return stop(p, `unsupported link type ${linktype}`);
  }
}

/** The frame behind a radiotap or PPI header; a trailing FCS is not payload. */
function decodeRadio(p: Packet, data: Buffer, dv: FieldView, h: RadioHeader | string, start: number, lim: number): Packet {
  if (typeof h === 'string') return stop(p, h);
  // The FCS is the last 4 bytes on the wire; a snaplen cut may have left it out already.
  const end = h.fcs ? Math.min(lim, start + p.len - 4) : lim;
  if (h.linktype === LINKTYPE_IEEE802_11) return decodeWlan(p, data, dv, h.off, end);
  if (h.linktype === LINKTYPE_PPI || h.linktype === LINKTYPE_IEEE802_11_RADIOTAP) return stop(p, `PPI header around link type ${h.linktype}`);
  const inner = frame(data, dv, h.off, Math.max(0, end - h.off), h.linktype, p.ts, p.len, p.iface);
  inner.caplen = p.caplen;
  return inner;
}

/** An 802.11 frame: SNAP data frames go on as Ethernet would; the rest flow as non-IP (see ./ieee80211). */
function decodeWlan(p: Packet, data: Buffer, dv: FieldView, start: number, lim: number): Packet {
  const f = wlanFrame(data, start, lim);
  if (typeof f === 'string') return stop(p, f);
  if (f.saOff >= 0) p.srcMac = macAt(data, f.saOff);
  if (f.daOff >= 0) p.dstMac = macAt(data, f.daOff);
  if (f.proto !== '') {
    p.proto = f.proto;
    p.payload = view(data, f.off, f.lim);
    return p;
  }
  return decodeEthertype(p, data, dv, f.ethertype, f.off, f.lim);
}

/** A frame held in a larger buffer, as a capture file reader hands it out (CaptureRecord). */
export interface FrameInChunk {
  chunk: Buffer;
  offset: number;
  caplen: number;
  linktype: number;
  ts: number;
  len: number;
  iface?: string;
}

/** `decodeFrame` of a record, read in place in its chunk. */
export function decodeRecord(r: FrameInChunk): Packet {
  return decodeFrame(r.chunk, r.offset, r.caplen, r.linktype, r.ts, r.len, r.iface);
}

/**
 * Decode a buffer that starts at an IPv4 or IPv6 header (NFQUEUE, raw
 * sockets, LINKTYPE_RAW). Same result as `decodePacket(data, LINKTYPE_RAW, …)`.
 */
export function decodeIp(data: Buffer, ts: number, len: number = data.length, iface?: string): Packet {
  return decodeIpAt(new PlainPacket(data.length, ts, len, iface), data, null, 0, data.length);
}

/** `lim`: where the captured frame ends in `data` (here and below). */
function decodeIpAt(p: Packet, data: Buffer, dv: FieldView, off: number, lim: number): Packet {
  if (off >= lim) return truncated(p, 'IP', 0, 20);
  const version = data[off] >> 4;
  if (version === 4) return decodeIpv4(p, data, dv, off, lim);
  if (version === 6) return decodeIpv6(p, data, dv, off, lim);
  return stop(p, `unknown IP version ${version}`);
}

/** Ethertype at a link header's end; VLAN tags are walked for cooked captures too (libpcap re-inserts them there). */
function decodeEthertype(p: Packet, data: Buffer, dv: FieldView, type: number, off: number, lim: number): Packet {
  let ethertype = type;
  let o = off;
  for (let tags = 0; ethertype === ETHERTYPE_VLAN || ethertype === ETHERTYPE_QINQ || ethertype === ETHERTYPE_QINQ_OLD; tags++) {
    if (tags === MAX_VLAN_TAGS) return stop(p, `more than ${MAX_VLAN_TAGS} VLAN tags`);
    if (lim - o < 4) return truncated(p, '802.1Q tag', lim - o, 4);
    if (tags === 0) p.vlan = ((data[o] & 0x0f) << 8) | data[o + 1];
    ethertype = (data[o + 2] << 8) | data[o + 3];
    o += 4;
  }
  switch (ethertype) {
    case ETHERTYPE_IPV4:
      return decodeIpv4(p, data, dv, o, lim);
    case ETHERTYPE_IPV6:
      return decodeIpv6(p, data, dv, o, lim);
    case ETHERTYPE_ARP:
      return decodeArp(p, data, o, lim);
    default:
      // 0..1500 is an 802.3 length (LLC follows), not a type.
      p.proto = ethertype <= 1500 ? 'llc' : `ether-0x${HEX2[ethertype >> 8]}${HEX2[ethertype & 0xff]}`;
      p.payload = view(data, o, lim);
      return p;
  }
}

function decodeArp(p: Packet, data: Buffer, off: number, lim: number): Packet {
  p.proto = 'arp';
  const avail = lim - off;
  if (avail < 8) return truncated(p, 'ARP', avail, 8);
  const ptype = (data[off + 2] << 8) | data[off + 3];
  const hlen = data[off + 4];
  const plen = data[off + 5];
  const need = 8 + 2 * hlen + 2 * plen;
  if (avail < need) return truncated(p, 'ARP', avail, need);
  if (ptype === ETHERTYPE_IPV4 && plen === 4) {
    p.src4 = ipv4IntAt(data, off + 8 + hlen);
    p.dst4 = ipv4IntAt(data, off + 8 + 2 * hlen + 4);
    p.src = ipv4Text(p.src4);
    p.dst = ipv4Text(p.dst4);
  }
  // The ARP message itself: opcode and hardware addresses are read from it (lib/packet/lan.ts).
  p.payload = view(data, off, off + need);
  return p;
}

function decodeIpv4(p: Packet, data: Buffer, dv: FieldView, off: number, lim: number): Packet {
  p.ip = 4;
  const avail = lim - off;
  if (avail < 20) return truncated(p, 'IPv4', avail, 20);
  const vihl = data[off];
  if (vihl >> 4 !== 4) return stop(p, `IP version ${vihl >> 4} where IPv4 was expected`);
  const hlen = (vihl & 0x0f) << 2;
  p.ttl = data[off + 8];
  const protoNum = data[off + 9];
  p.proto = IP_PROTO_NAMES[protoNum];
  const src4 = i32(data, dv, off + 12);
  const dst4 = i32(data, dv, off + 16);
  p.src4 = src4;
  p.dst4 = dst4;
  p.src = ipv4Text(src4);
  p.dst = ipv4Text(dst4);
  if (hlen < 20) return stop(p, `IPv4 header length ${hlen} < 20`);
  if (avail < hlen) return truncated(p, 'IPv4 (with options)', avail, hlen);
  const total = u16(data, dv, off + 2);
  // Total length 0 appears on captures of TSO/GSO super-packets: take what was captured.
  let end = lim;
  if (total !== 0) {
    if (total < hlen) return stop(p, `IPv4 total length ${total} < header length ${hlen}`);
    // Shorter than the capture: the rest is link-layer padding (Ethernet trailer).
    if (off + total < end) end = off + total;
  }
  const fragField = u16(data, dv, off + 6);
  const fragOffset = (fragField & 0x1fff) << 3;
  const l4 = off + hlen;
  if (fragOffset !== 0) {
    // Not the first fragment: what follows is the middle of the L4 data, not a header.
    p.frag = fragField & 0x2000 ? 'middle' : 'last';
    p.payload = view(data, l4, end);
    return p;
  }
  if (fragField & 0x2000) p.frag = 'first';
  return decodeL4(p, data, dv, protoNum, l4, end);
}

function decodeIpv6(p: Packet, data: Buffer, dv: FieldView, off: number, lim: number): Packet {
  p.ip = 6;
  const avail = lim - off;
  if (avail < 40) return truncated(p, 'IPv6', avail, 40);
  if (data[off] >> 4 !== 6) return stop(p, `IP version ${data[off] >> 4} where IPv6 was expected`);
  p.ttl = data[off + 7];
  p.src = ipv6At(dv, data, off + 8);
  p.dst = ipv6At(dv, data, off + 24);
  const payloadLen = u16(data, dv, off + 4);
  // Payload length 0 is a jumbogram (hop-by-hop option) or a GSO capture: take what was captured.
  let end = lim;
  if (payloadLen !== 0 && off + 40 + payloadLen < end) end = off + 40 + payloadLen;
  let next = data[off + 6];
  let o = off + 40;
  for (let i = 0; ; i++) {
    switch (next) {
      case 0: // hop-by-hop options
      case 43: // routing
      case 60: // destination options
      case 135: // mobility
      case 139: // HIP
      case 140: // shim6
      {
        if (i === MAX_IPV6_EXT) return stop(p, `more than ${MAX_IPV6_EXT} IPv6 extension headers`);
        if (end - o < 2) {
          p.proto = IP_PROTO_NAMES[next];
          return truncated(p, `IPv6 extension (${next})`, end - o, 2);
        }
        const extLen = (data[o + 1] + 1) << 3;
        if (end - o < extLen) {
          p.proto = IP_PROTO_NAMES[next];
          return truncated(p, `IPv6 extension (${next})`, end - o, extLen);
        }
        next = data[o];
        o += extLen;
        continue;
      }
      case 51: {
        // AH: length in 4-byte units minus 2
        if (i === MAX_IPV6_EXT) return stop(p, `more than ${MAX_IPV6_EXT} IPv6 extension headers`);
        if (end - o < 2) {
          p.proto = IP_PROTO_NAMES[next];
          return truncated(p, 'IPv6 AH', end - o, 2);
        }
        const ahLen = (data[o + 1] + 2) << 2;
        if (end - o < ahLen) {
          p.proto = IP_PROTO_NAMES[next];
          return truncated(p, 'IPv6 AH', end - o, ahLen);
        }
        next = data[o];
        o += ahLen;
        continue;
      }
      case 44: {
        // fragment: next(1) reserved(1) offset+flags(2) id(4)
        if (i === MAX_IPV6_EXT) return stop(p, `more than ${MAX_IPV6_EXT} IPv6 extension headers`);
        if (end - o < 8) {
          p.proto = IP_PROTO_NAMES[next];
          return truncated(p, 'IPv6 fragment', end - o, 8);
        }
        const fragField = (data[o + 2] << 8) | data[o + 3];
        next = data[o];
        o += 8;
        if (fragField & 0xfff8) {
          p.frag = fragField & 1 ? 'middle' : 'last';
          p.proto = IP_PROTO_NAMES[next];
          p.payload = view(data, o, end);
          return p;
        }
        if (fragField & 1) p.frag = 'first';
        continue;
      }
      default:
        p.proto = IP_PROTO_NAMES[next];
        return decodeL4(p, data, dv, next, o, end);
    }
  }
}

/** TCP/UDP/ICMP/ICMPv6 header at `off`; the IP datagram ends at `end`. */
function decodeL4(p: Packet, data: Buffer, dv: FieldView, protoNum: number, off: number, end: number): Packet {
  const avail = end - off;
  switch (protoNum) {
    case IPPROTO_TCP: {
      if (avail >= 4) {
        const ports = u32(data, dv, off);
        p.sport = ports >>> 16;
        p.dport = ports & 0xffff;
      }
      if (avail >= 14) {
        const bits = data[off + 13];
        p.flags = TCP_FLAGS[bits];
        p.flagBits = bits;
        p.seq = u32(data, dv, off + 4);
        p.ack = u32(data, dv, off + 8);
      }
      if (avail < 20) return truncated(p, 'TCP', avail, 20);
      const hlen = (data[off + 12] >> 4) << 2;
      if (hlen < 20) return stop(p, `TCP data offset ${hlen >> 2} < 5 (header length ${hlen} < 20)`);
      if (avail < hlen) return stop(p, `TCP header length ${hlen} runs past the captured bytes (${avail} left)`);
      p.l4HeaderLen = hlen;
      p.window = u16(data, dv, off + 14);
      p.payload = view(data, off + hlen, end);
      return p;
    }
    case IPPROTO_UDP: {
      if (avail >= 4) {
        const ports = u32(data, dv, off);
        p.sport = ports >>> 16;
        p.dport = ports & 0xffff;
      }
      if (avail < 8) return truncated(p, 'UDP', avail, 8);
      const udpLen = u16(data, dv, off + 4);
      // Trust the UDP length only when it is sane; 0 is used by jumbograms.
      const udpEnd = udpLen >= 8 && udpLen < avail ? off + udpLen : end;
      p.l4HeaderLen = 8;
      p.payload = view(data, off + 8, udpEnd);
      return p;
    }
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: {
      if (avail >= 2) {
        p.icmpType = data[off];
        p.icmpCode = data[off + 1];
      }
      // type(1) code(1) checksum(2) and 4 bytes of type-specific header (echo id/seq, ...)
      if (avail < 8) return truncated(p, protoNum === IPPROTO_ICMP ? 'ICMP' : 'ICMPv6', avail, 8);
      p.l4HeaderLen = 8;
      p.payload = view(data, off + 8, end);
      return p;
    }
    default:
      p.payload = view(data, off, end);
      return p;
  }
}
