"""IP_MTU_DISCOVER on datagram sockets, as Linux applies it: WANT (the default) fragments what
does not fit and sets DF on what does; DO refuses a datagram bigger than the path MTU with
EMSGSIZE; DONT never sets DF."""

from __future__ import annotations

import errno

import pytest

from procs import run_program
from tuxnet.net.core.utils import in_aton
from tuxnet.net.ipv4.af_inet import IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_PMTUDISC_DONT, IPPROTO_IP
from tuxnet.net.ipv4.ip_output import IP_PMTUDISC_PROBE
from tuxnet.net.socket import AF_INET, SOCK_DGRAM
from tuxnet.trace.capture import Capture
from tuxnet.user import libc
from tuxnet.world import World, secs


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


def _send_probe(size: int) -> None:
    """One UDP datagram of ``size`` bytes to b with IP_PMTUDISC_PROBE: DF, the path MTU ignored."""
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE)
    libc.sendto(fd, bytes(size), 0, ("10.0.3.2", 9))
    libc.sleep(0.1)
    libc.close(fd)


def _send_want(size: int) -> None:
    """One UDP datagram of ``size`` bytes to b with the default IP_PMTUDISC_WANT."""
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.sendto(fd, bytes(size), 0, ("10.0.3.2", 9))
    libc.sleep(0.1)
    libc.close(fd)


def _sent_ip(cap) -> list[tuple[int, bool, bool]]:
    """(total length, DF, MF) of each IPv4 packet a sent toward 10.0.3.2."""
    return [(int.from_bytes(f[16:18], "big"), bool(f[20] & 0x40), bool(f[20] & 0x20))
            for _, f, _ in cap.frames if f[12:14] == b"\x08\x00" and f[30:34] == bytes([10, 0, 3, 2])]


def ip_route_get(host) -> str:
    from tuxnet.user.iproute import ip

    return ip(host, "route get 10.0.3.2")


def test_a_path_mtu_below_min_pmtu_is_locked_at_the_floor_without_df():
    """__ip_rt_update_pmtu: 500 < route.min_pmtu, so the route learns 552, locked: DF goes, the
    datagrams are fragmented to 552, and no later "fragmentation needed" changes it."""
    from netlab import capture, two_routers

    from tuxnet.user.iproute import ip

    world, n = two_routers(middle_mtu=500)
    a = n["a"]
    cap = capture(a, "eth0")
    run_program(world, a, _send_want, 1000)
    assert ip(a, "route get 10.0.3.2").endswith("    cache expires 599sec mtu lock 552 \n")
    run_program(world, a, _send_want, 1000)
    assert _sent_ip(cap) == [(1028, True, False), (548, False, True), (500, False, False)]
    ip(a, "route add 10.0.3.0/24 via 10.0.1.254 mtu 400")  # a smaller route MTU: the lock stays
    assert n["r1"].mib.Icmp["OutDestUnreachs"] == 1


def test_the_same_path_mtu_again_refreshes_it_only_in_the_second_half_of_its_life():
    from netlab import two_routers


    world, n = two_routers(middle_mtu=1000)
    a = n["a"]
    a.sysctl.set("net.ipv4.route.mtu_expires", "100")
    run_program(world, a, _send_df, 1300)
    learned = a.fnhe_cache[in_aton("10.0.3.2")].expires
    assert secs(99) < learned - world.now < secs(100)
    world.run_for(secs(40))
    run_program(world, a, _send_probe, 1300)  # 40 s in: the entry stays as it was
    assert n["r1"].mib.Icmp["OutDestUnreachs"] == 2
    assert a.fnhe_cache[in_aton("10.0.3.2")].expires == learned
    world.run_for(secs(20))
    run_program(world, a, _send_probe, 1300)  # past half its life: renewed for 100 s
    assert n["r1"].mib.Icmp["OutDestUnreachs"] == 3
    assert a.fnhe_cache[in_aton("10.0.3.2")].expires > learned + secs(50)
    world.run_for(secs(101))
    assert "expires" not in ip_route_get(a)


@pytest.mark.parametrize("mode,expect", [(0, "mtu 1000"), (1, "mtu lock 552"), (2, None), (3, None)])
def test_ip_no_pmtu_disc_decides_what_fragmentation_needed_teaches(mode, expect):
    """net.ipv4.ip_no_pmtu_disc as ip-sysctl.rst has it: 0 believes the MTU; 1 sets the path to
    min_pmtu (locked); 2 ignores the message; 3 believes it only for TCP (not for this UDP)."""
    from netlab import two_routers

    world, n = two_routers(middle_mtu=1000)
    a = n["a"]
    a.sysctl.set("net.ipv4.ip_no_pmtu_disc", str(mode))
    run_program(world, a, _send_df, 1300)
    assert n["r1"].mib.Icmp["OutDestUnreachs"] == 1
    cache = ip_route_get(a).splitlines()[1]
    assert cache == (f"    cache expires 599sec {expect} " if expect else "    cache ")


def test_tcp_below_the_floor_sends_552_byte_segments_without_df():
    """tcp_v4_err → tcp_v4_mtu_reduced with an MTU of 500: the route locks 552, the MSS becomes
    552 - 52 and the segments go without DF, for r1 to fragment them onto the 500-byte link."""
    from collections import Counter

    from netlab import capture, run, two_routers

    from tuxnet.benchmarks import tcp_sink, tcp_source

    world, n = two_routers(middle_mtu=500)
    a, b = n["a"], n["b"]
    cap = capture(a, "eth0")
    got: list[int] = []
    b.spawn(tcp_sink, "10.0.3.2", 5001, got)
    run(world, a, tcp_source, "10.0.3.2", 5001, bytes(1 << 16), 200_000)
    world.run_for(secs(1))
    assert got == [200_000]
    sizes = Counter(_sent_ip(cap))
    # Full-sized packets only in the first flight, at most the initial window of 10: TCP Small
    # Queues may hold a few of it back until the first ones have left the qdisc, and by then r1's
    # "fragmentation needed" has come back, so those go at the new MSS.
    assert 1 <= sizes[(1500, True, False)] <= 10
    assert sizes[(552, False, False)] > 300 and not any(df for (size, df, _) in sizes if size > 60 and size != 1500)
    assert ip_route_get(a).endswith(" mtu lock 552 \n")
    assert n["r1"].mib.Ip["FragCreates"] > 600
