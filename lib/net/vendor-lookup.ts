/**
 * vendor-lookup's engine: an Enricher over a neighbour table (kernel
 * neighbours and the DHCP lease file) that is read at start, every refresh
 * period, and sooner when an address shows up that the table does not know.
 * `close()` stops the refresh timer.
 */
import type { FieldSpec, Schema } from '../base/settings';
import { Enricher, PROPERTY_NAME, type FieldChoice } from './enrich';
import { DEFAULT_LEASE_FILE, NeighbourTable } from './neighbours';

export interface VendorLookupSettings {
  fields: 'auto' | 'custom';
  ipField: string;
  macField: string;
  vendorField: string;
  hostnameField: string;
  outMacField: string;
  leaseFile: string;
  neighbours: boolean;
  refreshS: number;
}

/** A custom property name; blank = none (do not read or write it). */
function property(name: string, label: string, help: string): FieldSpec & { type: 'string' } {
  return { type: 'string', maxLength: 64, pattern: PROPERTY_NAME, patternError: 'is not a property name', keepBlank: true, default: name, label, help: `${help} (custom; blank = none)` };
}

export const vendorLookupSchema: Schema<VendorLookupSettings> = {
  fields: { type: 'enum', values: ['auto', 'custom'], default: 'auto', label: 'Properties', help: "'auto': Device stats by ip/mac, Packets and Alerts by src/srcMac; 'custom': the properties below" },
  ipField: property('ip', 'Read IP from', 'property holding the IP address'),
  macField: property('mac', 'Read MAC from', 'property holding the MAC address'),
  vendorField: property('vendor', 'Write vendor to', 'property that gets the manufacturer'),
  hostnameField: property('hostname', 'Write hostname to', 'property that gets the hostname from the DHCP lease'),
  outMacField: property('mac', 'Write MAC to', 'property that gets the MAC found for the IP'),
  leaseFile: {
    type: 'string', maxLength: 4096, pattern: '/.*', patternError: 'is relative: the lease file must be an absolute path', keepBlank: true,
    default: DEFAULT_LEASE_FILE, label: 'Lease file', help: "dnsmasq's DHCP lease file (hostnames); blank = none",
  },
  neighbours: { type: 'bool', default: true, label: 'Neighbours', help: 'read IP → MAC from the kernel neighbour table (ip neigh)' },
  refreshS: { type: 'number', min: 1, max: 86_400, default: 30, unit: 's', label: 'Refresh', help: 'read the neighbour table and lease file again this often (sooner for an unknown address)' },
};

/** After a miss, read the tables again only if the last reading is older than this. */
const MISS_REFRESH_MS = 2000;

function fieldsOf(s: VendorLookupSettings): FieldChoice {
  if (s.fields === 'auto') return 'auto';
  return { ip: s.ipField, mac: s.macField, outVendor: s.vendorField, outHostname: s.hostnameField, outMac: s.outMacField };
}

function tableOf(s: VendorLookupSettings): NeighbourTable {
  return new NeighbourTable({ leaseFile: s.leaseFile === '' ? null : s.leaseFile, useNeighbours: s.neighbours });
}

export class VendorLookup {
  private table: NeighbourTable;
  private enricher: Enricher;
  private refreshS: number;
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private closed = false;
  /** Why the last reading of the tables failed, until one works. */
  fault: string | null = null;

  private readonly missRefreshMs: number;

  /**
   * `events.error` hears each distinct failure to read the tables (lookups go on with what is known), `events.read` each reading that worked.
   * `missRefreshMs`: after a miss, the tables are read again if the last reading is older than this.
   */
  constructor(settings: VendorLookupSettings, private readonly events: { error(err: Error): void; read(): void }, options: { missRefreshMs?: number } = {}) {
    this.missRefreshMs = options.missRefreshMs ?? MISS_REFRESH_MS;
    this.table = tableOf(settings);
    this.enricher = new Enricher(this.table, fieldsOf(settings));
    this.refreshS = settings.refreshS;
  }

  /** Read the tables once, then every refresh period. Never rejects: failures go to events.error. */
  start(): Promise<void> {
    this.schedule();
    return this.refresh();
  }

  /** Hosts known from the last reading. */
  get hosts(): number {
    return this.table.size;
  }

  /** Enrich a payload in place (see Enricher.enrich); returns how many objects gained something. */
  enrich(payload: unknown): number {
    const n = this.enricher.enrich(payload);
    // An address we do not know yet: read the tables again soon, not only at the next period.
    if (this.enricher.misses > 0 && Date.now() - this.table.lastRefresh > this.missRefreshMs) void this.refresh();
    return n;
  }

  /** New settings (checked by the schema): new tables are read at once, a new period starts now. */
  configure(next: VendorLookupSettings, prev: VendorLookupSettings): void {
    if (next.leaseFile !== prev.leaseFile || next.neighbours !== prev.neighbours) {
      this.table = tableOf(next);
      this.refreshing = null; // a reading of the old tables may be under way: read the new ones now
      void this.refresh();
    }
    this.enricher = new Enricher(this.table, fieldsOf(next));
    if (next.refreshS !== this.refreshS) {
      this.refreshS = next.refreshS;
      this.schedule();
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = this.closed ? null : setInterval(() => void this.refresh(), this.refreshS * 1000);
  }

  /** Read the tables now (or join the reading under way). Never rejects: failures go to events.error. */
  refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    const table = this.table;
    // A reading of tables that configure() has since replaced tells nothing about the ones in use.
    const done: Promise<void> = table.refresh().then(() => {
      if (this.table !== table) return;
      this.enricher.misses = 0;
      this.fault = null;
      this.events.read();
    }, (err: Error) => {
      if (this.table !== table) return;
      if (err.message !== this.fault) this.events.error(err);
      this.fault = err.message;
    }).finally(() => {
      if (this.refreshing === done) this.refreshing = null;
    });
    this.refreshing = done;
    return done;
  }
}
