/**
 * iptables-block in Node-RED (node-red-node-test-helper) in dry-run mode:
 * what a user without root sees — the blocklist after each message, the
 * commands the node would run, refusals as node errors. Own addresses come
 * from this machine's real `ip -j addr`. Kernel behaviour is covered by
 * tests/integration/iptables-block.test.ts.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import type { BlockList } from '../../lib/net/types';
import { toolMissing } from '../support/netns';
import { nodeHelper, load, useServerPerFile } from '../support/node-helper';

const helper = nodeHelper<HelperNode>();

interface HelperNode {
  on(event: string, fn: (arg: never) => void): void;
  receive(msg: Record<string, unknown>): void;
  error: { getCalls(): { thisValue: unknown; args: unknown[] }[] };
}

interface OutMsg {
  topic: string;
  payload: BlockList;
  commands?: string[];
  results?: Record<string, unknown>[];
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const blockNode = require('../../nodes/iptables-block/iptables-block');

let skip: string | null = null;
useServerPerFile();
before(async () => {
  skip = await toolMissing('ip');
});

interface Harness {
  node: HelperNode;
  out: OutMsg[];
  errors: string[];
  /** Send a message and wait for the next output or error. */
  send(msg: Record<string, unknown>): Promise<void>;
}

async function deploy(config: Record<string, unknown>): Promise<Harness> {
  const saved = { id: 'blk', type: 'iptables-block', name: 'block under test', dryRun: true, backend: 'ipset', chain: 'IPS-BLOCK', setName: 'ips-block', table: 'ips', maxElem: 65536, durationS: 600, allowlist: '', protectOwn: true, protectGateway: true, escalate: false, clearOnClose: false, wires: [['out']], ...config };
  const flow = [
    // as from a saved flow file: a setting given as undefined is not there at all
    JSON.parse(JSON.stringify(saved)) as Record<string, unknown>,
    { id: 'out', type: 'helper' },
  ];
  await load(blockNode, flow);
  const node = helper.getNode('blk');
  const h: Harness = {
    node,
    out: [],
    errors: [],
    send: (msg) => {
      const before = h.out.length + h.errors.length;
      node.receive(msg);
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + 5000;
        const tick = () => {
          if (h.out.length + h.errors.length > before) return resolve();
          if (Date.now() > deadline) return reject(new Error('no output and no error within 5 s'));
          setTimeout(tick, 10);
        };
        tick();
      });
    },
  };
  helper.getNode('out').on('input', (msg: OutMsg) => {
    h.out.push(msg);
  });
  for (const call of node.error.getCalls()) if (call.thisValue === node) h.errors.push(String(call.args[0]));
  node.on('call:error', (call: { args: unknown[] }) => {
    const a = call.args[0];
    h.errors.push(a instanceof Error ? a.message : String(a));
  });
  return h;
}

const alert = {
  ts: 1, rule: 'scan.vertical', sid: 2, signature: 'port scan', category: 'scan', severity: 'high', action: 'drop',
  src: '10.0.0.66', dst: '10.0.0.1', offender: '10.0.0.66', proto: 'tcp', count: 120, windowMs: 10000, threshold: 50, reason: '120 ports in 10 s', detector: 'scan',
};
/** A flood at 10.0.0.1 from many sources: 203.0.113.7 is only the last of them. */
const aggregate = {
  ts: 1, rule: 'flood.syn.dst', sid: 1000004, signature: 'SYN flood against one target', category: 'flood', severity: 'high', action: 'alert',
  src: '203.0.113.7', dst: '10.0.0.1', proto: 'tcp', count: 300, windowMs: 1000, threshold: 200, reason: '300 half-open connections to 10.0.0.1', detector: 'flood',
};

