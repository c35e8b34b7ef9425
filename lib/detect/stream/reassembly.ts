/**
 * Bounded TCP reassembly per connection and direction, on packet time.
 *
 * Each direction keeps the next sequence number it expects. A segment that
 * starts at or before it delivers its new bytes at once (bytes already
 * delivered are not taken again); a segment from the future is held, copied,
 * until the hole before it is filled. Overlaps follow one policy, Suricata's
 * "first": bytes received first win, whether already delivered or held, and
 * a later segment only fills what is still missing. When the held bytes of a
 * connection pass `heldBytes` (or the connection closes with a hole), the
 * hole is given up: counted as a gap, and the stream resumes at the first
 * held segment without joining across it.
 *
 * What a direction delivers is inspected once: each call returns this
 * packet's new in-order bytes preceded by up to `contextBytes` of the bytes
 * before them (the tail kept per direction), so a signature split across
 * segments is found when its last byte arrives, and a match ending in the
 * context alone was already reported. After `depthBytes` of a direction
 * (Suricata's `stream.reassembly.depth`, 1 MiB) nothing more is delivered:
 * downloads cost nothing past their first megabyte.
 *
 * Bounded: connections live in a BoundedTable (stalest evicted first,
 * counted), created only by a SYN-ACK or by data, never by a bare SYN, so
 * a SYN flood allocates nothing and a flood of answered half-open
 * connections only recycles table entries. Held and context bytes are
 * charged to a total `memcapBytes`; over it the stalest connections are
 * evicted (counted) until it fits. A connection idle for `idleMs` of packet
 * time is forgotten; FIN both ways or RST closes it.
 *
 * Per connection: about 500 bytes of objects (charged as CONNECTION_BYTES),
 * plus its held and context bytes; 1,000,000 half-open connections through
 * the default caps (100,000 connections, 64 MiB) peak at 130 MiB RSS.
 */
import { Buffer } from 'node:buffer';
import type { Packet } from '../../packet/types';
import { flagBitsOf } from '../../packet/tcp-flags';
import { BoundedTable } from '../table';
import { dstKey, srcKey, withPort, type AddrKey } from '../keys';
import type { FlowContext } from '../payload/inspection';

export interface ReassemblySettings {
  /** Connections tracked at once; the stalest is evicted beyond. */
  maxConnections: number;
  /** Held (out-of-order), context and application bytes of all connections together. */
  memcapBytes: number;
  /** Out-of-order bytes held per connection before its hole is given up. */
  heldBytes: number;
  /** Bytes delivered per direction; later bytes are not inspected. */
  depthBytes: number;
  /** A connection idle this long (packet time) is forgotten. */
  idleMs: number;
  /** Bytes of a direction kept before new data, to match across segment boundaries. */
  contextBytes: number;
}

/** Counters shown in the status (as the other tables' evictions). */
export interface ReassemblyStats {
  connections: number;
  /** Connections evicted because the table or the memory cap was full. */
  evictions: number;
  /** Holes given up (data missing from a stream). */
  gaps: number;
  /** Bytes held now (out-of-order, context, application buffers). */
  memory: number;
}

interface Held {
  seq: number;
  data: Buffer;
}

/**
 * TCP's flag bits (tcp-flags.ts's TCP_FIN …, fixed by the protocol) as
 * literals: an imported constant is a load from that module's exports
 * object, with its checks, at each of the ten or so uses per segment that
 * is looked up.
 */
const enum Flag {
  FIN = 0x01,
  SYN = 0x02,
  RST = 0x04,
  ACK = 0x10,
}

/** Signed distance from sequence number b to a (modulo 2^32). */
function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** One direction of a connection. */
export class Direction {
  /** Next expected sequence number (valid when `synced`). */
  next = 0;
  synced = false;
  /** Bytes delivered in order so far (for the depth). */
  delivered = 0;
  /** Out-of-order segments, by sequence, not overlapping each other. */
  held: Held[] | null = null;
  heldBytes = 0;
  /** The last bytes delivered (`tailLen` of them, copied into a buffer reused for the connection's life), joined before the next ones. */
  tail: Buffer | null = null;
  tailLen = 0;
  /** Sequence number after the FIN's data, once a FIN was seen. */
  finSeq = -1;
  /** Per-direction state of an application parser (HTTP). */
  app: unknown = null;

  reset(): void {
    this.next = 0;
    this.synced = false;
    this.delivered = 0;
    this.held = null;
    this.heldBytes = 0;
    this.tail = null;
    this.tailLen = 0;
    this.finSeq = -1;
    this.app = null;
  }
}

let nextId = 1;

/**
 * Bookkeeping bytes charged per held segment besides its data (the Buffer
 * and its entry), so the memory cap bounds what held segments really cost.
 */
const HELD_OVERHEAD = 160;

