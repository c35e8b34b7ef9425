/**
 * Running firewall tools: execFile with an argument array (never a shell),
 * optional stdin for batch files, and errors that name the Debian package or
 * the capability that is missing. A dry-run runner records the commands
 * instead of running them, for use without root.
 */
import { execFile } from 'node:child_process';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** One command line as it would run: tool, arguments, optional stdin text. */
export interface FirewallCommand {
  cmd: string;
  args: string[];
  input?: string;
}

export interface CommandRunner {
  /** True when commands are only recorded (dry-run). */
  readonly dryRun: boolean;
  run(command: FirewallCommand): Promise<CommandResult>;
}

/** The tools this pack may run, with the Debian package that provides each. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  ipset: 'ipset',
  iptables: 'iptables',
  ip6tables: 'iptables',
  nft: 'nftables',
  ip: 'iproute2',
  tc: 'iproute2',
  conntrack: 'conntrack',
};

/** A failed firewall command: the command line, the tool's own words, and a hint. */
export class FirewallCommandError extends Error {
  readonly command: FirewallCommand;
  readonly stderr: string;
  readonly exitCode: number | null;
  constructor(command: FirewallCommand, message: string, stderr: string, exitCode: number | null) {
    super(message);
    this.name = 'FirewallCommandError';
    this.command = command;
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

/** The command as one line for logs and dry-run reports (arguments with spaces quoted). */
export function formatCommand(c: FirewallCommand): string {
  const quote = (a: string) => (/^[A-Za-z0-9_.:/@=+,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const line = [c.cmd, ...c.args].map(quote).join(' ');
  return c.input === undefined ? line : `${line} <<EOF\n${c.input.replace(/\n$/, '')}\nEOF`;
}

const PERMISSION = /operation not permitted|permission denied|you must be root|must be run as root|not permitted/i;

/** Turn a failure into an error a user can act on. */
export function explainFailure(c: FirewallCommand, err: { code?: string | number | null; message: string }, stderr: string): FirewallCommandError {
  const pkg = TOOL_PACKAGES[c.cmd] ?? c.cmd;
  const line = formatCommand({ cmd: c.cmd, args: c.args });
  if (err.code === 'ENOENT') {
    return new FirewallCommandError(c, `'${c.cmd}' not found: install the Debian package '${pkg}' (apt-get install ${pkg})`, stderr, null);
  }
  if (err.code === 'EACCES') {
    return new FirewallCommandError(c, `'${c.cmd}' cannot be executed (permission denied on the program)`, stderr, null);
  }
  const words = (stderr || err.message).trim().split('\n').slice(0, 3).join(' ');
  const exitCode = typeof err.code === 'number' ? err.code : null;
  if (PERMISSION.test(stderr)) {
    return new FirewallCommandError(c, `${line}: ${words} — needs root or the CAP_NET_ADMIN capability (or use dry-run)`, stderr, exitCode);
  }
  // nft reports a full set as ENFILE, ipset as a full hash: say what to change.
  if (/Hash is full|Too many open files in system/.test(stderr)) {
    return new FirewallCommandError(c, `${line}: ${words} — the set is full: raise the node's set size`, stderr, exitCode);
  }
  return new FirewallCommandError(c, `${line}: ${words}`, stderr, exitCode);
}

/** Runs commands for real. */
export class ExecRunner implements CommandRunner {
  readonly dryRun = false;
  constructor(private readonly timeoutMs = 30_000) {}

  run(command: FirewallCommand): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        command.cmd,
        command.args,
        { timeout: this.timeoutMs, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } },
        (err, stdout, stderr) => {
          if (err) reject(explainFailure(command, err, String(stderr)));
          else resolve({ stdout: String(stdout), stderr: String(stderr) });
        },
      );
      // A failed spawn (ENOENT) reports through the callback; stdin errors would be EPIPE after that.
      child.stdin?.on('error', () => undefined);
      if (command.input !== undefined) child.stdin?.end(command.input);
      else child.stdin?.end();
    });
  }
}

/** Records commands instead of running them; reads return empty output. */
export class DryRunRunner implements CommandRunner {
  readonly dryRun = true;
  readonly commands: FirewallCommand[] = [];

  run(command: FirewallCommand): Promise<CommandResult> {
    this.commands.push({ cmd: command.cmd, args: [...command.args], ...(command.input !== undefined ? { input: command.input } : {}) });
    return Promise.resolve({ stdout: '', stderr: '' });
  }

  /** The commands recorded since the last call, as text lines, and forget them. */
  take(): string[] {
    return this.commands.splice(0).map(formatCommand);
  }
}

const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Runs every command inside a named network namespace (`ip netns exec NAME`):
 * for guarding a namespace (a container, a router namespace) from outside it.
 */
export class NetnsRunner implements CommandRunner {
  readonly dryRun: boolean;
  constructor(private readonly inner: CommandRunner, readonly netns: string) {
    if (typeof netns !== 'string' || !NETNS_NAME.test(netns)) {
      throw new Error(`invalid network namespace name '${String(netns)}': 1-64 letters, digits, '_', '.', '-', starting with a letter or digit`);
    }
    this.dryRun = inner.dryRun;
  }

  run(c: FirewallCommand): Promise<CommandResult> {
    return this.inner.run({ cmd: 'ip', args: ['netns', 'exec', this.netns, c.cmd, ...c.args], ...(c.input !== undefined ? { input: c.input } : {}) });
  }
}
