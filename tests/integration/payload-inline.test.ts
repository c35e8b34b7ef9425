/**
 * payload-match inline, all real: the victim's INPUT goes to NFQUEUE (enable
 * script), read by nfqueue-in in a Node-RED process inside the victim
 * namespace, through payload-match in drop mode and back. An attacker's curl
 * with a SQL injection (a rule whose action is drop) gets no answer, while
 * an XSS probe (an alert-only rule) is answered but reported, and ordinary
 * requests, also from the attacker, still get their pages.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, netnsUnavailable, toolMissing, type Netns } from '../support/netns';
import type { ChildRuntime, WatchedMessage } from '../support/red-process';
import { nfqueueNode, observers, queuedRuntime, unqueue } from '../support/inline';
import { startHttpTarget } from '../support/http-target';
import type { FlowNode } from '../support/red-runtime';
import type { Alert } from '../../lib/detect/alert';

const QUEUE = 33;
const VIC = '10.235.0.1';
const ATK = '10.235.0.2';
const PORT = 8080;

let skip: string | null = null;
let lab: Lab | null = null;
let vic: Netns;
let atk: Netns;
let rt: ChildRuntime | null = null;

/** The page body, or null when no answer came within the time limit. */
async function fetchPage(from: Netns, url: string): Promise<string | null> {
  try {
    const { stdout } = await from.exec('curl', ['-s', '-g', '--max-time', '4', url], { timeoutMs: 20_000 });
    return stdout;
  } catch {
    return null;
  }
}

function alertsOf(msgs: WatchedMessage[]): Alert[] {
  return msgs.map((m) => m.msg.payload as Alert);
}

before(async () => {
  skip = (await netnsUnavailable()) ?? (await toolMissing('iptables', 'curl'));
  if (skip) return;
  lab = new Lab();
  vic = await lab.host('vic');
  atk = await lab.host('atk');
  await lab.link(vic, `${VIC}/24`, atk, `${ATK}/24`);
  await startHttpTarget(vic, '0.0.0.0', PORT);
  const flows: FlowNode[] = [
    ...observers(['nfq', 'pm']),
    nfqueueNode('nfq', { queue: QUEUE, failOpen: false }, ['pm']),
    { id: 'pm', type: 'payload-match', z: 'tab1', name: 'inline payload', includeDefaults: true, rules: '[]', rulesFile: '', action: 'drop', allowlist: '', cooldownS: '0', maxTracked: '1000', wires: [['nfq'], ['alerts']] },
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

describe('payload-match inline (NFQUEUE, drop mode)', () => {
  it('passes ordinary requests', async (t) => {
    if (skip) return t.skip(skip);
    const page = await fetchPage(atk, `http://${VIC}:${PORT}/item?id=2`);
    assert.match(page ?? '(no answer)', /blue hat/);
    assert.deepEqual(alertsOf(rt!.inbox('alerts')), []);
  });

  it('drops a SQL injection request (rule action drop): no answer, a drop alert from the attacker', async (t) => {
    if (skip) return t.skip(skip);
    const page = await fetchPage(atk, `http://${VIC}:${PORT}/item?id=1%20UNION%20ALL%20SELECT%20username,password%20FROM%20users--`);
    assert.equal(page, null, 'the request never reached the server');
    const msgs = await rt!.waitFor('alerts', (m) => alertsOf(m).some((a) => a.rule === 'payload.sqli.union'));
    const a = alertsOf(msgs).find((x) => x.rule === 'payload.sqli.union')!;
    assert.equal(a.action, 'drop');
    assert.equal(a.src, ATK);
    assert.equal(a.dport, PORT);
  });

  it('answers an XSS probe (rule action alert) but reports it', async (t) => {
    if (skip) return t.skip(skip);
    const page = await fetchPage(atk, `http://${VIC}:${PORT}/search?q=%3Cscript%3Ealert(1)%3C/script%3E`);
    assert.ok(page !== null && page.includes('<html>'), `got an answer: ${page}`);
    const msgs = await rt!.waitFor('alerts', (m) => alertsOf(m).some((a) => a.rule === 'payload.xss.script'));
    const a = alertsOf(msgs).find((x) => x.rule === 'payload.xss.script')!;
    assert.equal(a.action, 'alert');
    assert.equal(a.src, ATK);
  });

  it('keeps serving the attacker\'s ordinary requests afterwards (drops are per packet)', async (t) => {
    if (skip) return t.skip(skip);
    assert.match((await fetchPage(atk, `http://${VIC}:${PORT}/item?id=3`)) ?? '(no answer)', /green scarf/);
    assert.deepEqual(rt!.inbox('errors'), []);
  });
});
