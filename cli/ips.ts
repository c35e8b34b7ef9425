#!/usr/bin/env node
/**
 * `ips`: the detectors of the shipped analyst flow on capture files, without
 * Node-RED (what an analyst scripts, what a CI job runs over captures).
 * `ips --help` says how; the chain itself is lib/detect/chain.ts.
 */
import fs from 'node:fs';
import { FileSource, type FileMode } from '../lib/capture/file-source';
import { SettingsError } from '../lib/base/settings';
import { CHAIN_BATCH, chainSettings, DetectorChain } from '../lib/detect/chain';
import { parseInvocation, UsageError, type Invocation } from './args';
import { helpText } from './help';
import { alertWriter, type AlertWriter } from './output';
import { FlowMeter } from '../lib/detect/flow/meter';
import { flowCsvHeader, flowCsvValues, type FlowRecord } from '../lib/detect/flow/features';
import { csvLine } from '../lib/base/csv';

/** Exit status: every file read / a file could not be read / bad arguments / replay stopped by Ctrl-C. */
/** 70: a fault of ips itself (EX_SOFTWARE), not of the files or the arguments. */
const EXIT = { ok: 0, unreadable: 1, usage: 2, internal: 70, interrupted: 130 } as const;

type Run = Extract<Invocation, { command: 'analyze' | 'replay' }>;
type FlowsRun = Extract<Invocation, { command: 'flows' }>;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

function write(text: string): void {
  process.stdout.write(text);
}

/** The --config file's JSON; a UsageError when it cannot be read or parsed. */
function readConfig(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--config ${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--config ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/** The chain with --config and --rules applied; a UsageError naming every bad setting, or why the rules cannot be used. */
function buildChain(run: Run): DetectorChain {
  let config = run.config === undefined ? {} : readConfig(run.config);
  if (run.rules !== undefined && isObject(config)) {
    const payload = config['payload-match'];
    // A payload-match entry that is not an object is left for chainSettings to refuse.
    if (payload === undefined || isObject(payload)) config = { ...config, 'payload-match': { ...payload, rulesFile: run.rules } };
  }
  const where = run.config === undefined ? '' : `--config ${run.config}: `;
  try {
    return new DetectorChain(chainSettings(config));
  } catch (err) {
    if (err instanceof SettingsError) throw new UsageError(err.reasons.map((r) => where + r).join('\n'));
    throw new UsageError((err as Error).message);
  }
}

/** Read one file through the chain (reset first: each file is an analysis of its own); returns whether it was read to its end. */
async function readFile(file: string, mode: FileMode, speed: number, chain: DetectorChain, out: AlertWriter, onSource?: (s: FileSource) => void): Promise<boolean> {
  chain.reset();
  let alerts = 0;
  const source = new FileSource({ path: file, mode, speed, batch: CHAIN_BATCH });
  onSource?.(source);
  const summary = await source.run((batch) => {
    for (const a of chain.process(batch)) {
      out.alert(file, a);
      alerts++;
    }
  });
  if (summary.error !== undefined) say(`ips: ${file}: ${summary.error}`);
  say(`${file}: ${summary.packets} packets, ${alerts} alerts, ${(summary.durationMs / 1000).toFixed(2)} s${summary.stopped ? ' (stopped)' : ''}`);
  return summary.error === undefined;
}

/** Ctrl-C while replaying: stop reading (the packets read so far still go through the chain and are summed up) instead of dying. */
class Interrupt {
  interrupted = false;
  private source: FileSource | null = null;
  private readonly onSignal = (): void => {
    this.interrupted = true;
    this.source?.stop();
  };

  constructor() {
    process.once('SIGINT', this.onSignal);
  }

  watch(source: FileSource): void {
    this.source = source;
    if (this.interrupted) source.stop();
  }

  dispose(): void {
    process.removeListener('SIGINT', this.onSignal);
  }
}

/** The flow meter with --config's "flow-meter" settings; a UsageError naming every bad one. */
function buildMeter(run: FlowsRun): FlowMeter {
  const config = run.config === undefined ? {} : readConfig(run.config);
  const settings = isObject(config) ? (config['flow-meter'] ?? {}) : config;
  try {
    if (!isObject(config)) throw new Error('must be a JSON object keyed by node type, e.g. {"flow-meter": {"idleTimeoutS": 30}}');
    return new FlowMeter(settings as Record<string, unknown>);
  } catch (err) {
    const where = `--config ${run.config}: `;
    if (err instanceof SettingsError) throw new UsageError(err.reasons.map((r) => where + r).join('\n'));
    throw new UsageError(where + (err as Error).message);
  }
}

/** `ips flows`: one CSV row per flow of each file (each file metered on its own, its open flows ended at its end). */
async function runFlows(run: FlowsRun, meter: FlowMeter): Promise<number> {
  write(csvLine(flowCsvHeader(run.label !== undefined)));
  let status: number = EXIT.ok;
  const records: FlowRecord[] = [];
  const emit = (): void => {
    let text = '';
    for (const r of records) text += csvLine(flowCsvValues(r, run.label));
    records.length = 0;
    if (text) write(text);
  };
  for (const file of run.files) {
    meter.reset();
    const source = new FileSource({ path: file, mode: 'analyze', speed: 1, batch: CHAIN_BATCH });
    const summary = await source.run((batch) => {
      meter.process(batch, records);
      emit();
    });
    meter.flush(records);
    emit();
    if (summary.error !== undefined) {
      say(`ips: ${file}: ${summary.error}`);
      status = EXIT.unreadable;
    }
    say(`${file}: ${summary.packets} packets, ${meter.stats.records} flows, ${(summary.durationMs / 1000).toFixed(2)} s`);
  }
  return status;
}

async function main(argv: readonly string[]): Promise<number> {
  let run: Run;
  let chain: DetectorChain;
  try {
    const invocation = parseInvocation(argv);
    if (invocation.command === 'help') {
      process.stdout.write(helpText());
      return EXIT.ok;
    }
    if (invocation.command === 'flows') return await runFlows(invocation, buildMeter(invocation));
    run = invocation;
    chain = buildChain(run);
    for (const line of chain.loadSummaries) say(line);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    for (const line of err.message.split('\n')) say(`ips: ${line}`);
    say('Run ips --help for the commands, options and settings.');
    return EXIT.usage;
  }
  if (run.command === 'replay') {
    // Listening before the table's header goes out, so a Ctrl-C on seeing it is caught.
    const interrupt = new Interrupt();
    const out = alertWriter(run.format, write, { withFile: false, streaming: true });
    try {
      const read = await readFile(run.files[0], 'replay', run.speed, chain, out, (s) => interrupt.watch(s));
      return !read ? EXIT.unreadable : interrupt.interrupted ? EXIT.interrupted : EXIT.ok;
    } finally {
      interrupt.dispose();
      out.end();
    }
  }
  const out = alertWriter(run.format, write, { withFile: run.files.length > 1, streaming: false });
  let status: number = EXIT.ok;
  for (const file of run.files) {
    if (!(await readFile(file, 'analyze', 1, chain, out))) status = EXIT.unreadable;
  }
  out.end();
  return status;
}

// A reader that went away (ips ... | head) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(process.exitCode ?? EXIT.ok);
});

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (err: unknown) => {
    process.stderr.write(`ips: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT.internal;
  },
);
