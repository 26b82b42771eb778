"""IP_MTU_DISCOVER on datagram sockets, as Linux applies it: WANT (the default) fragments what
does not fit and sets DF on what does; DO refuses a datagram bigger than the path MTU with
EMSGSIZE; DONT never sets DF."""

from __future__ import annotations

import errno

from conftest import run_program
from tuxnet.net.ipv4.af_inet import IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_PMTUDISC_DONT, IPPROTO_IP
from tuxnet.net.socket import AF_INET, SOCK_DGRAM
from tuxnet.trace.capture import Capture
from tuxnet.user import libc
from tuxnet.world import World


def _pair():
    world = World(seed=2)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="100mbit", delay="10us", mtu=1500, a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    return world, a, b


def _df_flags(frames):
    """(DF set, fragment) for each IPv4 frame seen."""
    out = []
    for _, frame, _ in frames:
        if frame[12:14] == b"\x08\x00":
            frag = int.from_bytes(frame[20:22], "big")
            out.append((bool(frag & 0x4000), bool(frag & 0x2000) or bool(frag & 0x1FFF)))
    return out


def test_modes_decide_df_fragmentation_and_emsgsize():
    world, a, b = _pair()
    cap = Capture(a, "eth0")
    cap.keep = True
    got = []

    def receiver():
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(fd, ("10.0.0.2", 9999))
        for _ in range(3):
            got.append(len(libc.recvfrom(fd, 65536)[0]))

    def sender():
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.sendto(fd, b"s" * 100, 0, ("10.0.0.2", 9999))      # WANT, fits: DF
        libc.sendto(fd, b"b" * 4000, 0, ("10.0.0.2", 9999))     # WANT, too big: fragmented, no DF
        libc.setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
        try:
            libc.sendto(fd, b"x" * 4000, 0, ("10.0.0.2", 9999))
        except OSError as e:
            refused = e.errno
        libc.setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
        libc.sendto(fd, b"d" * 100, 0, ("10.0.0.2", 9999))      # DONT: no DF
        return refused

    b.spawn(receiver)
    assert run_program(world, a, sender) == errno.EMSGSIZE
    world.run()
    assert got == [100, 4000, 100]
    flags = _df_flags(cap.frames)
    assert flags[0] == (True, False)
    assert all(f == (False, True) for f in flags[1:4]) and len(flags) == 5
    assert flags[4] == (False, False)


def _send_df(size: int) -> None:
    """One UDP datagram of ``size`` bytes to b with DF forced (IP_PMTUDISC_DO)."""
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
    libc.sendto(fd, bytes(size), 0, ("10.0.3.2", 9))
    libc.sleep(0.1)  # r1's ICMP comes back meanwhile
    libc.close(fd)


def test_icmp_frag_needed_teaches_the_route_unless_its_mtu_is_locked():
    from netlab import two_routers

    from tuxnet.user.iproute import ip

    world, n = two_routers(middle_mtu=1000)
    a = n["a"]
    ip(a, "route add 10.0.3.0/24 via 10.0.1.254 mtu 1400")
    run_program(world, a, _send_df, 1300)
    # RFC 1191: r1 answered "fragmentation needed, next-hop MTU 1000"; the route keeps it for
    # ten minutes, and ip route get shows it as Linux does (rt_fill_info).
    assert ip(a, "route get 10.0.3.2") == ("10.0.3.2 via 10.0.1.254 dev eth0 src 10.0.1.1 uid 0 \n"
                                           "    cache expires 599sec mtu 1000 \n")
    world, n = two_routers(middle_mtu=1000)
    a = n["a"]
    ip(a, "route add 10.0.3.0/24 via 10.0.1.254 mtu lock 1400")
    run_program(world, a, _send_df, 1300)
    assert n["r1"].mib.Icmp["OutDestUnreachs"] == 1  # the same answer, ignored: the MTU is locked
    assert ip(a, "route get 10.0.3.2").endswith("    cache mtu lock 1400 \n")
