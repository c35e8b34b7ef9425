/**
 * Live capture over libpcap through the optional npm binding `cap`.
 *
 * `cap` is loaded lazily (on the first start) so the pack installs and file
 * analysis works on machines without libpcap; a missing binding or a missing
 * permission becomes a LiveCaptureError that names what to install or grant.
 *
 * What `cap` 0.2 does not expose, and how this adapter makes up for it:
 * - snaplen: libpcap always captures up to 65535 bytes; the adapter keeps only
 *   the first `snaplen` bytes of each frame (and `len` stays the real length).
 * - promiscuous off: `cap` always asks for promiscuous mode, so with
 *   `promiscuous: false` the adapter adds a BPF clause keeping only frames a
 *   non-promiscuous capture would see (to or from this interface's MAC, or
 *   broadcast/multicast). The interface itself still goes promiscuous.
 * - timestamps: `cap` hands over bytes without the pcap header, so `ts` is the
 *   arrival time in this process (libpcap runs in immediate mode).
 * - drops: read from the kernel's counter for the capture socket (`ss`,
 *   iproute2), matched by socket inode.
 */
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { decodePacket } from '../packet/decode';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_NULL, LINKTYPE_RAW } from '../packet/linktypes';
import type { Packet } from '../packet/types';
import { IFNAME } from '../base/ifname';

/** The part of the `cap` binding this adapter uses. */
interface CapHandle extends EventEmitter {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): boolean;
}
interface CapModule {
  Cap: { new (): CapHandle; deviceList(): { name: string; description?: string }[] };
}

export type LiveCaptureErrorKind = 'binding' | 'permission' | 'interface' | 'filter' | 'open';

export class LiveCaptureError extends Error {
  readonly kind: LiveCaptureErrorKind;
  constructor(kind: LiveCaptureErrorKind, message: string) {
    super(message);
    this.name = 'LiveCaptureError';
    this.kind = kind;
  }
}

export const CAP_MISSING_HINT =
  'live capture needs the optional npm package `cap` built against libpcap: ' +
  'sudo apt-get install libpcap-dev, then in the Node-RED user directory: npm install cap ' +
  '(npm 11: npm install-scripts approve cap && npm rebuild cap)';
export const CAP_PERMISSION_HINT =
  'live capture needs root or the capabilities cap_net_raw,cap_net_admin on the node binary ' +
  '(sudo setcap cap_net_raw,cap_net_admin+eip "$(readlink -f "$(which node)")")';

let capModule: CapModule | null = null;

/**
 * Every handle this process has opened, kept for good. cap 0.2's destructor
 * crashes the process when garbage collection runs it: it emits an async
 * destroy hook from inside V8's weak callback (SIGSEGV in
 * AsyncWrap::EmitDestroy under Node 20, seen in the tests after a capture was
 * stopped and restarted). And a handle whose open() failed after libpcap
 * created it must not even be closed: its close() stops a libuv poll handle
 * that was never started and aborts. So no handle is ever released: a small
 * leak per capture start (the handle, and the 64 KiB frame buffer of a
 * capture) instead of a crash.
 */
const retainedHandles: CapHandle[] = [];

/** The `cap` binding, or a LiveCaptureError naming the package to install. */
export function loadCap(): CapModule {
  if (capModule) return capModule;
  try {
    // Lazy and optional: the pack must load without it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    capModule = require('cap') as CapModule;
    return capModule;
  } catch (err) {
    throw new LiveCaptureError('binding', `${CAP_MISSING_HINT} (${(err as Error).message.split('\n')[0]})`);
  }
}

