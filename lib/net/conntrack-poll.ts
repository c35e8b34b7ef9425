/**
 * conntrack-poll's engine: reads the kernel's connection tracking table on
 * an interval (or on demand), keeps per-device totals and rates
 * (DeviceBook), adds each device's MAC from the neighbour table, picks the
 * flow records asked for and checks new flows against the destination
 * policy. It switches byte accounting on at start, follows DESTROY events
 * (a `conntrack -E` child process) so flows that end between polls keep
 * their last bytes, and `close()` stops the timer and that process.
 */
import { CidrSet } from '../base/cidr';
import { interfaceField } from '../base/ifname';
import type { Schema } from '../base/settings';
import type { Alert } from '../detect/alert';
import { ConntrackReader, DestroyWatcher, ensureAccounting, type ConntrackSource } from './conntrack';
import { DestinationPolicy } from './destination-policy';
import { DeviceBook, type DeviceTraffic, type PollResult } from './device-stats';
import { interfaceNetworks, NeighbourTable } from './neighbours';
import type { FlowRecord } from './types';

export interface ConntrackPollSettings {
  interval: number;
  lan: string[];
  iface: string;
  source: ConntrackSource;
  events: boolean;
  flowOutput: 'none' | 'new' | 'ended' | 'all';
  policy: string;
  policyCooldownS: number;
  resolveMac: boolean;
  idleS: number;
}

export const conntrackPollSchema: Schema<ConntrackPollSettings> = {
  interval: { type: 'number', min: 0, max: 3600, default: 1, unit: 's', label: 'Interval', help: 'seconds between polls; 0 polls only when a message comes in' },
  lan: { type: 'cidrs', default: [], label: 'LAN CIDRs', help: 'the LAN: devices are addresses inside it (with or instead of the interface)' },
  iface: interfaceField('LAN interface', "the router's LAN interface: its networks are the LAN, its own addresses are not devices"),
  source: { type: 'enum', values: ['auto', 'tool', 'proc'], default: 'auto', label: 'Read from', help: "'auto': /proc/net/nf_conntrack when there, else the conntrack tool" },
  events: { type: 'bool', default: true, label: 'Events', help: 'final counters of flows that end between polls, from conntrack events' },
  flowOutput: { type: 'enum', values: ['none', 'new', 'ended', 'all'], default: 'none', label: 'Flow records', help: "which flow records go out on output 2 ('all': every live and ended flow, each poll)" },
  policy: { type: 'string', maxLength: 100_000, default: '', label: 'Allowed destinations', help: "'device = destinations' rules, one per line ('*' = every device); blank = no policy" },
  policyCooldownS: { type: 'number', min: 0, max: 86_400, default: 600, unit: 's', label: 'Repeat after', help: 'a policy alert for the same device and destination at most this often' },
  resolveMac: { type: 'bool', default: true, label: 'MAC', help: "add each device's MAC from the neighbour table" },
  idleS: { type: 'number', min: 0, max: 86_400, default: 60, unit: 's', label: 'Forget idle', help: 'a device without flows for this long is left out of the stats' },
};

/** What one poll sends: device stats, the flow records asked for, policy alerts. */
export interface PollReport {
  devices: DeviceTraffic[];
  flows: FlowRecord[];
  alerts: Alert[];
}

/** How the poller reports (the node maps these to its outputs, log and status). */
export interface PollerEvents {
  report(r: PollReport): void;
  /** A poll failed; each failure once, not every interval while it lasts. */
  error(err: Error): void;
  warn(text: string): void;
  log(text: string): void;
}

/** The poller's state, for a status line. */
export interface PollerState {
  /** Why byte counters are zero (accounting off), if they are. */
  accountingOff: string | null;
  /** The failure of the last poll, if it failed. */
  fault: string | null;
  /** The last poll that worked. */
  last: { devices: number; flows: number; ms: number } | null;
}

/** Settings the schema cannot check alone: the LAN must be given somehow. */
function checkLan(s: ConntrackPollSettings): void {
  if (s.lan.length === 0 && s.iface === '') throw new Error('give the LAN as CIDRs (lan) or as an interface (iface)');
}

function makePolicy(s: ConntrackPollSettings, detector: string): DestinationPolicy {
  return new DestinationPolicy({ rules: s.policy, cooldownMs: s.policyCooldownS * 1000, detector });
}

export class ConntrackPoller {
  private settings: ConntrackPollSettings;
  private policy: DestinationPolicy;
  private reader: ConntrackReader;
  private neighbours: NeighbourTable | null;
  /** Built on the first poll (an interface's networks are read then) and again after a LAN change. */
  private book: DeviceBook | null = null;
  /** Counts LAN changes, so a book built from settings replaced meanwhile is not kept. */
  private lanChanges = 0;
  private watcher: DestroyWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private started = false;
  private closed = false;
  private lastNeighbourRefresh = 0;
  /** Devices the neighbour table was read again for (once each) because it had no MAC for them. */
  private readonly askedMac = new Set<string>();
  readonly state: PollerState = { accountingOff: null, fault: null, last: null };

  /** Throws with the reason when the settings cannot be used (bad policy, no LAN). */
  constructor(settings: ConntrackPollSettings, private readonly detector: string, private readonly events: PollerEvents) {
    checkLan(settings);
    this.policy = makePolicy(settings, detector);
    this.settings = settings;
    this.reader = new ConntrackReader(settings.source);
    this.neighbours = settings.resolveMac ? new NeighbourTable({ leaseFile: null }) : null;
  }

  get current(): Readonly<ConntrackPollSettings> {
    return this.settings;
  }

