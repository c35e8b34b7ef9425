/**
 * payload-match engine: the rule matcher behind the shared detector skeleton
 * (allowlist, suppression per rule and source, inline verdicts, stats).
 *
 * Input path: packet → StreamInspector (TCP reassembly, HTTP fields) →
 * inspection units → matcher. A hit belongs to the packet that completed
 * it; in inline mode a hit of a drop rule also marks its TCP connection,
 * whose later packets (retransmissions included) are dropped.
 *
 * Each rule has its own action. The skeleton applies one action per
 * detector, so the engine runs two skeletons over the same hits: one whose
 * action is always 'alert' for the rules that only alert, and one with the
 * configured action ('drop' = inline mode) for the rules whose action is
 * 'drop'. The payload of each packet is matched once.
 */
import path from 'node:path';
import type { Packet } from '../../packet/types';
import type { Alert } from '../alert';
import { packetFields, type RuleInfo } from '../alerts';
import { baseSchema, Detector, type BaseSettings, type DetectorStats, type HitFields } from '../detector';
import { applySettings, settingsFromConfig, SettingsError, withDefault, type Schema } from '../../base/settings';
import { srcKey } from '../keys';
import { DEFAULT_RULES } from './default-rules';
import { hitEvidence, PayloadMatcher, type PayloadHit } from './matcher';
import { compileRules, loadRulesFile, mergeRules, parseRulesJson, type PayloadRule } from './rules';
import { StreamInspector, streamSchema, streamSettings, type StreamConfig } from '../stream/inspector';
import type { ReassemblyStats } from '../stream/reassembly';

/** Where the rules come from. */
export interface RuleSources {
  /** Include the shipped rule set (default true). */
  includeDefaults: boolean;
  /** Rules as JSON text (editor field), an array of rule objects, or { rules: [...] }. */
  rules: unknown;
  /** Path of a JSON rules file ('' for none). */
  rulesFile: string;
}

export type PayloadSettings = BaseSettings & StreamConfig & RuleSources;

/** The skeletons' settings: payload-match tracks more sources than the rate detectors (one entry per matching source and rule). */
const skeletonSchema: Schema<BaseSettings> = {
  ...baseSchema,
  maxTracked: withDefault(baseSchema.maxTracked, 50_000),
};

export const payloadSchema: Schema<PayloadSettings> = {
  ...skeletonSchema,
  ...streamSchema,
  includeDefaults: { type: 'bool', default: true, label: 'Shipped rules', help: 'include the shipped rule set (SQL injection, XSS, traversal, command injection, Log4Shell)' },
  rules: { type: 'json', default: '', label: 'Rules', help: 'your rules as JSON: an array of rule objects (a rule with a shipped id replaces it)' },
  rulesFile: { type: 'string', default: '', label: 'Rules file', help: 'path of a JSON rules file, relative to the Node-RED user directory' },
};

export const defaultSources: RuleSources = { includeDefaults: true, rules: '', rulesFile: '' };

let compiledDefaults: PayloadRule[] | null = null;

/** The shipped rules, validated once. */
export function defaultRules(): PayloadRule[] {
  compiledDefaults ??= compileRules(DEFAULT_RULES, 'default rules');
  return compiledDefaults;
}

/**
 * The rule list from its sources: defaults, then the file, then the editor
 * rules (a later rule with the same id replaces an earlier one). A relative
 * file path is taken from `baseDir`. Throws
 * RuleError naming the source, rule and problem.
 */
export function buildRules(src: RuleSources, baseDir = process.cwd()): PayloadRule[] {
  const lists: PayloadRule[][] = [];
  if (src.includeDefaults) lists.push(defaultRules());
  if (src.rulesFile.trim() !== '') lists.push(loadRulesFile(path.resolve(baseDir, src.rulesFile.trim())));
  if (typeof src.rules === 'string') lists.push(parseRulesJson(src.rules, 'editor rules'));
  else lists.push(compileRules(src.rules, 'rules'));
  return mergeRules(...lists);
}

const RULE_FIELDS = ['includeDefaults', 'rules', 'rulesFile'] as const;
const STREAM_FIELDS = Object.keys(streamSchema);

