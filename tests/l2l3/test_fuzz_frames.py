"""Odd frames on real wires: a host, a switch, a router and a second host, and frames of every
shape arriving at each NIC with a good FCS: ARP with any fields, IPv4 with any TTL, options,
fragment bits and destination (broadcast, multicast, the router's other side), ICMP, UDP and TCP
with any contents, VLAN tags, unknown ethertypes, runts and giants.  Nothing may raise out of the
stack, and afterwards the network still works: the first host pings the second."""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netlab import run

from tuxnet.drivers.net.ether import eth_skb_pad, ether_fcs, ether_rx
from tuxnet.net.core.checksum import csum_fold, csum_partial
from tuxnet.user.iproute import ip
from tuxnet.user.programs.ping import ping
from tuxnet.world import World, msecs

ADDRS = ["10.0.1.2", "10.0.1.1", "10.0.2.1", "10.0.2.2", "10.0.1.255", "255.255.255.255", "224.0.0.1",
         "239.1.1.1", "224.0.0.22", "0.0.0.0", "127.0.0.1", "10.0.1.77", "192.0.2.9"]
OURS = {"10.0.1.2", "10.0.1.1", "10.0.2.1", "10.0.2.2"}


def build() -> tuple[World, dict]:
    world = World(seed=9)
    a, sw, r, b = world.add_host("a"), world.add_switch("sw"), world.add_router("r"), world.add_host("b")
    la = world.connect(a, sw, a_addr="10.0.1.2/24")
    lr = world.connect(r, sw, a_addr="10.0.1.1/24")
    lb = world.connect(r, b, a_addr="10.0.2.1/24", b_addr="10.0.2.2/24")
    a.ip_route_add("default", via="10.0.1.1")
    b.ip_route_add("default", via="10.0.2.1")
    for host, addr in ((a, "10.0.10.2/24"), (r, "10.0.10.1/24")):  # VLAN 10 on the LAN, for tagged frames
        ip(host, "link add link eth0 name eth0.10 type vlan id 10")
        ip(host, f"addr add {addr} dev eth0.10")
        ip(host, "link set eth0.10 up")
    world.run_for(msecs(10))
    devs = {"a": la.a, "sw<-a": la.b, "r lan": lr.a, "r wan": lb.a, "b": lb.b}
    return world, devs


def ip4(s: str) -> bytes:
    return bytes(map(int, s.split(".")))


def arp(op: int, sha: bytes, sip: str, tha: bytes, tip: str, htype: int, plen: int) -> bytes:
    return struct.pack("!HHBBH", htype, 0x0800, 6, plen, op) + sha + ip4(sip) + tha + ip4(tip)


def ipv4(src: str, dst: str, ttl: int, proto: int, frag: int, opts: bytes, body: bytes, good_csum: bool) -> bytes:
    opts += b"\x00" * (-len(opts) % 4)
    ihl = 5 + len(opts) // 4
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(body), 1234, frag, ttl, proto, 0,
                              ip4(src), ip4(dst))) + opts
    c = csum_fold(csum_partial(bytes(h)))
    h[10:12] = struct.pack("!H", c if good_csum else c ^ 0x5555)
    return bytes(h) + body


MAC = st.sampled_from([b"\xff" * 6, b"\x01\x00\x5e\x00\x00\x01", b"\x02\x00\x00\x00\x00\x01",
                       b"\x02\x00\x00\x00\x00\x02", b"\x02\x00\x00\x00\x00\x03", b"\x02\x00\x00\x00\x00\x05",
                       b"\x02\xaa\xbb\xcc\xdd\xee", b"\x00" * 6])
ARP = st.builds(arp, st.sampled_from([1, 2, 3, 0]), MAC, st.sampled_from(sorted(set(ADDRS) - OURS)), MAC,
                st.sampled_from(ADDRS), st.sampled_from([1, 1, 6, 0]), st.sampled_from([4, 4, 16]))
def icmp(type: int, code: int, rest: bytes, good_csum: bool) -> bytes:
    msg = bytearray(struct.pack("!BBH", type, code, 0) + rest)
    c = csum_fold(csum_partial(bytes(msg)))
    msg[2:4] = struct.pack("!H", c if good_csum else c ^ 0x5555)
    return bytes(msg)


