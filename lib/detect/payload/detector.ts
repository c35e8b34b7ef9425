/**
 * payload-match engine: the rule matchers behind the shared detector
 * skeleton (allowlist, suppression per rule and source, inline verdicts,
 * stats). Rules are loaded by rule-sources.ts.
 *
 * Input path: packet → StreamInspector (TCP reassembly, HTTP fields) →
 * inspection units → both matchers: PayloadMatcher for the JSON rules,
 * SignatureEngine for the rule-language (Snort/Suricata) rules. A hit
 * belongs to the packet that completed it; in inline mode a hit of a drop
 * rule also condemns its TCP connection (stream/condemned.ts): every later
 * packet of it, both directions, pure ACKs, FIN and RST included, is dropped
 * without being inspected, until the connection is idle. A packet that gives no unit (a bare SYN, a pure
 * ACK, an empty ICMP) is still shown to the rule-language rules without a
 * content (flags, itype …) as a unit of its own.
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
import { applySettings, settingsFromConfig, SettingsError, withDefault, type Schema } from '../../base/settings';
import { srcKey } from '../keys';
import { endpoint } from './evidence';
import { hitEvidence, PayloadMatcher, type PayloadHit } from './matcher';
import type { PayloadRule } from './rules';
import { defaultSources, loadRuleSet, reportText, RULE_FIELDS, ruleSourceSchema, sourcesFrom, type LoadReport, type RuleSet, type RuleSources } from './rule-sources';
import { SignatureEngine, type SignatureHit } from './signature/engine';
import { describeSignatureHit, signatureInfo } from './signature/alerting';
import type { Inspection } from './inspection';
import { StreamInspector, streamSchema, streamSettings, type StreamConfig } from '../stream/inspector';
import type { ReassemblyStats } from '../stream/reassembly';
import { CondemnedConnections } from '../stream/condemned';

export { defaultRules } from './rule-sources';

const STREAM_FIELDS = Object.keys(streamSchema);
const NO_UNITS: readonly Inspection[] = Object.freeze([]);

export type PayloadSettings = BaseSettings & StreamConfig & RuleSources;

/** The skeletons' settings: payload-match tracks more sources than the rate detectors (one entry per matching source and rule). */
const skeletonSchema: Schema<BaseSettings> = {
  ...baseSchema,
  maxTracked: withDefault(baseSchema.maxTracked, 50_000),
};

