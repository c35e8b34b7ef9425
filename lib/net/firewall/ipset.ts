/**
 * ipset + iptables backend (the default): two hash:ip sets (inet, inet6) and
 * one hash:mac set, with per-entry timeouts and comments, matched by DROP
 * rules in the node's own chain, which INPUT and FORWARD jump to (iptables and
 * ip6tables; the MAC set is matched in both, so a blocked device loses IPv4
 * and IPv6). The kernel expires entries, so blocks end on time even while
 * Node-RED is down. The MAC set is `<name>-hw`: ipset names stop at 31
 * characters, and '-mac' would not fit after a 28-character base name.
 * A kernel built without hash:mac (ip_set_hash_mac) still gets its address
 * sets; MAC blocks are then refused with that reason (nftables and plain
 * iptables rules block MACs without it).
 */
import type { IpFamily } from '../../base/cidr';
import { IPSET_MAX_TIMEOUT_S, OwnChain, probe, toolFor, type FirewallBackend, type KernelEntry } from './backend';
import { canonicalAddress, validateChainName, validateInt, validateSetName, type BlockFamily } from './names';
import type { CommandRunner } from './runner';

export interface IpsetOptions {
  /** Base name; the sets are `<setName>-v4`, `<setName>-v6` and `<setName>-hw` (MACs). */
  setName: string;
  chain: string;
  /** Most entries per set (ipset's own default is 65,536). */
  maxElem: number;
}

export const MAX_ELEM_LIMIT = 16_777_216;

const FAMILIES: readonly BlockFamily[] = [4, 6, 'mac'];

export class IpsetBackend implements FirewallBackend {
  readonly kind = 'ipset' as const;
  readonly kernelExpiry = true;
  readonly maxTimeoutS = IPSET_MAX_TIMEOUT_S;
  private readonly chains: Record<IpFamily, OwnChain>;
  private readonly sets: Record<BlockFamily, string>;
  private readonly maxElem: number;
  /** False once the kernel refused a hash:mac set. */
  private macSupported = true;

  constructor(private readonly runner: CommandRunner, opts: IpsetOptions) {
    const base = validateSetName(opts.setName);
    const chain = validateChainName(opts.chain);
    this.maxElem = validateInt('set size (maxelem)', opts.maxElem, 1, MAX_ELEM_LIMIT);
    this.sets = { 4: `${base}-v4`, 6: `${base}-v6`, mac: `${base}-hw` };
    this.chains = { 4: new OwnChain(runner, toolFor(4), chain), 6: new OwnChain(runner, toolFor(6), chain) };
  }

  setName(family: BlockFamily): string {
    return this.sets[family];
  }

  async setup(): Promise<void> {
    for (const family of FAMILIES) {
      const set = this.sets[family];
      if (!(await probe(this.runner, { cmd: 'ipset', args: ['list', '-n', set] }))) {
        try {
          await this.runner.run(this.createCommand(set, family));
        } catch (err) {
          if (family !== 'mac' || !/set type not supported/i.test((err as Error).message)) throw err;
          this.macSupported = false;
        }
      } else {
        await this.resizeIfNeeded(set, family);
      }
    }
    const drop = (set: string) => ['-m', 'set', '--match-set', set, 'src', '-j', 'DROP'];
    for (const family of [4, 6] as const) {
      await this.chains[family].ensure([drop(this.sets[family]), ...(this.macSupported ? [drop(this.sets.mac)] : [])]);
    }
  }

  /** The families whose sets exist. */
  private get families(): readonly BlockFamily[] {
    return this.macSupported ? FAMILIES : [4, 6];
  }

  private checkFamily(family: BlockFamily): void {
    if (!this.families.includes(family)) {
      throw new Error("this kernel has no ipset hash:mac sets (module ip_set_hash_mac), so the ipset backend cannot block a MAC: use the nftables or iptables backend");
    }
  }

  private createCommand(set: string, family: BlockFamily) {
    const type = family === 'mac' ? ['hash:mac'] : ['hash:ip', 'family', family === 4 ? 'inet' : 'inet6'];
    return { cmd: 'ipset', args: ['create', set, ...type, 'timeout', '0', 'maxelem', String(this.maxElem), 'comment'] };
  }

