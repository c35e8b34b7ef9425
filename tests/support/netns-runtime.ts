/**
 * A real Node-RED runtime in a child process inside a network namespace
 * (see netns-runtime-child.ts): for nodes whose kernel state is per namespace
 * (NFQUEUE). Killed with the Lab's other children, or by `stop()`/`kill()`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import type { Netns } from './netns';
import type { FlowNode } from './runtime';

export interface InboxMessage {
  topic?: string;
  payload?: unknown;
  status?: { fill?: string; shape?: string; text?: string };
  error?: { message?: string };
}

export class NetnsRuntime {
  readonly child: ChildProcess;
  private readonly pending = new Map<number, (v: Record<string, unknown>) => void>();
  private seq = 0;
  private readonly flowFile: string;
  /** Everything the child wrote to stderr (for failure messages). */
  stderr = '';

  private constructor(child: ChildProcess, flowFile: string) {
    this.child = child;
    this.flowFile = flowFile;
  }

  /**
   * Start Node-RED with `flows` inside `ns`; `watch` lists node ids whose
   * incoming messages are recorded from the start. `wrap` prefixes the node
   * command (e.g. setpriv to drop a capability).
   */
  static async start(ns: Netns, flows: FlowNode[], watch: string[] = [], wrap: string[] = []): Promise<NetnsRuntime> {
    const flowFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ips-nsrt-')), 'flows.json');
    fs.writeFileSync(flowFile, JSON.stringify(flows));
    const script = path.join(__dirname, 'netns-runtime-child.js');
    const argv = [...wrap, process.execPath, script, flowFile, watch.join(',')];
    const child = ns.spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const rt = new NetnsRuntime(child, flowFile);
    child.stderr?.on('data', (d: Buffer) => {
      rt.stderr += d.toString();
    });
    const lines = readline.createInterface({ input: child.stdout! });
    const ready = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`Node-RED child did not start in 30 s: ${rt.stderr}`)), 30_000);
      child.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`Node-RED child exited (${code}) before it was ready: ${rt.stderr}`));
      });
      lines.on('line', (line) => {
        let obj: Record<string, unknown>;
        try {
          obj = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return; // Node-RED's own log lines
        }
        if (obj.event === 'ready') {
          clearTimeout(t);
          resolve();
        } else if (obj.event === 'fatal') {
          rt.stderr += String(obj.error);
        } else if (typeof obj.seq === 'number') {
          rt.pending.get(obj.seq)?.(obj);
          rt.pending.delete(obj.seq);
        }
      });
    });
    await ready;
    return rt;
  }

  private request(cmd: Record<string, unknown>, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`Node-RED child did not answer ${String(cmd.cmd)}: ${this.stderr}`));
      }, timeoutMs);
      this.pending.set(seq, (v) => {
        clearTimeout(t);
        if (typeof v.error === 'string') reject(new Error(v.error));
        else resolve(v);
      });
      this.child.stdin?.write(`${JSON.stringify({ ...cmd, seq })}\n`);
    });
  }

  /** Messages delivered so far to node `id` (which must be in `watch`). */
  async inbox(id: string): Promise<InboxMessage[]> {
    return (await this.request({ cmd: 'inbox', id })).msgs as InboxMessage[];
  }

  /** Poll `inbox(id)` until `pred` holds; rejects with the last inbox after `timeoutMs`. */
  async waitFor(id: string, pred: (msgs: InboxMessage[]) => boolean, timeoutMs = 15_000): Promise<InboxMessage[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const msgs = await this.inbox(id);
      if (pred(msgs)) return msgs;
      if (Date.now() > deadline) throw new Error(`timed out waiting on ${id}: ${JSON.stringify(msgs.slice(-3))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Deliver `msg` to the input of node `id`. */
  async send(id: string, msg: Record<string, unknown>): Promise<void> {
    await this.request({ cmd: 'send', id, msg });
  }

  async deploy(flows: FlowNode[]): Promise<void> {
    await this.request({ cmd: 'deploy', flows });
  }

  /** A file as seen from inside the namespace (e.g. /proc/net/netfilter/nfnetlink_queue), null when absent. */
  async readFile(p: string): Promise<string | null> {
    return (await this.request({ cmd: 'file', path: p })).text as string | null;
  }

  /** Stop Node-RED cleanly (nodes get their close). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.request({ cmd: 'stop' }).catch(() => undefined);
    const t = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
    fs.rmSync(path.dirname(this.flowFile), { recursive: true, force: true });
  }

  /** Kill the process without a clean stop (a crash). */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
    fs.rmSync(path.dirname(this.flowFile), { recursive: true, force: true });
  }
}
