/**
 * Kernel connection tracking: parse the `conntrack -L -o extended,id` text
 * (the same key=value layout as /proc/net/nf_conntrack), read the table
 * through the tool or /proc, watch DESTROY events for final counters, and
 * turn on byte accounting (nf_conntrack_acct, per network namespace).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs, { promises as fsp } from 'node:fs';
import { createInterface } from 'node:readline';
import { normalizeIp } from '../base/cidr';

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
  /** Identity for bookkeeping: the original tuple's text (the same in listings, /proc and events). */
  key: string;
}

/** Unsigned decimal at text[from, to), or NaN. */
function intAt(text: string, from: number, to: number): number {
  if (from >= to) return NaN;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    n = n * 10 + c;
  }
  return n;
}

function isStateWord(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || c === 95)) return false;
  }
  return to > from;
}

/** Does text at `pos` start with `word`? */
function at(text: string, pos: number, word: string): boolean {
  return text.startsWith(word, pos);
}

/**
 * Parse text[start, end) — one line of `conntrack -L -o extended,id`, a
 * `conntrack -E` event line ('[DESTROY] ipv4 ...') or a
 * /proc/net/nf_conntrack line. A hand-rolled scanner: this runs for every
 * tracked flow on every poll.
 */
function parseRange(text: string, start: number, end: number, normalizeV6: boolean): ConntrackEntry | null {
  let pos = start;
  // Skip leading blanks and bracketed prefixes (timestamp, event type).
  for (;;) {
    while (pos < end && (text.charCodeAt(pos) === 32 || text.charCodeAt(pos) === 9)) pos++;
    if (pos < end && text.charCodeAt(pos) === 91) {
      const close = text.indexOf(']', pos);
      if (close < 0 || close >= end) return null;
      pos = close + 1;
      continue;
    }
    break;
  }
  let family: 4 | 6;
  if (at(text, pos, 'ipv4 ')) family = 4;
  else if (at(text, pos, 'ipv6 ')) family = 6;
  else return null;
  // Every property up front, in one order: one object shape for the whole table.
  const e: ConntrackEntry = {
    id: undefined, family, proto: '', state: undefined,
    origSrc: '', origDst: '', origSport: undefined, origDport: undefined, origPackets: 0, origBytes: 0,
    replySrc: '', replyDst: '', replySport: undefined, replyDport: undefined, replyPackets: 0, replyBytes: 0, key: '',
  };
  let field = 0; // 0 l3 name, 1 l3 number, 2 l4 name, 3 l4 number, then free tokens
  let tuple = 0; // 1 = original, 2 = reply, 3 = after both
  let prevWasCode = false;
  // Where the original tuple's text is (src=... up to its last field), for the key.
  let origStart = -1;
  let origEnd = -1;
  let dstEnd = -1;
  while (pos < end) {
    const c0 = text.charCodeAt(pos);
    if (c0 === 32 || c0 === 9) {
      pos++;
      continue;
    }
    let tokEnd = text.indexOf(' ', pos);
    if (tokEnd < 0 || tokEnd > end) tokEnd = end;
    if (field < 4) {
      if (field === 2) e.proto = text.slice(pos, tokEnd);
      field++;
      pos = tokEnd;
      continue;
    }
    const eq = text.indexOf('=', pos);
    if (eq < 0 || eq >= tokEnd) {
      if (c0 === 91) {
        if (tuple === 2) tuple = 3; // [ASSURED] etc. after the reply tuple
      } else if (tuple === 0 && isStateWord(text, pos, tokEnd)) {
        e.state = text.slice(pos, tokEnd);
      }
      prevWasCode = false;
      pos = tokEnd;
      continue;
    }
    const klen = eq - pos;
    const v = eq + 1;
    let isCode = false;
    // Dispatch on key length and first letter; the key text is checked only for candidates.
    const k0 = c0;
    let counter = false;
    if (klen === 3 && k0 === 115 /* s */ && at(text, pos, 'src')) {
      tuple++;
      if (tuple === 1) {
        e.origSrc = text.slice(v, tokEnd);
        origStart = pos;
      } else if (tuple === 2) e.replySrc = text.slice(v, tokEnd);
    } else if (klen === 3 && k0 === 100 /* d */ && at(text, pos, 'dst')) {
      if (tuple === 1) {
        e.origDst = text.slice(v, tokEnd);
        dstEnd = tokEnd;
      } else if (tuple === 2) e.replyDst = text.slice(v, tokEnd);
    } else if (klen === 5 && k0 === 115 && at(text, pos, 'sport')) {
      if (tuple === 1) e.origSport = intAt(text, v, tokEnd);
      else if (tuple === 2) e.replySport = intAt(text, v, tokEnd);
    } else if (klen === 5 && k0 === 100 && at(text, pos, 'dport')) {
      if (tuple === 1) e.origDport = intAt(text, v, tokEnd);
      else if (tuple === 2) e.replyDport = intAt(text, v, tokEnd);
    } else if (klen === 7 && k0 === 112 /* p */ && at(text, pos, 'packets')) {
      counter = true;
      if (tuple === 1) e.origPackets = intAt(text, v, tokEnd) || 0;
      else if (tuple === 2) e.replyPackets = intAt(text, v, tokEnd) || 0;
    } else if (klen === 5 && k0 === 98 /* b */ && at(text, pos, 'bytes')) {
      counter = true;
      if (tuple === 1) e.origBytes = intAt(text, v, tokEnd) || 0;
      else if (tuple === 2) e.replyBytes = intAt(text, v, tokEnd) || 0;
    } else if (klen === 2 && k0 === 105 /* i */ && at(text, pos, 'id')) {
      // ICMP echo ids sit inside a tuple right after code=; the conntrack id comes after both tuples.
      if (!prevWasCode) e.id = intAt(text, v, tokEnd);
    } else if (klen === 4 && k0 === 99 /* c */ && at(text, pos, 'code')) {
      isCode = true;
    } else if (tuple === 2 && (at(text, pos, 'mark=') || at(text, pos, 'use=') || at(text, pos, 'zone=') || at(text, pos, 'secctx=') || at(text, pos, 'labels='))) {
      tuple = 3;
    }
    // The original tuple's text runs to its last field (counters are not part of it).
    if (tuple === 1 && !counter) origEnd = tokEnd;
    prevWasCode = isCode;
    pos = tokEnd;
  }
  if (!e.origSrc || !e.replySrc || origStart < 0 || dstEnd < 0) return null;
  if (e.id !== undefined && !Number.isFinite(e.id)) e.id = undefined;
  // The key is the original tuple's own text ('src=.. dst=.. sport=.. dport=..', or type/code/id for ICMP): the same in
  // the tool's listing, /proc and events, and a slice costs no copy. TCP, the bulk of any table, goes without a prefix.
  if (normalizeV6 && family === 6) {
    e.origSrc = normalizeIp(e.origSrc);
    e.origDst = normalizeIp(e.origDst);
    e.replySrc = normalizeIp(e.replySrc);
    e.replyDst = normalizeIp(e.replyDst);
    e.key = `${e.proto === 'tcp' ? '' : `${e.proto} `}src=${e.origSrc} dst=${e.origDst}${text.slice(dstEnd, origEnd)}`;
  } else {
    const tupleText = text.slice(origStart, origEnd);
    e.key = e.proto === 'tcp' ? tupleText : `${e.proto} ${tupleText}`;
  }
  return e;
}

