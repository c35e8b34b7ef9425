/**
 * flow-meter: bidirectional flows from packets, with CICFlowMeter's features
 * (engine: lib/detect/flow/meter.ts). Packets pass through on output 1 in the
 * form received; records of ended flows (and interim reports) go out on
 * output 2 as an array per message.
 */
import type { NodeAPI, NodeMessage } from 'node-red';
import { FlowMeter } from '../../lib/detect/flow/meter';
import type { FlowRecord } from '../../lib/detect/flow/features';
import { registerIpsNode, type Send } from '../common/ips-node';
import { compactCount, packetsFrom } from '../common/detector-node';

/** Without packets for this long, flows age on the clock from the last packet's time (live traffic that went quiet). */
const QUIET_MS = 1000;

export = function (RED: NodeAPI): void {
  registerIpsNode(RED, {
    type: 'flow-meter',
    create(settings, kit) {
      const meter = new FlowMeter(settings);
      let lastWall = 0;
      let counting = false;
      const records = (out: FlowRecord[]): NodeMessage | null => (out.length ? { topic: 'flow-records', payload: out } : null);
      const emit = (out: FlowRecord[], send: Send = kit.send): void => {
        if (out.length) send([null, records(out)]);
        kit.scheduleStatus();
      };
      const timer = setInterval(() => {
        if (lastWall === 0 || Date.now() - lastWall < QUIET_MS) return;
        const out: FlowRecord[] = [];
        meter.expire(meter.lastPacketTs + (Date.now() - lastWall), out);
        emit(out);
      }, QUIET_MS);
      return {
        input(msg, send) {
          const packets = packetsFrom(msg.payload);
          if (packets instanceof Error) throw packets;
          const out: FlowRecord[] = [];
          meter.process(packets, out);
          lastWall = Date.now();
          counting = true;
          send([msg, records(out)]);
          kit.scheduleStatus();
        },
        control(topic, _msg, send) {
          // 'complete' is pcap-in's end-of-file message: the flows still open end with the capture.
          if (topic !== 'flush' && topic !== 'complete') return false;
          const out: FlowRecord[] = [];
          meter.flush(out);
          lastWall = 0;
          emit(out, send);
          return true;
        },
        configure(_next, _prev, patch) {
          const out: FlowRecord[] = [];
          meter.configure(patch, out);
          emit(out);
        },
        reset() {
          meter.reset();
          lastWall = 0;
          counting = true;
        },
        status() {
          if (!counting) return { fill: 'grey', text: 'waiting for packets' };
          const s = meter.stats;
          return { fill: 'green', text: `${compactCount(s.active)} open · ${compactCount(s.records)} sent · ${compactCount(s.evictions)} evicted` };
        },
        close() {
          clearInterval(timer);
        },
      };
    },
  });
};
