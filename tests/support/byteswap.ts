/**
 * Test support: big-endian copies of little-endian capture files, and a
 * small pcapng writer for block kinds no tool here produces (power-of-2
 * if_tsresol, if_tsoffset, Simple and obsolete Packet Blocks, several
 * sections, unknown blocks).
 *
 * No tool on this machine writes big-endian captures (libpcap, editcap and
 * mergecap write host order), so `toBigEndian` rewrites every multi-byte
 * header field of a real little-endian file; tshark then reads the result,
 * so the expected values of a test still come from an independent reader.
 */

function swap16(b: Buffer, o: number): void {
  b.writeUInt16BE(b.readUInt16LE(o), o);
}
function swap32(b: Buffer, o: number): void {
  b.writeUInt32BE(b.readUInt32LE(o), o);
}
function swap64(b: Buffer, o: number): void {
  b.writeBigUInt64BE(b.readBigUInt64LE(o), o);
}

/** pcapng option values that are numbers (by block type → option code → width); others are text or bytes. */
const NUMERIC_OPTIONS: Record<number, Record<number, number>> = {
  1: { 8: 8, 14: 8 }, // IDB: if_speed, if_tsoffset
  6: { 2: 4, 4: 8, 5: 8, 6: 8, 7: 8 }, // EPB: epb_flags, dropcount, packetid, queue, verdict(8)
  5: { 2: 4, 3: 4, 4: 8, 5: 8, 6: 8, 7: 8, 8: 8 }, // ISB: times and counters
};

function swapOptions(b: Buffer, start: number, end: number, blockType: number): void {
  let o = start;
  while (o + 4 <= end) {
    const code = b.readUInt16LE(o);
    const len = b.readUInt16LE(o + 2);
    swap16(b, o);
    swap16(b, o + 2);
    if (code === 0) break;
    const width = NUMERIC_OPTIONS[blockType]?.[code];
    if (width === 8 && len === 8) swap64(b, o + 4);
    if (width === 4 && len === 4) swap32(b, o + 4);
    o += 4 + ((len + 3) & ~3);
  }
}

/** A big-endian copy of a little-endian pcap or pcapng file. */
export function toBigEndian(file: Buffer): Buffer {
  const b = Buffer.from(file);
  const magic = b.readUInt32LE(0);
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
    swap32(b, 0);
    swap16(b, 4);
    swap16(b, 6);
    for (const o of [8, 12, 16, 20]) swap32(b, o);
    let o = 24;
    while (o + 16 <= b.length) {
      const caplen = b.readUInt32LE(o + 8);
      for (let f = 0; f < 16; f += 4) swap32(b, o + f);
      o += 16 + caplen;
    }
    return b;
  }
  if (magic !== 0x0a0d0d0a) throw new Error('toBigEndian: not a little-endian pcap or pcapng file');
  let o = 0;
  while (o + 12 <= b.length) {
    const type = b.readUInt32LE(o);
    const len = b.readUInt32LE(o + 4);
    swap32(b, o);
    swap32(b, o + 4);
    swap32(b, o + len - 4);
    const body = o + 8;
    switch (type) {
      case 0x0a0d0d0a:
        swap32(b, body); // byte-order magic
        swap16(b, body + 4);
        swap16(b, body + 6);
        swap64(b, body + 8);
        swapOptions(b, body + 16, o + len - 4, type);
        break;
      case 1:
        swap16(b, body);
        swap16(b, body + 2);
        swap32(b, body + 4);
        swapOptions(b, body + 8, o + len - 4, type);
        break;
      case 6: {
        const caplen = b.readUInt32LE(body + 12);
        for (let f = 0; f < 20; f += 4) swap32(b, body + f);
        swapOptions(b, body + 20 + ((caplen + 3) & ~3), o + len - 4, type);
        break;
      }
      case 3:
        swap32(b, body);
        break;
      case 2: {
        const caplen = b.readUInt32LE(body + 12);
        swap16(b, body);
        swap16(b, body + 2);
        for (let f = 4; f < 20; f += 4) swap32(b, body + f);
        swapOptions(b, body + 20 + ((caplen + 3) & ~3), o + len - 4, type);
        break;
      }
      default:
        break; // body left as is: unknown contents
    }
    o += len;
  }
  return b;
}

