import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { NF_ACCEPT, NF_DROP, VERDICT_MSG_LEN, configCommandMessage, configParamsMessage, parseQueuedPacket, writeVerdictMessage } from '../../../lib/capture/nfnetlink-queue';

/** Split a netlink datagram into messages and their attributes (type → value bytes). */
function parse(buf: Buffer): Array<{ type: number; flags: number; queue: number; attrs: Map<number, Buffer> }> {
  const out = [];
  let off = 0;
  while (off < buf.length) {
    const len = buf.readUInt32LE(off);
    assert.ok(len >= 20 && off + len <= buf.length, `message length ${len} at ${off}`);
    const attrs = new Map<number, Buffer>();
    let a = off + 20;
    while (a < off + len) {
      const alen = buf.readUInt16LE(a);
      attrs.set(buf.readUInt16LE(a + 2), buf.subarray(a + 4, a + alen));
      a += (alen + 3) & ~3;
    }
    assert.equal(a, off + len, 'attributes fill the message exactly');
    out.push({ type: buf.readUInt16LE(off + 4), flags: buf.readUInt16LE(off + 6), queue: buf.readUInt16BE(off + 18), attrs });
    off += len;
  }
  return out;
}

describe('nfnetlink_queue messages', () => {
  test('config: copy range, queue length and the fail-open flag with its mask', () => {
    for (const failOpen of [true, false]) {
      const [m] = parse(configParamsMessage(513, 128, 77, failOpen));
      assert.equal(m.type, (3 << 8) | 2, 'NFNL_SUBSYS_QUEUE / NFQNL_MSG_CONFIG');
      assert.equal(m.flags & 1, 1, 'NLM_F_REQUEST');
      assert.equal(m.queue, 513);
      const params = m.attrs.get(2)!;
      assert.equal(params.readUInt32BE(0), 128);
      assert.equal(params[4], 2, 'NFQNL_COPY_PACKET');
      assert.equal(m.attrs.get(3)!.readUInt32BE(0), 77);
      assert.equal(m.attrs.get(4)!.readUInt32BE(0), 1, 'mask covers fail-open only');
      assert.equal(m.attrs.get(5)!.readUInt32BE(0), failOpen ? 1 : 0);
    }
  });

  test('bind and unbind commands', () => {
    assert.equal(parse(configCommandMessage(9, 'bind'))[0].attrs.get(1)![0], 1);
    const [m] = parse(configCommandMessage(9, 'unbind'));
    assert.equal(m.attrs.get(1)![0], 2);
    assert.equal(m.queue, 9);
  });

  test('many verdicts in one datagram, each with its id and verdict; batch verdicts name the last id', () => {
    const buf = Buffer.alloc(VERDICT_MSG_LEN * 4);
    writeVerdictMessage(buf, 0, 4, 1, NF_ACCEPT);
    writeVerdictMessage(buf, VERDICT_MSG_LEN, 4, 0xfffffffe, NF_DROP);
    writeVerdictMessage(buf, VERDICT_MSG_LEN * 2, 4, 3, NF_ACCEPT);
    writeVerdictMessage(buf, VERDICT_MSG_LEN * 3, 4, 70, NF_DROP, true);
    const msgs = parse(buf);
    assert.deepEqual(msgs.map((m) => [m.type, m.queue, m.attrs.get(2)!.readUInt32BE(0), m.attrs.get(2)!.readUInt32BE(4)]), [
      [(3 << 8) | 1, 4, 1, 1],
      [(3 << 8) | 1, 4, 0, 0xfffffffe],
      [(3 << 8) | 1, 4, 1, 3],
      [(3 << 8) | 3, 4, 0, 70], // NFQNL_MSG_VERDICT_BATCH
    ]);
  });
});

describe('packets read from the socket', () => {
  /** An NFQNL_MSG_PACKET as the kernel sends it: packet header, in/out interface indexes, payload. */
  function packetMessage(queue: number, id: number, indev: number, payload: Buffer): Buffer {
    const attr = (type: number, data: Buffer) => {
      const b = Buffer.alloc((4 + data.length + 3) & ~3);
      b.writeUInt16LE(4 + data.length, 0);
      b.writeUInt16LE(type, 2);
      data.copy(b, 4);
      return b;
    };
    const hdr = Buffer.alloc(7);
    hdr.writeUInt32BE(id, 0);
    hdr.writeUInt16BE(0x0800, 4);
    hdr[6] = 1; // NF_INET_LOCAL_IN
    const u32 = (v: number) => Buffer.from([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]);
    // NLA_F_NESTED/NET_BYTEORDER bits set on one attribute, as some kernels do
    const body = Buffer.concat([attr(1, hdr), attr(5 | 0x4000, u32(indev)), attr(3, u32(0)), attr(10, payload)]);
    const out = Buffer.alloc(20 + body.length);
    out.writeUInt32LE(out.length, 0);
    out.writeUInt16LE(3 << 8, 4);
    out.writeUInt16BE(queue, 18);
    body.copy(out, 20);
    return out;
  }

  test('finds the id, interface indexes and payload of an NFQNL_MSG_PACKET', () => {
    const payload = Buffer.from('4500001c0000000040110000', 'hex');
    const msg = Buffer.concat([Buffer.alloc(8), packetMessage(7, 0xfffffff0, 3, payload)]);
    const m = parseQueuedPacket(msg, 8, msg.length - 8, 7)!;
    assert.equal(m.id, 0xfffffff0);
    assert.equal(m.indev, 3);
    assert.equal(m.outdev, 0);
    assert.deepEqual(msg.subarray(m.payloadStart, m.payloadEnd), payload);
  });

  test('other queues, other message types and truncated messages are not packets', () => {
    const msg = packetMessage(7, 1, 3, Buffer.alloc(20));
    assert.equal(parseQueuedPacket(msg, 0, msg.length, 8), null);
    assert.equal(parseQueuedPacket(msg, 0, msg.length + 4, 7), null);
    const err = Buffer.from(msg);
    err.writeUInt16LE(2, 4); // NLMSG_ERROR
    assert.equal(parseQueuedPacket(err, 0, err.length, 7), null);
    assert.equal(parseQueuedPacket(msg, 0, 28, 7), null, 'no payload attribute within the length');
  });
});
