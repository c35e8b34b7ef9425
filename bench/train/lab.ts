/**
 * Captures of real tools in network namespaces, one capture per class and
 * run, for training and scoring the shipped flow model (train.ts). A client
 * namespace talks to a server namespace over a veth pair; tcpdump records the
 * server's side (256 bytes of each packet: flow-meter counts payload
 * lengths on the wire, from the packet's length). Two runs differ in addresses, link MTU and every tool's
 * parameters (ports, timings, rates, counts), so the model is scored on
 * traffic it was not trained on:
 *
 * - benign: curl page loads (page, stylesheet, API call on one connection),
 *   downloads, iperf3 (TCP, reverse, UDP), DNS lookups against dnsmasq;
 *   no SSH sessions (no sshd in the lab image);
 * - scan: nmap SYN, connect, UDP, NULL/FIN/XMAS scans at several timings;
 * - flood: hping3 SYN floods at closed and open ports, UDP, ICMP and ACK
 *   floods (spoofed sources in the test run);
 * - bruteforce: HTTP login attempts, one connection each (as hydra does);
 * - webattack: sqlmap against a query parameter.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab, type Netns } from '../../tests/support/netns';

export const CLASSES = ['benign', 'scan', 'flood', 'bruteforce', 'webattack'] as const;
export type ClassName = (typeof CLASSES)[number];
export type Run = 'train' | 'test';

interface RunPlan {
  subnet: string;
  /** MTU of the link: the test run's differs, so segment sizes do too. */
  mtu: number;
  steps: Record<ClassName, (c: Client) => Promise<void>>;
}

/** What a step can do from the client namespace. */
interface Client {
  server: string;
  exec(cmd: string, args: string[], timeoutS?: number): Promise<void>;
  repeat(n: number, cmd: string, args: (i: number) => string[]): Promise<void>;
}

const WEB = 8080;

const PLANS: Record<Run, RunPlan> = {
  train: {
    subnet: '10.231.1',
    mtu: 1500,
    steps: {
      benign: async (c) => {
        await c.repeat(30, 'curl', (i) => ['-s', '-o', '/dev/null', `http://${c.server}:${WEB}/news/${i}`, `http://${c.server}:${WEB}/static/site.css`, `http://${c.server}:${WEB}/api/items`]);
        await c.repeat(30, 'curl', (i) => ['-s', '-o', '/dev/null', `http://${c.server}:${WEB}/blog/post-${i * 3}`]);
        for (const bytes of [300_000, 2_000_000, 20_000_000]) await c.exec('curl', ['-s', '-o', '/dev/null', `http://${c.server}:${WEB}/download?bytes=${bytes}`]);
        await c.exec('iperf3', ['-c', c.server, '-t', '3', '-b', '80M']);
        await c.exec('iperf3', ['-c', c.server, '-t', '2', '-R', '-b', '40M']);
        await c.exec('iperf3', ['-c', c.server, '-u', '-b', '5M', '-t', '2']);
        await c.repeat(40, 'busybox', (i) => ['nslookup', `host${i}.lab.test`, c.server]);
      },
      scan: async (c) => {
        await c.exec('nmap', ['-n', '-Pn', '-sS', '-T4', '-p', '1-1000', c.server], 120);
        await c.exec('nmap', ['-n', '-Pn', '-sT', '-T3', '-p', '1-300', c.server], 120);
        await c.exec('nmap', ['-n', '-Pn', '-sU', '-T4', '--top-ports', '30', c.server], 120);
        await c.exec('nmap', ['-n', '-Pn', '-sN', '-T4', '-p', '1-200', c.server], 120);
        await c.exec('nmap', ['-n', '-Pn', '-sS', '-T2', '-p', '20-40', c.server], 120);
      },
      flood: async (c) => {
        await c.exec('hping3', ['-q', '-S', '-p', '80', '-i', 'u300', '-c', '2000', c.server], 60);
        await c.exec('hping3', ['-q', '-S', '-p', String(WEB), '-i', 'u300', '-c', '2000', c.server], 60);
        await c.exec('hping3', ['-q', '--udp', '-p', '9999', '-i', 'u300', '-c', '2000', c.server], 60);
        await c.exec('hping3', ['-q', '-1', '-i', 'u300', '-c', '2000', c.server], 60);
      },
      bruteforce: async (c) => {
        await c.repeat(200, 'curl', (i) => ['-s', '-o', '/dev/null', '-d', `user=admin&password=guess${i}`, `http://${c.server}:${WEB}/login`]);
      },
      webattack: async (c) => {
        await c.exec('sqlmap', ['-u', `http://${c.server}:${WEB}/item?id=1`, '--batch', '--flush-session', '--technique=BEU', '--level', '2', '--disable-coloring', '--output-dir', '/tmp/ips-sqlmap-train'], 300);
      },
    },
  },
  test: {
    subnet: '10.232.7',
    mtu: 1400,
    steps: {
      benign: async (c) => {
        await c.repeat(20, 'curl', (i) => ['-s', '-o', '/dev/null', `http://${c.server}:${WEB}/shop/catalogue/${i * 7}`, `http://${c.server}:${WEB}/static/site.css`]);
        for (const bytes of [5_000_000, 1_000_000]) await c.exec('curl', ['-s', '-o', '/dev/null', `http://${c.server}:${WEB}/download?bytes=${bytes}`]);
        await c.exec('iperf3', ['-c', c.server, '-t', '2', '-P', '2', '-b', '30M']);
        await c.exec('iperf3', ['-c', c.server, '-u', '-b', '2M', '-t', '2']);
        await c.repeat(25, 'busybox', (i) => ['nslookup', `printer${i}.lab.test`, c.server]);
      },
      scan: async (c) => {
        await c.exec('nmap', ['-n', '-Pn', '-sS', '-T5', '-p', '1-2000', c.server], 120);
        await c.exec('nmap', ['-n', '-Pn', '-sT', '-T4', '--top-ports', '200', c.server], 120);
        await c.exec('nmap', ['-n', '-Pn', '-sF', '-T3', '-p', '1-150', c.server], 120);
        await c.exec('nmap', ['-n', '-Pn', '-sX', '-T4', '-p', '100-300', c.server], 120);
        await c.exec('nmap', ['-n', '-Pn', '-sU', '-T3', '-p', '50-80', c.server], 120);
      },
      flood: async (c) => {
        await c.exec('hping3', ['-q', '-S', '-p', '443', '-i', 'u150', '-c', '3000', '--rand-source', c.server], 60);
        await c.exec('hping3', ['-q', '-A', '-p', '80', '-i', 'u200', '-c', '2000', c.server], 60);
        await c.exec('hping3', ['-q', '-S', '-p', '5201', '-i', 'u200', '-c', '2000', c.server], 60);
        await c.exec('hping3', ['-q', '--udp', '-p', '53', '-i', 'u200', '-c', '2000', c.server], 60);
        await c.exec('hping3', ['-q', '-1', '-i', 'u100', '-c', '3000', c.server], 60);
      },
      bruteforce: async (c) => {
        await c.repeat(120, 'curl', (i) => ['-s', '-o', '/dev/null', '-d', `user=root&password=${'pw'.repeat(1 + (i % 5))}${i}`, `http://${c.server}:${WEB}/login`]);
      },
      webattack: async (c) => {
        await c.exec('sqlmap', ['-u', `http://${c.server}:${WEB}/item?id=2`, '--batch', '--flush-session', '--technique=BU', '--level', '3', '--random-agent', '--disable-coloring', '--output-dir', '/tmp/ips-sqlmap-test'], 300);
      },
    },
  },
};

