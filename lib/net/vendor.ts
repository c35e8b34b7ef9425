/**
 * MAC address → manufacturer from the IEEE registries shipped in npm
 * `oui-data` (MA-L 24-bit, MA-M 28-bit and MA-S 36-bit prefixes; the
 * longest match wins). Loaded once into maps keyed by the numeric prefix,
 * so a lookup is a parse of 12 hex digits and at most three map reads.
 */

/** What a locally administered (often randomised, privacy) MAC is reported as. */
export const LOCALLY_ADMINISTERED = 'randomized (locally administered)';

export interface VendorTable {
  l24: Map<number, string>;
  l28: Map<number, string>;
  l36: Map<number, string>;
  /** 24-bit prefixes that have MA-M or MA-S subdivisions. */
  subdivided: Set<number>;
  size: number;
}

let shared: VendorTable | null = null;

/** Build the maps from an oui-data style object (hex prefix → "Name\naddress..."). */
export function buildVendorTable(data: Record<string, string>): VendorTable {
  const t: VendorTable = { l24: new Map(), l28: new Map(), l36: new Map(), subdivided: new Set(), size: 0 };
  for (const [prefix, text] of Object.entries(data)) {
    if (!/^[0-9A-Fa-f]+$/.test(prefix)) continue;
    const nl = text.indexOf('\n');
    const name = (nl >= 0 ? text.slice(0, nl) : text).trim();
    const n = parseInt(prefix, 16);
    if (prefix.length === 6) t.l24.set(n, name);
    else if (prefix.length === 7) {
      t.l28.set(n, name);
      t.subdivided.add(n >>> 4);
    } else if (prefix.length === 9) {
      t.l36.set(n, name);
      t.subdivided.add(Math.floor(n / 4096));
    } else continue;
    t.size++;
  }
  return t;
}

/** The table from npm oui-data, loaded on first use. */
export function vendorTable(): VendorTable {
  if (!shared) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    shared = buildVendorTable(require('oui-data') as Record<string, string>);
  }
  return shared;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * The first 9 hex digits of a MAC as a number (36 bits), or -1 when `mac`
 * is not a MAC. Accepts aa:bb:cc:dd:ee:ff, aa-bb-..., aabb.ccdd.eeff and
 * aabbccddeeff.
 */
export function macPrefix36(mac: string): number {
  const len = mac.length;
  let digits = 0;
  let value = 0;
  let total = 0;
  for (let i = 0; i < len; i++) {
    const c = mac.charCodeAt(i);
    const v = hexVal(c);
    if (v < 0) {
      if (c !== 58 && c !== 45 && c !== 46) return -1;
      continue;
    }
    if (digits < 9) value = value * 16 + v;
    digits++;
    total++;
  }
  return total === 12 ? value : -1;
}

/** Canonical lowercase colon form, or null when `mac` is not a MAC. */
export function normalizeMac(mac: string): string | null {
  if (typeof mac !== 'string') return null;
  const hex = mac.replace(/[:.-]/g, '').toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(hex) || macPrefix36(mac) < 0) return null;
  return hex.match(/../g)!.join(':');
}

/**
 * Manufacturer name for `mac`, LOCALLY_ADMINISTERED for locally
 * administered addresses, or null when the MAC is invalid or unregistered.
 */
export function lookupVendor(mac: string, table: VendorTable = vendorTable()): string | null {
  const p36 = macPrefix36(mac);
  if (p36 < 0) return null;
  const p24 = Math.floor(p36 / 4096);
  if ((p24 >>> 16) & 0x02) return LOCALLY_ADMINISTERED;
  if (table.subdivided.has(p24)) {
    const s = table.l36.get(p36) ?? table.l28.get(Math.floor(p36 / 256));
    if (s !== undefined) return s;
  }
  return table.l24.get(p24) ?? null;
}
