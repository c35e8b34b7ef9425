/**
 * An open NFQUEUE: the adapter over the npm `nfqueue` binding (0.3.x,
 * nfqueue-binding.ts).
 *
 * The binding opens a queue and delivers packets, but has no way to unbind,
 * set the queue length, the fail-open flag or the copy range, and verdicts
 * one packet per call. Those are plain nfnetlink messages on the binding's
 * own netlink socket, so this adapter finds that socket's file descriptor
 * (via /proc) and writes them itself: the kernel ABI is stable
 * (linux/netfilter/nfnetlink_queue.h). The binding opens the queue, polls
 * the socket and delivers the first packet of each wake-up; whatever else
 * waits then is read here (see `drain`): the binding's per-packet object
 * costs about 39,000 instructions, two thirds of the bare inline path's.
 *
 * The binding cannot close its socket or stop its poller, so a handle lives as
 * long as the process. On close the queue is unbound and the handle parked;
 * opening the same queue number again (a Node-RED redeploy) re-binds it.
 */
import fs from 'node:fs';
import { monotonicEpochMs, type VerdictSink } from './verdicts';
import { loadNfqueueBinding, type NfqBindingHandle, type NfqPacket, type NfqPacketInfo } from './nfqueue-binding';
import { configCommandMessage, configParamsMessage, NF_ACCEPT, NF_DROP, NLMSG_HDRLEN, parseQueuedPacket, VERDICT_MSG_LEN, writeVerdictMessage } from './nfnetlink-queue';
import { hasNetAdmin, interfaceName, isNonBlocking, netfilterSockets, readKernelQueues, type KernelQueueRow } from './nfqueue-proc';

/**
 * One read from a non-blocking socket: the bytes read, or -1 when nothing
 * waits (EAGAIN) or the read failed. Every wake-up ends on an empty socket,
 * and Node reports that as a thrown error: without its stack trace the throw
 * costs half as much (about 3 µs instead of 6–7 µs here, measured on a
 * FIFO): at 10,000 packets/s there is about one wake-up per packet.
 */
