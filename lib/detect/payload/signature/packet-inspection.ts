/**
 * The stand-in producer of Inspections until TCP stream reassembly and HTTP
 * parsing land (issue 15, the stream side): one Inspection per packet, with
 * `pkt_data` and `stream` both the packet's payload, the http.* buffers of a
 * request that starts and ends in this one packet, and a minimal per-5-tuple
 * connection context (direction, established, flowbits) in a bounded table.
 * The engine reads Inspections only; the merge replaces this file's one
 * entry point, `PacketInspector.inspect`.
 */
import type { Packet } from '../../../packet/types';
import { flagBitsOf, TCP_ACK, TCP_SYN } from '../../../packet/tcp-flags';
import { addrKey, connHigh, pairLow, type AddrKey } from '../../keys';
import { BoundedTable } from '../../table';
import type { BufferName, FlowContext, Inspection } from '../inspection';
import { urlDecodeOnce } from '../urldecode';

interface PacketFlow extends FlowContext {
  id: string;
  established: boolean;
  bits: Set<string>;
  /** The client's address and port (the side that sent the SYN, or the higher port when picked up midstream). */
  client: string;
  clientPort: number;
  seenToServer: boolean;
  seenToClient: boolean;
}

const key = (p: Packet, src: boolean): AddrKey => (src ? (p.src4 ?? addrKey(p.src)) : (p.dst4 ?? addrKey(p.dst)));

export class PacketInspector {
  private readonly flows: BoundedTable<AddrKey, PacketFlow>;

  constructor(maxFlows: number) {
    this.flows = new BoundedTable<AddrKey, PacketFlow>(maxFlows, () => ({ id: '', established: false, bits: new Set(), drop: false, client: '', clientPort: 0, seenToServer: false, seenToClient: false }), 1000, (f) => f.bits.clear());
  }

  get evictions(): number {
    return this.flows.evictions;
  }

  set cap(n: number) {
    this.flows.cap = n;
  }

  clear(): void {
    this.flows.clear();
  }

  /** The Inspection of one packet. */
  inspect(p: Packet): Inspection {
    const payload = p.payload;
    const buffers: Inspection['buffers'] = { pkt_data: payload, stream: payload };
    let flow: PacketFlow | null = null;
    let toServer: boolean | null = null;
    if ((p.proto === 'tcp' || p.proto === 'udp') && p.sport !== undefined && p.dport !== undefined) {
      flow = this.flowOf(p);
      toServer = flow.client === p.src && flow.clientPort === p.sport;
      if (toServer) flow.seenToServer = true;
      else flow.seenToClient = true;
      const bits = flagBitsOf(p);
      if (p.proto === 'tcp' ? (bits & TCP_ACK) !== 0 && (bits & TCP_SYN) === 0 : flow.seenToServer && flow.seenToClient) flow.established = true;
    }
    if (p.proto === 'tcp' && payload.length > 0 && toServer !== false) httpRequestFields(payload, buffers);
    return { packet: p, toServer, flow, buffers };
  }

  private flowOf(p: Packet): PacketFlow {
    const s = key(p, true);
    const d = key(p, false);
    const sport = p.sport as number;
    const dport = p.dport as number;
    // Both directions under one key: the lower (address, port) first.
    const srcFirst = typeof s === typeof d ? (s < d || (s === d && sport <= dport)) : typeof s === 'number';
    const [a, ap, b, bp] = srcFirst ? [s, sport, d, dport] : [d, dport, s, sport];
    const high = connHigh(a, b, ap);
    const low = pairLow(a, b, bp);
    const known = this.flows.touchExisting(high, p.ts, low);
    if (known !== undefined) return known;
    const f = this.flows.insert(high, p.ts, low);
    const bits = flagBitsOf(p);
    const synAck = (bits & TCP_SYN) !== 0 && (bits & TCP_ACK) !== 0;
    const srcIsClient = p.proto === 'tcp' && (bits & TCP_SYN) !== 0 ? !synAck : sport > dport || (sport === dport);
    f.id = `${p.proto} ${p.src}:${sport} ${p.dst}:${dport}`;
    f.client = srcIsClient ? p.src : p.dst;
    f.clientPort = srcIsClient ? sport : dport;
    f.established = false;
    f.drop = false;
    f.seenToServer = false;
    f.seenToClient = false;
    f.bits.clear();
    return f;
  }
}

const CRLF2 = Buffer.from('\r\n\r\n');
const METHOD_RE = /^([A-Z]{3,10}) (\S+) HTTP\/\d\.\d$/;

/** An HTTP/1.x request that starts in this payload: request line, headers (to the blank line) and the body after it. */
function httpRequestFields(payload: Buffer, out: Inspection['buffers']): void {
  const first = payload[0];
  if (first < 0x41 || first > 0x5a) return;
  const lineEnd = payload.indexOf('\r\n');
  if (lineEnd < 0) return;
  const m = METHOD_RE.exec(payload.toString('latin1', 0, lineEnd));
  if (m === null) return;
  const headEnd = payload.indexOf(CRLF2, lineEnd);
  const headers = payload.subarray(lineEnd + 2, headEnd < 0 ? payload.length : headEnd + 2);
  const raw = Buffer.from(m[2], 'latin1');
  out['http.method'] = Buffer.from(m[1], 'latin1');
  out['http.uri.raw'] = raw;
  out['http.uri'] = urlDecodeOnce(raw)?.bytes ?? raw;
  out['http.header.raw'] = headers;
  out['http.header'] = headers;
  const text = headers.toString('latin1');
  for (const [name, buffer] of HEADER_BUFFERS) {
    const hm = name.exec(text);
    if (hm) out[buffer] = Buffer.from(hm[1], 'latin1');
  }
  if (headEnd >= 0 && headEnd + 4 < payload.length) out['http.request_body'] = payload.subarray(headEnd + 4);
}

const HEADER_BUFFERS: ReadonlyArray<readonly [RegExp, BufferName]> = [
  [/^cookie:[ \t]*(.*?)\r?$/im, 'http.cookie'],
  [/^user-agent:[ \t]*(.*?)\r?$/im, 'http.user_agent'],
  [/^host:[ \t]*(.*?)\r?$/im, 'http.host'],
];
