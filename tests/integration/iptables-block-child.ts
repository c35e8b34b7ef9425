/**
 * Child process for iptables-block.test.ts: a real Node-RED runtime started
 * inside the victim namespace (`ip netns exec VIC node <this> flows.json`),
 * so the node changes that namespace's firewall exactly as it would a box's.
 * JSON lines: stdin takes { msg } (delivered to node 'blk') and { cmd: 'stop' };
 * stdout gives { event: 'ready' }, { out: msg } for every blocklist message
 * and { caught: text } for every error a Catch node sees.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { startRuntime } from '../support/runtime';

function say(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

async function main(): Promise<void> {
  const runtime = await startRuntime(JSON.parse(fs.readFileSync(process.argv[2], 'utf8')));
  const out = runtime.inbox('out');
  const caught = runtime.inbox('caught');
  let sentOut = 0;
  let sentCaught = 0;
  const pump = setInterval(() => {
    while (sentOut < out.length) say({ out: out[sentOut++].msg });
    while (sentCaught < caught.length) {
      const err = caught[sentCaught++].msg.error as { message?: string } | undefined;
      say({ caught: err?.message ?? 'unknown error' });
    }
  }, 20);
  // RED.start() returns before the flows have started.
  const deadline = Date.now() + 20_000;
  while (!runtime.RED.nodes.getNode('blk') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  say({ event: 'ready' });
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const cmd = JSON.parse(line) as { msg?: Record<string, unknown>; cmd?: string };
    if (cmd.msg) {
      const node = runtime.RED.nodes.getNode('blk') as { receive(msg: Record<string, unknown>): void } | null;
      if (!node) say({ caught: 'node blk is not running' });
      else node.receive(cmd.msg);
    } else if (cmd.cmd === 'stop') {
      clearInterval(pump);
      runtime.stop().then(
        () => process.exit(0),
        (err: Error) => {
          process.stderr.write(`stop failed: ${err.message}\n`);
          process.exit(1);
        },
      );
    }
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
