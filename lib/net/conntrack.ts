/**
 * Kernel connection tracking: parse the `conntrack -L -o extended,id` text
 * (the same key=value layout as /proc/net/nf_conntrack), read the table
 * through the tool or /proc, watch DESTROY events for final counters, and
 * turn on byte accounting (nf_conntrack_acct, per network namespace).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { createInterface } from 'node:readline';
import { normalizeIp } from './cidr';

/** One conntrack entry: original and reply tuples with their counters. */
export interface ConntrackEntry {
  /** Kernel conntrack id (tool output with `-o id`); absent when read from /proc. */
  id?: number;
  family: 4 | 6;
  proto: string;
  state?: string;
  origSrc: string;
  origDst: string;
  origSport?: number;
  origDport?: number;
  origPackets: number;
  origBytes: number;
  replySrc: string;
  replyDst: string;
  replySport?: number;
  replyDport?: number;
  replyPackets: number;
  replyBytes: number;
  /** Stable identity for bookkeeping: the id when known, else the original tuple. */
  key: string;
}

const STATE_WORD = /^[A-Z_]+$/;

/**
 * Parse one line of `conntrack -L -o extended,id`, a `conntrack -E` event
 * line ('[DESTROY] ipv4 ...') or a /proc/net/nf_conntrack line. Returns null
 * for lines that are not entries (summaries, blank lines).
 */
export function parseConntrackLine(line: string, normalizeV6 = false): ConntrackEntry | null {
  const tokens = line.trim().split(/\s+/);
  let i = 0;
  while (i < tokens.length && tokens[i].startsWith('[')) i++; // event type / timestamp
  const l3 = tokens[i];
  if (l3 !== 'ipv4' && l3 !== 'ipv6') return null;
  const family: 4 | 6 = l3 === 'ipv4' ? 4 : 6;
  const proto = tokens[i + 2];
  if (!proto) return null;
  i += 4; // l3 name, l3 number, l4 name, l4 number
  const e: ConntrackEntry = {
    family, proto, origSrc: '', origDst: '', origPackets: 0, origBytes: 0,
    replySrc: '', replyDst: '', replyPackets: 0, replyBytes: 0, key: '',
  };
  let tuple = 0; // 1 = original, 2 = reply, 3 = after the reply tuple
  let prev = '';
  for (; i < tokens.length; i++) {
    const t = tokens[i];
    const eq = t.indexOf('=');
    if (eq < 0) {
      if (tuple === 0 && STATE_WORD.test(t)) e.state = t;
      else if (t.startsWith('[') && tuple === 2) tuple = 3;
      prev = t;
      continue;
    }
    const k = t.slice(0, eq);
    const v = t.slice(eq + 1);
    switch (k) {
      case 'src':
        tuple++;
        if (tuple === 1) e.origSrc = v;
        else if (tuple === 2) e.replySrc = v;
        break;
      case 'dst':
        if (tuple === 1) e.origDst = v;
        else if (tuple === 2) e.replyDst = v;
        break;
      case 'sport':
        if (tuple === 1) e.origSport = Number(v);
        else if (tuple === 2) e.replySport = Number(v);
        break;
      case 'dport':
        if (tuple === 1) e.origDport = Number(v);
        else if (tuple === 2) e.replyDport = Number(v);
        break;
      case 'packets':
        if (tuple === 1) e.origPackets = Number(v);
        else if (tuple === 2) e.replyPackets = Number(v);
        break;
      case 'bytes':
        if (tuple === 1) e.origBytes = Number(v);
        else if (tuple === 2) e.replyBytes = Number(v);
        break;
      case 'id':
        // ICMP echo ids sit inside a tuple right after code=; the conntrack id comes after both tuples.
        if (!prev.startsWith('code=')) e.id = Number(v);
        break;
      default:
        if (tuple === 2 && (k === 'mark' || k === 'use' || k === 'zone' || k === 'secctx' || k === 'labels')) tuple = 3;
    }
    prev = t;
  }
  if (!e.origSrc || !e.replySrc) return null;
  if (normalizeV6 && family === 6) {
    e.origSrc = normalizeIp(e.origSrc);
    e.origDst = normalizeIp(e.origDst);
    e.replySrc = normalizeIp(e.replySrc);
    e.replyDst = normalizeIp(e.replyDst);
  }
  e.key = e.id !== undefined && Number.isFinite(e.id)
    ? `#${e.id}`
    : `${proto} ${e.origSrc} ${e.origSport ?? ''} ${e.origDst} ${e.origDport ?? ''}`;
  return e;
}

/** Parse a whole listing; non-entry lines are skipped. */
export function parseConntrack(text: string, normalizeV6 = false): ConntrackEntry[] {
  const out: ConntrackEntry[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end > start) {
      const e = parseConntrackLine(text.slice(start, end), normalizeV6);
      if (e) out.push(e);
    }
    start = end + 1;
  }
  return out;
}

export type ConntrackSource = 'auto' | 'tool' | 'proc';

