/**
 * The detector chain of the shipped flows: flood-detect → scan-detect →
 * payload-match in series, each batch of packets through all three in that
 * order, each with its node's settings. scripts/make-flows.js wires the
 * flows' detector nodes from this list, and the `ips` command line runs it
 * on capture files, so a capture gives the same alerts in both.
 *
 * The analyst chain adds lan-watch's packet analysis (ARP and neighbour
 * spoofing, new devices) after them: it needs the link layer (ARP, MACs),
 * which captures carry and NFQUEUE's packets (the router flow's inline
 * chain) do not, so it is not in DETECTOR_CHAIN. Its polls of the kernel's
 * neighbour table (lib/net/lan-watch.ts) are for a live router, not here.
 */
import type { BatchLimits } from '../capture/batcher';
import { batchLimits, pcapInSchema } from '../capture/pcap-input';
import type { Packet } from '../packet/types';
import { applySettings, defaultsOf, SettingsError, type Schema } from '../base/settings';
import type { Alert } from './alert';
import { FloodDetector, floodSchema } from './flood';
import { ScanDetector, scanSchema } from './scan';
import { PayloadDetector, payloadSchema } from './payload/detector';
import { LanDetector, lanSchema } from './lan';

/** One detector of the chain, as the flows and the command line build it. */
interface ChainStage {
  /** Node type, also the node's name in the shipped flows (so each alert's `detector`). */
  readonly type: string;
  readonly schema: Schema<object>;
  /** The engine for validated settings; relative rule file paths start from `baseDir`. Throws when they cannot be used. */
  create(settings: object, baseDir: string): ChainEngine;
}

export interface ChainEngine {
  process(packets: readonly Packet[]): Alert[];
  reset(): void;
  /** payload-match: "loaded N of M rules" and the reasons rules were skipped. */
  readonly loadSummary?: string;
}

const asConfig = (settings: object): Record<string, unknown> => settings as Record<string, unknown>;

export const DETECTOR_CHAIN: readonly ChainStage[] = [
  { type: 'flood-detect', schema: floodSchema as Schema<object>, create: (s) => new FloodDetector('flood-detect', asConfig(s)) },
  { type: 'scan-detect', schema: scanSchema as Schema<object>, create: (s) => new ScanDetector('scan-detect', asConfig(s)) },
  { type: 'payload-match', schema: payloadSchema as Schema<object>, create: (s, baseDir) => new PayloadDetector('payload-match', asConfig(s), baseDir) },
];

/** What the command line runs on captures, and the analyst flow's chain: the detectors, then lan-watch on the same packets. */
export const ANALYST_CHAIN: readonly ChainStage[] = [
  ...DETECTOR_CHAIN,
  { type: 'lan-watch', schema: lanSchema as Schema<object>, create: (s) => new LanDetector('lan-watch', asConfig(s)) },
];

/**
 * The batches pcap-in hands the chain in the analyst flow (its default
 * batch size and delay). Suppression summaries are emitted at batch ends, so reading
 * a file in the same batches gives the same alerts.
 */
export const CHAIN_BATCH: BatchLimits = batchLimits(defaultsOf(pcapInSchema));

/** Validated settings per node type (every stage has an entry). */
export type ChainSettings = Readonly<Record<string, object>>;

/**
 * The chain's settings from an object keyed by node type (`{"flood-detect":
 * {"synSrc": 50}}`), each over its schema's defaults: a missing type or key
 * keeps the default. Throws SettingsError naming every unknown type and
 * every bad key or value, prefixed with the node type.
 */
export function chainSettings(config: unknown = {}): ChainSettings {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new SettingsError([`settings must be an object keyed by node type (${ANALYST_CHAIN.map((s) => s.type).join(', ')})`]);
  }
  const given = config as Record<string, unknown>;
  const reasons: string[] = [];
  for (const type of Object.keys(given)) {
    if (!ANALYST_CHAIN.some((s) => s.type === type)) reasons.push(`unknown node type '${type}' (known: ${ANALYST_CHAIN.map((s) => s.type).join(', ')})`);
  }
  const out: Record<string, object> = {};
  for (const stage of ANALYST_CHAIN) {
    try {
      out[stage.type] = applySettings(stage.schema, defaultsOf(stage.schema), given[stage.type] ?? {});
    } catch (err) {
      if (!(err instanceof SettingsError)) throw err;
      reasons.push(...err.reasons.map((r) => `${stage.type}: ${r}`));
    }
  }
  if (reasons.length) throw new SettingsError(reasons);
  return out;
}

export class DetectorChain {
  private readonly engines: ChainEngine[];

  /** Throws (SettingsError, payload-match's RuleError) when the settings cannot be used. */
  constructor(settings: ChainSettings = chainSettings(), baseDir = process.cwd()) {
    this.engines = ANALYST_CHAIN.map((stage) => {
      try {
        return stage.create(settings[stage.type] ?? defaultsOf(stage.schema), baseDir);
      } catch (err) {
        if (err instanceof Error) err.message = `${stage.type}: ${err.message}`;
        throw err;
      }
    });
  }

  /** The rule load reports of the stages that load rules, each prefixed with the node type. */
  get loadSummaries(): string[] {
    return this.engines.flatMap((e, i) => (e.loadSummary === undefined ? [] : [`${DETECTOR_CHAIN[i].type}: ${e.loadSummary}`]));
  }

  /** A batch through every detector in order; the alerts of all, in that order. */
  process(packets: readonly Packet[]): Alert[] {
    const alerts: Alert[] = [];
    for (const engine of this.engines) {
      const raised = engine.process(packets);
      for (let i = 0; i < raised.length; i++) alerts.push(raised[i]);
    }
    return alerts;
  }

  /** Forget every detector's windows and cooldowns (settings stay), as the analyst flow does before each file. */
  reset(): void {
    for (const engine of this.engines) engine.reset();
  }
}
