import type { NodeAPI, NodeMessage, NodeMessageInFlow } from 'node-red';
import { Blocker, type BlockerHost, type BlockSettings, type BlocklistReport } from '../../lib/net/firewall/blocker';
import { registerIpsNode, type Controller, type NodeKit } from '../common/ips-node';
import { shortError } from '../common/status';

export = function (RED: NodeAPI): void {
  registerIpsNode(RED, {
    type: 'iptables-block',
    async create(settings, kit: NodeKit): Promise<Controller<BlockSettings>> {
      const host: BlockerHost = {
        send: (report: BlocklistReport) => {
          kit.send(report as unknown as NodeMessage);
          kit.refreshStatus();
        },
        log: (line) => kit.node.log(line),
        warn: (text) => kit.node.warn(text),
        error: (text) => kit.node.error(`iptables-block: ${text}`),
      };
      const blocker = new Blocker(settings, host);
      await blocker.start();
      /** The last message's refusal, shown until a message goes through. */
      let refused: string | null = null;
      return {
        async input(msg: NodeMessageInFlow, send) {
          const { report, refusals } = await blocker.handle(msg);
          if (report) send(Object.assign(msg, report) as NodeMessage);
          refused = refusals.length ? refusals[refusals.length - 1] : null;
          kit.refreshStatus();
          if (refusals.length) throw new Error(refusals.join('; '));
        },
        configure: (next) => blocker.reconfigure(next),
        reset: () => blocker.forgetOffences(),
        status: () => (refused !== null
          ? { fill: 'yellow', text: shortError(refused) }
          : { fill: 'green', text: `${blocker.size} blocked${blocker.dryRun ? ' (dry-run)' : ''}` }),
        close: () => blocker.close(),
      };
    },
  });
};
