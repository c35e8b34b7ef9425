/**
 * Shared Node-RED wrapper for detector nodes (flood-detect, scan-detect,
 * payload-match): two outputs (packets passed through in the form received,
 * alerts), `config` / `reset` control topics, and a status line with
 * packets / alerts / evictions. The detector wrappers only say how to build
 * their engine.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { Packet } from '../../lib/packet/types';
import type { Alert } from '../../lib/detect/alert';
import type { DetectorStats } from '../../lib/detect/detector';
import { looksLikePacket } from '../../lib/packet/batch';
import { status, shortError } from './status';

/** What the wrapper needs from a detector engine (lib/detect/detector.ts `Detector` has it). */
export interface DetectorEngine {
  process(packets: readonly Packet[]): Alert[];
  configure(patch: unknown): void;
  reset(): void;
  readonly stats: DetectorStats;
}

/** Status refresh interval: counters change per packet, the status line once a second at most. */
const STATUS_INTERVAL_MS = 1000;

/** 1234 → '1234', 12345 → '12.3k', 1234567 → '1.23M'. */
export function compactCount(n: number): string {
  if (n < 10_000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 100_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(n < 10_000_000 ? 2 : 1)}M`;
}

export function statsText(s: DetectorStats): string {
  let text = `${compactCount(s.packets)} pkts · ${compactCount(s.alerts)} alerts`;
  if (s.suppressed) text += ` (+${compactCount(s.suppressed)} suppr.)`;
  if (s.dropped) text += ` · ${compactCount(s.dropped)} dropped`;
  text += ` · ${compactCount(s.evictions)} evicted`;
  return text;
}

/** The packets of a message payload, or an Error saying why it is not one. */
function packetsFrom(payload: unknown): Packet[] | Error {
  if (Array.isArray(payload)) {
    // Checking the first element keeps batches cheap; the decoder produces uniform batches.
    if (payload.length > 0 && !looksLikePacket(payload[0])) return new Error('msg.payload is an array but not a batch of packets (need ts, src, dst, proto)');
    return payload as Packet[];
  }
  if (looksLikePacket(payload)) return [payload];
  return new Error("msg.payload is not a packet or a batch of packets (need ts, src, dst, proto); use msg.topic 'config' or 'reset' for control");
}

/**
 * Register a detector node type. `build` turns the editor config into an
 * engine and throws (with the reason) when the config is invalid; the node
 * then shows the error and passes packets through unchecked (fail-open), so
 * a typo in a threshold does not cut the network.
 */
export function registerDetectorNode<C extends NodeDef>(RED: NodeAPI, type: string, build: (config: C, name: string) => DetectorEngine): void {
  function DetectorNode(this: Node, config: C): void {
    RED.nodes.createNode(this, config);
    setUp(this, config);
  }

  function setUp(node: Node, config: C): void {
    let engine: DetectorEngine | null = null;
    let timer: NodeJS.Timeout | null = null;

    const showStats = (): void => {
      timer = null;
      if (!engine) return;
      const s = engine.stats;
      if (s.alerts > 0) status.warn(node, statsText(s));
      else status.ok(node, statsText(s));
    };
    const scheduleStatus = (): void => {
      if (timer === null) timer = setTimeout(showStats, STATUS_INTERVAL_MS);
    };

    try {
      engine = build(config, config.name || type);
      status.idle(node, 'waiting for packets');
    } catch (err) {
      node.error(`${type}: ${(err as Error).message}; passing packets through unchecked until fixed`);
      status.error(node, shortError(err));
    }

    node.on('input', (msg: NodeMessageInFlow, send: (m: Array<NodeMessage | NodeMessage[] | null>) => void, done: (err?: Error) => void) => {
      try {
        if (msg.topic === 'config') {
          if (!engine) throw new Error('node has no valid configuration; fix it in the editor and deploy');
          try {
            engine.configure(msg.payload);
          } catch (err) {
            status.error(node, `config refused: ${shortError(err, 40)}`);
            throw err;
          }
          showStats();
          done();
          return;
        }
        if (msg.topic === 'reset') {
          engine?.reset();
          showStats();
          done();
          return;
        }
        const packets = packetsFrom(msg.payload);
        if (packets instanceof Error) throw packets;
        if (!engine) {
          send([msg, null]);
          done();
          return;
        }
        const alerts = engine.process(packets);
        const alertMsgs: NodeMessage[] | null = alerts.length ? alerts.map((a) => ({ topic: a.rule, payload: a })) : null;
        send([msg, alertMsgs]);
        scheduleStatus();
        done();
      } catch (err) {
        done(err as Error);
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      status.clear(node);
      done();
    });
  }
  RED.nodes.registerType(type, DetectorNode);
}
