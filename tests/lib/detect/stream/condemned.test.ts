/**
 * Inline drop of a condemned connection, on crafted packets: after a drop
 * rule matched, every later packet of the connection, both directions
 * (pure ACKs, FIN, RST, zero-length segments, retransmissions), gets
 * verdict 'drop' until the connection is idle; other connections pass; the
 * condemned table is bounded and its evictions counted.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PayloadDetector } from '../../../../lib/detect/payload/detector';
import type { Packet } from '../../../../lib/packet/types';
import { TcpPair } from '../../../support/tcp-packets';

const SQLI = 'GET /item?id=1%20UNION%20SELECT%20user,password%20FROM%20users-- HTTP/1.1\r\nHost: shop.lan\r\n\r\n';
const BENIGN = 'GET /item?id=2 HTTP/1.1\r\nHost: shop.lan\r\n\r\n';

/** A connection whose request matched a drop rule (the request itself dropped). */
function condemn(det: PayloadDetector, t: TcpPair): void {
  const req = t.c(0, SQLI);
  const alerts = det.process([...t.handshake(), req]);
  assert.deepEqual(alerts.map((a) => a.rule), ['payload.sqli.union']);
  assert.equal(req.verdict, 'drop');
}

function verdicts(packets: Packet[]): (string | undefined)[] {
  return packets.map((p) => p.verdict);
}

describe('payload-match inline: a condemned connection', () => {
  it('drops every later packet of the connection, both directions: pure ACKs, zero-length segments, FIN, RST, retransmissions', () => {
    const det = new PayloadDetector('pm', { cooldownS: 0, action: 'drop' });
    const t = new TcpPair();
    condemn(det, t);
    const n = SQLI.length;
    const later = [
      t.c(n, '', 'A'), // the client's pure ACK
      t.s(0, '', 'A'), // the server's pure ACK
      t.s(0, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), // server data
      t.c(n, ''), // a zero-length PSH-ACK
      t.c(0, SQLI), // the attack retransmitted
      t.c(n, BENIGN), // a second request on the keep-alive connection
      t.c(n, '', 'FA'), // the client's FIN
      t.s(38, '', 'FA'), // the server's FIN
      t.c(n + 1, '', 'A'), // the last ACK
      t.s(39, '', 'R'), // a RST from the server
      t.c(n + 1, '', 'R'), // and one from the client
      t.c(n + 1, '', 'RA'),
      t.s(0, 'late retransmission after the RST'),
      t.c(n + 1, '', 'A'),
    ];
    assert.deepEqual(det.process(later), []);
    assert.deepEqual(verdicts(later), later.map(() => 'drop'));
    assert.equal(det.stats.dropped, 1 + later.length);
    assert.equal(det.condemnedConnections, 1);
  });

  it('passes other connections, also from the attacker, and does nothing in alert mode', () => {
    const det = new PayloadDetector('pm', { cooldownS: 0, action: 'drop' });
    const t = new TcpPair(40000);
    condemn(det, t);
    const other = new TcpPair(40001);
    const packets = [...other.handshake(), other.c(0, BENIGN), other.s(0, '', 'A'), other.c(BENIGN.length, '', 'FA'), other.s(0, '', 'R')];
    assert.deepEqual(det.process(packets), []);
    assert.deepEqual(verdicts(packets), packets.map(() => undefined));

    const ids = new PayloadDetector('pm', { cooldownS: 0, action: 'alert' });
    const u = new TcpPair();
    const req = u.c(0, SQLI);
    assert.equal(ids.process([...u.handshake(), req]).length, 1);
    const after = [u.c(SQLI.length, '', 'A'), u.s(0, '', 'A'), u.c(SQLI.length, '', 'FA')];
    ids.process(after);
    assert.deepEqual(verdicts([req, ...after]), [undefined, undefined, undefined, undefined]);
    assert.equal(ids.condemnedConnections, 0);
  });

  it('keeps a connection condemned while its packets keep coming, forgets it after the idle timeout', () => {
    const det = new PayloadDetector('pm', { cooldownS: 0, action: 'drop', streamIdleS: 60 });
    const t = new TcpPair();
    condemn(det, t);
    // Retransmissions every 50 s keep it alive.
    for (let k = 0; k < 4; k++) {
      t.ts += 50_000;
      const ack = t.c(SQLI.length, '', 'A');
      det.process([ack]);
      assert.equal(ack.verdict, 'drop', `ACK after ${(k + 1) * 50} s`);
    }
    t.ts += 61_000;
    const quiet = t.c(SQLI.length, '', 'A');
    det.process([quiet]);
    assert.equal(quiet.verdict, undefined, 'idle for longer than streamIdleS: the connection state ended');
    assert.equal(det.condemnedConnections, 0);
  });

  it('bounds the condemned connections (track), evicting the stalest and counting it', () => {
    const det = new PayloadDetector('pm', { cooldownS: 0, action: 'drop', maxTracked: 16 });
    const pairs: TcpPair[] = [];
    for (let k = 0; k < 20; k++) {
      const t = new TcpPair(41000 + k);
      t.ts += k * 10;
      condemn(det, t);
      pairs.push(t);
    }
    assert.equal(det.condemnedConnections, 16);
    assert.ok(det.stats.evictions >= 4, `evictions counted: ${det.stats.evictions}`);
    const first = pairs[0].c(SQLI.length, '', 'A');
    const last = pairs[19].c(SQLI.length, '', 'A');
    det.process([first, last]);
    assert.equal(first.verdict, undefined, 'the stalest was forgotten');
    assert.equal(last.verdict, 'drop');
  });

  it('does not drop the packets of an allowlisted source, nor condemn its connections', () => {
    const det = new PayloadDetector('pm', { cooldownS: 0, action: 'drop', allowlist: '10.0.0.2' });
    const t = new TcpPair();
    const req = t.c(0, SQLI);
    det.process([...t.handshake(), req]);
    assert.equal(req.verdict, undefined);
    assert.equal(det.condemnedConnections, 0);
  });
});