function readWaiting(fd: number, buf: Buffer): number {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return fs.readSync(fd, buf, 0, buf.length, null);
  } catch {
    return -1;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * Discard whatever waits on the binding's (non-blocking) socket: on a re-bind
 * these are packets of the queue instance the last close unbound (the kernel
 * dropped them then), and their ids would name packets of the new instance.
 */
function discardWaiting(fd: number): true {
  const scratch = Buffer.allocUnsafe(65536);
  for (;;) {
    try {
      if (fs.readSync(fd, scratch, 0, scratch.length, null) <= 0) return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return true;
      throw err;
    }
  }
}

export interface NfqueueOptions {
  /** NFQUEUE number (0..65535), as in `--queue-num`. */
  queue: number;
  /** Most packets the kernel holds for us; beyond it, fail-open accepts or the kernel drops. */
  maxLen: number;
  /** Bytes of each packet copied to user space (headers are enough for most detectors). */
  copyRange: number;
  /** Kernel flag NFQA_CFG_F_FAIL_OPEN: accept packets when the queue is full instead of dropping. */
  failOpen: boolean;
  /** Netlink socket receive buffer in bytes (bursts wait here). */
  socketBuffer: number;
}

export const NFQUEUE_DEFAULTS: Omit<NfqueueOptions, 'queue'> = {
  maxLen: 4096,
  copyRange: 0xffff,
  failOpen: true,
  socketBuffer: 8 * 1024 * 1024,
};

/** A packet as held by the kernel: raw IP bytes (LINKTYPE_RAW). */
export interface RawQueuedPacket {
  id: number;
  /** Bytes copied (up to the copy range). */
  data: Buffer;
  /** Length of the packet in the kernel. */
  len: number;
  /** Arrival time in ms since epoch, fractional. */
  ts: number;
  /** Input (or, for OUTPUT hooks, output) interface name. */
  iface?: string;
}

function checkInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

export function validateNfqueueOptions(o: NfqueueOptions): void {
  checkInt('queue', o.queue, 0, 65535);
  checkInt('queue length (maxLen)', o.maxLen, 1, 1_000_000);
  checkInt('copy range', o.copyRange, 20, 0xffff);
  checkInt('socket buffer', o.socketBuffer, 65_536, 1 << 30);
  if (typeof o.failOpen !== 'boolean') throw new Error('failOpen must be true or false');
}

interface PooledQueue {
  handle: NfqBindingHandle;
  fd: number;
  portId: number;
  owner: NfqueueHandle | null;
  /** The binding's poller made the socket non-blocking: we may read what else waits (never blocks). */
  nonBlocking: boolean;
}

/** Handles of this process by queue number; kept after close because the binding cannot free them. */
const pool = new Map<number, PooledQueue>();

function ifaceName(info: NfqPacketInfo): string | undefined {
  if (info.indev_name && info.indev_name !== '*') return info.indev_name;
  if (info.outdev_name && info.outdev_name !== '*') return info.outdev_name;
  return undefined;
}

function alreadyBoundError(queue: number, row: KernelQueueRow): Error {
  return new Error(`NFQUEUE ${queue} is already bound by another program (netlink port ${row.portId}); choose another queue number or stop that program`);
}

/** Verdict messages gathered before one write: 64 KiB, well below the socket's send buffer. */
const VERDICT_CHUNK = VERDICT_MSG_LEN * 2048;

/** An open NFQUEUE: packets in through `onPacket`, verdicts out by id (a VerdictSink). */
export class NfqueueHandle implements VerdictSink {
  readonly options: NfqueueOptions;
  private entry: PooledQueue | null;
  private readonly onPacket: (p: RawQueuedPacket) => void;
  /** Called when a wake-up's packets are all read and nothing more waits on the socket. */
  private readonly onIdle: () => void;
  private readonly verdictBuf = Buffer.alloc(VERDICT_CHUNK);
  private verdictLen = 0;
  /**
   * Batch verdicts ("every queued id up to N") are exact only when every
   * queued packet up to N reached us in order. A fresh socket guarantees it.
   * A re-bound one does once drained of the old binding's packets and the
   * first packet is id 1 (a new kernel queue instance counts from 1); null
   * until that first packet.
   */
  private batchOk: boolean | null;
  private readonly drained: boolean;

  private constructor(options: NfqueueOptions, entry: PooledQueue, onPacket: (p: RawQueuedPacket) => void, onIdle: () => void, rebound: boolean, drained: boolean) {
    this.options = options;
    this.entry = entry;
    this.onPacket = onPacket;
    this.onIdle = onIdle;
    this.batchOk = rebound ? null : true;
    this.drained = drained;
  }

  /**
   * Bind `options.queue` and start delivering packets. Throws a clear error
   * when the binding is missing, CAP_NET_ADMIN is missing, or the queue is
   * already bound (by another program or another node in this process).
   */
  static open(options: NfqueueOptions, onPacket: (p: RawQueuedPacket) => void, onIdle: () => void = () => undefined): NfqueueHandle {
    validateNfqueueOptions(options);
    const mod = loadNfqueueBinding();
    if (!hasNetAdmin()) {
      throw new Error('NFQUEUE needs the CAP_NET_ADMIN capability: run Node-RED as root or grant it (e.g. systemd AmbientCapabilities=CAP_NET_ADMIN)');
    }
    const { queue } = options;
    const parked = pool.get(queue);
    if (parked?.owner) throw new Error(`NFQUEUE ${queue} is already bound by another nfqueue-in node in this Node-RED`);
    const bound = readKernelQueues().find((r) => r.queue === queue);
    if (bound && (!parked || bound.portId !== parked.portId)) throw alreadyBoundError(queue, bound);

    let entry: PooledQueue;
    let drained = true;
    if (parked) {
      entry = parked;
      // A blocking socket is not read (it could hang): its leftovers stay, so batch verdicts stay off.
      drained = isNonBlocking(entry.fd) && discardWaiting(entry.fd);
      fs.writeSync(entry.fd, configCommandMessage(queue, 'bind'));
    } else {
      const before = new Set(netfilterSockets().keys());
      const handle = new mod.NFQueue();
      try {
        handle.open(queue, options.socketBuffer);
      } catch (err) {
        const text = (err as Error).message;
        if (/unbind/i.test(text)) throw new Error(`the kernel refused NFQUEUE configuration (${text}): CAP_NET_ADMIN missing?`);
        if (/create queue/i.test(text)) throw new Error(`NFQUEUE ${queue} could not be bound (${text}): already bound by another program?`);
        throw new Error(`NFQUEUE ${queue} could not be opened: ${text}`);
      }
      const fresh = [...netfilterSockets()].filter(([fd]) => !before.has(fd));
      if (fresh.length !== 1) throw new Error(`NFQUEUE ${queue}: could not locate the binding's netlink socket (${fresh.length} candidates)`);
      entry = { handle, fd: fresh[0][0], portId: fresh[0][1], owner: null, nonBlocking: false };
      pool.set(queue, entry);
      handle.run((p) => {
        // One trampoline per handle for its whole life: packets go to whoever owns the queue now.
        // Never throw back into the binding: an exception there aborts the process.
        try {
          if (entry.owner) {
            entry.owner.deliver(p);
            entry.owner.drain();
          } else handle.bindings.setVerdict(p.info.id, NF_ACCEPT, null);
        } catch {
          // the owner reports its own errors; a packet it did not take is dropped by the kernel at unbind
        }
      });
      entry.nonBlocking = isNonBlocking(entry.fd);
    }
    fs.writeSync(entry.fd, configParamsMessage(queue, options.copyRange, options.maxLen, options.failOpen));
    // The kernel answers errors on the socket the binding reads, so confirm the bind through /proc.
    const now = readKernelQueues().find((r) => r.queue === queue);
    if (!now || now.portId !== entry.portId) {
      if (now) throw alreadyBoundError(queue, now);
      throw new Error(`NFQUEUE ${queue} could not be bound (the kernel refused)`);
    }
    const h = new NfqueueHandle(options, entry, onPacket, onIdle, parked !== undefined, drained);
    entry.owner = h;
    return h;
  }

  /** Kernel counters for this queue (waiting, dropped when full, dropped on socket overflow). */
  kernelStats(): KernelQueueRow | undefined {
    return readKernelQueues().find((r) => r.queue === this.options.queue);
  }

  get isOpen(): boolean {
    return this.entry !== null;
  }

  private readonly rx = Buffer.allocUnsafe(65536);

  /**
   * Read what else waits on the binding's socket now and deliver it: one
   * read and a few field reads per packet instead of the binding's object
   * with 13 properties built through the V8 API (about 39,000 instructions).
   * The binding still delivers the first packet of every wake-up. At most
   * 256 reads per wake-up, so timers and verdicts are not starved. When the
   * socket is empty, `onIdle` runs: a batch need not wait for its timer
   * when no more packets are coming now.
   */
  drain(): void {
    const entry = this.entry;
    if (!entry || !entry.nonBlocking) return;
    const rx = this.rx;
    for (let n = 0; n < 256 && this.entry === entry; n++) {
      const got = readWaiting(entry.fd, rx);
      if (got < 0) {
        // nothing more now (other errors: the binding's next read sees them)
        this.onIdle();
        return;
      }
      for (let off = 0; off + NLMSG_HDRLEN <= got; ) {
        const len = rx.readUInt32LE(off);
        if (len < NLMSG_HDRLEN || off + len > got) break;
        const m = parseQueuedPacket(rx, off, len, this.options.queue);
        if (m) {
          if (this.batchOk === null) this.batchOk = this.drained && m.id === 1;
          const data = Buffer.from(rx.subarray(m.payloadStart, m.payloadEnd)); // rx is reused
          this.onPacket({ id: m.id, data, len: data.length, ts: monotonicEpochMs(), iface: interfaceName(m.indev) ?? interfaceName(m.outdev) });
        }
        off += (len + 3) & ~3;
      }
    }
  }

  /** @internal called by the pool trampoline. */
  deliver(p: NfqPacket): void {
    const info = p.info;
    if (this.batchOk === null) this.batchOk = this.drained && info.id === 1;
    this.onPacket({ id: info.id, data: p.payload, len: info.len, ts: monotonicEpochMs(), iface: ifaceName(info) });
  }

  batches(): boolean {
    return this.batchOk === true;
  }

  /** Verdict one packet (written at the next `flush`). */
  one(id: number, accept: boolean): void {
    this.put(id, accept ? NF_ACCEPT : NF_DROP, false);
  }

  /** Verdict every packet still queued up to `lastId` (written at the next `flush`); only while `batches`. */
  upTo(lastId: number, accept: boolean): void {
    this.put(lastId, accept ? NF_ACCEPT : NF_DROP, true);
  }

  /** Write the gathered verdicts in one system call. */
  flush(): void {
    const len = this.verdictLen;
    if (len === 0) return;
    this.verdictLen = 0;
    if (this.entry) fs.writeSync(this.entry.fd, this.verdictBuf, 0, len);
  }

  private put(id: number, verdict: number, upTo: boolean): void {
    if (this.verdictLen === VERDICT_CHUNK) this.flush();
    writeVerdictMessage(this.verdictBuf, this.verdictLen, this.options.queue, id, verdict, upTo);
    this.verdictLen += VERDICT_MSG_LEN;
  }

  /** Unbind the queue (held packets must be verdicted first; the kernel drops any left). */
  close(): void {
    const entry = this.entry;
    if (!entry) return;
    this.entry = null;
    if (entry.owner === this) entry.owner = null;
    try {
      fs.writeSync(entry.fd, configCommandMessage(this.options.queue, 'unbind'));
    } catch {
      // socket gone: nothing bound any more
    }
  }
}
