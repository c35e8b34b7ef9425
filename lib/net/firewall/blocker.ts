/**
 * The `iptables-block` engine: its settings, the blocklist on a firewall
 * backend, what each message does to it, the timer that reports expired
 * blocks, and in dry-run the commands it would have run. Free of Node-RED:
 * the node maps messages to `handle` and the engine's reports to sends.
 */
import { Blocklist, type StartOutcome } from './blocklist';
import { BACKEND_KINDS, createBackend } from './index';
import { IPSET_MAX_TIMEOUT_S, type BackendKind } from './backend';
import { MAX_ELEM_LIMIT } from './ipset';
import { blockActionsOf } from './messages';
import { CHAIN_NAME, NFT_TABLE_NAME, SET_BASE_NAME } from './names';
import { DryRunRunner, ExecRunner, type CommandRunner } from './runner';
import type { BlockEntry, BlockList } from '../types';
import type { Schema } from '../../base/settings';

export interface BlockSettings {
  backend: BackendKind;
  chain: string;
  setName: string;
  table: string;
  maxElem: number;
  /** Block duration when the message gives none, seconds; 0 = permanent. */
  durationS: number;
  /** Never blocked. */
  allowlist: string[];
  protectOwn: boolean;
  protectGateway: boolean;
  escalate: boolean;
  escalateFactor: number;
  escalateWindow: number;
  escalateMax: number;
  clearOnClose: boolean;
  /** Record the commands instead of running them (no root needed). */
  dryRun: boolean;
}

const MAX_S = 2 ** 31 - 1;

/** Syntax only: the backends refuse built-in chain names with their own reason (names.ts). */
export const blockSchema: Schema<BlockSettings> = {
  backend: { type: 'enum', values: BACKEND_KINDS, default: 'ipset', label: 'Backend', help: 'ipset + iptables or an nftables set (the kernel expires blocks), or plain iptables rules (the node expires them)' },
  chain: { type: 'string', pattern: CHAIN_NAME, default: 'IPS-BLOCK', label: 'Chain', help: "the node's own iptables chain (ipset and iptables backends), not a built-in one: 1-28 letters, digits, _ or -" },
  setName: { type: 'string', pattern: SET_BASE_NAME, default: 'ips-block', label: 'Set name', help: 'ipset backend: the sets are <name>-v4 and <name>-v6' },
  table: { type: 'string', pattern: NFT_TABLE_NAME, default: 'ips', label: 'Table', help: 'nftables backend: the table inet <table>' },
  maxElem: { type: 'int', min: 1, max: MAX_ELEM_LIMIT, default: 65_536, unit: 'addresses', label: 'Set size', help: 'most addresses per set (ipset and nftables)' },
  durationS: { type: 'int', min: 0, max: MAX_S, default: 3600, unit: 's', label: 'Duration', help: `block duration when the message gives none; 0 = permanent (ipset: at most ${IPSET_MAX_TIMEOUT_S})` },
  allowlist: { type: 'cidrs', default: [], label: 'Allowlist', help: 'addresses and networks that are never blocked' },
  protectOwn: { type: 'bool', default: true, label: 'Protect own', help: "never block this box's own addresses" },
  protectGateway: { type: 'bool', default: true, label: 'Protect gateway', help: 'never block the default gateways' },
  escalate: { type: 'bool', default: false, label: 'Escalate', help: 'longer blocks for repeat offenders' },
  escalateFactor: { type: 'number', min: 1, max: 100, default: 2, label: 'Factor', help: 'each repeat within the window multiplies the duration by this' },
  escalateWindow: { type: 'int', min: 1, max: 365 * 86_400, default: 86_400, unit: 's', label: 'Window', help: 'blocks further apart than this start the count again' },
  escalateMax: { type: 'int', min: 1, max: MAX_S, default: 604_800, unit: 's', label: 'Cap', help: 'escalated durations stop here' },
  clearOnClose: { type: 'bool', default: false, label: 'Remove on stop', help: 'remove all blocks, sets and chains when the node stops or is redeployed' },
  dryRun: { type: 'bool', default: false, label: 'Dry-run', help: 'report the commands, change nothing (no root needed)' },
};

/** A blocklist message: the list after a change, on 'list', or when blocks expired. */
export interface BlocklistReport {
  topic: 'blocklist';
  payload: BlockList;
  /** What each request did. */
  results?: Record<string, unknown>[];
  /** Addresses whose block just ran out. */
  expired?: string[];
  /** Dry-run: the command lines the node would have run. */
  commands?: string[];
}

/** What one message did: the report to send (none when nothing changed and nothing was asked), and the reasons for each refused item. */
export interface Handled {
  report: BlocklistReport | null;
  refusals: string[];
}

