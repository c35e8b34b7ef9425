/**
 * pcap-in live mode on a real interface: a Node-RED runtime runs inside a
 * server namespace (libpcap sees only the interfaces of its own namespace),
 * pcap-in captures on the server's veth while a client namespace pings it and
 * connects with curl, and the test checks what came out of the node against
 * what was sent. Stop goes in through a tcp-in node inside the namespace.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, netnsUnavailable, toolMissing, type Netns } from '../support/netns';
import { startChildRuntime, type ChildRuntime, type WatchedMessage } from '../support/red-process';
import type { FlowNode } from '../support/red-runtime';
import { capUnavailable } from '../../lib/capture/live';

const SRV = '10.232.0.1';
const CLI = '10.232.0.2';
/** ping -s 200: 200 bytes of data + 8 ICMP + 20 IPv4 + 14 Ethernet. */
const PING_DATA = 200;
const PING_FRAME = PING_DATA + 8 + 20 + 14;
const PINGS = 5;
/** Port of the tcp-in node that stops the capture (the namespace is private, so any free port works). */
const STOP_PORT = 47001;
/** Port of the tcp-in node that sends pcap-in `{ topic: 'config', payload: { filter: 'icmp' } }`. */
const CONFIG_PORT = 47002;

interface SeenPacket {
  ts: number;
  len: number;
  caplen: number;
  iface?: string;
  src: string;
  dst: string;
  proto: string;
  icmpType?: number;
  sport?: number;
  dport?: number;
  flags?: string;
}

let skip: string | null = null;
before(async () => {
  skip = (await netnsUnavailable()) ?? (await toolMissing('ping', 'curl', 'ss')) ?? capUnavailable();
});

function flow(iface: string, extra: Record<string, unknown> = {}): FlowNode[] {
  return [
    { id: 'tab', type: 'tab', label: 'live' },
    {
      id: 'cap', z: 'tab', type: 'pcap-in', name: '', source: 'live', iface, filter: '', snaplen: '65535', bufferMb: '4',
      promiscuous: true, batchSize: '16', batchDelay: '20', autostart: true, wires: [['sink'], ['done']], ...extra,
    },
    { id: 'sink', z: 'tab', type: 'debug', active: false, wires: [] },
    { id: 'done', z: 'tab', type: 'debug', active: false, wires: [] },
    // Stop comes in over TCP (a tcp-in server inside the namespace), like a remote control would send it.
    { id: 'stoptcp', z: 'tab', type: 'tcp in', server: 'server', host: '', port: String(STOP_PORT), datamode: 'single', datatype: 'utf8', newline: '', topic: '', trim: false, base64: false, tls: '', wires: [['stopmsg']] },
    { id: 'stopmsg', z: 'tab', type: 'change', rules: [{ t: 'set', p: 'topic', pt: 'msg', to: 'stop', tot: 'str' }], wires: [['cap']] },
    // ... and a settings change, as a dashboard would send it.
    { id: 'cfgtcp', z: 'tab', type: 'tcp in', server: 'server', host: '', port: String(CONFIG_PORT), datamode: 'single', datatype: 'utf8', newline: '', topic: '', trim: false, base64: false, tls: '', wires: [['cfgmsg']] },
    {
      id: 'cfgmsg', z: 'tab', type: 'change', wires: [['cap']],
      rules: [{ t: 'set', p: 'topic', pt: 'msg', to: 'config', tot: 'str' }, { t: 'set', p: 'payload', pt: 'msg', to: '{"filter":"icmp"}', tot: 'json' }],
    },
  ];
}

function packetsIn(msgs: WatchedMessage[]): SeenPacket[] {
  const out: SeenPacket[] = [];
  for (const m of msgs) {
    if (Array.isArray(m.msg.payload)) out.push(...(m.msg.payload as SeenPacket[]));
    else if (m.msg.payload) out.push(m.msg.payload as SeenPacket);
  }
  return out;
}

