/**
 * A real Node-RED runtime in this process with the pack installed as a
 * module (symlinked into a temporary user dir), for flow-level tests and
 * benchmarks. Node-RED is a singleton: one runtime per test file.
 */
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

export const packageRoot = path.resolve(__dirname, '..', '..', '..');

export type FlowNode = Record<string, unknown> & { id: string; type: string };

export interface ReceivedMessage {
  msg: Record<string, unknown>;
  sourceId: string;
  port: number;
}

export interface HookEvent {
  msg: Record<string, unknown>;
  /** Absent on onReceive events (Node-RED only gives the destination there). */
  source?: { id: string; port: number };
  destination: { id: string };
}

/** The part of an Express app (node-red's own dependency) used here. */
interface ExpressApp {
  (req: http.IncomingMessage, res: http.ServerResponse): void;
  use(path: string, handler: unknown): void;
}

interface RedApi {
  httpAdmin?: unknown;
  httpNode?: unknown;
  init(server: http.Server, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  hooks: { add(name: string, fn: (evt: HookEvent) => void): void; remove(name: string): void };
  nodes: { getNode(id: string): unknown };
  runtime: { flows: { setFlows(opts: { flows: { flows: FlowNode[] } }): Promise<string> } };
  log: { addHandler?(h: unknown): void };
  events: { once(name: string, fn: () => void): void };
}

export interface Runtime {
  RED: RedApi;
  userDir: string;
  url: string;
  /** Replace the deployed flows (full deploy). */
  deploy(flows: FlowNode[]): Promise<void>;
  /** Every message delivered to node `id` from now on. */
  inbox(id: string): ReceivedMessage[];
  /** Resolve when `pred` holds for the inbox of `id`, or reject after `timeoutMs`. */
  waitFor(id: string, pred: (msgs: ReceivedMessage[]) => boolean, timeoutMs?: number): Promise<ReceivedMessage[]>;
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  /** More installed modules (from this clone's node_modules) to link into the user dir, e.g. 'node-red-dashboard'. */
  modules?: string[];
  /**
   * Listen on this Unix socket instead of TCP 127.0.0.1: Unix sockets are not
   * per network namespace, so a test outside the runtime's namespace can reach it.
   */
  socketPath?: string;
  /** Put the editor, HTTP endpoints and dashboard behind this login, as `npm start` does. */
  login?: { username: string; password: string };
}

/** The settings `npm start` writes (scripts/lib/auth.js) for `user`/`password`. */
export function loginSettings(user: string, password: string): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bcrypt = require('bcryptjs') as { hashSync(p: string, rounds: number): string };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const auth = require(path.join(packageRoot, 'scripts', 'lib', 'auth.js')) as { authSettings(c: { user: string; hash: string }): Record<string, unknown> };
  return { httpAdminRoot: '/', ...auth.authSettings({ user, hash: bcrypt.hashSync(password, 8) }) };
}

/** Link the pack and `modules` into `<userDir>/node_modules` and list them in its package.json, as the palette manager would. */
export function linkModules(userDir: string, modules: string[] = []): void {
  fs.mkdirSync(path.join(userDir, 'node_modules'), { recursive: true });
  const deps: Record<string, string> = { 'node-red-contrib-ips': '*' };
  fs.symlinkSync(packageRoot, path.join(userDir, 'node_modules', 'node-red-contrib-ips'), 'dir');
  for (const name of modules) {
    fs.mkdirSync(path.dirname(path.join(userDir, 'node_modules', name)), { recursive: true }); // a scope (@flowfuse/…) is a directory
    fs.symlinkSync(path.join(packageRoot, 'node_modules', name), path.join(userDir, 'node_modules', name), 'dir');
    deps[name] = '*';
  }
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'ips-test-userdir', dependencies: deps }));
}

export async function startRuntime(flows: FlowNode[], extraSettings: Record<string, unknown> = {}, options: RuntimeOptions = {}): Promise<Runtime> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-nr-'));
  linkModules(userDir, options.modules);
  const flowFile = path.join(userDir, 'flows.json');
  fs.writeFileSync(flowFile, JSON.stringify(flows));

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RED = require('node-red') as RedApi;
  const server = http.createServer();
  const settings = {
    userDir,
    flowFile,
    httpAdminRoot: '/admin',
    httpNodeRoot: '/',
    uiHost: '127.0.0.1',
    logging: { console: { level: process.env.IPS_TEST_LOG ?? 'warn' } },
    editorTheme: { tours: false },
    externalModules: { autoInstall: false },
    ...(options.login ? loginSettings(options.login.username, options.login.password) : {}),
    ...extraSettings,
  };
  RED.init(server, settings);
  // Serve the editor/admin API and the HTTP-in endpoints (the dashboard's pages) as node-red's own launcher does.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const express = require('express') as () => ExpressApp;
  const app = express();
  if (RED.httpAdmin) app.use(String(settings.httpAdminRoot), RED.httpAdmin);
  const nodeAuth = (settings as { httpNodeAuth?: unknown }).httpNodeAuth; // scripts/lib/auth.js makes it a middleware
  if (RED.httpNode && typeof nodeAuth === 'function') app.use(String(settings.httpNodeRoot), nodeAuth);
  if (RED.httpNode) app.use(String(settings.httpNodeRoot), RED.httpNode);
  server.on('request', app);
  const inboxes = new Map<string, ReceivedMessage[]>();
  RED.hooks.add('onReceive.ipstest', (evt: HookEvent) => {
    const box = inboxes.get(evt.destination.id);
    if (box) box.push({ msg: evt.msg, sourceId: evt.source?.id ?? '', port: evt.source?.port ?? 0 });
  });
  await new Promise<void>((resolve) => (options.socketPath ? server.listen(options.socketPath, resolve) : server.listen(0, '127.0.0.1', resolve)));
  // RED.start() returns before the flows run; a deploy racing that first start
  // can be replaced by it (seen under load), so wait for the event.
  let startTimer: NodeJS.Timeout | undefined;
  const flowsStarted = new Promise<void>((resolve, reject) => {
    RED.events.once('flows:started', () => resolve());
    startTimer = setTimeout(() => reject(new Error('Node-RED flows did not start within 60 s (missing node types? see the log)')), 60_000);
  });
  await RED.start();
  await flowsStarted.finally(() => clearTimeout(startTimer));
  // (on a Unix socket there is no URL: reach it with http's socketPath or a proxy)
  const url = options.socketPath ? `unix:${options.socketPath}` : `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const runtime: Runtime = {
    RED,
    userDir,
    url,
    async deploy(next) {
      await RED.runtime.flows.setFlows({ flows: { flows: next } });
    },
    inbox(id) {
      let box = inboxes.get(id);
      if (!box) {
        box = [];
        inboxes.set(id, box);
      }
      return box;
    },
    waitFor(id, pred, timeoutMs = 10_000) {
      const box = runtime.inbox(id);
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const tick = () => {
          if (pred(box)) return resolve(box);
          if (Date.now() > deadline) return reject(new Error(`timed out after ${timeoutMs} ms waiting on node ${id} (${box.length} messages)`));
          setTimeout(tick, 20);
        };
        tick();
      });
    },
    async stop() {
      RED.hooks.remove('onReceive.ipstest');
      await RED.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
  return runtime;
}
