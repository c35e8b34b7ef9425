import type { NodeMessage } from 'node-red';
import { FleetCentral } from '../../lib/fleet/central';
import { registerIpsNode } from '../common/ips-node';
import { shortError, type StatusLine } from '../common/status';

export = function (RED: import('node-red').NodeAPI): void {
  registerIpsNode(RED, {
    type: 'fleet-central',
    credentials: { password: { type: 'password' } },
    create(settings, kit) {
      const password = (kit.node as unknown as { credentials?: { password?: string } }).credentials?.password;
      const central = new FleetCentral(settings, password, kit.userDir, {
        record: (msg) => kit.send(msg as unknown as NodeMessage),
        changed: () => kit.scheduleStatus(),
        warn: (text) => kit.node.warn(text),
      });
      central.start();
      return {
        input(msg) {
          const pub = central.decide(msg);
          kit.node.log(`decision published on ${pub.topic}${pub.payload ? '' : ' (unblock)'}`);
        },
        status(): StatusLine {
          if (!central.connected) return { fill: 'red', text: central.lastError ? shortError(central.lastError, 40) : 'broker unreachable' };
          return { fill: central.refused ? 'yellow' : 'green', text: `${central.sensors} sensors · ${central.received} messages${central.refused ? ` · ${central.refused} refused` : ''}` };
        },
        close: () => central.close(),
      };
    },
  });
};
