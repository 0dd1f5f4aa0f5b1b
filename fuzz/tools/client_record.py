#!/usr/bin/env python3
"""Records a real server's side of client sessions as fuzz_client seeds.

usage: client_record.py LISTEN_PORT SERVER_PORT OUT O0 O1 [KEY=VALUE...] -- COMMAND...

Listens on 127.0.0.1:LISTEN_PORT, forwards every connection to
127.0.0.1:SERVER_PORT, runs COMMAND (which should connect to
LISTEN_PORT without TLS or compression), and writes OUT: the option
bytes O0 O1 (hex) and, per connection in accept order, the server's
packets as OP_PACKET records (packets that arrived with no client bytes
in between are joined into one turn), connections separated by
OP_NEXT_CONN. KEY=VALUE pairs become OP_CONFIG records (stream options
the harness sets, e.g. start=FILE:POS). A seed keeps at most LIMIT bytes
of records: the rest of a long dump is cut. The harness re-frames each payload with its own sequence
ids, so the client's answers need not match the recorded ones.
"""
import select
import socket
import struct
import subprocess
import sys
import threading

OP_PACKET, OP_NEXT_CONN, OP_CONFIG, JOIN = 8, 11, 12, 0x80
LIMIT = 60000  # bytes of records kept per seed: the rest of a long dump is cut


def relay(cli, log):
    srv = socket.create_connection(("127.0.0.1", SERVER_PORT))
    sbuf, client_spoke = b"", True
    socks = [cli, srv]
    while True:
        r, _, _ = select.select(socks, [], [], 30)
        if not r:
            break
        done = False
        for s in r:
            data = s.recv(65536)
            if not data:
                done = True
                break
            if s is cli:
                srv.sendall(data)
                client_spoke = True
            else:
                cli.sendall(data)
                sbuf += data
                while len(sbuf) >= 4:
                    n = int.from_bytes(sbuf[:3], "little")
                    if len(sbuf) < 4 + n:
                        break
                    log.append((not client_spoke, sbuf[4:4 + n]))
                    client_spoke = False
                    sbuf = sbuf[4 + n:]
        if done:
            break
    cli.close()
    srv.close()


def main():
    global SERVER_PORT
    lport, SERVER_PORT, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    o0, o1 = int(sys.argv[4], 16), int(sys.argv[5], 16)
    cmd = sys.argv[sys.argv.index("--") + 1:]
    configs = sys.argv[6:sys.argv.index("--")]
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", lport))
    ls.listen(16)
    logs, threads = [], []

    def accept_loop():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            log = []
            logs.append(log)
            t = threading.Thread(target=relay, args=(c, log), daemon=True)
            t.start()
            threads.append(t)

    threading.Thread(target=accept_loop, daemon=True).start()
    rc = subprocess.run(cmd).returncode
    for t in threads:
        t.join(5)
    ls.close()
    body = b""
    for kv in configs:
        body += bytes([OP_CONFIG]) + struct.pack("<H", len(kv)) + kv.encode()
    for i, log in enumerate(logs):
        if i:
            body += bytes([OP_NEXT_CONN]) + b"\0\0"
        for join, payload in log:
            payload = payload[:0xffff]
            r = bytes([OP_PACKET | (JOIN if join else 0)]) + struct.pack("<H", len(payload)) + payload
            if len(body) + len(r) > LIMIT:
                break
            body += r
    with open(out, "wb") as f:
        f.write(bytes([o0, o1]) + body)
    print("%s: %d connections, %d bytes, command exit %d" % (out, len(logs), len(body), rc))


if __name__ == "__main__":
    main()