export const payloadSchema: Schema<PayloadSettings> = {
  ...skeletonSchema,
  ...streamSchema,
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
  private engines: Engines;
  private sources: RuleSources;
  private streamConfig: StreamConfig;
  private readonly streams: StreamInspector;
  private readonly alerting: RuleActionDetector;
  private readonly dropping: RuleActionDetector;
  private readonly hitMaps: HitMaps = { json: new Map(), signatures: new Map() };
  /** The unit of a packet that gave none, as a list (reused). */
  private readonly aloneUnit: Inspection[] = [];
  /** Inline: connections whose later packets are dropped. */
  private readonly condemned: CondemnedConnections;
  /** Packets dropped because their connection was condemned (counted with the skeleton's drops). */
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
    this.sources = sourcesFrom(defaultSources, config, true);
    this.streamConfig = settingsFromConfig(streamSchema, config);
    this.streams = new StreamInspector(streamSettings(this.streamConfig));
    this.dropping = new RuleActionDetector(name, config, this.hitMaps, true);
    this.alerting = new RuleActionDetector(name, { ...config, action: 'alert' }, this.hitMaps, false);
    this.engines = enginesOf(loadRuleSet(this.sources, baseDir), this.dropping.settings.maxTracked);
    this.condemned = new CondemnedConnections(this.dropping.settings.maxTracked, this.streamConfig.streamIdleS * 1000);
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
    return { ...this.dropping.settings, ...this.streamConfig, ...this.sources };
  }

  /** Evictions include TCP connections evicted from reassembly and condemned connections forgotten when their table was full. */
  get stats(): DetectorStats {
    const a = this.alerting.stats;
    const d = this.dropping.stats;
    const evictions = a.evictions + d.evictions + this.streams.stats.evictions + this.condemned.evictions;
    return { packets: d.packets, alerts: a.alerts + d.alerts, suppressed: a.suppressed + d.suppressed, evictions, dropped: d.dropped + this.flowDrops };
  }

  /** Inline: TCP connections condemned now (their packets are dropped). */
  get condemnedConnections(): number {
    return this.condemned.size;
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
    if (nextEngines.signatures) nextEngines.signatures.maxTracked = this.dropping.settings.maxTracked;
    this.condemned.cap = this.dropping.settings.maxTracked;
    if (nextStream !== this.streamConfig) {
      this.streamConfig = nextStream;
      this.streams.configure(streamSettings(nextStream));
      this.condemned.idleMs = nextStream.streamIdleS * 1000;
    }
  }

  reset(): void {
    this.alerting.reset();
    this.dropping.reset();
    this.streams.clear();
    this.engines.signatures?.reset();
    this.condemned.clear();
    this.flowDrops = 0;
  }

  /**
   * Match a batch (or one packet as a one-element array); returns the
   * alerts, sets verdicts in inline mode (a packet completing a drop rule's
   * match, and every later packet of its TCP connection, which is not
   * inspected).
   */
  process(packets: readonly Packet[]): Alert[] {
    const { matcher, signatures } = this.engines;
    const streams = this.streams;
    const only = this.hitIndices;
    const dropMode = this.dropping.settings.action === 'drop';
    const condemned = this.condemned;
    only.length = 0;
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i];
      // A packet of a condemned connection is dropped as it is: nothing it carries reaches the other side.
      if (dropMode && condemned.size > 0 && condemned.has(p) && !this.allowed(p)) {
        if (p.verdict !== 'drop') {
          p.verdict = 'drop';
          this.flowDrops++;
        }
        continue;
      }
      const units = streams.inspect(p);
      let hits: PayloadHit[] | null = null;
      let sigHits: SignatureHit[] | null = null;
      let dropHit = false;
      const payloadOnly = streams.isPayloadOnly(units);
      for (let u = 0; u < units.length; u++) {
        const found = payloadOnly ? matcher.matchPayloadUnit(units[u]) : matcher.matchUnit(units[u]);
        if (found.length === 0) continue;
        hits = hits === null ? (found as PayloadHit[]) : hits.concat(found);
        dropHit ||= found.some((h) => h.rule.action === 'drop');
      }
      // Rules without a content also see a packet that gave no unit (a SYN, an empty ICMP message), alone.
      const sigUnits = signatures === null ? NO_UNITS : units.length > 0 ? units : signatures.matchesWithoutContent ? this.one(streams.alone(p)) : NO_UNITS;
      for (let u = 0; u < sigUnits.length; u++) {
        const found = (signatures as SignatureEngine).match(sigUnits[u]);
        if (found.length === 0) continue;
        // The unit's buffers are reused by the next packet: the evidence keeps its own copy.
        for (const h of found) if (h.bytes !== null) h.bytes = Buffer.from(h.bytes);
        sigHits = sigHits === null ? (found as SignatureHit[]) : sigHits.concat(found);
        dropHit ||= found.some((h) => h.sig.action === 'drop');
      }
      // A TCP segment (with a sequence number: a connection's, not a packet made by hand) condemns its connection.
      if (dropMode && dropHit && p.seq !== undefined && !this.allowed(p)) condemned.add(p);
      if (hits !== null) this.hitMaps.json.set(p, hits);
      if (sigHits !== null) this.hitMaps.signatures.set(p, sigHits);
      if (hits !== null || sigHits !== null) only.push(i);
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

  private one(unit: Inspection): readonly Inspection[] {
    this.aloneUnit[0] = unit;
    return this.aloneUnit;
  }

  private allowed(p: Packet): boolean {
    return this.dropping.isAllowed(p.src);
  }
}
