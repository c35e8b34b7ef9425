/**
 * Shared by the detector traffic tests (detect-flood, detect-scan): an
 * attacker and a victim namespace joined by a veth pair, tcpdump capturing
 * at the victim while real tools run, and a real Node-RED runtime feeding
 * the captures through pcap-in → flood-detect → scan-detect.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Alert } from '../../lib/detect/alert';
import { Lab, netnsUnavailable, toolMissing, type Netns } from './netns';
import { startRuntime, type FlowNode, type Runtime } from './red-runtime';
import { jsonlAlerts, runIps } from './ips-cli';

export const ATK = '10.77.0.66';
export const VIC = '10.77.0.1';
export const ATK6 = 'fd77::66';
export const VIC6 = 'fd77::1';
/** The attacker's MAC, fixed so a test can expect the per-MAC flood rules to name it. */
export const ATK_MAC = '02:77:00:00:00:66';

export interface DetectLab {
  lab: Lab;
  atk: Netns;
  vic: Netns;
  vicIf: string;
  /** The attacker's interface (hping3 --rand-dest needs it named). */
  atkIf: string;
  /** Temporary directory for captures, removed by `close`. */
  dir: string;
  close(): Promise<void>;
}

/** Why the traffic tests cannot run here, or null. */
export async function labUnavailable(...tools: string[]): Promise<string | null> {
  return (await netnsUnavailable()) ?? (await toolMissing('tcpdump', ...tools));
}

export async function makeLab(): Promise<DetectLab> {
  const lab = new Lab();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-detect-'));
  try {
    const atk = await lab.host('atk');
    const vic = await lab.host('vic');
    const { aIf, bIf } = await lab.link(atk, `${ATK}/24`, vic, `${VIC}/24`, { aMac: ATK_MAC });
    await atk.exec('ip', ['-6', 'addr', 'add', `${ATK6}/64`, 'dev', aIf, 'nodad']);
    await vic.exec('ip', ['-6', 'addr', 'add', `${VIC6}/64`, 'dev', bIf, 'nodad']);
    // Closed UDP ports answer at once instead of one ICMP error a second (keeps nmap -sU short).
    await vic.exec('sysctl', ['-q', '-w', 'net.ipv4.icmp_ratelimit=0']);
    return {
      lab, atk, vic, vicIf: bIf, atkIf: aIf, dir,
      async close() {
        await lab.cleanup();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await lab.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Capture at the victim (headers only) into `<dir>/<name>.pcap` while `traffic` runs.
 * Returns the file path.
 */
export async function capture(l: DetectLab, name: string, traffic: () => Promise<unknown>): Promise<string> {
  const file = path.join(l.dir, `${name}.pcap`);
  await captureIn(l.vic, l.vicIf, file, traffic, ['-s', '128']);
  return file;
}

/** Capture on `iface` in `ns` into `file` (tcpdump, `extra` arguments added) while `traffic` runs. */
export async function captureIn(ns: Netns, iface: string, file: string, traffic: () => Promise<unknown>, extra: string[] = []): Promise<void> {
  // --immediate-mode: packets still in libpcap's ring block when tcpdump is stopped would be lost (a sub-second scan captured nothing).
  const dump = ns.spawn('tcpdump', ['-n', '--immediate-mode', '-i', iface, ...extra, '-U', '-w', file]);
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000);
    dump.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (/listening on/.test(err)) {
        clearTimeout(t);
        resolve();
      }
    });
    dump.on('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${err}`)));
  });
  try {
    await traffic();
    await new Promise((r) => setTimeout(r, 300)); // last answers
  } finally {
    const exited = new Promise<void>((resolve) => dump.once('exit', () => resolve()));
    dump.kill('SIGINT');
    await exited;
  }
}

/** Run a command in a namespace bounded by `timeout` (the tool is stopped after `seconds`; that is not a failure). */
export async function runFor(ns: Netns, seconds: number, cmd: string, args: string[]): Promise<void> {
  try {
    await ns.exec('timeout', ['-s', 'INT', String(seconds), cmd, ...args], { timeoutMs: (seconds + 30) * 1000 });
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code !== 124 && code !== 130) throw err;
  }
}

