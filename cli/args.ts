/**
 * The command line of `ips`, checked before any file is read: a bad
 * argument is a UsageError (exit status 2) that says what is wrong.
 */
import { parseArgs } from 'node:util';
import { MAX_REPLAY_SPEED } from '../lib/capture/file-source';

export const FORMATS = ['table', 'jsonl', 'csv', 'eve'] as const;
export type Format = (typeof FORMATS)[number];

export type Invocation =
  | { command: 'help' }
  | { command: 'analyze' | 'replay'; files: string[]; config?: string; rules?: string; format: Format; speed: number }
  | { command: 'flows'; files: string[]; label?: string; config?: string };

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const OPTIONS = {
  config: { type: 'string' },
  rules: { type: 'string' },
  format: { type: 'string' },
  speed: { type: 'string' },
  label: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseInvocation(argv: readonly string[]): Invocation {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0] === 'help') return { command: 'help' };
  const [command, ...files] = positionals;
  if (command === undefined) throw new UsageError('no command given: ips analyze FILE..., ips replay FILE or ips flows FILE...');
  if (command !== 'analyze' && command !== 'replay' && command !== 'flows') throw new UsageError(`unknown command '${command}' (commands: analyze, replay, flows)`);
  if (files.length === 0) throw new UsageError(`${command} needs a capture file`);
  if (files.includes('')) throw new UsageError('a capture file name is empty');
  if (command === 'flows') {
    for (const name of ['rules', 'format', 'speed'] as const) {
      if (values[name] !== undefined) throw new UsageError(`--${name} is not for flows (it writes CSV)`);
    }
    if (values.label !== undefined && !/^[\w.:+-]{1,64}$/.test(values.label)) throw new UsageError(`--label must be 1 to 64 letters, digits or . _ : + -, got '${values.label}'`);
    if (values.config === '') throw new UsageError('--config needs a file name');
    return { command, files, label: values.label, config: values.config };
  }
  if (values.label !== undefined) throw new UsageError('--label is for flows only');
  if (command === 'replay' && files.length > 1) throw new UsageError(`replay plays one capture file, got ${files.length}`);
  if (command === 'analyze' && values.speed !== undefined) throw new UsageError('--speed is for replay only (analyze reads as fast as it can)');
  for (const name of ['config', 'rules'] as const) {
    if (values[name] === '') throw new UsageError(`--${name} needs a file name`);
  }
  const format = values.format ?? 'table';
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got '${format}'`);
  let speed = 1;
  if (values.speed !== undefined) {
    speed = /^\s*$/.test(values.speed) ? Number.NaN : Number(values.speed);
    if (!Number.isFinite(speed) || speed <= 0 || speed > MAX_REPLAY_SPEED) throw new UsageError(`--speed must be a number above 0 and at most ${MAX_REPLAY_SPEED}, got '${values.speed}'`);
  }
  return { command, files, config: values.config, rules: values.rules, format: format as Format, speed };
}
