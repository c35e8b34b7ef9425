/**
 * Network namespaces for tests: real kernel, private addresses, removed
 * afterwards even when the test fails. Every name carries a per-run tag so
 * parallel runs cannot collide.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

const execFileP = promisify(execFile);

/** Short unique tag (interface names are limited to 15 characters). */
export function uniqueTag(): string {
  return randomBytes(3).toString('hex');
}

/** Why namespace tests cannot run here, or null when they can. */
export async function netnsUnavailable(): Promise<string | null> {
  if (process.getuid && process.getuid() !== 0) return 'needs root (network namespaces)';
  const probe = `ipsprobe${uniqueTag()}`;
  try {
    await execFileP('ip', ['netns', 'add', probe]);
    await execFileP('ip', ['netns', 'del', probe]);
    return null;
  } catch (err) {
    return `ip netns unavailable: ${(err as Error).message}`;
  }
}

/** Why a command-line tool is missing, or null when it is on PATH. */
export async function toolMissing(...tools: string[]): Promise<string | null> {
  const missing: string[] = [];
  for (const tool of tools) {
    try {
      await execFileP('sh', ['-c', 'command -v "$1"', 'sh', tool]);
    } catch {
      missing.push(tool);
    }
  }
  return missing.length ? `missing tool(s): ${missing.join(', ')} (apt-get install them)` : null;
}

export async function run(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  return execFileP(cmd, args, { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 });
}

/** SIGTERM to `child`, SIGKILL if it has not exited after `graceMs`; resolves once it is gone (at once if it already was). */
export function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const t = setTimeout(() => { child.kill('SIGKILL'); resolve(); }, graceMs);
    child.once('exit', () => { clearTimeout(t); resolve(); });
    child.kill('SIGTERM');
  });
}

export class Netns {
  readonly name: string;
  private readonly children = new Set<ChildProcess>();

  constructor(name: string) {
    this.name = name;
  }

  /** Run a command inside the namespace and wait for it. */
  exec(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], opts);
  }

  /** Start a long-running command inside the namespace; killed by `Lab.cleanup()`. */
  spawn(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: 'pipe', ...opts });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Kill what was started in the namespace at once (process exit: nothing can be awaited). */
  killChildrenNow(): void {
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  async killChildren(): Promise<void> {
    await Promise.all([...this.children].map((child) => stopChild(child)));
  }
}

/**
 * Namespaces created and not yet deleted. A test killed before its cleanup
 * ran (a timeout, Ctrl-C) would leave them behind, so they are deleted when
 * the process exits or is told to stop.
 */
const live = new Set<Netns>();
let watchingExit = false;

function removeLeftovers(): void {
  for (const ns of live) {
    ns.killChildrenNow();
    try {
      execFileSync('ip', ['netns', 'del', ns.name], { stdio: 'ignore', timeout: 5000 });
    } catch {
      // already gone
    }
  }
  live.clear();
}

function watchExit(): void {
  if (watchingExit) return;
  watchingExit = true;
  process.once('exit', removeLeftovers);
  for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    process.once(signal, () => {
      removeLeftovers();
      process.exit(code);
    });
  }
}

/**
 * A set of namespaces joined by veth pairs. Create with `new Lab()`, add
 * hosts and links, and always `await lab.cleanup()` in a finally/after hook.
 */
export class Lab {
  readonly tag = uniqueTag();
  readonly hosts: Netns[] = [];
  private linkCount = 0;

  /** Add a namespace; `role` becomes part of its name (e.g. 'atk', 'vic'). */
  async host(role: string): Promise<Netns> {
    const ns = new Netns(`ips-${role}-${this.tag}`);
    watchExit();
    await run('ip', ['netns', 'add', ns.name]);
    this.hosts.push(ns);
    live.add(ns);
    await ns.exec('ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /**
   * Join two namespaces with a veth pair and give each end an address
   * (CIDR form, e.g. '10.200.1.1/24'). Returns the interface names.
   */
  async link(a: Netns, aAddr: string, b: Netns, bAddr: string, opts: { aMac?: string; bMac?: string } = {}): Promise<{ aIf: string; bIf: string }> {
    const n = this.linkCount++;
    const aIf = `v${this.tag}${n}a`;
    const bIf = `v${this.tag}${n}b`;
    await run('ip', ['link', 'add', aIf, 'netns', a.name, 'type', 'veth', 'peer', 'name', bIf, 'netns', b.name]);
    for (const [ns, ifname, addr, mac] of [[a, aIf, aAddr, opts.aMac], [b, bIf, bAddr, opts.bMac]] as const) {
      if (mac) await ns.exec('ip', ['link', 'set', ifname, 'address', mac]);
      if (addr) {
        const family = addr.includes(':') ? ['-6'] : [];
        await ns.exec('ip', [...family, 'addr', 'add', addr, 'dev', ifname, ...(addr.includes(':') ? ['nodad'] : [])]);
      }
      await ns.exec('ip', ['link', 'set', ifname, 'up']);
    }
    return { aIf, bIf };
  }

  /** Kill spawned processes and delete every namespace (their veths go with them). */
  async cleanup(): Promise<void> {
    for (const ns of this.hosts) await ns.killChildren();
    for (const ns of this.hosts.splice(0)) {
      try {
        await run('ip', ['netns', 'del', ns.name]);
      } catch {
        // already gone
      }
      live.delete(ns);
    }
  }
}

/** A Raspberry Pi Foundation MAC: a device with it has a vendor to show. */
export const RASPBERRY_PI_MAC = 'b8:27:eb:65:43:21';

/**
 * A router and a device namespace on one /24: the router at `<net>.1`, the
 * device at `<net>.2` with a Raspberry Pi MAC on `deviceIf`. With `track`, a conntrack rule
 * on the router's INPUT makes its kernel track the device's connections (what
 * conntrack-poll reads).
 */
export async function routerWithDevice(lab: Lab, net: string, opts: { track?: boolean } = {}): Promise<{ router: Netns; device: Netns; deviceIf: string }> {
  const router = await lab.host('router');
  const device = await lab.host('device');
  const { bIf: deviceIf } = await lab.link(router, `${net}.1/24`, device, `${net}.2/24`, { bMac: RASPBERRY_PI_MAC });
  if (opts.track) await router.exec('iptables', ['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'NEW,ESTABLISHED', '-j', 'ACCEPT']);
  return { router, device, deviceIf };
}