# What an ICMP error quotes: the header of a datagram one of the hosts could have sent (any
# protocol, any length field), and 8 or so bytes of it, or anything at all.
QUOTED = st.one_of(
    st.builds(lambda src, dst, proto, rest: struct.pack("!BBHHHBB2x4s4s", 0x45, 0, 20 + len(rest), 1, 0, 64, proto,
                                                        ip4(src), ip4(dst)) + rest,
              st.sampled_from(ADDRS), st.sampled_from(ADDRS), st.sampled_from([1, 6, 17, 255]), st.binary(max_size=12)),
    st.binary(max_size=60),
)
# IGMP: queries of each version (general, or for a group, with sources or not, any response
# time and robustness), reports and leaves, of any length, with a good checksum or not
IGMP = st.builds(lambda kind, code, group, rest, good: icmp(kind, code, ip4(group) + rest, good),
                 st.sampled_from([0x11, 0x12, 0x16, 0x17, 0x22, 0x13]), st.sampled_from([0, 1, 100, 127, 128, 255]),
                 st.sampled_from(["0.0.0.0", "239.1.1.1", "224.0.0.1", "239.9.9.9"]),
                 st.one_of(st.just(b""), st.builds(lambda qrv, qqic, n, srcs: bytes((qrv, qqic)) + struct.pack("!H", n)
                                                   + srcs, st.integers(0, 255), st.integers(0, 255),
                                                   st.integers(0, 3), st.binary(max_size=12)),
                           st.binary(max_size=20)),
                 st.booleans())
BODY = st.one_of(
    st.binary(max_size=64),
    IGMP,
    # ICMP: errors (unreachable with an MTU, redirects naming any gateway, time exceeded, ...)
    # quoting anything, with a good checksum or not
    st.builds(lambda t, c, word, quoted, good: icmp(t, c, word + quoted, good),
              st.sampled_from([0, 3, 4, 5, 8, 11, 12, 13, 17, 255]), st.integers(0, 15),
              st.one_of(st.binary(min_size=4, max_size=4), st.sampled_from(ADDRS).map(lambda a: ip4(a)),
                        st.integers(0, 0xFFFF).map(lambda mtu: struct.pack("!HH", 0, mtu))),
              QUOTED, st.booleans()),
)
IPV4 = st.builds(ipv4, st.sampled_from(ADDRS), st.sampled_from(ADDRS), st.sampled_from([0, 1, 2, 64, 255]),
                 st.sampled_from([1, 6, 17, 2, 47, 255]),
                 st.sampled_from([0, 0x4000, 0x2000, 0x2001, 0x0005, 0x1FFF, 0x8000]),
                 st.sampled_from([b"", b"\x01\x01\x01\x00", b"\x07\x07\x04\x00\x00\x00\x00", b"\x44\x02",
                                  b"\x83\x03\x10", b"\x94\x04\x00\x00"]),
                 BODY, st.booleans())
PAYLOAD = st.one_of(
    st.tuples(st.just(0x0806), ARP),
    st.tuples(st.just(0x0800), IPV4),
    st.tuples(st.just(0x8100), st.builds(lambda tci, inner: struct.pack("!HH", tci, 0x0800) + inner,
                                         st.one_of(st.sampled_from([10, 0, 0x200A, 0x100A, 4095]),
                                                   st.integers(0, 0xFFFF)),
                                         st.one_of(IPV4, st.builds(lambda tag: tag + b"\x08\x06" + bytes(28),
                                                                   st.binary(max_size=4))))),
    st.tuples(st.just(0x8100), st.one_of(st.binary(max_size=3),  # a tag cut short, or a tag inside a tag
                                         st.builds(lambda inner: b"\x00\x0a\x81\x00\x00\x14\x08\x00" + inner,
                                                   IPV4))),
    st.tuples(st.sampled_from([0x86DD, 0x88CC, 0x0001, 0x05DC, 0xFFFF]), st.binary(max_size=80)),
)
FRAME = st.tuples(st.sampled_from(["a", "sw<-a", "r lan", "r wan", "b"]), MAC, MAC, PAYLOAD,
                  st.sampled_from([0, 0, 0, 1400, 1600]), st.integers(0, 3000))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(FRAME, min_size=1, max_size=25))
def test_odd_frames_at_every_nic_never_raise_and_the_network_still_works(frames):
    """Any frame at any NIC; a, a member of 239.1.1.1 that reads with every control message it
    can ask for, takes what is for it."""
    world, devs = build()
    world.hosts["a"].spawn(_group_reader)
    for where, dst, src, (ethertype, payload), pad, gap_us in frames:
        frame = dst + src + struct.pack("!H", ethertype) + payload + bytes(pad)
        frame = eth_skb_pad(frame)
        ether_rx(devs[where], frame + ether_fcs(frame))
        world.run_for(gap_us * 1000)
    world.run_for(msecs(3000))
    stats = run(world, world.hosts["a"], ping, "10.0.2.2", count=2, interval=0.2, quiet=True)
    assert stats.received == 2, world.hosts["a"].output()


