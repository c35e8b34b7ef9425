/**
 * scan-detect on real scans: nmap -sS/-sT/-sN/-sF/-sX/-sU/-sO/-sA/-sW/-sM at
 * default timing, -sS/-sT at -T4 and -T5 (a scan, not a flood), and
 * -sS/-sU/-sA/-sM at -T2, a sweep of one port over 30 hosts, and repeated SSH
 * connection attempts from hping3,
 * captured with tcpdump at the victim inside network namespaces and read
 * through pcap-in → flood-detect → scan-detect in a real Node-RED runtime,
 * and through `ips analyze` on the same capture (the same alerts).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../../lib/detect/alert';
import { ATK, VIC, DetectorRuntime, capture, cliAlerts, labUnavailable, makeLab, runFor, summarize, type DetectLab } from '../support/detect-lab';

/** A TCP service on the victim's ports 22 and 8080 that accepts and closes (so some scanned ports are open). */
const TCP_SERVICE = `const net = require('net'); let n = 0; for (const port of [22, 8080]) net.createServer((s) => s.end()).listen(port, '0.0.0.0', () => { if (++n === 2) console.log('ready'); });`;

let skip: string | null = null;
let l: DetectLab | null = null;
const rt = new DetectorRuntime();

before(async () => {
  skip = await labUnavailable('nmap', 'hping3', 'timeout');
  if (skip) return;
  l = await makeLab();
  const svc = l.vic.spawn(process.execPath, ['-e', TCP_SERVICE]);
  await new Promise<void>((resolve) => svc.stdout?.once('data', () => resolve()));
  await rt.start();
});

after(async () => {
  await rt.stop();
  await l?.close();
});

/** The alerts of the flow on `file`, checked against those of `ips analyze` on it. */
async function analyzeBoth(file: string): Promise<Alert[]> {
  const alerts = await rt.analyze(file);
  assert.deepEqual(summarize(await cliAlerts(file)), summarize(alerts), 'ips analyze on the same capture raises the same alerts');
  return alerts;
}

async function nmapAlerts(name: string, args: string[], seconds: number): Promise<Alert[]> {
  const file = await capture(l!, name, () => runFor(l!.atk, seconds, 'nmap', ['-n', '-Pn', ...args, VIC]));
  return analyzeBoth(file);
}

function assertRules(alerts: Alert[], expected: string[]): void {
  const s = summarize(alerts);
  for (const rule of expected) assert.ok(s.includes(`${rule} ${ATK}`), `expected ${rule} from ${ATK}; got:\n${s.join('\n')}`);
  assert.ok(alerts.every((a) => a.src === ATK), `every alert names the scanner; got:\n${s.join('\n')}`);
}

describe('scan-detect on nmap at default timing', () => {
  const cases: Array<[string, string[], string[]]> = [
    ['-sS (SYN)', ['-sS'], ['scan.vertical', 'scan.failures']],
    ['-sT (connect)', ['-sT'], ['scan.vertical', 'scan.failures']],
    ['-sN (NULL)', ['-sN'], ['scan.vertical', 'scan.null']],
    ['-sF (FIN)', ['-sF'], ['scan.vertical', 'scan.fin']],
    ['-sX (XMAS)', ['-sX'], ['scan.vertical', 'scan.xmas']],
    ['-sU (UDP)', ['-sU', '--top-ports', '200'], ['scan.vertical', 'scan.failures']],
    ['-sO (IP protocol)', ['-sO'], ['scan.protocol']],
    ['-sA (ACK)', ['-sA'], ['scan.vertical', 'scan.failures']],
    ['-sW (Window)', ['-sW'], ['scan.vertical', 'scan.failures']],
    ['-sM (Maimon)', ['-sM'], ['scan.vertical', 'scan.failures']],
  ];
  for (const [label, args, rules] of cases) {
    it(`nmap ${label} raises ${rules.join(', ')} for the scanner`, async (t) => {
      if (skip) return t.skip(skip);
      assertRules(await nmapAlerts(label.split(' ')[0], args, 60), rules);
    });
  }
});