/**
 * Parse one line of `conntrack -L -o extended,id`, a `conntrack -E` event
 * line ('[DESTROY] ipv4 ...') or a /proc/net/nf_conntrack line. Returns null
 * for lines that are not entries (summaries, blank lines). `normalizeV6`
 * rewrites /proc's expanded IPv6 addresses in canonical form.
 */
export function parseConntrackLine(line: string, normalizeV6 = false): ConntrackEntry | null {
  return parseRange(line, 0, line.length, normalizeV6);
}

/** Parse a whole listing; non-entry lines are skipped. */
export function parseConntrack(text: string, normalizeV6 = false): ConntrackEntry[] {
  const out: ConntrackEntry[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end > start) {
      const e = parseRange(text, start, end, normalizeV6);
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
    execFile('conntrack', args, { encoding: 'latin1', maxBuffer: 512 * 1024 * 1024, timeout: 30_000, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
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

  /**
   * 'auto' reads /proc/net/nf_conntrack when it is there (no process to
   * start: the cheapest at thousands of flows) and the conntrack tool
   * otherwise.
   */
  async read(): Promise<ConntrackEntry[]> {
    if (this.source !== 'tool') {
      try {
        // Synchronous on purpose: the kernel hands this file out a page per read(),
        // so an async read is ~500 thread-pool round trips at 10,000 flows (~35 ms);
        // the same reads done synchronously take ~2.5 ms of blocked loop.
        const text = fs.readFileSync(PROC_TABLE, 'latin1'); // ASCII; latin1 decodes fastest
        this.lastSource = 'proc';
        return parseConntrack(text, true);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (this.source === 'proc') {
          if (code === 'ENOENT') throw new ConntrackError(`${PROC_TABLE} is not available (kernel without CONFIG_NF_CONNTRACK_PROCFS, or nf_conntrack not loaded): use the conntrack tool (Debian package 'conntrack')`);
          if (code === 'EACCES' || code === 'EPERM') throw new ConntrackError(`cannot read ${PROC_TABLE}: needs root or the CAP_NET_ADMIN capability`);
          throw err;
        }
      }
    }
    try {
      const text = await runConntrackTool(['-L', '-o', 'extended,id']);
      this.lastSource = 'tool';
      return parseConntrack(text);
    } catch (err) {
      if (this.source === 'auto' && err instanceof ConntrackError && err.message.includes('not found')) {
        throw new ConntrackError(`neither ${PROC_TABLE} nor the 'conntrack' tool is available: install the Debian package 'conntrack' (apt-get install conntrack)`);
      }
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

  start(useStdbuf = true): void {
    const args = ['-E', '-e', 'DESTROY', '-o', 'extended,id'];
    // conntrack's stdout into a pipe is block-buffered: events would come 4 KiB at a time. stdbuf -oL makes it line-buffered.
    const child = useStdbuf
      ? spawn('stdbuf', ['-oL', 'conntrack', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } })
      : spawn('conntrack', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { if (stderr.length < 2000) stderr += d.toString(); });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (this.stopped) return;
      if (useStdbuf && err.code === 'ENOENT') return this.start(false); // no coreutils stdbuf: events arrive in bursts, still counted
      this.onError(err.code === 'ENOENT' ? new ConntrackError("'conntrack' not found: install the Debian package 'conntrack'") : err);
    });
    child.on('exit', (code, signal) => {
      if (this.stopped || (code === null && signal === null) || this.child !== child) return;
      const words = stderr.trim().split('\n')[0];
      if (code === 127 && /conntrack/.test(stderr)) return this.onError(new ConntrackError("'conntrack' not found: install the Debian package 'conntrack' (apt-get install conntrack)"));
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
