/**
 * Address text at the bottom layer: the RFC 5952 form of an IPv6 address read
 * straight from packet bytes, shared by the decoder and the CIDR parser.
 */

/** Two-digit hex and hex without leading zeros, per byte value. */
const HEX2: string[] = [];
const HEX_NZ: string[] = [];
for (let i = 0; i < 256; i++) {
  HEX2.push(i.toString(16).padStart(2, '0'));
  HEX_NZ.push(i.toString(16));
}

/** One IPv6 16-bit group without leading zeros. */
function hexWord(d: Buffer, off: number): string {
  const hi = d[off];
  return hi === 0 ? HEX_NZ[d[off + 1]] : HEX_NZ[hi] + HEX2[d[off + 1]];
}

/**
 * RFC 5952 text of 16 bytes at `off`: lowercase, no leading zeros, the
 * longest run (first on a tie) of two or more zero groups as '::'.
 * Straight from the bytes, with no intermediate arrays: the decoder calls it
 * per IPv6 packet, and cidr.ts formatIp uses it too.
 */
export function formatIpv6At(d: Buffer, off: number): string {
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    if (d[off + 2 * i] === 0 && d[off + 2 * i + 1] === 0) {
      if (runStart < 0) runStart = i;
      if (i - runStart + 1 > bestLen) {
        bestStart = runStart;
        bestLen = i - runStart + 1;
      }
    } else {
      runStart = -1;
    }
  }
  let s = '';
  if (bestStart < 0) {
    for (let i = 0; i < 8; i++) s += i === 0 ? hexWord(d, off) : ':' + hexWord(d, off + 2 * i);
    return s;
  }
  for (let i = 0; i < bestStart; i++) s += i === 0 ? hexWord(d, off) : ':' + hexWord(d, off + 2 * i);
  s += '::';
  const tail = bestStart + bestLen;
  for (let i = tail; i < 8; i++) s += i === tail ? hexWord(d, off + 2 * i) : ':' + hexWord(d, off + 2 * i);
  return s;
}
