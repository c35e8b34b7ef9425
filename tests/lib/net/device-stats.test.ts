/**
 * Per-flow bookkeeping: the cases between two polls that a plain sum gets
 * wrong — flows that start, end (with or without a DESTROY event, in either
 * order against the listing), counters that reset — plus NAT in both
 * directions. Listings are built as the kernel prints them and parsed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConntrackLine, type ConntrackEntry } from '../../../lib/net/conntrack';
import { DeviceBook } from '../../../lib/net/device-stats';
import { CidrSet } from '../../../lib/base/cidr';

const LAN = new CidrSet('192.168.4.0/24, fd04::/64');
const ROUTER = '192.168.4.1';

/** A TCP entry as `conntrack -L -o extended,id` prints it: device → remote, SNAT to 10.0.0.2. */
function tcp(device: string, sport: number, txBytes: number, rxBytes: number, remote = '93.184.216.34', id = sport): ConntrackEntry {
  return parseConntrackLine(`ipv4     2 tcp      6 300 ESTABLISHED src=${device} dst=${remote} sport=${sport} dport=443 packets=${Math.ceil(txBytes / 1500)} bytes=${txBytes} src=${remote} dst=10.0.0.2 sport=443 dport=${sport} packets=${Math.ceil(rxBytes / 1500)} bytes=${rxBytes} [ASSURED] mark=0 use=1 id=${id}`)!;
}

const dev = (r: ReturnType<DeviceBook['poll']>, ip: string) => r.devices.find((d) => d.ip === ip);

