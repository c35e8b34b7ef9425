/**
 * A real Node-RED runtime in a child process (see red-process-main.ts for the
 * line protocol), optionally inside a network namespace so nodes that use
 * NFQUEUE, conntrack, firewall, tc or the neighbour table see that namespace.
 * The test watches node ids, injects messages, stops it cleanly (close
 * handlers run) or kills it (a crash). With `ns`, the Lab's cleanup kills it
 * too if a test forgets.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Netns } from './netns';
import type { FlowNode } from './red-runtime';
import { LINE_PREFIX, type ChildConfig } from './red-process-main';

const CHILD_SCRIPT = path.join(__dirname, 'red-process-main.js');

/** A message a watched node received (Buffers show as '<n bytes>'). */
export interface WatchedMessage {
  msg: Record<string, unknown>;
}

export interface ChildRuntimeOptions {
  /** Run inside this namespace. */
  ns?: Netns;
  /** Prefix the node command, e.g. ['setpriv', '--bounding-set', '-net_admin'] to drop a capability. */
  wrap?: string[];
  env?: NodeJS.ProcessEnv;
  settings?: Record<string, unknown>;
  /** How long to wait for the flows to start (default 30 s). */
  timeoutMs?: number;
  /** More modules to link into the user dir, e.g. ['node-red-dashboard']. */
  modules?: string[];
  /** Serve HTTP (editor, dashboard) on a Unix socket, `socketPath`, reachable from outside `ns`. */
  unixSocket?: boolean;
  /** Put the editor, HTTP endpoints and dashboard behind this login, as `npm start` does. */
  login?: { username: string; password: string };
}

export interface ChildRuntime {
  readonly child: ChildProcess;
  /** The Unix socket the runtime serves HTTP on (with `unixSocket`). */
  readonly socketPath?: string;
  /** Every message delivered to watched node `id` so far. */
  inbox(id: string): WatchedMessage[];
  /** Resolve with the inbox of `id` once `pred` holds; reject on timeout or exit. */
  waitFor(id: string, pred: (msgs: WatchedMessage[]) => boolean, timeoutMs?: number): Promise<WatchedMessage[]>;
  /** Deliver `msg` to node `id` as if wired to it; resolves once the node has received it. */
  inject(id: string, msg: Record<string, unknown>): Promise<void>;
  /** Replace the deployed flows (full deploy: removed nodes run their close handlers). */
  deploy(flows: FlowNode[]): Promise<void>;
  /** A file under /proc/net as the runtime's namespace sees it (e.g. 'netfilter/nfnetlink_queue'); null when absent. */
  procNet(file: string): string | null;
  /** Errors the child reported (bad inject, unserialisable message, crash). */
  errors: string[];
  /** Node-RED's own log lines and stderr. */
  log: string[];
  /** Errors and the last log lines, for failure messages. */
  diagnostics(): string;
  /** Stop the runtime (nodes' close handlers run) and wait for the process. */
  stop(): Promise<void>;
  /** SIGKILL the process (a crash: no close handler runs) and wait for it. */
  kill(): Promise<void>;
}

/**
 * Start the runtime with `flows`; messages delivered to the nodes in `watch`
 * are collected from the start. Resolves once the flows are running.
 */
