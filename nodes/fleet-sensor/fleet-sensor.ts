import type { NodeMessage } from 'node-red';
import path from 'node:path';
import { FleetSensor } from '../../lib/fleet/sensor';
import { registerIpsNode } from '../common/ips-node';
import { shortError, type StatusLine } from '../common/status';

export = function (RED: import('node-red').NodeAPI): void {
  registerIpsNode(RED, {
    type: 'fleet-sensor',
    credentials: { password: { type: 'password' } },
    async create(settings, kit) {
      const password = (kit.node as unknown as { credentials?: { password?: string } }).credentials?.password;
      const sensor = new FleetSensor(settings, password, path.resolve(kit.userDir, settings.file), kit.userDir, {
        command: (cmd) => kit.send({ topic: 'decision', payload: cmd } as NodeMessage),
        changed: () => kit.scheduleStatus(),
        warn: (text) => kit.node.warn(text),
        log: (text) => kit.node.log(text),
      });
      await sensor.start();
      return {
        input(msg) {
          sensor.input(msg);
          kit.scheduleStatus();
        },
        status(): StatusLine {
          const s = sensor.status();
          const queue = `${s.queued}/${s.maxRows} queued${s.dropped ? ` · ${s.dropped} dropped` : ''}`;
          if (!s.connected) return { fill: 'red', text: `${s.lastError ? shortError(s.lastError, 30) : 'broker unreachable'} · ${queue}` };
          return { fill: s.dropped ? 'yellow' : 'green', text: `${sensor.name} · ${s.sent} sent · ${queue}` };
        },
        close: () => sensor.close(),
      };
    },
  });
};
