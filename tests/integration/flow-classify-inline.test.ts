/**
 * The shipped flow model live and inline, all real: a victim namespace whose
 * INPUT and OUTPUT go to NFQUEUE (flows need both directions), read by nfqueue-in in a Node-RED process with
 * flow-meter → flow-classify (both flow-meter outputs wired to it) and back.
 * A client loads pages, runs iperf3 and works over SSH (a real sshd in the
 * victim namespace: commands and an scp copy): its flows are judged and raise
 * nothing. An nmap scan, an hping3 SYN flood and hydra guessing SSH
 * passwords (a second sshd) from three attackers raise ML alerts naming them.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Lab, netnsUnavailable, toolMissing, type Netns } from '../support/netns';
import type { ChildRuntime, WatchedMessage } from '../support/red-process';
import { nfqueueNode, observers, queuedRuntime, unqueue } from '../support/inline';
import type { FlowNode } from '../support/red-runtime';
import { startSshd, type Sshd } from '../support/sshd';

const QUEUE = 23;
const VIC_C = '10.236.1.1';
const CLI = '10.236.1.2';
const VIC_S = '10.236.2.1';
const SCN = '10.236.2.2';
const VIC_F = '10.236.3.1';
const FLD = '10.236.3.2';
const VIC_B = '10.236.4.1';
const BRT = '10.236.4.2';

let skip: string | null = null;
let lab: Lab | null = null;
let vic: Netns;
let cli: Netns;
let scn: Netns;
let fld: Netns;
let brt: Netns;
let sshdB: Sshd | null = null;
let rt: ChildRuntime | null = null;
let sshd: Sshd | null = null;
let sshSkip: string | null = null;
let hydraSkip: string | null = null;

interface Judged {
  src: string;
  dst: string;
  dport: number;
  mlClass: string;
  malicious: boolean;
}
interface MlAlert {
  rule: string;
  src: string;
  category: string;
  mlClass: string;
  probability: number;
}

const judgedFlows = (): Judged[] => rt!.inbox('judged').flatMap((m: WatchedMessage) => m.msg.payload as Judged[]);
const mlAlerts = (msgs: WatchedMessage[]): MlAlert[] => msgs.map((m) => m.msg.payload as MlAlert).filter((a) => a.category === 'anomaly');

function chain(): FlowNode[] {
  return [
    ...observers(['nfq', 'meter', 'classify']),
    nfqueueNode('nfq', { queue: QUEUE, maxLen: 8192 }, ['meter']),
    // Idle flows (a probe nobody answered) end after 5 s, so the test does not wait two minutes.
    { id: 'meter', type: 'flow-meter', z: 'tab1', name: '', idleTimeoutS: '5', wires: [['classify'], ['classify']] },
    { id: 'classify', type: 'flow-classify', z: 'tab1', name: '', modelFile: '', cooldownS: '60', wires: [['nfq'], ['alerts'], ['judged']] },
    { id: 'alerts', type: 'debug', z: 'tab1', active: false, wires: [] },
    { id: 'judged', type: 'debug', z: 'tab1', active: false, wires: [] },
  ];
}

before(async () => {
  skip = (await netnsUnavailable()) ?? (await toolMissing('iptables', 'nft', 'hping3', 'nmap', 'curl', 'iperf3', 'timeout'));
  if (skip) return;
  lab = new Lab();
  vic = await lab.host('vic');
  cli = await lab.host('cli');
  scn = await lab.host('scn');
  fld = await lab.host('fld');
  brt = await lab.host('brt');
  await lab.link(vic, `${VIC_C}/24`, cli, `${CLI}/24`);
  await lab.link(vic, `${VIC_S}/24`, scn, `${SCN}/24`);
  await lab.link(vic, `${VIC_F}/24`, fld, `${FLD}/24`);
  await lab.link(vic, `${VIC_B}/24`, brt, `${BRT}/24`);
  const server = vic.spawn(process.execPath, ['-e', "require('http').createServer((q, s) => s.end('<html><body>' + '<p>a page of the victim</p>'.repeat(40) + '</body></html>')).listen(80, '0.0.0.0', () => console.log('up'))"]);
  await new Promise<void>((resolve) => server.stdout?.once('data', () => resolve()));
  vic.spawn('iperf3', ['-s']);
  sshSkip = await toolMissing('sshd', 'ssh', 'scp', 'ssh-keygen', 'ssh-keyscan', 'openssl', 'unshare');
  if (!sshSkip) sshd = await startSshd(vic, VIC_C, 22);
  hydraSkip = sshSkip ?? (await toolMissing('hydra'));
  // A second sshd for the brute forcer: the client's sessions and the guesses reach different addresses.
  if (!hydraSkip) sshdB = await startSshd(vic, VIC_B, 22, { user: 'admin', password: 'correct-horse' });
  // Both directions: a flow's features need its replies too (on a router, FORWARD carries both).
  rt = await queuedRuntime(vic, QUEUE, chain(), ['alerts', 'judged', 'errors', 'status'], 'INPUT,OUTPUT');
});

after(async () => {
  await sshd?.stop();
  await sshdB?.stop();
  if (lab) {
    await unqueue(vic, QUEUE, rt);
    await lab.cleanup();
  }
});

describe('flow-classify inline with the shipped model', () => {
  test('page loads and an iperf3 transfer are judged benign: no ML alert', async (t) => {
    if (skip) return t.skip(skip);
    for (let i = 0; i < 10; i++) await cli.exec('curl', ['-s', '-o', '/dev/null', '--max-time', '10', `http://${VIC_C}/page/${i}`, `http://${VIC_C}/style.css`], { timeoutMs: 20_000 });
    await cli.exec('iperf3', ['-c', VIC_C, '-t', '2', '-b', '20M'], { timeoutMs: 30_000 });
    // Every page load and the iperf3 data and control connections judged.
    await rt!.waitFor('judged', () => judgedFlows().filter((j) => j.src === CLI && j.dport === 80).length >= 10 && judgedFlows().filter((j) => j.src === CLI && j.dport === 5201).length >= 2, 30_000);
    const mine = judgedFlows().filter((j) => j.src === CLI);
    t.diagnostic(`client flows judged: ${mine.map((j) => `${j.dport}:${j.mlClass}`).join(' ')}`);
    assert.deepEqual(mlAlerts(rt!.inbox('alerts')).filter((a) => a.src === CLI), [], 'no ML alert about the client');
    assert.deepEqual(rt!.inbox('errors'), []);
  });

  test('SSH sessions (commands, an scp copy) are judged benign: no ML alert', async (t) => {
    if (skip) return t.skip(skip);
    if (sshSkip || !sshd) return t.skip(sshSkip ?? 'no sshd');
    const to = `${sshd.user}@${VIC_C}`;
    for (const command of ['uname -a; uptime', 'ls -la /etc | head -40', 'ps aux | head -20']) {
      await cli.exec('ssh', [...sshd.clientOptions(), '-p', '22', to, command], { timeoutMs: 30_000 });
    }
    const file = path.join(sshd.dir, 'upload.bin');
    fs.writeFileSync(file, randomBytes(2_000_000));
    await cli.exec('scp', ['-q', ...sshd.clientOptions(), '-P', '22', file, `${to}:upload.bin`], { timeoutMs: 60_000 });
    await rt!.waitFor('judged', () => judgedFlows().filter((j) => j.src === CLI && j.dport === 22).length >= 4, 30_000);
    t.diagnostic(`ssh flows judged: ${judgedFlows().filter((j) => j.dport === 22).map((j) => j.mlClass).join(' ')}`);
    assert.deepEqual(mlAlerts(rt!.inbox('alerts')).filter((a) => a.src === CLI), [], 'no ML alert about the SSH client');
  });

  test('an nmap SYN scan raises ML alerts naming the scanner', async (t) => {
    if (skip) return t.skip(skip);
    await scn.exec('nmap', ['-sS', '-Pn', '-n', '-p', '1-300', '-T4', VIC_S], { timeoutMs: 120_000 });
    const msgs = await rt!.waitFor('alerts', (m) => mlAlerts(m).some((a) => a.src === SCN), 30_000);
    const alert = mlAlerts(msgs).find((a) => a.src === SCN)!;
    t.diagnostic(`scan: ${alert.rule} ${alert.mlClass} p=${alert.probability}`);
    assert.ok(alert.probability >= 0.6);
    assert.notEqual(alert.mlClass, 'benign');
  });

  test('an hping3 SYN flood raises ML alerts about the flooder', async (t) => {
    if (skip) return t.skip(skip);
    await fld.exec('hping3', ['-q', '-S', '-p', '80', '-i', 'u500', '-c', '2000', VIC_F], { timeoutMs: 60_000 }).catch(() => undefined);
    const msgs = await rt!.waitFor('alerts', (m) => mlAlerts(m).some((a) => a.src === FLD), 30_000);
    const alert = mlAlerts(msgs).find((a) => a.src === FLD)!;
    t.diagnostic(`flood: ${alert.rule} ${alert.mlClass} p=${alert.probability}`);
    assert.notEqual(alert.mlClass, 'benign');
    assert.deepEqual(mlAlerts(rt!.inbox('alerts')).filter((a) => a.src === CLI), [], 'still nothing about the client');
  });

  test('hydra guessing SSH passwords raises ML alerts naming it as brute force', async (t) => {
    if (skip) return t.skip(skip);
    if (hydraSkip || !sshdB) return t.skip(hydraSkip ?? 'no sshd');
    const words = path.join(sshdB.dir, 'words.txt');
    fs.writeFileSync(words, `${Array.from({ length: 12 }, (_, i) => `guess${i}`).join('\n')}\ncorrect-horse\n`);
    // From the sshd's temp dir: hydra leaves its restore file in the working directory.
    await brt.exec('sh', ['-c', `cd '${sshdB.dir}' && exec hydra -l admin -P '${words}' -I -f -t 4 ${VIC_B} ssh`], { timeoutMs: 120_000 }).catch(() => undefined);
    const msgs = await rt!.waitFor('alerts', (m) => mlAlerts(m).some((a) => a.src === BRT), 30_000);
    const alert = mlAlerts(msgs).find((a) => a.src === BRT)!;
    t.diagnostic(`ssh brute force: ${alert.rule} ${alert.mlClass} p=${alert.probability}; flows judged ${judgedFlows().filter((j) => j.src === BRT).map((j) => j.mlClass).join(' ')}`);
    assert.equal(alert.mlClass, 'bruteforce');
    assert.deepEqual(mlAlerts(rt!.inbox('alerts')).filter((a) => a.src === CLI), [], 'still nothing about the SSH client');
  });
});
