/**
 * pcap-in: packets from a capture file or a live interface (engine:
 * lib/capture/pcap-input.ts) as Packet messages on output 1 (one packet, or
 * a batch array), completion reports on output 2. `stop` stops; any other
 * message starts.
 */
import type { NodeAPI, NodeMessageInFlow } from 'node-red';
import { PcapInput, type CapturePhase } from '../../lib/capture/pcap-input';
import { registerIpsNode } from '../common/ips-node';
import { shortError, type StatusFill } from '../common/status';

const FILL: Record<CapturePhase, StatusFill> = { ready: 'grey', reading: 'blue', capturing: 'green', done: 'green', stopped: 'grey', failed: 'red' };

/** How long after deploy a node set to start on deploy starts, like an inject node's "inject once". */
const AUTOSTART_DELAY_MS = 100;

export = function (RED: NodeAPI): void {
  registerIpsNode(RED, {
    type: 'pcap-in',
    create(settings, kit) {
      const input = new PcapInput(settings, {
        // No topic on packets: control topics never reach the next node by accident.
        packets: (payload) => kit.send([{ payload }, null]),
        complete: (summary) => kit.send([null, { topic: 'complete', payload: summary }]),
        changed: (phaseChanged) => (phaseChanged ? kit.refreshStatus() : kit.scheduleStatus()),
      });
      const autostart = settings.autostart ? setTimeout(() => kit.node.receive({}), AUTOSTART_DELAY_MS) : null;
      return {
        input(msg: NodeMessageInFlow & { filename?: unknown }) {
          if (msg.filename !== undefined && typeof msg.filename !== 'string') {
            throw new Error(`msg.filename must be a string (a capture file path), got ${typeof msg.filename}`);
          }
          return input.start(msg.filename);
        },
        control(topic) {
          if (topic !== 'stop') return false;
          input.stop();
          return true;
        },
        configure: (next) => input.reconfigure(next),
        status() {
          const { phase, text } = input.state();
          return { fill: FILL[phase], text: phase === 'failed' ? shortError(text) : text };
        },
        close() {
          if (autostart) clearTimeout(autostart);
          input.close();
        },
      };
    },
  });
};
