import type { NodeAPI } from 'node-red';
import { LogClient } from '../../lib/store/log-client';
import type { IncomingMessage } from '../../lib/store/records';
import { registerIpsNode } from '../common/ips-node';
import { shortError, type StatusLine } from '../common/status';

export = function (RED: NodeAPI): void {
  registerIpsNode(RED, {
    type: 'sqlite-log',
    create(settings, kit) {
      const client = new LogClient(settings, kit.userDir, {
        error: (message) => kit.node.error(message),
        warn: (message) => kit.node.warn(message),
        log: (message) => kit.node.log(message),
        changed: () => kit.scheduleStatus(),
      });
      // Rows are taken at once and kept until the database is open; the status says when it is (or why not).
      let opening = true;
      void client.opened().then(() => {
        opening = false;
        kit.refreshStatus();
      });
      return {
        input(msg, send) {
          const reply = client.handle(msg as IncomingMessage);
          kit.scheduleStatus();
          return reply?.then((r) => send(Object.assign(msg, r)));
        },
        configure: (next) => client.configure(next),
        status(): StatusLine {
          if (opening) return { fill: 'grey', text: 'opening' };
          const s = client.stats;
          const total = s.written.alerts + s.written.devices + s.written.flows + s.written.blocks;
          if (s.fault) return { fill: 'red', text: `${shortError(s.fault, 40)} · ${s.pending} kept` };
          if (s.dropped) return { fill: 'yellow', text: `${total} rows · ${s.dropped} dropped` };
          return { fill: 'green', text: `${total} rows · ${s.pending} pending` };
        },
        close: () => client.close(),
      };
    },
  });
};
