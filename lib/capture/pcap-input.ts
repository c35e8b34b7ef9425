/**
 * pcap-in's engine, free of Node-RED: packets from a capture file
 * (file-source.ts) or a live interface (live.ts), in batches, with progress,
 * a completion report when a read or capture ends, stop, and a live capture
 * restarted when its settings change. The node maps the outputs to messages
 * and the state to its status line.
 */
import type { Schema } from '../base/settings';
import { interfaceField } from '../base/ifname';
import type { Packet, PacketPayload } from '../packet/types';
import { Batcher, MAX_BATCH_DELAY_MS, MAX_BATCH_ITEMS, type BatchLimits } from './batcher';
import { FileSource, fileOptionsProblem, MAX_REPLAY_SPEED, type FileMode, type FileProgress, type FileSummary } from './file-source';
import { LIVE_DEFAULTS, LiveCapture, liveOptionsProblem, type LiveOptions } from './live';

export interface PcapInSettings {
  source: 'file' | 'live';
  filename: string;
  mode: FileMode;
  speed: number;
  iface: string;
  filter: string;
  snaplen: number;
  bufferMb: number;
  promiscuous: boolean;
  batchSize: number;
  batchDelayMs: number;
  autostart: boolean;
}

const MIB = 1024 * 1024;

export const pcapInSchema: Schema<PcapInSettings> = {
  source: { type: 'enum', values: ['file', 'live'], default: 'file', label: 'Source', help: 'a capture file (pcap or pcapng), or a live interface (libpcap)' },
  filename: { type: 'string', default: '', label: 'File', help: 'file mode: the capture file to read (msg.filename overrides it)' },
  mode: { type: 'enum', values: ['analyze', 'replay'], default: 'analyze', label: 'Mode', help: "file mode: analyze reads as fast as the flow takes it; replay sends each packet at its capture time" },
  speed: { type: 'number', min: 0.001, max: MAX_REPLAY_SPEED, default: 1, unit: '×', label: 'Speed', help: 'replay: 2 plays twice as fast as captured' },
  iface: interfaceField('Interface', 'live mode: the interface to capture on (eth0, wlan0, or any for all)'),
  filter: { type: 'string', maxLength: 4096, default: LIVE_DEFAULTS.filter, label: 'BPF filter', help: "live mode: tcpdump's filter syntax; empty captures everything" },
  snaplen: { type: 'int', min: 64, max: 65535, default: LIVE_DEFAULTS.snaplen, unit: 'bytes', label: 'Snaplen', help: 'live mode: bytes kept of each packet (its length on the wire is kept too)' },
  bufferMb: { type: 'number', min: 0.0625, max: 1024, default: LIVE_DEFAULTS.bufferSize / MIB, unit: 'MiB', label: 'Buffer', help: 'live mode: the kernel capture buffer; raise it when the status shows drops' },
  promiscuous: { type: 'bool', default: LIVE_DEFAULTS.promiscuous, label: 'Promiscuous', help: 'live mode: frames for other hosts too; off keeps those to or from this interface and broadcast/multicast' },
  batchSize: { type: 'int', min: 1, max: MAX_BATCH_ITEMS, default: 256, unit: 'packets', label: 'Batch', help: 'most packets per message; 1 sends each packet alone, not in an array' },
  batchDelayMs: { type: 'number', min: 0, max: MAX_BATCH_DELAY_MS, default: 50, unit: 'ms', label: 'Batch delay', help: 'longest a packet waits for its batch to fill' },
  autostart: { type: 'bool', default: false, label: 'Start on deploy', help: 'start reading or capturing once deployed, as if a message had come in' },
};

/** The completion report of a live capture (payload of pcap-in's `complete` message). */
export interface LiveSummary {
  iface: string;
  packets: number;
  bytes: number;
  /** Kernel drops at the last reading of the counter; null when unknown. */
  drops: number | null;
  durationMs: number;
  /** Packets per second of wall time. */
  pps: number;
}

export type CapturePhase = 'ready' | 'reading' | 'capturing' | 'done' | 'stopped' | 'failed';

/** What the input is doing, in a line for its status. */
export interface CaptureState {
  phase: CapturePhase;
  text: string;
}

export interface PcapInputOutput {
  /** Packets in file or arrival order: one packet alone when the batch size is 1, else an array. */
  packets(payload: PacketPayload): void;
  /** A file read or a live capture ended (never after close). */
  complete(summary: FileSummary | LiveSummary): void;
  /** The state changed: a new phase (`phaseChanged`, show it now) or progress (show it in a while). */
  changed(phaseChanged: boolean): void;
}

