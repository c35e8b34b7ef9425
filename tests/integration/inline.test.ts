/**
 * Inline prevention end to end, all real: a victim namespace whose INPUT
 * goes to NFQUEUE (enable script), read by nfqueue-in in a real Node-RED
 * process inside it with flood-detect → scan-detect → payload-match in drop
 * mode wired back. An attacker floods SYNs (hping3 --flood), a second one
 * scans (nmap); nftables counters before and after the queue show what got
 * through, while a client in another namespace still pings and fetches a page.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, netnsUnavailable, toolMissing, type Netns } from '../support/netns';
import type { ChildRuntime, WatchedMessage } from '../support/red-process';
import { addSourceCounters, DETECTOR_IDS, detectorChain, nfqueueNode, observers, pings, queuedRuntime, sourceCounts, unqueue } from '../support/inline';

const QUEUE = 21;
const VIC_A = '10.234.0.1';
const ATK = '10.234.0.2';
const VIC_S = '10.234.2.1';
const SCN = '10.234.2.2';
const VIC_C = '10.234.1.1';
const CLI = '10.234.1.2';

let skip: string | null = null;
let lab: Lab | null = null;
let vic: Netns;
let atk: Netns;
let scn: Netns;
let cli: Netns;
let rt: ChildRuntime | null = null;

async function curlOk(from: Netns, url: string): Promise<boolean> {
  try {
    const { stdout } = await from.exec('curl', ['-s', '--max-time', '10', '--retry', '2', url], { timeoutMs: 40_000 });
    return stdout === 'hello from the victim';
  } catch {
    return false;
  }
}

/** Counters once the queue has verdicted what it holds (post stops moving). */
async function settledCounts(ns: Netns, src: string): Promise<{ pre: number; post: number }> {
  let last = await sourceCounts(ns, src);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 500)); // longer than the verdict timeout
    const now = await sourceCounts(ns, src);
    if (now.post === now.pre || (now.post === last.post && now.pre === last.pre)) return now;
    last = now;
  }
  return last;
}

before(async () => {
  skip = (await netnsUnavailable()) ?? (await toolMissing('iptables', 'nft', 'hping3', 'nmap', 'curl', 'ping', 'timeout'));
  if (skip) return;
  lab = new Lab();
  vic = await lab.host('vic');
  atk = await lab.host('atk');
  scn = await lab.host('scn');
  cli = await lab.host('cli');
  await lab.link(vic, `${VIC_A}/24`, atk, `${ATK}/24`);
  await lab.link(vic, `${VIC_C}/24`, cli, `${CLI}/24`);
  await lab.link(vic, `${VIC_S}/24`, scn, `${SCN}/24`);
  // a small web server on the victim
  const server = vic.spawn(process.execPath, ['-e', "require('http').createServer((q, s) => s.end('hello from the victim')).listen(80, '0.0.0.0', () => console.log('up'))"]);
  await new Promise<void>((resolve) => server.stdout?.once('data', () => resolve()));
  await addSourceCounters(vic, [ATK, SCN, CLI]);
  // fail-open off: under a flood a full queue must not wave the attack through uninspected
  const flows = [...observers(['nfq', ...DETECTOR_IDS]), nfqueueNode('nfq', { queue: QUEUE, failOpen: false, maxLen: 8192 }, [DETECTOR_IDS[0]]), ...detectorChain('nfq')];
  rt = await queuedRuntime(vic, QUEUE, flows, ['alerts', 'errors', 'status']);
});

after(async () => {
  if (lab) {
    await unqueue(vic, QUEUE, rt);
    await lab.cleanup();
  }
});

describe('inline prevention', () => {
  test('ordinary traffic passes through the detectors', async (t) => {
    if (skip) return t.skip(skip);
    assert.equal(await pings(cli, VIC_C), true);
    assert.equal(await curlOk(cli, `http://${VIC_C}/`), true);
    const c = await settledCounts(vic, CLI);
    assert.ok(c.pre > 0 && c.post === c.pre, `client packets all accepted (${JSON.stringify(c)})`);
    assert.deepEqual(rt!.inbox('errors'), []);
  });

  test('a SYN flood is detected and its packets dropped, while a client still gets through', async (t) => {
    if (skip) return t.skip(skip);
    const flood = atk.exec('timeout', ['4', 'hping3', '-S', '--flood', '-p', '80', VIC_A], { timeoutMs: 20_000 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1500));
    const clientDuring = await curlOk(cli, `http://${VIC_C}/`);
    await flood;
    const c = await settledCounts(vic, ATK);
    const isSynFlood = (a: WatchedMessage): boolean => /^flood\.syn/.test((a.msg.payload as { rule?: string }).rule ?? '');
    const alerts = await rt!.waitFor('alerts', (m) => m.some(isSynFlood));
    const syn = alerts.find(isSynFlood)!.msg.payload as { src: string; action: string };
    assert.equal(syn.src, ATK);
    assert.equal(syn.action, 'drop');
    t.diagnostic(`SYN flood: ${c.pre} packets arrived, ${c.post} passed the IPS`);
    assert.ok(c.pre > 5000, `the flood arrived (${c.pre} packets)`);
    // before detection (100 half-open SYNs in a second) some pass; after it the rest is dropped
    assert.ok(c.post < Math.max(1000, c.pre * 0.05), `attack packets passed the IPS: ${c.post} of ${c.pre}`);
    assert.equal(clientDuring, true, 'the client fetched the page during the flood');
    assert.equal(await pings(cli, VIC_C), true, 'the client pings after the flood');
  });

  test('an nmap SYN scan is detected and the rest of it dropped', async (t) => {
    if (skip) return t.skip(skip);
    await scn.exec('nmap', ['-sS', '-Pn', '-n', '-p', '1-600', '--max-retries', '0', '-T5', VIC_S], { timeoutMs: 120_000 });
    const c = await settledCounts(vic, SCN);
    const alerts = await rt!.waitFor('alerts', (m) => m.some((a) => /^scan\./.test((a.msg.payload as { rule?: string }).rule ?? '') && (a.msg.payload as { src?: string }).src === SCN));
    assert.ok(alerts.length > 0);
    t.diagnostic(`nmap scan: ${c.pre} packets arrived, ${c.post} passed the IPS`);
    assert.ok(c.pre >= 600, `the scan arrived (${c.pre} packets)`);
    assert.ok(c.post < c.pre * 0.2, `scan packets passed the IPS: ${c.post} of ${c.pre}`);
    assert.equal(await curlOk(cli, `http://${VIC_C}/`), true, 'the client still fetches the page');
  });
});
