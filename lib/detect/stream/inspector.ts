/**
 * Packets in, inspection units out (lib/detect/payload/inspection.ts): the
 * input path of the signature engines.
 *
 * UDP, ICMP and other protocols: one unit per packet with a payload
 * (`pkt_data`). TCP: the packet goes through the reassembler; when it adds
 * bytes to its direction, one unit with `stream` (context + new bytes,
 * `streamContext` saying how many are context) and `pkt_data`, plus the
 * HTTP fields those bytes completed when the direction speaks HTTP/1.x:
 * one unit per HTTP message they completed fields of (the first one also
 * carries the stream), with the message's earlier fields as `httpContext`
 * when only its body completed. A
 * TCP packet the reassembler cannot track (no sequence number: a packet
 * made by hand) is one unit of its own, parsed as HTTP when it starts like
 * a message, so a single packet gives the same fields as a stream would.
 *
 * The returned array and its units are reused by the next call: use them
 * before calling again, and keep none of them.
 */
import type { Packet } from '../../packet/types';
import { flagBitsOf, TCP_ACK, TCP_SYN } from '../../packet/tcp-flags';
import { defaultsOf, type Schema } from '../../base/settings';
import type { Inspection } from '../payload/inspection';
import { HttpDirection, type HttpSettings, type HttpUnit } from '../http/parser';
import { Reassembler, type Connection, type Direction, type ReassemblySettings, type ReassemblyStats } from './reassembly';

export type StreamSettings = ReassemblySettings & HttpSettings;

const NO_UNITS: readonly Inspection[] = Object.freeze([]);
const NOTHING = (): void => undefined;

export class StreamInspector {
  private readonly reassembler: Reassembler;
  /** The unit of a packet inspected alone (UDP, ICMP …), reused. */
  private readonly packetUnit: Inspection = { packet: null as unknown as Packet, toServer: null, flow: null, buffers: { pkt_data: undefined } };
  /** The unit of a TCP packet whose bytes completed no HTTP field, reused (its buffers too). */
  private readonly streamUnit: Inspection = { packet: null as unknown as Packet, toServer: null, flow: null, buffers: { pkt_data: undefined, stream: undefined }, streamContext: 0 };
  /**
   * Those units as the one-element lists returned for them (reused: no list
   * emptied and refilled per packet, an array length store was a runtime
   * call, 17 ns a packet).
   */
  private readonly packetUnits: readonly Inspection[] = [this.packetUnit];
  private readonly streamUnits: readonly Inspection[] = [this.streamUnit];
  /** The unit of a packet that gave none (see `alone`), reused. */
  private readonly bareUnit: Inspection = { packet: null as unknown as Packet, toServer: null, flow: null, buffers: { pkt_data: undefined } };
  /** The connection of the last packet inspected (null when untracked). */
  lastFlow: Connection | null = null;
  /** The direction of the last packet in `lastFlow` (towards the server). */
  lastToServer = false;

  constructor(private settings: StreamSettings) {
    this.reassembler = new Reassembler(settings);
  }

  get stats(): ReassemblyStats {
    return this.reassembler.stats;
  }

  configure(settings: StreamSettings): void {
    this.settings = settings;
    this.reassembler.configure(settings);
  }

  clear(): void {
    this.reassembler.clear();
  }

  /**
   * Whether `units` (as `inspect` returned them) is the one unit of a packet
   * inspected alone (UDP, ICMP …), whose only buffer is `pkt_data`: the JSON
   * matcher then reads only the fields that match raw bytes.
   */
  isPayloadOnly(units: readonly Inspection[]): boolean {
    return units === this.packetUnits;
  }

