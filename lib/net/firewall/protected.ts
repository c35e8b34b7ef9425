/**
 * Addresses the blocklist must never block: the box's own addresses
 * (`ip -j addr`) and its default gateways (`ip -j route show default`, IPv4
 * and IPv6). Blocking either would cut the box off its own network. The
 * same for MACs: the box's own interfaces' (`ip -j link`) and the gateways'
 * (their entries in `ip -j neigh`): on a router all upstream traffic arrives
 * from the gateway's MAC, so blocking it would cut the WAN side off.
 */
import { normalizeIp } from '../../base/cidr';
import { looksLikeMac } from './names';
import type { CommandRunner } from './runner';

export interface ProtectedAddresses {
  /** Canonical address → why it is protected. */
  reasons: Map<string, string>;
  readAt: number;
}

interface IpAddrJson {
  ifname?: string;
  addr_info?: { local?: string }[];
}

interface IpLinkJson {
  ifname?: string;
  address?: string;
  link_type?: string;
}

interface IpNeighJson {
  dst?: string;
  lladdr?: string;
  dev?: string;
}

interface IpRouteJson {
  gateway?: string;
  via?: { family?: string; host?: string };
  dev?: string;
}

function canonical(s: unknown): string | null {
  if (typeof s !== 'string') return null;
  try {
    return normalizeIp(s.split('%')[0]);
  } catch {
    return null;
  }
}

export function parseOwnAddresses(json: string): Map<string, string> {
  const out = new Map<string, string>();
  const links = (json.trim() ? JSON.parse(json) : []) as IpAddrJson[];
  for (const link of links) {
    for (const a of link.addr_info ?? []) {
      const ip = canonical(a.local);
      if (ip) out.set(ip, `it is one of this box's own addresses (${link.ifname ?? '?'})`);
    }
  }
  return out;
}

export function parseGateways(json: string): Map<string, string> {
  const out = new Map<string, string>();
  const routes = (json.trim() ? JSON.parse(json) : []) as IpRouteJson[];
  for (const r of routes) {
    const ip = canonical(r.gateway ?? r.via?.host);
    if (ip) out.set(ip, `it is the default gateway${r.dev ? ` (via ${r.dev})` : ''}`);
  }
  return out;
}

/** MACs of the box's own interfaces (loopback and the zero address are no device's). */
export function parseOwnMacs(json: string): Map<string, string> {
  const out = new Map<string, string>();
  const links = (json.trim() ? JSON.parse(json) : []) as IpLinkJson[];
  for (const link of links) {
    const mac = link.address?.toLowerCase();
    if (!mac || !looksLikeMac(mac) || mac === '00:00:00:00:00:00') continue;
    out.set(mac, `it is the MAC of one of this box's own interfaces (${link.ifname ?? '?'})`);
  }
  return out;
}

/** MACs the neighbour table holds for the gateway addresses `gateways` names. */
export function parseGatewayMacs(json: string, gateways: ReadonlyMap<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  const rows = (json.trim() ? JSON.parse(json) : []) as IpNeighJson[];
  for (const r of rows) {
    const ip = canonical(r.dst);
    const mac = r.lladdr?.toLowerCase();
    if (!ip || !mac || !looksLikeMac(mac) || !gateways.has(ip)) continue;
    out.set(mac, `it is the MAC of the default gateway ${ip}${r.dev ? ` (on ${r.dev})` : ''}`);
  }
  return out;
}

/** Read the own addresses and default gateways now. Needs no privileges. */
export async function readProtectedAddresses(runner: CommandRunner, opts: { own: boolean; gateway: boolean }): Promise<ProtectedAddresses> {
  const reasons = new Map<string, string>();
  if (opts.gateway) {
    const gateways = new Map<string, string>();
    for (const family of ['-4', '-6']) {
      const { stdout } = await runner.run({ cmd: 'ip', args: ['-j', family, 'route', 'show', 'default'] });
      for (const [ip, why] of parseGateways(stdout)) gateways.set(ip, why);
    }
    for (const [ip, why] of gateways) reasons.set(ip, why);
    if (gateways.size) {
      const { stdout } = await runner.run({ cmd: 'ip', args: ['-j', 'neigh', 'show'] });
      for (const [mac, why] of parseGatewayMacs(stdout, gateways)) reasons.set(mac, why);
    }
  }
  if (opts.own) {
    const { stdout } = await runner.run({ cmd: 'ip', args: ['-j', 'addr'] });
    for (const [ip, why] of parseOwnAddresses(stdout)) reasons.set(ip, why);
    const links = await runner.run({ cmd: 'ip', args: ['-j', 'link'] });
    for (const [mac, why] of parseOwnMacs(links.stdout)) reasons.set(mac, why);
  }
  return { reasons, readAt: Date.now() };
}
