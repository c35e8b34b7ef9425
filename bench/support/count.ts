/**
 * Counting the packets that reach the end of a benchmark flow. The sink is
 * an inactive debug node (its input handler returns at once) and the count
 * is kept by a Node-RED `onReceive` hook in the benchmark process: a
 * function node counting into its context ran its code through `vm` and
 * the context store at about 20 µs per message, some 9% of a pcap-in → count
 * run, which is the counter's cost, not the flow's.
 */
import type { FlowNode, HookEvent, Runtime } from '../../tests/support/red-runtime';

/** The sink node to wire the flow's packets to. */
export function countSink(id: string, z: string): FlowNode {
  return { id, z, type: 'debug', active: false, wires: [] };
}

export interface PacketCount {
  /** Packets received by the sink so far (a batch counts its length). */
  readonly packets: number;
  reset(): void;
  /** Remove the hook. */
  stop(): void;
}

/** Count what the sink `id` of `rt` receives, from now on. */
export function countPackets(rt: Runtime, id: string): PacketCount {
  let packets = 0;
  const hook = `onReceive.benchcount${id}`;
  rt.RED.hooks.add(hook, (evt: HookEvent) => {
    if (evt.destination.id !== id) return;
    const payload = evt.msg.payload;
    packets += Array.isArray(payload) ? payload.length : 1;
  });
  return {
    get packets() {
      return packets;
    },
    reset() {
      packets = 0;
    },
    stop() {
      rt.RED.hooks.remove(hook);
    },
  };
}
