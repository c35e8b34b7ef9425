/**
 * Link-layer header types (the numbers pcap and pcapng files store, from the
 * tcpdump.org LINKTYPE_ registry) that the decoder understands.
 */

/** BSD loopback: 4-byte address family in the capturing host's byte order. */
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
/** Raw IP (IPv4 or IPv6, told apart by the version nibble). */
export const LINKTYPE_RAW = 101;
/** OpenBSD loopback: like NULL but the family is always big-endian. */
export const LINKTYPE_LOOP = 108;
/** Linux cooked capture v1 (`tcpdump -i any`). */
export const LINKTYPE_LINUX_SLL = 113;
/** IEEE 802.11 frames as a monitor-mode card hands them (no radio header). */
export const LINKTYPE_IEEE802_11 = 105;
/** 802.11 behind a radiotap header (Linux monitor mode). */
export const LINKTYPE_IEEE802_11_RADIOTAP = 127;
/** Per-Packet Information header, then the frame of the link type it names (usually 802.11). */
export const LINKTYPE_PPI = 192;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
/** Linux cooked capture v2 (`tcpdump -i any -y LINUX_SLL2`). */
export const LINKTYPE_LINUX_SLL2 = 276;
/** DLT_RAW as some BSDs number it in files (12 on most, 14 on OpenBSD); both mean raw IP. */
export const DLT_RAW_BSD = 12;
export const DLT_RAW_OPENBSD = 14;

const NAMES: Record<number, string> = {
  [LINKTYPE_NULL]: 'NULL',
  [LINKTYPE_ETHERNET]: 'ETHERNET',
  [LINKTYPE_RAW]: 'RAW',
  [LINKTYPE_LOOP]: 'LOOP',
  [LINKTYPE_LINUX_SLL]: 'LINUX_SLL',
  [LINKTYPE_IEEE802_11]: 'IEEE802_11',
  [LINKTYPE_IEEE802_11_RADIOTAP]: 'IEEE802_11_RADIOTAP',
  [LINKTYPE_PPI]: 'PPI',
  [LINKTYPE_IPV4]: 'IPV4',
  [LINKTYPE_IPV6]: 'IPV6',
  [LINKTYPE_LINUX_SLL2]: 'LINUX_SLL2',
  [DLT_RAW_BSD]: 'RAW',
  [DLT_RAW_OPENBSD]: 'RAW',
};

/** True when `decodePacket` can decode frames of this link type. */
export function isSupportedLinktype(linktype: number): boolean {
  return Object.prototype.hasOwnProperty.call(NAMES, linktype);
}

/** Short name of a link type for messages, e.g. 'ETHERNET' or 'linktype 147'. */
export function linktypeName(linktype: number): string {
  return Object.prototype.hasOwnProperty.call(NAMES, linktype) ? NAMES[linktype] : `linktype ${linktype}`;
}
