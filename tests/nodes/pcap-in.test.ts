/**
 * pcap-in in Node-RED (node-red-node-test-helper), file mode, on captures
 * made by real tools: examples/captures/demo.pcap (tcpdump in a namespace
 * while ping, curl, nmap and hping3 ran; scripts/make-demo-capture.sh) and,
 * when present, the decoder's pcapng fixture. tshark is the reference for
 * what the files hold.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Packet } from '../../lib/packet/types';
import type { FileSummary } from '../../lib/capture/file-source';
import { packageRoot } from '../support/red-runtime';
import { nodeHelper, load, startServer, unload, useServerPerTest } from '../support/node-helper';
import { until } from '../support/wait';

const helper = nodeHelper<HelperNode>();

interface HelperNode {
  on(event: string, fn: (arg: never) => void): void;
  receive(msg: Record<string, unknown>): void;
  status(s: { text?: string; fill?: string }): void;
  /** The helper's spy on Node.prototype.error (shared by every node). */
  error: { getCalls(): { thisValue: unknown; args: unknown[] }[] };
}

function errorText(arg: unknown): string {
  return String(arg instanceof Error ? arg.message : arg);
}

type Msg = { topic?: string; payload: unknown; _msgid?: string };

// eslint-disable-next-line @typescript-eslint/no-require-imports
const pcapInNode = require('../../nodes/pcap-in/pcap-in');

const DEMO = path.join(packageRoot, 'examples', 'captures', 'demo.pcap');
const PCAPNG = path.join(packageRoot, 'tests', 'fixtures', 'lab-eth.pcapng');

interface TsharkRow {
  len: number;
  src: string;
  dst: string;
}

/** What tshark sees in `file`: per frame, wire length and first IP/IPv6/ARP source and destination. */
function tsharkRows(file: string): TsharkRow[] {
  const out = execFileSync('tshark', ['-n', '-r', file, '-T', 'fields', '-E', 'occurrence=f', '-E', 'separator=|',
    '-e', 'frame.len', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ipv6.src', '-e', 'ipv6.dst', '-e', 'arp.src.proto_ipv4', '-e', 'arp.dst.proto_ipv4'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return out.trim().split('\n').map((line) => {
    const [len, ipSrc, ipDst, v6Src, v6Dst, arpSrc, arpDst] = line.split('|');
    return { len: Number(len), src: ipSrc || v6Src || arpSrc || '', dst: ipDst || v6Dst || arpDst || '' };
  });
}

