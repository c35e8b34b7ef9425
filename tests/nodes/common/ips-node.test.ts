/**
 * The node scaffold in a real Node-RED (node-red-node-test-helper), through
 * a small node type registered on it here: the two bad-config policies,
 * runtime config (atomic, in message order), reset, other control topics,
 * asynchronous creation, the status line and cleanup on close.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeAPI, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { Schema } from '../../../lib/base/settings';
import { registerNodeType, type Controller, type Send } from '../../../nodes/common/ips-node';
import type { BadConfigPolicy } from '../../../nodes/common/node-types';
import { loadDetector } from '../../support/detector-harness';
import { useServerPerFile } from '../../support/node-helper';

interface EchoSettings {
  factor: number;
  label: string;
}

const schema: Schema<EchoSettings> = {
  factor: { type: 'int', min: 1, max: 10, default: 2, label: 'Factor', help: 'multiplies the payload' },
  label: { type: 'string', default: 'x', label: 'Label', help: 'put in msg.label' },
};

/** What the controllers of the test node did, across instances. */
const seen = { closed: 0, configured: [] as number[], resets: 0 };

/** A node on the scaffold: multiplies msg.payload by `factor`, answers topic 'ping'; its controller can be slow to build. */
function testNode(onBadConfig: BadConfigPolicy, createDelayMs = 0, configureDelayMs = 0) {
  return (RED: NodeAPI): void => {
    registerNodeType<EchoSettings>(RED, {
      type: `echo-${onBadConfig}`,
      schema,
      onBadConfig,
      async create(settings, kit) {
        if (createDelayMs) await new Promise((r) => setTimeout(r, createDelayMs));
        let current = settings;
        let count = 0;
        const controller: Controller<EchoSettings> = {
          input(msg: NodeMessageInFlow, send: Send) {
            if (typeof msg.payload !== 'number') throw new Error('payload must be a number');
            count++;
            send([{ payload: msg.payload * current.factor, label: current.label } as NodeMessage, null]);
            kit.scheduleStatus();
          },
          configure(next) {
            const apply = (): void => {
              if (next.label === 'forbidden') throw new Error('label forbidden by the controller');
              current = next;
              seen.configured.push(next.factor);
            };
            if (!configureDelayMs) return apply();
            return new Promise<void>((resolve) => setTimeout(resolve, configureDelayMs)).then(apply);
          },
          reset() {
            count = 0;
            seen.resets++;
          },
          control(topic, _msg, send) {
            if (topic !== 'ping') return false;
            send([{ payload: 'pong' } as NodeMessage, null]);
            return true;
          },
          status: () => ({ fill: 'green', text: `${count} msgs` }),
          close() {
            seen.closed++;
          },
        };
        return controller;
      },
    });
  };
}

useServerPerFile();

