/**
 * Who is on the LAN: the kernel neighbour table (`ip -j neigh`), dnsmasq's
 * DHCP lease file, and an interface's own addresses (`ip -j addr`), merged
 * into IP → MAC/hostname and MAC → IP/hostname maps.
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { isValidIp, normalizeIp, parseCidr, type Cidr } from '../base/cidr';
import { normalizeMac } from './vendor';
import { assertInterfaceName } from '../base/ifname';

export const DEFAULT_LEASE_FILE = '/var/lib/misc/dnsmasq.leases';

export interface Neighbour {
  ip: string;
  mac: string;
  dev?: string;
  state?: string;
}

export interface Lease {
  ip: string;
  /** Absent for DHCPv6 leases (dnsmasq stores the IAID there). */
  mac?: string;
  hostname?: string;
  /** ms since epoch; 0 = infinite. */
  expires: number;
}

function runIp(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { maxBuffer: 64 * 1024 * 1024, timeout: 10_000 }, (err, stdout, stderr) => {
      if (!err) return resolve(String(stdout));
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new Error("'ip' not found: install the Debian package 'iproute2'"));
      reject(new Error(`ip ${args.join(' ')}: ${String(stderr || err.message).trim().split('\n')[0]}`));
    });
  });
}

interface IpNeighJson {
  dst?: string;
  dev?: string;
  lladdr?: string;
  state?: string[];
}

/** Parse `ip -j neigh` output; entries without a link-layer address or FAILED/INCOMPLETE are left out. */
export function parseNeighbours(json: string): Neighbour[] {
  const rows = JSON.parse(json || '[]') as IpNeighJson[];
  const out: Neighbour[] = [];
  for (const r of rows) {
    if (!r.dst || !r.lladdr || !isValidIp(r.dst)) continue;
    const state = r.state?.[0];
    if (state === 'FAILED' || state === 'INCOMPLETE') continue;
    const mac = normalizeMac(r.lladdr);
    if (!mac) continue;
    out.push({ ip: normalizeIp(r.dst), mac, ...(r.dev ? { dev: r.dev } : {}), ...(state ? { state } : {}) });
  }
  return out;
}

export async function readNeighbours(dev?: string): Promise<Neighbour[]> {
  if (dev !== undefined) assertInterfaceName(dev);
  return parseNeighbours(await runIp(['-j', 'neigh', 'show', ...(dev ? ['dev', dev] : [])]));
}

/**
 * Parse a dnsmasq lease file: 'EXPIRY MAC IP HOSTNAME CLIENTID' per line
 * (hostname '*' = none); DHCPv6 leases follow a 'duid ...' line with the
 * IAID in place of the MAC.
 */
export function parseLeases(text: string): Lease[] {
  const out: Lease[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[0] === 'duid' || !/^\d+$/.test(f[0]) || !isValidIp(f[2])) continue;
    const mac = normalizeMac(f[1]);
    out.push({
      ip: normalizeIp(f[2]),
      ...(mac ? { mac } : {}),
      ...(f[3] !== '*' ? { hostname: f[3] } : {}),
      expires: Number(f[0]) * 1000,
    });
  }
  return out;
}

