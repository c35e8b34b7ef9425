/**
 * What /proc and /sys tell about NFQUEUE in this process's network
 * namespace: the kernel's queue table, the CAP_NET_ADMIN capability, this
 * process's netfilter netlink sockets, and interface names by index.
 */
import fs from 'node:fs';

/** One row of /proc/net/netfilter/nfnetlink_queue. */
export interface KernelQueueRow {
  queue: number;
  portId: number;
  /** Packets waiting for a verdict now. */
  waiting: number;
  copyMode: number;
  copyRange: number;
  /** Dropped by the kernel because the queue was full (without fail-open). */
  queueDropped: number;
  /** Dropped because the netlink socket buffer was full. */
  userDropped: number;
  lastId: number;
}

export function parseKernelQueues(text: string): KernelQueueRow[] {
  const rows: KernelQueueRow[] = [];
  for (const line of text.split('\n')) {
    const c = line.trim().split(/\s+/).map(Number);
    if (c.length < 8 || c.some((n) => !Number.isFinite(n))) continue;
    rows.push({ queue: c[0], portId: c[1], waiting: c[2], copyMode: c[3], copyRange: c[4], queueDropped: c[5], userDropped: c[6], lastId: c[7] });
  }
  return rows;
}

/** Bound queues in this process's network namespace ([] when the file is absent). */
export function readKernelQueues(): KernelQueueRow[] {
  try {
    return parseKernelQueues(fs.readFileSync('/proc/self/net/netfilter/nfnetlink_queue', 'utf8'));
  } catch {
    return [];
  }
}

/** True when CAP_NET_ADMIN (bit 12) is in this process's effective set. */
export function hasNetAdmin(statusText = fs.readFileSync('/proc/self/status', 'utf8')): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)/m.exec(statusText);
  if (!m) return true; // cannot tell: let the kernel decide
  return (BigInt(`0x${m[1]}`) & (1n << 12n)) !== 0n;
}

const NETLINK_NETFILTER = 12;
/** Interface names by index (the binding names them from a table read once at open). */
const ifNames = new Map<number, string>();
let ifScanAt = 0;

/** The name of interface `index` (undefined for 0 or an unknown index). */
export function interfaceName(index: number): string | undefined {
  if (index === 0) return undefined;
  let name = ifNames.get(index);
  if (name === undefined && Date.now() - ifScanAt > 1000) {
    ifScanAt = Date.now();
    for (const n of fs.readdirSync('/sys/class/net')) {
      try {
        ifNames.set(Number(fs.readFileSync(`/sys/class/net/${n}/ifindex`, 'utf8')), n);
      } catch {
        // gone
      }
    }
    name = ifNames.get(index);
  }
  return name;
}

const O_NONBLOCK = 0o4000;

/** Whether the socket is non-blocking (libuv's poller makes it so); reading a blocking one could hang. */
export function isNonBlocking(fd: number): boolean {
  const flags = /^flags:\s*([0-7]+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return flags !== null && (parseInt(flags[1], 8) & O_NONBLOCK) !== 0;
}

/** This process's NETLINK_NETFILTER sockets: fd → netlink port id. */
export function netfilterSockets(): Map<number, number> {
  const portByInode = new Map<string, number>();
  const lines = fs.readFileSync('/proc/self/net/netlink', 'utf8').trim().split('\n').slice(1);
  for (const line of lines) {
    const c = line.trim().split(/\s+/);
    if (Number(c[1]) === NETLINK_NETFILTER) portByInode.set(c[9], Number(c[2]));
  }
  const out = new Map<number, number>();
  for (const name of fs.readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${name}`);
    } catch {
      continue; // closed meanwhile
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    const port = m ? portByInode.get(m[1]) : undefined;
    if (port !== undefined) out.set(Number(name), port);
  }
  return out;
}
