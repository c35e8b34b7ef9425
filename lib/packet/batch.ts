import type { Packet, PacketPayload } from './types';

/** True when a message payload is a packet batch (array) rather than one packet. */
export function isBatch(payload: PacketPayload): payload is Packet[] {
  return Array.isArray(payload);
}

/** The packets of a message payload, as an array (a single packet becomes a one-element array). */
export function packetsOf(payload: PacketPayload): Packet[] {
  return Array.isArray(payload) ? payload : [payload];
}

/** Loose check that a value looks like a Packet (for refusing bad input with a reason). */
export function looksLikePacket(value: unknown): value is Packet {
  if (value === null || typeof value !== 'object') return false;
  const p = value as Partial<Packet>;
  return typeof p.ts === 'number' && typeof p.src === 'string' && typeof p.dst === 'string' && typeof p.proto === 'string';
}