/** Run `fn` with a server namespace running Node-RED (capturing on its veth) and a client namespace. */
async function withCapture(extra: Record<string, unknown>, fn: (rt: ChildRuntime, srv: Netns, cli: Netns, cliIf: string) => Promise<void>): Promise<void> {
  const lab = new Lab();
  let rt: ChildRuntime | null = null;
  try {
    const srv = await lab.host('srv');
    const cli = await lab.host('cli');
    const { aIf, bIf } = await lab.link(srv, `${SRV}/24`, cli, `${CLI}/24`);
    rt = await startChildRuntime(flow(aIf, extra), ['sink', 'done'], { ns: srv });
    // The capture opens shortly after deploy: ping (small) until the first packet shows up.
    const deadline = Date.now() + 15_000;
    while (packetsIn(rt.inbox('sink')).length === 0) {
      if (Date.now() > deadline) throw new Error(`capture never started: ${rt.diagnostics()}`);
      await cli.exec('ping', ['-c', '1', '-W', '1', '-s', '16', SRV]).catch(() => undefined);
    }
    await fn(rt, srv, cli, bIf);
  } finally {
    if (rt) await rt.stop().catch(() => undefined);
    await lab.cleanup();
  }
}

/** The traffic under test: PINGS echo requests of a known size, and one refused TCP connection. */
async function sendTraffic(cli: Netns): Promise<void> {
  await cli.exec('ping', ['-c', String(PINGS), '-i', '0.2', '-s', String(PING_DATA), SRV]);
  await cli.exec('curl', ['-s', '--max-time', '3', `http://${SRV}:8080/`]).catch(() => undefined); // refused: SYN, RST
}

async function stopAndReport(rt: ChildRuntime, srv: Netns): Promise<Record<string, unknown>> {
  // curl sends its request line to the tcp-in node, which never answers: the time-out is expected.
  await srv.exec('curl', ['-s', '--max-time', '1', `http://127.0.0.1:${STOP_PORT}/stop`]).catch(() => undefined);
  const done = await rt.waitFor('done', (msgs) => msgs.length > 0);
  assert.equal(done[0].msg.topic, 'complete');
  return done[0].msg.payload as Record<string, unknown>;
}