def _group_reader() -> None:
    """A UDP socket on a that joined 239.1.1.1 and asks for timestamps (SO_TIMESTAMPNS, and
    SO_TIMESTAMPING's RX_SOFTWARE | SOFTWARE | OPT_CMSG), drops and every IP control message,
    reading what comes with recvmsg."""
    from tuxnet.net.ipv4.ip_sockglue import IP_ADD_MEMBERSHIP
    from tuxnet.net.socket import AF_INET, SOCK_DGRAM, Msghdr
    from tuxnet.user import libc

    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.bind(fd, ("0.0.0.0", 5000))
    libc.setsockopt(fd, 0, IP_ADD_MEMBERSHIP, ip4("239.1.1.1") + ip4("10.0.1.2"))
    for level, option in ((0, 8), (0, 12), (0, 13), (0, 6), (0, 20), (0, 25), (1, 35), (1, 40), (1, 75)):
        libc.setsockopt(fd, level, option, 1)
    libc.setsockopt(fd, 1, 37, 0x8 | 0x10 | 0x400)
    while True:
        libc.recvmsg(fd, Msghdr(msg_control=[]), 2000)


# ICMP errors that reach the sockets they are about: to a (10.0.1.2) from anywhere, quoting a
# datagram a sent (UDP from its bound port, TCP of its connection, an echo of its ping socket),
# with any type, code, MTU or gateway, and any rest; and echo replies to that ping socket.
QUOTED_OURS = st.builds(
    lambda proto, dst, tail: struct.pack("!BBHHHBB2x4s4s", 0x45, 0, 20 + len(tail), 1, 0, 64, proto,
                                         ip4("10.0.1.2"), ip4(dst)) + tail,
    st.sampled_from([1, 6, 17]), st.sampled_from(["10.0.2.2", "10.0.1.1", "10.0.1.77", "255.255.255.255"]),
    st.one_of(st.just(struct.pack("!HHI", 40000, 9, 0)), st.just(struct.pack("!HHI", 5001, 5001, 0)),
              st.just(struct.pack("!BBHHH", 8, 0, 0, 1, 1)), st.binary(min_size=8, max_size=16)))
ICMP_TO_A = st.builds(
    lambda src, t, c, word, quoted, good: ipv4(src, "10.0.1.2", 64, 1, 0, b"", icmp(t, c, word + quoted, good), True),
    st.sampled_from(["10.0.1.1", "10.0.2.2", "10.0.1.77", "10.0.1.2"]), st.sampled_from([0, 3, 4, 5, 11, 12]),
    st.integers(0, 15),
    st.one_of(st.sampled_from(ADDRS).map(ip4), st.integers(0, 0xFFFF).map(lambda mtu: struct.pack("!HH", 0, mtu)),
              st.binary(min_size=4, max_size=4)),
    QUOTED_OURS, st.booleans())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ICMP_TO_A, min_size=1, max_size=10))
def test_icmp_errors_about_our_own_datagrams_never_raise(packets):
    """Path MTUs of any size (below the floor, above the link's), redirects to any gateway,
    errors quoting a datagram cut short, from a's own address (a martian source, dropped): a
    learns or ignores each, and still reaches b.  A ping socket on identifier 1, asking for
    errors, takes the replies and errors about its echoes."""
    from tuxnet.net.ipv4.af_inet import IP_RECVERR, IPPROTO_IP
    from tuxnet.net.socket import AF_INET, SOCK_DGRAM
    from tuxnet.user import libc

    world, devs = build()
    a = world.hosts["a"]
    a.sysctl.set("net.ipv4.ping_group_range", "0 0")

    def udp() -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(fd, ("10.0.1.2", 40000))
        icmp_fd = libc.socket(AF_INET, SOCK_DGRAM, 1)
        libc.setsockopt(icmp_fd, IPPROTO_IP, IP_RECVERR, 1)
        libc.bind(icmp_fd, ("0.0.0.0", 1))
        libc.sleep(100)

    a.spawn(udp)
    world.run_for(msecs(1))
    dev = devs["a"]
    for pkt in packets:
        frame = eth_skb_pad(dev.dev_addr + b"\x02\x00\x00\x00\x00\x03" + b"\x08\x00" + pkt)
        ether_rx(dev, frame + ether_fcs(frame))
        world.run_for(msecs(5))
    world.run_for(msecs(3000))
    stats = run(world, a, ping, "10.0.2.2", count=2, interval=0.2, quiet=True)
    assert stats.received == 2, a.output()
