/**
 * payload-match engine: the rule matchers behind the shared detector
 * skeleton (allowlist, suppression per rule and source, inline verdicts,
 * stats). JSON rules go through PayloadMatcher per packet; rule-language
 * (Snort/Suricata) rules through SignatureEngine per Inspection, made by
 * PacketInspector (one per packet until stream reassembly replaces it).
 * Rules are loaded by rule-sources.ts.
 *
 * Each rule has its own action. The skeleton applies one action per
 * detector, so the engine runs two skeletons over the same hits: one whose
 * action is always 'alert' for the rules that only alert, and one with the
 * configured action ('drop' = inline mode) for the rules whose action is
 * 'drop'. The payload of each packet is matched once.
 */
import type { Packet } from '../../packet/types';
import type { Alert } from '../alert';
import { packetFields, type RuleInfo } from '../alerts';
import { baseSchema, Detector, type BaseSettings, type DetectorStats, type HitFields } from '../detector';
import { SettingsError, withDefault, type Schema } from '../../base/settings';
import { srcKey } from '../keys';
import { endpoint } from './evidence';
import { hitEvidence, PayloadMatcher, type PayloadHit } from './matcher';
import type { PayloadRule } from './rules';
import { defaultSources, loadRuleSet, reportText, RULE_FIELDS, ruleSourceSchema, sourcesFrom, type LoadReport, type RuleSet, type RuleSources } from './rule-sources';
import { SignatureEngine, type SignatureHit } from './signature/engine';
import { PacketInspector } from './signature/packet-inspection';
import { describeSignatureHit, signatureInfo } from './signature/alerting';

export { defaultRules } from './rule-sources';

export type PayloadSettings = BaseSettings & RuleSources;

/** The skeletons' settings: payload-match tracks more sources than the rate detectors (one entry per matching source and rule). */
const skeletonSchema: Schema<BaseSettings> = {
  ...baseSchema,
  maxTracked: withDefault(baseSchema.maxTracked, 50_000),
};

export const payloadSchema: Schema<PayloadSettings> = {
  ...skeletonSchema,
  ...ruleSourceSchema,
};

/** The rules of a rule set, ready to match: the JSON matcher and, when there are rule-language rules, their engine. */
interface Engines {
  matcher: PayloadMatcher;
  signatures: SignatureEngine | null;
  report: LoadReport;
}

