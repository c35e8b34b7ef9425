import type { NodeAPI, NodeMessage } from 'node-red';
import { LanWatch } from '../../lib/net/lan-watch';
import { registerDetectorNode } from '../common/detector-node';

export = function (RED: NodeAPI): void {
  registerDetectorNode(RED, 'lan-watch', (settings, kit) => {
    const watch = new LanWatch(kit.name, settings as unknown as Record<string, unknown>, {
      // alerts from a poll of the kernel's neighbour table, on the alert output like the packets'
      alerts(alerts) {
        kit.send([null, alerts.map((a): NodeMessage => ({ topic: a.rule, payload: a }))]);
        kit.scheduleStatus();
      },
      error(err) {
        kit.node.error(err);
        kit.refreshStatus();
      },
    });
    void watch.start().then(() => kit.refreshStatus());
    return watch;
  });
};
