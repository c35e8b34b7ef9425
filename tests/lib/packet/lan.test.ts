import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arpMessage, dhcpMessage, neighbourMessage } from '../../../lib/packet/lan';
import { decodePacket } from '../../../lib/packet/decode';
import { LINKTYPE_ETHERNET } from '../../../lib/packet/linktypes';
import { arp, ether } from '../../../bench/support/make-capture';
import { arpPacket, dhcpPacket, neighbourAdvert, neighbourSolicit } from '../../support/lan-frames';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';

test('an ARP reply gives opcode, sender and target, the hardware addresses from the ARP message', () => {
  const p = arpPacket(1, 2, A, '192.168.1.1', B, '192.168.1.20');
  assert.equal(p.payload.length, 28);
  assert.deepEqual(arpMessage(p), { op: 2, senderMac: A, senderIp: '192.168.1.1', targetMac: B, targetIp: '192.168.1.20' });
});

test('the ARP sender MAC is the one inside the message, even when the Ethernet source differs', () => {
  const frame = ether(B, '02:00:00:00:00:99', 0x0806, arp(2, A, '192.168.1.1', B, '192.168.1.20'));
  const p = decodePacket(frame, LINKTYPE_ETHERNET, 1, frame.length);
  assert.equal(p.srcMac, '02:00:00:00:00:99');
  assert.equal(arpMessage(p)?.senderMac, A);
});

test('a truncated or non-IPv4 ARP message reads as none', () => {
  const full = ether(B, A, 0x0806, arp(2, A, '192.168.1.1', B, '192.168.1.20'));
  const cut = decodePacket(full.subarray(0, 30), LINKTYPE_ETHERNET, 1, full.length);
  assert.equal(arpMessage(cut), null);
  const other = Buffer.from(full);
  other.writeUInt16BE(0x86dd, 14 + 2); // protocol type IPv6
  assert.equal(arpMessage(decodePacket(other, LINKTYPE_ETHERNET, 1, other.length)), null);
});

test('a neighbour advertisement gives its target and the target link-layer address option', () => {
  const p = neighbourAdvert(1, A, 'fe80::a', 'fd00::1', B);
  assert.deepEqual(neighbourMessage(p), { type: 136, target: 'fd00::1', mac: B });
  assert.deepEqual(neighbourMessage(neighbourAdvert(1, A, 'fe80::a', 'fd00::1', null)), { type: 136, target: 'fd00::1' });
});

test('a neighbour solicitation gives its target and the source link-layer address option', () => {
  assert.deepEqual(neighbourMessage(neighbourSolicit(1, A, 'fe80::a', 'fe80::1')), { type: 135, target: 'fe80::1', mac: A });
});

test('an option of length 0 ends option parsing instead of looping', () => {
  const p = neighbourAdvert(1, A, 'fe80::a', 'fd00::1', B);
  p.payload[17] = 0;
  assert.deepEqual(neighbourMessage(p), { type: 136, target: 'fd00::1' });
});

test('a DHCP request gives the client MAC and host name; an ACK the address it assigns', () => {
  const req = dhcpMessage(dhcpPacket(1, 3, { clientMac: A, clientIp: '192.168.1.50', hostname: 'cam-1' }));
  assert.deepEqual(req, { type: 3, clientMac: A, clientIp: '192.168.1.50', yourIp: '0.0.0.0', hostname: 'cam-1' });
  const ack = dhcpMessage(dhcpPacket(2, 5, { clientMac: A, yourIp: '192.168.1.50' }));
  assert.equal(ack?.type, 5);
  assert.equal(ack?.yourIp, '192.168.1.50');
});

test('a host name with control characters is left out; a UDP packet on other ports is no DHCP', () => {
  const p = dhcpPacket(1, 1, { clientMac: A, hostname: 'a\x01b' });
  assert.equal(dhcpMessage(p)?.hostname, undefined);
  p.dport = 69;
  assert.equal(dhcpMessage(p), null);
});
