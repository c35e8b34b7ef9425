/**
 * nfqueue-in's engine without Node-RED: its settings and their checks, and
 * new settings on a bound queue, with real NFQUEUE bindings in a network
 * namespace (a child process runs the engine there; another holds a queue
 * the way another program would).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadNfqueueBinding } from '../../../lib/capture/nfqueue-binding';
import { INLINE_DEFAULTS, inlineStatsText, NfqueueInline, validateInlineOptions } from '../../../lib/capture/nfqueue-inline';
import { Lab, netnsUnavailable } from '../../support/netns';
import { until } from '../../support/wait';

const ENGINE = path.join(__dirname, '..', '..', '..', 'lib', 'capture', 'nfqueue-inline.js');
const nothing = { emit: (): void => undefined, error: (): void => undefined };

describe('NfqueueInline settings', () => {
  it('the schema defaults are usable options; the batch time must stay below the timeout', () => {
    validateInlineOptions(INLINE_DEFAULTS);
    assert.throws(() => validateInlineOptions({ ...INLINE_DEFAULTS, timeoutMs: 5, batchMs: 5 }), /batch time \(5 ms\) must be shorter than the verdict timeout \(5 ms\)/);
  });

  it('before start, new settings are kept and nothing is bound; bad ones are refused and the old stay', () => {
    const queue = new NfqueueInline({ ...INLINE_DEFAULTS, queue: 3 }, nothing);
    queue.reconfigure({ ...queue.options, queue: 4, defaultVerdict: 'drop' });
    assert.equal(queue.options.queue, 4);
    assert.equal(queue.running, false);
    assert.equal(queue.bindError, null);
    assert.throws(() => queue.reconfigure({ ...queue.options, batchMs: 300 }), /batch time/);
    assert.deepEqual([queue.options.queue, queue.options.batchMs, queue.options.defaultVerdict], [4, INLINE_DEFAULTS.batchMs, 'drop']);
    queue.close();
  });

  it('the status line counts packets, verdicts, time-outs and kernel drops', () => {
    const counts = { queued: 9, accepted: 5, dropped: 3, timedOut: 1, late: 0, held: 0 };
    assert.equal(inlineStatsText(counts), '9 in, 5 ok, 3 drop, 1 timeout');
    const kernel = { queue: 0, portId: 1, waiting: 0, copyMode: 2, copyRange: 65535, queueDropped: 2, userDropped: 1, lastId: 9 };
    assert.equal(inlineStatsText({ ...counts, kernel }), '9 in, 5 ok, 3 drop, 1 timeout, 3 kernel drop');
  });
});

describe('NfqueueInline on a bound queue', () => {
  /** A child process that binds `queue` and keeps it until killed. */
  const holder = (queue: number): string =>
    `const { NfqueueInline, INLINE_DEFAULTS } = require(${JSON.stringify(ENGINE)});
new NfqueueInline({ ...INLINE_DEFAULTS, queue: ${queue} }, { emit() {}, error() {} }).start();`;

  /** A child process that binds `from`, asks for `busy` (held by another program), then `to`, and prints what it saw. */
  const mover = (from: number, busy: number, to: number): string =>
    `const fs = require('fs');
const { NfqueueInline, INLINE_DEFAULTS } = require(${JSON.stringify(ENGINE)});
const bound = () => fs.readFileSync('/proc/self/net/netfilter/nfnetlink_queue', 'utf8').trim().split('\\n').map((l) => Number(l.trim().split(/\\s+/)[0])).sort((a, b) => a - b);
const q = new NfqueueInline({ ...INLINE_DEFAULTS, queue: ${from} }, { emit() {}, error() {} });
q.start();
let refused = null;
try { q.reconfigure({ ...q.options, queue: ${busy} }); } catch (err) { refused = err.message; }
const afterRefusal = { queue: q.options.queue, running: q.running, bound: bound() };
q.reconfigure({ ...q.options, queue: ${to} });
const afterMove = { queue: q.options.queue, running: q.running, bound: bound() };
console.log(JSON.stringify({ refused, afterRefusal, afterMove }));
process.exit(0); // the binding's poller would keep the process alive`;

  it('a new queue number rebinds; one another program holds is refused and the old queue is bound again', async (t) => {
    const why = (await netnsUnavailable()) ?? (() => {
      try {
        loadNfqueueBinding();
        return null;
      } catch (err) {
        return (err as Error).message;
      }
    })();
    if (why) return t.skip(why);
    const lab = new Lab();
    try {
      const ns = await lab.host('nfq');
      ns.spawn(process.execPath, ['-e', holder(12)]);
      await until(async () => (await ns.exec('cat', ['/proc/net/netfilter/nfnetlink_queue'])).stdout.trim().split(/\s+/)[0] === '12', 'the other program to bind queue 12');
      const { stdout } = await ns.exec(process.execPath, ['-e', mover(11, 12, 13)]);
      const seen = JSON.parse(stdout) as { refused: string | null; afterRefusal: unknown; afterMove: unknown };
      assert.match(String(seen.refused), /NFQUEUE 12 is already bound by another program/);
      assert.deepEqual(seen.afterRefusal, { queue: 11, running: true, bound: [11, 12] });
      assert.deepEqual(seen.afterMove, { queue: 13, running: true, bound: [12, 13] });
    } finally {
      await lab.cleanup();
    }
  });
});
