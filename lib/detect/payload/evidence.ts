/**
 * Evidence for payload alerts: the matched text made printable, and a
 * classic hexdump excerpt of the payload around the match.
 */

const PRINTABLE_LO = 0x20;
const PRINTABLE_HI = 0x7e;

/** Matched text for humans: printable ASCII kept, the rest as \xNN, cut at `max` characters. */
export function printable(text: string, max = 120): string {
  let out = '';
  let i = 0;
  for (; i < text.length && out.length < max; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) out += '\\\\';
    else if (c >= PRINTABLE_LO && c <= PRINTABLE_HI) out += text[i];
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x09) out += '\\t';
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return i < text.length ? `${out}…` : out;
}

/**
 * Hexdump lines (16 bytes each: offset, hex, ASCII) covering `context` bytes
 * either side of [start, end), aligned to 16-byte lines. Offsets are those
 * of the payload.
 */
export function hexExcerpt(payload: Uint8Array, start: number, end: number, context = 32): string {
  const from = Math.max(0, start - context) & ~15;
  const to = Math.min(payload.length, Math.max(end, start + 1) + context);
  const lines: string[] = [];
  for (let line = from; line < to; line += 16) {
    let hex = '';
    let ascii = '';
    for (let i = 0; i < 16; i++) {
      const at = line + i;
      if (at < to) {
        const b = payload[at];
        hex += b.toString(16).padStart(2, '0') + (i === 7 ? '  ' : ' ');
        ascii += b >= PRINTABLE_LO && b <= PRINTABLE_HI ? String.fromCharCode(b) : '.';
      } else {
        hex += i === 7 ? '    ' : '   ';
      }
    }
    lines.push(`${line.toString(16).padStart(4, '0')}  ${hex} |${ascii}|`);
  }
  return lines.join('\n');
}

/** An address and port as text: 10.0.0.1:80, [fd00::1]:80. */
export function endpoint(addr: string, port: number | undefined): string {
  if (port === undefined) return addr;
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}
