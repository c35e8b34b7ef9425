import type { NodeAPI, Node, NodeDef, NodeMessageInFlow } from 'node-red';
import { INLINE_DEFAULTS, NfqueueInline, validateInlineOptions, type InlineOptions, type InlineStats } from '../../lib/capture/nfqueue-inline';
import { status, shortError } from '../common/status';

interface NfqueueInConfig extends NodeDef {
  queue: string;
  defaultVerdict: string;
  timeout: string;
  failOpen: boolean;
  maxLen: string;
  copyRange: string;
  batchSize: string;
  batchMs: string;
}

/** Settings a `msg.topic = 'config'` message may change (the queue is rebound with them). */
const RUNTIME_KEYS = ['timeoutMs', 'defaultVerdict', 'batchSize', 'batchMs', 'maxLen', 'copyRange', 'failOpen'] as const;

function num(value: string | undefined, fallback: number): number {
  return value === undefined || value === '' ? fallback : Number(value);
}

function optionsFromConfig(config: NfqueueInConfig): InlineOptions {
  const opts: InlineOptions = {
    ...INLINE_DEFAULTS,
    queue: num(config.queue, 0),
    defaultVerdict: config.defaultVerdict === 'drop' ? 'drop' : 'accept',
    timeoutMs: num(config.timeout, INLINE_DEFAULTS.timeoutMs),
    failOpen: config.failOpen !== false,
    maxLen: num(config.maxLen, INLINE_DEFAULTS.maxLen),
    copyRange: num(config.copyRange, INLINE_DEFAULTS.copyRange),
    batchSize: num(config.batchSize, INLINE_DEFAULTS.batchSize),
    batchMs: num(config.batchMs, INLINE_DEFAULTS.batchMs),
  };
  if (config.defaultVerdict && config.defaultVerdict !== 'accept' && config.defaultVerdict !== 'drop') {
    throw new Error(`default verdict must be 'accept' or 'drop', got '${config.defaultVerdict}'`);
  }
  validateInlineOptions(opts);
  return opts;
}

function statusText(s: InlineStats): string {
  const kernelDrops = s.kernel ? s.kernel.queueDropped + s.kernel.userDropped : 0;
  return `${s.queued} in, ${s.accepted} ok, ${s.dropped} drop, ${s.timedOut} timeout${kernelDrops ? `, ${kernelDrops} kernel drop` : ''}`;
}

export = function (RED: NodeAPI): void {
  function NfqueueInNode(this: Node, config: NfqueueInConfig): void {
    RED.nodes.createNode(this, config);
    const node: Node = this; // eslint-disable-line @typescript-eslint/no-this-alias -- used in callbacks that outlive this call
    let engine: NfqueueInline | null = null;
    let lastText = '';
    let statusTimer: NodeJS.Timeout | null = null;

    const build = (opts: InlineOptions): NfqueueInline => {
      const topic = `nfqueue/${opts.queue}`;
      return new NfqueueInline(opts, {
        emit: (payload) => node.send({ payload, topic }),
        error: (err) => {
          node.error(err, {}); // a message object so Catch nodes see it
          status.error(node, shortError(err));
        },
      });
    };

    const showStatus = (): void => {
      if (!engine?.running) return;
      const text = statusText(engine.stats());
      if (text === lastText) return;
      lastText = text;
      status.ok(node, text);
    };

    const start = (opts: InlineOptions): void => {
      const next = build(opts);
      next.start();
      engine = next;
      lastText = '';
      status.ok(node, `queue ${opts.queue} bound`);
    };

    const fail = (err: unknown): void => {
      engine = null;
      node.error(`nfqueue-in: ${(err as Error).message}`, {});
      status.error(node, shortError(err));
    };
    let initial: InlineOptions | null = null;
    try {
      initial = optionsFromConfig(config);
    } catch (err) {
      fail(err);
    }
    // Bind once the flows have started, so Catch and Status nodes see a failure to bind.
    const onFlowsStarted = (): void => {
      if (!initial) return;
      try {
        start(initial);
        // Status at most once a second: counters change per packet.
        statusTimer = setInterval(showStatus, 1000);
      } catch (err) {
        fail(err);
      }
    };
    if (initial) {
      status.idle(node, `binding queue ${initial.queue}`);
      RED.events.once('flows:started', onFlowsStarted);
    }

    node.on('input', (msg: NodeMessageInFlow, _send, done) => {
      try {
        if (msg.topic === 'reset') {
          engine?.resetCounts();
          done();
          return;
        }
        if (msg.topic === 'config') {
          if (!engine) throw new Error('queue not bound, cannot change its settings');
          const change = (msg.payload ?? {}) as Record<string, unknown>;
          if (typeof change !== 'object' || Array.isArray(change)) throw new Error('config payload must be an object');
          const unknown = Object.keys(change).filter((k) => !(RUNTIME_KEYS as readonly string[]).includes(k));
          if (unknown.length) throw new Error(`config: unknown or fixed setting(s) ${unknown.join(', ')} (changeable: ${RUNTIME_KEYS.join(', ')})`);
          const next = { ...engine.options, ...change } as InlineOptions;
          validateInlineOptions(next); // refused as a whole: the old settings stay
          engine.close();
          try {
            start(next);
          } catch (err) {
            fail(err);
            throw err;
          }
          done();
          return;
        }
        if (!engine) throw new Error('queue not bound (see the earlier error); verdict ignored, the kernel applies its own');
        engine.verdict(msg.payload);
        done();
      } catch (err) {
        done(err as Error);
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      RED.events.removeListener('flows:started', onFlowsStarted);
      if (statusTimer) clearInterval(statusTimer);
      try {
        engine?.close();
      } catch (err) {
        node.error(err);
      }
      engine = null;
      status.clear(node);
      done();
    });
  }
  RED.nodes.registerType('nfqueue-in', NfqueueInNode);
};