export async function startChildRuntime(flows: FlowNode[], watch: string[], opts: ChildRuntimeOptions = {}): Promise<ChildRuntime> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-child-'));
  const cfgFile = path.join(dir, 'config.json');
  const socketPath = opts.unixSocket ? path.join(dir, 'http.sock') : undefined;
  const cfg: ChildConfig = { flows, watch, settings: opts.settings ?? {}, ...(opts.modules ? { modules: opts.modules } : {}), socketPath, login: opts.login };
  fs.writeFileSync(cfgFile, JSON.stringify(cfg));
  const argv = [...(opts.wrap ?? []), process.execPath, CHILD_SCRIPT, cfgFile];
  const spawnOpts = { stdio: ['pipe', 'pipe', 'pipe'] as ('pipe')[], ...(opts.env ? { env: opts.env } : {}) };
  const child: ChildProcess = opts.ns ? opts.ns.spawn(argv[0], argv.slice(1), spawnOpts) : spawn(argv[0], argv.slice(1), spawnOpts);
  const inboxes = new Map<string, WatchedMessage[]>();
  const errors: string[] = [];
  const log: string[] = [];
  const diagnostics = () => [...errors, ...log.slice(-20)].join('\n');
  const box = (id: string) => {
    let b = inboxes.get(id);
    if (!b) inboxes.set(id, (b = []));
    return b;
  };
  const acks = new Map<number, (error?: string) => void>();
  let seq = 0;
  let exited = false;
  let userDir = ''; // the child's Node-RED user dir: a killed child cannot remove it itself
  const exit = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    fs.rmSync(dir, { recursive: true, force: true });
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
    resolve();
  }));
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child runtime: flows not started after ${timeoutMs} ms:\n${diagnostics()}`)), timeoutMs);
    void exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`child runtime exited:\n${diagnostics()}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith(LINE_PREFIX)) {
        log.push(line);
        return;
      }
      const evt = JSON.parse(line.slice(LINE_PREFIX.length)) as { event: string; node?: string; msg?: Record<string, unknown>; message?: string; seq?: number; userDir?: string };
      const ack = evt.seq === undefined ? undefined : acks.get(evt.seq);
      if (ack) {
        acks.delete(evt.seq!);
        ack(evt.event === 'error' ? evt.message ?? 'error' : undefined);
        return;
      }
      if (evt.event === 'ready') {
        userDir = evt.userDir ?? '';
        clearTimeout(timer);
        resolve();
      } else if (evt.event === 'msg' && evt.node) {
        box(evt.node).push({ msg: evt.msg ?? {} });
      } else if (evt.event === 'error') {
        errors.push(evt.message ?? 'error');
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => log.push(line));
  });
  /** Send a command and resolve when the child acknowledges it. */
  const request = (cmd: Record<string, unknown>, what: string): Promise<void> => {
    if (exited) return Promise.reject(new Error(`child runtime exited, cannot take ${what}`));
    const n = ++seq;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        acks.delete(n);
        reject(new Error(`child runtime did not take ${what}:\n${diagnostics()}`));
      }, 20_000);
      acks.set(n, (error) => {
        clearTimeout(timer);
        if (error) reject(new Error(error));
        else resolve();
      });
      child.stdin!.write(`${JSON.stringify({ ...cmd, seq: n })}\n`);
    });
  };
  const rt: ChildRuntime = {
    child,
    socketPath,
    errors,
    log,
    diagnostics,
    inbox: box,
    waitFor(id, pred, waitMs = 15_000) {
      const b = box(id);
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + waitMs;
        const tick = () => {
          if (pred(b)) return resolve(b);
          if (exited) return reject(new Error(`child runtime exited while waiting on node ${id}:\n${diagnostics()}`));
          if (Date.now() > deadline) return reject(new Error(`timed out after ${waitMs} ms waiting on node ${id} (${b.length} messages, last ${JSON.stringify(b.slice(-3))}):\n${diagnostics()}`));
          setTimeout(tick, 50);
        };
        tick();
      });
    },
    inject(id, msg) {
      return request({ inject: id, msg }, `the message for ${id}`);
    },
    deploy(next) {
      return request({ deploy: next }, 'the deploy');
    },
    procNet(file) {
      // /proc/<pid>/net is the network namespace of that process
      const p = path.join('/proc', String(child.pid), 'net', file);
      return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : null;
    },
    async stop() {
      if (exited) return;
      child.stdin!.write(`${JSON.stringify({ stop: true })}\n`);
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(t);
    },
    async kill() {
      if (exited) return;
      child.kill('SIGKILL');
      await exit;
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
