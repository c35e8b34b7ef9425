/**
 * Running a capture through detectors for a benchmark: in-process through
 * the engines (reader + decoder in batches), or through pcap-in → detector
 * nodes → a counting sink in a real Node-RED runtime.
 */
import { CaptureFileReader } from '../../lib/capture/pcap-file';
import { decodeRecord } from '../../lib/packet/decode';
import type { Packet } from '../../lib/packet/types';
import type { Alert } from '../../lib/detect/alert';
import { startRuntime, type FlowNode } from '../../tests/support/red-runtime';
import { countPackets, countSink } from './count';
import { measure, report } from './measure';

/** Read and decode `file` in batches, handing each batch to `each`. */
export async function readBatches(file: string, each: (batch: Packet[]) => void): Promise<number> {
  const reader = new CaptureFileReader(file);
  let n = 0;
  try {
    for await (const records of reader) {
      const batch: Packet[] = new Array(records.length);
      for (let i = 0; i < records.length; i++) {
        const r = records[i];
        batch[i] = decodeRecord(r);
      }
      each(batch);
      n += batch.length;
    }
  } finally {
    await reader.close();
  }
  return n;
}

export interface ChainResult {
  packets: number;
  alerts: Alert[];
}

/** pcap-in → detectors → counting sink (support/count.ts), in a real runtime; returns when every packet was counted. */
export async function runChain(file: string, detectors: FlowNode[], label: string, batch: number): Promise<ChainResult> {
  const ids = detectors.map((d) => d.id);
  const wired = detectors.map((d, i) => ({ ...d, z: 'tab', wires: [[ids[i + 1] ?? 'count'], ['alerts']] }));
  const flows: FlowNode[] = [
    { id: 'tab', type: 'tab', label: 'bench' },
    { id: 'cap', z: 'tab', type: 'pcap-in', source: 'file', filename: '', mode: 'analyze', batchSize: String(batch), batchDelayMs: '50', wires: [[ids[0] ?? 'count'], ['done']] },
    ...wired,
    countSink('count', 'tab'),
    { id: 'alerts', z: 'tab', type: 'debug', active: false, wires: [] },
    { id: 'done', z: 'tab', type: 'debug', active: false, wires: [] },
  ];
  const rt = await startRuntime(flows);
  const counter = countPackets(rt, 'count');
  try {
    for (let i = 0; i < 500 && !rt.RED.nodes.getNode('count'); i++) await new Promise((r) => setTimeout(r, 20));
    const cap = rt.RED.nodes.getNode('cap') as { receive(msg: Record<string, unknown>): void } | null;
    if (!cap) throw new Error('pcap-in did not start in the runtime (is it built?)');
    const alertBox = rt.inbox('alerts');
    let total = 0;
    const result = await measure(async () => {
      cap.receive({ filename: file });
      const done = await rt.waitFor('done', (msgs) => msgs.length > 0, 900_000);
      const summary = done[0].msg.payload as { packets: number; error?: string };
      if (summary.error) throw new Error(summary.error);
      total = summary.packets;
      // The last batches are still travelling through the chain when pcap-in reports completion.
      while (counter.packets < total) await new Promise((r) => setTimeout(r, 5));
      return total;
    });
    report(label, result);
    return { packets: total, alerts: alertBox.map((m) => m.msg.payload as Alert) };
  } finally {
    counter.stop();
    await rt.stop();
  }
}

