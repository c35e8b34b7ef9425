/**
 * Plain iptables backend: one DROP rule per address in the node's own chain,
 * for boxes without ipset or nftables sets. The kernel has no timeout for
 * rules, so the blocklist's timer removes them; each rule's comment holds its
 * expiry so a restart picks the timer up again. Blocks cannot end while
 * Node-RED is down. Every packet walks the chain: fine for tens of entries,
 * not for thousands (use ipset or nftables for those). A MAC gets a
 * `-m mac --mac-source` rule in both the iptables and the ip6tables chain, so
 * the device loses IPv4 and IPv6 alike (the match works in INPUT and FORWARD,
 * the hooks the chain is jumped from).
 */
import type { IpFamily } from '../../base/cidr';
import { OwnChain, toolFor, type FirewallBackend, type KernelEntry } from './backend';
import { canonicalAddress, decodeNote, validateChainName, type BlockFamily } from './names';
import type { CommandRunner } from './runner';

export interface IptablesRulesOptions {
  chain: string;
}

const HOST_PREFIX: Record<IpFamily, string> = { 4: '/32', 6: '/128' };

interface ParsedRule {
  ip: string;
  family: BlockFamily;
  comment?: string;
  /** The rule's position in the chain, 1-based. */
  num: number;
}

export class IptablesRulesBackend implements FirewallBackend {
  readonly kind = 'iptables' as const;
  readonly kernelExpiry = false;
  readonly maxTimeoutS = 2 ** 31 - 1;
  private readonly chains: Record<IpFamily, OwnChain>;

  constructor(private readonly runner: CommandRunner, opts: IptablesRulesOptions) {
    const chain = validateChainName(opts.chain);
    this.chains = { 4: new OwnChain(runner, toolFor(4), chain), 6: new OwnChain(runner, toolFor(6), chain) };
  }

  async setup(): Promise<void> {
    for (const family of [4, 6] as const) await this.chains[family].ensure();
  }

  /** What matches the address: `-s host/32|128`, or the MAC match. */
  private match(ip: string, family: BlockFamily): string[] {
    return family === 'mac' ? ['-m', 'mac', '--mac-source', ip] : ['-s', `${ip}${HOST_PREFIX[family]}`];
  }

  private ruleSpec(ip: string, family: BlockFamily, comment: string): string[] {
    return [...this.match(ip, family), '-m', 'comment', '--comment', comment, '-j', 'DROP'];
  }

  /** The chains an address's rules live in: its family's, or both for a MAC. */
  private chainsFor(family: BlockFamily): OwnChain[] {
    return family === 'mac' ? [this.chains[4], this.chains[6]] : [this.chains[family]];
  }

  private async rulesIn(chain: OwnChain): Promise<ParsedRule[]> {
    return parseChainRules(await chain.rules(), chain.chain);
  }

  async add(ip: string, family: BlockFamily, _timeoutS: number, comment: string): Promise<void> {
    for (const chain of this.chainsFor(family)) {
      const existing = (await this.rulesIn(chain)).filter((r) => r.ip === ip);
      if (existing.length === 0) {
        await this.runner.run(chain.cmd('-A', chain.chain, ...this.ruleSpec(ip, family, comment)));
        continue;
      }
      // Re-block: replace in place (new expiry in the comment), drop any duplicates from the bottom up.
      await this.runner.run(chain.cmd('-R', chain.chain, String(existing[0].num), ...this.ruleSpec(ip, family, comment)));
      for (const dup of existing.slice(1).reverse()) await this.runner.run(chain.cmd('-D', chain.chain, String(dup.num)));
    }
  }

  async remove(ip: string, family: BlockFamily): Promise<void> {
    for (const chain of this.chainsFor(family)) {
      if (this.runner.dryRun) {
        await this.runner.run(chain.cmd('-D', chain.chain, ...this.match(ip, family), '-j', 'DROP'));
        continue;
      }
      const existing = (await this.rulesIn(chain)).filter((r) => r.ip === ip);
      for (const r of existing.reverse()) await this.runner.run(chain.cmd('-D', chain.chain, String(r.num)));
    }
  }

  async list(): Promise<KernelEntry[]> {
    const out = new Map<string, KernelEntry>();
    const now = Date.now();
    for (const family of [4, 6] as const) {
      for (const r of await this.rulesIn(this.chains[family])) {
        const note = decodeNote(r.comment);
        const remainingS = note?.expires ? Math.max(0, Math.ceil((note.expires - now) / 1000)) : 0;
        // A rule whose time ran out while Node-RED was down is still in the kernel: report it as due now.
        // A MAC's rule is in both chains: listed once.
        out.set(r.ip, { ip: r.ip, family: r.family, remainingS: note?.expires && remainingS === 0 ? -1 : remainingS, ...(r.comment !== undefined ? { comment: r.comment } : {}) });
      }
    }
    return [...out.values()];
  }

  async flush(): Promise<void> {
    for (const family of [4, 6] as const) await this.chains[family].flush();
  }

  async teardown(): Promise<void> {
    for (const family of [4, 6] as const) await this.chains[family].remove();
  }
}

/**
 * `-A CHAIN -s 10.0.0.1/32 -m comment --comment "ips ..." -j DROP` and
 * `-A CHAIN -m mac --mac-source AA:BB:CC:DD:EE:FF -m comment ... -j DROP`
 * lines → address, family, comment, position.
 */
export function parseChainRules(lines: string[], chain: string): ParsedRule[] {
  const out: ParsedRule[] = [];
  lines.forEach((line, i) => {
    if (!line.startsWith(`-A ${chain} `) || !/ -j DROP$/.test(line)) return;
    const src = / -s (\S+?)(?:\/(?:32|128))? /.exec(line);
    const mac = / --mac-source (\S+) /.exec(line);
    const text = mac ? mac[1] : src ? src[1] : null;
    if (text === null) return;
    const family: BlockFamily = mac ? 'mac' : text.includes(':') ? 6 : 4;
    let ip: string;
    try {
      ip = canonicalAddress(text, family);
    } catch {
      return;
    }
    const comment = / --comment (?:"([^"]*)"|(\S+))/.exec(line);
    out.push({ ip, family, num: i + 1, ...(comment ? { comment: comment[1] ?? comment[2] } : {}) });
  });
  return out;
}