  /** The units of one packet (shared array, valid until the next call). */
  inspect(p: Packet): readonly Inspection[] {
    this.lastFlow = null;
    const payload = p.payload;
    if (p.proto !== 'tcp') {
      if (payload === undefined || payload === null || payload.length === 0) return NO_UNITS;
      const unit = this.packetUnit;
      unit.packet = p;
      unit.toServer = portDirection(p);
      unit.buffers.pkt_data = payload;
      return this.packetUnits;
    }
    const d = this.reassembler.add(p);
    if (d === null) {
      if (payload === undefined || payload === null || payload.length === 0) return NO_UNITS;
      if (p.seq !== undefined) return NO_UNITS; // a segment of a connection not tracked (a lone ACK of an evicted one)
      return [packetInspection(p, this.settings)];
    }
    const conn = d.conn;
    this.lastFlow = conn;
    this.lastToServer = d.toServer;
    let units: readonly Inspection[] = NO_UNITS;
    if (d.stream !== null) {
      const dir = d.toServer ? conn.toServer : conn.toClient;
      const http = this.httpOf(conn, dir, d.toServer);
      let messages: readonly HttpUnit[] | null = null;
      if (http !== null) {
        if (d.gap) http.gap();
        messages = http.push(d.stream.subarray(d.fresh));
      }
      if (messages === null || messages.length === 0) {
        const unit = this.streamUnit;
        unit.packet = p;
        unit.toServer = d.toServer;
        unit.flow = conn;
        unit.buffers.pkt_data = payload;
        unit.buffers.stream = d.stream;
        unit.streamContext = d.fresh;
        units = this.streamUnits;
      } else {
        // The stream goes with the first message's unit only: its bytes are inspected once.
        const m = messages[0];
        const list: Inspection[] = [{ packet: p, toServer: d.toServer, flow: conn, buffers: { pkt_data: payload, stream: d.stream, ...m.fields }, streamContext: d.fresh, httpContext: m.context }];
        for (let k = 1; k < messages.length; k++) list.push(httpUnit(p, d.toServer, conn, messages[k]));
        units = list;
      }
    }
    if (d.closed) {
      const last = [...units, ...this.ended(p, conn, conn.toServer, true), ...this.ended(p, conn, conn.toClient, false)];
      if (last.length > units.length) units = last;
    }
    return units;
  }

  /** The units of what a direction's HTTP parser completes at the connection's end (a body read until close). */
  private ended(p: Packet, conn: Connection, dir: Direction, toServer: boolean): Inspection[] {
    const http = dir.app as HttpDirection | null | false;
    dir.app = null;
    return http ? http.end().map((m) => httpUnit(p, toServer, conn, m)) : [];
  }

  /**
   * The unit of the last packet inspected when it gave none (a bare SYN, a
   * SYN-ACK, a pure ACK, an empty ICMP message), for rules that need no
   * bytes (TCP flags, ICMP type): its payload, its connection when tracked,
   * its direction from the connection or else from SYN/ACK. Reused.
   */
  alone(p: Packet): Inspection {
    const unit = this.bareUnit;
    const flow = this.lastFlow;
    unit.packet = p;
    unit.flow = flow;
    unit.buffers.pkt_data = p.payload;
    const bits = p.proto === 'tcp' ? flagBitsOf(p) : -1;
    unit.toServer = flow !== null ? this.lastToServer : bits >= 0 && (bits & TCP_SYN) !== 0 ? (bits & TCP_ACK) === 0 : portDirection(p);
    return unit;
  }

  /** The HTTP parser of a direction, made on its first bytes; null once the direction is known not to be HTTP. */
  private httpOf(conn: Connection, dir: Direction, toServer: boolean): HttpDirection | null {
    let http = dir.app as HttpDirection | null | false;
    if (http === false) return null;
    if (http === null) {
      // The request and response parsers share the queue of HEAD requests (their responses have no body).
      const other = (toServer ? conn.toClient : conn.toServer).app;
      const heads = other instanceof HttpDirection ? other.heads : [];
      http = new HttpDirection(toServer, this.settings, (n) => this.reassembler.charge(conn, n), heads);
      dir.app = http;
    }
    if (!http.active) {
      dir.app = false;
      return null;
    }
    return http;
  }
}

/** The unit of an HTTP message's fields without stream bytes (a second pipelined message, a body ended by the close). */
function httpUnit(p: Packet, toServer: boolean, conn: Connection, m: HttpUnit): Inspection {
  return { packet: p, toServer, flow: conn, buffers: m.fields, httpContext: m.context };
}

/**
 * The direction of a packet without a tracked connection (UDP, a TCP packet
 * without sequence number): the client is the side on the higher port, as
 * for a TCP connection picked up midstream; null when the ports are equal or
 * absent (ICMP).
 */