/** How often a live capture reads the kernel's drop counter. */
const DROPS_INTERVAL_MS = 1000;

function liveOptions(s: PcapInSettings): LiveOptions {
  return { iface: s.iface.trim(), filter: s.filter, snaplen: s.snaplen, bufferSize: Math.round(s.bufferMb * MIB), promiscuous: s.promiscuous };
}

/** The batches pcap-in sends with settings `s`. */
export function batchLimits(s: PcapInSettings): BatchLimits {
  return { maxItems: s.batchSize, maxDelayMs: s.batchDelayMs };
}

/**
 * Why `settings` cannot be used beyond what their schema checks, or null.
 * A file name is checked when reading starts: msg.filename may supply it.
 */
function pcapInProblem(s: PcapInSettings): string | null {
  return s.source === 'live' ? liveOptionsProblem(liveOptions(s)) : null;
}

function readyState(s: PcapInSettings): CaptureState {
  return { phase: 'ready', text: s.source === 'live' ? `ready: ${s.iface.trim()}` : 'ready' };
}

function endState(summary: FileSummary): CaptureState {
  if (summary.error) return { phase: 'failed', text: summary.errorOffset !== undefined ? `offset ${summary.errorOffset}: ${summary.error}` : summary.error };
  if (summary.stopped) return { phase: 'stopped', text: `stopped: ${summary.packets} pkts` };
  const ms = summary.durationMs;
  return { phase: 'done', text: `done: ${summary.packets} pkts in ${ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`}` };
}

/** The error a failed read is reported with (every packet before the fault was delivered). */
function readError(summary: FileSummary): Error {
  if (summary.errorOffset === undefined) return new Error(summary.error);
  return new Error(`${summary.file}: ${summary.error} (at byte offset ${summary.errorOffset}, after ${summary.packets} packets)`);
}

export class PcapInput {
  private current: PcapInSettings;
  private readonly out: PcapInputOutput;
  private file: FileSource | null = null;
  private progress: FileProgress = { packets: 0, percent: 0 };
  private live: LiveCapture | null = null;
  private liveBatcher: Batcher<Packet> | null = null;
  private dropsTimer: NodeJS.Timeout | null = null;
  /** Counts of the captures a settings change restarted, so status and report cover the whole capture. */
  private restarted = { packets: 0, bytes: 0, drops: 0, startedAt: 0 };
  /** The state while neither reading nor capturing. */
  private idle: CaptureState;
  private closed = false;

  /** Throws with the reason when `settings` cannot be used. */
  constructor(settings: PcapInSettings, out: PcapInputOutput) {
    const problem = pcapInProblem(settings);
    if (problem) throw new Error(problem);
    this.current = { ...settings };
    this.out = out;
    this.idle = readyState(this.current);
  }

  get settings(): PcapInSettings {
    return { ...this.current };
  }

  state(): CaptureState {
    const live = this.live;
    if (live) {
      const { packets, drops } = this.liveSummary(live);
      return { phase: 'capturing', text: `capturing ${live.options.iface}: ${packets} pkts${drops === null ? '' : `, ${drops} drops`}` };
    }
    const file = this.file;
    if (file) return { phase: 'reading', text: `${file.options.mode === 'replay' ? 'replaying' : 'reading'} ${this.progress.packets} pkts ${Math.floor(this.progress.percent)}%` };
    return this.idle;
  }

  /**
   * File mode: read `filename` (or the configured file); resolves once the
   * file ended and its report went out, rejects when it could not be read
   * (after the report, and after every packet before a fault). Live mode:
   * start capturing (nothing when already capturing); throws when the
   * capture cannot open.
   */
  async start(filename?: string): Promise<void> {
    if (this.current.source === 'live') return this.startLive();
    const { mode, speed } = this.current;
    const path = filename || this.current.filename;
    const problem = fileOptionsProblem({ path, mode, speed });
    if (problem) throw new Error(problem);
    if (this.file) throw new Error(`already reading ${this.file.options.path}; send msg.topic "stop" first`);
    const summary = await this.read(path);
    if (summary?.error) throw readError(summary);
  }

  /** Stop reading or capturing: packets read so far go out, then the report. */
  stop(): void {
    this.file?.stop(); // the read ends and reports by itself
    const capture = this.stopLive(true);
    if (!capture) return;
    const summary = this.liveSummary(capture);
    this.out.complete(summary);
    this.idle = { phase: 'stopped', text: `stopped: ${summary.packets} pkts` };
    this.notify(true);
  }

  /**
   * New settings (checked by the schema already). A live capture restarts
   * with them, the packets waiting for their batch sent first; when the new
   * capture cannot open, the old one is opened again and the error thrown,
   * so the caller keeps the old settings. A file being read keeps the
   * settings it started with.
   */
  reconfigure(next: PcapInSettings): void {
    const problem = pcapInProblem(next);
    if (problem) throw new Error(problem);
    const prev = this.current;
    this.current = { ...next };
    if (this.live && next.source !== 'live') {
      this.stop();
    } else if (this.live) {
      const old = this.stopLive(true);
      if (old) {
        const { packets, bytes, drops } = this.liveSummary(old);
        this.restarted = { packets, bytes, drops: drops ?? 0, startedAt: this.restarted.startedAt };
      }
      try {
        this.startLive(true);
      } catch (err) {
        this.current = prev;
        try {
          this.startLive(true);
        } catch {
          // the capture stays stopped: the state shows why
        }
        throw err;
      }
    } else if (!this.file) {
      this.idle = readyState(this.current);
    }
  }

  /** Stop everything without a report; nothing goes out any more. */
  close(): void {
    this.closed = true;
    this.file?.stop();
    this.file = null;
    this.stopLive(false);
  }

  private emit(batch: Packet[], batchSize: number): void {
    if (this.closed) return;
    // With a batch size of 1 the batcher hands on one-element arrays.
    this.out.packets(batch.length === 1 && batchSize === 1 ? batch[0] : batch);
  }

  private notify(phaseChanged: boolean): void {
    if (!this.closed) this.out.changed(phaseChanged);
  }

  /** Read one file to its end, or until stopped; the summary, or null when closed meanwhile. */
  private async read(path: string): Promise<FileSummary | null> {
    const { mode, speed, batchSize } = this.current;
    const player = new FileSource({ path, mode, speed, batch: batchLimits(this.current) });
    this.file = player;
    this.progress = { packets: 0, percent: 0 };
    this.notify(true);
    const summary = await player.run(
      (batch) => this.emit(batch, batchSize),
      (p) => {
        this.progress = p;
        this.notify(false);
      },
    );
    if (this.file === player) this.file = null;
    if (this.closed) return null;
    this.out.complete(summary);
    this.idle = endState(summary);
    this.notify(true);
    return summary;
  }

  /** Open the live capture; `restarted` when it goes on from one a settings change closed. */
  private startLive(restarted = false): void {
    if (this.live) return;
    const { batchSize } = this.current;
    const batcher = new Batcher<Packet>(batchLimits(this.current), (batch) => this.emit(batch, batchSize));
    const capture = new LiveCapture(liveOptions(this.current), (p) => batcher.push(p));
    try {
      capture.start();
    } catch (err) {
      this.idle = { phase: 'failed', text: (err as Error).message };
      this.notify(true);
      throw err;
    }
    this.live = capture;
    this.liveBatcher = batcher;
    if (!restarted) this.restarted = { packets: 0, bytes: 0, drops: 0, startedAt: capture.startedAt };
    this.dropsTimer = setInterval(() => {
      const shown = (): void => this.notify(false);
      capture.refreshDrops().then(shown, shown);
    }, DROPS_INTERVAL_MS);
    this.notify(true);
  }

  /** The report of the capture `capture` is (or was) the latest part of. */
  private liveSummary(capture: LiveCapture): LiveSummary {
    const earlier = this.restarted;
    const packets = earlier.packets + capture.packets;
    const durationMs = Date.now() - earlier.startedAt;
    return {
      iface: capture.options.iface,
      packets,
      bytes: earlier.bytes + capture.bytes,
      drops: capture.drops === null ? (earlier.drops || null) : earlier.drops + capture.drops,
      durationMs,
      pps: durationMs > 0 ? Math.round((packets * 1000) / durationMs) : packets,
    };
  }

  /** Close the live capture; `flush` sends the packets waiting for their batch, else they are dropped. */
  private stopLive(flush: boolean): LiveCapture | null {
    if (this.dropsTimer) clearInterval(this.dropsTimer);
    this.dropsTimer = null;
    const capture = this.live;
    const batcher = this.liveBatcher;
    this.live = null;
    this.liveBatcher = null;
    if (!capture) return null;
    capture.stop();
    if (flush) batcher?.flush();
    else batcher?.discard();
    return capture;
  }
}
