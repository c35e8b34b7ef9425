/**
 * nfqueue-in: packets held by a Linux NFQUEUE (engine:
 * lib/capture/nfqueue-inline.ts) out as Packet messages with their queue id;
 * packets coming back in are verdicted by that id.
 */
import type { NodeAPI, NodeMessageInFlow } from 'node-red';
import { inlineOptions, inlineStatsText, NfqueueInline } from '../../lib/capture/nfqueue-inline';
import { registerIpsNode, STATUS_INTERVAL_MS } from '../common/ips-node';
import { shortError, showStatus, type StatusLine } from '../common/status';

export = function (RED: NodeAPI): void {
  registerIpsNode(RED, {
    type: 'nfqueue-in',
    create(settings, kit) {
      // Errors go out with a message object, so Catch nodes see them.
      const report = (err: Error): void => {
        kit.node.error(`nfqueue-in: ${err.message}`, {});
        showStatus(kit.node, { fill: 'red', text: shortError(err) });
      };
      // Built once per binding, not per packet.
      let topic = `nfqueue/${settings.queue}`;
      const queue: NfqueueInline = new NfqueueInline(inlineOptions(settings), {
        emit: (payload) => kit.send({ payload, topic }),
        error: report,
      });
      // Bind once the flows have started, so Catch and Status nodes see a failure to bind.
      const bind = (): void => {
        try {
          queue.start();
        } catch (err) {
          report(err as Error);
        }
        kit.refreshStatus();
      };
      RED.events.once('flows:started', bind);
      // Counters change per packet and packets time out without any message: redraw on a timer.
      const redraw = setInterval(kit.refreshStatus, STATUS_INTERVAL_MS);
      let shown = '';
      return {
        input(msg: NodeMessageInFlow) {
          if (!queue.running) throw new Error('queue not bound (see the earlier error); verdict ignored, the kernel applies its own');
          queue.verdict(msg.payload);
        },
        configure: (next) => {
          queue.reconfigure(inlineOptions(next));
          topic = `nfqueue/${queue.options.queue}`;
        },
        reset: () => queue.resetCounts(),
        status(): StatusLine | null {
          const failure = queue.bindError;
          const line: StatusLine = failure ? { fill: 'red', text: shortError(failure) }
            : queue.running ? { fill: 'green', text: inlineStatsText(queue.stats()) }
              : { fill: 'grey', text: `binding queue ${queue.options.queue}` };
          if (line.text === shown) return null;
          shown = line.text;
          return line;
        },
        close() {
          RED.events.removeListener('flows:started', bind);
          clearInterval(redraw);
          queue.close();
        },
      };
    },
  });
};
