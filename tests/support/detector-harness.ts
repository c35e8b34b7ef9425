/**
 * A detector node (flood-detect, scan-detect) loaded in Node-RED with
 * node-red-node-test-helper, its two outputs wired to helper nodes, and the
 * errors and status lines it produced recorded.
 */
import { nodeHelper, load, type Spy } from './node-helper';

interface HelperNode {
  on(event: string, fn: (arg: never) => void): void;
  receive(msg: Record<string, unknown>): void;
  error: Spy;
  status: Spy;
}

export interface OutMsg {
  topic?: string;
  payload: unknown;
  [key: string]: unknown;
}

export interface DetectorHarness {
  /** Messages on output 1 (packets) and output 2 (alerts). */
  packets: OutMsg[];
  alerts: OutMsg[];
  errors: string[];
  statuses: { fill?: string; text?: string }[];
  /** Send a message and wait until the node has finished it (done called, successfully or not). */
  send(msg: Record<string, unknown>): Promise<void>;
}

const helper = nodeHelper<HelperNode>();

/** Load node module `nodeModule` of `type` with `config`; outputs go to recorded helper nodes. */
export async function loadDetector(nodeModule: unknown, type: string, config: Record<string, unknown>): Promise<DetectorHarness> {
  const flow = [
    { id: 'det', type, name: 'under test', wires: [['pkts'], ['alerts']], ...config },
    { id: 'pkts', type: 'helper' },
    { id: 'alerts', type: 'helper' },
    { id: 'done', type: 'complete', scope: ['det'], uncaught: false, wires: [['completed']] },
    { id: 'caught', type: 'catch', scope: ['det'], uncaught: false, wires: [['completed']] },
    { id: 'completed', type: 'helper' },
  ];
  await load(nodeModule, flow);
  const node = helper.getNode('det');
  let finished = 0;
  const h: DetectorHarness = {
    packets: [],
    alerts: [],
    errors: [],
    statuses: [],
    send(msg) {
      const before = finished;
      node.receive(msg);
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + 5000;
        const tick = () => {
          // Outputs are delivered asynchronously like the completion; give them a moment to land.
          if (finished > before) return void setTimeout(resolve, 50);
          if (Date.now() > deadline) return reject(new Error('node did not finish the message within 5 s'));
          setTimeout(tick, 5);
        };
        tick();
      });
    },
  };
  helper.getNode('pkts').on('input', (m: OutMsg) => void h.packets.push(m));
  helper.getNode('alerts').on('input', (m: OutMsg) => void h.alerts.push(m));
  helper.getNode('completed').on('input', () => void finished++);
  // Calls made while the node was being constructed (e.g. a refused config).
  for (const call of node.error.getCalls()) if (call.thisValue === node) h.errors.push(String(call.args[0]));
  for (const call of node.status.getCalls()) if (call.thisValue === node) h.statuses.push(call.args[0] as { fill?: string; text?: string });
  node.on('call:error', (call: { args: unknown[] }) => {
    const a = call.args[0];
    h.errors.push(a instanceof Error ? a.message : String(a));
  });
  node.on('call:status', (call: { args: unknown[] }) => void h.statuses.push(call.args[0] as { fill?: string; text?: string }));
  return h;
}
