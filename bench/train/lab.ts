/**
 * Captures of real tools in network namespaces, one capture per class and
 * run, for training and scoring the shipped flow model (train.ts). A client
 * namespace talks to a server namespace over a veth pair; tcpdump records the
 * server's side (256 bytes of each packet: flow-meter counts payload
 * lengths on the wire, from the packet's length). Two runs differ in addresses, link MTU and every tool's
 * parameters (ports, timings, rates, counts), so the model is scored on
 * traffic it was not trained on. The server's outgoing packets are held a
 * moment (lab-delay.ts: 1 ms, 0.3 ms in the test run) so replies come a round
 * trip late, as a router or an inline IPS sees them:
 *
 * - benign: curl page loads (page, stylesheet, API call on one connection),
 *   downloads, iperf3 (TCP, reverse, UDP), DNS lookups against dnsmasq,
 *   SSH sessions against a real sshd (tests/support/sshd.ts: commands with a
 *   key or a password, scp and sftp transfers of several sizes, a longer
 *   session typing commands into a terminal);
 * - scan: nmap SYN, connect, UDP, NULL/FIN/XMAS scans at several timings;
 * - flood: hping3 floods at closed and open ports: SYN, ACK, FIN, RST,
 *   PUSH, XMAS (FIN+PUSH+URG), UDP and ICMP, some with spoofed sources
 *   (--rand-source) in both runs;
 * - bruteforce: HTTP login attempts, one connection each (as hydra does);
 *   hydra against the sshd and against a telnet login prompt
 *   (lab-telnet.ts) with small wordlists, several task counts and waits;
 * - webattack: sqlmap against a query parameter.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { Lab, type Netns } from '../../tests/support/netns';
import { startSshd, type Sshd } from '../../tests/support/sshd';

export const CLASSES = ['benign', 'scan', 'flood', 'bruteforce', 'webattack'] as const;
export type ClassName = (typeof CLASSES)[number];
export type Run = 'train' | 'test';

interface RunPlan {
  subnet: string;
  /** MTU of the link: the test run's differs, so segment sizes do too. */
  mtu: number;
  /** How long the server's packets are held before they leave (lab-delay.ts): the round trip the capture sees. */
  replyDelayMs: number;
  /** sshd's and the telnet prompt's ports, the lab user's name and password (hydra's target). */
  ssh: number;
  telnet: number;
  user: string;
  password: string;
  /** sshd's MaxAuthTries: password guesses per connection before it disconnects. */
  maxAuthTries: number;
  steps: Record<ClassName, (c: Client) => Promise<void>>;
}

/** What a step can do from the client namespace. */
interface Client {
  server: string;
  sshd: Sshd;
  telnet: number;
  /** A scratch directory both namespaces see (wordlists, files to transfer). */
  dir: string;
  /** A file of `bytes` bytes in `dir` (random, so compression cannot shrink it); returns its path. */
  file(name: string, bytes: number): string;
  /** A wordlist of `n` wrong passwords in `dir`, the right one after `rightAt` of them when given. */
  words(name: string, n: number, rightAt?: number): string;
  exec(cmd: string, args: string[], timeoutS?: number): Promise<void>;
  repeat(n: number, cmd: string, args: (i: number) => string[]): Promise<void>;
}

const WEB = 8080;
/** NFQUEUE number of the reply delay in the server's namespace. */
const DELAY_QUEUE = 31;