/** Leases from a file; a missing file is an empty list (dnsmasq not started yet). */
export async function readLeases(path = DEFAULT_LEASE_FILE): Promise<Lease[]> {
  try {
    return parseLeases(await fsp.readFile(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`cannot read lease file ${path}: ${(err as Error).message}`);
  }
}

export interface HostInfo {
  ip?: string;
  mac?: string;
  hostname?: string;
}

/** IP ↔ MAC ↔ hostname from the neighbour table and the lease file, swapped in whole on each refresh. */
export class NeighbourTable {
  private byIpMap = new Map<string, HostInfo>();
  private byMacMap = new Map<string, HostInfo>();
  lastRefresh = 0;

  constructor(private readonly opts: { leaseFile?: string | null; useNeighbours?: boolean } = {}) {}

  /** Replace the maps from fresh readings (exposed for tests and custom sources). */
  load(neighbours: readonly Neighbour[], leases: readonly Lease[], now = Date.now()): void {
    const byIp = new Map<string, HostInfo>();
    const byMac = new Map<string, HostInfo>();
    for (const l of leases) {
      if (l.expires !== 0 && l.expires < now) continue;
      const info: HostInfo = { ip: l.ip, ...(l.mac ? { mac: l.mac } : {}), ...(l.hostname ? { hostname: l.hostname } : {}) };
      byIp.set(l.ip, info);
      if (l.mac) byMac.set(l.mac, info);
    }
    for (const n of neighbours) {
      const lease = byMac.get(n.mac);
      const info: HostInfo = { ip: n.ip, mac: n.mac, ...(lease?.hostname ? { hostname: lease.hostname } : {}) };
      byIp.set(n.ip, info);
      if (!byMac.has(n.mac) || n.ip.includes('.')) byMac.set(n.mac, { ...byMac.get(n.mac), ...info });
    }
    this.byIpMap = byIp;
    this.byMacMap = byMac;
    this.lastRefresh = now;
  }

  async refresh(): Promise<void> {
    const [neigh, leases] = await Promise.all([
      this.opts.useNeighbours === false ? Promise.resolve([]) : readNeighbours(),
      this.opts.leaseFile === null ? Promise.resolve([]) : readLeases(this.opts.leaseFile ?? DEFAULT_LEASE_FILE),
    ]);
    this.load(neigh, leases);
  }

  byIp(ip: string): HostInfo | undefined {
    return this.byIpMap.get(ip) ?? (ip.includes(':') && isValidIp(ip) ? this.byIpMap.get(normalizeIp(ip)) : undefined);
  }

  byMac(mac: string): HostInfo | undefined {
    return this.byMacMap.get(mac) ?? (() => {
      const m = normalizeMac(mac);
      return m ? this.byMacMap.get(m) : undefined;
    })();
  }

  get size(): number {
    return this.byIpMap.size;
  }
}

interface IpAddrJson {
  ifname?: string;
  addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string }[];
}

async function addressRows(dev: string): Promise<IpAddrJson[]> {
  assertInterfaceName(dev);
  return JSON.parse(await runIp(['-j', 'addr', 'show', 'dev', dev]) || '[]') as IpAddrJson[];
}

/** Every address of an interface, link-local IPv6 included (a LAN's IPv6 gateway is its router's link-local address). */
export async function interfaceAddresses(dev: string): Promise<string[]> {
  return (await addressRows(dev)).flatMap((r) => (r.addr_info ?? []).flatMap((a) => (a.local && isValidIp(a.local) ? [normalizeIp(a.local)] : [])));
}

/** An interface's own addresses and the networks they are on (link-local IPv6 left out). */
export async function interfaceNetworks(dev: string): Promise<{ networks: Cidr[]; addresses: string[] }> {
  const rows = await addressRows(dev);
  const networks: Cidr[] = [];
  const addresses: string[] = [];
  for (const r of rows) {
    for (const a of r.addr_info ?? []) {
      if (!a.local || a.prefixlen === undefined || a.scope === 'link') continue;
      addresses.push(normalizeIp(a.local));
      networks.push(parseCidr(`${a.local}/${a.prefixlen}`));
    }
  }
  if (!networks.length) throw new Error(`interface ${dev} has no IPv4 or global IPv6 address`);
  return { networks, addresses };
}

interface IpRouteJson {
  gateway?: string;
  dev?: string;
}

/** The gateways of the default routes (IPv4 and IPv6), with the interface each is reached through. */
export async function readDefaultGateways(): Promise<{ ip: string; dev?: string }[]> {
  const out: { ip: string; dev?: string }[] = [];
  for (const family of ['-4', '-6']) {
    const rows = JSON.parse(await runIp([family, '-j', 'route', 'show', 'default']) || '[]') as IpRouteJson[];
    for (const r of rows) if (r.gateway && isValidIp(r.gateway)) out.push({ ip: normalizeIp(r.gateway), ...(r.dev ? { dev: r.dev } : {}) });
  }
  return out;
}

/** An interface's own MAC, or null when it has none (e.g. a tunnel). */
export async function interfaceMac(dev: string): Promise<string | null> {
  assertInterfaceName(dev);
  const rows = JSON.parse(await runIp(['-j', 'link', 'show', 'dev', dev]) || '[]') as { address?: string }[];
  const mac = rows[0]?.address;
  return mac ? normalizeMac(mac) : null;
}
