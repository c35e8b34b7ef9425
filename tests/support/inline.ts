/**
 * Shared pieces of the NFQUEUE tests and benchmark: flows around nfqueue-in,
 * the enable/disable scripts, and kernel counters read inside a namespace.
 */
import path from 'node:path';
import type { Netns } from './netns';
import type { FlowNode } from './red-runtime';
import { startChildRuntime, type ChildRuntime, type WatchedMessage } from './red-process';
import { packageRoot } from './red-runtime';

export const enableScript = path.join(packageRoot, 'scripts', 'nfqueue-enable.sh');
export const disableScript = path.join(packageRoot, 'scripts', 'nfqueue-disable.sh');

/** Counters from /proc/net/snmp inside the namespace, e.g. snmp.Udp.NoPorts, snmp.Icmp.InEchos. */
export async function snmp(ns: Netns): Promise<Record<string, Record<string, number>>> {
  const { stdout } = await ns.exec('cat', ['/proc/net/snmp']);
  const out: Record<string, Record<string, number>> = {};
  const lines = stdout.trim().split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i].split(/\s+/);
    const values = lines[i + 1].split(/\s+/);
    const group = names[0].replace(/:$/, '');
    out[group] = {};
    for (let j = 1; j < names.length; j++) out[group][names[j]] = Number(values[j]);
  }
  return out;
}

/** UDP datagrams that reached the victim's UDP layer for a port nobody listens on (i.e. accepted by the queue). */
export async function udpNoPorts(ns: Netns): Promise<number> {
  return (await snmp(ns)).Udp.NoPorts;
}

/** `count` UDP datagrams from `from` to `dst`:`port` (hping3, one every 10 ms). */
export async function sendUdp(from: Netns, dst: string, port: number, count: number): Promise<void> {
  await from.exec('hping3', ['--udp', '-p', String(port), '-c', String(count), '-i', 'u10000', '-q', dst], { timeoutMs: 30_000 }).catch((err: { code?: number }) => {
    // hping3 exits 1 when no replies came back, which is normal for UDP
    if (err.code !== 1) throw err;
  });
}

/** Whether `count` pings from `from` to `dst` get at least one reply within about `waitS` seconds. */
export async function pings(from: Netns, dst: string, count = 2, waitS = 1): Promise<boolean> {
  try {
    await from.exec('ping', ['-n', '-q', '-c', String(count), '-i', '0.2', '-W', String(waitS), dst], { timeoutMs: 15_000 });
    return true;
  } catch {
    return false;
  }
}

export interface NfqNodeSettings {
  queue: number;
  defaultVerdict?: 'accept' | 'drop';
  timeout?: number;
  failOpen?: boolean;
  maxLen?: number;
  batchSize?: number;
  batchMs?: number;
}

/** An nfqueue-in node as 0.1.0 saved it (no version; `timeout`, now `timeoutMs`): the node migrates it when it starts. */
export function nfqueueNode(id: string, s: NfqNodeSettings, wires: string[]): FlowNode {
  return {
    id,
    type: 'nfqueue-in',
    z: 'tab1',
    name: '',
    queue: String(s.queue),
    defaultVerdict: s.defaultVerdict ?? 'accept',
    timeout: String(s.timeout ?? 250),
    failOpen: s.failOpen ?? true,
    maxLen: String(s.maxLen ?? 4096),
    copyRange: '65535',
    batchSize: String(s.batchSize ?? 1),
    batchMs: String(s.batchMs ?? 1),
    wires: [wires],
  };
}

/** Tab, plus a status node and a catch node for `watched`, wired to debug nodes 'status' and 'errors'. */
export function observers(watched: string[]): FlowNode[] {
  return [
    { id: 'tab1', type: 'tab', label: 'test' },
    { id: 'statusNode', type: 'status', z: 'tab1', scope: watched, wires: [['status']] },
    { id: 'catchNode', type: 'catch', z: 'tab1', scope: null, uncaught: false, wires: [['errors']] },
    { id: 'status', type: 'debug', z: 'tab1', active: false, wires: [] },
    { id: 'errors', type: 'debug', z: 'tab1', active: false, wires: [] },
  ];
}

/** A function node: `verdict = 'drop'` for UDP to `dropPort`, 'accept' otherwise; works on single packets and batches. */
export function dropUdpPort(id: string, dropPort: number, wires: string[]): FlowNode {
  return {
    id,
    type: 'function',
    z: 'tab1',
    name: `drop udp ${dropPort}`,
    func: `const list = Array.isArray(msg.payload) ? msg.payload : [msg.payload];\nfor (const p of list) p.verdict = (p.proto === 'udp' && p.dport === ${dropPort}) ? 'drop' : 'accept';\nreturn msg;`,
    outputs: 1,
    wires: [wires],
  };
}

