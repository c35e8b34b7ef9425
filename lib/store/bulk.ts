/**
 * Many rows as one bound value. npm `sqlite3` converts every bound value on
 * the main thread, one native call at a time (about half the CPU of writing
 * an alert row with 20 values). Instead a run of rows goes to SQLite as one
 * JSON array of row arrays (JSON.stringify runs in V8's C++), and one
 * `INSERT ... SELECT ... FROM jsonb_each(?)` unpacks it in C on SQLite's thread.
 *
 * Every value is stored exactly as binding it on its own would store it:
 *  - Text: JSON escapes carry every code point, NUL included. A lone
 *    surrogate would be escaped as \udXXX, which SQLite decodes to invalid
 *    UTF-8, where the binding writes U+FFFD: such strings are made
 *    well-formed (U+FFFD) first, as the binding would.
 *  - Numbers: safe integers are exact in JSON. SQLite's decimal-to-double
 *    conversion is one unit in the last place off for some shortest decimals
 *    (about 1 in 10,000 computed rates), and integers beyond 2^53 would be
 *    read as the decimal instead of the double; so every other number goes as
 *    [mantissa, exponent] and the SQL rebuilds mantissa * 2^exponent, which
 *    is exact. The pair sits past the row's columns (at columns + position)
 *    and the column itself holds null, so a safe integer costs SQLite one
 *    lookup, not two.
 */
import type { SqlValue } from './sqlite';

/** Text characters per JSON value: bounds the string (V8 and SQLite limit it) whatever the rows hold. */
const CHUNK_CHARS = 8_000_000;

/** Rows of a table as bulk-inserted: its columns in value order, and the positions holding numbers. */
export interface BulkShape {
  table: string;
  columns: readonly string[];
  numeric: readonly number[];
}

/** A table as records.ts describes it (numeric columns by name) → its bulk shape (by position). */
export function bulkShape({ table, columns, numeric }: { table: string; columns: readonly string[]; numeric: readonly string[] }): BulkShape {
  return { table, columns, numeric: columns.flatMap((c, i) => (numeric.includes(c) ? [i] : [])) };
}

/** The statement that inserts the rows of one encodeRows() value; `tail` may add an upsert clause. */
export function bulkInsertSql(shape: BulkShape, tail = ''): string {
  const n = shape.columns.length;
  const exprs = shape.columns.map((_, i) => (shape.numeric.includes(i)
    ? `coalesce(value->>${i}, (value->>'$[${n + i}][0]') * power(2.0, value->>'$[${n + i}][1]'))`
    : `value->>${i}`));
  // "WHERE true" keeps SQLite from reading an ON CONFLICT tail as a join constraint.
  return `INSERT INTO ${shape.table} (${shape.columns.join(',')}) SELECT ${exprs.join(', ')} FROM jsonb_each(?) WHERE true ${tail}`.trimEnd();
}

/** A query that fails when this SQLite lacks what bulkInsertSql needs (JSONB: 3.45+, math functions). */
export const BULK_PROBE = "SELECT (value->>'$[0]') * power(2.0, value->>'$[1]') AS x FROM jsonb_each('[[3,-1]]')";

const view = new DataView(new ArrayBuffer(8));

/** x = mantissa * 2^exponent with an integer mantissa below 2^53 (finite x). */
export function exactParts(x: number): [number, number] {
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const biased = (hi >>> 20) & 0x7ff;
  let m = (hi & 0xfffff) * 2 ** 32 + view.getUint32(4);
  if (biased !== 0) m += 2 ** 52;
  return [hi >>> 31 ? -m : m, (biased || 1) - 1075];
}

type Encoded = SqlValue | [number, number];

function wellFormed(v: Encoded): Encoded {
  return typeof v === 'string' ? v.replace(/[\ud800-\udfff]/gu, '\ufffd') : v;
}

/**
 * Rows `from` up to `to` (or fewer once their text passes `maxChars`) as one
 * JSON value for bulkInsertSql(shape); `end` is the first row not included.
 */
export function encodeRows(rows: readonly (readonly SqlValue[])[], from: number, to: number, shape: BulkShape, maxChars = CHUNK_CHARS): { json: string; end: number } {
  const numeric = shape.numeric;
  const n = shape.columns.length;
  const out: (readonly Encoded[])[] = [];
  let chars = 0;
  let i = from;
  while (i < to && (i === from || chars < maxChars)) {
    const values = rows[i];
    let row: readonly Encoded[] = values;
    for (const c of numeric) {
      const v = values[c];
      if (typeof v === 'number' && !Number.isSafeInteger(v)) {
        const copy: Encoded[] = row === values ? values.slice() : (row as Encoded[]);
        copy[c] = null;
        while (copy.length < n + c) copy.push(null);
        copy[n + c] = exactParts(v);
        row = copy;
      }
    }
    for (const v of values) if (typeof v === 'string') chars += v.length;
    out.push(row);
    i++;
  }
  let json = JSON.stringify(out);
  // Rare: only a lone surrogate (or a literal backslash before "ud") puts this in the text.
  if (json.includes('\\ud')) json = JSON.stringify(out.map((row) => row.map(wellFormed)));
  return { json, end: i };
}
