/**
 * TCP flag bits: the header's flag byte, as a Packet's `flagBits` holds it
 * (bit 0 FIN ... bit 7 CWR), and its text form `flags` (letters F S R P A U E
 * C in that order). The decoder sets both; detectors test the bits, so no
 * text is parsed per packet.
 */
import type { Packet } from './types';

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

/** Flag byte → its letters in the order F S R P A U E C (the decoder's `flags`). */
export const TCP_FLAG_TEXT: readonly string[] = Array.from({ length: 256 }, (_, b) => {
  let s = '';
  for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) s += 'FSRPAUEC'[bit];
  return s;
});

/** The bits of the letters in `flags`; other characters are ignored. */
export function tcpFlagBits(flags: string): number {
  let bits = 0;
  for (let i = 0; i < flags.length; i++) {
    switch (flags.charCodeAt(i)) {
      case 70: bits |= TCP_FIN; break; // F
      case 83: bits |= TCP_SYN; break; // S
      case 82: bits |= TCP_RST; break; // R
      case 80: bits |= TCP_PSH; break; // P
      case 65: bits |= TCP_ACK; break; // A
      case 85: bits |= TCP_URG; break; // U
      case 69: bits |= TCP_ECE; break; // E
      case 67: bits |= TCP_CWR; break; // C
    }
  }
  return bits;
}

/**
 * A packet's TCP flag bits: the decoder's `flagBits`, else parsed from
 * `flags` (a packet made or rewritten by hand); -1 when it has no flags.
 */
export function flagBitsOf(p: Packet): number {
  const bits = p.flagBits;
  if (bits !== undefined) return bits;
  return p.flags === undefined ? -1 : tcpFlagBits(p.flags);
}

/** A SYN that opens a connection: SYN without ACK or RST. */
export function isOpeningSyn(bits: number): boolean {
  return (bits & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN;
}