const PLANS: Record<Run, RunPlan> = {
  train: {
    subnet: '10.231.1',
    mtu: 1500,
    replyDelayMs: 1,
    ssh: 22,
    telnet: 23,
    user: 'lab',
    password: 'letmein',
    maxAuthTries: 6,
    steps: {
      benign: async (c) => {
        await c.repeat(30, 'curl', (i) => ['-s', '-o', '/dev/null', `http://${c.server}:${WEB}/news/${i}`, `http://${c.server}:${WEB}/static/site.css`, `http://${c.server}:${WEB}/api/items`]);
        await c.repeat(30, 'curl', (i) => ['-s', '-o', '/dev/null', `http://${c.server}:${WEB}/blog/post-${i * 3}`]);
        for (const bytes of [300_000, 2_000_000, 20_000_000]) await c.exec('curl', ['-s', '-o', '/dev/null', `http://${c.server}:${WEB}/download?bytes=${bytes}`]);
        await c.exec('iperf3', ['-c', c.server, '-t', '3', '-b', '80M']);
        await c.exec('iperf3', ['-c', c.server, '-t', '2', '-R', '-b', '40M']);
        await c.exec('iperf3', ['-c', c.server, '-u', '-b', '5M', '-t', '2']);
        await c.repeat(40, 'busybox', (i) => ['nslookup', `host${i}.lab.test`, c.server]);
        const commands = ['uptime; uname -a', 'ls -la /etc | head -40', 'cat /etc/os-release; df -h', 'ps aux | head -30'];
        for (let i = 0; i < 12; i++) await ssh(c, [commands[i % commands.length]]);
        for (let i = 0; i < 4; i++) await ssh(c, ['id; ls -la'], { password: true });
        for (const [i, bytes] of [100_000, 3_000_000, 15_000_000].entries()) await scp(c, [c.file(`up${i}`, bytes), `${remote(c)}:up${i}`]);
        await scp(c, [`${remote(c)}:up1`, path.join(c.dir, 'down1')]);
        await sftp(c, ['put FILE', 'ls -l', 'get up0 DIR/down0', 'rm up0'], c.file('sftp', 600_000));
        await session(c, 25, 0.4, (i) => `ls -la /usr/bin | head -${5 + i}`);
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
        // Floods of other TCP flags (each packet its own flow from the next source
        // port, answered by a RST or nothing), and spoofed sources.
        await c.exec('hping3', ['-q', '-A', '-p', String(WEB), '-i', 'u400', '-c', '1500', c.server], 60);
        await c.exec('hping3', ['-q', '-A', '-p', '25', '-i', 'u250', '-c', '1500', '--rand-source', c.server], 60);
        await c.exec('hping3', ['-q', '-F', '-p', String(WEB), '-i', 'u300', '-c', '1000', c.server], 60);
        await c.exec('hping3', ['-q', '-R', '-p', '110', '-i', 'u300', '-c', '1000', c.server], 60);
        await c.exec('hping3', ['-q', '-P', '-A', '-p', '3306', '-d', '100', '-i', 'u350', '-c', '1000', c.server], 60);
        await c.exec('hping3', ['-q', '-F', '-P', '-U', '-p', '21', '-i', 'u350', '-c', '1000', c.server], 60);
        await c.exec('hping3', ['-q', '-S', '-p', '22', '-i', 'u250', '-c', '2000', '--rand-source', c.server], 60);
        await c.exec('hping3', ['-q', '--udp', '-p', '161', '-d', '64', '-i', 'u250', '-c', '1500', '--rand-source', c.server], 60);
        await c.exec('hping3', ['-q', '-1', '-i', 'u300', '-c', '1000', '--rand-source', c.server], 60);
      },
      bruteforce: async (c) => {
        await c.repeat(200, 'curl', (i) => ['-s', '-o', '/dev/null', '-d', `user=admin&password=guess${i}`, `http://${c.server}:${WEB}/login`]);
        await hydra(c, 'ssh', c.words('ssh40', 40, 35), ['-t', '4']);
        await hydra(c, 'ssh', c.words('ssh10', 10), ['-t', '1']);
        await hydra(c, 'ssh', c.words('ssh96', 96), ['-t', '16']);
        await hydra(c, 'ssh', c.words('ssh48', 48, 40), ['-t', '8', '-W', '1']);
        await hydra(c, 'telnet', c.words('tel30', 30, 25), ['-t', '4']);
        await hydra(c, 'telnet', c.words('tel8', 8), ['-t', '1']);
        await hydra(c, 'telnet', c.words('tel48', 48), ['-t', '8']);
      },
      webattack: async (c) => {
        await c.exec('sqlmap', ['-u', `http://${c.server}:${WEB}/item?id=1`, '--batch', '--flush-session', '--technique=BEU', '--level', '2', '--disable-coloring', '--output-dir', '/tmp/ips-sqlmap-train'], 300);
      },
    },
  },
  test: {
    subnet: '10.232.7',
    mtu: 1400,
    replyDelayMs: 0.3,
    ssh: 2222,
    telnet: 2323,
    user: 'pi',
    password: 'raspberry9',
    maxAuthTries: 3,
    steps: {
      benign: async (c) => {
        await c.repeat(20, 'curl', (i) => ['-s', '-o', '/dev/null', `http://${c.server}:${WEB}/shop/catalogue/${i * 7}`, `http://${c.server}:${WEB}/static/site.css`]);
        for (const bytes of [5_000_000, 1_000_000]) await c.exec('curl', ['-s', '-o', '/dev/null', `http://${c.server}:${WEB}/download?bytes=${bytes}`]);
        await c.exec('iperf3', ['-c', c.server, '-t', '2', '-P', '2', '-b', '30M']);
        await c.exec('iperf3', ['-c', c.server, '-u', '-b', '2M', '-t', '2']);
        await c.repeat(25, 'busybox', (i) => ['nslookup', `printer${i}.lab.test`, c.server]);
        const commands = ['free; cat /proc/loadavg', 'ls -R /etc/ssh /etc/default | head -60', 'date; who; last | head'];
        for (let i = 0; i < 8; i++) await ssh(c, [commands[i % commands.length]], { extra: ['-c', 'aes128-ctr'] });
        for (let i = 0; i < 3; i++) await ssh(c, ['hostname; uptime'], { password: true });
        for (const [i, bytes] of [500_000, 8_000_000].entries()) await scp(c, ['-O', c.file(`up${i}`, bytes), `${remote(c)}:copy${i}.bin`]);
        await scp(c, [`${remote(c)}:copy0.bin`, path.join(c.dir, 'back0')]);
        await sftp(c, ['put FILE notes.txt', 'get notes.txt DIR/notes.back', 'ls'], c.file('notes', 40_000));
        await session(c, 40, 0.25, (i) => (i % 3 ? `echo step ${i}; ls /tmp` : `cat /proc/meminfo | head -${3 + i}`));
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
        await c.exec('hping3', ['-q', '-F', '-p', '443', '-i', 'u180', '-c', '1500', '--rand-source', c.server], 60);
        await c.exec('hping3', ['-q', '-R', '-A', '-p', String(WEB), '-i', 'u150', '-c', '1500', c.server], 60);
        await c.exec('hping3', ['-q', '-P', '-p', '8883', '-d', '40', '-i', 'u220', '-c', '1200', c.server], 60);
        await c.exec('hping3', ['-q', '-F', '-P', '-U', '-p', '3389', '-i', 'u120', '-c', '1500', c.server], 60);
      },
      bruteforce: async (c) => {
        await c.repeat(120, 'curl', (i) => ['-s', '-o', '/dev/null', '-d', `user=root&password=${'pw'.repeat(1 + (i % 5))}${i}`, `http://${c.server}:${WEB}/login`]);
        await hydra(c, 'ssh', c.words('ssh30', 30, 28), ['-t', '6']);
        await hydra(c, 'ssh', c.words('ssh8', 8), ['-t', '2', '-W', '1']);
        await hydra(c, 'ssh', c.words('ssh60', 60), ['-t', '12']);
        await hydra(c, 'telnet', c.words('tel20', 20, 18), ['-t', '3']);
        await hydra(c, 'telnet', c.words('tel6', 6), ['-t', '1', '-W', '2']);
        await hydra(c, 'telnet', c.words('tel30', 30), ['-t', '6']);
      },
      webattack: async (c) => {
        await c.exec('sqlmap', ['-u', `http://${c.server}:${WEB}/item?id=2`, '--batch', '--flush-session', '--technique=BU', '--level', '3', '--random-agent', '--disable-coloring', '--output-dir', '/tmp/ips-sqlmap-test'], 300);
      },
    },
  },
};