/**
 * What a tracked connection costs besides its bytes (its objects and table
 * entry, measured: about 500 bytes), charged to the memory cap so that it
 * bounds the whole of reassembly, not only the data.
 */
export const CONNECTION_BYTES = 600;

/**
 * A copy that owns its memory: Buffer.from of a small slice takes a piece of
 * a shared 8 KiB pool, and one kept piece keeps the whole pool alive.
 */
export function ownCopy(bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafeSlow(bytes.length);
  out.set(bytes);
  return out;
}

/** A tracked connection; its FlowContext is shared by the inspections of both directions. */
export class Connection implements FlowContext {
  private serial = 0;
  established = false;
  private flowbits: Set<string> | null = null;
  /** Whether the connection's low endpoint (see `isLow`) is the client. */
  clientIsLow = true;
  /** Client → server and server → client. */
  readonly toServer = new Direction();
  readonly toClient = new Direction();
  /** A SYN-ACK was seen (then the client's next ACK establishes it). */
  synAck = false;
  /** Bytes charged to the memory cap. */
  memory = 0;
  /** Out of the table (closed, evicted, expired): charges no longer count. */
  released = false;
  key: AddrKey = 0;
  key2 = 0;

  get id(): string {
    return String(this.serial);
  }

  get bits(): Set<string> {
    return (this.flowbits ??= new Set());
  }

  init(key: AddrKey, key2: number, clientIsLow: boolean): void {
    this.serial = nextId++;
    this.established = false;
    this.flowbits = null;
    this.clientIsLow = clientIsLow;
    this.toServer.reset();
    this.toClient.reset();
    this.synAck = false;
    this.memory = 0;
    this.released = false;
    this.key = key;
    this.key2 = key2;
  }
}

/** What one packet did to its connection. */
export interface Delivery {
  conn: Connection;
  /** Sent by the client. */
  toServer: boolean;
  /**
   * This packet's new in-order bytes (possibly with held segments it
   * released), preceded by `fresh` bytes of context; null when it added none.
   */
  stream: Buffer | null;
  fresh: number;
  /** A hole in this direction was given up with this packet (bytes are missing before `stream`). */
  gap: boolean;
  /** The connection ended with this packet (FIN both ways or RST): forget per-connection state after use. */
  closed: boolean;
}

/** Compare two endpoints: address keys (keys.ts), then ports. */
export function lowFirst(a: AddrKey, aPort: number, b: AddrKey, bPort: number): boolean {
  return a !== b ? a < b : aPort <= bPort;
}

export class Reassembler {
  private readonly table: BoundedTable<AddrKey, Connection>;
  private memoryUsed = 0;
  private memEvictions = 0;
  private gapCount = 0;
  private expiredBefore = 0;
  private readonly delivery: Delivery = { conn: null as unknown as Connection, toServer: true, stream: null, fresh: 0, gap: false, closed: false };
  private readonly pieces: Buffer[] = [];

  constructor(private settings: ReassemblySettings) {
    this.table = new BoundedTable<AddrKey, Connection>(settings.maxConnections, () => new Connection(), 1000, (old) => this.release(old));
  }

  get stats(): ReassemblyStats {
    return { connections: this.table.size, evictions: this.table.evictions + this.memEvictions, gaps: this.gapCount, memory: this.memoryUsed };
  }

  configure(settings: ReassemblySettings): void {
    this.settings = settings;
    this.table.cap = settings.maxConnections;
    this.fitMemory(null);
  }

  clear(): void {
    this.table.clear();
    this.memoryUsed = 0;
  }

  /** The connection of a packet, if tracked. */
  connectionOf(p: Packet): Connection | undefined {
    if (p.proto !== 'tcp' || p.sport === undefined || p.dport === undefined) return undefined;
    const s = srcKey(p);
    const d = dstKey(p);
    const low = lowFirst(s, p.sport, d, p.dport);
    return low ? this.table.get(withPort(s, p.sport), withPort(d, p.dport)) : this.table.get(withPort(d, p.dport), withPort(s, p.sport));
  }

