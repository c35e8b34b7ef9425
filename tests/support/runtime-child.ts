/**
 * Entry point of a Node-RED runtime in a child process, so a test can run
 * the runtime where the test process is not — e.g. inside a network
 * namespace: `ip netns exec NS node dist/tests/support/runtime-child.js CONFIG.json`.
 * Driven by tests/support/child-runtime.ts; the protocol is JSON lines:
 *   stdout  '@@ips {"event":"ready"}' | '@@ips {"event":"msg","node":id,"source":id,"port":n,"msg":{...}}'
 *   stdin   '{"inject":id,"msg":{...}}' (deliver msg to node id) | '{"stop":true}'
 * Other stdout lines are Node-RED's own log.
 */
import fs from 'node:fs';
import { createInterface } from 'node:readline';
import { startRuntime, type FlowNode, type Runtime } from './runtime';

export const LINE_PREFIX = '@@ips ';

interface ChildConfig {
  flows: FlowNode[];
  /** Node ids whose received messages are reported. */
  watch: string[];
  settings?: Record<string, unknown>;
}

type HookEvent = Parameters<Parameters<Runtime['RED']['hooks']['add']>[1]>[0];

function report(obj: unknown): void {
  let line: string;
  try {
    line = JSON.stringify(obj);
  } catch (err) {
    line = JSON.stringify({ event: 'error', message: `unserialisable message: ${(err as Error).message}` });
  }
  process.stdout.write(`${LINE_PREFIX}${line}\n`);
}

async function main(): Promise<void> {
  const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as ChildConfig;
  const watch = new Set(cfg.watch);
  let runtime: Runtime | null = null;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    try {
      if (runtime) {
        runtime.RED.hooks.remove('onReceive.ipschild');
        await runtime.stop();
      }
    } finally {
      report({ event: 'stopped' });
      process.exit(code);
    }
  };
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(0));
  runtime = await startRuntime(cfg.flows, cfg.settings ?? {});
  runtime.RED.hooks.add('onReceive.ipschild', (evt: HookEvent) => {
    if (watch.has(evt.destination.id)) {
      report({ event: 'msg', node: evt.destination.id, source: evt.source?.id, port: evt.source?.port, msg: { topic: evt.msg.topic, payload: evt.msg.payload, ...(evt.msg.error ? { error: evt.msg.error } : {}) } });
    }
  });
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (!line.trim()) return;
    try {
      const cmd = JSON.parse(line) as { inject?: string; msg?: Record<string, unknown>; stop?: boolean };
      if (cmd.stop) return void stop(0);
      if (cmd.inject) {
        const node = runtime?.RED.nodes.getNode(cmd.inject) as { receive(msg: Record<string, unknown>): void } | null;
        if (!node) return report({ event: 'error', message: `no node ${cmd.inject}` });
        node.receive(cmd.msg ?? {});
      }
    } catch (err) {
      report({ event: 'error', message: (err as Error).message });
    }
  });
  rl.on('close', () => void stop(0));
  report({ event: 'ready' });
}

if (require.main === module) {
  main().catch((err: Error) => {
    report({ event: 'error', message: err.stack ?? err.message });
    process.exit(1);
  });
}
