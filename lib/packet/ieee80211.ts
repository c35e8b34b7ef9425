/**
 * Wi-Fi link headers: IEEE 802.11 frames (LINKTYPE_IEEE802_11, 105), as a
 * card in monitor mode captures them behind a radiotap (127) or PPI (192)
 * header. This module only finds where things are (the MAC addresses, the
 * LLC/SNAP ethertype, where the payload starts and ends); decode.ts turns
 * that into the Packet, so a monitor-mode capture on a Pi is analysed like an
 * Ethernet one.
 *
 * What cannot carry a readable IP packet flows on as a non-IP packet with a
 * `proto` that says why (the detectors ignore those protos):
 *   'wlan-mgmt'      management frames (beacons, probes, (de)authentication)
 *   'wlan-ctrl'      control frames (ACK, RTS/CTS, block-ack)
 *   'wlan-ext'       extension frames (802.11ah DMG beacons)
 *   'wlan-nodata'    data frames without a body (null function, QoS null)
 *   'wlan-encrypted' data frames with the Protected bit (WEP/WPA/WPA2/WPA3):
 *                    the body is ciphertext
 *   'wlan-fragment'  a fragment of a fragmented MSDU (not reassembled)
 *   'wlan-amsdu'     an aggregate MSDU (several packets in one frame; rare
 *                    on open networks, not split here)
 *   'llc'            an LLC payload that is not SNAP (STP, IPX, ...)
 * Reads are bounds-checked against the captured bytes; a short header is
 * reported as an error string for decode.ts to mark the packet malformed.
 */

/** Where an 802.11 frame's parts are, in the capture buffer. */
export interface WlanFrame {
  /** Offsets of the source and destination MAC (SA/DA, from the DS bits), or -1. */
  saOff: number;
  daOff: number;
  /** A proto from the list above, or '' for a SNAP data frame whose `ethertype` follows. */
  proto: string;
  ethertype: number;
  /** The body: after the SNAP header for '' frames, after the MAC header otherwise. */
  off: number;
  /** End of the body (the FCS, when present, excluded). */
  lim: number;
}

/** Where the 802.11 frame starts behind a radiotap or PPI header, and whether it ends with a 4-byte FCS. */
export interface RadioHeader {
  off: number;
  fcs: boolean;
  /** Link type of what follows (PPI can carry others; radiotap is always 802.11). */
  linktype: number;
}

const TYPE_MGMT = 0;
const TYPE_CTRL = 1;
const TYPE_DATA = 2;
const FC_TO_DS = 0x01;
const FC_FROM_DS = 0x02;
const FC_MORE_FRAGMENTS = 0x04;
const FC_PROTECTED = 0x40;
const FC_ORDER = 0x80;
/** Data subtypes with bit 2 set carry no body (null function, CF-Ack/Poll without data). */
const SUBTYPE_NO_DATA = 0x04;
const SUBTYPE_QOS = 0x08;
const QOS_AMSDU_PRESENT = 0x80;
/** Radiotap flags field bit: the frame includes the FCS at its end. */
const RADIOTAP_FLAG_FCS = 0x10;
/** Radiotap present-bitmap bit 31: another bitmap word follows. */
const RADIOTAP_EXT = 0x80000000;
/** PPI field type of the 802.11-Common field, and its flags bit for "FCS present". */
const PPI_80211_COMMON = 2;
const PPI_FLAG_FCS = 0x0001;
const LINKTYPE_IEEE802_11 = 105;

/**
 * The radiotap header at `start`: version 0, pad, length (LE16), present
 * bitmaps (LE32, chained by bit 31). Only the Flags field is read, for the
 * FCS bit; it sits after TSFT (bit 0: 8 bytes, 8-aligned from the header's
 * start) when that is present.
 */
export function radiotapHeader(d: Buffer, start: number, lim: number): RadioHeader | string {
  if (lim - start < 8) return `truncated radiotap header (${Math.max(0, lim - start)} of 8 bytes)`;
  if (d[start] !== 0) return `unknown radiotap version ${d[start]}`;
  const len = d.readUInt16LE(start + 2);
  if (len < 8 || start + len > lim) return `bad radiotap length ${len}`;
  const present = d.readUInt32LE(start + 4);
  let o = start + 8;
  for (let word = present; word & RADIOTAP_EXT; ) {
    if (o + 4 > start + len) return 'radiotap present bitmaps overrun the header';
    word = d.readUInt32LE(o);
    o += 4;
  }
  let fcs = false;
  if (present & 0x2) {
    if (present & 0x1) o = start + (((o - start + 7) >> 3) << 3) + 8;
    if (o >= start + len) return 'radiotap flags field outside the header';
    fcs = (d[o] & RADIOTAP_FLAG_FCS) !== 0;
  }
  return { off: start + len, fcs, linktype: LINKTYPE_IEEE802_11 };
}

/**
 * The PPI header at `start`: version 0, flags, length (LE16), DLT (LE32),
 * then fields (type LE16, length LE16). The 802.11-Common field's flags say
 * whether the frame carries its FCS.
 */
