"""UDP corking over a cable (MSG_MORE, UDP_CORK, net/ipv4/udp.c): nothing leaves while the
datagram is pending; the push sends one datagram, fragmented to the cable's MTU and whole at the
receiver.  tests/tap/test_udp_cork_vs_linux.py sets the calls beside this machine's kernel."""

from __future__ import annotations

from netlab import cable_pair, capture, run

from tuxnet.net.ipv4.udp import UDP_CORK
from tuxnet.net.socket import AF_INET, MSG_MORE, SIOCOUTQ, SOCK_DGRAM
from tuxnet.user import libc

IPPROTO_UDP = 17


def test_a_corked_datagram_leaves_whole_when_pushed():
    world, a, b = cable_pair()
    cap = capture(a, "eth0")

    def receive() -> list[bytes]:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(fd, ("10.0.0.2", 7000))
        return [libc.recv(fd, 70000) for _ in range(2)]

    def send() -> tuple[int, int, int]:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        for part in (b"a" * 1000, b"b" * 1000):
            libc.sendto(fd, part, MSG_MORE, ("10.0.0.2", 7000))
        libc.sleep(0.01)
        frames_while_pending = len(cap.frames)
        held = libc.ioctl(fd, SIOCOUTQ)
        libc.sendto(fd, b"c" * 1000, 0, ("10.0.0.2", 7000))
        libc.setsockopt(fd, IPPROTO_UDP, UDP_CORK, 1)
        libc.sendto(fd, b"d" * 10, 0, ("10.0.0.2", 7000))
        libc.sendto(fd, b"e" * 10, 0, ("10.0.0.2", 7000))
        libc.setsockopt(fd, IPPROTO_UDP, UDP_CORK, 0)
        return frames_while_pending, held, libc.getsockopt(fd, IPPROTO_UDP, UDP_CORK)

    receiver = b.spawn(receive)
    frames_while_pending, held, cork = run(world, a, send)
    world.run_until(lambda: not receiver.alive)
    assert frames_while_pending == 0 and held > 2000 and cork == 0
    assert receiver.result == [b"a" * 1000 + b"b" * 1000 + b"c" * 1000, b"d" * 10 + b"e" * 10]
    udp_fragments = [frame for _, frame, _ in cap.frames if frame[23] == 17]  # IPv4 protocol UDP
    assert len(udp_fragments) == 4  # 3,008 octets of UDP over a 1,500 MTU in three, and one
