/**
 * The one scaffold every node of the pack is registered with (in the manner
 * of node-red-contrib-home-assistant-websocket's controller base): it
 * migrates the saved config, reads the settings through the node's schema,
 * routes `config` / `reset` control topics, keeps one throttled status line,
 * reports input errors through `done(err)` (Catch nodes see them) and tears
 * the controller down on `close`. A node file only says how to build its
 * controller from validated settings and how to map messages.
 *
 * Bad configuration has one policy per node type, declared with its schema
 * in node-types.ts: 'pass-through' passes every message on unchecked on the
 * first output (fail-open), 'refuse' refuses every message with the reason;
 * either way the node shows the error.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { applySettings, settingsFromConfig } from '../../lib/base/settings';
import { migrate, pendingChanges, versionOf, type SavedConfig } from './migrations';
import { NODE_TYPES, type NodeType, type NodeTypeName, type SettingsOf } from './node-types';
import { shortError, showStatus, type StatusLine } from './status';

/** What send() takes: one message, or one entry (message, array of messages or null) per output. */
export type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;

/** What the scaffold gives a controller. */
export interface NodeKit {
  readonly node: Node;
  /** The node's name, or its type when unnamed (put in alerts' `detector`). */
  readonly name: string;
  /** Node-RED's settings.userDir: where relative file paths are taken from. */
  readonly userDir: string;
  /** Send outside an input handler (timers, captures): Node-RED's node.send. */
  send: Send;
  /** Redraw the status line now (after a state change the user should see at once). */
  refreshStatus(): void;
  /** Redraw the status line within a second (after per-message work). */
  scheduleStatus(): void;
}

/** A node's behaviour once its settings are valid. Every method but `input` is optional. */
export interface Controller<S> {
  /** A message that is not a control topic. Throw or reject to report it through done(err). */
  input(msg: NodeMessageInFlow, send: Send): void | Promise<void>;
  /**
   * Settings changed by `msg.topic = 'config'`: `next` is checked against the
   * schema already, `patch` is the message's object as sent (what it names,
   * e.g. a rules file to reload). Throw to refuse; then nothing changes.
   */
  configure?(next: S, prev: S, patch: Record<string, unknown>): void | Promise<void>;
  /** `msg.topic = 'reset'`: forget state, zero counters. */
  reset?(): void;
  /** Another topic this node answers (e.g. 'stop'); return false to treat the message as input. */
  control?(topic: string, msg: NodeMessageInFlow, send: Send): boolean | Promise<boolean>;
  /** The status line, read at most once a second after input and at each refreshStatus; null leaves it as is. */
  status?(): StatusLine | null;
  /** Release timers, handles, child processes; `removed` when the node was deleted. */
  close?(removed: boolean): void | Promise<void>;
}

/** How a node of the pack is built: its type (whose schema and bad-config policy node-types.ts declares) and its controller. */
export interface NodeSpec<T extends NodeTypeName, C extends NodeDef = NodeDef> {
  type: T;
  /** Secrets kept in Node-RED's credentials file, not the flow (e.g. a broker password); read as kit.node.credentials. */
  credentials?: Record<string, { type: 'text' | 'password' }>;
  /** Build the controller; throws with the reason when it cannot start (then the type's bad-config policy applies). */
  create(settings: SettingsOf<T>, kit: NodeKit, config: C): Controller<SettingsOf<T>> | Promise<Controller<SettingsOf<T>>>;
}

/** A node type with its schema and policy given here rather than in node-types.ts (the scaffold's own tests). */
export interface NodeTypeSpec<S, C extends NodeDef = NodeDef> extends NodeType<S> {
  type: string;
  credentials?: Record<string, { type: 'text' | 'password' }>;
  create(settings: S, kit: NodeKit, config: C): Controller<S> | Promise<Controller<S>>;
}

/** Status refresh interval: counters change per message, the status line once a second at most. */
export const STATUS_INTERVAL_MS = 1000;

/** Register a node type built on the scaffold. */
export function registerIpsNode<T extends NodeTypeName, C extends NodeDef = NodeDef>(RED: NodeAPI, spec: NodeSpec<T, C>): void {
  const declared = NODE_TYPES[spec.type] as NodeType<SettingsOf<T>>;
  registerNodeType<SettingsOf<T>, C>(RED, { ...declared, type: spec.type, create: spec.create, credentials: spec.credentials });
}

/** Register a node type on the scaffold with its schema and policy given in `spec`. */
export function registerNodeType<S extends object, C extends NodeDef = NodeDef>(RED: NodeAPI, spec: NodeTypeSpec<S, C>): void {
  function IpsNode(this: Node, config: C): void {
    RED.nodes.createNode(this, config);
    const saved = config as unknown as SavedConfig;
    const current = migrate(spec.type, saved);
    if (current !== saved) this.log(`settings saved by an older release, read as this one's: ${pendingChanges(spec.type, versionOf(saved)).join('; ')}`);
    setUp(RED, this, spec, current as unknown as C);
  }
  if (spec.credentials) RED.nodes.registerType(spec.type, IpsNode, { credentials: spec.credentials });
  else RED.nodes.registerType(spec.type, IpsNode);
}

