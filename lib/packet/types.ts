/** Transport or link protocol of a decoded packet. Unknown IP protocols keep their number as 'ip-<n>'. */
export type Proto = 'tcp' | 'udp' | 'icmp' | 'icmp6' | 'arp' | (string & {});

/** Verdict a detector sets on a packet in inline (NFQUEUE) mode. */
export type Verdict = 'accept' | 'drop';

/**
 * One decoded packet: `msg.payload` of `pcap-in` and `nfqueue-in` (or one
 * element of a batch array). See docs/architecture.md, "Messages".
 */
export interface Packet {
  /** Capture time, ms since epoch (fractional for sub-ms precision). */
  ts: number;
  /** Length on the wire. */
  len: number;
  /** Bytes captured (may be less than `len` when snaplen cut it). */
  caplen: number;
  iface?: string;
  srcMac?: string;
  dstMac?: string;
  /** Outermost 802.1Q VLAN id. */
  vlan?: number;
  /** IP version; 0 when the packet carries no IP (ARP, unknown ethertype). */
  ip: 4 | 6 | 0;
  /** Source address (IP, or ARP sender protocol address); '' when unknown. */
  src: string;
  dst: string;
  /**
   * Optional: `src` / `dst` of an IPv4 (or ARP) packet as a signed 32-bit
   * integer (the four bytes big-endian, `| 0`), set by the decoder; absent
   * otherwise. Detectors key their state on it instead of the text (no
   * string hashing per packet). A node that rewrites `src`/`dst` must update
   * or delete these too; without them the text is parsed.
   */
  src4?: number;
  dst4?: number;
  proto: Proto;
  sport?: number;
  dport?: number;
  /** TCP flags in the order F S R P A U E C, e.g. 'S', 'SA', 'FPU'. */
  flags?: string;
  /**
   * Optional: the same TCP flags as the header's flag byte (bit 0 FIN ...
   * bit 7 CWR, lib/packet/tcp-flags.ts), set by the decoder with `flags`.
   * Detectors test these bits instead of parsing the text per packet. A node
   * that rewrites `flags` must update or delete this too; without it the
   * text is parsed.
   */
  flagBits?: number;
  /** TCP sequence and acknowledgement numbers (unsigned 32-bit), for stream reassembly. */
  seq?: number;
  ack?: number;
  icmpType?: number;
  icmpCode?: number;
  ttl?: number;
  /** Transport header bytes: TCP data offset × 4, 8 for UDP, ICMP and ICMPv6 (what flow-meter's header-length features sum). */
  l4HeaderLen?: number;
  /** TCP window field as sent (unscaled), for flow-meter's initial window features. */
  window?: number;
  /**
   * IP fragment note: 'first' (offset 0, more fragments follow: the L4 header
   * is decoded), 'middle' or 'last' (offset > 0: no L4 header, so no ports;
   * `proto` comes from the IP header and `payload` is the fragment's data).
   * Absent on unfragmented packets.
   */
  frag?: 'first' | 'middle' | 'last';
  /** L4 payload: a view into the captured bytes, never a copy. */
  payload: Buffer;
  /** Why decoding stopped early; absent on a well-formed packet. */
  malformed?: string;
  /** NFQUEUE packet id (inline mode). */
  id?: number;
  verdict?: Verdict;
}

/** A packet message payload: one packet or a batch. */
export type PacketPayload = Packet | Packet[];