/** A real Node-RED runtime with pcap-in → flood-detect → scan-detect; alerts of both land in node 'alerts'. */
export class DetectorRuntime {
  private rt: Runtime | null = null;
  /** Packets pcap-in read from the last file analyzed. */
  lastPackets = 0;

  // Node ids differ from every property value: Node-RED takes a string equal to a node id for a config-node reference.
  async start(flood: Record<string, string> = {}, scan: Record<string, string> = {}): Promise<void> {
    const flows: FlowNode[] = [
      { id: 'tab', type: 'tab', label: 'detect' },
      { id: 'pcap', z: 'tab', type: 'pcap-in', name: '', source: 'file', filename: '', mode: 'analyze', batchSize: '256', batchDelay: '50', autostart: false, wires: [['flood-node'], ['done']] },
      { id: 'flood-node', z: 'tab', type: 'flood-detect', name: 'flood', ...flood, wires: [['scan-node'], ['alerts']] },
      { id: 'scan-node', z: 'tab', type: 'scan-detect', name: 'scan', ...scan, wires: [[], ['alerts']] },
      { id: 'alerts', z: 'tab', type: 'debug', active: false, wires: [] },
      { id: 'done', z: 'tab', type: 'debug', active: false, wires: [] },
    ];
    this.rt = await startRuntime(flows);
    this.rt.inbox('alerts');
    this.rt.inbox('done');
  }

  private node(id: string): { receive(msg: object): void } {
    const n = this.rt?.RED.nodes.getNode(id) as { receive(msg: object): void } | null;
    if (!n) throw new Error(`node ${id} is not running`);
    return n;
  }

  /** Change flood-detect's settings (a config message, as a dashboard sends it). */
  async configureFlood(patch: Record<string, unknown>): Promise<void> {
    this.node('flood-node').receive({ topic: 'config', payload: patch });
    await new Promise((r) => setTimeout(r, 50));
  }

  /** Reset both detectors, read `file` through the chain, and return the alerts it raised. */
  async analyze(file: string): Promise<Alert[]> {
    const rt = this.rt!;
    for (let i = 0; i < 250 && !rt.RED.nodes.getNode('pcap'); i++) await new Promise((r) => setTimeout(r, 20));
    this.node('flood-node').receive({ topic: 'reset' });
    this.node('scan-node').receive({ topic: 'reset' });
    await new Promise((r) => setTimeout(r, 50));
    const alerts = rt.inbox('alerts');
    const from = alerts.length;
    const doneCount = rt.inbox('done').length;
    this.node('pcap').receive({ filename: file });
    const done = await rt.waitFor('done', (m) => m.length > doneCount, 120_000);
    const summary = done[done.length - 1].msg.payload as { packets: number; error?: string };
    if (summary.error) throw new Error(`pcap-in: ${summary.error}`);
    this.lastPackets = summary.packets;
    // Alerts of the last batches travel behind the completion message: wait until quiet.
    let seen = -1;
    while (seen !== alerts.length) {
      seen = alerts.length;
      await new Promise((r) => setTimeout(r, 300));
    }
    return alerts.slice(from).map((m) => m.msg.payload as Alert);
  }

  async stop(): Promise<void> {
    await this.rt?.stop();
    this.rt = null;
  }
}

/** The alerts `ips analyze` (the CLI, its analyst chain with the nodes' defaults, or `config` as --config) raises on `file`. */
export async function cliAlerts(file: string, config?: Record<string, Record<string, unknown>>): Promise<Alert[]> {
  const args = ['analyze', '--format', 'jsonl', file];
  if (config) {
    const configFile = `${file}.config.json`;
    fs.writeFileSync(configFile, JSON.stringify(config));
    args.push('--config', configFile);
  }
  const ran = await runIps(args);
  if (ran.code !== 0) throw new Error(`ips analyze exited ${ran.code}: ${ran.stderr}`);
  return jsonlAlerts(ran.stdout);
}

/** 'rule src' pairs, sorted and unique, for readable assertions. */
export function summarize(alerts: Alert[]): string[] {
  return [...new Set(alerts.map((a) => `${a.rule} ${a.src}`))].sort();
}
