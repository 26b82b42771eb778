"""TCP Fast Open (RFC 7413) saves a round trip: the request goes in the SYN.

    a 10.0.0.1 ==100 Mb/s, 20 ms== b 10.0.0.2       (a round trip of 40 ms)

b serves a one-line echo with Fast Open on (``net.ipv4.tcp_fastopen = 3`` and
``setsockopt(TCP_FASTOPEN)``).  a sends three requests, each on a new connection, with
``sendto(..., MSG_FASTOPEN, address)``:

- the first SYN asks for a cookie (``tfo cookiereq``) and carries no data; the SYN-ACK brings the
  cookie, and the request follows the handshake: the reply comes after two round trips, and one
  more for ARP before the SYN;
- the next SYNs carry the cookie and the request; b's listener makes the connection at once and
  answers in the same round trip: one round trip.

    python examples/fast_open.py

The programs are plain Python socket programs, which ``tuxnet.socket.stdlib`` serves from their
hosts; the packets are printed as tcpdump prints them, on a's eth0.
"""

from __future__ import annotations

import socket
import sys
import time
from typing import TextIO

from tuxnet.socket import stdlib
from tuxnet.trace.capture import Capture
from tuxnet.world import World, msecs

TCP_FASTOPEN, MSG_FASTOPEN = 23, 0x20000000  # <linux/tcp.h>, <linux/socket.h>
REQUESTS = 3


def server() -> None:
    ls = socket.socket()
    ls.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN, 16)
    ls.bind(("10.0.0.2", 7))
    ls.listen()
    for _ in range(REQUESTS):
        conn, _ = ls.accept()
        conn.sendall(conn.recv(100))
        conn.close()


def client(times: list[float]) -> None:
    for i in range(REQUESTS):
        s = socket.socket()
        start = time.monotonic()
        s.sendto(b"request %d\n" % i, MSG_FASTOPEN, ("10.0.0.2", 7))
        s.recv(100)
        times.append(time.monotonic() - start)
        s.close()
        time.sleep(1)


def main(out: TextIO = sys.stdout) -> int:
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="100mbit", delay="20ms", a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    b.sysctl.set("net.ipv4.tcp_fastopen", "3")
    Capture(a, "eth0", tcpdump=lambda line: print(line, file=out))
    times: list[float] = []
    procs = [b.spawn(stdlib(server)), a.spawn(stdlib(client), times)]
    # (both to their end: the standard modules are given back once no program runs)
    world.run_until(lambda: not any(p.alive for p in procs), timeout=msecs(10_000))
    print(file=out)
    for i, t in enumerate(times):
        print(f"request {i}: the reply came {t * 1000:.1f} ms after the send", file=out)
    return 0 if len(times) == REQUESTS else 1


if __name__ == "__main__":
    sys.exit(main())
