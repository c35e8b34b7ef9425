#!/usr/bin/env python3
"""A line-based TCP server and its clients, for inline tests of a dropped connection.

  tick-tcp.py server PORT
      Prints 'ready'. Per connection: prints 'recv <peer> <line>' for each line
      received; after a 'hello' line sends a 200-byte 'tick' line every 50 ms
      for the connection's life; answers 'ping' with 'pong'.

  tick-tcp.py attack HOST PORT LINE
      Connects, says hello, reads 3 ticks, prints 'ticking', sends LINE, prints
      'sent', then keeps reading (so its kernel ACKs what arrives) and sends a
      'more' line every 0.5 s until killed.

  tick-tcp.py benign HOST PORT
      Connects, says hello, reads 3 ticks, sends ping, prints 'pong' when the
      answer arrives and exits 0 (exit 1 after 15 s without it).
"""
import socket
import sys
import threading
import time


def serve(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('0.0.0.0', port))
    srv.listen(16)
    print('ready', flush=True)

    def handle(conn, peer):
        lock = threading.Lock()

        def send(data):
            with lock:
                conn.sendall(data)

        def tick():
            n = 0
            while True:
                try:
                    send(b'tick %06d ' % n + b'.' * 188 + b'\n')
                except OSError:
                    return
                n += 1
                time.sleep(0.05)

        ticking = False
        for line in conn.makefile('rb'):
            text = line.decode('latin1').strip()
            print('recv', peer[0], text, flush=True)
            if text == 'hello' and not ticking:
                ticking = True
                threading.Thread(target=tick, daemon=True).start()
            elif text == 'ping':
                send(b'pong\n')

    while True:
        conn, peer = srv.accept()
        threading.Thread(target=handle, args=(conn, peer), daemon=True).start()


def hello(host, port):
    s = socket.create_connection((host, port), timeout=15)
    s.sendall(b'hello\n')
    buf = b''
    while buf.count(b'tick') < 3:
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit('closed before 3 ticks')
        buf += chunk
    return s


def attack(host, port, line):
    s = hello(host, port)
    print('ticking', flush=True)
    s.sendall(line.encode('latin1') + b'\n')
    print('sent', flush=True)
    s.settimeout(0.5)
    while True:
        try:
            if not s.recv(65536):
                print('closed', flush=True)
                return
        except socket.timeout:
            pass
        try:
            s.sendall(b'more\n')
        except socket.timeout:
            pass
        except OSError as err:
            print('error', err, flush=True)
            return


def benign(host, port):
    s = hello(host, port)
    s.sendall(b'ping\n')
    buf = b''
    deadline = time.time() + 15
    while b'pong' not in buf:
        if time.time() > deadline:
            sys.exit(1)
        chunk = s.recv(65536)
        if not chunk:
            sys.exit(1)
        buf += chunk
    print('pong', flush=True)


if __name__ == '__main__':
    mode = sys.argv[1]
    if mode == 'server':
        serve(int(sys.argv[2]))
    elif mode == 'attack':
        attack(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        benign(sys.argv[2], int(sys.argv[3]))
