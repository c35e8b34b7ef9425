/**
 * Addresses the blocklist must never block: the box's own addresses
 * (`ip -j addr`) and its default gateways (`ip -j route show default`, IPv4
 * and IPv6). Blocking either would cut the box off its own network.
 */
import { normalizeIp } from '../../base/cidr';
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

/** Read the own addresses and default gateways now. Needs no privileges. */
export async function readProtectedAddresses(runner: CommandRunner, opts: { own: boolean; gateway: boolean }): Promise<ProtectedAddresses> {
  const reasons = new Map<string, string>();
  if (opts.gateway) {
    for (const family of ['-4', '-6']) {
      const { stdout } = await runner.run({ cmd: 'ip', args: ['-j', family, 'route', 'show', 'default'] });
      for (const [ip, why] of parseGateways(stdout)) reasons.set(ip, why);
    }
  }
  if (opts.own) {
    const { stdout } = await runner.run({ cmd: 'ip', args: ['-j', 'addr'] });
    for (const [ip, why] of parseOwnAddresses(stdout)) reasons.set(ip, why);
  }
  return { reasons, readAt: Date.now() };
}