/** Rule sources from a config object (editor config or a control message), over `base`. */
function sourcesFrom(base: RuleSources, cfg: Record<string, unknown>): RuleSources {
  const next = { ...base };
  const v = cfg.includeDefaults;
  if (v !== undefined) {
    if (typeof v === 'boolean') next.includeDefaults = v;
    else if (v === 'true' || v === 'false') next.includeDefaults = v === 'true';
    else throw new SettingsError([`includeDefaults must be true or false, got ${JSON.stringify(v)}`]);
  }
  if (cfg.rules !== undefined) {
    if (typeof cfg.rules !== 'string' && (cfg.rules === null || typeof cfg.rules !== 'object')) {
      throw new SettingsError(['rules must be JSON text, an array of rule objects or { "rules": [...] }']);
    }
    next.rules = cfg.rules;
  }
  if (cfg.rulesFile !== undefined) {
    if (typeof cfg.rulesFile !== 'string') throw new SettingsError([`rulesFile must be a file path, got ${JSON.stringify(cfg.rulesFile)}`]);
    next.rulesFile = cfg.rulesFile;
  }
  return next;
}

/** Catalog entries of the compiled rules, made once per rule rather than per hit. */
const ruleInfos = new WeakMap<PayloadRule, RuleInfo>();

/** A payload rule's catalog entry: it tracks the sender of the matching payload, its offender. */
function ruleInfo(r: PayloadRule): RuleInfo {
  let info = ruleInfos.get(r);
  if (info === undefined) {
    info = { rule: r.id, sid: r.sid, signature: r.name, category: r.category, severity: r.severity, tracks: 'src' };
    ruleInfos.set(r, info);
  }
  return info;
}

/** One skeleton: reports the hits of rules with the given action. */
class RuleActionDetector extends Detector<BaseSettings> {
  constructor(name: string, config: Record<string, unknown>, private readonly hitsOf: (p: Packet) => readonly PayloadHit[] | undefined, private readonly dropRules: boolean) {
    super(name, skeletonSchema, config);
  }

  protected inspect(p: Packet): void {
    const hits = this.hitsOf(p);
    if (hits === undefined) return;
    for (const hit of hits) {
      if ((hit.rule.action === 'drop') !== this.dropRules) continue;
      this.report(ruleInfo(hit.rule), srcKey(p), p, 0, () => describeHit(hit, p), false);
    }
  }
}