describe('node scaffold (nodes/common/ips-node.ts)', () => {
  it('passes messages through a node with valid settings, and a config message changes them for the messages after it', async () => {
    const h = await loadDetector(testNode('refuse'), 'echo-refuse', { factor: '3' });
    await h.send({ payload: 2 });
    h.send({ topic: 'config', payload: { factor: 5 } }).catch(() => undefined);
    await h.send({ payload: 2 });
    assert.deepEqual(h.packets.map((m) => m.payload), [6, 10], 'config applied before the next message');
    assert.deepEqual(h.errors, []);
  });

  it('refuses a bad config message whole, naming the field; the old settings stay', async () => {
    const h = await loadDetector(testNode('refuse'), 'echo-refuse', {});
    await h.send({ topic: 'config', payload: { factor: 50, label: 'ok' } });
    await h.send({ topic: 'config', payload: { label: 'forbidden' } });
    await h.send({ payload: 1 });
    assert.deepEqual(h.packets.map((m) => [m.payload, m.label]), [[2, 'x']]);
    assert.equal(h.errors.length, 2);
    assert.match(h.errors[0], /config refused, settings unchanged: .*factor must be <= 10/);
    assert.match(h.errors[1], /label forbidden by the controller/);
  });

  it('reset and other control topics go to the controller, not to input', async () => {
    const h = await loadDetector(testNode('refuse'), 'echo-refuse', {});
    const resets = seen.resets;
    await h.send({ topic: 'reset' });
    await h.send({ topic: 'ping' });
    assert.equal(seen.resets, resets + 1);
    assert.deepEqual(h.packets.map((m) => m.payload), ['pong']);
  });

  it("an input error goes to done(err), where a Catch node sees it", async () => {
    const h = await loadDetector(testNode('refuse'), 'echo-refuse', {});
    await h.send({ payload: 'not a number' });
    assert.deepEqual(h.errors, ['payload must be a number']);
    assert.deepEqual(h.packets, []);
  });

  it("'pass-through': a bad editor config shows the reason and passes messages on unchecked", async () => {
    const h = await loadDetector(testNode('pass-through'), 'echo-pass-through', { factor: '0' });
    await h.send({ payload: 7 });
    assert.deepEqual(h.packets.map((m) => m.payload), [7], 'passed on unchanged');
    assert.ok(h.statuses.some((s) => s.fill === 'red' && /factor must be >= 1/.test(s.text ?? '')), 'red status with the reason');
    assert.match(h.errors.join('\n'), /factor must be >= 1.*passing messages through unchecked/);
    await h.send({ topic: 'config', payload: { factor: 2 } });
    assert.match(h.errors[h.errors.length - 1], /no valid configuration/);
  });

  it("'refuse': a bad editor config shows the reason and refuses every message", async () => {
    const h = await loadDetector(testNode('refuse'), 'echo-refuse', { factor: 'many' });
    await h.send({ payload: 7 });
    assert.deepEqual(h.packets, []);
    assert.match(h.errors.join('\n'), /factor must be a number/);
    assert.match(h.errors[h.errors.length - 1], /echo-refuse is not running: .*factor must be a number/);
  });

  it('messages sent while the controller is still being built wait for it, in order', async () => {
    const h = await loadDetector(testNode('refuse', 200), 'echo-refuse', {});
    const first = h.send({ payload: 1 });
    await h.send({ payload: 2 });
    await first;
    assert.deepEqual(h.packets.map((m) => m.payload), [2, 4]);
  });

  it('config messages to a controller that configures asynchronously apply one after the other, none lost', async () => {
    const h = await loadDetector(testNode('refuse', 0, 100), 'echo-refuse', {});
    const first = h.send({ topic: 'config', payload: { factor: 3 } });
    const second = h.send({ topic: 'config', payload: { label: 'y' } });
    await Promise.all([first, second]);
    // the harness resolves both on the first completion: give the second configure (100 ms) time to finish
    await new Promise((r) => setTimeout(r, 300));
    await h.send({ payload: 1 });
    assert.deepEqual(h.packets.map((m) => [m.payload, m.label]), [[3, 'y']], 'the second change kept the first');
    assert.deepEqual(h.errors, []);
  });

  it('a node closed while its controller is still being built closes that controller before the close completes', async () => {
    const closed = seen.closed;
    await loadDetector(testNode('refuse', 300), 'echo-refuse', {});
    const { unload } = await import('../../support/node-helper');
    await unload();
    assert.equal(seen.closed, closed + 1);
  });

  it('shows the controller\'s status line after work, and closes the controller on redeploy', async () => {
    const h = await loadDetector(testNode('refuse'), 'echo-refuse', {});
    const closed = seen.closed;
    await h.send({ payload: 1 });
    await h.send({ payload: 1 });
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(h.statuses[h.statuses.length - 1].text, '2 msgs');
    // useServerPerFile unloads the flow after each test; unload here to see close run
    const { unload } = await import('../../support/node-helper');
    await unload();
    assert.equal(seen.closed, closed + 1);
  });
});