const remote = (c: Client): string => `${c.sshd.user}@${c.server}`;

/** `ssh` running a command on the lab sshd, with its key or (sshpass) its password. */
function ssh(c: Client, command: string[], opts: { password?: boolean; extra?: string[] } = {}): Promise<void> {
  const args = [...c.sshd.clientOptions(opts), ...(opts.extra ?? []), '-p', String(c.sshd.port), remote(c), ...command];
  return opts.password ? c.exec('sshpass', ['-p', c.sshd.password, 'ssh', ...args]) : c.exec('ssh', args);
}

function scp(c: Client, args: string[]): Promise<void> {
  return c.exec('scp', ['-q', ...c.sshd.clientOptions(), '-P', String(c.sshd.port), ...args], 120);
}

/** An sftp batch; FILE in a command stands for `file`, DIR for the scratch directory. */
function sftp(c: Client, commands: string[], file: string): Promise<void> {
  const batch = path.join(c.dir, 'sftp.batch');
  fs.writeFileSync(batch, `${commands.map((l) => l.replace('FILE', file).replace('DIR', c.dir)).join('\n')}\n`);
  return c.exec('sftp', ['-q', ...c.sshd.clientOptions(), '-P', String(c.sshd.port), '-b', batch, remote(c)], 120);
}