/** Where the engine reports what happens outside a message. */
export interface BlockerHost {
  /** Blocks expired: the list after it. */
  send(report: BlocklistReport): void;
  /** Dry-run: one line per command it would have run. */
  log(line: string): void;
  warn(text: string): void;
  error(text: string): void;
}

export interface BlockerOptions {
  /** Reads own addresses and gateways with `ip` (needs no root, so real even in dry-run); default ExecRunner. */
  addressReader?: CommandRunner | null;
  now?: () => number;
  /** How often expiries are checked, ms. */
  expiryCheckMs?: number;
}

/** One configuration's blocklist on its backend. */
interface Engine {
  settings: BlockSettings;
  blocklist: Blocklist;
  dry: DryRunRunner | null;
}

export class Blocker {
  private engine: Engine;
  private started: Promise<StartOutcome> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Messages and setting changes, one at a time in arrival order: a message after a change sees the new settings. */
  private queue: Promise<unknown> = Promise.resolve();

  /** Throws with the reason when the settings cannot drive a backend (a built-in chain name, a duration the backend cannot hold). */
  constructor(settings: BlockSettings, private readonly host: BlockerHost, private readonly opts: BlockerOptions = {}) {
    this.engine = this.build(settings);
  }

  private build(settings: BlockSettings): Engine {
    const runner = settings.dryRun ? new DryRunRunner() : new ExecRunner();
    const blocklist = new Blocklist({
      backend: createBackend(runner, settings),
      defaultDurationS: settings.durationS,
      allowlist: settings.allowlist,
      addressReader: this.opts.addressReader === undefined ? new ExecRunner() : this.opts.addressReader,
      protectOwn: settings.protectOwn,
      protectGateway: settings.protectGateway,
      escalation: settings.escalate ? { factor: settings.escalateFactor, windowS: settings.escalateWindow, maxDurationS: settings.escalateMax } : null,
      now: this.opts.now,
    });
    return { settings, blocklist, dry: runner instanceof DryRunRunner ? runner : null };
  }

  get dryRun(): boolean {
    return this.engine.dry !== null;
  }