function enginesOf(set: RuleSet, maxTracked: number): Engines {
  return { matcher: new PayloadMatcher(set.json), signatures: set.signatures.length > 0 ? new SignatureEngine(set.signatures, maxTracked) : null, report: set.report };
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

/** The hits of the current batch by packet: JSON rules', rule-language rules'. */
interface HitMaps {
  json: Map<Packet, readonly PayloadHit[]>;
  signatures: Map<Packet, readonly SignatureHit[]>;
}

/** One skeleton: reports the hits of rules with the given action. */
class RuleActionDetector extends Detector<BaseSettings> {
  constructor(name: string, config: Record<string, unknown>, private readonly hits: HitMaps, private readonly dropRules: boolean) {
    super(name, skeletonSchema, config);
  }

  protected inspect(p: Packet): void {
    const hits = this.hits.json.get(p);
    if (hits !== undefined) {
      for (const hit of hits) {
        if ((hit.rule.action === 'drop') !== this.dropRules) continue;
        this.report(ruleInfo(hit.rule), srcKey(p), p, 0, () => describeHit(hit, p), false);
      }
    }
    const sigHits = this.hits.signatures.get(p);
    if (sigHits !== undefined) {
      for (const hit of sigHits) {
        if ((hit.sig.action === 'drop') !== this.dropRules) continue;
        this.report(signatureInfo(hit.sig), srcKey(p), p, 0, () => describeSignatureHit(hit, p), false);
      }
    }
  }
}

function describeHit(hit: PayloadHit, p: Packet): HitFields {
  const how = hit.decoded === 0 ? '' : hit.decoded === 1 ? ' after URL-decoding' : ' after URL-decoding twice';
  const reason = `${p.proto} payload from ${endpoint(p.src, p.sport)} to ${endpoint(p.dst, p.dport)} matched rule ${hit.rule.id} (sid ${hit.rule.sid})${how}: "${hit.text.length > 60 ? `${hit.text.slice(0, 59)}…` : hit.text}"`;
  return {
    ...packetFields(p),
    windowMs: 0,
    threshold: 1,
    reason,
    evidence: hitEvidence(hit, p.payload),
  };
}

export class PayloadDetector {
  private engines: Engines;
  private sources: RuleSources;
  private readonly alerting: RuleActionDetector;
  private readonly dropping: RuleActionDetector;
  private readonly hitMaps: HitMaps = { json: new Map(), signatures: new Map() };
  /** Units for the rule-language engine (the stand-in until stream reassembly: one per packet). */
  private readonly inspector: PacketInspector;
  /** Indices of the batch's packets that matched a rule (only those need the skeletons' per-packet work). */
  private readonly hitIndices: number[] = [];

  /**
   * @param name node name, put in each alert's `detector`
   * @param config editor config: the base detector settings (action, allowlist, cooldownS, maxTracked) and the rule sources.
   * @param baseDir directory relative rule file paths start from (the Node-RED user directory in the node)
   * Throws SettingsError or RuleError with the reason.
   */
  constructor(readonly name: string, config: Record<string, unknown> = {}, private readonly baseDir = process.cwd()) {
    this.sources = sourcesFrom(defaultSources, config, true);
    this.dropping = new RuleActionDetector(name, config, this.hitMaps, true);
    this.alerting = new RuleActionDetector(name, { ...config, action: 'alert' }, this.hitMaps, false);
    this.engines = enginesOf(loadRuleSet(this.sources, baseDir), this.dropping.settings.maxTracked);
    this.inspector = new PacketInspector(this.dropping.settings.maxTracked);
  }

  /** The JSON rules in use. */
  get rules(): readonly PayloadRule[] {
    return this.engines.matcher.rules;
  }

  /** The rule-language engine, when rule-language rules are loaded. */
  get signatureEngine(): SignatureEngine | null {
    return this.engines.signatures;
  }

  /** What the last load gave: rules loaded of rules found, skipped rules with reasons. */
  get loadReport(): LoadReport {
    return this.engines.report;
  }

  /** The load report in words: "loaded N of M rules", reasons by count. */
  get loadSummary(): string {
    return reportText(this.engines.report);
  }

  get settings(): Readonly<PayloadSettings> {
    return { ...this.dropping.settings, ...this.sources };
  }

  get stats(): DetectorStats {
    const a = this.alerting.stats;
    const d = this.dropping.stats;
    return { packets: d.packets, alerts: a.alerts + d.alerts, suppressed: a.suppressed + d.suppressed, evictions: a.evictions + d.evictions, dropped: d.dropped };
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
    let rulesTouched = false;
    for (const [k, v] of Object.entries(all)) {
      if ((RULE_FIELDS as readonly string[]).includes(k)) rulesTouched = true;
      else base[k] = v;
    }
    let nextSources = this.sources;
    let nextEngines = this.engines;
    if (rulesTouched) {
      nextSources = sourcesFrom(this.sources, all);
      nextEngines = enginesOf(loadRuleSet(nextSources, this.baseDir), this.dropping.settings.maxTracked);
    }
    if (Object.keys(base).length > 0) {
      // The dropping skeleton validates first; the alerting one takes the same values (never throws after that).
      this.dropping.configure(base);
      if ('action' in base) base.action = 'alert';
      this.alerting.configure(base);
    }
    this.sources = nextSources;
    this.engines = nextEngines;
    const cap = this.dropping.settings.maxTracked;
    this.inspector.cap = cap;
    if (nextEngines.signatures) nextEngines.signatures.maxTracked = cap;
  }

  reset(): void {
    this.alerting.reset();
    this.dropping.reset();
    this.inspector.clear();
    this.engines.signatures?.reset();
  }

  /** Match a batch (or one packet as a one-element array); returns the alerts, sets verdicts in inline mode. */
  process(packets: readonly Packet[]): Alert[] {
    const { matcher, signatures } = this.engines;
    const only = this.hitIndices;
    only.length = 0;
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i];
      const hits = matcher.match(p);
      if (hits.length > 0) this.hitMaps.json.set(p, hits);
      const sigHits = signatures === null ? null : signatures.match(this.inspector.inspect(p));
      if (sigHits !== null && sigHits.length > 0) this.hitMaps.signatures.set(p, sigHits);
      if (hits.length > 0 || (sigHits !== null && sigHits.length > 0)) only.push(i);
    }
    try {
      const alerts = this.alerting.process(packets, only);
      const drops = this.dropping.process(packets, only);
      return drops.length ? alerts.concat(drops) : alerts;
    } finally {
      this.hitMaps.json.clear();
      this.hitMaps.signatures.clear();
    }
  }
}

