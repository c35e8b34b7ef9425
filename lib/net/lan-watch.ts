/**
 * lan-watch's engine: the LAN detector (lib/detect/lan.ts) on the packets,
 * plus, live on a router, the kernel's view read every `pollS`: its
 * neighbour table (each entry a claim, so a poisoned kernel is caught even
 * when the ARP reply was not captured), the gateways (the interface's own
 * addresses and MAC — on the router the LAN's gateway is itself — and the
 * default routes' gateways through that interface) and dnsmasq's leases for
 * host names. Alerts name the claiming MAC's vendor (`srcVendor`) and host
 * name (`srcHostname`) as vendor-lookup would, but by MAC only: a spoofing
 * alert's `src` is the claimed address, whose host name is the victim's.
 * Polling is off by default: a capture analysed on a laptop must not be
 * mixed with the laptop's own neighbours.
 */
import type { Alert } from '../detect/alert';
import type { Packet } from '../packet/types';
import { LanDetector, lanSchema, type LanSettings } from '../detect/lan';
import type { DetectorStats } from '../detect/detector';
import { applySettings, settingsFromConfig, type Schema } from '../base/settings';
import { interfaceField } from '../base/ifname';
import { Enricher } from './enrich';
import { DEFAULT_LEASE_FILE, interfaceAddresses, interfaceMac, NeighbourTable, readDefaultGateways, readNeighbours } from './neighbours';

export interface LanWatchSettings extends LanSettings {
  /** LAN interface whose neighbours and own addresses are read; blank: every interface, no own addresses. */
  iface: string;
  /** Read the kernel's neighbour table, gateways and leases this often, s; 0: never (captures). */
  pollS: number;
  leaseFile: string;
}

export const lanWatchSchema: Schema<LanWatchSettings> = {
  ...lanSchema,
  iface: interfaceField('Interface', "LAN interface (e.g. br0) whose kernel neighbours are read and whose own addresses are the gateway's; blank: every interface"),
  pollS: { type: 'number', min: 0, max: 3600, default: 0, unit: 's', label: 'Poll kernel', help: "read the kernel's neighbour table, default routes and the lease file this often; 0: never (captures)" },
  leaseFile: {
    type: 'string', maxLength: 4096, pattern: '/.*', patternError: 'is relative: the lease file must be an absolute path', keepBlank: true,
    default: DEFAULT_LEASE_FILE, label: 'Lease file', help: "dnsmasq's DHCP lease file (host names of new devices), read when polling; blank = none",
  },
};

/** The LanDetector's share of a settings patch (its schema refuses the others). */
function detectorPatch(patch: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(patch).filter(([k]) => k in lanSchema));
}

export interface LanWatchEvents {
  /** Alerts raised outside `process`, by a poll of the kernel's neighbour table. */
  alerts(alerts: Alert[]): void;
  /** Each distinct failure of a poll (the packets are still watched). */
  error(err: Error): void;
}

export class LanWatch {
  readonly detector: LanDetector;
  private current: LanWatchSettings;
  private leases: NeighbourTable;
  private enricher: Enricher;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private closed = false;
  /** Why the last poll failed, until one works. */
  fault: string | null = null;

  constructor(name: string, config: Record<string, unknown>, private readonly events: LanWatchEvents) {
    this.current = settingsFromConfig(lanWatchSchema, config);
    this.detector = new LanDetector(name, config);
    this.leases = this.leaseTable();
    this.enricher = new Enricher(this.leases, { ip: '', mac: 'srcMac', outVendor: 'srcVendor', outHostname: 'srcHostname', outMac: '' });
  }

  get settings(): Readonly<LanWatchSettings> {
    return this.current;
  }

  get stats(): DetectorStats {
    return this.detector.stats;
  }

  statusNote(): string {
    return `${this.detector.deviceCount} devices`;
  }

  private leaseTable(): NeighbourTable {
    return new NeighbourTable({ leaseFile: this.current.leaseFile === '' ? null : this.current.leaseFile, useNeighbours: false });
  }

  process(packets: readonly Packet[]): Alert[] {
    return this.enrich(this.detector.process(packets));
  }

  /** Vendor and host name of the MAC each alert names: the host name from DHCP seen in the packets, else the lease file. */
  private enrich(alerts: Alert[]): Alert[] {
    for (const a of alerts) {
      if (a.srcMac === undefined) continue;
      const hostname = this.detector.device(a.srcMac)?.hostname;
      if (hostname !== undefined) (a as Alert & { srcHostname?: string }).srcHostname = hostname;
      this.enricher.enrichObject(a as unknown as Record<string, unknown>);
    }
    return alerts;
  }

  /** Poll now and every pollS (when not 0). Never rejects: failures go to events.error. */
  start(): Promise<void> {
    this.schedule();
    return this.current.pollS > 0 ? this.poll() : Promise.resolve();
  }

  configure(patch: unknown): void {
    const next = applySettings(lanWatchSchema, this.current, patch);
    this.detector.configure(detectorPatch(patch as Record<string, unknown>));
    const prev = this.current;
    this.current = next;
    if (next.leaseFile !== prev.leaseFile) {
      this.leases = this.leaseTable();
      this.enricher = new Enricher(this.leases, { ip: '', mac: 'srcMac', outVendor: 'srcVendor', outHostname: 'srcHostname', outMac: '' });
    }
    if (next.pollS !== prev.pollS || next.iface !== prev.iface) void this.start();
  }

  reset(): void {
    this.detector.reset();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = this.closed || this.current.pollS === 0 ? null : setInterval(() => void this.poll(), this.current.pollS * 1000);
  }

  /** Read the kernel's neighbours, gateways and the leases once (or join the reading under way). */
  poll(): Promise<void> {
    if (this.polling) return this.polling;
    const done = this.read().then((alerts) => {
      this.fault = null;
      if (alerts.length && !this.closed) this.events.alerts(alerts);
    }, (err: Error) => {
      if (err.message !== this.fault) this.events.error(err);
      this.fault = err.message;
    }).finally(() => {
      this.polling = null;
    });
    this.polling = done;
    return done;
  }

  private async read(): Promise<Alert[]> {
    const iface = this.current.iface;
    const [neighbours, routes, own, ownMac] = await Promise.all([
      readNeighbours(iface || undefined),
      readDefaultGateways(),
      iface ? interfaceAddresses(iface) : Promise.resolve([]),
      iface ? interfaceMac(iface) : Promise.resolve(null),
      this.leases.refresh(),
    ]);
    const gateways = [
      ...own.map((ip) => ({ ip, ...(ownMac ? { mac: ownMac } : {}) })),
      // a route's gateway gets the MAC of the first answer for it (a poisoned table read now would teach the liar's)
      ...routes.filter((r) => !iface || r.dev === iface).map((r) => ({ ip: r.ip })),
    ];
    this.detector.setGateways(gateways);
    return this.enrich(this.detector.observeNeighbours(neighbours, Date.now()));
  }
}