/** Why the `cap` binding cannot be loaded, or null when it can. */
export function capUnavailable(): string | null {
  try {
    loadCap();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

export interface LiveOptions {
  /** Interface name, or 'any' for all interfaces of this network namespace. */
  iface: string;
  /** BPF filter expression (pcap-filter syntax); '' captures everything. */
  filter: string;
  /** Bytes kept per packet (64..65535). */
  snaplen: number;
  /** Kernel capture buffer in bytes (64 KiB .. 1 GiB). */
  bufferSize: number;
  promiscuous: boolean;
}

export const LIVE_DEFAULTS: Omit<LiveOptions, 'iface'> = { filter: '', snaplen: 65535, bufferSize: 8 * 1024 * 1024, promiscuous: true };

/** libpcap never hands over more than this (cap sets snaplen 65535). */
const CAP_SNAPLEN = 65535;

/** Why `opts` cannot be used, or null. */
export function liveOptionsProblem(opts: LiveOptions): string | null {
  if (typeof opts.iface !== 'string' || !IFNAME.test(opts.iface)) return `interface name must match ${IFNAME.source}, got "${String(opts.iface)}"`;
  if (typeof opts.filter !== 'string' || opts.filter.length > 4096) return 'BPF filter must be a string of at most 4096 characters';
  if (!Number.isInteger(opts.snaplen) || opts.snaplen < 64 || opts.snaplen > CAP_SNAPLEN) return `snaplen must be a whole number from 64 to ${CAP_SNAPLEN}, got ${String(opts.snaplen)}`;
  if (!Number.isInteger(opts.bufferSize) || opts.bufferSize < 65536 || opts.bufferSize > 2 ** 30) return `buffer size must be a whole number of bytes from 65536 to 1073741824, got ${String(opts.bufferSize)}`;
  return null;
}

/** Map the link type name `cap` returns to its LINKTYPE_ number. */
function linktypeOf(name: string): number {
  switch (name) {
    case 'ETHERNET': return LINKTYPE_ETHERNET;
    case 'NULL': return LINKTYPE_NULL;
    case 'LINKTYPE_LINUX_SLL': return LINKTYPE_LINUX_SLL;
    case 'RAW': return LINKTYPE_RAW;
    default: {
      const m = /Unknown linktype (\d+)/.exec(name);
      if (m) return Number(m[1]);
      throw new LiveCaptureError('open', `link type ${name} is not supported`);
    }
  }
}

function classifyOpenError(err: Error, opts: LiveOptions): LiveCaptureError {
  const text = err.message;
  if (/permission|not permitted|EPERM|EACCES/i.test(text)) return new LiveCaptureError('permission', `cannot capture on ${opts.iface}: ${text}; ${CAP_PERMISSION_HINT}`);
  if (/no such device|doesn't exist|not found|No such/i.test(text)) return new LiveCaptureError('interface', `cannot capture on ${opts.iface}: ${text}`);
  if (/syntax|parse|filter|expression|unknown host|illegal/i.test(text)) return new LiveCaptureError('filter', `BPF filter "${opts.filter}" refused: ${text}`);
  return new LiveCaptureError('open', `cannot capture on ${opts.iface}: ${text}`);
}

/** Socket inodes among this process's open file descriptors. */
function socketInodes(): Set<string> {
  const out = new Set<string>();
  try {
    for (const fd of fs.readdirSync('/proc/self/fd')) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`));
        if (m) out.add(m[1]);
      } catch {
        // fd closed meanwhile
      }
    }
  } catch {
    // no /proc: drops stay unknown
  }
  return out;
}

/** Kernel drop counter of the packet socket with inode `inode` (via `ss`), or null when unknown. */
function readSocketDrops(inode: string): Promise<number | null> {
  return new Promise((resolve) => {
    execFile('ss', ['-0', '-n', '-e', '-m'], { timeout: 5000 }, (err, stdout) => {
      if (err) return resolve(null);
      const at = stdout.indexOf(`ino:${inode} `);
      if (at < 0) return resolve(null);
      const m = /skmem:\([^)]*\bd(\d+)\)/.exec(stdout.slice(at, at + 1000));
      resolve(m ? Number(m[1]) : null);
    });
  });
}

/**
 * One live capture. `start()` opens the interface (throws LiveCaptureError),
 * every frame is decoded and handed to `onPacket`, `stop()` closes the handle.
 */
export class LiveCapture {
  readonly options: LiveOptions;
  packets = 0;
  bytes = 0;
  /** Kernel drops at the last `refreshDrops()`; null when unknown. */
  drops: number | null = null;
  linktype = -1;
  startedAt = 0;
  private cap: CapHandle | null = null;
  private readonly buffer = Buffer.alloc(CAP_SNAPLEN);
  private socketInode: string | null = null;
  private readonly onPacket: (packet: Packet) => void;

  constructor(options: LiveOptions, onPacket: (packet: Packet) => void) {
    const problem = liveOptionsProblem(options);
    if (problem) throw new LiveCaptureError('open', problem);
    this.options = { ...options };
    this.onPacket = onPacket;
  }

  get running(): boolean {
    return this.cap !== null;
  }

  /** The BPF program text actually compiled (the user's filter, plus the non-promiscuous clause). */
  effectiveFilter(): string {
    const { filter, promiscuous, iface } = this.options;
    if (promiscuous || iface === 'any') return filter;
    let mac = '';
    try {
      mac = fs.readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim();
    } catch {
      return filter; // not an interface with a MAC: nothing to narrow
    }
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac)) return filter;
    const own = `(ether host ${mac} or ether multicast)`;
    return filter.trim() ? `${own} and (${filter})` : own;
  }

  start(): void {
    if (this.cap) return;
    const { Cap } = loadCap();
    const filter = this.effectiveFilter();
    if (filter.trim() !== '') this.probeFilter(Cap, filter);
    const cap = new Cap();
    const before = socketInodes();
    let linkName: string;
    try {
      linkName = cap.open(this.options.iface, filter, this.options.bufferSize, this.buffer);
    } catch (err) {
      retainedHandles.push(cap);
      throw classifyOpenError(err as Error, this.options);
    }
    retainedHandles.push(cap);
    try {
      this.linktype = linktypeOf(linkName);
    } catch (err) {
      cap.close();
      throw err;
    }
    for (const inode of socketInodes()) if (!before.has(inode)) this.socketInode = inode;
    this.packets = 0;
    this.bytes = 0;
    this.drops = null;
    this.startedAt = Date.now();
    const iface = this.options.iface === 'any' ? undefined : this.options.iface;
    const snaplen = this.options.snaplen;
    const buffer = this.buffer;
    const linktype = this.linktype;
    cap.on('packet', (nbytes: number) => {
      const caplen = nbytes < snaplen ? nbytes : snaplen;
      // The binding reuses its buffer for the next frame: keep a copy of what we need.
      const data = Buffer.allocUnsafe(caplen);
      buffer.copy(data, 0, 0, caplen);
      this.packets++;
      this.bytes += nbytes;
      this.onPacket(decodePacket(data, linktype, performance.timeOrigin + performance.now(), nbytes, iface));
    });
    this.cap = cap;
  }

  /**
   * Compile `filter` on a throw-away handle with the smallest buffer first: a
   * filter libpcap refuses leaves an open handle that cannot be closed (see
   * retainedHandles), and this way it holds 64 KiB instead of the full buffer.
   */
  private probeFilter(Cap: CapModule['Cap'], filter: string): void {
    const probe = new Cap();
    try {
      probe.open(this.options.iface, filter, 65536, Buffer.alloc(64));
    } catch (err) {
      retainedHandles.push(probe);
      throw classifyOpenError(err as Error, this.options);
    }
    retainedHandles.push(probe);
    probe.close();
  }

  /** Update `drops` from the kernel counter; resolves to it (null when unknown). */
  async refreshDrops(): Promise<number | null> {
    if (!this.socketInode) return this.drops;
    const drops = await readSocketDrops(this.socketInode);
    if (drops !== null) this.drops = drops;
    return this.drops;
  }

  stop(): void {
    const cap = this.cap;
    if (!cap) return;
    this.cap = null;
    cap.removeAllListeners('packet');
    try {
      cap.close();
    } catch {
      // already closed
    }
  }
}
