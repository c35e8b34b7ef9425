import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { HeldPackets, type VerdictSink } from '../../../lib/capture/verdicts';

/**
 * A model of the kernel's queue: packets in id order, `one` takes the named
 * packet, `upTo` every packet from the head through the given id, as
 * NFQNL_MSG_VERDICT and NFQNL_MSG_VERDICT_BATCH do. Verdicts for packets not
 * queued, and batch counts that disagree with the queue, fail the test.
 */
class KernelModel implements VerdictSink {
  queue: number[] = [];
  accepted: number[] = [];
  dropped: number[] = [];
  /** Messages per write. */
  writes: number[] = [];
  private pending = 0;
  constructor(private readonly batchesOk = true) {}
  batches(): boolean {
    return this.batchesOk;
  }
  one(id: number, accept: boolean): void {
    const at = this.queue.indexOf(id);
    assert.ok(at >= 0, `verdict for ${id}, which is not queued`);
    this.queue.splice(at, 1);
    (accept ? this.accepted : this.dropped).push(id);
    this.pending++;
  }
  upTo(lastId: number, accept: boolean, count: number): void {
    assert.ok(this.batchesOk, 'batch verdict while batches are off');
    const at = this.queue.indexOf(lastId);
    assert.ok(at >= 0, `batch verdict up to ${lastId}, which is not queued`);
    assert.equal(at + 1, count, 'the run is exactly the packets the kernel would take');
    (accept ? this.accepted : this.dropped).push(...this.queue.splice(0, at + 1));
    this.pending++;
  }
  flush(): void {
    if (this.pending) this.writes.push(this.pending);
    this.pending = 0;
  }
}

/** A HeldPackets on a hand-moved clock over the kernel model; `arrive` queues in the kernel and holds. */
function table(defaultVerdict: 'accept' | 'drop', timeoutMs = 100, batchesOk = true) {
  let now = 1000;
  const k = new KernelModel(batchesOk);
  const held = new HeldPackets({ timeoutMs, defaultVerdict }, k, () => now);
  const arrive = (...ids: number[]) => {
    for (const id of ids) {
      k.queue.push(id);
      held.hold(id);
    }
  };
  return { held, k, arrive, advance: (ms: number) => (now += ms) };
}

