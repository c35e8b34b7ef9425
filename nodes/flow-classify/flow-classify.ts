/**
 * flow-classify: judges flow records (flow-meter's output 2) with a model
 * and raises anomaly alerts; takes flow-meter's packets too, to set verdicts
 * in drop mode (engine: lib/detect/ml/classifier.ts). Outputs: packets in the
 * form received, alerts, judged flow records.
 */
import type { NodeAPI, NodeMessage } from 'node-red';
import { FlowClassifier, type JudgedFlow } from '../../lib/detect/ml/classifier';
import { looksLikeFlowRecord, type FlowRecord } from '../../lib/detect/flow/features';
import type { Alert } from '../../lib/detect/alert';
import { registerIpsNode, type Send } from '../common/ips-node';
import { compactCount, packetsFrom } from '../common/detector-node';

function recordsFrom(payload: unknown): FlowRecord[] | null {
  if (looksLikeFlowRecord(payload)) return [payload];
  if (Array.isArray(payload) && payload.length > 0 && looksLikeFlowRecord(payload[0])) return payload as FlowRecord[];
  return null;
}

export = function (RED: NodeAPI): void {
  registerIpsNode(RED, {
    type: 'flow-classify',
    async create(settings, kit) {
      let engine = await FlowClassifier.create(kit.name, settings, kit.userDir);
      let counting = false;
      const sendJudged = (alerts: Alert[], judged: JudgedFlow[], send: Send): void => {
        const alertMsgs: NodeMessage[] = alerts.map((a) => ({ topic: a.rule, payload: a }));
        send([null, alertMsgs.length ? alertMsgs : null, { topic: 'flow-judged', payload: judged }]);
        kit.scheduleStatus();
      };
      return {
        input(msg, send) {
          counting = true;
          const records = recordsFrom(msg.payload);
          if (records) {
            const alerts: Alert[] = [];
            const judged = engine.judgeSync(records, alerts);
            if (judged) return sendJudged(alerts, judged, send);
            return engine.judge(records, alerts).then((j) => sendJudged(alerts, j, send));
          }
          const packets = packetsFrom(msg.payload);
          if (packets instanceof Error) throw new Error('msg.payload is neither flow records (flow-meter output 2) nor packets (flow-meter output 1)');
          engine.verdicts(packets);
          send([msg, null, null]);
          kit.scheduleStatus();
        },
        async configure(next, prev, patch) {
          if (next.modelFile === prev.modelFile) return engine.configure(patch);
          // Another model: a new engine, swapped in only once it loaded.
          const fresh = await FlowClassifier.create(kit.name, next, kit.userDir);
          const old = engine;
          engine = fresh;
          await old.close();
        },
        reset() {
          engine.reset();
        },
        status() {
          if (!counting) return { fill: 'grey', text: `${engine.model.kind} ready` };
          const s = engine.stats;
          let text = `${compactCount(s.flows)} flows · ${compactCount(s.malicious)} malicious · ${compactCount(s.alerts)} alerts`;
          if (s.dropped) text += ` · ${compactCount(s.dropped)} dropped`;
          return { fill: s.malicious ? 'yellow' : 'green', text };
        },
        close: () => engine.close(),
      };
    },
  });
};
