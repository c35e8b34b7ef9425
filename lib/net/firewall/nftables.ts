/**
 * nftables backend: the node's own table (`inet ips` by default) with two
 * address sets and one `ether_addr` set (`flags timeout`), and input/forward
 * chains that drop their sources (`ether saddr` for the MAC set: a blocked
 * device loses IPv4 and IPv6 alike).
 * Changes go to `nft -f -` as one batch, so each one is a single transaction.
 */
import { isAbsent, type FirewallBackend, type KernelEntry } from './backend';
import { canonicalAddress, validateInt, validateNftName, type BlockFamily } from './names';
import type { CommandRunner } from './runner';

export interface NftOptions {
  table: string;
  /** Most entries per set. */
  maxElem: number;
}

const SETS: Record<BlockFamily, string> = { 4: 'block4', 6: 'block6', mac: 'blockmac' };
const FAMILIES: readonly BlockFamily[] = [4, 6, 'mac'];
/** nft takes much longer timeouts than ipset; this keeps them within 32-bit seconds. */
const NFT_MAX_TIMEOUT_S = 2 ** 31 - 1;

export class NftBackend implements FirewallBackend {
  readonly kind = 'nftables' as const;
  readonly kernelExpiry = true;
  readonly maxTimeoutS = NFT_MAX_TIMEOUT_S;
  readonly table: string;
  private readonly maxElem: number;

  constructor(private readonly runner: CommandRunner, opts: NftOptions) {
    this.table = validateNftName(opts.table);
    this.maxElem = validateInt('set size', opts.maxElem, 1, 16_777_216);
  }

  private batch(lines: string[]): Promise<unknown> {
    return this.runner.run({ cmd: 'nft', args: ['-f', '-'], input: `${lines.join('\n')}\n` });
  }

  async setup(): Promise<void> {
    const t = `inet ${this.table}`;
    // 'add' leaves existing tables and sets (and their elements) as they are;
    // the chains are ours, so flushing and refilling them keeps exactly one rule each.
    const lines = [
      `add table ${t}`,
      `add set ${t} ${SETS[4]} { type ipv4_addr; flags timeout; size ${this.maxElem}; }`,
      `add set ${t} ${SETS[6]} { type ipv6_addr; flags timeout; size ${this.maxElem}; }`,
      `add set ${t} ${SETS.mac} { type ether_addr; flags timeout; size ${this.maxElem}; }`,
    ];
    for (const hook of ['input', 'forward']) {
      lines.push(
        `add chain ${t} ${hook} { type filter hook ${hook} priority filter - 10; policy accept; }`,
        `flush chain ${t} ${hook}`,
        `add rule ${t} ${hook} ip saddr @${SETS[4]} drop`,
        `add rule ${t} ${hook} ip6 saddr @${SETS[6]} drop`,
        `add rule ${t} ${hook} ether saddr @${SETS.mac} drop`,
      );
    }
    await this.batch(lines);
  }

  async add(ip: string, family: BlockFamily, timeoutS: number, comment: string): Promise<void> {
    const set = `inet ${this.table} ${SETS[family]}`;
    const timeout = timeoutS > 0 ? ` timeout ${timeoutS}s` : '';
    // 'add' does not change the timeout of an element that exists: make sure it
    // exists, delete it, add it anew, all in one transaction.
    await this.batch([
      `add element ${set} { ${ip} }`,
      `delete element ${set} { ${ip} }`,
      `add element ${set} { ${ip}${timeout} comment "${comment}" }`,
    ]);
  }

  async remove(ip: string, family: BlockFamily): Promise<void> {
    const set = `inet ${this.table} ${SETS[family]}`;
    await this.batch([`add element ${set} { ${ip} }`, `delete element ${set} { ${ip} }`]);
  }

  async list(): Promise<KernelEntry[]> {
    const out: KernelEntry[] = [];
    if (this.runner.dryRun) return out;
    for (const family of FAMILIES) {
      try {
        const { stdout } = await this.runner.run({ cmd: 'nft', args: ['-j', 'list', 'set', 'inet', this.table, SETS[family]] });
        out.push(...parseNftSetJson(stdout, family));
      } catch (err) {
        if (!isAbsent(err)) throw err;
      }
    }
    return out;
  }

  async flush(): Promise<void> {
    await this.batch(FAMILIES.map((f) => `flush set inet ${this.table} ${SETS[f]}`));
  }

  async teardown(): Promise<void> {
    // The table holds only what the node made: deleting it removes sets, chains and hooks together.
    await this.batch([`add table inet ${this.table}`, `delete table inet ${this.table}`]);
  }
}

interface NftElem {
  elem?: { val?: unknown; timeout?: number; expires?: number; comment?: string };
}

/** Elements of `nft -j list set ...`: plain strings, or { elem: { val, timeout, expires, comment } }. */
export function parseNftSetJson(text: string, family: BlockFamily): KernelEntry[] {
  const out: KernelEntry[] = [];
  const doc = JSON.parse(text) as { nftables?: { set?: { elem?: (string | NftElem)[] } }[] };
  for (const item of doc.nftables ?? []) {
    for (const el of item.set?.elem ?? []) {
      const val = typeof el === 'string' ? el : el.elem?.val;
      if (typeof val !== 'string') continue;
      let ip: string;
      try {
        ip = canonicalAddress(val, family);
      } catch {
        continue;
      }
      const e = typeof el === 'string' ? undefined : el.elem;
      // An element with a timeout always has one left; 'expires' is what remains.
      const remainingS = e?.timeout ? Math.max(1, e.expires ?? e.timeout) : 0;
      out.push({ ip, family, remainingS, ...(e?.comment !== undefined ? { comment: e.comment } : {}) });
    }
  }
  return out;
}