/** A terminal session (ssh -tt) typing `lines` commands, `pauseS` seconds apart, then exit. */
function session(c: Client, lines: number, pauseS: number, line: (i: number) => string): Promise<void> {
  const typed = path.join(c.dir, 'typed.txt');
  fs.writeFileSync(typed, `${Array.from({ length: lines }, (_, i) => line(i)).join('\n')}\nexit\n`);
  const script = `while IFS= read -r l; do printf '%s\\n' "$l"; sleep ${pauseS}; done < '${typed}' | ssh -tt "$@"`;
  return c.exec('sh', ['-c', script, 'sh', ...c.sshd.clientOptions(), '-p', String(c.sshd.port), remote(c)], 60 + lines * pauseS * 2);
}

/** hydra guessing the lab user's password over `service` (ssh or telnet), from the scratch dir (its restore file lands there). */
function hydra(c: Client, service: 'ssh' | 'telnet', wordlist: string, extra: string[]): Promise<void> {
  const port = service === 'ssh' ? c.sshd.port : c.telnet;
  const args = ['-l', c.sshd.user, '-P', wordlist, '-I', '-f', ...extra, '-s', String(port), c.server, service];
  return c.exec('sh', ['-c', `cd '${c.dir}' && exec hydra "$@"`, 'sh', ...args], 300);
}

/** The login services of a run by name and port (for scoring their flows apart). */
export function loginServices(run: Run): Record<string, number> {
  return { ssh: PLANS[run].ssh, telnet: PLANS[run].telnet };
}

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

function client(ns: Netns, server: string, sshd: Sshd, telnet: number, dir: string): Client {
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
    sshd,
    telnet,
    dir,
    exec,
    async repeat(n, cmd, args) {
      for (let i = 0; i < n; i++) await exec(cmd, args(i));
    },
    file(name, bytes) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, randomBytes(bytes));
      fs.chmodSync(file, 0o644);
      return file;
    },
    words(name, n, rightAt) {
      const words = Array.from({ length: n }, (_, i) => `${['admin', 'qwerty', 'dragon', 'sunshine', 'letmein1', 'pass'][i % 6]}${i}`);
      if (rightAt !== undefined) words.splice(rightAt, 0, sshd.password);
      const file = path.join(dir, name);
      fs.writeFileSync(file, `${words.join('\n')}\n`);
      return file;
    },
  };
}

/** Capture every class of `run` into `dir`/<run>-<class>.pcap; returns the files by class. */
export async function captureRun(run: Run, dir: string, log: (line: string) => void = () => undefined): Promise<Record<ClassName, string>> {
  const plan = PLANS[run];
  const lab = new Lab();
  const files = {} as Record<ClassName, string>;
  fs.mkdirSync(dir, { recursive: true });
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-lab-'));
  let sshd: Sshd | undefined;
  try {
    fs.chmodSync(scratch, 0o755);
    const cli = await lab.host('cli');
    const srv = await lab.host('srv');
    const server = `${plan.subnet}.2`;
    const { aIf, bIf } = await lab.link(cli, `${plan.subnet}.1/24`, srv, `${server}/24`);
    await cli.exec('ip', ['link', 'set', aIf, 'mtu', String(plan.mtu)]);
    await srv.exec('ip', ['link', 'set', bIf, 'mtu', String(plan.mtu)]);
    // Replies leave the server a round trip late, as a router or an inline IPS sees them.
    const delay = srv.spawn(process.execPath, [path.join(__dirname, 'lab-delay.js'), String(DELAY_QUEUE), String(plan.replyDelayMs)]);
    await waitFor(delay, 'stdout', 'listening', 'the reply delay');
    await srv.exec('iptables', ['-A', 'OUTPUT', '-o', bIf, '-j', 'NFQUEUE', '--queue-num', String(DELAY_QUEUE), '--queue-bypass']);
    const web = srv.spawn(process.execPath, [path.join(__dirname, 'lab-server.js'), server, String(WEB)]);
    await waitFor(web, 'stdout', 'listening', 'the lab web server');
    srv.spawn('iperf3', ['-s', '-B', server]);
    srv.spawn('dnsmasq', ['-k', '--no-resolv', '--no-hosts', `--listen-address=${server}`, '--bind-interfaces', '--address=/lab.test/10.9.9.9', '--pid-file=']);
    const telnet = srv.spawn(process.execPath, [path.join(__dirname, 'lab-telnet.js'), server, String(plan.telnet), plan.user, plan.password]);
    await waitFor(telnet, 'stdout', 'listening', 'the lab telnet prompt');
    sshd = await startSshd(srv, server, plan.ssh, { user: plan.user, password: plan.password, maxAuthTries: plan.maxAuthTries });
    await new Promise((r) => setTimeout(r, 500));
    const c = client(cli, server, sshd, plan.telnet, scratch);
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
    await sshd?.stop();
    await lab.cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return files;
}
