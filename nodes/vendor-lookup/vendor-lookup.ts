import type { NodeAPI } from 'node-red';
import { VendorLookup } from '../../lib/net/vendor-lookup';
import { registerIpsNode } from '../common/ips-node';
import { shortError } from '../common/status';

export = function (RED: NodeAPI): void {
  registerIpsNode(RED, {
    type: 'vendor-lookup',
    async create(settings, kit) {
      const lookup = new VendorLookup(settings, {
        error(err) {
          kit.node.error(err);
          kit.refreshStatus();
        },
        read: () => kit.scheduleStatus(),
      });
      // Messages wait for the first reading of the neighbour table and leases.
      await lookup.start();
      return {
        input(msg, send) {
          lookup.enrich(msg.payload);
          send(msg);
        },
        configure: (next, prev) => lookup.configure(next, prev),
        status: () => (lookup.fault ? { fill: 'red', text: shortError(lookup.fault) } : { fill: 'green', text: `${lookup.hosts} hosts known` }),
        close: () => lookup.close(),
      };
    },
  });
};