  /**
   * ipset cannot change a set's maxelem (or add timeout/comment support) in
   * place: copy the entries, with their time left, into a new set and swap it in.
   */
  private async resizeIfNeeded(set: string, family: BlockFamily): Promise<void> {
    const { stdout: header } = await this.runner.run({ cmd: 'ipset', args: ['list', '-t', set] });
    const maxelem = /\bmaxelem (\d+)/.exec(header);
    const fits = maxelem && Number(maxelem[1]) === this.maxElem && /\btimeout \d+/.test(header) && /\bcomment\b/.test(header);
    if (fits) return;
    const tmp = `ips-tmp${family}-${process.pid % 1_000_000}`;
    await this.runner.run({ cmd: 'ipset', args: ['destroy', tmp] }).catch(() => undefined);
    await this.runner.run(this.createCommand(tmp, family));
    try {
      const { stdout } = await this.runner.run({ cmd: 'ipset', args: ['list', set, '-o', 'save'] });
      const adds = stdout.split('\n').filter((l) => l.startsWith(`add ${set} `)).map((l) => `add ${tmp} ${l.slice(`add ${set} `.length)}`);
      if (adds.length) await this.runner.run({ cmd: 'ipset', args: ['restore', '-exist'], input: `${adds.join('\n')}\n` });
      await this.runner.run({ cmd: 'ipset', args: ['swap', set, tmp] });
    } finally {
      await this.runner.run({ cmd: 'ipset', args: ['destroy', tmp] });
    }
  }

  async add(ip: string, family: BlockFamily, timeoutS: number, comment: string): Promise<void> {
    this.checkFamily(family);
    // -exist turns a re-add into an update of timeout and comment: re-blocking extends.
    await this.runner.run({ cmd: 'ipset', args: ['add', this.sets[family], ip, 'timeout', String(timeoutS), 'comment', comment, '-exist'] });
  }

  async remove(ip: string, family: BlockFamily): Promise<void> {
    if (!this.families.includes(family)) return;
    await this.runner.run({ cmd: 'ipset', args: ['del', this.sets[family], ip, '-exist'] });
  }

  async list(): Promise<KernelEntry[]> {
    const out: KernelEntry[] = [];
    if (this.runner.dryRun) return out;
    for (const family of this.families) {
      const { stdout } = await this.runner.run({ cmd: 'ipset', args: ['list', this.sets[family], '-o', 'save'] });
      out.push(...parseIpsetSave(stdout, this.sets[family], family));
    }
    return out;
  }

  async flush(): Promise<void> {
    for (const family of this.families) await this.runner.run({ cmd: 'ipset', args: ['flush', this.sets[family]] });
  }

  async teardown(): Promise<void> {
    for (const family of [4, 6] as const) await this.chains[family].remove();
    for (const family of FAMILIES) {
      // A set can only go once no rule references it.
      if (this.runner.dryRun || (await probe(this.runner, { cmd: 'ipset', args: ['list', '-n', this.sets[family]] }))) {
        await this.runner.run({ cmd: 'ipset', args: ['destroy', this.sets[family]] });
      }
    }
  }
}

/** Lines of `ipset list NAME -o save`: `add NAME 10.0.0.1 timeout 57 comment "..."`. The timeout shown is what is left. */
export function parseIpsetSave(text: string, set: string, family: BlockFamily): KernelEntry[] {
  const out: KernelEntry[] = [];
  const prefix = `add ${set} `;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const m = /^(\S+)(?: timeout (\d+))?(?: comment "([^"]*)")?/.exec(line.slice(prefix.length));
    if (!m) continue;
    let ip: string;
    try {
      ip = canonicalAddress(m[1], family);
    } catch {
      continue;
    }
    out.push({ ip, family, remainingS: m[2] ? Number(m[2]) : 0, ...(m[3] !== undefined ? { comment: m[3] } : {}) });
  }
  return out;
}
