/**
 * State keys of addresses: always numbers. IPv4 is the decoder's
 * `src4`/`dst4`; any other address text (IPv6, a MAC) gets an interned id.
 * Hashing and comparing a number costs a few instructions, a string a loop
 * over its characters, and a composite key such as 'src>dst' would be a new
 * string per packet (garbage): with IPv6 texts as keys, flood + scan cost
 * about 1,670 instructions more per IPv6 packet of the bench capture
 * (callgrind) than with these ids. Composite keys are two-part (see
 * BoundedTable) and exact.
 *
 * Ids of texts count up from 2^32, above every IPv4 key, and stay below
 * 2^37, so `withPort` (key × 65536 + port) stays exact in a double.
 * The id table is bounded by two generations of TEXT_GENERATION texts: a
 * text looked up in the older generation moves to the younger one with its
 * id; when the younger one is full, the older one is forgotten. So an
 * address keeps its id while it is seen at least once every
 * TEXT_GENERATION new texts, and one unseen for longer comes back with a
 * new id, which for a detector is the same as its state having been
 * evicted (a flood from random IPv6 sources is caught at its target and
 * over the network, as the IPv4 one).
 */
import type { Packet } from '../packet/types';

/** An address as a state key: the IPv4 address as a signed 32-bit integer, or the id of its text (>= 2^32). */
export type AddrKey = number;

const TEXT_ID_FIRST = 2 ** 32;
const TEXT_ID_END = 2 ** 37;
/** Texts per generation: ~40 bytes each in each direction, so at most ~20 MiB for both generations. */
export const TEXT_GENERATION = 1 << 17;

let nextTextId = TEXT_ID_FIRST;
let youngIds = new Map<string, number>();
let youngTexts = new Map<number, string>();
let oldIds = new Map<string, number>();
let oldTexts = new Map<number, string>();

/** The id of a text that is not a dotted quad (see the header). */
function textId(text: string): number {
  const id = youngIds.get(text);
  if (id !== undefined) return id;
  return textIdMiss(text);
}

/** Out of textId so that its hit path stays small enough to inline. */
function textIdMiss(text: string): number {
  let id = oldIds.get(text);
  if (id === undefined) {
    id = nextTextId++;
    // After 2^37 - 2^32 new texts (a day and a half of a flood of a million new addresses a second) the ids start over.
    if (nextTextId === TEXT_ID_END) nextTextId = TEXT_ID_FIRST;
  }
  if (youngIds.size >= TEXT_GENERATION) {
    oldIds = youngIds;
    oldTexts = youngTexts;
    youngIds = new Map();
    youngTexts = new Map();
  }
  youngIds.set(text, id);
  youngTexts.set(id, text);
  return id;
}

/** The key of an address text: dotted-quad IPv4 → integer (as the decoder's `src4`), anything else → the id of the text. */
export function addrKey(text: string): AddrKey {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      // No leading zeros: '010.0.0.1' is not the text the decoder makes, so it is a text.
      if (digits > 0 && octet === 0) return textId(text);
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return textId(text);
    } else if (c === 46 && digits > 0 && dots < 3) {
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return textId(text);
    }
  }
  if (dots !== 3 || digits === 0) return textId(text);
  return (value * 256 + octet) | 0;
}

export function srcKey(p: Packet): AddrKey {
  const n = p.src4;
  return n !== undefined ? n : addrKey(p.src);
}

export function dstKey(p: Packet): AddrKey {
  const n = p.dst4;
  return n !== undefined ? n : addrKey(p.dst);
}

/** The address text of a key ('?' for the id of a text forgotten since: see the header). */
export function keyText(k: AddrKey): string {
  if (k >= TEXT_ID_FIRST) return youngTexts.get(k) ?? oldTexts.get(k) ?? '?';
  return `${k >>> 24}.${(k >>> 16) & 0xff}.${(k >>> 8) & 0xff}.${k & 0xff}`;
}

/**
 * An address key and a port (or another number below 65536) in one exact
 * number: the second part of the two-part key of (a, b, port) is
 * `withPort(b, port)`, the first part `a` itself; a connection
 * (a:aPort → b:bPort) is `withPort(a, aPort)`, `withPort(b, bPort)`.
 */
export function withPort(k: AddrKey, port = 0): number {
  return k * 65536 + port;
}

/** Small codes of the protocols detectors key on (0 for any other). */
export function protoCode(proto: string): number {
  switch (proto) {
    case 'tcp': return 1;
    case 'udp': return 2;
    case 'icmp': return 3;
    case 'icmp6': return 4;
    default: return 0;
  }
}
