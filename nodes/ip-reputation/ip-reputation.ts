import type { NodeAPI, NodeMessage } from 'node-red';
import { ReputationEngine } from '../../lib/net/reputation/engine';
import { registerIpsNode } from '../common/ips-node';
import { shortError } from '../common/status';

export = function (RED: NodeAPI): void {
  registerIpsNode(RED, {
    type: 'ip-reputation',
    async create(settings, kit) {
      let problem: string | null = null;
      const listsMessage = (extra: Record<string, unknown> = {}): NodeMessage => ({ topic: 'lists', payload: engine.lists(), ...extra });
      const engine = new ReputationEngine(kit.name, settings, {
        userDir: kit.userDir,
        refreshed(outcomes) {
          const bad = outcomes.filter((o) => o.result === 'failed' || o.result === 'refused');
          problem = bad.length ? `${bad[0].list}: ${bad[0].reason}` : null;
          for (const o of bad) kit.node.warn(`list ${o.list}: ${o.result}: ${o.reason}`);
          kit.send([null, null, listsMessage({ refresh: outcomes, ...(settings.dryRun ? { commands: engine.takeCommands() } : {}) })]);
          kit.refreshStatus();
        },
        warn: (text) => kit.node.warn(text),
        kernel(text, ok) {
          if (!ok) kit.node.error(text);
          kit.refreshStatus();
        },
      });
      // Messages wait for the cached lists (and GeoIP, the kernel sets): the node enforces before the first download.
      await engine.start();
      kit.send([null, null, listsMessage()]);
      return {
        input(msg, send) {
          const alerts = engine.process(msg.payload, msg.topic);
          send([msg, alerts.length ? alerts.map((a): NodeMessage => ({ topic: a.rule, payload: a })) : null, null]);
          kit.scheduleStatus();
        },
        async control(topic, msg, send) {
          if (topic === 'lists') send([null, null, listsMessage()]);
          else if (topic === 'refresh') await engine.refresh(typeof msg.payload === 'string' && msg.payload ? [msg.payload] : undefined);
          else return false;
          return true;
        },
        configure: (next, prev) => engine.configure(next, prev),
        reset: () => engine.reset(),
        status() {
          if (engine.kernelState && !engine.kernelState.ok) return { fill: 'red', text: shortError(engine.kernelState.text) };
          const s = engine.stats;
          const text = `${engine.size} entries · ${s.hits} hits · ${s.alerts} alerts${s.dropped ? ` · ${s.dropped} dropped` : ''}`;
          const note = problem ?? engine.geoProblem;
          if (note) return { fill: 'yellow', text: `${text} · ${shortError(note, 40)}` };
          return { fill: s.alerts > 0 ? 'yellow' : 'green', text };
        },
        close: (removed) => engine.close(removed),
      };
    },
  });
};