const PROC_TABLE = '/proc/net/nf_conntrack';
const ACCT_SYSCTL = '/proc/sys/net/netfilter/nf_conntrack_acct';
const PERMISSION = /operation not permitted|permission denied/i;

/** Errors a user can act on: which package or capability is missing. */
export class ConntrackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConntrackError';
  }
}

function runConntrackTool(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('conntrack', args, { maxBuffer: 512 * 1024 * 1024, timeout: 30_000, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      if (!err) return resolve(String(stdout));
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT') return reject(new ConntrackError("'conntrack' not found: install the Debian package 'conntrack' (apt-get install conntrack)"));
      const words = String(stderr || e.message).trim().split('\n')[0];
      if (PERMISSION.test(String(stderr))) return reject(new ConntrackError(`conntrack ${args.join(' ')}: ${words} — needs root or the CAP_NET_ADMIN capability`));
      reject(new ConntrackError(`conntrack ${args.join(' ')}: ${words}`));
    });
  });
}

/** Reads the whole conntrack table of the current network namespace. */
export class ConntrackReader {
  /** Where the last read came from. */
  lastSource: 'tool' | 'proc' | null = null;

  constructor(readonly source: ConntrackSource = 'auto') {}

  async read(): Promise<ConntrackEntry[]> {
    if (this.source !== 'proc') {
      try {
        const text = await runConntrackTool(['-L', '-o', 'extended,id']);
        this.lastSource = 'tool';
        return parseConntrack(text);
      } catch (err) {
        const missing = err instanceof ConntrackError && err.message.includes('not found');
        if (this.source === 'tool' || !missing) throw err;
      }
    }
    try {
      const text = await fsp.readFile(PROC_TABLE, 'utf8');
      this.lastSource = 'proc';
      return parseConntrack(text, true);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        throw new ConntrackError(`neither the 'conntrack' tool nor ${PROC_TABLE} is available: install the Debian package 'conntrack' (apt-get install conntrack)`);
      }
      if (code === 'EACCES' || code === 'EPERM') throw new ConntrackError(`cannot read ${PROC_TABLE}: needs root or the CAP_NET_ADMIN capability`);
      throw err;
    }
  }
}

/** State of byte accounting in this network namespace. */
export interface AccountingState {
  on: boolean;
  /** Set when it was off and we switched it on. */
  enabled?: boolean;
  /** Why it is off, in words. */
  reason?: string;
}

/**
 * Make sure nf_conntrack_acct is on (it is per network namespace); when it
 * is off and cannot be switched on, say why: counters will then be zero.
 */
export async function ensureAccounting(enable = true, sysctlPath = ACCT_SYSCTL): Promise<AccountingState> {
  let value: string;
  try {
    value = (await fsp.readFile(sysctlPath, 'utf8')).trim();
  } catch {
    return { on: false, reason: `${sysctlPath} missing: connection tracking (nf_conntrack) is not loaded; byte counters will be zero` };
  }
  if (value === '1') return { on: true };
  if (!enable) return { on: false, reason: 'nf_conntrack_acct is off: byte counters will be zero (sysctl -w net.netfilter.nf_conntrack_acct=1)' };
  try {
    await fsp.writeFile(sysctlPath, '1');
    return { on: true, enabled: true };
  } catch (err) {
    return {
      on: false,
      reason: `nf_conntrack_acct is off and cannot be switched on (${(err as NodeJS.ErrnoException).code ?? 'error'}): byte counters will be zero — run sysctl -w net.netfilter.nf_conntrack_acct=1 as root`,
    };
  }
}

/**
 * Watches `conntrack -E -e DESTROY` so the final counters of flows that end
 * between polls are not lost. Calls `onEntry` per destroyed entry and
 * `onError` once if the watcher cannot run (the poll then accounts ended
 * flows at their last seen counters).
 */
export class DestroyWatcher {
  private child: ChildProcess | null = null;
  private stopped = false;

  constructor(private readonly onEntry: (e: ConntrackEntry) => void, private readonly onError: (err: Error) => void) {}

  start(): void {
    const child = spawn('conntrack', ['-E', '-e', 'DESTROY', '-o', 'extended,id'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { if (stderr.length < 2000) stderr += d.toString(); });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (this.stopped) return;
      this.onError(err.code === 'ENOENT' ? new ConntrackError("'conntrack' not found: install the Debian package 'conntrack'") : err);
    });
    child.on('exit', (code, signal) => {
      if (this.stopped || code === null && signal === null) return;
      const words = stderr.trim().split('\n')[0];
      this.onError(new ConntrackError(`conntrack -E exited (${code ?? signal})${words ? `: ${words}` : ''}${PERMISSION.test(stderr) ? ' — needs CAP_NET_ADMIN' : ''}`));
    });
    if (child.stdout) {
      const rl = createInterface({ input: child.stdout });
      rl.on('line', (line) => {
        const e = parseConntrackLine(line);
        if (e) this.onEntry(e);
      });
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.child && this.child.exitCode === null) this.child.kill('SIGTERM');
    this.child = null;
  }
}
