/**
 * pcap-in's engine without Node-RED: the bundled demo capture
 * (examples/captures/demo.pcap, made by tcpdump while ping, curl, nmap and
 * hping3 ran; tshark says what it holds) read, replayed, stopped, cut and
 * missing; and a live capture on loopback (UDP datagrams this test sends to
 * 127.0.0.1) restarted with a new BPF filter, refused a bad one and stopped.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { defaultsOf } from '../../../lib/base/settings';
import { capUnavailable, type LiveCaptureError } from '../../../lib/capture/live';
import type { FileSummary } from '../../../lib/capture/file-source';
import { PcapInput, pcapInSchema, type CapturePhase, type LiveSummary, type PcapInSettings } from '../../../lib/capture/pcap-input';
import type { Packet, PacketPayload } from '../../../lib/packet/types';
import { packageRoot } from '../../support/red-runtime';
import { until } from '../../support/wait';

const DEMO = path.join(packageRoot, 'examples', 'captures', 'demo.pcap');

/** What an input sent: payloads, completion reports, and the phase at each phase change. */
interface Run {
  input: PcapInput;
  payloads: PacketPayload[];
  packets: Packet[];
  summaries: (FileSummary | LiveSummary)[];
  phases: CapturePhase[];
}

function run(settings: Partial<PcapInSettings>): Run {
  const r = { payloads: [], packets: [], summaries: [], phases: [] } as unknown as Run;
  r.input = new PcapInput({ ...defaultsOf(pcapInSchema), ...settings }, {
    packets: (p) => {
      r.payloads.push(p);
      r.packets.push(...(Array.isArray(p) ? p : [p]));
    },
    complete: (s) => r.summaries.push(s),
    changed: (phaseChanged) => {
      if (phaseChanged) r.phases.push(r.input.state().phase);
    },
  });
  return r;
}

