"""Ping sockets across a cable (net/ipv4/ping.c): each socket's echo requests carry its own
identifier, and each gets only the replies to them; a raw ICMP socket sees every reply as well.
tests/tap/test_ping_socket_vs_linux.py sets the socket calls beside this machine's kernel."""

from __future__ import annotations

import struct

from netlab import cable_pair, run

from tuxnet.kernel.errno import EACCES
from tuxnet.net.ipv4.ip_output import IPPROTO_ICMP
from tuxnet.net.socket import AF_INET, MSG_DONTWAIT, SOCK_DGRAM, SOCK_RAW
from tuxnet.user import libc


def _echo(seq: int) -> bytes:
    return struct.pack("!BBHHH", 8, 0, 0, 0, seq) + b"payload"


def test_no_ping_socket_unless_the_group_may():
    world, a, _b = cable_pair()

    def make() -> int:
        try:
            libc.socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)
        except OSError as e:
            return e.errno
        return 0

    assert run(world, a, make) == EACCES
    a.sysctl.set("net.ipv4.ping_group_range", "0 0")
    assert run(world, a, make) == 0


def test_each_socket_gets_the_replies_to_its_own_echoes():
    world, a, b = cable_pair()
    a.sysctl.set("net.ipv4.ping_group_range", "0 2147483647")

    def pings() -> tuple[list[tuple[int, int]], list[tuple[int, int]], int]:
        first = libc.socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)
        second = libc.socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)
        raw = libc.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)
        for seq in (1, 2):
            libc.sendto(first, _echo(seq), 0, ("10.0.0.2", 0))
        libc.sendto(second, _echo(3), 0, ("10.0.0.2", 0))
        libc.sleep(0.1)
        idents = [libc.getsockname(fd)[1] for fd in (first, second)]

        def replies(fd: int) -> list[tuple[int, int]]:
            got = []
            while True:
                try:
                    data, source = libc.recvfrom(fd, 100, MSG_DONTWAIT)
                except BlockingIOError:
                    return got
                assert data[0] == 0 and source == ("10.0.0.2", 0) and data[8:] == b"payload"
                ident, seq = struct.unpack_from("!HH", data, 4)
                got.append((idents.index(ident), seq))

        raw_replies = 0
        while True:
            try:
                libc.recvfrom(raw, 100, MSG_DONTWAIT)
            except BlockingIOError:
                break
            raw_replies += 1
        return replies(first), replies(second), raw_replies

    first, second, raw_replies = run(world, a, pings)
    assert (first, second, raw_replies) == ([(0, 1), (0, 2)], [(1, 3)], 3)
    assert (a.mib.Icmp["OutEchos"], a.mib.Icmp["InEchoReps"], b.mib.Icmp["InEchos"]) == (3, 3, 3)