describe('iptables-block node (dry-run)', () => {
  it('an alert blocks its source: the list shows it and the commands say what would run', async (t) => {
    if (skip) return t.skip(skip);
    const h = await deploy({});
    await h.send({ payload: alert });
    const m = h.out.at(-1)!;
    assert.equal(m.topic, 'blocklist');
    assert.equal(m.payload.blocked.length, 1);
    const e = m.payload.blocked[0];
    assert.deepEqual([e.ip, e.rule, e.reason], ['10.0.0.66', 'scan.vertical', '120 ports in 10 s']);
    assert.equal(e.expires - e.since, 600_000);
    assert.deepEqual(m.commands, [`ipset add ips-block-v4 10.0.0.66 timeout 600 comment 'ips s=${Math.floor(e.since / 1000)} r=scan.vertical 120 ports in 10 s' -exist`]);
    assert.deepEqual(h.errors, []);

    await h.send({ topic: 'unblock', payload: '10.0.0.66' });
    assert.deepEqual(h.out.at(-1)!.payload.blocked, []);
    assert.deepEqual(h.out.at(-1)!.commands, ['ipset del ips-block-v4 10.0.0.66 -exist']);

    await h.send({ topic: 'block', payload: 'fd00::66', durationS: 0 });
    await h.send({ topic: 'list' });
    assert.deepEqual(h.out.at(-1)!.payload.blocked.map((b) => [b.ip, b.expires, b.rule]), [['fd00::66', 0, 'manual']]);

    await h.send({ topic: 'clear' });
    assert.deepEqual(h.out.at(-1)!.payload.blocked, []);
    assert.deepEqual(h.out.at(-1)!.commands, ['ipset flush ips-block-v4', 'ipset flush ips-block-v6', 'ipset flush ips-block-hw']);
  });

  it('refuses the allowlist, its own addresses and bad input with the reason, and keeps the list', async (t) => {
    if (skip) return t.skip(skip);
    const h = await deploy({ backend: 'nftables', allowlist: '192.168.7.0/24' });
    await h.send({ payload: { ip: '10.0.0.5', action: 'block', reason: 'by hand' } });
    await h.send({ payload: { ip: '192.168.7.9', action: 'block' } });
    assert.match(h.errors.at(-1)!, /refused to block 192\.168\.7\.9: it is in the allowlist \(192\.168\.7\.0\/24\)/);
    await h.send({ payload: { ip: '127.0.0.1', action: 'block' } });
    assert.match(h.errors.at(-1)!, /refused to block 127\.0\.0\.1: it is one of this box's own addresses \(lo\)/);
    await h.send({ payload: { ip: '10.0.0.300', action: 'block' } });
    assert.match(h.errors.at(-1)!, /invalid IP address '10\.0\.0\.300'/);
    await h.send({ payload: 'block everything' });
    assert.match(h.errors.at(-1)!, /expected an Alert/);
    await h.send({ topic: 'list' });
    assert.deepEqual(h.out.at(-1)!.payload.blocked.map((b) => [b.ip, b.reason]), [['10.0.0.5', 'by hand']]);
  });

  it('an alert blocks its offender only: one without is refused with the reason, and the rest of the message is still done', async (t) => {
    if (skip) return t.skip(skip);
    const h = await deploy({});
    await h.send({ payload: aggregate });
    assert.match(h.errors.at(-1)!, /alert flood\.syn\.dst names no offender: no single address is the attacker .*neither its src 203\.0\.113\.7 nor its dst 10\.0\.0\.1/);
    assert.equal(h.out.length, 0, 'nothing changed, nothing sent');
    // an alert whose offender is not its src (scan.failures: the prober the answers went to)
    const failures = { ...alert, rule: 'scan.failures', src: '10.0.0.5', dst: '10.0.0.1', offender: '10.0.0.77', reason: 'answered with RST' };
    await h.send({ payload: [aggregate, failures] });
    assert.deepEqual(h.out.at(-1)!.payload.blocked.map((b) => [b.ip, b.rule]), [['10.0.0.77', 'scan.failures']]);
    assert.match(h.errors.at(-1)!, /flood\.syn\.dst names no offender/);
    await h.send({ payload: { ...alert, offender: 42 } });
    assert.match(h.errors.at(-1)!, /offender must be an address, got 42/);
    await h.send({ topic: 'list' });
    assert.deepEqual(h.out.at(-1)!.payload.blocked.map((b) => b.ip), ['10.0.0.77'], 'neither the src, the victim nor a flood source was blocked');
  });

  it('a 0.1.0 config (duration, no version) deploys and blocks for that duration', async (t) => {
    if (skip) return t.skip(skip);
    // as saved by 0.1.0's editor: numbers as given, 'duration' instead of 'durationS'
    const h = await deploy({ durationS: undefined, duration: 120, escalate: false, escalateFactor: 2, escalateWindow: 86400, escalateMax: 604800 });
    await h.send({ payload: alert });
    const e = h.out.at(-1)!.payload.blocked[0];
    assert.equal(e.expires - e.since, 120_000);
    assert.match(h.out.at(-1)!.commands![0], /^ipset add ips-block-v4 10\.0\.0\.66 timeout 120 /);
    assert.deepEqual(h.errors, []);
  });

  it('config changes settings at runtime and keeps the list; a bad one changes nothing', async (t) => {
    if (skip) return t.skip(skip);
    const h = await deploy({});
    await h.send({ payload: alert });
    // a change is answered by nothing; the next message already sees it
    h.node.receive({ topic: 'config', payload: { durationS: 60, allowlist: '10.0.0.0/30' } });
    await h.send({ payload: { ip: '10.0.0.2', action: 'block' } });
    assert.match(h.errors.at(-1)!, /refused to block 10\.0\.0\.2: it is in the allowlist \(10\.0\.0\.0\/30\)/);
    await h.send({ payload: { ip: '10.0.0.9', action: 'block' } });
    const nine = h.out.at(-1)!.payload.blocked.find((b) => b.ip === '10.0.0.9')!;
    assert.equal(nine.expires - nine.since, 60_000);
    await h.send({ topic: 'config', payload: { durationS: -1, chain: 'x y' } });
    assert.match(h.errors.at(-1)!, /config refused, settings unchanged: .*durationS must be >= 0.*chain/);
    await h.send({ payload: { ip: '10.0.0.10', action: 'block' } });
    const ten = h.out.at(-1)!.payload.blocked.find((b) => b.ip === '10.0.0.10')!;
    assert.equal(ten.expires - ten.since, 60_000, 'the refused change left the settings as they were');
    assert.deepEqual(h.out.at(-1)!.payload.blocked.map((b) => b.ip), ['10.0.0.66', '10.0.0.9', '10.0.0.10'], 'the block from before the change is still listed');
  });

  it('a bad setting stops the node with the reason instead of running anything', async (t) => {
    if (skip) return t.skip(skip);
    const h = await deploy({ chain: 'INPUT' });
    assert.match(h.errors.join('\n'), /invalid chain name 'INPUT'/);
    await h.send({ payload: alert });
    assert.match(h.errors.at(-1)!, /invalid chain name 'INPUT'/);
    assert.equal(h.out.length, 0);
  });
});