export function ppiHeader(d: Buffer, start: number, lim: number): RadioHeader | string {
  if (lim - start < 8) return `truncated PPI header (${Math.max(0, lim - start)} of 8 bytes)`;
  if (d[start] !== 0) return `unknown PPI version ${d[start]}`;
  const len = d.readUInt16LE(start + 2);
  if (len < 8 || start + len > lim) return `bad PPI length ${len}`;
  const linktype = d.readUInt32LE(start + 4);
  let fcs = false;
  for (let o = start + 8; o + 4 <= start + len; ) {
    const type = d.readUInt16LE(o);
    const flen = d.readUInt16LE(o + 2);
    if (o + 4 + flen > start + len) return 'PPI field overruns the header';
    // 802.11-Common: TSFT(8) flags(2) rate(2) ...
    if (type === PPI_80211_COMMON && flen >= 10) fcs = (d.readUInt16LE(o + 4 + 8) & PPI_FLAG_FCS) !== 0;
    o += 4 + flen;
  }
  return { off: start + len, fcs, linktype };
}

/**
 * The 802.11 MAC header at `start`, up to `lim` (FCS already excluded):
 * frame control, duration, addresses (3, or 4 between two access points),
 * sequence control, QoS control on QoS data, HT control when Order is set on
 * QoS data. A data frame's body is LLC; with SNAP (AA AA 03 + OUI) its
 * ethertype is returned for the Ethernet path.
 */
export function wlanFrame(d: Buffer, start: number, lim: number): WlanFrame | string {
  const n = lim - start;
  // Control frames can be as short as 10 bytes (ACK, CTS: FC, duration, RA).
  if (n < 10) return `truncated 802.11 header (${Math.max(0, n)} of 10 bytes)`;
  const fc0 = d[start];
  const flags = d[start + 1];
  const type = (fc0 >> 2) & 0x3;
  const subtype = fc0 >> 4;
  if ((fc0 & 0x3) !== 0) return `unknown 802.11 protocol version ${fc0 & 0x3}`;
  const frame: WlanFrame = { saOff: -1, daOff: -1, proto: '', ethertype: 0, off: start, lim };
  if (type === TYPE_CTRL) {
    frame.proto = 'wlan-ctrl';
    frame.daOff = start + 4;
    if (n >= 16) frame.saOff = start + 10;
    return frame;
  }
  if (n < 24) return `truncated 802.11 header (${n} of 24 bytes)`;
  const toDs = (flags & FC_TO_DS) !== 0;
  const fromDs = (flags & FC_FROM_DS) !== 0;
  let hdr = 24;
  // Address fields by the DS bits (IEEE 802.11 table 9-26): DA and SA.
  if (!toDs && !fromDs) {
    frame.daOff = start + 4;
    frame.saOff = start + 10;
  } else if (toDs && !fromDs) {
    frame.saOff = start + 10;
    frame.daOff = start + 16;
  } else if (!toDs && fromDs) {
    frame.daOff = start + 4;
    frame.saOff = start + 16;
  } else {
    if (n < 30) return `truncated 802.11 header (${n} of 30 bytes)`;
    frame.daOff = start + 16;
    frame.saOff = start + 24;
    hdr = 30;
  }
  if (type === TYPE_MGMT) {
    frame.proto = 'wlan-mgmt';
    frame.off = start + hdr;
    return frame;
  }
  if (type !== TYPE_DATA) {
    frame.proto = 'wlan-ext';
    frame.off = start + hdr;
    return frame;
  }
  let amsdu = false;
  if (subtype & SUBTYPE_QOS) {
    if (n < hdr + 2) return `truncated 802.11 QoS header (${n} of ${hdr + 2} bytes)`;
    amsdu = (d[start + hdr] & QOS_AMSDU_PRESENT) !== 0;
    hdr += 2;
    if (flags & FC_ORDER) {
      if (n < hdr + 4) return `truncated 802.11 HT control (${n} of ${hdr + 4} bytes)`;
      hdr += 4;
    }
  }
  frame.off = start + hdr;
  const fragment = d.readUInt16LE(start + 22) & 0xf;
  if (subtype & SUBTYPE_NO_DATA) frame.proto = 'wlan-nodata';
  else if (flags & FC_PROTECTED) frame.proto = 'wlan-encrypted';
  else if (fragment !== 0 || flags & FC_MORE_FRAGMENTS) frame.proto = 'wlan-fragment';
  else if (amsdu) frame.proto = 'wlan-amsdu';
  if (frame.proto !== '') return frame;
  const o = frame.off;
  // SNAP: DSAP AA, SSAP AA, control 03, OUI 00-00-00 (RFC 1042) or 00-00-F8 (bridge tunnel).
  if (lim - o >= 8 && d[o] === 0xaa && d[o + 1] === 0xaa && d[o + 2] === 0x03 && d[o + 3] === 0 && d[o + 4] === 0 && (d[o + 5] === 0 || d[o + 5] === 0xf8)) {
    frame.ethertype = (d[o + 6] << 8) | d[o + 7];
    frame.off = o + 8;
  } else {
    frame.proto = 'llc';
  }
  return frame;
}
