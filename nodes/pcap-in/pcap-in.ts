/**
 * pcap-in: packets from a capture file (pure TypeScript reader) or a live
 * interface (libpcap through the optional `cap` binding), as Packet messages
 * on output 1 (one packet, or a batch array), and completion reports on
 * output 2.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { batchLimitsProblem, Batcher, type BatchLimits } from '../../lib/capture/batcher';
import { FileSource, fileOptionsProblem, type FileMode, type FileSummary } from '../../lib/capture/file-source';
import { LIVE_DEFAULTS, LiveCapture, liveOptionsProblem, type LiveOptions } from '../../lib/capture/live';
import type { Packet, PacketPayload } from '../../lib/packet/types';
import { shortError, status } from '../common/status';

interface PcapInConfig extends NodeDef {
  source: 'file' | 'live';
  filename: string;
  mode: FileMode;
  speed: string;
  iface: string;
  filter: string;
  snaplen: string;
  bufferMb: string;
  promiscuous: boolean;
  batchSize: string;
  batchDelay: string;
  autostart: boolean;
}

interface ControlMessage extends NodeMessageInFlow {
  filename?: unknown;
}

type Send = (msg: NodeMessage | (NodeMessage | null)[]) => void;

/** Defaults when a config field is empty (also in the editor's defaults). */
const PCAP_IN_DEFAULTS = { batchSize: 256, batchDelayMs: 50, speed: 1, snaplen: 65535, bufferMb: 8 } as const;

/** How often the status line is redrawn while reading or capturing. */
const STATUS_INTERVAL_MS = 500;

function numberOr(text: string | undefined, fallback: number): number {
  if (text === undefined || String(text).trim() === '') return fallback;
  return Number(text);
}

