/**
 * payload-match inline on real connections: the victim's INPUT goes to
 * NFQUEUE, read by nfqueue-in in a Node-RED process inside the victim
 * namespace, through payload-match in drop mode and back.
 *
 * - A condemned connection: a line-based TCP service (tests/support/tick-tcp.py)
 *   streams 'tick' lines to each client that said hello. The attacker's client
 *   sends a line matching a drop rule, then keeps reading (its kernel ACKs the
 *   ticks with pure ACKs) and sending. Every later packet of that connection
 *   must be dropped: the attack line and what follows never reach the server,
 *   and the server's ticks are never acknowledged (its send queue grows), which
 *   only holds if the client's pure ACKs are dropped too. A new connection from
 *   another client, opened afterwards, is served.
 * - A rule on the URI and the body of one request (Snort/Suricata syntax):
 *   the victim advertises an MSS of 48 to the attacker (`advmss 48`, and no GSO
 *   on the attacker's veth), so curl's POST arrives in 36-byte segments, the
 *   URI in the first, the end of the body many segments later. The rule is
 *   raised once, with the attacker as offender; a rule needing both in one
 *   packet is not.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab, netnsUnavailable, toolMissing, type Netns } from '../support/netns';
import type { ChildRuntime, WatchedMessage } from '../support/red-process';
import { nfqueueNode, observers, queuedRuntime, unqueue } from '../support/inline';
import { startHttpTarget } from '../support/http-target';
import { packageRoot, type FlowNode } from '../support/red-runtime';
import type { Alert } from '../../lib/detect/alert';

const QUEUE = 37;
const VIC_A = '10.238.1.1';
const ATK = '10.238.1.2';
const VIC_B = '10.238.2.1';
const CLI = '10.238.2.2';
const TICK_PORT = 9000;
const HTTP_PORT = 8080;
const TOOL = path.join(packageRoot, 'tests', 'support', 'tick-tcp.py');

const SIGNATURES = [
  `drop tcp any any -> any ${TICK_PORT} (msg:"LOCAL evil command"; flow:to_server; content:"EVIL-COMMAND"; sid:9200101; rev:1;)`,
  `alert http any any -> any ${HTTP_PORT} (msg:"LOCAL login with passwd"; flow:to_server; content:"login"; http_uri; content:"passwd="; http_client_body; classtype:web-application-attack; sid:9200102; rev:1;)`,
  `alert tcp any any -> any ${HTTP_PORT} (msg:"LOCAL login and passwd in one packet"; pkt_data; content:"POST /login"; content:"passwd="; sid:9200103; rev:1;)`,
].join('\n');

let skip: string | null = null;
let lab: Lab | null = null;
let vic: Netns;
let atk: Netns;
let cli: Netns;
let rt: ChildRuntime | null = null;
let serverOut = '';

function alertsOf(msgs: WatchedMessage[]): Alert[] {
  return msgs.map((m) => m.msg.payload as Alert);
}

/** Resolve when `child`'s stdout has printed a line for which `pred` holds. */
function waitLine(child: ChildProcess, pred: (text: string) => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  let out = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got: ${out}`)), timeoutMs);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (pred(out)) {
        clearTimeout(t);
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
  });
}

/** The server's send queue (bytes not yet acknowledged) on its connection to `peer`, or -1 when none. */
async function sendQueue(peer: string): Promise<number> {
  const { stdout } = await vic.exec('ss', ['-tnH', 'state', 'established', `( sport = :${TICK_PORT} )`]);
  for (const line of stdout.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length >= 4 && cols[3].startsWith(`${peer}:`)) return Number(cols[1]);
  }
  return -1;
}

before(async () => {
  skip = (await netnsUnavailable()) ?? (await toolMissing('iptables', 'curl', 'python3', 'ss'));
  if (skip) return;
  lab = new Lab();
  vic = await lab.host('vic');
  atk = await lab.host('atk');
  cli = await lab.host('cli');
  const { aIf: vicToAtk, bIf: atkIf } = await lab.link(vic, `${VIC_A}/24`, atk, `${ATK}/24`);
  await lab.link(vic, `${VIC_B}/24`, cli, `${CLI}/24`);
  await vic.exec('ip', ['route', 'add', `${ATK}/32`, 'dev', vicToAtk, 'advmss', '48']);
  await atk.exec('ip', ['link', 'set', 'dev', atkIf, 'gso_max_segs', '1']);
  await startHttpTarget(vic, '0.0.0.0', HTTP_PORT);
  const server = vic.spawn('python3', ['-u', TOOL, 'server', String(TICK_PORT)]);
  server.stdout?.on('data', (d: Buffer) => (serverOut += d.toString()));
  await waitLine(server, (o) => o.includes('ready'), 'the tick server');
  const flows: FlowNode[] = [
    ...observers(['nfq', 'pm']),
    nfqueueNode('nfq', { queue: QUEUE, failOpen: false }, ['pm']),
    { id: 'pm', type: 'payload-match', z: 'tab1', name: 'inline payload', includeDefaults: false, rules: '[]', rulesFile: '', signatures: SIGNATURES, action: 'drop', allowlist: '', cooldownS: '0', maxTracked: '1000', wires: [['nfq'], ['alerts']] },
    { id: 'alerts', type: 'debug', z: 'tab1', active: false, wires: [] },
  ];
  rt = await queuedRuntime(vic, QUEUE, flows, ['alerts', 'errors', 'status']);
});

after(async () => {
  if (lab) {
    await unqueue(vic, QUEUE, rt);
    await lab.cleanup();
  }
});

describe('payload-match inline on real connections (NFQUEUE, drop mode)', () => {
  it('drops every later packet of a condemned connection, the client\'s pure ACKs included, and serves a new connection from another client', async (t) => {
    if (skip) return t.skip(skip);
    const client = atk.spawn('python3', ['-u', TOOL, 'attack', VIC_A, String(TICK_PORT), 'EVIL-COMMAND rm -rf /']);
    await waitLine(client, (o) => o.includes('sent'), 'the attacker to send its line');
    const msgs = await rt!.waitFor('alerts', (m) => alertsOf(m).some((a) => a.rule === 'sig:1:9200101'));
    const a = alertsOf(msgs).find((x) => x.rule === 'sig:1:9200101')!;
    assert.equal(a.action, 'drop');
    assert.equal(a.offender, ATK);
    // The client keeps reading: its kernel ACKs each tick. With those ACKs dropped the server's ticks stay
    // unacknowledged and its send queue grows (with them passing it would stay near 0).
    const deadline = Date.now() + 60_000;
    let queued = await sendQueue(ATK);
    while (queued < 8000) {
      if (Date.now() > deadline) {
        const ss = await vic.exec('ss', ['-tni', `( sport = :${TICK_PORT} )`]);
        assert.fail(`the server's unacknowledged bytes to the attacker stayed at ${queued}: its ACKs pass\n${ss.stdout}\nserver: ${serverOut}`);
      }
      await new Promise((r) => setTimeout(r, 250));
      queued = await sendQueue(ATK);
    }
    // A new connection from another client: hello, ticks, ping → pong.
    const { stdout } = await cli.exec('python3', ['-u', TOOL, 'benign', VIC_B, String(TICK_PORT)], { timeoutMs: 30_000 });
    assert.match(stdout, /pong/);
    const fromAttacker = serverOut.split('\n').filter((l) => l.startsWith(`recv ${ATK} `));
    assert.deepEqual(fromAttacker, [`recv ${ATK} hello`], 'the attack line and everything after it never reached the server');
    assert.match(serverOut, new RegExp(`recv ${CLI.replace(/\./g, '\\.')} ping`));
    assert.equal(alertsOf(rt!.inbox('alerts')).filter((x) => x.rule === 'sig:1:9200101').length, 1);
    client.kill('SIGTERM');
  });

  it('raises a rule on the URI and the body of a POST cut into 36-byte segments once, the attacker as offender', async (t) => {
    if (skip) return t.skip(skip);
    const body = `user=ann&note=${'a'.repeat(120)}&passwd=hunter2`;
    const { stdout } = await atk.exec('curl', ['-s', '--max-time', '20', '-d', body, `http://${VIC_A}:${HTTP_PORT}/login`], { timeoutMs: 30_000 });
    assert.match(stdout, /<html>/, 'the request was answered (an alert rule)');
    const msgs = await rt!.waitFor('alerts', (m) => alertsOf(m).some((a) => a.rule === 'sig:1:9200102'));
    const a = alertsOf(msgs).find((x) => x.rule === 'sig:1:9200102')!;
    assert.equal(a.offender, ATK);
    assert.equal(a.src, ATK);
    assert.equal(a.dport, HTTP_PORT);
    // Requests with only one of the two (and later requests) raise nothing; nothing was raised twice.
    await atk.exec('curl', ['-s', '--max-time', '20', '-d', 'user=ann&pass=x', `http://${VIC_A}:${HTTP_PORT}/login`], { timeoutMs: 30_000 });
    await atk.exec('curl', ['-s', '--max-time', '20', '-d', 'user=ann&passwd=x', `http://${VIC_A}:${HTTP_PORT}/home`], { timeoutMs: 30_000 });
    const after = await cli.exec('curl', ['-s', '--max-time', '20', '-d', body, `http://${VIC_B}:${HTTP_PORT}/login`], { timeoutMs: 30_000 });
    assert.match(after.stdout, /<html>/);
    await rt!.waitFor('alerts', (m) => alertsOf(m).filter((x) => x.rule === 'sig:1:9200102').length >= 2);
    const raised = alertsOf(rt!.inbox('alerts')).filter((x) => x.rule === 'sig:1:9200102');
    assert.deepEqual(raised.map((x) => x.src), [ATK, CLI], 'once per request with both, from each sender');
    assert.deepEqual(alertsOf(rt!.inbox('alerts')).filter((x) => x.rule === 'sig:1:9200103' && x.src === ATK), [], 'the URI and the body never came in one packet from the attacker');
    assert.deepEqual(rt!.inbox('errors'), []);
  });
});
