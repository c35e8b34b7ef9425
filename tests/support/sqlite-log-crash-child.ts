/**
 * Child process for sqlite-log-crash.test.ts: a real Node-RED runtime whose
 * flow generates load (inject every 20 ms → function making 200 alerts with a
 * monotone sequence number in `sid` → sqlite-log). The parent SIGKILLs it.
 * argv: database file. stdout: one JSON line { event: 'ready', userDir }.
 */
import { startRuntime, type FlowNode } from './red-runtime';

const file = process.argv[2];
const generate = `
let seq = context.get('seq') || 0;
const out = [];
for (let i = 0; i < 200; i++) {
  seq++;
  out.push({ ts: Date.now(), rule: 'load.test', sid: seq, signature: 'load', category: 'policy', severity: 'low', action: 'alert',
    src: '10.0.0.1', dst: '10.0.0.2', proto: 'tcp', count: 1, windowMs: 0, threshold: 0, reason: 'row ' + seq, detector: 'load' });
}
context.set('seq', seq);
msg.payload = out;
return msg;`;

const flows: FlowNode[] = [
  { id: 'tab', type: 'tab', label: 'load' },
  { id: 'tick', type: 'inject', z: 'tab', props: [], repeat: '0.02', once: true, onceDelay: 0.1, wires: [['gen']] },
  { id: 'gen', type: 'function', z: 'tab', func: generate, outputs: 1, wires: [['sink']] },
  { id: 'sink', type: 'sqlite-log', z: 'tab', name: 'crash target', file, flushMs: '100', batchRows: '5000', maxPending: '1000000', retryMs: '100', retentionS: '0', queryLimit: '1000', exportDir: '', wires: [[]] },
];

startRuntime(flows).then((runtime) => {
  process.stdout.write(`${JSON.stringify({ event: 'ready', userDir: runtime.userDir })}\n`);
}, (err: Error) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
