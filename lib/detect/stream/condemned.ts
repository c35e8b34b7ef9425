/**
 * Inline: TCP connections condemned by a match of a drop rule. Every later
 * packet of such a connection, both directions (data, retransmissions, pure
 * ACKs, FIN, RST, zero-length segments), is dropped until the connection
 * has been quiet for `idleMs` of packet time: its endpoints give up on
 * their own, retransmitting into the drop, and each packet dropped keeps
 * the entry alive.
 *
 * Kept apart from the reassembler: a connection the reassembler closes (a
 * RST, FIN both ways) or evicts, or never tracks (a pure ACK is not looked
 * up there), is still dropped. Bounded: a BoundedTable keyed by the
 * connection (the same key for both directions), stalest evicted first and
 * counted; looked up only while it holds entries, so a packet path with
 * nothing condemned pays one size check per packet.
 */
import type { Packet } from '../../packet/types';
import { BoundedTable } from '../table';
import { dstKey, srcKey, withPort, type AddrKey } from '../keys';
import { lowFirst } from './reassembly';

export class CondemnedConnections {
  private readonly table: BoundedTable<AddrKey, true>;
  private expiredBefore = 0;
  private key: AddrKey = 0;
  private key2 = 0;

  /**
   * @param cap connections condemned at once; beyond, the stalest is forgotten (counted in `evictions`)
   * @param idleMs a condemned connection without packets for this long (packet time) is forgotten
   */
  constructor(cap: number, public idleMs: number) {
    this.table = new BoundedTable<AddrKey, true>(cap, () => true, 1000);
  }

  get size(): number {
    return this.table.size;
  }

  /** Condemned connections forgotten because the table was full. */
  get evictions(): number {
    return this.table.evictions;
  }

  set cap(n: number) {
    this.table.cap = n;
  }

  clear(): void {
    this.table.clear();
    this.table.evictions = 0;
  }

  /** Condemn the connection of a TCP packet (other packets are ignored). */
  add(p: Packet): void {
    if (!this.keyOf(p)) return;
    this.table.touch(this.key, p.ts, this.key2);
  }

  /** Whether a packet belongs to a condemned connection (then the connection's entry is kept alive). */
  has(p: Packet): boolean {
    if (this.table.size === 0 || !this.keyOf(p)) return false;
    const ts = p.ts;
    if (ts - this.expiredBefore >= 1000) {
      this.expiredBefore = ts;
      this.table.expire(ts - this.idleMs);
    }
    const last = this.table.lastTouch(this.key, this.key2);
    if (last === undefined) return false;
    if (ts - last >= this.idleMs) {
      this.table.delete(this.key, this.key2);
      return false;
    }
    this.table.touch(this.key, ts, this.key2);
    return true;
  }

  /** The connection key of a TCP packet into `key`/`key2`, the same for both directions (as the reassembler's); false for other packets. */
  private keyOf(p: Packet): boolean {
    if (p.proto !== 'tcp' || p.sport === undefined || p.dport === undefined) return false;
    const s = srcKey(p);
    const d = dstKey(p);
    if (lowFirst(s, p.sport, d, p.dport)) {
      this.key = withPort(s, p.sport);
      this.key2 = withPort(d, p.dport);
    } else {
      this.key = withPort(d, p.dport);
      this.key2 = withPort(s, p.sport);
    }
    return true;
  }
}
