import type { NodeAPI } from 'node-red';
import { BandwidthEnforcer } from '../../lib/net/bandwidth';
import type { DeviceStats } from '../../lib/net/types';
import { registerIpsNode } from '../common/ips-node';
import { shortError } from '../common/status';

export = function (RED: NodeAPI): void {
  registerIpsNode(RED, {
    type: 'bandwidth-threshold',
    create(settings, kit) {
      const enforcer = new BandwidthEnforcer(settings, kit.name, (err) => {
        kit.node.error(err);
        kit.refreshStatus();
      });
      const afterTc = () => void enforcer.settled().then(kit.refreshStatus);
      return {
        input(msg, send) {
          if (!Array.isArray(msg.payload)) throw new Error('expected Device stats: msg.payload must be an array of { ip, rxBps, txBps, ... } (conntrack-poll output)');
          const alerts = enforcer.update(msg.payload as DeviceStats[]);
          send([msg, alerts.length ? alerts.map((a) => ({ topic: a.rule, payload: a })) : null]);
          if (alerts.length) afterTc();
        },
        configure(_next, _prev, patch) {
          enforcer.configure(patch);
          afterTc();
        },
        reset() {
          void enforcer.reset();
          afterTc();
        },
        status() {
          if (enforcer.fault) return { fill: 'red', text: shortError(enforcer.fault) };
          const firing = enforcer.monitor.firing.length;
          const limited = enforcer.limited;
          if (firing) return { fill: 'yellow', text: `${firing} over limit${limited ? `, ${limited} throttled` : ''}` };
          const limit = enforcer.monitor.current.limitBps;
          return { fill: 'green', text: limit ? `limit ${limit} B/s` : 'watching' };
        },
        close: () => enforcer.close(),
      };
    },
  });
};
