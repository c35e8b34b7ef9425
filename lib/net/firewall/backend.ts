/**
 * What a firewall backend does for the blocklist, and the iptables chain
 * handling shared by the ipset and plain-rules backends.
 */
import type { IpFamily } from '../../base/cidr';
import type { BlockFamily } from './names';
import { FirewallCommandError, type CommandRunner, type FirewallCommand } from './runner';

export type BackendKind = 'ipset' | 'nftables' | 'iptables';

/** An address found in the kernel on start: an IP, or a MAC (family 'mac', lowercase). */
export interface KernelEntry {
  ip: string;
  family: BlockFamily;
  /** Seconds left; 0 = permanent; -1 = overdue (a plain rule whose time ran out while Node-RED was down). */
  remainingS: number;
  /** The comment stored with it (see names.ts encodeNote). */
  comment?: string;
}

export interface FirewallBackend {
  readonly kind: BackendKind;
  /** True when the kernel removes entries when their time is up (sets with timeouts). */
  readonly kernelExpiry: boolean;
  /** Longest timeout the kernel takes, in seconds. */
  readonly maxTimeoutS: number;
  /** Create what is missing (sets, chain, table, hooks); never duplicates what exists. */
  setup(): Promise<void>;
  /** Block, or re-block with a new timeout (0 = permanent) and comment. A MAC drops its frames whatever IP (v4 or v6) they carry. */
  add(ip: string, family: BlockFamily, timeoutS: number, comment: string): Promise<void>;
  /** Unblock; no error when the address is not there. */
  remove(ip: string, family: BlockFamily): Promise<void>;
  /** Everything currently blocked by this backend's own set/chain. */
  list(): Promise<KernelEntry[]>;
  /** Remove every entry, keep the set/chain and hooks. */
  flush(): Promise<void>;
  /** Remove hooks, chain and sets/table: everything the backend created. */
  teardown(): Promise<void>;
}

/** ipset and the kernel's set timeouts stop at (2^31 - 1) ms. */
export const IPSET_MAX_TIMEOUT_S = 2_147_483;

/** True when a failure only says the thing checked for is not there. */
export function isAbsent(err: unknown): boolean {
  if (!(err instanceof FirewallCommandError)) return false;
  if (/CAP_NET_ADMIN|not found: install/.test(err.message)) return false;
  return err.exitCode !== null;
}

/**
 * Run a check command; true when it succeeds, false when the tool says the
 * thing is absent. A dry run assumes a fresh box (everything absent) so the
 * report lists every command a real start would run.
 */
export async function probe(runner: CommandRunner, command: FirewallCommand): Promise<boolean> {
  if (runner.dryRun) return false;
  try {
    await runner.run(command);
    return true;
  } catch (err) {
    if (isAbsent(err)) return false;
    throw err;
  }
}

export type IptablesTool = 'iptables' | 'ip6tables';

/** The node's own chain in the filter table, jumped to from INPUT and FORWARD. */
export class OwnChain {
  static readonly HOOKS = ['INPUT', 'FORWARD'] as const;

  constructor(
    private readonly runner: CommandRunner,
    readonly tool: IptablesTool,
    readonly chain: string,
  ) {}

  /** `tool -w 10 args...`: waits for the xtables lock instead of failing when another program holds it. */
  cmd(...args: string[]): FirewallCommand {
    return { cmd: this.tool, args: ['-w', '10', ...args] };
  }

  async ensure(rules: string[][] = []): Promise<void> {
    if (!(await probe(this.runner, this.cmd('-S', this.chain)))) await this.runner.run(this.cmd('-N', this.chain));
    for (const rule of rules) {
      if (!(await probe(this.runner, this.cmd('-C', this.chain, ...rule)))) await this.runner.run(this.cmd('-A', this.chain, ...rule));
    }
    for (const hook of OwnChain.HOOKS) {
      // First in the hook, so an ACCEPT rule of the user's cannot let a blocked host through.
      if (!(await probe(this.runner, this.cmd('-C', hook, '-j', this.chain)))) await this.runner.run(this.cmd('-I', hook, '1', '-j', this.chain));
    }
  }

  /** The chain's rules as `iptables -S` prints them ('-A CHAIN ...' lines). */
  async rules(): Promise<string[]> {
    if (this.runner.dryRun) return [];
    try {
      const { stdout } = await this.runner.run(this.cmd('-S', this.chain));
      return stdout.split('\n').filter((l) => l.startsWith(`-A ${this.chain} `));
    } catch (err) {
      if (isAbsent(err)) return [];
      throw err;
    }
  }

  async flush(): Promise<void> {
    await this.runner.run(this.cmd('-F', this.chain));
  }

  /** Unhook from INPUT/FORWARD (every copy), then empty and delete the chain. Leaves other rules alone. */
  async remove(): Promise<void> {
    for (const hook of OwnChain.HOOKS) {
      if (this.runner.dryRun) {
        await this.runner.run(this.cmd('-D', hook, '-j', this.chain));
        continue;
      }
      for (let i = 0; i < 16 && (await probe(this.runner, this.cmd('-C', hook, '-j', this.chain))); i++) {
        await this.runner.run(this.cmd('-D', hook, '-j', this.chain));
      }
    }
    if (this.runner.dryRun || (await probe(this.runner, this.cmd('-S', this.chain)))) {
      await this.runner.run(this.cmd('-F', this.chain));
      await this.runner.run(this.cmd('-X', this.chain));
    }
  }
}

export function toolFor(family: IpFamily): IptablesTool {
  return family === 4 ? 'iptables' : 'ip6tables';
}