describe('scan-detect on slow scans (-T2, one probe every 0.4 s)', () => {
  it('nmap -sS -T2 -p 1-40 trips scan.vertical within 14 s', async (t) => {
    if (skip) return t.skip(skip);
    const alerts = await nmapAlerts('t2syn', ['-sS', '-T2', '-p', '1-40'], 14);
    assertRules(alerts, ['scan.vertical']);
  });

  it('nmap -sU -T2 -p 1-40 trips scan.vertical within 14 s', async (t) => {
    if (skip) return t.skip(skip);
    const alerts = await nmapAlerts('t2udp', ['-sU', '-T2', '-p', '1-40'], 14);
    assertRules(alerts, ['scan.vertical']);
  });
});

describe('scan-detect on fast scans of the top 1000 ports: a scan, not a SYN flood or brute force', () => {
  for (const args of [['-sS', '-T4'], ['-sS', '-T5'], ['-sT', '-T4'], ['-sT', '-T5']]) {
    it(`nmap ${args.join(' ')} raises scan.vertical for the scanner and no flood.* or scan.bruteforce`, async (t) => {
      if (skip) return t.skip(skip);
      const alerts = await nmapAlerts(args.join('').replace(/-/g, ''), args, 60);
      assertRules(alerts, ['scan.vertical']);
      const wrong = alerts.filter((a) => a.rule.startsWith('flood.') || a.rule === 'scan.bruteforce');
      assert.deepEqual(summarize(wrong), [], 'one connection to each of many ports is neither a flood nor brute force');
    });
  }
});

describe('scan-detect on slow ACK and Maimon scans (-T2)', () => {
  for (const scan of ['-sA', '-sM']) {
    it(`nmap ${scan} -T2 -p 1-40 trips scan.vertical within 14 s`, async (t) => {
      if (skip) return t.skip(skip);
      assertRules(await nmapAlerts(`t2${scan.slice(1)}`, [scan, '-T2', '-p', '1-40'], 14), ['scan.vertical']);
    });
  }
});

describe('scan-detect on repeated attempts', () => {
  it('15 connection attempts to SSH in 3 s (hping3 -S -p 22) raise scan.bruteforce', async (t) => {
    if (skip) return t.skip(skip);
    const file = await capture(l!, 'ssh', () => runFor(l!.atk, 20, 'hping3', ['-S', '-p', '22', '-c', '15', '-i', 'u200000', VIC]));
    const alerts = await rt.analyze(file);
    const brute = alerts.find((a) => a.rule === 'scan.bruteforce');
    assert.ok(brute, summarize(alerts).join('\n'));
    assert.equal(brute.src, ATK);
    assert.equal(brute.dport, 22);
    assert.ok(!alerts.some((a) => a.rule.startsWith('flood.')), '15 SYNs are not a flood');
  });
});

describe('scan-detect on a host sweep', () => {
  it('nmap -sS -p 23 over 30 closed hosts raises scan.horizontal for the scanner, not scan.vertical', async (t) => {
    if (skip) return t.skip(skip);
    // 30 more addresses on the victim's link: each answers ARP and resets port 23 as a host of its own would.
    const first = 10;
    const last = 39;
    for (let i = first; i <= last; i++) await l!.vic.exec('ip', ['addr', 'add', `10.77.0.${i}/32`, 'dev', l!.vicIf]);
    try {
      const file = await capture(l!, 'sweep', () => runFor(l!.atk, 60, 'nmap', ['-n', '-Pn', '-sS', '-p', '23', `10.77.0.${first}-${last}`]));
      const alerts = await rt.analyze(file);
      const sweep = alerts.find((a) => a.rule === 'scan.horizontal');
      assert.ok(sweep, summarize(alerts).join('\n'));
      assert.equal(sweep.src, ATK);
      assert.equal(sweep.dport, 23);
      assert.ok(!alerts.some((a) => a.rule === 'scan.vertical'), `one port per host is not a vertical scan:\n${summarize(alerts).join('\n')}`);
    } finally {
      for (let i = first; i <= last; i++) await l!.vic.exec('ip', ['addr', 'del', `10.77.0.${i}/32`, 'dev', l!.vicIf]).catch(() => undefined);
    }
  });
});
