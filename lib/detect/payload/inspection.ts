/**
 * One unit a signature is matched against. For UDP, ICMP and other
 * protocols it is one packet; for TCP it is the bytes one packet added to a
 * direction of a reassembled connection, and, when the connection speaks
 * HTTP/1.x, the fields of a request or response parsed from that stream.
 * Producers: the stream reassembler and HTTP parser. Consumers: the JSON rule
 * matcher and the rule-language (Snort/Suricata) evaluator. Keeping this
 * shape in one place lets either side change without the other.
 */
import type { Packet } from '../../packet/types';

/**
 * Buffers a rule can target, by Suricata's sticky-buffer names. 'pkt_data'
 * is this packet's payload; 'stream' the reassembled bytes of this
 * direction (across segment boundaries); the http.* names are fields of the
 * current HTTP transaction (uri normalised, uri.raw as sent).
 */
export type BufferName =
  | 'pkt_data'
  | 'stream'
  | 'http.method'
  | 'http.uri'
  | 'http.uri.raw'
  | 'http.header'
  | 'http.header.raw'
  | 'http.cookie'
  | 'http.user_agent'
  | 'http.host'
  | 'http.request_body'
  | 'http.stat_code'
  | 'http.response_body';

/** State of a tracked TCP connection shared by both directions. */
export interface FlowContext {
  /** Same for both directions of one connection. */
  readonly id: string;
  /** The three-way handshake was seen (or the connection was picked up midstream with data both ways). */
  readonly established: boolean;
  /** Rule-language flowbits set on this connection. */
  readonly bits: Set<string>;
}

export interface Inspection {
  /** The packet that produced this unit: addresses, ports, time, verdict. */
  packet: Packet;
  /** Towards the service (client → server); null when unknown. */
  toServer: boolean | null;
  /** The tracked connection, or null for protocols inspected per packet. */
  flow: FlowContext | null;
  /** The buffers this unit has; a rule whose buffer is absent does not match. */
  buffers: Partial<Record<BufferName, Uint8Array>>;
  /**
   * Bytes at the start of `buffers.stream` that precede this packet's own
   * (the reassembled context, already inspected with earlier packets): a
   * match ending within them was found before and is not reported again.
   * 0 or absent when the stream holds only new bytes.
   */
  streamContext?: number;
  /**
   * HTTP fields of the unit's message completed with earlier units (its
   * request line and headers when only its body completes with this one),
   * null or absent when none. A rule needing them together with a field new
   * in `buffers` matches now, once per message; a rule all of whose HTTP
   * buffers are here was evaluated with those earlier units and is not
   * evaluated again.
   */
  httpContext?: Partial<Record<BufferName, Uint8Array>> | null;
}

/** Every buffer name, in a fixed order: a consumer resolves its names to these indices once, then reads with `bufferAt`. */
export const BUFFER_NAMES: readonly BufferName[] = [
  'pkt_data', 'stream', 'http.method', 'http.uri', 'http.uri.raw', 'http.header', 'http.header.raw',
  'http.cookie', 'http.user_agent', 'http.host', 'http.request_body', 'http.stat_code', 'http.response_body',
];

/** The index of a buffer name in BUFFER_NAMES. */
export function bufferIndex(name: BufferName): number {
  return BUFFER_NAMES.indexOf(name);
}

/**
 * The bytes of buffer BUFFER_NAMES[index] in `buffers`, or undefined. The
 * consumers read buffers through this on the packet path: `buffers[name]`
 * with a name chosen at run time is a megamorphic keyed load that walks the
 * prototype chain for each absent field (most units have two or three of
 * the thirteen), and a switch over the names compares strings; both were
 * measured at 25-30 ns a read, about half of the JSON matcher's time on a
 * UDP unit. A switch of constant-key loads on a number costs about 3 ns.
 */
export function bufferAt(buffers: Inspection['buffers'], index: number): Uint8Array | undefined {
  switch (index) {
    case 0: return buffers.pkt_data;
    case 1: return buffers.stream;
    case 2: return buffers['http.method'];
    case 3: return buffers['http.uri'];
    case 4: return buffers['http.uri.raw'];
    case 5: return buffers['http.header'];
    case 6: return buffers['http.header.raw'];
    case 7: return buffers['http.cookie'];
    case 8: return buffers['http.user_agent'];
    case 9: return buffers['http.host'];
    case 10: return buffers['http.request_body'];
    case 11: return buffers['http.stat_code'];
    case 12: return buffers['http.response_body'];
    default: return undefined;
  }
}
