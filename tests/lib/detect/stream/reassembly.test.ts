import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CONNECTION_BYTES, Reassembler, type ReassemblySettings } from '../../../../lib/detect/stream/reassembly';
import type { Packet } from '../../../../lib/packet/types';
import { TcpPair } from '../../../support/tcp-packets';

const SETTINGS: ReassemblySettings = { maxConnections: 100, memcapBytes: 1 << 20, heldBytes: 1024, depthBytes: 1 << 20, idleMs: 60_000, contextBytes: 16 };

/** Feed packets; returns the client's reassembled text, what each packet delivered (new bytes) and its context. */
function run(r: Reassembler, packets: Packet[]): { text: string; fresh: string[]; context: string[]; closed: boolean[] } {
  let text = '';
  const fresh: string[] = [];
  const context: string[] = [];
  const closed: boolean[] = [];
  for (const p of packets) {
    const d = r.add(p);
    const added = d?.stream ? d.stream.toString('latin1', d.fresh) : '';
    fresh.push(added);
    context.push(d?.stream ? d.stream.toString('latin1', 0, d.fresh) : '');
    closed.push(d?.closed ?? false);
    if (d?.toServer) text += added;
  }
  return { text, fresh, context, closed };
}

describe('Reassembler', () => {
  it('joins in-order segments and gives each packet its new bytes after the context', () => {
    const r = new Reassembler(SETTINGS);
    const t = new TcpPair();
    const out = run(r, [...t.handshake(), ...t.segments('GET /index.html HTTP/1.1\r\n', 5)]);
    assert.equal(out.text, 'GET /index.html HTTP/1.1\r\n');
    assert.deepEqual(out.fresh.slice(3, 6), ['GET /', 'index', '.html']);
    assert.deepEqual(out.context.slice(3, 6), ['', 'GET /', 'GET /index']);
    assert.equal(r.stats.connections, 1);
    const conn = r.connectionOf(t.c(0, ''));
    assert.ok(conn?.established, 'handshake seen');
  });

  it('keeps at most contextBytes of context', () => {
    const r = new Reassembler({ ...SETTINGS, contextBytes: 4 });
    const t = new TcpPair();
    const out = run(r, [...t.handshake(), t.c(0, 'abcdefgh'), t.c(8, 'ij')]);
    assert.equal(out.context[4], 'efgh');
  });

  it('holds out-of-order segments until the hole is filled, then delivers them with the filling packet', () => {
    const r = new Reassembler(SETTINGS);
    const t = new TcpPair();
    const out = run(r, [...t.handshake(), t.c(0, 'AAAA'), t.c(8, 'CCCC'), t.c(12, 'DDDD'), t.c(4, 'BBBB')]);
    assert.deepEqual(out.fresh.slice(3), ['AAAA', '', '', 'BBBBCCCCDDDD']);
    assert.equal(out.text, 'AAAABBBBCCCCDDDD');
    assert.equal(r.stats.gaps, 0);
    assert.equal(r.stats.memory, CONNECTION_BYTES + 16, 'only the connection and its context are held afterwards');
  });

  it('resolves overlaps with the first bytes received (policy "first")', () => {
    const r = new Reassembler(SETTINGS);
    const t = new TcpPair();
    // Held segment "XXXX" at 4..8; a later segment covering 2..10 may only fill 2..4 and 8..10;
    // then a retransmission of 0..6 with other bytes may only add what is new.
    const out = run(r, [...t.handshake(), t.c(4, 'XXXX'), t.c(2, 'yyyyyyyy'), t.c(0, 'zzzzzz'), t.c(10, 'END')]);
    assert.equal(out.text, 'zzyyXXXXyyEND');
    // A retransmission of delivered bytes with different content adds nothing.
    const again = run(r, [t.c(0, 'SELECT')]);
    assert.deepEqual(again.fresh, ['']);
  });

  it('gives up a hole when the held bytes pass the per-connection limit: a gap, nothing joined across it', () => {
    const r = new Reassembler({ ...SETTINGS, heldBytes: 8 });
    const t = new TcpPair();
    const out = run(r, [...t.handshake(), t.c(0, 'union '), t.c(10, 'sele'), t.c(14, 'ct 1x')]);
    assert.equal(r.stats.gaps, 1);
    assert.equal(out.fresh[5], 'select 1x');
    assert.equal(out.context[5], '', 'the bytes before the gap are not joined to the bytes after it');
    // The late hole filler is now old data.
    assert.deepEqual(run(r, [t.c(6, 'XXXX')]).fresh, ['']);
  });

  it('closes a connection on FIN both ways and on RST', () => {
    const r = new Reassembler(SETTINGS);
    const t = new TcpPair();
    const out = run(r, [...t.handshake(), t.c(0, 'hi', 'FPA'), t.s(0, 'ok', 'FPA')]);
    assert.deepEqual(out.closed.slice(3), [false, true]);
    assert.equal(r.stats.connections, 0);
    const u = new TcpPair(40001);
    run(r, [...u.handshake(), u.c(0, 'x')]);
    assert.equal(r.stats.connections, 1);
    assert.deepEqual(run(r, [u.c(1, '', 'R')]).closed, [true]);
    assert.equal(r.stats.connections, 0);
  });

  it('forgets connections idle past the timeout (packet time)', () => {
    const r = new Reassembler({ ...SETTINGS, idleMs: 10_000 });
    const t = new TcpPair();
    run(r, [...t.handshake(), t.c(0, 'abc')]);
    const u = new TcpPair(40001);
    u.ts = t.ts + 20_000;
    run(r, [...u.handshake()]);
    assert.equal(r.stats.connections, 1, 'the idle one expired');
    assert.equal(r.connectionOf(t.c(0, '')), undefined);
  });

  it('allocates nothing for bare SYNs or lone ACKs, and picks up a connection midstream on data', () => {
    const r = new Reassembler(SETTINGS);
    for (let i = 0; i < 50; i++) {
      const t = new TcpPair(20000 + i);
      assert.equal(r.add(t.handshake()[0]), null);
      assert.equal(r.add(t.c(0, '', 'A')), null);
    }
    assert.equal(r.stats.connections, 0);
    const t = new TcpPair(30000);
    const out = run(r, [t.c(100, 'midstream'), t.c(109, ' data')]);
    assert.equal(out.text, 'midstream data');
    assert.equal(r.connectionOf(t.c(0, ''))?.established, false);
  });

  it('evicts the stalest connection when the table is full, counted', () => {
    const r = new Reassembler({ ...SETTINGS, maxConnections: 3 });
    for (let i = 0; i < 5; i++) {
      const t = new TcpPair(20000 + i);
      t.ts += i * 2000;
      run(r, t.handshake());
    }
    assert.equal(r.stats.connections, 3);
    assert.equal(r.stats.evictions, 2);
    assert.equal(r.connectionOf(new TcpPair(20000).c(0, '')), undefined, 'the first (stalest) went first');
    assert.ok(r.connectionOf(new TcpPair(20004).c(0, '')));
  });

  it('caps held bytes in total: over the memory cap the stalest connections are evicted', () => {
    const r = new Reassembler({ ...SETTINGS, memcapBytes: 3000, heldBytes: 2000, contextBytes: 0 });
    for (let i = 0; i < 10; i++) {
      const t = new TcpPair(20000 + i);
      t.ts += i * 2000;
      // A hole at 0, then 1000 bytes held.
      run(r, [...t.handshake(), t.c(1, 'x'.repeat(1000))]);
      assert.ok(r.stats.memory <= 3000, `memory ${r.stats.memory} after connection ${i}`);
    }
    assert.ok(r.stats.evictions >= 7, `evictions: ${r.stats.evictions}`);
    assert.ok(r.connectionOf(new TcpPair(20009).c(0, '')), 'the newest is kept');
  });

  it('stops delivering a direction after its depth', () => {
    const r = new Reassembler({ ...SETTINGS, depthBytes: 10 });
    const t = new TcpPair();
    const out = run(r, [...t.handshake(), t.c(0, 'abcdef'), t.c(6, 'ghijkl'), t.c(12, 'mnop')]);
    assert.equal(out.text, 'abcdefghij');
  });

  it('handles sequence numbers wrapping past 2^32', () => {
    const r = new Reassembler(SETTINGS);
    const t = new TcpPair(40000, 80, 0xfffffffa);
    const out = run(r, [...t.handshake(), t.c(0, 'abcd'), t.c(8, 'ijkl'), t.c(4, 'efgh')]);
    assert.equal(out.text, 'abcdefghijkl');
  });
});
