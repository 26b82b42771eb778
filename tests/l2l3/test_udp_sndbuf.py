"""A datagram socket's send buffer (``sk_wmem_alloc``): what a qdisc or a neighbour entry still
holds is charged to the socket that sent it, so a fast sender waits for the link instead of
overflowing the queue below it, as on Linux (``sock_alloc_send_pskb``, ``sock_wfree``,
``sock_def_write_space``).  tests/tap/test_udp_sndbuf_vs_linux.py checks the amounts against this
machine's kernel."""

from __future__ import annotations

from typing import Any

from netlab import cable_pair, lan, run

from tuxnet.kernel.errno import EAGAIN
from tuxnet.net.core.sock import SO_SNDBUF, SO_SNDTIMEO, SOL_SOCKET
from tuxnet.net.ipv4.ip_output import IPPROTO_ICMP
from tuxnet.net.socket import AF_INET, MSG_DONTWAIT, POLLOUT, SIOCOUTQ, SOCK_DGRAM, SOCK_RAW
from tuxnet.user import libc
from tuxnet.user.iproute import ip
from tuxnet.user.tc import tc
from tuxnet.world import World, msecs, secs

# a 1,400-octet datagram's buffer on Ethernet: a 2 KB head (with skb_shared_info) and the sk_buff
TRUESIZE_1400 = 2304
SNDBUF = 212992  # net.core.wmem_default


def resolved_pair(shaper: str | None = None) -> tuple[World, Any, Any]:
    """``cable_pair`` at 10 Mb/s with b's address already known to a (a datagram that waits for
    it is held too: see the last tests), and ``shaper`` as a's root qdisc."""
    world, a, b = cable_pair("10mbit")
    ip(a, f"neigh add 10.0.0.2 lladdr {b.dev('eth0').dev_addr.hex(':')} dev eth0 nud permanent")
    if shaper:
        tc(a, shaper)
    return world, a, b


def _sink(count: list[int]) -> None:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.bind(fd, ("", 9000))
    while True:
        libc.recv(fd, 2048)
        count[0] += 1


def test_a_blocking_sender_is_paced_by_the_link_and_nothing_is_dropped():
    world, a, b = resolved_pair()
    got = [0]
    b.spawn(_sink, got)
    n = 3000

    def flood() -> tuple[int, int]:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        start = world.now
        for _ in range(n):
            libc.sendto(fd, b"x" * 1400, 0, ("10.0.0.2", 9000))
        return world.now - start, libc.ioctl(fd, SIOCOUTQ)

    took, outq = run(world, a, flood)
    # the sender ran ahead of the wire by what its send buffer held when it was done
    held, rest = divmod(outq, TRUESIZE_1400)
    assert rest == 0 and 0 < outq < SNDBUF + TRUESIZE_1400
    wire = (1400 + 8 + 20 + 14 + 4 + 8 + 12) * 8 / 10e6 * 1e9  # frame, preamble, gap at 10 Mb/s
    assert abs(took - (n - held) * wire) < 2 * wire
    world.run_for(secs(1))
    assert got[0] == n
    assert "dropped 0," in tc(a, "-s qdisc show dev eth0")
    assert a.mib.Udp["SndbufErrors"] == 0


def test_nonblocking_send_and_poll_on_a_full_buffer():
    world, a, b = resolved_pair()

    def fill() -> tuple[int, int, int, list[int], int, int]:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        sent = 0
        while sent < 1000:  # (a buffer that never filled would not stop it)
            try:
                libc.sendto(fd, b"x" * 1400, MSG_DONTWAIT, ("10.0.0.2", 9000))
            except OSError as e:
                assert e.errno == EAGAIN
                break
            sent += 1
        full = libc.ioctl(fd, SIOCOUTQ)
        start = world.now
        at_once = libc.poll([(fd, POLLOUT)], 0)
        woke = libc.poll([(fd, POLLOUT)], -1)  # sleeps until half the buffer is free
        return sent, full, world.now - start, at_once + woke, libc.ioctl(fd, SIOCOUTQ), fd

    sent, full, waited, events, outq, _ = run(world, a, fill)
    # the first frame went to the wire at once, then 93 filled the buffer
    assert (sent, full) == (94, 93 * TRUESIZE_1400)
    assert events == [0, POLLOUT]
    # sock_writeable: woken once less than half the send buffer is held (46 of 93 left)
    assert outq + 1 < SNDBUF // 2 <= outq + TRUESIZE_1400 + 1
    assert msecs(40) < waited < msecs(70)


def test_so_sndtimeo_bounds_the_wait_for_room():
    world, a, b = resolved_pair("qdisc replace dev eth0 root tbf rate 8kbit burst 1600 limit 10000000")

    def send_until_refused() -> tuple[int, int]:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, (0, 250_000))
        sent = 0
        try:
            while sent < 1000:
                libc.sendto(fd, b"x" * 1400, 0, ("10.0.0.2", 9000))
                sent += 1
        except OSError as e:
            assert e.errno == EAGAIN
        return sent, world.now

    start = world.now
    sent, end = run(world, a, send_until_refused)
    assert sent == 94
    assert end - start == msecs(250)


def test_datagrams_waiting_for_an_address_are_charged_until_dropped():
    world, (a, _b), _ = lan(2)

    def send_to_nobody() -> tuple[int, int]:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        for _ in range(3):
            libc.sendto(fd, b"x" * 1400, 0, ("10.0.0.66", 9000))
        waiting = libc.ioctl(fd, SIOCOUTQ)
        libc.sleep(5)  # the three solicitations go unanswered: the entry fails, the queue is dropped
        return waiting, libc.ioctl(fd, SIOCOUTQ)

    assert run(world, a, send_to_nobody) == (3 * TRUESIZE_1400, 0)


def test_a_raw_socket_is_charged_too():
    world, a, b = resolved_pair("qdisc replace dev eth0 root tbf rate 8kbit burst 1600 limit 10000000")

    def ping_flood() -> tuple[int, int]:
        fd = libc.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)
        libc.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, 20000)
        echo = bytes([8, 0, 0xF7, 0xFF, 0, 0, 0, 0]) + bytes(1392)  # a 1,400-octet echo request
        sent = 0
        while sent < 1000:  # (a buffer that never filled would not stop it)
            try:
                libc.sendto(fd, echo, MSG_DONTWAIT, ("10.0.0.2", 0))
            except OSError as e:
                assert e.errno == EAGAIN
                return sent, libc.ioctl(fd, SIOCOUTQ)
            sent += 1

    # SO_SNDBUF 20000 is 40,000 of buffer: the first frame left, 18 of 2,304 filled the rest
    assert run(world, a, ping_flood) == (19, 18 * TRUESIZE_1400)


def test_loopback_holds_nothing():
    world, a, _b = cable_pair()

    def send_lo() -> int:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        for _ in range(200):
            libc.sendto(fd, b"x" * 1400, MSG_DONTWAIT, ("127.0.0.1", 9000))
        return libc.ioctl(fd, SIOCOUTQ)

    assert run(world, a, send_lo) == 0
