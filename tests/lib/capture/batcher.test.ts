import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Batcher, batchLimitsProblem } from '../../../lib/capture/batcher';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Batcher', () => {
  it('hands on a full batch at once, in order, and the rest when the delay runs out', async () => {
    const out: number[][] = [];
    const b = new Batcher<number>({ maxItems: 3, maxDelayMs: 20 }, (batch) => out.push(batch));
    b.pushAll([1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(out, [[1, 2, 3], [4, 5, 6]]);
    assert.equal(b.pending, 1);
    await tick(60);
    assert.deepEqual(out, [[1, 2, 3], [4, 5, 6], [7]]);
    assert.equal(b.pending, 0);
  });

  it('maxItems 1: every item alone, nothing waits', () => {
    const out: string[][] = [];
    const b = new Batcher<string>({ maxItems: 1, maxDelayMs: 1000 }, (batch) => out.push(batch));
    b.push('a');
    b.push('b');
    assert.deepEqual(out, [['a'], ['b']]);
    assert.equal(b.pending, 0);
  });

  it('flush hands on what waits; discard drops it and its timer', async () => {
    const out: number[][] = [];
    const b = new Batcher<number>({ maxItems: 10, maxDelayMs: 10 }, (batch) => out.push(batch));
    b.pushAll([1, 2]);
    b.flush();
    b.flush();
    assert.deepEqual(out, [[1, 2]]);
    b.push(3);
    b.discard();
    await tick(40);
    assert.deepEqual(out, [[1, 2]]);
  });

  it('refuses limits that cannot work, with the reason', () => {
    assert.match(String(batchLimitsProblem({ maxItems: 0, maxDelayMs: 10 })), /batch size must be a whole number from 1/);
    assert.match(String(batchLimitsProblem({ maxItems: 2.5, maxDelayMs: 10 })), /batch size/);
    assert.match(String(batchLimitsProblem({ maxItems: 10, maxDelayMs: -1 })), /batch delay/);
    assert.match(String(batchLimitsProblem({ maxItems: 10, maxDelayMs: Number.NaN })), /batch delay/);
    assert.equal(batchLimitsProblem({ maxItems: 256, maxDelayMs: 50 }), null);
    assert.throws(() => new Batcher({ maxItems: 0, maxDelayMs: 1 }, () => undefined), RangeError);
  });
});