describe('DeviceBook', () => {
  test('the first poll is a baseline: history before the node started is not a rate', () => {
    const book = new DeviceBook({ lan: LAN });
    const r = book.poll([tcp('192.168.4.20', 1000, 5_000_000, 9_000_000)], 0);
    assert.equal(dev(r, '192.168.4.20')?.txBps, 0);
    assert.equal(dev(r, '192.168.4.20')?.txBytes, 0);
    assert.equal(dev(r, '192.168.4.20')?.flows, 1);
    assert.equal(r.started.length, 1, 'flows that predate the node are reported once, for policies');
  });

  test('live flows add their growth; new flows count whole; rates are per second of the real interval', () => {
    const book = new DeviceBook({ lan: LAN });
    book.poll([tcp('192.168.4.20', 1000, 1000, 2000)], 0);
    const r = book.poll([tcp('192.168.4.20', 1000, 3000, 6000), tcp('192.168.4.20', 1001, 500, 700)], 2000);
    const d = dev(r, '192.168.4.20')!;
    assert.equal(d.txBytes, 2000 + 500);
    assert.equal(d.rxBytes, 4000 + 700);
    assert.equal(d.txBps, 1250);
    assert.equal(d.rxBps, 2350);
    assert.equal(d.flows, 2);
    assert.equal(r.started.length, 1);
    assert.equal(r.started[0].sport, 1001);
  });

  test('a counter reset counts the new value, never a negative delta', () => {
    const book = new DeviceBook({ lan: LAN });
    book.poll([tcp('192.168.4.20', 1000, 10_000, 10_000)], 0);
    book.poll([tcp('192.168.4.20', 1000, 20_000, 20_000)], 1000);
    const r = book.poll([tcp('192.168.4.20', 1000, 300, 400)], 2000);
    const d = dev(r, '192.168.4.20')!;
    assert.equal(d.txBytes, 10_000 + 300);
    assert.equal(d.txBps, 300);
    assert.equal(d.rxBps, 400);
  });

  test('a flow ending between polls: its DESTROY event adds the bytes moved after the last listing', () => {
    const book = new DeviceBook({ lan: LAN });
    book.poll([tcp('192.168.4.20', 1000, 1000, 1000)], 0);
    book.destroyed(tcp('192.168.4.20', 1000, 4000, 9000), 500);
    const r = book.poll([], 1000);
    const d = dev(r, '192.168.4.20')!;
    assert.equal(d.txBytes, 3000);
    assert.equal(d.rxBytes, 8000);
    assert.equal(d.flows, 0);
    assert.equal(r.ended.length, 1);
    assert.equal(r.ended[0].end, 500);
  });

  test('without an event, an ended flow counts up to its last listing (the documented small loss)', () => {
    const book = new DeviceBook({ lan: LAN });
    book.poll([tcp('192.168.4.20', 1000, 1000, 1000)], 0);
    book.poll([tcp('192.168.4.20', 1000, 2000, 2000)], 1000);
    const r = book.poll([], 2000);
    assert.equal(dev(r, '192.168.4.20')!.txBytes, 1000);
    assert.equal(r.ended.length, 1);
  });

  test('late DESTROY after the listing already missed the flow adds only the tail; an early one is not counted twice', () => {
    const book = new DeviceBook({ lan: LAN });
    book.poll([tcp('192.168.4.20', 1000, 1000, 1000), tcp('192.168.4.20', 2000, 1000, 1000)], 0);
    // Flow 1000 vanished from this listing; its event arrives afterwards.
    book.poll([tcp('192.168.4.20', 2000, 1000, 1000)], 1000);
    book.destroyed(tcp('192.168.4.20', 1000, 1500, 1000), 1100);
    // Flow 2000: the event is processed first, then a listing read just before it still shows it.
    book.destroyed(tcp('192.168.4.20', 2000, 1800, 1000), 1200);
    const r = book.poll([tcp('192.168.4.20', 2000, 1700, 1000)], 2000);
    assert.equal(dev(r, '192.168.4.20')!.txBytes, 500 + 800);
  });

  test('a flow born and gone between two polls is counted whole from its event', () => {
    const book = new DeviceBook({ lan: LAN });
    book.poll([], 0);
    book.destroyed(tcp('192.168.4.21', 3000, 7000, 1000), 400);
    const r = book.poll([], 1000);
    assert.equal(dev(r, '192.168.4.21')!.txBytes, 7000);
    assert.equal(r.ended.length, 1);
  });

  test('NAT: outbound flows belong to the original (LAN) source; port-forwarded inbound flows to the translated LAN address; the router is not a device', () => {
    const book = new DeviceBook({ lan: LAN, exclude: new Set([ROUTER]) });
    const inbound = (bytesIn: number, bytesOut: number) => parseConntrackLine(`ipv4     2 tcp      6 300 ESTABLISHED src=198.51.100.7 dst=10.0.0.2 sport=50000 dport=8080 packets=1 bytes=${bytesIn} src=192.168.4.30 dst=198.51.100.7 sport=80 dport=50000 packets=1 bytes=${bytesOut} [ASSURED] mark=0 use=1 id=9`)!;
    const dns = (b: number) => parseConntrackLine(`ipv4     2 udp      17 20 src=192.168.4.1 dst=192.168.4.20 sport=53 dport=40000 packets=1 bytes=${b} src=192.168.4.20 dst=192.168.4.1 sport=40000 dport=53 packets=1 bytes=${b} mark=0 use=1 id=10`)!;
    book.poll([tcp('192.168.4.20', 1000, 0, 0), inbound(0, 0), dns(0)], 0);
    const r = book.poll([tcp('192.168.4.20', 1000, 100, 5000), inbound(300, 9000), dns(80)], 1000);
    assert.equal(dev(r, '192.168.4.20')!.txBytes, 100 + 80, 'the DNS reply flow from the router counts for the device, not the router');
    const fwd = dev(r, '192.168.4.30')!;
    assert.equal(fwd.rxBytes, 300);
    assert.equal(fwd.txBytes, 9000);
    assert.equal(dev(r, ROUTER), undefined);
  });

  test('IPv6 devices are tracked like IPv4 ones', () => {
    const book = new DeviceBook({ lan: LAN });
    const e = (b: number) => parseConntrackLine(`ipv6     10 tcp      6 300 ESTABLISHED src=fd04::20 dst=2001:db8::1 sport=1 dport=443 packets=1 bytes=${b} src=2001:db8::1 dst=fd04::20 sport=443 dport=1 packets=1 bytes=${b * 2} [ASSURED] mark=0 use=1 id=11`)!;
    book.poll([e(10)], 0);
    const r = book.poll([e(110)], 1000);
    assert.equal(dev(r, 'fd04::20')!.txBps, 100);
    assert.equal(dev(r, 'fd04::20')!.rxBps, 200);
  });

  test('idle devices are forgotten after idleMs; reset starts a new baseline', () => {
    const book = new DeviceBook({ lan: LAN, idleMs: 5000 });
    book.poll([tcp('192.168.4.20', 1000, 0, 0)], 0);
    book.poll([tcp('192.168.4.20', 1000, 10, 10)], 1000);
    assert.ok(dev(book.poll([], 2000), '192.168.4.20'), 'kept while recently seen');
    assert.equal(dev(book.poll([], 10_000), '192.168.4.20'), undefined);
    book.reset();
    const r = book.poll([tcp('192.168.4.20', 1000, 99_999, 0)], 11_000);
    assert.equal(dev(r, '192.168.4.20')!.txBytes, 0);
  });
});
