import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { HeldPackets } from '../../../lib/capture/verdicts';

/** A HeldPackets on a hand-moved clock, recording what it would tell the kernel. */
function table(defaultVerdict: 'accept' | 'drop', timeoutMs = 100) {
  let now = 1000;
  const accepted: number[] = [];
  const dropped: number[] = [];
  const held = new HeldPackets({ timeoutMs, defaultVerdict }, (a, d) => {
    accepted.push(...a);
    dropped.push(...d);
  }, () => now);
  return { held, accepted, dropped, advance: (ms: number) => (now += ms) };
}

describe('HeldPackets', () => {
  test("verdicts by id: 'drop' drops, anything else accepts", () => {
    const t = table('accept');
    for (const id of [1, 2, 3, 4]) t.held.hold(id);
    t.held.decide([{ id: 1, verdict: 'drop' }, { id: 2, verdict: 'accept' }, { id: 3 }, { id: 4, verdict: 'bogus' }]);
    assert.deepEqual(t.dropped, [1]);
    assert.deepEqual(t.accepted, [2, 3, 4]);
    assert.deepEqual(t.held.stats(), { queued: 4, accepted: 3, dropped: 1, timedOut: 0, late: 0, held: 0 });
    t.held.releaseAll();
  });

  test('the first verdict for an id wins; later ones and unknown ids count as late', () => {
    const t = table('accept');
    t.held.hold(7);
    t.held.decide([{ id: 7, verdict: 'drop' }]);
    t.held.decide([{ id: 7, verdict: 'accept' }, { id: 99 }]);
    assert.deepEqual(t.dropped, [7]);
    assert.deepEqual(t.accepted, []);
    assert.equal(t.held.stats().late, 2);
  });

  for (const [defaultVerdict, list] of [['accept', 'accepted'], ['drop', 'dropped']] as const) {
    test(`packets past the timeout get the default verdict (${defaultVerdict}), counted; younger ones wait`, () => {
      const t = table(defaultVerdict, 100);
      t.held.hold(1);
      t.held.hold(2);
      t.advance(60);
      t.held.hold(3);
      t.advance(50); // 1 and 2 are 110 ms old, 3 is 50 ms old
      t.held.expire();
      assert.deepEqual(t[list], [1, 2]);
      assert.equal(t.held.stats().timedOut, 2);
      assert.equal(t.held.size, 1);
      t.held.decide([{ id: 3, verdict: 'drop' }]);
      assert.ok(t.dropped.includes(3));
      t.held.decide([{ id: 1 }]);
      assert.equal(t.held.stats().late, 1, 'a verdict after the timeout is too late');
    });
  }

  test('releaseAll gives every held packet the default verdict (close)', () => {
    const t = table('drop');
    for (let id = 10; id < 15; id++) t.held.hold(id);
    t.held.decide([{ id: 12 }]);
    t.held.releaseAll();
    assert.deepEqual(t.dropped, [10, 11, 13, 14]);
    assert.deepEqual(t.accepted, [12]);
    assert.equal(t.held.size, 0);
  });

  test('the timeout timer fires by itself and stops when nothing is held', async () => {
    const accepted: number[] = [];
    const held = new HeldPackets({ timeoutMs: 10, defaultVerdict: 'accept' }, (a) => accepted.push(...a));
    held.hold(1);
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(accepted, [1]);
    assert.equal(held.size, 0);
  });

  test('refuses bad options with the reason', () => {
    assert.throws(() => new HeldPackets({ timeoutMs: 0, defaultVerdict: 'accept' }, () => undefined), /timeout must be an integer from 1 to 60000/);
    assert.throws(() => new HeldPackets({ timeoutMs: 10, defaultVerdict: 'reject' as 'drop' }, () => undefined), /'accept' \(fail-open\) or 'drop' \(fail-closed\)/);
  });
});
