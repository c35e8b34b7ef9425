import type { NodeAPI, Node, NodeDef, NodeMessageInFlow } from 'node-red';
import { BandwidthMonitor, bandwidthSettingsFromConfig, TcThrottle } from '../../lib/net/bandwidth';
import type { DeviceStats } from '../../lib/net/types';
import { status, shortError } from '../common/status';

interface BandwidthThresholdConfig extends NodeDef {
  limitBps: string;
  overrides: string;
  sustainS: string;
  clearPct: string;
  clearS: string;
  action: string;
  interface: string;
}

export = function (RED: NodeAPI): void {
  function BandwidthThresholdNode(this: Node, config: BandwidthThresholdConfig): void {
    RED.nodes.createNode(this, config);
    setup(this, config);
  }

  function setup(node: Node, config: BandwidthThresholdConfig): void {
    let monitor: BandwidthMonitor;
    try {
      monitor = new BandwidthMonitor(bandwidthSettingsFromConfig(config as unknown as Record<string, unknown>), config.name || 'bandwidth-threshold');
    } catch (err) {
      status.error(node, shortError(err));
      node.error(err);
      return;
    }
    let throttle: TcThrottle | null = null;
    // tc commands run one after another, in the order decided.
    let queue: Promise<void> = Promise.resolve();
    const enqueue = (job: () => Promise<void>) => {
      queue = queue.then(job).catch((err: Error) => {
        status.error(node, shortError(err));
        node.error(err);
      });
      return queue;
    };

    function throttleFor(): TcThrottle {
      const iface = monitor.current.interface;
      if (!throttle || throttle.iface !== iface) throttle = new TcThrottle(iface);
      return throttle;
    }

    function releaseAll(): Promise<void> {
      const t = throttle;
      throttle = null;
      return t ? enqueue(() => t.close()) : queue;
    }

    function showStatus(): void {
      const firing = monitor.firing;
      const limited = throttle?.limited.length ?? 0;
      if (firing.length) status.warn(node, `${firing.length} over limit${limited ? `, ${limited} throttled` : ''}`);
      else status.ok(node, monitor.current.limitBps ? `limit ${monitor.current.limitBps} B/s` : 'watching');
    }
    showStatus();

    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      try {
        if (msg.topic === 'config') {
          const before = { action: monitor.current.action, iface: monitor.current.interface };
          monitor.configure(msg.payload);
          if (before.action === 'throttle' && (monitor.current.action !== 'throttle' || monitor.current.interface !== before.iface)) {
            // Limits set under the old settings would otherwise stay forever.
            monitor.reset();
            void releaseAll();
          }
          showStatus();
          done();
          return;
        }
        if (msg.topic === 'reset') {
          monitor.reset();
          void releaseAll().then(showStatus);
          done();
          return;
        }
        if (!Array.isArray(msg.payload)) {
          done(new Error('expected Device stats: msg.payload must be an array of { ip, rxBps, txBps, ... } (conntrack-poll output)'));
          return;
        }
        const outcome = monitor.update(msg.payload as DeviceStats[]);
        if (outcome.throttle.size || outcome.release.length) {
          const t = throttleFor();
          for (const ip of outcome.release) void enqueue(() => t.release(ip));
          for (const [ip, rate] of outcome.throttle) void enqueue(() => t.limit(ip, rate));
          void queue.then(showStatus);
        }
        send([msg, outcome.alerts.length ? outcome.alerts.map((a) => ({ topic: a.rule, payload: a })) : null]);
        if (outcome.alerts.length) showStatus();
        done();
      } catch (err) {
        status.error(node, shortError(err));
        done(err as Error);
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      void releaseAll().finally(() => {
        status.clear(node);
        done();
      });
    });
  }
  RED.nodes.registerType('bandwidth-threshold', BandwidthThresholdNode);
};
