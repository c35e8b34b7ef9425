/**
 * What vendor-lookup adds to the objects of any message — Device stats
 * arrays, Packets, Alerts: manufacturer, MAC and hostname, read from and
 * written to configurable properties.
 */
import { lookupVendor, vendorTable, type VendorTable } from './vendor';
import type { NeighbourTable } from './neighbours';

export interface EnrichFields {
  /** Property holding the IP address ('' = none). */
  ip: string;
  /** Property holding the MAC address ('' = none). */
  mac: string;
  /** Properties to write ('' = do not write). */
  outVendor: string;
  outHostname: string;
  outMac: string;
}

/** Device stats and anything shaped like it. */
export const DEVICE_FIELDS: EnrichFields = { ip: 'ip', mac: 'mac', outVendor: 'vendor', outHostname: 'hostname', outMac: 'mac' };
/** Packets and Alerts: the source end. */
export const SOURCE_FIELDS: EnrichFields = { ip: 'src', mac: 'srcMac', outVendor: 'srcVendor', outHostname: 'srcHostname', outMac: 'srcMac' };

/** A plain property name (regular expression source, unanchored). */
export const PROPERTY_NAME = '[A-Za-z_$][\\w$]{0,63}';
const PROP = new RegExp(`^${PROPERTY_NAME}$`);

/** Check a field set: every name empty or a plain property name. */
export function checkFields(f: EnrichFields): EnrichFields {
  for (const [k, v] of Object.entries(f)) {
    if (typeof v !== 'string' || (v !== '' && !PROP.test(v))) throw new Error(`${k}: '${String(v)}' is not a property name`);
  }
  return f;
}

/** 'auto' picks per object: Device stats (has ip) or Packet/Alert (has src). */
export type FieldChoice = 'auto' | EnrichFields;

export class Enricher {
  private readonly table: VendorTable;
  /** IPs looked up but not found since the last refresh (a hint to refresh sooner). */
  misses = 0;

  constructor(private readonly neighbours: NeighbourTable | null, private readonly fields: FieldChoice = 'auto', table?: VendorTable) {
    this.table = table ?? vendorTable();
  }

  private fieldsFor(o: Record<string, unknown>): EnrichFields {
    if (this.fields !== 'auto') return this.fields;
    return typeof o.ip === 'string' ? DEVICE_FIELDS : SOURCE_FIELDS;
  }

  /** Enrich one object in place; returns true when something was added. */
  enrichObject(o: Record<string, unknown>): boolean {
    const f = this.fieldsFor(o);
    const ip = f.ip ? o[f.ip] : undefined;
    let mac = f.mac ? o[f.mac] : undefined;
    const host = typeof ip === 'string' && this.neighbours ? this.neighbours.byIp(ip) : undefined;
    if (typeof ip === 'string' && this.neighbours && !host) this.misses++;
    let changed = false;
    if (typeof mac !== 'string' && host?.mac) {
      mac = host.mac;
      if (f.outMac) {
        o[f.outMac] = mac;
        changed = true;
      }
    }
    if (typeof mac === 'string' && f.outVendor) {
      const vendor = lookupVendor(mac, this.table);
      if (vendor !== null) {
        o[f.outVendor] = vendor;
        changed = true;
      }
    }
    if (f.outHostname) {
      const hostname = host?.hostname ?? (typeof mac === 'string' && this.neighbours ? this.neighbours.byMac(mac)?.hostname : undefined);
      if (hostname) {
        o[f.outHostname] = hostname;
        changed = true;
      }
    }
    return changed;
  }

  /** Enrich a payload: one object or an array of them; other values pass untouched. Returns how many objects gained something. */
  enrich(payload: unknown): number {
    if (Array.isArray(payload)) {
      let n = 0;
      for (const item of payload) if (item && typeof item === 'object' && this.enrichObject(item as Record<string, unknown>)) n++;
      return n;
    }
    if (payload && typeof payload === 'object' && !Buffer.isBuffer(payload)) return this.enrichObject(payload as Record<string, unknown>) ? 1 : 0;
    return 0;
  }
}