/** Wire one pcap-in node: config → engine (lib/capture), messages in and out. */
function setup(node: Node, config: PcapInConfig): void {
  const source = config.source === 'live' ? 'live' : 'file';
  const batch: BatchLimits = {
    maxItems: numberOr(config.batchSize, PCAP_IN_DEFAULTS.batchSize),
    maxDelayMs: numberOr(config.batchDelay, PCAP_IN_DEFAULTS.batchDelayMs),
  };
  const speed = numberOr(config.speed, PCAP_IN_DEFAULTS.speed);
  const mode: FileMode = config.mode === 'replay' ? 'replay' : 'analyze';
  const liveOptions: LiveOptions = {
    iface: (config.iface ?? '').trim(),
    filter: config.filter ?? LIVE_DEFAULTS.filter,
    snaplen: numberOr(config.snaplen, PCAP_IN_DEFAULTS.snaplen),
    bufferSize: Math.round(numberOr(config.bufferMb, PCAP_IN_DEFAULTS.bufferMb) * 1024 * 1024),
    promiscuous: config.promiscuous !== false,
  };
  const configProblem = batchLimitsProblem(batch)
    ?? (source === 'file' ? fileOptionsProblem({ path: 'x', mode, speed }) : liveOptionsProblem(liveOptions));
  if (configProblem) {
    node.error(`pcap-in: ${configProblem}`);
    status.error(node, shortError(configProblem));
  }

  let file: FileSource | null = null;
  let live: LiveCapture | null = null;
  let liveBatcher: Batcher<Packet> | null = null;
  let liveTimer: NodeJS.Timeout | null = null;
  let lastStatus = 0;
  let closing = false;
  let sendOut: Send = (msg) => node.send(msg);

  /** One packet alone when batching is off (N = 1), else the batch array. */
  const emitBatch = (packets: Packet[]): void => {
    if (closing) return;
    // With N = 1 the batcher hands on one-element arrays.
    const payload: PacketPayload = batch.maxItems === 1 ? packets[0] : packets;
    sendOut([{ payload }, null]);
  };

  function liveStatus(): void {
    if (!live) return;
    const drops = live.drops === null ? '' : `, ${live.drops} drops`;
    status.ok(node, `capturing ${live.options.iface}: ${live.packets} pkts${drops}`);
  }

  function startLive(send: Send): void {
    if (live && live.running) return;
    const problem = liveOptionsProblem(liveOptions) ?? batchLimitsProblem(batch);
    if (problem) throw new Error(problem);
    sendOut = send;
    liveBatcher = new Batcher<Packet>(batch, emitBatch);
    const batcher = liveBatcher;
    live = new LiveCapture(liveOptions, (p) => batcher.push(p));
    try {
      live.start();
    } catch (err) {
      live = null;
      liveBatcher = null;
      status.error(node, shortError(err));
      throw err;
    }
    liveStatus();
    liveTimer = setInterval(() => {
      const capture = live;
      if (!capture) return;
      capture.refreshDrops().then(() => liveStatus(), () => liveStatus());
    }, 2 * STATUS_INTERVAL_MS);
  }

  function stopLive(report: boolean): void {
    if (liveTimer) clearInterval(liveTimer);
    liveTimer = null;
    const capture = live;
    live = null;
    if (!capture) return;
    capture.stop();
    if (liveBatcher) {
      if (report) liveBatcher.flush();
      else liveBatcher.discard();
    }
    liveBatcher = null;
    if (!report) return;
    const durationMs = Date.now() - capture.startedAt;
    sendOut([null, {
      topic: 'complete',
      payload: {
        iface: capture.options.iface,
        packets: capture.packets,
        bytes: capture.bytes,
        drops: capture.drops,
        durationMs,
        pps: durationMs > 0 ? Math.round((capture.packets * 1000) / durationMs) : capture.packets,
      },
    }]);
    status.idle(node, `stopped: ${capture.packets} pkts`);
  }

  async function readFile(path: string, send: Send): Promise<FileSummary> {
    const player = new FileSource({ path, mode, speed, batch });
    file = player;
    sendOut = send;
    const verb = mode === 'replay' ? 'replaying' : 'reading';
    status.active(node, `${verb} 0 pkts 0%`);
    lastStatus = Date.now();
    const summary = await player.run(emitBatch, (p) => {
      const now = Date.now();
      if (closing || now - lastStatus < STATUS_INTERVAL_MS) return;
      lastStatus = now;
      status.active(node, `${verb} ${p.packets} pkts ${Math.floor(p.percent)}%`);
    });
    if (file === player) file = null;
    if (closing) return summary;
    sendOut([null, { topic: 'complete', payload: summary }]);
    if (summary.error) status.error(node, shortError(summary.errorOffset !== undefined ? `offset ${summary.errorOffset}: ${summary.error}` : summary.error));
    else if (summary.stopped) status.idle(node, `stopped: ${summary.packets} pkts`);
    else status.ok(node, `done: ${summary.packets} pkts in ${(summary.durationMs / 1000).toFixed(1)} s`);
    return summary;
  }

  node.on('input', (msg: ControlMessage, send: Send, done: (err?: Error) => void) => {
    if (msg.topic === 'stop') {
      if (file) file.stop();
      stopLive(true);
      done();
      return;
    }
    if (configProblem) {
      done(new Error(`pcap-in: ${configProblem}`));
      return;
    }
    if (source === 'live') {
      try {
        startLive(send);
        done();
      } catch (err) {
        done(err as Error);
      }
      return;
    }
    if (msg.filename !== undefined && typeof msg.filename !== 'string') {
      done(new Error(`msg.filename must be a string (a capture file path), got ${typeof msg.filename}`));
      return;
    }
    const path = msg.filename ? msg.filename : config.filename;
    const problem = fileOptionsProblem({ path, mode, speed });
    if (problem) {
      done(new Error(problem));
      return;
    }
    if (file) {
      done(new Error(`already reading ${file.options.path}; send msg.topic "stop" first`));
      return;
    }
    readFile(path, send).then((summary) => {
      if (!summary.error || closing) return done();
      if (summary.errorOffset !== undefined) {
        // Corrupt or truncated: every packet before the offset was delivered.
        node.error(`${summary.file}: ${summary.error} (at byte offset ${summary.errorOffset}, after ${summary.packets} packets)`, msg);
        done();
      } else {
        done(new Error(summary.error));
      }
    }, (err: Error) => done(err));
  });

  node.on('close', (_removed: boolean, done: () => void) => {
    closing = true;
    if (file) file.stop();
    file = null;
    stopLive(false);
    status.clear(node);
    done();
  });

  if (config.autostart && !configProblem) {
    // Start after deploy settles, like an inject node's "inject once".
    const timer = setTimeout(() => node.receive({}), 100);
    node.on('close', () => clearTimeout(timer));
  } else if (!configProblem) {
    status.idle(node, source === 'live' ? `ready: ${liveOptions.iface}` : 'ready');
  }
}

export = function (RED: NodeAPI): void {
  function PcapInNode(this: Node, config: PcapInConfig): void {
    RED.nodes.createNode(this, config);
    setup(this, config);
  }
  RED.nodes.registerType('pcap-in', PcapInNode);
};