  /**
   * Feed one TCP packet. Returns what it delivered, or null when the packet
   * is not tracked (not TCP, no sequence number, a bare SYN, a lone ACK of
   * an unknown connection). The returned object is reused by the next call.
   */
  add(p: Packet): Delivery | null {
    if (p.proto !== 'tcp' || p.sport === undefined || p.dport === undefined || p.seq === undefined) return null;
    const bits = flagBitsOf(p);
    if (bits < 0) return null;
    const payload = p.payload;
    const hasData = payload !== undefined && payload !== null && payload.length > 0;
    // Pure ACKs change nothing a signature sees, and a bare SYN creates nothing: no lookup for them.
    if (!hasData && (bits & (Flag.SYN | Flag.FIN | Flag.RST)) === 0) return null;
    if ((bits & (Flag.SYN | Flag.ACK)) === Flag.SYN) return null;
    const ts = p.ts;
    if (ts - this.expiredBefore >= 1000) this.expire(ts);
    const s = srcKey(p);
    const d = dstKey(p);
    const srcLow = lowFirst(s, p.sport, d, p.dport);
    const key = srcLow ? withPort(s, p.sport) : withPort(d, p.dport);
    const key2 = srcLow ? withPort(d, p.dport) : withPort(s, p.sport);
    let conn = this.table.touchExisting(key, ts, key2);
    if (conn === undefined) {
      if ((bits & Flag.RST) !== 0) return null;
      const syn = (bits & Flag.SYN) !== 0;
      if (!syn && !hasData) return null;
      // The sender of a SYN-ACK is the server; midstream, the client is the side on the higher port.
      const srcIsClient = syn ? false : p.sport > p.dport || (p.sport === p.dport && srcLow);
      conn = this.table.insert(key, ts, key2);
      conn.init(key, key2, srcIsClient === srcLow);
      this.charge(conn, CONNECTION_BYTES);
    }
    const fromClient = srcLow === conn.clientIsLow;
    const dir = fromClient ? conn.toServer : conn.toClient;
    const out = this.delivery;
    out.conn = conn;
    out.toServer = fromClient;
    out.stream = null;
    out.fresh = 0;
    out.gap = false;
    out.closed = false;

    if ((bits & Flag.SYN) !== 0) {
      if (!dir.synced) {
        dir.next = (p.seq + 1) >>> 0;
        dir.synced = true;
      }
      if ((bits & Flag.ACK) !== 0 && !fromClient) {
        conn.synAck = true;
        const other = conn.toServer;
        if (!other.synced && p.ack !== undefined) {
          other.next = p.ack;
          other.synced = true;
        }
      }
      return out;
    }
    // The client's data after a SYN-ACK: the handshake completed (its bare ACK is not looked up).
    if (fromClient && conn.synAck) conn.established = true;
    if ((bits & Flag.RST) !== 0) {
      this.close(conn);
      out.closed = true;
      return out;
    }
    if (hasData) this.accept(conn, dir, p.seq, payload);
    if ((bits & Flag.FIN) !== 0 && dir.finSeq < 0) {
      if (!dir.synced) {
        dir.next = p.seq;
        dir.synced = true;
      }
      dir.finSeq = (p.seq + (hasData ? payload.length : 0)) >>> 0;
      // A FIN after a hole: the hole will not be filled in time to matter (unless this packet delivered data: then at the next packet).
      if (dir.held !== null && this.pieces.length === 0) this.giveUpHole(conn, dir);
    }
    if (!conn.established && conn.toServer.delivered > 0 && conn.toClient.delivered > 0) conn.established = true;
    this.finishDelivery(conn, dir);
    if (conn.toServer.finSeq >= 0 && conn.toClient.finSeq >= 0) {
      this.close(conn);
      out.closed = true;
    }
    return out;
  }

  /** Take a data segment into `dir`. */
  private accept(conn: Connection, dir: Direction, seq: number, data: Buffer): void {
    if (!dir.synced) {
      dir.next = seq;
      dir.synced = true;
    }
    const rel = seqDiff(seq, dir.next);
    if (rel <= 0) {
      if (rel + data.length <= 0) return; // all of it already delivered (retransmission): first wins
      const fresh = rel < 0 ? data.subarray(-rel) : data;
      // Held segments were received first: they keep their bytes, this one fills around them.
      if (dir.held === null) this.deliver(dir, fresh);
      else this.hold(conn, dir, dir.next, fresh);
      this.drain(dir, conn);
      return;
    }
    if (dir.delivered >= this.settings.depthBytes) return;
    this.hold(conn, dir, seq, data);
    if (dir.heldBytes > this.settings.heldBytes) this.giveUpHole(conn, dir);
    else if (this.memoryUsed > this.settings.memcapBytes && dir.held !== null) this.giveUpHole(conn, dir);
  }

  /** Hold a future segment, keeping only the bytes no held segment has (first wins). */
  private hold(conn: Connection, dir: Direction, seq: number, data: Buffer): void {
    const held = (dir.held ??= []);
    let start = seq;
    let rest = data;
    let i = 0;
    while (rest.length > 0) {
      // Skip held segments that end before this piece starts.
      while (i < held.length && seqDiff((held[i].seq + held[i].data.length) >>> 0, start) <= 0) i++;
      let take = rest.length;
      if (i < held.length) {
        const h = held[i];
        const before = seqDiff(h.seq, start);
        if (before <= 0) {
          // Overlaps held segment i from its start: drop the overlapping bytes.
          const skip = Math.min(rest.length, seqDiff((h.seq + h.data.length) >>> 0, start));
          rest = rest.subarray(skip);
          start = (start + skip) >>> 0;
          continue;
        }
        take = Math.min(take, before);
      }
      const piece = ownCopy(rest.subarray(0, take));
      held.splice(i, 0, { seq: start, data: piece });
      dir.heldBytes += take;
      this.charge(conn, take + HELD_OVERHEAD);
      i++;
      rest = rest.subarray(take);
      start = (start + take) >>> 0;
    }
  }

