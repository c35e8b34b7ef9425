import type { NodeAPI } from 'node-red';
import { ConntrackPoller } from '../../lib/net/conntrack-poll';
import { registerIpsNode } from '../common/ips-node';
import { shortError, type StatusLine } from '../common/status';

export = function (RED: NodeAPI): void {
  registerIpsNode(RED, {
    type: 'conntrack-poll',
    create(settings, kit) {
      const poller = new ConntrackPoller(settings, kit.name, {
        report({ devices, flows, alerts }) {
          kit.send([
            { topic: 'devices', payload: devices },
            flows.length ? { topic: 'flows', payload: flows } : null,
            alerts.length ? alerts.map((a) => ({ topic: a.rule, payload: a })) : null,
          ]);
          kit.refreshStatus();
        },
        error(err) {
          kit.node.error(err);
          kit.refreshStatus();
        },
        warn: (text) => {
          kit.node.warn(text);
          kit.refreshStatus();
        },
        log: (text) => kit.node.log(text),
      });
      void poller.start().catch((err: Error) => kit.node.error(err));
      return {
        // Any message that is not a control topic polls now.
        input: () => void poller.poll(),
        configure: (next) => poller.configure(next),
        reset: () => poller.reset(),
        status(): StatusLine {
          const { fault, accountingOff, last } = poller.state;
          if (fault) return { fill: 'red', text: shortError(fault) };
          if (!last) return accountingOff ? { fill: 'yellow', text: 'accounting off: counters will be zero' } : { fill: 'grey', text: 'starting' };
          const text = `${last.devices} devices, ${last.flows} flows, ${last.ms.toFixed(0)} ms`;
          return accountingOff ? { fill: 'yellow', text: `${text}; accounting off` } : { fill: 'green', text };
        },
        close: () => poller.close(),
      };
    },
  });
};
