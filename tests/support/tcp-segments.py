#!/usr/bin/env python3
"""Send one TCP request as hand-made segments, in the order given, over a raw socket.

Usage: tcp-segments.py SRC DST DPORT SEGMENTS_JSON
SEGMENTS_JSON: [[offset, "text"], ...] -- offsets into the request bytes (latin1);
segments may come in any order and overlap. The script does the handshake
(SYN, waits for the SYN-ACK, ACK), sends the segments 50 ms apart, waits for
the server to acknowledge the whole request, then sends a FIN (its own RSTs
would be dropped with the kernel's).
The caller must stop the kernel's own RSTs for this port (iptables), since
the kernel knows no socket for it. Prints 'acked N' with the bytes acknowledged.
"""
import json, random, socket, struct, sys, time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def segment(src, dst, sport, dport, seq, ack, flags, payload=b''):
    hdr = struct.pack('!HHIIBBHHH', sport, dport, seq & 0xffffffff, ack & 0xffffffff, 5 << 4, flags, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 6, len(hdr) + len(payload))
    csum = checksum(pseudo + hdr + payload)
    return hdr[:16] + struct.pack('!H', csum) + hdr[18:] + payload


def main():
    src, dst, dport, segs = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    total = max(off + len(text) for off, text in segs)
    sport = random.randint(40000, 60000)
    isn = random.randint(0, 2**31)
    out = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    inp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    inp.settimeout(0.2)

    def send(flags, seq, ack, payload=b''):
        out.sendto(segment(src, dst, sport, dport, seq, ack, flags, payload), (dst, 0))

    def wait(pred, seconds=5.0):
        end = time.time() + seconds
        while time.time() < end:
            try:
                pkt = inp.recv(65535)
            except socket.timeout:
                continue
            ihl = (pkt[0] & 0x0f) * 4
            sp, dp, seq, ack, off, flags = struct.unpack('!HHIIBB', pkt[ihl:ihl + 14])
            if socket.inet_ntoa(pkt[12:16]) == dst and sp == dport and dp == sport and pred(flags, seq, ack):
                return seq, ack
        raise SystemExit('no answer from %s:%d' % (dst, dport))

    send(0x02, isn, 0)
    sseq, _ = wait(lambda f, s, a: f & 0x12 == 0x12 and a == isn + 1)
    send(0x10, isn + 1, sseq + 1)
    for off, text in segs:
        send(0x18, isn + 1 + off, sseq + 1, text.encode('latin1'))
        time.sleep(0.05)
    _, acked = wait(lambda f, s, a: f & 0x10 and ((a - isn - 1) & 0xffffffff) >= total)
    send(0x11, isn + 1 + total, sseq + 1)
    print('acked', (acked - isn - 1) & 0xffffffff)


main()
