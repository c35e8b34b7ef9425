#!/usr/bin/env node
// Turns an Ethernet capture into the three ways a Wi-Fi card in monitor mode
// records the same traffic, for the decoder's fixtures (no radio hardware
// here, and Linux's mac80211_hwsim is not in this kernel):
//
//   <base>-wlan.pcap      LINKTYPE_IEEE802_11 (105), no FCS
//   <base>-radiotap.pcap  LINKTYPE_IEEE802_11_RADIOTAP (127): TSFT, Flags (FCS), Rate,
//                         Channel, antenna signal; frames end with their FCS
//   <base>-ppi.pcap       LINKTYPE_PPI (192) with an 802.11-Common field (FCS flag)
//
// Each Ethernet frame becomes an 802.11 data frame with an LLC/SNAP header,
// cycling through the address layouts of the DS bits (to the AP, from the AP,
// QoS data to the AP, four-address WDS). Every 16 frames a beacon, an ACK, a
// null-function frame and a protected (CCMP) data frame are inserted, as a
// real monitor-mode capture interleaves them. tshark is the independent
// reader the tests compare against.
//
// Usage: node scripts/wifi-encap.js IN.pcap OUTDIR   (IN: little-endian µs pcap, Ethernet)
'use strict';
const fs = require('fs');
const path = require('path');

const [inFile, outDir] = process.argv.slice(2);
if (!inFile || !outDir) {
  console.error('usage: wifi-encap.js IN.pcap OUTDIR');
  process.exit(2);
}
const data = fs.readFileSync(inFile);
if (data.readUInt32LE(0) !== 0xa1b2c3d4 || data.readUInt32LE(20) !== 1) {
  console.error(`wifi-encap: ${inFile} is not a little-endian microsecond Ethernet pcap`);
  process.exit(2);
}

const CRC_TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c;
}
function crc32(buf) {
  let c = -1;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

const BSSID = Buffer.from('02a0c9000001', 'hex');
const STA = Buffer.from('02a0c9000002', 'hex');
const u16 = (v) => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };

function dataFrame(eth, i) {
  const da = eth.subarray(0, 6);
  const sa = eth.subarray(6, 12);
  const body = Buffer.concat([Buffer.from([0xaa, 0xaa, 0x03, 0, 0, 0]), eth.subarray(12)]);
  const seq = u16((i & 0xfff) << 4);
  const dur = u16(44);
  switch (i % 4) {
    case 0: // to the AP: BSSID, SA, DA
      return Buffer.concat([Buffer.from([0x08, 0x01]), dur, BSSID, sa, da, seq, body]);
    case 1: // from the AP: DA, BSSID, SA
      return Buffer.concat([Buffer.from([0x08, 0x02]), dur, da, BSSID, sa, seq, body]);
    case 2: // QoS data to the AP, TID 5
      return Buffer.concat([Buffer.from([0x88, 0x01]), dur, BSSID, sa, da, seq, Buffer.from([0x05, 0x00]), body]);
    default: // WDS between two APs: RA, TA, DA, seq, SA
      return Buffer.concat([Buffer.from([0x08, 0x03]), dur, BSSID, STA, da, seq, sa, body]);
  }
}

function extraFrames(i) {
  const seq = u16((i & 0xfff) << 4);
  const ssid = Buffer.from('ips-lab');
  const beacon = Buffer.concat([
    Buffer.from([0x80, 0x00]), u16(0), Buffer.alloc(6, 0xff), BSSID, BSSID, seq,
    Buffer.alloc(8), u16(100), u16(0x0401), Buffer.from([0, ssid.length]), ssid,
  ]);
  const ack = Buffer.concat([Buffer.from([0xd4, 0x00]), u16(0), STA]);
  const nullFn = Buffer.concat([Buffer.from([0x48, 0x01]), u16(44), BSSID, STA, BSSID, seq]);
  // CCMP: 8-byte header, ciphertext, 8-byte MIC; the bytes are arbitrary, as ciphertext looks.
  const cipher = Buffer.alloc(64);
  for (let k = 0; k < cipher.length; k++) cipher[k] = (k * 37 + i) & 0xff;
  const prot = Buffer.concat([Buffer.from([0x08, 0x41]), u16(44), BSSID, STA, BSSID, seq, Buffer.from([1, 0, 0, 0x20, 0, 0, 0, 0]), cipher, Buffer.alloc(8, 0x5a)]);
  return [beacon, ack, nullFn, prot];
}

function radiotap(frame) {
  const h = Buffer.alloc(23);
  h.writeUInt16LE(23, 2);
  h.writeUInt32LE(0x2f, 4); // TSFT, Flags, Rate, Channel, dBm antenna signal
  h.writeBigUInt64LE(123456789n, 8);
  h[16] = 0x10; // Flags: FCS at end
  h[17] = 12; // 6 Mb/s
  h.writeUInt16LE(2437, 18);
  h.writeUInt16LE(0x00a0, 20);
  h.writeInt8(-42, 22);
  return Buffer.concat([h, frame, fcs(frame)]);
}

function ppi(frame) {
  const h = Buffer.alloc(32);
  h.writeUInt16LE(32, 2);
  h.writeUInt32LE(105, 4);
  h.writeUInt16LE(2, 8); // 802.11-Common
  h.writeUInt16LE(20, 10);
  h.writeUInt16LE(0x0001, 12 + 8); // flags: FCS present
  h.writeUInt16LE(12, 12 + 10);
  h.writeUInt16LE(2437, 12 + 12);
  h.writeUInt16LE(0x00a0, 12 + 14);
  h.writeInt8(-42, 12 + 18);
  h.writeInt8(-95, 12 + 19);
  return Buffer.concat([h, frame, fcs(frame)]);
}

function fcs(frame) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(crc32(frame));
  return b;
}

const frames = [];
for (let off = 24, i = 0; off + 16 <= data.length; i++) {
  const sec = data.readUInt32LE(off);
  const usec = data.readUInt32LE(off + 4);
  const caplen = data.readUInt32LE(off + 8);
  const eth = data.subarray(off + 16, off + 16 + caplen);
  off += 16 + caplen;
  if (i % 16 === 0) for (const x of extraFrames(i)) frames.push({ sec, usec, frame: x });
  frames.push({ sec, usec, frame: dataFrame(eth, i) });
}

function write(file, linktype, wrap) {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(linktype, 20);
  const parts = [header];
  for (const f of frames) {
    const bytes = wrap(f.frame);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(f.sec, 0);
    rec.writeUInt32LE(f.usec, 4);
    rec.writeUInt32LE(bytes.length, 8);
    rec.writeUInt32LE(bytes.length, 12);
    parts.push(rec, bytes);
  }
  fs.writeFileSync(file, Buffer.concat(parts));
}

// lab-eth.pcap → lab-wlan.pcap, lab-radiotap.pcap, lab-ppi.pcap
const base = path.join(outDir, path.basename(inFile, '.pcap').replace(/-eth$/, ''));
write(`${base}-wlan.pcap`, 105, (f) => f);
write(`${base}-radiotap.pcap`, 127, radiotap);
write(`${base}-ppi.pcap`, 192, ppi);
