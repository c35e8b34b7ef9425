/**
 * A real Node-RED runtime in a child process, optionally inside a network
 * namespace (so nodes that read conntrack, tc or the neighbour table see
 * that namespace). See runtime-child.ts for the line protocol.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Netns } from './netns';
import type { FlowNode, ReceivedMessage } from './runtime';

const CHILD_SCRIPT = path.join(__dirname, 'runtime-child.js');
const LINE_PREFIX = '@@ips ';

export interface ChildRuntime {
  /** Every message delivered to watched node `id` so far. */
  inbox(id: string): ReceivedMessage[];
  waitFor(id: string, pred: (msgs: ReceivedMessage[]) => boolean, timeoutMs?: number): Promise<ReceivedMessage[]>;
  /** Deliver `msg` to node `id` as if wired to it. */
  inject(id: string, msg: Record<string, unknown>): void;
  /** Errors the child reported (bad inject, unserialisable message, crash). */
  errors: string[];
  /** Node-RED's own log lines (warnings, node.error) for diagnostics. */
  log: string[];
  /** Stop the runtime (nodes' close handlers run) and wait for the process. */
  stop(): Promise<void>;
}

/**
 * Start the runtime with `flows`; messages delivered to the nodes in `watch`
 * are collected. With `ns`, it runs inside that namespace (and is killed by
 * the Lab's cleanup if the test forgets to stop it).
 */
export async function startChildRuntime(flows: FlowNode[], watch: string[], opts: { ns?: Netns; timeoutMs?: number; settings?: Record<string, unknown>; env?: NodeJS.ProcessEnv } = {}): Promise<ChildRuntime> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-child-'));
  const cfgFile = path.join(dir, 'config.json');
  fs.writeFileSync(cfgFile, JSON.stringify({ flows, watch, settings: opts.settings ?? {} }));
  const child: ChildProcess = opts.ns
    ? opts.ns.spawn(process.execPath, [CHILD_SCRIPT, cfgFile], { stdio: ['pipe', 'pipe', 'pipe'], ...(opts.env ? { env: opts.env } : {}) })
    : spawn(process.execPath, [CHILD_SCRIPT, cfgFile], { stdio: ['pipe', 'pipe', 'pipe'], ...(opts.env ? { env: opts.env } : {}) });
  const inboxes = new Map<string, ReceivedMessage[]>();
  const errors: string[] = [];
  const log: string[] = [];
  const box = (id: string) => {
    let b = inboxes.get(id);
    if (!b) inboxes.set(id, (b = []));
    return b;
  };
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    fs.rmSync(dir, { recursive: true, force: true });
    resolve();
  }));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child runtime not ready after ${opts.timeoutMs ?? 30_000} ms: ${[...errors, ...log.slice(-5)].join(' | ')}`)), opts.timeoutMs ?? 30_000);
    void exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`child runtime exited: ${[...errors, ...log.slice(-5)].join(' | ')}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith(LINE_PREFIX)) {
        log.push(line);
        return;
      }
      const evt = JSON.parse(line.slice(LINE_PREFIX.length)) as { event: string; node?: string; source?: string; port?: number; msg?: Record<string, unknown>; message?: string };
      if (evt.event === 'ready') {
        clearTimeout(timer);
        resolve();
      } else if (evt.event === 'msg' && evt.node) {
        box(evt.node).push({ msg: evt.msg ?? {}, sourceId: evt.source ?? '', port: evt.port ?? 0 });
      } else if (evt.event === 'error') {
        errors.push(evt.message ?? 'error');
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => log.push(line));
  });
  const rt: ChildRuntime = {
    errors,
    log,
    inbox: box,
    waitFor(id, pred, timeoutMs = 10_000) {
      const b = box(id);
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const tick = () => {
          if (pred(b)) return resolve(b);
          if (exited) return reject(new Error(`child runtime exited while waiting on node ${id}: ${[...errors, ...log.slice(-5)].join(' | ')}`));
          if (Date.now() > deadline) return reject(new Error(`timed out after ${timeoutMs} ms waiting on node ${id} (${b.length} messages)`));
          setTimeout(tick, 50);
        };
        tick();
      });
    },
    inject(id, msg) {
      child.stdin!.write(`${JSON.stringify({ inject: id, msg })}\n`);
    },
    async stop() {
      if (exited) return;
      child.stdin!.write(`${JSON.stringify({ stop: true })}\n`);
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(t);
    },
  };
  try {
    await ready;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return rt;
}