// ---- pcapng writer (little-endian) ----

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function option(code: number, value: Buffer): Buffer {
  const b = Buffer.alloc(4 + pad4(value.length));
  b.writeUInt16LE(code, 0);
  b.writeUInt16LE(value.length, 2);
  value.copy(b, 4);
  return b;
}

function block(type: number, body: Buffer): Buffer {
  const len = 12 + pad4(body.length);
  const b = Buffer.alloc(len);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(len, 4);
  body.copy(b, 8);
  b.writeUInt32LE(len, len - 4);
  return b;
}

export function shb(): Buffer {
  const body = Buffer.alloc(16);
  body.writeUInt32LE(0x1a2b3c4d, 0);
  body.writeUInt16LE(1, 4);
  body.writeUInt16LE(0, 6);
  body.writeBigInt64LE(-1n, 8);
  return block(0x0a0d0d0a, body);
}

export interface IdbOptions {
  name?: string;
  /** Raw if_tsresol byte: n → 10^-n s, 0x80|n → 2^-n s. */
  tsresol?: number;
  /** if_tsoffset in seconds. */
  tsoffset?: number;
  snaplen?: number;
}

export function idb(linktype: number, o: IdbOptions = {}): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(linktype, 0);
  head.writeUInt32LE(o.snaplen ?? 0, 4);
  const opts: Buffer[] = [];
  if (o.name !== undefined) opts.push(option(2, Buffer.from(o.name)));
  if (o.tsresol !== undefined) opts.push(option(9, Buffer.from([o.tsresol])));
  if (o.tsoffset !== undefined) {
    const v = Buffer.alloc(8);
    v.writeBigInt64LE(BigInt(o.tsoffset), 0);
    opts.push(option(14, v));
  }
  if (opts.length) opts.push(Buffer.alloc(4));
  return block(1, Buffer.concat([head, ...opts]));
}

/** Enhanced Packet Block; `units` is the timestamp in the interface's units. */
export function epb(ifIndex: number, units: bigint, frame: Buffer, origLen = frame.length): Buffer {
  const head = Buffer.alloc(20);
  head.writeUInt32LE(ifIndex, 0);
  head.writeUInt32LE(Number(units >> 32n), 4);
  head.writeUInt32LE(Number(units & 0xffffffffn), 8);
  head.writeUInt32LE(frame.length, 12);
  head.writeUInt32LE(origLen, 16);
  return block(6, Buffer.concat([head, frame, Buffer.alloc(pad4(frame.length) - frame.length)]));
}

/** Obsolete Packet Block (type 2). */
export function pb(ifIndex: number, units: bigint, frame: Buffer): Buffer {
  const head = Buffer.alloc(20);
  head.writeUInt16LE(ifIndex, 0);
  head.writeUInt32LE(Number(units >> 32n), 4);
  head.writeUInt32LE(Number(units & 0xffffffffn), 8);
  head.writeUInt32LE(frame.length, 12);
  head.writeUInt32LE(frame.length, 16);
  return block(2, Buffer.concat([head, frame, Buffer.alloc(pad4(frame.length) - frame.length)]));
}

/** Simple Packet Block: original length and data only (no interface id, no timestamp). */
export function spb(frame: Buffer, origLen = frame.length): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(origLen, 0);
  return block(3, Buffer.concat([head, frame]));
}

/** A block of a type nobody knows, to be skipped. */
export function unknownBlock(type: number, bodyLength: number): Buffer {
  return block(type, Buffer.alloc(bodyLength, 0x5a));
}