/** Wait until the kernel lists NFQUEUE `queue` as bound in the runtime's namespace. */
export async function waitQueueBound(rt: ChildRuntime, queue: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const text = rt.procNet('netfilter/nfnetlink_queue') ?? '';
    if (text.split('\n').some((l) => l.trim().split(/\s+/)[0] === String(queue))) return;
    if (Date.now() > deadline) throw new Error(`queue ${queue} never bound:\n${rt.diagnostics()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * An inline test's setup: `ns`'s chains (IPv4) queued to `queue` by the
 * shipped script, then a Node-RED runtime in `ns` running `flows`, returned
 * once the kernel lists the queue as bound. `unqueue` undoes it.
 */
export async function queuedRuntime(ns: Netns, queue: number, flows: FlowNode[], watch: string[], chains = 'INPUT'): Promise<ChildRuntime> {
  await ns.exec(enableScript, ['--queue', String(queue), '--chains', chains, '--family', '4']);
  const rt = await startChildRuntime(flows, watch, { ns });
  await waitQueueBound(rt, queue);
  return rt;
}

/** Stop the runtime (if it started) and remove the queue rules; safe after a failed setup. */
export async function unqueue(ns: Netns, queue: number, rt: ChildRuntime | undefined | null): Promise<void> {
  await rt?.kill();
  await ns.exec(disableScript, ['--queue', String(queue)]).catch(() => undefined);
}

/** Latest status text of the watched node(s) (messages a Status node sent). */
export function lastStatus(msgs: WatchedMessage[]): string {
  return msgs.length ? (msgs[msgs.length - 1].msg.status as { text?: string } | undefined)?.text ?? '' : '';
}

/** The error text of a message a Catch node sent. */
export function errorText(m: WatchedMessage): string {
  return (m.msg.error as { message?: string } | undefined)?.message ?? '';
}

/**
 * The inline chain of the shipped router flow (node ids in DETECTOR_IDS): `nfq` → flood-detect →
 * scan-detect → payload-match → back into `nfq`, every detector in drop
 * mode; alerts of all three go to the debug node 'alerts'.
 */
export const DETECTOR_IDS = ['flood-node', 'scan-node', 'payload-node'];

export function detectorChain(nfq: string, settings: { flood?: Record<string, string>; scan?: Record<string, string> } = {}): FlowNode[] {
  return [
    // ids differ from every property value: Node-RED takes a string equal to a node id for a config-node reference
    { id: 'flood-node', type: 'flood-detect', z: 'tab1', name: 'flood', action: 'drop', ...settings.flood, wires: [['scan-node'], ['alerts']] },
    { id: 'scan-node', type: 'scan-detect', z: 'tab1', name: 'scan', action: 'drop', ...settings.scan, wires: [['payload-node'], ['alerts']] },
    { id: 'payload-node', type: 'payload-match', z: 'tab1', name: 'payload', action: 'drop', includeDefaults: true, rules: '[]', wires: [[nfq], ['alerts']] },
    { id: 'alerts', type: 'debug', z: 'tab1', active: false, wires: [] },
  ];
}

/**
 * nftables counters for packets from `src` arriving at INPUT before the
 * queue (priority -200) and after it and the filter table (priority +10,
 * i.e. accepted by the verdict): the difference is what the IPS dropped.
 */
export async function addSourceCounters(ns: Netns, srcs: string[]): Promise<void> {
  // -200: before the mangle table (-150), where the enable script puts the queue by default
  const lines = ['table inet ipscount {', '  chain pre { type filter hook input priority -200; policy accept;'];
  for (const s of srcs) lines.push(`    ip saddr ${s} counter comment "pre ${s}"`);
  lines.push('  }', '  chain post { type filter hook input priority 10; policy accept;');
  for (const s of srcs) lines.push(`    ip saddr ${s} counter comment "post ${s}"`);
  lines.push('  }', '}');
  const child = ns.spawn('nft', ['-f', '-']);
  child.stdin?.end(lines.join('\n'));
  await new Promise<void>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`nft counters failed (${code})`)))));
}

/** { pre, post } packet counts for `src` from addSourceCounters. */
export async function sourceCounts(ns: Netns, src: string): Promise<{ pre: number; post: number }> {
  const { stdout } = await ns.exec('nft', ['list', 'table', 'inet', 'ipscount']);
  const get = (where: string): number => {
    const m = new RegExp(`counter packets (\\d+) bytes \\d+ comment "${where} ${src.replace(/\./g, '\\.')}"`).exec(stdout);
    if (!m) throw new Error(`no ${where} counter for ${src} in:\n${stdout}`);
    return Number(m[1]);
  };
  return { pre: get('pre'), post: get('post') };
}