function endpoint(addr: string, port: number | undefined): string {
  if (port === undefined) return addr;
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** What was matched, for the reason: 'tcp payload', 'tcp stream', 'HTTP http.uri'. */
function bufferText(hit: PayloadHit, p: Packet): string {
  if (hit.buffer === 'pkt_data') return `${p.proto} payload`;
  if (hit.buffer === 'stream') return `${p.proto} stream`;
  return `HTTP ${hit.buffer.slice(5)}`;
}

function describeHit(hit: PayloadHit, p: Packet): HitFields {
  const how = hit.decoded === 0 ? '' : hit.decoded === 1 ? ' after URL-decoding' : ' after URL-decoding twice';
  const reason = `${bufferText(hit, p)} from ${endpoint(p.src, p.sport)} to ${endpoint(p.dst, p.dport)} matched rule ${hit.rule.id} (sid ${hit.rule.sid})${how}: "${hit.text.length > 60 ? `${hit.text.slice(0, 59)}…` : hit.text}"`;
  return {
    ...packetFields(p),
    windowMs: 0,
    threshold: 1,
    reason,
    evidence: hitEvidence(hit),
  };
}

export class PayloadDetector {
  private matcher: PayloadMatcher;
  private sources: RuleSources;
  private streamConfig: StreamConfig;
  private readonly streams: StreamInspector;
  private readonly alerting: RuleActionDetector;
  private readonly dropping: RuleActionDetector;
  private readonly hitMap = new Map<Packet, readonly PayloadHit[]>();
  /** Packets dropped because their connection was marked (counted with the skeleton's drops). */
  private flowDrops = 0;
  /** Indices of the batch's packets that matched a rule (only those need the skeletons' per-packet work). */
  private readonly hitIndices: number[] = [];

  /**
   * @param name node name, put in each alert's `detector`
   * @param config editor config: the base detector settings (action, allowlist, cooldownS, maxTracked) and the rule sources.
   * @param baseDir directory relative rule file paths start from (the Node-RED user directory in the node)
   * Throws SettingsError or RuleError with the reason.
   */
  constructor(readonly name: string, config: Record<string, unknown> = {}, private readonly baseDir = process.cwd()) {
    this.sources = sourcesFrom(defaultSources, config);
    this.streamConfig = settingsFromConfig(streamSchema, config);
    this.streams = new StreamInspector(streamSettings(this.streamConfig));
    this.matcher = new PayloadMatcher(buildRules(this.sources, baseDir));
    const lookup = (p: Packet): readonly PayloadHit[] | undefined => this.hitMap.get(p);
    this.dropping = new RuleActionDetector(name, config, lookup, true);
    this.alerting = new RuleActionDetector(name, { ...config, action: 'alert' }, lookup, false);
  }

  get rules(): readonly PayloadRule[] {
    return this.matcher.rules;
  }

  get settings(): Readonly<PayloadSettings> {
    return { ...this.dropping.settings, ...this.streamConfig, ...this.sources };
  }

  /** Evictions include TCP connections evicted from reassembly. */
  get stats(): DetectorStats {
    const a = this.alerting.stats;
    const d = this.dropping.stats;
    const evictions = a.evictions + d.evictions + this.streams.stats.evictions;
    return { packets: d.packets, alerts: a.alerts + d.alerts, suppressed: a.suppressed + d.suppressed, evictions, dropped: d.dropped + this.flowDrops };
  }

  /** Reassembly: connections, evictions, gaps, bytes held. */
  get streamStats(): ReassemblyStats {
    return this.streams.stats;
  }

  /**
   * Runtime change: base settings and/or rule sources (`rules`,
   * `includeDefaults`, `rulesFile`; sending `rulesFile` again reloads the
   * file). Everything is validated first; on any error nothing changes.
   */
  configure(patch: unknown): void {
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
      throw new SettingsError([`settings must be an object of field: value, got ${JSON.stringify(patch)}`]);
    }
    const all = patch as Record<string, unknown>;
    const base: Record<string, unknown> = {};
    const stream: Record<string, unknown> = {};
    let rulesTouched = false;
    for (const [k, v] of Object.entries(all)) {
      if ((RULE_FIELDS as readonly string[]).includes(k)) rulesTouched = true;
      else if (STREAM_FIELDS.includes(k)) stream[k] = v;
      else base[k] = v;
    }
    const nextStream = Object.keys(stream).length > 0 ? applySettings(streamSchema, this.streamConfig, stream) : this.streamConfig;
    let nextSources = this.sources;
    let nextMatcher = this.matcher;
    if (rulesTouched) {
      nextSources = sourcesFrom(this.sources, all);
      nextMatcher = new PayloadMatcher(buildRules(nextSources, this.baseDir));
    }
    if (Object.keys(base).length > 0) {
      // The dropping skeleton validates first; the alerting one takes the same values (never throws after that).
      this.dropping.configure(base);
      if ('action' in base) base.action = 'alert';
      this.alerting.configure(base);
    }
    this.sources = nextSources;
    this.matcher = nextMatcher;
    if (nextStream !== this.streamConfig) {
      this.streamConfig = nextStream;
      this.streams.configure(streamSettings(nextStream));
    }
  }

  reset(): void {
    this.alerting.reset();
    this.dropping.reset();
    this.streams.clear();
    this.flowDrops = 0;
  }

  /**
   * Match a batch (or one packet as a one-element array); returns the
   * alerts, sets verdicts in inline mode (a packet completing a drop rule's
   * match, and every later packet of its TCP connection).
   */
  process(packets: readonly Packet[]): Alert[] {
    const matcher = this.matcher;
    const streams = this.streams;
    const only = this.hitIndices;
    const dropMode = this.dropping.settings.action === 'drop';
    only.length = 0;
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i];
      const units = streams.inspect(p);
      const flow = streams.lastFlow;
      if (flow !== null && flow.drop && dropMode && p.verdict !== 'drop' && !this.allowed(p)) {
        p.verdict = 'drop';
        this.flowDrops++;
      }
      let hits: PayloadHit[] | null = null;
      for (let u = 0; u < units.length; u++) {
        const found = matcher.matchUnit(units[u]);
        if (found.length === 0) continue;
        hits = hits === null ? (found as PayloadHit[]) : hits.concat(found);
        if (flow !== null && dropMode && found.some((h) => h.rule.action === 'drop') && !this.allowed(p)) flow.drop = true;
      }
      if (hits !== null) {
        this.hitMap.set(p, hits);
        only.push(i);
      }
    }
    try {
      const alerts = this.alerting.process(packets, only);
      const drops = this.dropping.process(packets, only);
      return drops.length ? alerts.concat(drops) : alerts;
    } finally {
      this.hitMap.clear();
    }
  }

  private allowed(p: Packet): boolean {
    return this.dropping.isAllowed(p.src);
  }
}
