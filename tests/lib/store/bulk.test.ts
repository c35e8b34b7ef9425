/** The JSON that carries a run of rows to SQLite: exact number parts, well-formed text, bounded size. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bulkShape, encodeRows, exactParts } from '../../../lib/store/bulk';

const shape = bulkShape({ table: 't', columns: ['a', 'n', 'b'], numeric: ['n'] });

describe('bulk rows', () => {
  it('splits a float into an integer mantissa and a power of two that give it back exactly', () => {
    for (const x of [0.1, -0.1, 468139190.3813878, 1_700_000_000_000.123, 2 ** 53 + 2, -(2 ** 63), Number.MAX_VALUE, Number.MIN_VALUE, -2.5e-310, 1e21]) {
      const [m, k] = exactParts(x);
      assert.ok(Number.isSafeInteger(m), `mantissa of ${x}`);
      assert.ok(Object.is(m * 2 ** k, x), `${m} * 2^${k} != ${x}`);
    }
  });

  it('writes safe integers, nulls and text as they are, other numbers as [mantissa, exponent] past the columns, lone surrogates as U+FFFD', () => {
    const rows = [['x', 5, null], ['y', 0.5, 'pair \ud83d\ude80 lone \ud800'], ['\\ud800 literal', 2 ** 60, 'z']];
    const { json, end } = encodeRows(rows, 0, rows.length, shape);
    assert.equal(end, 3);
    assert.deepEqual(JSON.parse(json), [
      ['x', 5, null],
      ['y', null, 'pair \ud83d\ude80 lone \ufffd', null, [2 ** 52, -53]],
      ['\\ud800 literal', null, 'z', null, [2 ** 52, 8]],
    ]);
    assert.deepEqual(rows[1], ['y', 0.5, 'pair \ud83d\ude80 lone \ud800'], 'the rows themselves are left alone');
  });

  it('stops a value once its text passes the bound (at least one row each), so every row is in exactly one', () => {
    const rows = Array.from({ length: 10 }, (_, i) => [`${i}`.padEnd(40, '.'), i, null]);
    const seen: unknown[] = [];
    let count = 0;
    for (let k = 0; k < rows.length;) {
      const { json, end } = encodeRows(rows, k, rows.length, shape, 100);
      assert.ok(end > k && end - k <= 3, `${k}..${end}`);
      seen.push(...JSON.parse(json));
      k = end;
      count++;
    }
    assert.equal(count, 4);
    assert.deepEqual(seen, rows);
    assert.equal(encodeRows([['a'.repeat(500), 1, null]], 0, 1, shape, 100).end, 1);
  });
});
