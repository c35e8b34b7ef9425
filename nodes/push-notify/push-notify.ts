import type { NodeAPI } from 'node-red';
import { Notifier } from '../../lib/net/notify';
import { registerIpsNode } from '../common/ips-node';
import { shortError } from '../common/status';

export = function (RED: NodeAPI): void {
  registerIpsNode(RED, {
    type: 'push-notify',
    create(settings, kit) {
      let fault: string | null = null;
      const notifier = new Notifier(settings, {
        sent(message) {
          fault = null;
          kit.send({ topic: 'notify', payload: message });
          kit.scheduleStatus();
        },
        error(err) {
          fault = err.message;
          kit.node.error(err);
          kit.refreshStatus();
        },
      });
      let service = settings.service;
      return {
        input: (msg) => notifier.handle(msg.topic, msg.payload, (msg as { results?: unknown }).results),
        control(topic) {
          if (topic !== 'flush') return false;
          return notifier.flush().then(() => true);
        },
        configure(next) {
          service = next.service;
          notifier.configure(next);
        },
        reset: () => notifier.reset(),
        status() {
          if (fault) return { fill: 'red', text: shortError(fault) };
          const counts = `${notifier.sentCount} sent, ${notifier.held} collapsed`;
          return service === 'off' ? { fill: 'grey', text: `off (${counts})` } : { fill: 'green', text: `${service}: ${counts}` };
        },
        close: () => notifier.close(),
      };
    },
  });
};