  /** Deliver held segments that the stream has reached. */
  private drain(dir: Direction, conn: Connection): void {
    const held = dir.held;
    if (held === null) return;
    while (held.length > 0) {
      const h = held[0];
      const rel = seqDiff(h.seq, dir.next);
      if (rel > 0) break;
      held.shift();
      dir.heldBytes -= h.data.length;
      this.charge(conn, -h.data.length - HELD_OVERHEAD);
      if (rel + h.data.length > 0) this.deliver(dir, rel < 0 ? h.data.subarray(-rel) : h.data);
    }
    if (held.length === 0) dir.held = null;
  }

  /** Give up the hole before the first held segment: a gap. */
  private giveUpHole(conn: Connection, dir: Direction): void {
    const held = dir.held;
    if (held === null || held.length === 0) return;
    this.gapCount++;
    this.delivery.gap = true;
    // The stream restarts after the hole: nothing is joined across it.
    dir.tailLen = 0;
    dir.next = held[0].seq;
    this.drain(dir, conn);
  }

  private deliver(dir: Direction, bytes: Buffer): void {
    const room = this.settings.depthBytes - dir.delivered;
    dir.next = (dir.next + bytes.length) >>> 0;
    if (room <= 0) return;
    const piece = bytes.length > room ? bytes.subarray(0, room) : bytes;
    dir.delivered += piece.length;
    this.pieces.push(piece);
  }

  /** Build this packet's stream (context + new pieces) and keep the new tail. */
  private finishDelivery(conn: Connection, dir: Direction): void {
    const pieces = this.pieces;
    if (pieces.length === 0) return;
    const fresh = dir.tailLen;
    let stream: Buffer;
    if (fresh === 0 && pieces.length === 1) stream = pieces[0];
    else {
      if (fresh > 0) pieces.unshift((dir.tail as Buffer).subarray(0, fresh));
      stream = Buffer.concat(pieces);
    }
    pieces.length = 0;
    const keep = Math.min(this.settings.contextBytes, stream.length);
    if (keep > 0) {
      // One buffer per direction, made on its first data and reused: no allocation per packet.
      let tail = dir.tail;
      if (tail === null || tail.length < keep) {
        const size = tail === null ? Math.min(this.settings.contextBytes, Math.max(keep, 128)) : this.settings.contextBytes;
        this.charge(conn, size - (tail === null ? 0 : tail.length));
        const next = Buffer.allocUnsafeSlow(size);
        tail = next;
        dir.tail = next;
      }
      stream.copy(tail, 0, stream.length - keep);
    }
    dir.tailLen = keep;
    this.delivery.stream = stream;
    this.delivery.fresh = fresh;
  }

  private close(conn: Connection): void {
    this.table.delete(conn.key, conn.key2);
    this.release(conn);
  }

  /** A connection leaves the table: its bytes leave the memory count. */
  private release(conn: Connection): void {
    this.memoryUsed -= conn.memory;
    conn.memory = 0;
    conn.released = true;
    conn.toServer.held = null;
    conn.toClient.held = null;
    conn.toServer.tail = null;
    conn.toClient.tail = null;
    conn.toServer.tailLen = 0;
    conn.toClient.tailLen = 0;
    conn.toServer.app = null;
    conn.toClient.app = null;
  }

  /**
   * Charge (or credit) bytes to a connection and the total. Over the cap,
   * the stalest connections are evicted until it fits (the one being
   * charged last of all).
   */
  charge(conn: Connection, bytes: number): void {
    if (conn.released) return;
    conn.memory += bytes;
    this.memoryUsed += bytes;
    if (bytes > 0 && this.memoryUsed > this.settings.memcapBytes) this.fitMemory(conn);
  }

  private fitMemory(current: Connection | null): void {
    while (this.memoryUsed > this.settings.memcapBytes) {
      const old = this.table.oldest();
      if (old === undefined || old === current) break;
      this.table.dropOldest();
      this.release(old);
      this.memEvictions++;
    }
  }

  /** Forget connections idle for `idleMs`. */
  private expire(now: number): void {
    this.expiredBefore = now;
    const before = now - this.settings.idleMs;
    for (let old = this.table.oldest(); old !== undefined && (this.table.lastTouch(old.key, old.key2) ?? now) < before; old = this.table.oldest()) {
      this.table.dropOldest();
      this.release(old);
    }
  }
}