let skip: string | null = null;
let tmp = '';
before(() => {
  if (!fs.existsSync(DEMO)) skip = `missing ${DEMO} (run scripts/make-demo-capture.sh as root)`;
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
  } catch {
    skip = skip ?? 'missing tool: tshark (apt-get install tshark)';
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-pcapin-'));
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

useServerPerTest();

interface Harness {
  node: HelperNode;
  /** Every status the node showed, in order. */
  statuses: { text?: string; fill?: string }[];
  packets: Packet[];
  messages: Msg[];
  complete: Promise<FileSummary>;
  errors: string[];
}

/** Deploy pcap-in with `config`, two helper nodes on its outputs, and collect what comes out. */
async function deploy(config: Record<string, unknown>): Promise<Harness> {
  await startServer();
  const flow = [
    { id: 'p', type: 'pcap-in', name: 'under test', source: 'file', mode: 'analyze', batchSize: '256', batchDelay: '50', wires: [['out'], ['done']], ...config },
    { id: 'out', type: 'helper' },
    { id: 'done', type: 'helper' },
  ];
  await load(pcapInNode, flow);
  const node = helper.getNode('p');
  const h: Harness = { node, statuses: [], packets: [], messages: [], errors: [], complete: Promise.resolve(null as unknown as FileSummary) };
  helper.getNode('out').on('input', (msg: Msg) => {
    h.messages.push(msg);
    if (Array.isArray(msg.payload)) h.packets.push(...(msg.payload as Packet[]));
    else h.packets.push(msg.payload as Packet);
  });
  h.complete = new Promise((resolve) => {
    helper.getNode('done').on('input', (msg: Msg) => {
      assert.equal(msg.topic, 'complete');
      resolve(msg.payload as FileSummary);
    });
  });
  // Record statuses on the instance: the helper's spies are gone by the time nodes close.
  const showStatus = node.status.bind(node);
  node.status = (s) => {
    h.statuses.push(s);
    showStatus(s);
  };
  // Errors raised while the node was built (bad config), then every later one.
  for (const call of node.error.getCalls()) if (call.thisValue === node) h.errors.push(errorText(call.args[0]));
  node.on('call:error', (call: { args: unknown[] }) => {
    h.errors.push(errorText(call.args[0]));
  });
  return h;
}

describe('pcap-in node, file mode', () => {
  it('analyze, batched: delivers every packet of the file in order, as tshark reads it, in batches of at most N', async (t) => {
    if (skip) return t.skip(skip);
    const expected = tsharkRows(DEMO);
    const h = await deploy({ filename: DEMO });
    h.node.receive({});
    const summary = await h.complete;
    assert.equal(summary.packets, expected.length);
    assert.equal(summary.file, DEMO);
    assert.equal(summary.error, undefined);
    assert.equal(summary.stopped, false);
    assert.equal(summary.bytes, expected.reduce((s, r) => s + r.len, 0));
    assert.equal(h.packets.length, expected.length);
    assert.ok(h.messages.every((m) => Array.isArray(m.payload) && m.payload.length >= 1 && m.payload.length <= 256));
    assert.ok(h.messages.length >= Math.ceil(expected.length / 256));
    assert.ok(h.messages.every((m) => m.topic === undefined), 'packet messages carry no topic');
    h.packets.forEach((p, i) => {
      assert.deepEqual({ len: p.len, src: p.src, dst: p.dst }, expected[i], `packet ${i + 1}`);
    });
    assert.ok(h.packets.some((p) => p.proto === 'tcp' && p.flags === 'S' && p.dport === 80), 'hping3 SYNs to port 80');
    assert.ok(h.packets.some((p) => p.proto === 'icmp' && p.icmpType === 8), 'ping echo requests');
    assert.ok(h.packets.some((p) => p.proto === 'tcp' && p.payload.toString('latin1').includes('UNION+SELECT')), 'curl payload with SQL injection');
    await until(() => h.statuses.some((s) => new RegExp(`^done: ${expected.length} pkts in \\d+(\\.\\d)? (ms|s)$`).test(s.text ?? '')), 'the done status', 10_000, 10);
    assert.match(String(h.statuses.find((s) => s.text?.startsWith('reading'))?.text), /^reading \d+ pkts \d+%$/);
  });

  it('batch size 1: one packet object per message, same packets', async (t) => {
    if (skip) return t.skip(skip);
    const expected = tsharkRows(DEMO);
    const h = await deploy({ filename: DEMO, batchSize: '1' });
    h.node.receive({ topic: 'start' });
    const summary = await h.complete;
    assert.equal(summary.packets, expected.length);
    assert.equal(h.messages.length, expected.length);
    assert.ok(h.messages.every((m) => !Array.isArray(m.payload) && typeof (m.payload as Packet).ts === 'number'));
    assert.deepEqual(h.packets.map((p) => p.len), expected.map((r) => r.len));
  });

  it('reads pcapng (decoder fixture) and counts what tshark counts', async (t) => {
    if (skip) return t.skip(skip);
    if (!fs.existsSync(PCAPNG)) return t.skip(`missing fixture ${PCAPNG}`);
    const expected = tsharkRows(PCAPNG);
    const h = await deploy({ filename: PCAPNG });
    h.node.receive({});
    const summary = await h.complete;
    assert.equal(summary.packets, expected.length);
    assert.deepEqual(h.packets.map((p) => [p.len, p.src, p.dst]), expected.map((r) => [r.len, r.src, r.dst]));
  });

  it('replay: sends packets in capture-time order and completes with every packet', async (t) => {
    if (skip) return t.skip(skip);
    const expected = tsharkRows(DEMO);
    // The demo capture spans about 3.5 s; at 2x it replays in under 2 s, slow enough that a
    // loaded machine (CI's second leg) still sees gaps longer than the batch delay.
    const h = await deploy({ filename: DEMO, mode: 'replay', speed: '2', batchSize: '32', batchDelay: '10' });
    h.node.receive({});
    const summary = await h.complete;
    assert.equal(summary.packets, expected.length);
    assert.equal(h.packets.length, expected.length);
    for (let i = 1; i < h.packets.length; i++) assert.ok(h.packets[i].ts >= h.packets[i - 1].ts, `packet ${i + 1} out of order`);
    // Paced, so batches close on the delay long before they fill up.
    assert.ok(h.messages.length > Math.ceil(expected.length / 32));
  });

  it('closing the flow mid-file: reading stops, nothing more is sent, status cleared', async (t) => {
    if (skip) return t.skip(skip);
    const h = await deploy({ filename: DEMO, mode: 'replay', speed: '1', batchSize: '1' });
    h.node.receive({});
    await until(() => h.packets.length >= 3, 'packets', 10_000, 10);
    let completed = false;
    void h.complete.then(() => { completed = true; });
    await unload();
    const atClose = h.packets.length;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(h.packets.length, atClose);
    assert.equal(completed, false, 'no completion after close');
    assert.deepEqual(h.statuses[h.statuses.length - 1], {}, `status cleared: ${JSON.stringify(h.statuses.slice(-3))}`);
  });

  it('msg.filename overrides the configured file', async (t) => {
    if (skip) return t.skip(skip);
    const expected = tsharkRows(DEMO);
    const h = await deploy({ filename: path.join(tmp, 'not-this-one.pcap') });
    h.node.receive({ filename: DEMO });
    const summary = await h.complete;
    assert.equal(summary.file, DEMO);
    assert.equal(summary.packets, expected.length);
    assert.deepEqual(h.errors, []);
  });

  it('a truncated file: earlier packets delivered, then an error naming the byte offset', async (t) => {
    if (skip) return t.skip(skip);
    const whole = fs.readFileSync(DEMO);
    const cut = path.join(tmp, 'truncated.pcap');
    // Cut in the middle of the last record (a fault tcpdump leaves when killed mid-write).
    fs.writeFileSync(cut, whole.subarray(0, whole.length - 10));
    const expected = tsharkRows(DEMO);
    const h = await deploy({ filename: cut });
    h.node.receive({});
    const summary = await h.complete;
    assert.equal(summary.packets, expected.length - 1);
    assert.equal(h.packets.length, expected.length - 1);
    assert.ok(summary.error, 'completion carries the error');
    assert.equal(typeof summary.errorOffset, 'number');
    assert.ok(summary.errorOffset! > 24 && summary.errorOffset! < whole.length - 10);
    await until(() => h.errors.length > 0, 'the node to report an error', 10_000, 10);
    assert.match(h.errors[0], new RegExp(`offset ${summary.errorOffset}`));
  });

  it('stop mid-file: packets so far go out, completion says stopped', async (t) => {
    if (skip) return t.skip(skip);
    const expected = tsharkRows(DEMO);
    const h = await deploy({ filename: DEMO, mode: 'replay', speed: '1', batchSize: '1' });
    h.node.receive({});
    await until(() => h.packets.length >= 5, 'packets', 10_000, 10);
    h.node.receive({ topic: 'stop' });
    const summary = await h.complete;
    assert.equal(summary.stopped, true);
    assert.ok(summary.packets < expected.length, `stopped after ${summary.packets} of ${expected.length}`);
    assert.equal(h.packets.length, summary.packets);
    assert.deepEqual(h.errors, []);
  });

  it('a missing file: a clear error to Catch nodes, and a completion message carrying it', async (t) => {
    if (skip) return t.skip(skip);
    const missing = path.join(tmp, 'no-such-capture.pcap');
    const h = await deploy({ filename: missing });
    h.node.receive({});
    const summary = await h.complete;
    assert.equal(summary.packets, 0);
    assert.match(String(summary.error), /not found/);
    await until(() => h.errors.length > 0, 'the node to report an error', 10_000, 10);
    assert.match(h.errors[0], new RegExp(`capture file not found: ${missing}`));
    assert.equal(h.packets.length, 0);
  });

  it('no file at all: refused with the reason', async (t) => {
    if (skip) return t.skip(skip);
    const h = await deploy({ filename: '' });
    h.node.receive({});
    await until(() => h.errors.length > 0, 'the node to report an error', 10_000, 10);
    assert.match(h.errors[0], /no capture file given/);
  });

  it('msg.filename that is not a string: refused with the reason, nothing read', async (t) => {
    if (skip) return t.skip(skip);
    const h = await deploy({ filename: DEMO });
    h.node.receive({ filename: 42 });
    await until(() => h.errors.length > 0, 'the node to report an error', 10_000, 10);
    assert.match(h.errors[0], /msg\.filename must be a string/);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.packets.length, 0);
  });

  it('msg.topic "config" changes settings for the next read; a bad one is refused and the old settings stay', async (t) => {
    if (skip) return t.skip(skip);
    const expected = tsharkRows(DEMO);
    const h = await deploy({ filename: path.join(tmp, 'not-this-one.pcap') });
    h.node.receive({ topic: 'config', payload: { batchSize: 0, filename: DEMO } });
    h.node.receive({ topic: 'config', payload: { colour: 'red' } });
    h.node.receive({ topic: 'reset' });
    await until(() => h.errors.length >= 2, 'the node to report an error', 10_000, 10);
    assert.match(h.errors[0], /config refused, settings unchanged: invalid settings: batchSize must be >= 1, got 0/);
    assert.match(h.errors[1], /unknown setting 'colour'/);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.packets.length, 0, 'config and reset messages do not start a read');
    h.node.receive({ topic: 'config', payload: { batchSize: 1, filename: DEMO } });
    h.node.receive({});
    const summary = await h.complete;
    assert.equal(summary.file, DEMO);
    assert.equal(summary.packets, expected.length);
    assert.equal(h.messages.length, expected.length, 'one packet per message after batchSize 1');
    assert.ok(h.messages.every((m) => !Array.isArray(m.payload)));
    assert.equal(h.errors.length, 2);
  });

  it('a bad batch setting is refused with the reason', async (t) => {
    if (skip) return t.skip(skip);
    const h = await deploy({ filename: DEMO, batchSize: '0' });
    await until(() => h.errors.length > 0, 'the node to report an error', 10_000, 10);
    assert.match(h.errors[0], /batchSize must be >= 1, got 0/);
    h.node.receive({});
    await until(() => h.errors.length > 1, 'the node to report an error', 10_000, 10);
    assert.equal(h.packets.length, 0);
  });
});