function portDirection(p: Packet): boolean | null {
  return p.sport === undefined || p.dport === undefined || p.sport === p.dport ? null : p.sport > p.dport;
}

/**
 * A packet inspected on its own: its payload, and for TCP the HTTP fields
 * when it holds a whole message (the same fields a stream would give).
 */
export function packetInspection(p: Packet, settings: HttpSettings = streamSettings(defaultsOf(streamSchema))): Inspection {
  const payload = p.payload;
  if (p.proto !== 'tcp') return { packet: p, toServer: portDirection(p), flow: null, buffers: { pkt_data: payload } };
  const unit: Inspection = { packet: p, toServer: portDirection(p), flow: null, buffers: { pkt_data: payload, stream: payload } };
  const request = payload.toString('latin1', 0, 7) !== 'HTTP/1.';
  const http = new HttpDirection(request, settings, NOTHING, []);
  // A packet inspected alone holds its messages whole: their fields together (the last message's win).
  for (const m of http.push(payload)) Object.assign(unit.buffers, m.context, m.fields);
  for (const m of http.end()) Object.assign(unit.buffers, m.context, m.fields);
  return unit;
}

/** The stream settings as the user sets them (payload-match's schema), in the units people think in. */
export interface StreamConfig {
  streamConnections: number;
  streamMemcapMB: number;
  streamHeldKB: number;
  streamDepthKB: number;
  streamIdleS: number;
  streamContextBytes: number;
  httpBodyKB: number;
  httpInflateKB: number;
}

/** The stream depth defaults to Suricata's (stream.reassembly.depth, 1 MiB); the other caps are sized for a home router (a few hundred MB of RAM). */
export const streamSchema: Schema<StreamConfig> = {
  streamConnections: { type: 'int', min: 100, max: 10_000_000, default: 100_000, unit: 'connections', label: 'TCP connections', help: 'TCP connections reassembled at once; beyond, the stalest is evicted (counted in the status)' },
  streamMemcapMB: { type: 'int', min: 1, max: 16_384, default: 64, unit: 'MB', label: 'Stream memory', help: 'memory of all reassembly state (connections, out-of-order segments, context, HTTP headers and bodies); beyond, the stalest connections are evicted' },
  streamHeldKB: { type: 'int', min: 1, max: 65_536, default: 256, unit: 'KB', label: 'Out-of-order per connection', help: 'out-of-order bytes held per connection; beyond, the hole is given up (a gap) and the stream resumes after it' },
  streamDepthKB: { type: 'int', min: 1, max: 4_194_304, default: 1024, unit: 'KB', label: 'Stream depth', help: 'bytes inspected per direction of a connection; later bytes pass uninspected (large downloads)' },
  streamIdleS: { type: 'int', min: 1, max: 86_400, default: 600, unit: 's', label: 'Idle timeout', help: 'a connection without packets for this long (packet time) is forgotten; FIN both ways or RST close it at once' },
  streamContextBytes: { type: 'int', min: 0, max: 65_536, default: 1024, unit: 'bytes', label: 'Match context', help: 'bytes of a stream kept before new data, so a match split across segments is found; a match longer than this may be missed' },
  httpBodyKB: { type: 'int', min: 0, max: 16_384, default: 64, unit: 'KB', label: 'HTTP body', help: 'bytes of each HTTP request or response body inspected (after de-chunking); the rest is skipped' },
  httpInflateKB: { type: 'int', min: 1, max: 65_536, default: 512, unit: 'KB', label: 'HTTP decompressed', help: 'most bytes a gzip or deflate HTTP body is decoded to (a compression bomb stops there)' },
};

/** The engine's settings from the user's. */
export function streamSettings(c: StreamConfig): StreamSettings {
  return {
    maxConnections: c.streamConnections,
    memcapBytes: c.streamMemcapMB * 1024 * 1024,
    heldBytes: c.streamHeldKB * 1024,
    depthBytes: c.streamDepthKB * 1024,
    idleMs: c.streamIdleS * 1000,
    contextBytes: c.streamContextBytes,
    bodyBytes: c.httpBodyKB * 1024,
    inflateBytes: c.httpInflateKB * 1024,
  };
}
