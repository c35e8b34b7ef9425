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

/** The node's working settings (from the editor, changed by `msg.topic = 'config'`). */
interface Settings {
  source: 'file' | 'live';
  filename: string;
  mode: FileMode;
  speed: number;
  batch: BatchLimits;
  live: LiveOptions;
}

/** Keys a `config` message may change, with the editor field each one mirrors. */
const CONFIG_KEYS = ['filename', 'mode', 'speed', 'batchSize', 'batchDelay', 'iface', 'filter', 'snaplen', 'bufferMb', 'promiscuous'] as const;
type ConfigKey = (typeof CONFIG_KEYS)[number];

function settingsFrom(config: PcapInConfig): Settings {
  return {
    source: config.source === 'live' ? 'live' : 'file',
    filename: config.filename ?? '',
    mode: config.mode === 'replay' ? 'replay' : 'analyze',
    speed: numberOr(config.speed, PCAP_IN_DEFAULTS.speed),
    batch: {
      maxItems: numberOr(config.batchSize, PCAP_IN_DEFAULTS.batchSize),
      maxDelayMs: numberOr(config.batchDelay, PCAP_IN_DEFAULTS.batchDelayMs),
    },
    live: {
      iface: (config.iface ?? '').trim(),
      filter: config.filter ?? LIVE_DEFAULTS.filter,
      snaplen: numberOr(config.snaplen, PCAP_IN_DEFAULTS.snaplen),
      bufferSize: Math.round(numberOr(config.bufferMb, PCAP_IN_DEFAULTS.bufferMb) * 1024 * 1024),
      promiscuous: config.promiscuous !== false,
    },
  };
}

/** Why `s` cannot be used, or null. The file name is checked when reading starts (msg.filename may supply it). */
function settingsProblem(s: Settings): string | null {
  return batchLimitsProblem(s.batch)
    ?? (s.source === 'file' ? fileOptionsProblem({ path: s.filename || 'unset', mode: s.mode, speed: s.speed }) : liveOptionsProblem(s.live));
}

/** `current` with the changes of a `config` message, or the reason they are refused (then nothing changes). */
function applyConfig(current: Settings, change: unknown): Settings | string {
  if (change === null || typeof change !== 'object' || Array.isArray(change)) return 'msg.payload of a config message must be an object of settings';
  const next: Settings = { ...current, batch: { ...current.batch }, live: { ...current.live } };
  for (const [key, value] of Object.entries(change as Record<string, unknown>)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) return `unknown setting "${key}" (settable: ${CONFIG_KEYS.join(', ')})`;
    const k = key as ConfigKey;
    const text = typeof value === 'number' ? String(value) : value;
    if (k === 'promiscuous') {
      if (typeof value !== 'boolean') return 'promiscuous must be true or false';
      next.live.promiscuous = value;
      continue;
    }
    if (typeof text !== 'string') return `${k} must be a ${['filename', 'mode', 'iface', 'filter'].includes(k) ? 'string' : 'number'}`;
    switch (k) {
      case 'filename': next.filename = text; break;
      case 'mode': next.mode = text as FileMode; break;
      case 'speed': next.speed = numberOr(text, Number.NaN); break;
      case 'batchSize': next.batch.maxItems = numberOr(text, Number.NaN); break;
      case 'batchDelay': next.batch.maxDelayMs = numberOr(text, Number.NaN); break;
      case 'iface': next.live.iface = text.trim(); break;
      case 'filter': next.live.filter = text; break;
      case 'snaplen': next.live.snaplen = numberOr(text, Number.NaN); break;
      case 'bufferMb': next.live.bufferSize = Math.round(numberOr(text, Number.NaN) * 1024 * 1024); break;
    }
  }
  return settingsProblem(next) ?? next;
}

/** Wire one pcap-in node: config → engine (lib/capture), messages in and out. */
function setup(node: Node, config: PcapInConfig): void {
  let settings = settingsFrom(config);
  const source = settings.source;
  let configProblem = settingsProblem(settings);
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
    const payload: PacketPayload = packets.length === 1 && settings.batch.maxItems === 1 ? packets[0] : packets;
    sendOut([{ payload }, null]);
  };

  function liveStatus(): void {
    if (!live) return;
    const drops = live.drops === null ? '' : `, ${live.drops} drops`;
    status.ok(node, `capturing ${live.options.iface}: ${live.packets} pkts${drops}`);
  }

  function startLive(send: Send): void {
    if (live && live.running) return;
    sendOut = send;
    liveBatcher = new Batcher<Packet>(settings.batch, emitBatch);
    const batcher = liveBatcher;
    live = new LiveCapture(settings.live, (p) => batcher.push(p));
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
    const { mode, speed, batch } = settings;
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
    else status.ok(node, `done: ${summary.packets} pkts in ${summary.durationMs < 1000 ? `${summary.durationMs} ms` : `${(summary.durationMs / 1000).toFixed(1)} s`}`);
    return summary;
  }

  node.on('input', (msg: ControlMessage, send: Send, done: (err?: Error) => void) => {
    if (msg.topic === 'stop') {
      if (file) file.stop();
      stopLive(true);
      done();
      return;
    }
    if (msg.topic === 'config') {
      const next = applyConfig(settings, msg.payload);
      if (typeof next === 'string') {
        done(new Error(`pcap-in: config refused, settings unchanged: ${next}`));
        return;
      }
      settings = next;
      configProblem = null;
      // A running capture restarts with the new settings; a file being read keeps its own.
      if (live && live.running) {
        liveBatcher?.flush();
        stopLive(false);
        try {
          startLive(send);
        } catch (err) {
          done(err as Error);
          return;
        }
      } else if (!file) {
        status.idle(node, source === 'live' ? `ready: ${settings.live.iface}` : 'ready');
      }
      done();
      return;
    }
    if (msg.topic === 'reset') {
      // Nothing to clear: pcap-in keeps no state between reads.
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
    const path = msg.filename ? msg.filename : settings.filename;
    const problem = fileOptionsProblem({ path, mode: settings.mode, speed: settings.speed });
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
    status.idle(node, source === 'live' ? `ready: ${settings.live.iface}` : 'ready');
  }
}

export = function (RED: NodeAPI): void {
  function PcapInNode(this: Node, config: PcapInConfig): void {
    RED.nodes.createNode(this, config);
    setup(this, config);
  }
  RED.nodes.registerType('pcap-in', PcapInNode);
};