  /** Addresses blocked now. */
  get size(): number {
    return this.engine.blocklist.list().blocked.length;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Set up the backend and read back what the kernel holds; then expiries are checked every second. Rejects with the reason. */
  start(): Promise<StartOutcome> {
    this.started ??= this.startEngine(this.engine).then((r) => {
      // A close that came while starting stays closed: no timer after it.
      if (this.closed) return r;
      this.timer = setInterval(() => this.expire(), this.opts.expiryCheckMs ?? 1000);
      this.timer.unref();
      return r;
    });
    return this.started;
  }

  private async startEngine(e: Engine): Promise<StartOutcome> {
    const r = await e.blocklist.start();
    this.takeCommands(e);
    if (r.removed.length) this.host.warn(`removed from the kernel on start (allowlisted, protected or overdue): ${r.removed.join(', ')}`);
    return r;
  }

  /**
   * New settings, as after a redeploy. On the same kernel objects: a new
   * blocklist reads the blocks back from the kernel and keeps the old one's
   * repeat offences (in a dry run its blocks too); the old one leaves its
   * blocks where they are. On other kernel objects (another backend, chain,
   * set, table, or dry-run switched): the blocks move to the new ones with
   * the time each has left, and the old ones are removed, so nothing keeps
   * dropping traffic that the node no longer lists or expires. Blocks only
   * recorded by a dry run are not made real. Throws with the reason, and
   * then nothing changes.
   */
  reconfigure(next: BlockSettings): Promise<void> {
    return this.serial(async () => {
      await this.start();
      const fresh = this.build(next);
      const old = this.engine;
      if (kernelObjectsOf(old.settings) === kernelObjectsOf(next)) {
        await this.startEngine(fresh);
        fresh.blocklist.inherit(old.blocklist, fresh.dry !== null);
        this.engine = fresh;
        await old.blocklist.close(false);
        this.takeCommands(old);
        return;
      }
      const moving = old.dry !== null && fresh.dry === null ? [] : old.blocklist.liveEntries();
      // A chain or set the two share must go before the new backend sets it up, or removing the old would take the new blocks with it.
      const shared = sharesKernelObjects(old.settings, next);
      if (shared) await this.removeKernelObjects(old);
      try {
        await this.startEngine(fresh);
        await fresh.blocklist.adopt(moving);
      } catch (err) {
        this.takeCommands(fresh);
        if (shared) await this.restore(old, moving);
        throw err;
      }
      fresh.blocklist.inherit(old.blocklist, false);
      this.takeCommands(fresh);
      this.engine = fresh;
      if (!shared) await this.removeKernelObjects(old);
    });
  }

  /** Remove everything `e`'s backend created, blocks included (as clearOnClose does). */
  private async removeKernelObjects(e: Engine): Promise<void> {
    try {
      await e.blocklist.close(true);
    } finally {
      this.takeCommands(e);
    }
  }

  /** New settings failed after the old kernel objects were removed: set them up again with their blocks. */
  private async restore(e: Engine, blocks: BlockEntry[]): Promise<void> {
    try {
      await e.blocklist.start();
      await e.blocklist.adopt(blocks);
    } catch (err) {
      this.host.error(`restoring the blocks under the previous settings failed: ${(err as Error).message}`);
    } finally {
      this.takeCommands(e);
    }
  }

  /** Set backends expire in the kernel; this only updates the list (and removes plain rules). */
  private expire(): void {
    const e = this.engine;
    const next = e.blocklist.nextExpiry();
    if (next === 0 || next > (this.opts.now ?? Date.now)()) return;
    e.blocklist.expireDue().then(
      (gone) => {
        if (!gone.length) return;
        const commands = this.takeCommands(e);
        this.host.send({ topic: 'blocklist', payload: e.blocklist.list(), expired: gone, ...(commands ? { commands } : {}) });
      },
      (err: Error) => this.host.error(`expiring blocks failed: ${err.message}`),
    );
  }

  /**
   * One message (messages.ts): each item is done or refused on its own;
   * a message that is none of the forms throws with the reason.
   */
  handle(msg: { topic?: unknown; payload?: unknown; durationS?: unknown }): Promise<Handled> {
    return this.serial(async () => {
      await this.start();
      const { blocklist } = this.engine;
      const actions = blockActionsOf(msg);
      const results: Record<string, unknown>[] = [];
      const refusals: string[] = [];
      let changed = false;
      for (const a of actions) {
        try {
          if (a.kind === 'block') {
            const r = await blocklist.block(a.req);
            results.push({ action: 'block', ip: r.entry.ip, durationS: r.durationS, extended: r.extended, offences: r.offences });
            changed = true;
          } else if (a.kind === 'unblock') {
            results.push({ action: 'unblock', ip: a.ip, wasBlocked: await blocklist.unblock(a.ip) });
            changed = true;
          } else if (a.kind === 'clear') {
            results.push({ action: 'clear', count: await blocklist.clear() });
            changed = true;
          } else if (a.kind === 'refuse') {
            refusals.push(a.reason);
          }
        } catch (err) {
          refusals.push((err as Error).message);
        }
      }
      const commands = this.takeCommands(this.engine);
      if (!changed && !actions.some((a) => a.kind === 'list')) return { report: null, refusals };
      return { report: { topic: 'blocklist', payload: blocklist.list(), results, ...(commands ? { commands } : {}) }, refusals };
    });
  }

  /** Forget repeat offences (escalation starts again); blocks stay. */
  forgetOffences(): void {
    this.engine.blocklist.forgetOffences();
  }

  /** Stop the timer; remove everything the backend created when the clearOnClose setting says so, else leave the blocks in the kernel. */
  close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    return this.serial(async () => {
      // Before a start, or after a failed one, there is nothing of ours to close.
      if (this.started === null || !(await this.started.then(() => true, () => false))) return;
      await this.engine.blocklist.close(this.engine.settings.clearOnClose);
      this.takeCommands(this.engine);
    });
  }

  /** Dry-run: the commands `e` recorded since the last call, each also logged. */
  private takeCommands(e: Engine): string[] | undefined {
    if (!e.dry) return undefined;
    const lines = e.dry.take();
    for (const l of lines) this.host.log(`dry-run: ${l}`);
    return lines;
  }
}

/** What names the kernel objects a configuration's backend creates: equal keys, the same sets, chains or table. */
function kernelObjectsOf(s: BlockSettings): string {
  const names = s.backend === 'ipset' ? [s.setName, s.chain] : s.backend === 'iptables' ? [s.chain] : [s.table];
  return JSON.stringify([s.dryRun, s.backend, ...names]);
}

/** True when two configurations on different kernel objects still share one (an iptables chain or an ipset set). */
function sharesKernelObjects(a: BlockSettings, b: BlockSettings): boolean {
  if (a.dryRun !== b.dryRun) return false;
  const chainOf = (s: BlockSettings) => (s.backend === 'nftables' ? null : s.chain);
  if (chainOf(a) !== null && chainOf(a) === chainOf(b)) return true;
  return a.backend === 'ipset' && b.backend === 'ipset' && a.setName === b.setName;
}
