"""IPv4 multicast on a switched LAN (net/ipv4/igmp.c): only the hosts whose devices joined a group
take its datagrams; the sender's own copy comes back with IP_MULTICAST_LOOP; an IGMPv2 querier
puts the members in IGMPv2 mode, where one member's report saves the others theirs and the last
to report says when it leaves.  tests/tap/test_multicast_vs_linux.py sets the IGMPv3 exchange and
the socket calls beside this machine's kernel."""

from __future__ import annotations

import socket as pysock
import struct

from netlab import capture, lan, recvfrom_all, run

from tuxnet.net.core.checksum import csum_fold, csum_partial
from tuxnet.net.ipv4.igmp import IPPROTO_IGMP
from tuxnet.net.ipv4.ip_sockglue import (
    IP_ADD_MEMBERSHIP,
    IP_DROP_MEMBERSHIP,
    IP_MULTICAST_IF,
    IP_MULTICAST_LOOP,
    IP_MULTICAST_TTL,
    SOL_IP,
)
from tuxnet.net.socket import AF_INET, MSG_DONTWAIT, SOCK_DGRAM, SOCK_RAW
from tuxnet.user import libc

GROUP = pysock.inet_aton("239.1.1.1")


def _member(address: str, wait: float = 0.5) -> list:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.bind(fd, ("0.0.0.0", 5000))
    libc.setsockopt(fd, SOL_IP, IP_ADD_MEMBERSHIP, GROUP + pysock.inet_aton(address))
    libc.sleep(wait)
    return recvfrom_all(fd)


def test_only_members_take_a_group_and_the_sender_its_own_copy():
    world, (a, b, c), _ = lan(3)

    def bystander() -> list:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(fd, ("0.0.0.0", 5000))
        libc.sleep(0.5)
        return recvfrom_all(fd)

    def send() -> list:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(fd, ("0.0.0.0", 5000))
        libc.setsockopt(fd, SOL_IP, IP_ADD_MEMBERSHIP, GROUP + pysock.inet_aton("10.0.0.1"))
        libc.setsockopt(fd, SOL_IP, IP_MULTICAST_IF, pysock.inet_aton("10.0.0.1"))
        libc.sleep(0.1)
        libc.sendto(fd, b"looped", 0, ("239.1.1.1", 5000))
        libc.setsockopt(fd, SOL_IP, IP_MULTICAST_LOOP, 0)
        libc.sendto(fd, b"not looped", 0, ("239.1.1.1", 5000))
        libc.setsockopt(fd, SOL_IP, IP_MULTICAST_TTL, 0)
        libc.setsockopt(fd, SOL_IP, IP_MULTICAST_LOOP, 1)
        libc.sendto(fd, b"ttl 0", 0, ("239.1.1.1", 5000))
        libc.sleep(0.2)
        return [libc.recv(fd, 100, MSG_DONTWAIT) for _ in range(2)]

    members = [h.spawn(_member, f"10.0.0.{i}") for i, h in ((2, b),)]
    other = c.spawn(bystander)
    own = run(world, a, send)
    world.run_until(lambda: not any(p.alive for p in (*members, other)))
    assert own == [b"looped", b"ttl 0"]  # IP_MULTICAST_LOOP's; TTL 0 stays on the host
    assert [data for data, _ in members[0].result] == [b"looped", b"not looped"]
    assert other.result == []  # its NIC does not take the group's frames


def test_a_looped_copy_is_not_counted_as_received_by_the_device():
    """``dev_loopback_xmit`` hands the sender's copy to ``netif_rx`` with no driver in between:
    eth0 counts the datagrams it sent, and none as received (so does this machine's kernel, a veth
    device's statistics read before and after)."""
    world, (a, _b), _ = lan(2)

    def send() -> int:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(fd, ("0.0.0.0", 5000))
        libc.setsockopt(fd, SOL_IP, IP_ADD_MEMBERSHIP, GROUP + pysock.inet_aton("10.0.0.1"))
        libc.setsockopt(fd, SOL_IP, IP_MULTICAST_IF, pysock.inet_aton("10.0.0.1"))
        libc.sleep(11)  # past the join's unsolicited reports
        stats = a.dev("eth0").stats
        before = (stats.rx_packets, stats.rx_bytes, stats.tx_packets)
        for _ in range(3):
            libc.sendto(fd, b"looped", 0, ("239.1.1.1", 5000))
        libc.sleep(0.1)
        got = 0
        while True:
            try:
                libc.recv(fd, 100, MSG_DONTWAIT)
            except BlockingIOError:
                break
            got += 1
        assert (stats.rx_packets, stats.rx_bytes, stats.tx_packets) == (before[0], before[1], before[2] + 3)
        return got

    assert run(world, a, send) == 3


