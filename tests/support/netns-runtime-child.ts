/**
 * Child process for tests/support/netns-runtime.ts: a real Node-RED runtime
 * started inside a network namespace (`ip netns exec NS node <this>`), since
 * NFQUEUE, conntrack and firewall state are per namespace. Talks JSON lines:
 * commands on stdin, replies and events on stdout.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { startRuntime, type FlowNode, type Runtime } from './runtime';

interface Command {
  cmd: 'inbox' | 'deploy' | 'file' | 'send' | 'stop';
  msg?: Record<string, unknown>;
  seq: number;
  id?: string;
  flows?: FlowNode[];
  path?: string;
}

function reply(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/** What a test may look at in a message (Buffers become byte counts). */
function summary(msg: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['topic', 'payload', 'status', 'error']) {
    if (key in msg) out[key] = msg[key];
  }
  return JSON.parse(JSON.stringify(out, (_k, v: unknown) => (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? `<${((v as { data: unknown[] }).data ?? []).length} bytes>` : v))) as Record<string, unknown>;
}

async function main(): Promise<void> {
  const flows = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as FlowNode[];
  const watch = (process.argv[3] ?? '').split(',').filter(Boolean);
  const runtime: Runtime = await startRuntime(flows);
  for (const id of watch) runtime.inbox(id);
  reply({ event: 'ready', pid: process.pid });
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    void (async () => {
      let c: Command | undefined;
      try {
        c = JSON.parse(line) as Command;
        if (c.cmd === 'inbox') {
          reply({ seq: c.seq, msgs: runtime.inbox(c.id ?? '').map((m) => summary(m.msg)) });
        } else if (c.cmd === 'deploy') {
          await runtime.deploy(c.flows ?? []);
          reply({ seq: c.seq, ok: true });
        } else if (c.cmd === 'send') {
          // deliver a message to a node's input, as a wire would
          const node = runtime.RED.nodes.getNode(c.id ?? '') as { receive(msg: unknown): void } | null;
          if (!node) throw new Error(`no node ${c.id}`);
          node.receive(c.msg ?? {});
          reply({ seq: c.seq, ok: true });
        } else if (c.cmd === 'file') {
          // read a /proc file from inside the namespace
          reply({ seq: c.seq, text: fs.existsSync(c.path ?? '') ? fs.readFileSync(c.path ?? '', 'utf8') : null });
        } else if (c.cmd === 'stop') {
          await runtime.stop();
          reply({ seq: c.seq, ok: true });
          // handles of native bindings (NFQUEUE) keep the event loop alive
          process.exit(0);
        }
      } catch (err) {
        reply({ seq: c?.seq ?? -1, error: (err as Error).message });
      }
    })();
  });
}

main().catch((err: unknown) => {
  reply({ event: 'fatal', error: (err as Error).stack ?? String(err) });
  process.exit(1);
});
