#!/usr/bin/env python3
"""The Linux-side peer of the interop test on CPython's own socket module (the kernel's TCP), a peer that
usock did not write. usock_lwip_interop runs it inside the test's own network namespace; it only ever talks
to the address it is given there.

  interop_peer.py serve HOST               listen on HOST, port 0; print "PORT <n>"; echo one connection to
                                           EOF; print "PEER <host>:<port>"
  interop_peer.py connect HOST PORT BYTES  send "hello\\n", expect it back as a line, then BYTES of the
                                           pattern; half-close; expect the same bytes back, then EOF

Exit status 0 when everything checked out. The pattern is interop_pattern.hpp's.
"""
import socket
import sys
import threading


def pattern(size):
    return bytes(((i * 31 + (i >> 9)) & 0xFF) for i in range(size))


def serve(host):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.settimeout(30)
        server.bind((host, 0))
        server.listen(1)
        print("PORT", server.getsockname()[1], flush=True)
        conn, addr = server.accept()
        with conn:
            conn.settimeout(30)
            print("PEER %s:%d" % addr, flush=True)
            while True:
                data = conn.recv(16384)
                if not data:
                    break
                conn.sendall(data)
    return 0


def connect(host, port, size):
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(b"hello\n")
        reader = s.makefile("rb")
        if reader.readline() != b"hello\n":
            print("python peer: the greeting did not come back", file=sys.stderr)
            return 1
        payload = pattern(size)

        def write():
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)

        writer = threading.Thread(target=write)
        writer.start()
        echoed = reader.read()
        writer.join()
        if echoed != payload:
            print("python peer: %d bytes came back for %d sent, or different ones" % (len(echoed), size),
                  file=sys.stderr)
            return 1
        print("ECHOED", len(echoed), flush=True)
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "serve":
        return serve(argv[2])
    if len(argv) == 5 and argv[1] == "connect":
        return connect(argv[2], int(argv[3]), int(argv[4]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
