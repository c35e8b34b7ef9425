/**
 * Entry point of a real Node-RED runtime (tests/support/red-runtime.ts) in a child
 * process, so a test can run it where the test process is not — inside a
 * network namespace (NFQUEUE, conntrack, firewall and tc state are per
 * namespace), or as a process it can kill. Driven by red-process.ts; the
 * protocol is JSON lines:
 *   stdout  '@@ips {"event":"ready","userDir":dir}' (flows started; the parent removes dir once the child is gone, even after SIGKILL)
 *         | '@@ips {"event":"msg","node":id,"msg":{...}}' (a watched node received msg)
 *         | '@@ips {"event":"ok","seq":n}' | '@@ips {"event":"error","seq"?:n,"message":...}'
 *   stdin   '{"inject":id,"msg":{...},"seq":n}' (deliver msg to node id)
 *         | '{"deploy":[flows],"seq":n}' (full deploy) | '{"stop":true}'
 * "ok" acknowledges an inject or a finished deploy.
 * Other stdout lines are Node-RED's own log.
 */
import fs from 'node:fs';
import { createInterface } from 'node:readline';
import { startRuntime, type FlowNode, type Runtime } from './red-runtime';

export const LINE_PREFIX = '@@ips ';

export interface ChildConfig {
  flows: FlowNode[];
  /** Node ids whose received messages are reported. */
  watch: string[];
  settings?: Record<string, unknown>;
  /** More modules to link into the user dir (RuntimeOptions.modules). */
  modules?: string[];
  /** RuntimeOptions.socketPath and .login (settings cannot carry the login's functions through JSON). */
  socketPath?: string;
  login?: { username: string; password: string };
}

type HookEvent = Parameters<Parameters<Runtime['RED']['hooks']['add']>[1]>[0];

function report(obj: unknown): void {
  let line: string;
  try {
    line = JSON.stringify(obj, (_k, v: unknown) => {
      // packet bytes would flood the pipe: a test only needs their length
      const b = v as { type?: string; data?: unknown[] } | null;
      return b && typeof b === 'object' && b.type === 'Buffer' && Array.isArray(b.data) ? `<${b.data.length} bytes>` : v;
    });
  } catch (err) {
    line = JSON.stringify({ event: 'error', message: `unserialisable message: ${(err as Error).message}` });
  }
  process.stdout.write(`${LINE_PREFIX}${line}\n`);
}

/** What a test may look at in a message: its own properties but Node-RED's bookkeeping and HTTP handles. */
function visible(msg: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(msg)) if (!k.startsWith('_') && k !== 'req' && k !== 'res') out[k] = v;
  return out;
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
      // handles of native bindings (NFQUEUE, pcap) keep the event loop alive
      process.exit(code);
    }
  };
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(0));
  runtime = await startRuntime(cfg.flows, cfg.settings ?? {}, { modules: cfg.modules, socketPath: cfg.socketPath, login: cfg.login });
  runtime.RED.hooks.add('onReceive.ipschild', (evt: HookEvent) => {
    if (watch.has(evt.destination.id)) report({ event: 'msg', node: evt.destination.id, msg: visible(evt.msg) });
  });
  // startRuntime resolves once the flows run, so "ready" means running.
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (!line.trim()) return;
    let cmd: { inject?: string; msg?: Record<string, unknown>; deploy?: FlowNode[]; seq?: number; stop?: boolean } | undefined;
    void (async () => {
      cmd = JSON.parse(line) as typeof cmd;
      if (cmd?.stop) return void stop(0);
      if (cmd?.inject) {
        const node = runtime?.RED.nodes.getNode(cmd.inject) as { receive(msg: Record<string, unknown>): void } | null;
        if (!node) return report({ event: 'error', seq: cmd.seq, message: `no node ${cmd.inject}` });
        node.receive(cmd.msg ?? {});
        report({ event: 'ok', seq: cmd.seq });
      } else if (cmd?.deploy && runtime) {
        await runtime.deploy(cmd.deploy);
        report({ event: 'ok', seq: cmd.seq });
      }
    })().catch((err: Error) => report({ event: 'error', seq: cmd?.seq, message: err.message }));
  });
  // the test process went away: stop cleanly rather than linger
  rl.on('close', () => void stop(0));
  report({ event: 'ready', userDir: runtime.userDir });
}

if (require.main === module) {
  main().catch((err: Error) => {
    report({ event: 'error', message: err.stack ?? err.message });
    process.exit(1);
  });
}
