/**
 * Hand-made TCP packets of one connection for reassembly tests: a client
 * and a server with running sequence numbers, so a test writes the
 * segments (in order, out of order, overlapping) and not the arithmetic.
 */
import type { Packet } from '../../lib/packet/types';
import { tcpFlagBits } from '../../lib/packet/tcp-flags';

export const CLIENT = '10.0.0.2';
export const SERVER = '10.0.0.1';

export class TcpPair {
  ts = 1_700_000_000_000;
  /** Initial sequence numbers (the SYN's). */
  readonly cIsn: number;
  readonly sIsn: number;

  constructor(readonly cport = 40000, readonly sport = 80, cIsn = 1000, sIsn = 5000) {
    this.cIsn = cIsn;
    this.sIsn = sIsn;
  }

  private packet(fromClient: boolean, flags: string, seq: number, ack: number, data: string | Buffer): Packet {
    const payload = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    return {
      ts: this.ts++, len: payload.length + 54, caplen: payload.length + 54, ip: 4,
      src: fromClient ? CLIENT : SERVER, dst: fromClient ? SERVER : CLIENT, proto: 'tcp',
      sport: fromClient ? this.cport : this.sport, dport: fromClient ? this.sport : this.cport,
      flags, flagBits: tcpFlagBits(flags), seq: seq >>> 0, ack: ack >>> 0, payload,
    };
  }

  /** SYN, SYN-ACK, ACK. */
  handshake(): Packet[] {
    return [
      this.packet(true, 'S', this.cIsn, 0, ''),
      this.packet(false, 'SA', this.sIsn, this.cIsn + 1, ''),
      this.packet(true, 'A', this.cIsn + 1, this.sIsn + 1, ''),
    ];
  }

  /** Client data at stream offset `at` (0 = first byte after the SYN). */
  c(at: number, data: string | Buffer, flags = 'PA'): Packet {
    return this.packet(true, flags, this.cIsn + 1 + at, this.sIsn + 1, data);
  }

  /** Server data at stream offset `at`. */
  s(at: number, data: string | Buffer, flags = 'PA'): Packet {
    return this.packet(false, flags, this.sIsn + 1 + at, this.cIsn + 1, data);
  }

  /** `text` cut into segments of `size` bytes, in order. */
  segments(text: string, size: number, from = 0): Packet[] {
    const out: Packet[] = [];
    for (let i = 0; i < text.length; i += size) out.push(this.c(from + i, text.slice(i, i + size)));
    return out;
  }
}