  /** Switch accounting on, follow DESTROY events, start the timer and poll once. */
  async start(): Promise<void> {
    const acct = await ensureAccounting(true);
    if (!acct.on) {
      this.state.accountingOff = acct.reason ?? 'nf_conntrack_acct is off';
      this.events.warn(this.state.accountingOff);
    } else if (acct.enabled) {
      this.events.log('switched on net.netfilter.nf_conntrack_acct in this network namespace');
    }
    if (this.closed) return;
    this.started = true;
    this.follow(this.settings.events);
    this.schedule();
    await this.poll();
  }

  /** One poll now (skipped while one is running); failures go to events.error. */
  async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    const t0 = process.hrtime.bigint();
    try {
      const book = this.book ?? await this.buildBook();
      const entries = await this.reader.read();
      const now = Date.now();
      const result = book.poll(entries, now);
      await this.refreshNeighbours(result, now);
      if (this.closed) return;
      const report = this.reportOf(result);
      this.state.fault = null;
      this.state.last = { devices: result.devices.length, flows: book.flowCount, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
      this.events.report(report);
    } catch (err) {
      const message = (err as Error).message;
      // Once per distinct failure, not every interval (e.g. the LAN interface has no address yet).
      if (message !== this.state.fault) this.events.error(err as Error);
      this.state.fault = message;
    } finally {
      this.polling = false;
    }
  }

  /** New settings (checked by the schema); throws before changing anything when they cannot be used. */
  configure(next: ConntrackPollSettings): void {
    checkLan(next);
    const policy = next.policy !== this.settings.policy || next.policyCooldownS !== this.settings.policyCooldownS ? makePolicy(next, this.detector) : this.policy;
    const prev = this.settings;
    this.settings = next;
    this.policy = policy;
    if (next.lan.join() !== prev.lan.join() || next.iface !== prev.iface || next.idleS !== prev.idleS) {
      this.book = null; // a new baseline
      this.lanChanges++;
    }
    if (this.book) this.book.collectActive = next.flowOutput === 'all';
    if (next.source !== prev.source) this.reader = new ConntrackReader(next.source);
    if (next.resolveMac !== prev.resolveMac) {
      this.neighbours = next.resolveMac ? new NeighbourTable({ leaseFile: null }) : null;
      this.lastNeighbourRefresh = 0;
    }
    if (!this.started) return;
    if (next.events !== prev.events) this.follow(next.events);
    if (next.interval !== prev.interval) this.schedule();
  }

  /** Forget every flow, device and policy cooldown; the next poll is a new baseline. */
  reset(): void {
    this.book?.reset();
    this.policy.reset();
  }

  /** Stop polling and the event watcher. */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.follow(false);
  }

  private follow(on: boolean): void {
    this.watcher?.stop();
    this.watcher = null;
    if (!on || this.closed) return;
    this.watcher = new DestroyWatcher((e) => this.book?.destroyed(e),
      (err) => this.events.warn(`conntrack events unavailable (${err.message}); flows that end between polls are counted up to their last poll`));
    this.watcher.start();
  }

  private schedule(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = this.settings.interval > 0 && !this.closed ? setInterval(() => void this.poll(), this.settings.interval * 1000) : null;
  }

  /** A book for the current LAN; built again when the LAN changes while an interface is read (else the old LAN would stay). */
  private async buildBook(): Promise<DeviceBook> {
    for (;;) {
      const lanChanges = this.lanChanges;
      const book = await this.makeBook(this.settings);
      if (lanChanges !== this.lanChanges) continue;
      book.collectActive = this.settings.flowOutput === 'all'; // flowOutput may have changed meanwhile
      this.book = book;
      return book;
    }
  }

  private async makeBook(s: ConntrackPollSettings): Promise<DeviceBook> {
    let lan = new CidrSet(s.lan);
    let exclude = new Set<string>();
    if (s.iface) {
      const { networks, addresses } = await interfaceNetworks(s.iface);
      lan = new CidrSet([...lan.cidrs, ...networks]);
      exclude = new Set(addresses);
    }
    return new DeviceBook({ lan, exclude, idleMs: s.idleS * 1000, collectActive: s.flowOutput === 'all' });
  }

  /**
   * The neighbour table is read every 5 s, and at once when a device it has
   * no MAC for shows up: a device's first flows then carry its MAC, so an
   * alert on them (ip-reputation's) names it. The early read is not held back
   * by a recent read: that one may have come just before the device's first
   * packet. Each device triggers it once, so there is at most one read per
   * poll; one the table never lists (beyond a router, no ARP) waits for the
   * 5 s reads like the others.
   */
  private async refreshNeighbours(result: PollResult, now: number): Promise<void> {
    const table = this.neighbours;
    if (!table) return;
    let early = false;
    for (const d of result.devices) {
      if (table.byIp(d.ip)?.mac || this.askedMac.has(d.ip)) continue;
      if (this.askedMac.size >= 4096) this.askedMac.clear();
      this.askedMac.add(d.ip);
      early = true;
    }
    if (now - this.lastNeighbourRefresh <= 5000 && !early) return;
    this.lastNeighbourRefresh = now;
    await table.refresh().catch((err: Error) => this.events.warn(`neighbour table: ${err.message}`));
  }

  private reportOf(result: PollResult): PollReport {
    if (this.neighbours) {
      for (const d of result.devices) {
        const mac = this.neighbours.byIp(d.ip)?.mac;
        if (mac) d.mac = mac;
      }
    }
    const out = this.settings.flowOutput;
    const flows = out === 'all' ? result.active.concat(result.ended) : out === 'new' ? result.started : out === 'ended' ? result.ended : [];
    // New flows, and flows that came and went between two polls (seen only when they ended).
    const alerts = this.policy.check(result.started.concat(result.ended.filter((f) => f.start === f.end)));
    return { devices: result.devices, flows, alerts };
  }
}
