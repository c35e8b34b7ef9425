/**
 * nfnetlink_queue messages (linux/netfilter/nfnetlink_queue.h), the stable
 * kernel ABI of NFQUEUE: the config and verdict messages the queue handle
 * writes on the binding's netlink socket, and the packet messages it reads.
 */

/** Verdict numbers from linux/netfilter.h. */
export const NF_DROP = 0;
export const NF_ACCEPT = 1;

const NFNL_SUBSYS_QUEUE = 3;
const NFQNL_MSG_VERDICT = 1;
const NFQNL_MSG_CONFIG = 2;
/** Verdicts every packet still queued with an id up to the given one (kernel queue order is id order). */
const NFQNL_MSG_VERDICT_BATCH = 3;
const NLM_F_REQUEST = 1;
const NFQA_VERDICT_HDR = 2;
const NFQA_CFG_CMD = 1;
const NFQA_CFG_PARAMS = 2;
const NFQA_CFG_QUEUE_MAXLEN = 3;
const NFQA_CFG_MASK = 4;
const NFQA_CFG_FLAGS = 5;
export const NFQA_CFG_F_FAIL_OPEN = 1;
const NFQNL_CFG_CMD_BIND = 1;
const NFQNL_CFG_CMD_UNBIND = 2;
const NFQNL_COPY_PACKET = 2;
/** Length of a netlink message header (each message starts with its length, u32 little-endian). */
export const NLMSG_HDRLEN = 16;
const NFGENMSG_LEN = 4;
/** One verdict (or batch verdict) message: header, nfgenmsg, NFQA_VERDICT_HDR attribute (4 + 8). */
export const VERDICT_MSG_LEN = NLMSG_HDRLEN + NFGENMSG_LEN + 12;

function nlattr(type: number, data: Buffer): Buffer {
  const len = 4 + data.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  data.copy(out, 4);
  return out;
}

function be32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

function nfqMessage(msgType: number, queue: number, attrs: Buffer[]): Buffer {
  const body = Buffer.concat(attrs);
  const out = Buffer.alloc(NLMSG_HDRLEN + NFGENMSG_LEN + body.length);
  out.writeUInt32LE(out.length, 0);
  out.writeUInt16LE((NFNL_SUBSYS_QUEUE << 8) | msgType, 4);
  out.writeUInt16LE(NLM_F_REQUEST, 6);
  // seq and portid stay 0: the kernel fills in the sender's port id.
  out[16] = 0; // AF_UNSPEC
  out[17] = 0; // NFNETLINK_V0
  out.writeUInt16BE(queue, 18);
  body.copy(out, NLMSG_HDRLEN + NFGENMSG_LEN);
  return out;
}

/** NFQNL_MSG_CONFIG with a bind/unbind command. */
export function configCommandMessage(queue: number, command: 'bind' | 'unbind'): Buffer {
  const cmd = Buffer.from([command === 'bind' ? NFQNL_CFG_CMD_BIND : NFQNL_CFG_CMD_UNBIND, 0, 0, 0]);
  return nfqMessage(NFQNL_MSG_CONFIG, queue, [nlattr(NFQA_CFG_CMD, cmd)]);
}

/** NFQNL_MSG_CONFIG setting copy mode/range, queue length and the fail-open flag. */
export function configParamsMessage(queue: number, copyRange: number, maxLen: number, failOpen: boolean): Buffer {
  const params = Buffer.alloc(5);
  params.writeUInt32BE(copyRange, 0);
  params[4] = NFQNL_COPY_PACKET;
  return nfqMessage(NFQNL_MSG_CONFIG, queue, [
    nlattr(NFQA_CFG_PARAMS, params),
    nlattr(NFQA_CFG_QUEUE_MAXLEN, be32(maxLen)),
    nlattr(NFQA_CFG_MASK, be32(NFQA_CFG_F_FAIL_OPEN)),
    nlattr(NFQA_CFG_FLAGS, be32(failOpen ? NFQA_CFG_F_FAIL_OPEN : 0)),
  ]);
}

/**
 * Write one NFQNL_MSG_VERDICT into `out` at `offset`; with `upTo`, an
 * NFQNL_MSG_VERDICT_BATCH for every packet still queued with an id up to `id`.
 */
export function writeVerdictMessage(out: Buffer, offset: number, queue: number, id: number, verdict: number, upTo = false): void {
  out.writeUInt32LE(VERDICT_MSG_LEN, offset);
  out.writeUInt16LE((NFNL_SUBSYS_QUEUE << 8) | (upTo ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT), offset + 4);
  out.writeUInt16LE(NLM_F_REQUEST, offset + 6);
  out.writeUInt32LE(0, offset + 8);
  out.writeUInt32LE(0, offset + 12);
  out[offset + 16] = 0;
  out[offset + 17] = 0;
  out.writeUInt16BE(queue, offset + 18);
  out.writeUInt16LE(12, offset + 20);
  out.writeUInt16LE(NFQA_VERDICT_HDR, offset + 22);
  out.writeUInt32BE(verdict, offset + 24);
  out.writeUInt32BE(id >>> 0, offset + 28);
}

const NFQNL_MSG_PACKET = 0;
const NFQA_PACKET_HDR = 1;
const NFQA_IFINDEX_INDEV = 5;
const NFQA_IFINDEX_OUTDEV = 6;
const NFQA_PAYLOAD = 10;

/** Where the fields of one NFQNL_MSG_PACKET are in a buffer. */
export interface QueuedPacketFields {
  id: number;
  indev: number;
  outdev: number;
  payloadStart: number;
  payloadEnd: number;
}

/** The NFQNL_MSG_PACKET of queue `queue` at `start` (`len` bytes), or null for any other message. */
export function parseQueuedPacket(b: Buffer, start: number, len: number, queue: number): QueuedPacketFields | null {
  const end = start + len;
  if (len < NLMSG_HDRLEN + NFGENMSG_LEN || end > b.length) return null;
  if (b.readUInt16LE(start + 4) !== ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET) || b.readUInt16BE(start + 18) !== queue) return null;
  const out: QueuedPacketFields = { id: -1, indev: 0, outdev: 0, payloadStart: 0, payloadEnd: 0 };
  let hasPayload = false;
  for (let a = start + NLMSG_HDRLEN + NFGENMSG_LEN; a + 4 <= end; ) {
    const alen = b.readUInt16LE(a);
    if (alen < 4 || a + alen > end) break;
    const type = b.readUInt16LE(a + 2) & 0x3fff; // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
    if (type === NFQA_PACKET_HDR && alen >= 8) out.id = b.readUInt32BE(a + 4);
    else if (type === NFQA_IFINDEX_INDEV && alen >= 8) out.indev = b.readUInt32BE(a + 4);
    else if (type === NFQA_IFINDEX_OUTDEV && alen >= 8) out.outdev = b.readUInt32BE(a + 4);
    else if (type === NFQA_PAYLOAD) {
      out.payloadStart = a + 4;
      out.payloadEnd = a + alen;
      hasPayload = true;
    }
    a += (alen + 3) & ~3;
  }
  return out.id >= 0 && hasPayload ? out : null;
}
