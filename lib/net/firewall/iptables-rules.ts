/**
 * Plain iptables backend: one DROP rule per address in the node's own chain,
 * for boxes without ipset or nftables sets. The kernel has no timeout for
 * rules, so the blocklist's timer removes them; each rule's comment holds its
 * expiry so a restart picks the timer up again. Blocks cannot end while
 * Node-RED is down. Every packet walks the chain: fine for tens of entries,
 * not for thousands (use ipset or nftables for those).
 */
import type { IpFamily } from '../../base/cidr';
import { normalizeIp } from '../../base/cidr';
import { OwnChain, toolFor, type FirewallBackend, type KernelEntry } from './backend';
import { decodeNote, validateChainName } from './names';
import type { CommandRunner } from './runner';

export interface IptablesRulesOptions {
  chain: string;
}

const HOST_PREFIX: Record<IpFamily, string> = { 4: '/32', 6: '/128' };

interface ParsedRule {
  ip: string;
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

  private ruleSpec(ip: string, family: IpFamily, comment: string): string[] {
    return ['-s', `${ip}${HOST_PREFIX[family]}`, '-m', 'comment', '--comment', comment, '-j', 'DROP'];
  }

  private async rulesFor(family: IpFamily): Promise<ParsedRule[]> {
    const chain = this.chains[family];
    return parseChainRules(await chain.rules(), chain.chain);
  }

  async add(ip: string, family: IpFamily, _timeoutS: number, comment: string): Promise<void> {
    const chain = this.chains[family];
    const existing = (await this.rulesFor(family)).filter((r) => r.ip === ip);
    if (existing.length === 0) {
      await this.runner.run(chain.cmd('-A', chain.chain, ...this.ruleSpec(ip, family, comment)));
      return;
    }
    // Re-block: replace in place (new expiry in the comment), drop any duplicates from the bottom up.
    await this.runner.run(chain.cmd('-R', chain.chain, String(existing[0].num), ...this.ruleSpec(ip, family, comment)));
    for (const dup of existing.slice(1).reverse()) await this.runner.run(chain.cmd('-D', chain.chain, String(dup.num)));
  }

  async remove(ip: string, family: IpFamily): Promise<void> {
    const chain = this.chains[family];
    if (this.runner.dryRun) {
      await this.runner.run(chain.cmd('-D', chain.chain, '-s', `${ip}${HOST_PREFIX[family]}`, '-j', 'DROP'));
      return;
    }
    const existing = (await this.rulesFor(family)).filter((r) => r.ip === ip);
    for (const r of existing.reverse()) await this.runner.run(chain.cmd('-D', chain.chain, String(r.num)));
  }

  async list(): Promise<KernelEntry[]> {
    const out: KernelEntry[] = [];
    const now = Date.now();
    for (const family of [4, 6] as const) {
      for (const r of await this.rulesFor(family)) {
        const note = decodeNote(r.comment);
        const remainingS = note?.expires ? Math.max(0, Math.ceil((note.expires - now) / 1000)) : 0;
        // A rule whose time ran out while Node-RED was down is still in the kernel: report it as due now.
        out.push({ ip: r.ip, family, remainingS: note?.expires && remainingS === 0 ? -1 : remainingS, ...(r.comment !== undefined ? { comment: r.comment } : {}) });
      }
    }
    return out;
  }

  async flush(): Promise<void> {
    for (const family of [4, 6] as const) await this.chains[family].flush();
  }

  async teardown(): Promise<void> {
    for (const family of [4, 6] as const) await this.chains[family].remove();
  }
}

/** `-A CHAIN -s 10.0.0.1/32 -m comment --comment "ips ..." -j DROP` lines → address, comment, position. */
export function parseChainRules(lines: string[], chain: string): ParsedRule[] {
  const out: ParsedRule[] = [];
  lines.forEach((line, i) => {
    if (!line.startsWith(`-A ${chain} `)) return;
    const src = / -s (\S+?)(?:\/(?:32|128))? /.exec(line);
    if (!src || !/ -j DROP$/.test(line)) return;
    let ip: string;
    try {
      ip = normalizeIp(src[1]);
    } catch {
      return;
    }
    const comment = / --comment (?:"([^"]*)"|(\S+))/.exec(line);
    out.push({ ip, num: i + 1, ...(comment ? { comment: comment[1] ?? comment[2] } : {}) });
  });
  return out;
}
