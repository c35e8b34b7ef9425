/**
 * Whole threat lists in the kernel, for ip-reputation's enforcement: one
 * network set per family (ipset `hash:net`, or an nftables `interval` set)
 * that drops traffic to and from its members, filled in bulk and replaced
 * atomically so there is never a moment without the list:
 * - ipset: a temporary set filled by one `ipset restore` (100,000 entries in
 *   well under a second), then `ipset swap` with the live set (the iptables
 *   rules keep pointing at the live name) and the old contents destroyed;
 * - nftables: `flush set` and `add element` of every entry in one `nft -f`
 *   batch, which the kernel applies as one transaction.
 * What goes in is computed by the caller (merged, minus the allowlist and the
 * protected addresses): this file only loads CIDRs it is given.
 */
import { OwnChain, probe, toolFor } from './backend';
import { validateChainName, validateInt, validateNftName, validateSetName } from './names';
import type { CommandRunner } from './runner';
import type { IpFamily } from '../../base/cidr';

export type ListSetKind = 'ipset' | 'nftables';

export interface ListSetOptions {
  kind: ListSetKind;
  /** ipset base name: sets `<name>-v4`, `<name>-v6`. */
  setName: string;
  /** iptables chain (ipset). */
  chain: string;
  /** nftables table in family inet. */
  table: string;
  maxElem: number;
}

export interface ListSetBackend {
  readonly kind: ListSetKind;
  /** Create sets, chain/table and hooks that are missing; keeps the sets' contents. */
  setup(): Promise<void>;
  /** Replace both sets' contents at once with these CIDRs. */
  replace(v4: readonly string[], v6: readonly string[]): Promise<void>;
  /** Remove hooks, rules and sets. */
  teardown(): Promise<void>;
}

const CIDR_TEXT = /^[0-9a-fA-F:.]+\/\d{1,3}$/;

function checkCidrs(list: readonly string[]): void {
  for (const c of list) if (!CIDR_TEXT.test(c)) throw new Error(`refusing to load '${c}' into a kernel set: not a CIDR`);
}

class IpsetListSets implements ListSetBackend {
  readonly kind = 'ipset' as const;
  private readonly sets: Record<IpFamily, string>;
  private readonly chains: Record<IpFamily, OwnChain>;

  constructor(private readonly runner: CommandRunner, private readonly o: ListSetOptions) {
    const base = validateSetName(o.setName);
    const chain = validateChainName(o.chain);
    this.sets = { 4: `${base}-v4`, 6: `${base}-v6` };
    this.chains = { 4: new OwnChain(runner, toolFor(4), chain), 6: new OwnChain(runner, toolFor(6), chain) };
  }

  private create(set: string, family: IpFamily): { cmd: string; args: string[] } {
    return { cmd: 'ipset', args: ['create', set, 'hash:net', 'family', family === 4 ? 'inet' : 'inet6', 'maxelem', String(this.o.maxElem), '-exist'] };
  }

  async setup(): Promise<void> {
    for (const family of [4, 6] as const) {
      const set = this.sets[family];
      if (!(await probe(this.runner, { cmd: 'ipset', args: ['list', '-n', set] }))) await this.runner.run(this.create(set, family));
      await this.chains[family].ensure([
        ['-m', 'set', '--match-set', set, 'dst', '-j', 'DROP'],
        ['-m', 'set', '--match-set', set, 'src', '-j', 'DROP'],
      ]);
    }
  }

  async replace(v4: readonly string[], v6: readonly string[]): Promise<void> {
    for (const [family, list] of [[4, v4], [6, v6]] as const) {
      checkCidrs(list);
      const live = this.sets[family];
      const tmp = `ipsr-tmp${family}-${process.pid % 1_000_000}`;
      await this.runner.run({ cmd: 'ipset', args: ['destroy', tmp] }).catch(() => undefined);
      const lines = [`create ${tmp} hash:net family ${family === 4 ? 'inet' : 'inet6'} maxelem ${Math.max(this.o.maxElem, list.length)}`];
      for (const c of list) lines.push(`add ${tmp} ${c}`);
      await this.runner.run({ cmd: 'ipset', args: ['restore', '-exist'], input: `${lines.join('\n')}\n` });
      try {
        await this.runner.run({ cmd: 'ipset', args: ['swap', tmp, live] });
      } finally {
        await this.runner.run({ cmd: 'ipset', args: ['destroy', tmp] }).catch(() => undefined);
      }
    }
  }

  async teardown(): Promise<void> {
    for (const family of [4, 6] as const) {
      await this.chains[family].remove();
      if (this.runner.dryRun || (await probe(this.runner, { cmd: 'ipset', args: ['list', '-n', this.sets[family]] }))) {
        await this.runner.run({ cmd: 'ipset', args: ['destroy', this.sets[family]] });
      }
    }
  }
}

const NFT_SETS: Record<IpFamily, string> = { 4: 'rep4', 6: 'rep6' };

class NftListSets implements ListSetBackend {
  readonly kind = 'nftables' as const;
  private readonly table: string;

  constructor(private readonly runner: CommandRunner, private readonly o: ListSetOptions) {
    this.table = `inet ${validateNftName(o.table)}`;
  }

  private batch(lines: string[]): Promise<unknown> {
    return this.runner.run({ cmd: 'nft', args: ['-f', '-'], input: `${lines.join('\n')}\n` });
  }

  async setup(): Promise<void> {
    const t = this.table;
    const lines = [
      `add table ${t}`,
      `add set ${t} ${NFT_SETS[4]} { type ipv4_addr; flags interval; size ${this.o.maxElem}; }`,
      `add set ${t} ${NFT_SETS[6]} { type ipv6_addr; flags interval; size ${this.o.maxElem}; }`,
    ];
    for (const hook of ['input', 'forward', 'output']) {
      lines.push(
        `add chain ${t} ${hook} { type filter hook ${hook} priority filter - 5; policy accept; }`,
        `flush chain ${t} ${hook}`,
        `add rule ${t} ${hook} ip daddr @${NFT_SETS[4]} drop`,
        `add rule ${t} ${hook} ip saddr @${NFT_SETS[4]} drop`,
        `add rule ${t} ${hook} ip6 daddr @${NFT_SETS[6]} drop`,
        `add rule ${t} ${hook} ip6 saddr @${NFT_SETS[6]} drop`,
      );
    }
    await this.batch(lines);
  }

  async replace(v4: readonly string[], v6: readonly string[]): Promise<void> {
    checkCidrs(v4);
    checkCidrs(v6);
    const lines: string[] = [];
    for (const [family, list] of [[4, v4], [6, v6]] as const) {
      lines.push(`flush set ${this.table} ${NFT_SETS[family]}`);
      // Chunks keep each line of the batch a reasonable length; still one transaction.
      for (let i = 0; i < list.length; i += 5000) lines.push(`add element ${this.table} ${NFT_SETS[family]} { ${list.slice(i, i + 5000).join(', ')} }`);
    }
    await this.batch(lines);
  }

  async teardown(): Promise<void> {
    try {
      await this.runner.run({ cmd: 'nft', args: ['delete', 'table', ...this.table.split(' ')] });
    } catch {
      // not there: nothing to remove
    }
  }
}

export function createListSets(runner: CommandRunner, o: ListSetOptions): ListSetBackend {
  validateInt('set size', o.maxElem, 1, 16_777_216);
  return o.kind === 'nftables' ? new NftListSets(runner, o) : new IpsetListSets(runner, o);
}