describe('pcap-in live capture in a network namespace', () => {
  it('captures what ping and curl sent, with addresses, protocols and counts', async (t) => {
    if (skip) return t.skip(skip);
    await withCapture({}, async (rt, srv, cli) => {
      await sendTraffic(cli);
      // A second's wait lets the status timer read the kernel's drop counter.
      await new Promise((r) => setTimeout(r, 1200));
      const report = await stopAndReport(rt, srv);
      const seen = packetsIn(rt.inbox('sink'));
      const requests = seen.filter((p) => p.proto === 'icmp' && p.icmpType === 8 && p.src === CLI && p.dst === SRV && p.len === PING_FRAME);
      const replies = seen.filter((p) => p.proto === 'icmp' && p.icmpType === 0 && p.src === SRV && p.dst === CLI && p.len === PING_FRAME);
      assert.equal(requests.length, PINGS, 'echo requests');
      assert.equal(replies.length, PINGS, 'echo replies');
      assert.ok(requests.every((p) => p.caplen === PING_FRAME && typeof p.iface === 'string' && p.iface.startsWith('v')));
      const syn = seen.filter((p) => p.proto === 'tcp' && p.src === CLI && p.dst === SRV && p.dport === 8080 && p.flags === 'S');
      const rst = seen.filter((p) => p.proto === 'tcp' && p.src === SRV && p.dst === CLI && p.sport === 8080 && p.flags?.includes('R'));
      assert.ok(syn.length >= 1, 'curl SYN');
      assert.ok(rst.length >= 1, 'refusing RST');
      assert.equal(report.packets, seen.length, 'completion counts every packet sent on');
      assert.equal(typeof report.drops, 'number', 'kernel drop counter read');
    });
  });

  it('honours the BPF filter and the snaplen', async (t) => {
    if (skip) return t.skip(skip);
    await withCapture({ filter: 'icmp', snaplen: '96' }, async (rt, srv, cli) => {
      await sendTraffic(cli);
      await stopAndReport(rt, srv);
      const seen = packetsIn(rt.inbox('sink'));
      assert.equal(seen.filter((p) => p.proto === 'tcp').length, 0, 'no TCP past the filter');
      assert.ok(seen.every((p) => p.proto === 'icmp'), `only ICMP: ${[...new Set(seen.map((p) => p.proto))].join(',')}`);
      const requests = seen.filter((p) => p.icmpType === 8 && p.src === CLI && p.len === PING_FRAME);
      assert.equal(requests.length, PINGS);
      assert.ok(requests.every((p) => p.caplen === 96), 'cut at snaplen, wire length kept');
    });
  });

  it('stops on msg.topic "stop": nothing more arrives', async (t) => {
    if (skip) return t.skip(skip);
    await withCapture({}, async (rt, srv, cli) => {
      const report = await stopAndReport(rt, srv);
      const before = packetsIn(rt.inbox('sink')).length;
      await cli.exec('ping', ['-c', '3', '-i', '0.2', SRV]);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(packetsIn(rt.inbox('sink')).length, before);
      assert.equal(report.packets, before);
    });
  });

  it('promiscuous off leaves out frames addressed to other hosts; on keeps them', async (t) => {
    if (skip) return t.skip(skip);
    const OTHER = '10.232.0.9';
    for (const promiscuous of [true, false]) {
      await withCapture({ promiscuous }, async (rt, srv, cli, cliIf) => {
        // The client sends to a MAC that is not the server's: the veth still delivers
        // those frames to the server's interface, as a shared Wi-Fi or hub segment would.
        await cli.exec('ip', ['neigh', 'replace', OTHER, 'lladdr', '02:00:00:00:00:99', 'dev', cliIf, 'nud', 'permanent']);
        await cli.exec('ping', ['-c', '3', '-i', '0.2', '-W', '1', OTHER]).catch(() => undefined); // nobody answers
        await cli.exec('ping', ['-c', '2', '-i', '0.2', SRV]);
        await stopAndReport(rt, srv);
        const seen = packetsIn(rt.inbox('sink'));
        const toOther = seen.filter((p) => p.dst === OTHER && p.icmpType === 8);
        const toSrv = seen.filter((p) => p.dst === SRV && p.src === CLI && p.icmpType === 8 && p.len === 98);
        assert.equal(toOther.length, promiscuous ? 3 : 0, `promiscuous ${promiscuous}: echo requests for another host`);
        assert.equal(toSrv.length, 2, `promiscuous ${promiscuous}: echo requests for this host`);
      });
    }
  });

  it('msg.topic "config" while capturing: the capture restarts with the new filter', async (t) => {
    if (skip) return t.skip(skip);
    await withCapture({}, async (rt, srv, cli) => {
      await sendTraffic(cli);
      await srv.exec('curl', ['-s', '--max-time', '1', `http://127.0.0.1:${CONFIG_PORT}/config`]).catch(() => undefined);
      // The curl above to the config port is TCP on lo: not on the captured veth.
      const before = packetsIn(rt.inbox('sink')).length;
      assert.ok(packetsIn(rt.inbox('sink')).some((p) => p.proto === 'tcp' && p.dport === 8080), 'TCP seen before the change');
      // Wait until the restarted capture delivers again (pings), then send TCP and ICMP.
      const deadline = Date.now() + 15_000;
      // (a 16-byte ping: packets of the old capture flushed at the restart are not those)
      const WARM_FRAME = 16 + 8 + 20 + 14;
      while (!packetsIn(rt.inbox('sink')).slice(before).some((p) => p.icmpType === 8 && p.len === WARM_FRAME)) {
        if (Date.now() > deadline) throw new Error(`capture did not come back: ${rt.diagnostics()}`);
        await cli.exec('ping', ['-c', '1', '-W', '1', '-s', '16', SRV]).catch(() => undefined);
      }
      const mark = packetsIn(rt.inbox('sink')).length;
      await sendTraffic(cli);
      await stopAndReport(rt, srv);
      const after = packetsIn(rt.inbox('sink')).slice(mark);
      assert.equal(after.filter((p) => p.proto === 'tcp').length, 0, 'no TCP after filter "icmp"');
      assert.equal(after.filter((p) => p.icmpType === 8 && p.len === PING_FRAME).length, PINGS);
    });
  });
});