function waitFor(child: ChildProcess, stream: 'stdout' | 'stderr', text: string, what: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const t = setTimeout(() => reject(new Error(`${what} did not start: ${seen.slice(-300)}`)), timeoutMs);
    child[stream]?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(text)) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}): ${seen.slice(-300)}`)));
  });
}

function client(ns: Netns, server: string): Client {
  const exec = async (cmd: string, args: string[], timeoutS = 60): Promise<void> => {
    try {
      await ns.exec(cmd, args, { timeoutMs: timeoutS * 1000 });
    } catch (err) {
      // Tools that end non-zero (hping3 after a count, a refused login) still made their traffic.
      if ((err as { killed?: boolean }).killed) throw new Error(`${cmd} ${args.join(' ')} ran over ${timeoutS} s`);
    }
  };
  return {
    server,
    exec,
    async repeat(n, cmd, args) {
      for (let i = 0; i < n; i++) await exec(cmd, args(i));
    },
  };
}

/** Capture every class of `run` into `dir`/<run>-<class>.pcap; returns the files by class. */
export async function captureRun(run: Run, dir: string, log: (line: string) => void = () => undefined): Promise<Record<ClassName, string>> {
  const plan = PLANS[run];
  const lab = new Lab();
  const files = {} as Record<ClassName, string>;
  fs.mkdirSync(dir, { recursive: true });
  try {
    const cli = await lab.host('cli');
    const srv = await lab.host('srv');
    const server = `${plan.subnet}.2`;
    const { aIf, bIf } = await lab.link(cli, `${plan.subnet}.1/24`, srv, `${server}/24`);
    await cli.exec('ip', ['link', 'set', aIf, 'mtu', String(plan.mtu)]);
    await srv.exec('ip', ['link', 'set', bIf, 'mtu', String(plan.mtu)]);
    const web = srv.spawn(process.execPath, [path.join(__dirname, 'lab-server.js'), server, String(WEB)]);
    await waitFor(web, 'stdout', 'listening', 'the lab web server');
    srv.spawn('iperf3', ['-s', '-B', server]);
    srv.spawn('dnsmasq', ['-k', '--no-resolv', '--no-hosts', `--listen-address=${server}`, '--bind-interfaces', '--address=/lab.test/10.9.9.9', '--pid-file=']);
    await new Promise((r) => setTimeout(r, 500));
    const c = client(cli, server);
    for (const cls of CLASSES) {
      const file = path.join(dir, `${run}-${cls}.pcap`);
      const dump = srv.spawn('tcpdump', ['-i', bIf, '-s', '256', '-U', '-n', '-w', file]);
      await waitFor(dump, 'stderr', 'listening on', 'tcpdump');
      log(`${run} ${cls}: capturing`);
      await plan.steps[cls](c);
      await new Promise((r) => setTimeout(r, 300));
      await new Promise<void>((resolve) => {
        dump.once('exit', () => resolve());
        dump.kill('SIGINT');
      });
      files[cls] = file;
      log(`${run} ${cls}: ${fs.statSync(file).size} bytes`);
    }
  } finally {
    await lab.cleanup();
  }
  return files;
}
