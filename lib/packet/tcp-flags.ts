/**
 * TCP flag bits of a Packet's `flags` text (letters F S R P A U E C, as the
 * decoder writes them). Detectors test flags per packet: one pass over at
 * most 8 characters instead of a `String#includes` call per flag.
 */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

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

/** A SYN that opens a connection: SYN without ACK or RST. */
export function isOpeningSyn(bits: number): boolean {
  return (bits & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN;
}