let frames = 0;
let skip: string | null = null;
let tmp = '';
before(() => {
  try {
    frames = execFileSync('tshark', ['-n', '-r', DEMO, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' }).trim().split('\n').length;
  } catch {
    skip = 'missing tool: tshark (apt-get install tshark)';
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-pcap-input-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('PcapInput, file mode', () => {
  it('analyze: every packet in batches of at most the batch size, then the report; ready → reading → done', async (t) => {
    if (skip) return t.skip(skip);
    const r = run({ filename: DEMO, batchSize: 100 });
    assert.deepEqual(r.input.state(), { phase: 'ready', text: 'ready' });
    await r.input.start();
    assert.equal(r.packets.length, frames);
    assert.ok(r.payloads.every((p) => Array.isArray(p) && p.length >= 1 && p.length <= 100));
    assert.deepEqual(r.summaries.map((s) => [(s as FileSummary).file, s.packets, (s as FileSummary).stopped]), [[DEMO, frames, false]]);
    assert.deepEqual(r.phases, ['reading', 'done']);
    assert.match(r.input.state().text, new RegExp(`^done: ${frames} pkts in \\d+(\\.\\d)? (ms|s)$`));
  });

  it('batch size 1: each packet alone, not in an array', async (t) => {
    if (skip) return t.skip(skip);
    const r = run({ filename: DEMO, batchSize: 1 });
    await r.input.start();
    assert.equal(r.payloads.length, frames);
    assert.ok(r.payloads.every((p) => !Array.isArray(p)));
  });

  it('a file name given at start replaces the configured one; none at all is refused', async (t) => {
    if (skip) return t.skip(skip);
    const r = run({ filename: path.join(tmp, 'not-this-one.pcap') });
    await r.input.start(DEMO);
    assert.equal((r.summaries[0] as FileSummary).file, DEMO);
    await assert.rejects(run({ filename: '' }).input.start(), /no capture file given/);
  });

  it('stop while replaying: the packets so far, a report that says stopped, and a second start while reading is refused', async (t) => {
    if (skip) return t.skip(skip);
    const r = run({ filename: DEMO, mode: 'replay', speed: 1, batchSize: 1 });
    const reading = r.input.start();
    await until(() => r.packets.length >= 5, 'packets', 10_000, 10);
    assert.match(r.input.state().text, /^replaying \d+ pkts \d+%$/);
    await assert.rejects(r.input.start(), /already reading .*demo\.pcap; send msg\.topic "stop" first/);
    r.input.stop();
    await reading;
    const summary = r.summaries[0] as FileSummary;
    assert.equal(summary.stopped, true);
    assert.ok(summary.packets < frames);
    assert.equal(r.packets.length, summary.packets);
    assert.deepEqual(r.input.state(), { phase: 'stopped', text: `stopped: ${summary.packets} pkts` });
  });

  it('a cut file: the packets before the cut, the report, then the error with the byte offset', async (t) => {
    if (skip) return t.skip(skip);
    const whole = fs.readFileSync(DEMO);
    const cut = path.join(tmp, 'cut.pcap');
    fs.writeFileSync(cut, whole.subarray(0, whole.length - 10));
    const r = run({ filename: cut });
    const err = await r.input.start().then(() => null, (e: Error) => e);
    const summary = r.summaries[0] as FileSummary;
    assert.equal(r.packets.length, frames - 1);
    assert.equal(typeof summary.errorOffset, 'number');
    assert.equal(err?.message, `${cut}: ${summary.error} (at byte offset ${summary.errorOffset}, after ${frames - 1} packets)`);
    assert.deepEqual(r.input.state(), { phase: 'failed', text: `offset ${summary.errorOffset}: ${summary.error}` });
  });

  it('a missing file: the report carries the error, and start rejects with it', async () => {
    const missing = path.join(tmp, 'no-such.pcap');
    const r = run({ filename: missing });
    await assert.rejects(r.input.start(), new RegExp(`capture file not found: ${missing}`));
    assert.equal(r.summaries.length, 1);
    assert.equal(r.input.state().phase, 'failed');
  });

  it('close while replaying: nothing more goes out, no report, start resolves', async (t) => {
    if (skip) return t.skip(skip);
    const r = run({ filename: DEMO, mode: 'replay', speed: 1, batchSize: 1 });
    const reading = r.input.start();
    await until(() => r.packets.length >= 3, 'packets', 10_000, 10);
    const phases = r.phases.length;
    r.input.close();
    await reading;
    const atClose = r.packets.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(r.packets.length, atClose);
    assert.deepEqual(r.summaries, []);
    assert.equal(r.phases.length, phases, 'no state change reported after close');
  });

  it('new settings apply to the next read; settings a live capture could not use are refused and nothing changes', async (t) => {
    if (skip) return t.skip(skip);
    const r = run({ filename: DEMO });
    r.input.reconfigure({ ...r.input.settings, batchSize: 1 });
    await r.input.start();
    assert.equal(r.payloads.length, frames);
    assert.throws(() => r.input.reconfigure({ ...r.input.settings, source: 'live', iface: '' }), /interface name must match/);
    assert.equal(r.input.settings.source, 'file');
    assert.throws(() => run({ source: 'live', iface: '' }), /interface name must match/);
  });
});

describe('PcapInput, live capture on loopback', () => {
  const why = capUnavailable();

  /** UDP datagrams to 127.0.0.1:`port` (nobody listens: the kernel answers with ICMP, which the filters leave out). */
  async function sendUdp(port: number, count: number): Promise<void> {
    const socket = dgram.createSocket('udp4');
    try {
      for (let i = 0; i < count; i++) await new Promise<void>((resolve, reject) => socket.send(Buffer.from(`ips ${i}`), port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    } finally {
      socket.close();
    }
  }

  it('restarts with a new filter, keeps the old capture when a filter is refused, and reports every packet at stop', async (t) => {
    if (why) return t.skip(why);
    // High ports picked per run, so other traffic on loopback does not match.
    const a = 40_000 + (process.pid % 10_000);
    const b = a + 1;
    const to = (port: number): number => ((r.packets as Packet[]).filter((p) => p.proto === 'udp' && p.dport === port)).length;
    const r = run({ source: 'live', iface: 'lo', filter: `udp dst port ${a}`, batchSize: 1 });
    try {
      await r.input.start();
      assert.equal(r.input.state().phase, 'capturing');
      await sendUdp(a, 3);
      await until(() => to(a) === 3, 'three datagrams to the first port');

      r.input.reconfigure({ ...r.input.settings, filter: `udp dst port ${b}` });
      await sendUdp(a, 3);
      await sendUdp(b, 3);
      await until(() => to(b) === 3, 'three datagrams to the second port');
      assert.equal(to(a), 3, 'the first port is filtered out after the restart');

      assert.throws(() => r.input.reconfigure({ ...r.input.settings, filter: 'udp dst port (' }), (err: LiveCaptureError) => err.kind === 'filter' && /BPF filter "udp dst port \(" refused/.test(err.message));
      assert.equal(r.input.settings.filter, `udp dst port ${b}`, 'settings unchanged');
      assert.equal(r.input.state().phase, 'capturing');
      await sendUdp(b, 2);
      await until(() => to(b) === 5, 'the old capture going on');

      r.input.stop();
      const summary = r.summaries[0] as LiveSummary;
      assert.equal(summary.iface, 'lo');
      assert.equal(summary.packets, r.packets.length, 'the report counts every packet sent on, across the restarts');
      assert.match(r.input.state().text, /^stopped: \d+ pkts$/);
    } finally {
      r.input.close();
    }
  });
});
