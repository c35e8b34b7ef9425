/**
 * URL decoding of payload bytes for matching: %XX escapes and '+' as space,
 * byte for byte (latin1), never throwing on bad escapes (they stay as they
 * are). An optional offset map ties each decoded byte to the raw byte it came
 * from, so evidence can point into the original payload.
 */

import { Buffer } from 'node:buffer';

const HEX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_VALUE[0x41 + i] = 10 + i;
  HEX_VALUE[0x61 + i] = 10 + i;
}

const PERCENT = 0x25;
const PLUS = 0x2b;
const SPACE = 0x20;

/**
 * True when `buf` holds at least one valid %XX escape. Buffer#indexOf
 * (memchr) costs a call into C++ but still beats a byte loop in JavaScript
 * several times over on payloads of 40 bytes and more. The start offset is
 * always passed: without it Node's indexOf compares `undefined` with numbers
 * through V8's generic comparison builtins, about 150 instructions a call
 * (callgrind, on every UDP and ICMP payload).
 */
export function hasPercentEscape(buf: Buffer): boolean {
  const end = buf.length - 2;
  for (let i = buf.indexOf(PERCENT, 0); i >= 0 && i < end; i = buf.indexOf(PERCENT, i + 1)) {
    if (HEX_VALUE[buf[i + 1]] >= 0 && HEX_VALUE[buf[i + 2]] >= 0) return true;
  }
  return false;
}

/** Offset of the first '+' or valid %XX escape in `input`, or -1. */
function firstEscape(input: Buffer): number {
  const n = input.length;
  const plus = input.indexOf(PLUS, 0);
  const stop = plus < 0 ? n : plus;
  for (let i = input.indexOf(PERCENT, 0); i >= 0 && i < stop; i = input.indexOf(PERCENT, i + 1)) {
    if (i + 2 < n && HEX_VALUE[input[i + 1]] >= 0 && HEX_VALUE[input[i + 2]] >= 0) return i;
  }
  return plus;
}

export interface Decoded {
  bytes: Buffer;
  /** map[i] = offset in the input of decoded byte i (only when asked for). */
  map?: Int32Array;
}

/**
 * Decode %XX and '+' once. Returns null when nothing changed (no escape and
 * no '+'), so callers skip a second scan of identical text.
 */
export function urlDecodeOnce(input: Buffer, withMap = false): Decoded | null {
  const n = input.length;
  const first = firstEscape(input);
  if (first < 0) return null;
  const out = Buffer.allocUnsafe(n);
  const map = withMap ? new Int32Array(n) : undefined;
  input.copy(out, 0, 0, first);
  if (map) for (let i = 0; i < first; i++) map[i] = i;
  let o = first;
  for (let i = first; i < n; i++) {
    const c = input[i];
    if (map) map[o] = i;
    if (c === PERCENT && i + 2 < n) {
      const hi = HEX_VALUE[input[i + 1]];
      const lo = HEX_VALUE[input[i + 2]];
      if (hi >= 0 && lo >= 0) {
        out[o++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    out[o++] = c === PLUS ? SPACE : c;
  }
  return { bytes: out.subarray(0, o), map: map ? map.subarray(0, o) : undefined };
}

/**
 * The decoded forms of a payload worth matching: once decoded, and decoded
 * twice when the first pass still leaves %XX escapes (double encoding).
 * Each map points into the raw payload.
 */
export function urlDecodings(input: Buffer, withMap = false): Decoded[] {
  const once = urlDecodeOnce(input, withMap);
  if (!once) return [];
  if (!hasPercentEscape(once.bytes)) return [once];
  const twice = urlDecodeOnce(once.bytes, withMap);
  if (!twice) return [once];
  if (withMap && once.map && twice.map) {
    const composed = new Int32Array(twice.map.length);
    for (let i = 0; i < composed.length; i++) composed[i] = once.map[twice.map[i]];
    twice.map = composed;
  }
  return [once, twice];
}

/** True when a payload starts like an HTTP request line ("GET /", "POST /" …). */
export function looksLikeHttpRequest(buf: Uint8Array): boolean {
  // Method: 3-7 upper-case letters then a space.
  let i = 0;
  while (i < 8 && i < buf.length && buf[i] >= 0x41 && buf[i] <= 0x5a) i++;
  return i >= 3 && i < buf.length && buf[i] === SPACE;
}
