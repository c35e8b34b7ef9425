/**
 * The built `ips` command line (dist/cli/ips.js, the package's `bin`) run as
 * a real process, and readers for what it prints.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { Alert } from '../../lib/detect/alert';
import { packageRoot } from './red-runtime';

export const IPS = path.join(packageRoot, 'dist', 'cli', 'ips.js');

export interface Ran {
  /** Exit status (null when killed by a signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `cmd args` to its end (any exit status), with its output. */
export function runProcess(cmd: string, args: readonly string[], opts: { cwd?: string } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { cwd: opts.cwd ?? packageRoot, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number' && !err.signal) return reject(err);
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, signal: err?.signal ?? null, stdout, stderr });
    });
  });
}

/** The built file itself is executed (its #! line and mode), as the `ips` an install links to it. */
export function runIps(args: readonly string[], opts: { cwd?: string } = {}): Promise<Ran> {
  return runProcess(IPS, args, opts);
}

/** An alert as `--format jsonl` prints it: the Alert plus the capture it came from. */
export type AlertLine = Alert & { file: string };

export function jsonlAlerts(stdout: string): AlertLine[] {
  return stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as AlertLine);
}

/** The per-file summary lines on stderr: file, packets, alerts. */
export function summaries(stderr: string): { file: string; packets: number; alerts: number }[] {
  const out = [];
  for (const m of stderr.matchAll(/^(.+): (\d+) packets, (\d+) alerts, \d+\.\d\d s(?: \(stopped\))?$/gm)) {
    out.push({ file: m[1], packets: Number(m[2]), alerts: Number(m[3]) });
  }
  return out;
}