describe('pcap-in node, a flow saved by 0.1.0 (batchDelay, now batchDelayMs)', () => {
  /** Batch sizes when every batch fills before its delay runs out: full ones, then the rest. */
  const fullBatches = (packets: number, size: number): number[] => Array.from({ length: Math.ceil(packets / size) }, (_, i) => Math.min(size, packets - i * size));

  // The demo capture starts slowly (19 packets in its first half second): replayed at 4x, a
  // batch with the default 50 ms delay would go out with those few; with 60 s every one fills.
  for (const [saved, config] of [
    ['0.1.0', { batchDelay: '60000' }],
    ['this release', { version: 1, batchDelayMs: '60000' }],
  ] as const) {
    it(`a config of ${saved} deploys and batches by its delay: replayed packets wait until their batch is full`, async (t) => {
      if (skip) return t.skip(skip);
      const expected = tsharkRows(DEMO);
      const h = await deploy({ filename: DEMO, mode: 'replay', speed: '4', batchSize: '256', ...config });
      h.node.receive({});
      const summary = await h.complete;
      assert.equal(summary.packets, expected.length);
      assert.deepEqual(h.messages.map((m) => (m.payload as Packet[]).length), fullBatches(expected.length, 256));
      assert.deepEqual(h.errors, []);
    });
  }

  it('a bad 0.1.0 batchDelay is refused under its new name', async (t) => {
    if (skip) return t.skip(skip);
    const h = await deploy({ filename: DEMO, batchDelay: '-1' });
    await until(() => h.errors.length > 0, 'the node to report an error', 10_000, 10);
    assert.match(h.errors[0], /batchDelayMs must be >= 0, got -1/);
  });
});

describe('pcap-in node, live mode errors', () => {
  it('an interface that does not exist: a clear error naming it', async (t) => {
    if (skip) return t.skip(skip);
    const { capUnavailable } = await import('../../lib/capture/live');
    const why = capUnavailable();
    if (why) return t.skip(why);
    const h = await deploy({ source: 'live', iface: 'nosuchif0', batchSize: '1' });
    h.node.receive({ topic: 'start' });
    await until(() => h.errors.length > 0, 'the node to report an error', 10_000, 10);
    assert.match(h.errors[0], /nosuchif0/);
  });

  it('an invalid interface name is refused before anything is opened', async (t) => {
    if (skip) return t.skip(skip);
    const h = await deploy({ source: 'live', iface: 'eth0; rm -rf /' });
    await until(() => h.errors.length > 0, 'the node to report an error', 10_000, 10);
    assert.match(h.errors[0], /iface: 'eth0; rm -rf \/' is an invalid interface name/);
  });
});