describe('HeldPackets', () => {
  test("verdicts by id: 'drop' drops, anything else accepts", () => {
    const t = table('accept');
    t.arrive(1, 2, 3, 4);
    assert.deepEqual(t.held.decide([{ id: 1, verdict: 'drop' }, { id: 2, verdict: 'accept' }, { id: 3 }, { id: 4, verdict: 'bogus' }]), []);
    assert.deepEqual(t.k.dropped, [1]);
    assert.deepEqual(t.k.accepted, [2, 3, 4]);
    assert.deepEqual(t.held.stats(), { queued: 4, accepted: 3, dropped: 1, timedOut: 0, late: 0, held: 0 });
    t.held.releaseAll();
  });

  test('answers in arrival order go out as one message per run of the same verdict, in one write', () => {
    const t = table('accept');
    t.arrive(...Array.from({ length: 64 }, (_, i) => 100 + i));
    t.arrive(164, 165); // queued, not answered yet: no batch verdict may take them
    const verdicts = Array.from({ length: 64 }, (_, i) => ({ id: 100 + i, verdict: i >= 10 && i < 13 ? 'drop' : 'accept' }));
    t.held.decide(verdicts);
    assert.deepEqual(t.k.dropped, [110, 111, 112]);
    assert.equal(t.k.accepted.length, 61);
    assert.deepEqual(t.k.writes, [3], 'accept 100-109, drop 110-112, accept 113-163: three messages, one write');
    assert.deepEqual(t.k.queue, [164, 165]);
    t.held.decide([{ id: 165, verdict: 'drop' }, { id: 164 }]);
    assert.deepEqual(t.k.dropped, [110, 111, 112, 165]);
    assert.deepEqual(t.k.queue, []);
  });

  test('answers out of arrival order stay exact: each packet gets its own verdict', () => {
    const t = table('accept');
    t.arrive(1, 2, 3, 4, 5, 6);
    t.held.decide([{ id: 3, verdict: 'drop' }, { id: 1 }, { id: 5 }, { id: 2 }]);
    assert.deepEqual(t.k.dropped, [3]);
    assert.deepEqual([...t.k.accepted].sort(), [1, 2, 5]);
    assert.deepEqual(t.k.queue, [4, 6]);
    t.held.decide([{ id: 6, verdict: 'drop' }, { id: 4, verdict: 'drop' }]);
    assert.deepEqual(t.k.dropped, [3, 6, 4]);
    assert.deepEqual(t.held.stats().held, 0);
  });

  test('ids skipped by the kernel (dropped before reaching us) do not break runs', () => {
    const t = table('accept');
    t.arrive(1, 2, 5, 6, 9);
    t.held.decide([{ id: 1 }, { id: 2 }, { id: 5 }, { id: 6 }, { id: 9 }]);
    assert.deepEqual(t.k.accepted, [1, 2, 5, 6, 9]);
    assert.deepEqual(t.k.writes, [1]);
  });

  test('without batch verdicts every packet is verdicted alone', () => {
    const t = table('drop', 100, false);
    t.arrive(1, 2, 3);
    t.held.decide([{ id: 1 }, { id: 2 }, { id: 3, verdict: 'drop' }]);
    assert.deepEqual(t.k.accepted, [1, 2]);
    assert.deepEqual(t.k.dropped, [3]);
    assert.deepEqual(t.k.writes, [3]);
    t.arrive(4, 5);
    t.held.releaseAll();
    assert.deepEqual(t.k.dropped, [3, 4, 5]);
  });

  test('the first verdict for an id wins; later ones and unknown ids count as late', () => {
    const t = table('accept');
    t.arrive(7);
    t.held.decide([{ id: 7, verdict: 'drop' }]);
    t.held.decide([{ id: 7, verdict: 'accept' }, { id: 99 }]);
    assert.deepEqual(t.k.dropped, [7]);
    assert.deepEqual(t.k.accepted, []);
    assert.equal(t.held.stats().late, 2);
  });

  test('items without a usable id are reported by index, the others applied', () => {
    const t = table('accept');
    t.arrive(1, 2);
    assert.deepEqual(t.held.decide([{ id: 1 }, null, { id: '2' }, { id: -1 }, { id: 2, verdict: 'drop' }]), [1, 2, 3]);
    assert.deepEqual(t.k.accepted, [1]);
    assert.deepEqual(t.k.dropped, [2]);
  });

  for (const [defaultVerdict, list] of [['accept', 'accepted'], ['drop', 'dropped']] as const) {
    test(`packets past the timeout get the default verdict (${defaultVerdict}), counted; younger ones wait`, () => {
      const t = table(defaultVerdict, 100);
      t.arrive(1, 2);
      t.advance(60);
      t.arrive(3);
      t.advance(50); // 1 and 2 are 110 ms old, 3 is 50 ms old
      t.held.expire();
      assert.deepEqual(t.k[list], [1, 2]);
      assert.deepEqual(t.k.writes, [1], 'one batch message for the expired run');
      assert.equal(t.held.stats().timedOut, 2);
      assert.equal(t.held.size, 1);
      t.held.decide([{ id: 3, verdict: 'drop' }]);
      assert.ok(t.k.dropped.includes(3));
      t.held.decide([{ id: 1 }]);
      assert.equal(t.held.stats().late, 1, 'a verdict after the timeout is too late');
    });
  }

  test('releaseAll gives every held packet the default verdict (close)', () => {
    const t = table('drop');
    t.arrive(10, 11, 12, 13, 14);
    t.held.decide([{ id: 12 }]);
    t.held.releaseAll();
    assert.deepEqual(t.k.dropped, [10, 11, 13, 14]);
    assert.deepEqual(t.k.accepted, [12]);
    assert.equal(t.held.size, 0);
    assert.deepEqual(t.k.queue, []);
  });

  test('a reused id (wrap at 2^32) waits again from its new arrival', () => {
    const t = table('accept', 100);
    t.arrive(5);
    t.advance(90);
    t.held.hold(5); // the same id again: its wait restarts
    t.advance(20);
    t.held.expire();
    assert.equal(t.held.size, 1);
    t.held.releaseAll();
  });

  test('the timeout timer fires by itself and stops once nothing is held', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await new Promise((r) => setTimeout(r, 120)); // idle tables of earlier tests stop their timers within a period
    const before = timers();
    const k = new KernelModel();
    const held = new HeldPackets({ timeoutMs: 10, defaultVerdict: 'accept' }, k);
    k.queue.push(1);
    held.hold(1);
    assert.equal(timers(), before + 1);
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(k.accepted, [1]);
    assert.equal(held.size, 0);
    assert.equal(timers(), before, 'no timer left once idle');
  });

  test('refuses bad options with the reason', () => {
    const k = new KernelModel();
    assert.throws(() => new HeldPackets({ timeoutMs: 0, defaultVerdict: 'accept' }, k), /timeout must be an integer from 1 to 60000/);
    assert.throws(() => new HeldPackets({ timeoutMs: 10, defaultVerdict: 'reject' as 'drop' }, k), /'accept' \(fail-open\) or 'drop' \(fail-closed\)/);
  });
});
