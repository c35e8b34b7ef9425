/**
 * The detector nodes (flood-detect, scan-detect, payload-match, lan-watch)
 * on the node scaffold: two outputs (packets passed through in the form
 * received, alerts) and a status line with packets / alerts / evictions. The
 * detector wrappers only say how to build their engine.
 */
import type { NodeAPI, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { Packet } from '../../lib/packet/types';
import type { Alert } from '../../lib/detect/alert';
import type { DetectorStats } from '../../lib/detect/detector';
import { looksLikePacket } from '../../lib/packet/batch';
import { registerIpsNode, type Controller, type NodeKit, type Send } from './ips-node';
import { shortError } from './status';
import type { SettingsOf } from './node-types';

/** The node types built on this wrapper. */
type DetectorType = 'flood-detect' | 'scan-detect' | 'payload-match' | 'lan-watch';

/** What the wrapper needs from a detector engine (lib/detect/detector.ts `Detector` has it). */
export interface DetectorEngine {
  process(packets: readonly Packet[]): Alert[];
  configure(patch: unknown): void;
  reset(): void;
  readonly stats: DetectorStats;
  /** What the status line adds after the counts (e.g. '12 devices'). */
  statusNote?(): string;
  /** Why the engine's own work outside the packets (a poll) last failed: the status turns red with it. */
  readonly fault?: string | null;
  /** Release timers. */
  close?(): void;
  /** Rule counts of the last load (payload-match): shown in the status, logged when they change. */
  readonly loadReport?: { loaded: number; total: number; skipped: readonly unknown[] };
  readonly loadSummary?: string;
}

/** Log a rule load: a warning (also in the debug sidebar) when rules were skipped. */
function logLoad(engine: DetectorEngine, kit: NodeKit): void {
  if (engine.loadReport === undefined || engine.loadSummary === undefined) return;
  if (engine.loadReport.skipped.length > 0) kit.node.warn(engine.loadSummary);
  else kit.node.log(engine.loadSummary);
}

/** 1234 → '1234', 12345 → '12.3k', 1234567 → '1.23M'. */
export function compactCount(n: number): string {
  if (n < 10_000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 100_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(n < 10_000_000 ? 2 : 1)}M`;
}

function statsText(s: DetectorStats): string {
  let text = `${compactCount(s.packets)} pkts · ${compactCount(s.alerts)} alerts`;
  if (s.suppressed) text += ` (+${compactCount(s.suppressed)} suppr.)`;
  if (s.dropped) text += ` · ${compactCount(s.dropped)} dropped`;
  text += ` · ${compactCount(s.evictions)} evicted`;
  return text;
}

/** The packets of a message payload, or an Error saying why it is not one. */
export function packetsFrom(payload: unknown): Packet[] | Error {
  if (Array.isArray(payload)) {
    // Checking the first element keeps batches cheap; the decoder produces uniform batches.
    if (payload.length > 0 && !looksLikePacket(payload[0])) return new Error('msg.payload is an array but not a batch of packets (need ts, src, dst, proto)');
    return payload as Packet[];
  }
  if (looksLikePacket(payload)) return [payload];
  return new Error("msg.payload is not a packet or a batch of packets (need ts, src, dst, proto); use msg.topic 'config' or 'reset' for control");
}

/**
 * Register a detector node type on the scaffold (ips-node.ts). `build` turns
 * the validated settings into an engine and throws (with the reason) when
 * they cannot be used; the type's bad-config policy (node-types.ts:
 * pass-through for detectors) then applies.
 */
export function registerDetectorNode<T extends DetectorType>(RED: NodeAPI, type: T, build: (settings: SettingsOf<T>, kit: NodeKit) => DetectorEngine): void {
  registerIpsNode(RED, {
    type,
    create(settings, kit): Controller<SettingsOf<T>> {
      const engine = build(settings, kit);
      logLoad(engine, kit);
      // Until the first message the line invites packets; after it (or a reset) it counts.
      let counting = false;
      return {
        input(msg: NodeMessageInFlow, send: Send): void {
          const packets = packetsFrom(msg.payload);
          if (packets instanceof Error) throw packets;
          const alerts = engine.process(packets);
          send([msg, alerts.length ? alerts.map((a): NodeMessage => ({ topic: a.rule, payload: a })) : null]);
          counting = true;
          kit.scheduleStatus();
        },
        configure: (_next, _prev, patch) => {
          const before = engine.loadReport;
          engine.configure(patch);
          if (engine.loadReport !== before) logLoad(engine, kit);
        },
        reset: () => {
          engine.reset();
          counting = true;
        },
        status: () => {
          if (engine.fault) return { fill: 'red', text: shortError(engine.fault) };
          const note = engine.statusNote ? ` · ${engine.statusNote()}` : '';
          const r = engine.loadReport;
          const rules = r === undefined ? '' : `loaded ${r.loaded} of ${r.total} rules · `;
          if (!counting) return { fill: r !== undefined && r.skipped.length > 0 ? 'yellow' : 'grey', text: `${rules}waiting for packets${note}` };
          const s = engine.stats;
          return { fill: s.alerts > 0 || (r !== undefined && r.skipped.length > 0) ? 'yellow' : 'green', text: rules + statsText(s) + note };
        },
        close: () => engine.close?.(),
      };
    },
  });
}