def _igmp(kind: int, code: int, group: int = 0) -> bytes:
    message = bytearray(struct.pack("!BBHI", kind, code, 0, group))
    struct.pack_into("!H", message, 2, csum_fold(csum_partial(message)))
    return bytes(message)


def test_an_igmpv2_querier_puts_the_members_in_igmpv2_mode():
    """After an IGMPv2 general query, one member's report (to the group) saves the other its
    own; leaving, the member that reported last sends an IGMPv2 leave to 224.0.0.2.  The one
    that answers does so once: the query's answer takes the place of the repetitions its join left
    unspent in IGMPv3 mode (``igmp_mod_timer`` clears ``unsolicit_count``), as this machine's
    kernel answers an IGMPv2 query, and a group-and-source query in tests/tap/test_ssm_vs_linux.py."""
    world, (querier, b, c), _ = lan(3)
    lines: list[str] = []
    cap = capture(querier, "eth0")

    def ask() -> None:
        fd = libc.socket(AF_INET, SOCK_RAW, IPPROTO_IGMP)
        libc.setsockopt(fd, SOL_IP, IP_MULTICAST_IF, pysock.inet_aton("10.0.0.1"))
        libc.sleep(2.5)  # after the members' IGMPv3 state-change reports
        libc.sendto(fd, _igmp(0x11, 100), 0, ("224.0.0.1", 0))  # v2, 10 s to answer

    def member(address: str, leave_at: float) -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.setsockopt(fd, SOL_IP, IP_ADD_MEMBERSHIP, GROUP + pysock.inet_aton(address))
        libc.sleep(leave_at)
        libc.setsockopt(fd, SOL_IP, IP_DROP_MEMBERSHIP, GROUP + pysock.inet_aton(address))
        libc.sleep(1)

    procs = [b.spawn(member, "10.0.0.2", 20), c.spawn(member, "10.0.0.3", 25), querier.spawn(ask)]
    world.run_until(lambda: not any(p.alive for p in procs), timeout=60 * 10**9)
    from tuxnet.trace.tcpdump import format_frame

    for _, frame, _ in cap.frames:
        line = format_frame(0, frame)
        if "igmp" in line:
            lines.append(line.split(" IP ", 1)[1])
    v3 = [line for line in lines if "v3 report" in line]
    assert len(v3) == 4  # each member's two IGMPv3 reports of its join
    after = [line for line in lines if "v3 report" not in line]
    assert after[0] == "10.0.0.1 > 224.0.0.1: igmp query v2"
    reports = [line for line in after if "v2 report" in line]
    reporter = reports[0].split(" ", 1)[0]
    assert reports == [f"{reporter} > 239.1.1.1: igmp v2 report 239.1.1.1"]
    leaves = [line for line in after if "leave" in line]
    # the member that reported sends the leave when it leaves; the other, which did not, stays quiet
    assert leaves == [f"{reporter} > 224.0.0.2: igmp leave 239.1.1.1"]


def test_a_group_on_loopback_is_reported_from_0_0_0_0():
    """Loopback's 127.0.0.1 is host-scoped, too narrow to be an IGMP report's source: as on this
    machine's kernel, ``tcpdump -i lo`` shows the join's reports from 0.0.0.0 (and lo has no
    link-layer group address)."""
    from tuxnet.trace.capture import Capture
    from tuxnet.user.iproute import ip
    from tuxnet.world import World

    world = World(seed=1)
    host = world.add_host("h")
    host.dev_open("lo")
    host.ip_addr_add("lo", "127.0.0.1/8")
    lines: list[str] = []
    Capture(host, "lo", tcpdump=lines.append)
    run(world, host, _member, "127.0.0.1", 1.5)
    world.run_for(3 * 10**9)
    assert [line.split(" ", 1)[1] for line in lines] == [
        "IP 0.0.0.0 > 224.0.0.22: igmp v3 report, 1 group record(s)"] * 4  # two joining, two leaving
    assert ip(host, "maddr show dev lo") == "1:\tlo\n\tinet  224.0.0.1\n"