function setUp<S extends object, C extends NodeDef>(RED: NodeAPI, node: Node, spec: NodeTypeSpec<S, C>, config: C): void {
  const name = config.name || spec.type;
  let settings: S | null = null;
  let controller: Controller<S> | null = null;
  let problem: Error | null = null;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  /** An asynchronous configure under way; later config messages wait for it. */
  let configuring: Promise<void> | null = null;
  const outputs = Math.max(1, (config as unknown as { wires?: unknown[] }).wires?.length ?? 1);

  const refreshStatus = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (closed || !controller?.status) return;
    const line = controller.status();
    if (line) showStatus(node, line);
  };
  const kit: NodeKit = {
    node,
    name,
    userDir: RED.settings.userDir ?? process.cwd(),
    send: (msg) => node.send(msg),
    refreshStatus,
    scheduleStatus: () => {
      if (timer === null && !closed) timer = setTimeout(refreshStatus, STATUS_INTERVAL_MS);
    },
  };

  const fail = (err: unknown): void => {
    problem = err instanceof Error ? err : new Error(String(err));
    const consequence = spec.onBadConfig === 'pass-through' ? 'passing messages through unchecked until fixed' : 'the node does nothing until fixed';
    node.error(`${spec.type}: ${problem.message}; ${consequence}`);
    showStatus(node, { fill: 'red', text: shortError(problem) });
  };

  // The controller may be built asynchronously (a database to open); input waits for it.
  let ready: Promise<void>;
  try {
    settings = settingsFromConfig(spec.schema, config as unknown as Record<string, unknown>);
    const built = spec.create(settings, kit, config);
    ready = Promise.resolve(built).then(
      (c) => {
        controller = c;
        // Closed while being built: the close handler waits for this and closes it.
        if (closed) return;
        if (c.status) refreshStatus();
        else showStatus(node, { fill: 'grey', text: 'ready' });
      },
      (err: unknown) => {
        if (!closed) fail(err);
      },
    );
  } catch (err) {
    fail(err);
    ready = Promise.resolve();
  }

  const passThrough = (msg: NodeMessageInFlow, send: Send): void => {
    const out: Array<NodeMessage | null> = new Array<NodeMessage | null>(outputs).fill(null);
    out[0] = msg;
    send(outputs === 1 ? msg : out);
  };

  /**
   * One message, in this turn when the controller is built and its handler is
   * synchronous: a `config` followed by packets is applied before them, and
   * packets cost no promise.
   */
  function handle(msg: NodeMessageInFlow, send: Send): void | Promise<void> {
    const c = controller;
    if (!c || !settings) {
      return ready.then(() => {
        if (!controller && problem === null) throw new Error(`${spec.type} is not running`);
        if (controller) return handle(msg, send);
        if (msg.topic === 'config' || msg.topic === 'reset') throw new Error(`${spec.type} has no valid configuration (${problem?.message}); fix it in the editor and deploy`);
        if (spec.onBadConfig === 'pass-through') return passThrough(msg, send);
        throw new Error(`${spec.type} is not running: ${problem?.message}`);
      });
    }
    if (msg.topic === 'config') {
      // One change at a time: each starts from the settings the one before it left.
      const run = (): void | Promise<void> => configure(c, settings as S, msg.payload);
      if (configuring === null) {
        const result = run();
        if (!(result instanceof Promise)) return result;
        configuring = result;
      } else {
        configuring = configuring.then(run, run);
      }
      const mine = configuring;
      return mine.finally(() => {
        if (configuring === mine) configuring = null;
      });
    }
    if (msg.topic === 'reset') {
      c.reset?.();
      refreshStatus();
      return;
    }
    if (typeof msg.topic === 'string' && c.control) {
      const handled = c.control(msg.topic, msg, send);
      if (handled instanceof Promise) return handled.then((h) => (h ? refreshStatus() : c.input(msg, send)));
      if (handled) return refreshStatus();
    }
    return c.input(msg, send);
  }

  function configure(c: Controller<S>, prev: S, patch: unknown): void | Promise<void> {
    const refuse = (err: unknown): never => {
      showStatus(node, { fill: 'red', text: `config refused: ${shortError(err, 40)}` });
      throw new Error(`${spec.type}: config refused, settings unchanged: ${(err as Error).message}`);
    };
    let next: S;
    let applied: void | Promise<void>;
    try {
      next = applySettings(spec.schema, prev, patch);
      applied = c.configure?.(next, prev, patch as Record<string, unknown>);
    } catch (err) {
      return refuse(err);
    }
    const accept = (): void => {
      settings = next;
      refreshStatus();
    };
    if (applied instanceof Promise) return applied.then(accept, refuse);
    accept();
  }

  node.on('input', (msg: NodeMessageInFlow, send: Send, done: (err?: Error) => void) => {
    let result: void | Promise<void>;
    try {
      result = handle(msg, send);
    } catch (err) {
      done(err as Error);
      return;
    }
    if (result instanceof Promise) result.then(() => done(), (err: Error) => done(err));
    else done();
  });

  node.on('close', (removed: boolean, done: () => void) => {
    closed = true;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    // A controller still being built is closed once it is, before Node-RED starts the node's successor.
    ready
      .then(() => {
        const c = controller;
        controller = null;
        return c?.close?.(removed);
      })
      .catch((err: Error) => node.error(`${spec.type}: close: ${err.message}`))
      .finally(() => {
        showStatus(node, null);
        done();
      });
  });
}