def _igmp_query(rng, group: str) -> bytes:
    """An IGMP query of any version and length, its checksum right: v1/v2's eight octets, or v3's
    with a source count that may not match the sources, cut short at random."""
    grp = struct.unpack("!I", pysock.inet_aton(group))[0]
    if rng.random() < 0.3:
        body = bytearray(struct.pack("!BBHI", 0x11, rng.randrange(256), 0, grp))
    else:
        n = rng.randrange(6)
        body = bytearray(struct.pack("!BBHIBBH", 0x11, rng.randrange(256), 0, grp, rng.randrange(256),
                                     rng.randrange(256), rng.choice([n, n + 3, 0xFFFF]))
                         + b"".join(pysock.inet_aton(f"10.0.0.{rng.randrange(1, 20)}") for _ in range(n)))
        if rng.random() < 0.2:
            body = body[:rng.randrange(4, len(body) + 1)]
    struct.pack_into("!H", body, 2, 0)
    struct.pack_into("!H", body, 2, csum_fold(csum_partial(bytes(body))) ^ 0xFFFF)
    return bytes(body)


def test_random_filters_and_queries_leave_nothing_behind():
    """Sockets join, filter sources (INCLUDE and EXCLUDE, one at a time and whole filters), leave
    and close at random while a querier asks every kind of query, well-formed or not, and
    datagrams come from many sources: nothing breaks, and once every socket is closed and the
    leaves are told, the device is back to 224.0.0.1 alone, with no source and no tomb."""
    import random

    from tuxnet.net.ipv4.igmp import igmp_state

    rng = random.Random(20261203)
    world, (querier, member), _ = lan(2)
    groups = ["239.1.1.1", "239.2.2.2", "224.0.0.251"]

    def sources() -> bytes:
        return pysock.inet_aton(f"10.0.0.{rng.randrange(1, 20)}")

    def members() -> None:
        fds = [libc.socket(AF_INET, SOCK_DGRAM, 0) for _ in range(6)]
        for _ in range(400):
            libc.sleep(rng.random() * 0.05)
            i = rng.randrange(len(fds))
            group = pysock.inet_aton(rng.choice(groups)) + pysock.inet_aton("10.0.0.2")
            op = rng.randrange(5)
            try:
                if op == 0:
                    libc.setsockopt(fds[i], SOL_IP, rng.choice([37, 38, 39, 40]), group + sources())
                elif op == 1:
                    n = rng.randrange(5)
                    libc.setsockopt(fds[i], SOL_IP, 41, group + struct.pack("=II", rng.randrange(2), n)
                                    + b"".join(sources() for _ in range(n)))
                elif op == 2:
                    libc.setsockopt(fds[i], SOL_IP, rng.choice([IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP]), group)
                elif op == 3:
                    libc.close(fds[i])
                    fds[i] = libc.socket(AF_INET, SOCK_DGRAM, 0)
            except OSError:
                pass
        for fd in fds:
            libc.close(fd)

    def ask() -> None:
        q = libc.socket(AF_INET, SOCK_RAW, IPPROTO_IGMP)
        libc.setsockopt(q, SOL_IP, IP_MULTICAST_IF, pysock.inet_aton("10.0.0.1"))
        u = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.setsockopt(u, SOL_IP, IP_MULTICAST_IF, pysock.inet_aton("10.0.0.1"))
        for _ in range(300):
            libc.sleep(rng.random() * 0.07)
            group = rng.choice([*groups, "0.0.0.0"])
            libc.sendto(q, _igmp_query(rng, group), 0, (group if group != "0.0.0.0" else "224.0.0.1", 0))
            libc.sendto(u, b"d", 0, (rng.choice(groups), 5000))

    procs = [member.spawn(members), querier.spawn(ask)]
    world.run_until(lambda: not any(p.alive for p in procs), timeout=100 * 10**9)
    world.run_for(30 * 10**9)  # (every leave told, its repetitions done)
    st = igmp_state(member.dev("eth0"))
    assert list(st.mc_list) == [0xE0000001] and not st.mc_list[0xE0000001].sources
    assert st.mc_tomb == []
