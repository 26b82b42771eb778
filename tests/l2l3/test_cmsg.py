"""Control messages and packet timestamps across cables and routers: a timestamp is the arrival on
the world's clock; IP_PKTINFO names the device and the address a reply would come from, for a
broadcast too; IP_RECVFRAGSIZE the largest fragment a router cut; an ICMP error in the error queue
has its arrival time.  tests/tap/test_cmsg_vs_linux.py sets the socket calls beside this machine's
kernel."""

from __future__ import annotations

import struct

from netlab import cable_pair, run, two_routers

from tuxnet.kernel.timekeeping import EPOCH
from tuxnet.net.core.sock import SO_BROADCAST, SO_TIMESTAMP, SO_TIMESTAMPNS, SOL_SOCKET
from tuxnet.net.ipv4.ip_sockglue import IP_MTU_DISCOVER, IP_PKTINFO, IP_RECVERR, IP_RECVFRAGSIZE, SOL_IP
from tuxnet.net.socket import AF_INET, MSG_ERRQUEUE, SIOCGSTAMPNS, SOCK_DGRAM, Msghdr
from tuxnet.user import libc
from tuxnet.world import NSEC_PER_SEC

EPOCH_NS = EPOCH * NSEC_PER_SEC


def _recvmsg(fd: int, flags: int = 0) -> tuple[bytes, list]:
    msg = Msghdr(msg_control=[])
    data = libc.recvmsg(fd, msg, 5000, flags)
    return data, msg.msg_control


def test_a_timestamp_is_the_arrival_not_the_read():
    """SO_TIMESTAMPNS gives the time the datagram came in: read 5 ms later, it still says when it
    arrived, tens of microseconds after it was sent.  SIOCGSTAMPNS knows of no read then: while a socket has
    SO_TIMESTAMP(NS), Linux does not keep the time for it (``sock_recv_timestamp``)."""
    world, a, b = cable_pair()

    def receive() -> tuple[int, int, int]:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(fd, ("10.0.0.2", 7000))
        libc.setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1)
        libc.sleep(0.01)
        _, control = _recvmsg(fd)
        read_at = world.now
        [(level, kind, data)] = control
        assert (level, kind) == (SOL_SOCKET, SO_TIMESTAMPNS)
        sec, nsec = struct.unpack("qq", data)
        try:
            libc.ioctl(fd, SIOCGSTAMPNS)
        except FileNotFoundError:
            return sec * NSEC_PER_SEC + nsec - EPOCH_NS, read_at, "ENOENT"
        return sec * NSEC_PER_SEC + nsec - EPOCH_NS, read_at, "a time"

    def send() -> int:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.sleep(0.005)
        sent_at = world.now
        libc.sendto(fd, b"when", 0, ("10.0.0.2", 7000))
        return sent_at

    receiver = b.spawn(receive)
    sent_at = run(world, a, send)
    world.run_until(lambda: not receiver.alive)
    arrived, read_at, siocgstamp = receiver.result
    assert sent_at + 10_000 < arrived < sent_at + 100_000  # ARP, then the cable's 10 us
    assert read_at - arrived > 4_000_000
    assert siocgstamp == "ENOENT"


def test_siocgstamp_of_a_packet_nobody_had_stamped_is_the_time_it_is_asked():
    """A host stamps packets only once a socket wants it (SIOCGSTAMP asks too): the first read's
    time is the moment of the first SIOCGSTAMP; the next packet's is its arrival."""
    world, a, b = cable_pair()

    def receive() -> list[int]:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(fd, ("10.0.0.2", 7000))
        stamps = []
        for _ in range(2):
            libc.recv(fd, 100)
            libc.sleep(0.002)
            sec, nsec = struct.unpack("qq", libc.ioctl(fd, SIOCGSTAMPNS))
            stamps.extend([sec * NSEC_PER_SEC + nsec - EPOCH_NS, world.now])
        return stamps

    def send() -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        for _ in range(2):
            libc.sleep(0.001)
            libc.sendto(fd, b"x", 0, ("10.0.0.2", 7000))
            libc.sleep(0.01)

    receiver = b.spawn(receive)
    run(world, a, send)
    world.run_until(lambda: not receiver.alive)
    first, asked_first, second, asked_second = receiver.result
    assert first == asked_first  # no arrival time: the time of asking
    assert asked_second - second > 1_900_000  # the arrival, 2 ms before
    assert b.netstamp_needed == 0  # the socket is gone


def test_pktinfo_of_a_unicast_and_a_broadcast():
    """IP_PKTINFO: the device a datagram came in by, the address a reply comes from and the
    datagram's destination; for a subnet broadcast the reply comes from our address on it."""
    world, a, b = cable_pair()

    def receive() -> list[tuple[int, str, str]]:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(fd, ("0.0.0.0", 7000))
        libc.setsockopt(fd, SOL_IP, IP_PKTINFO, 1)
        infos = []
        for _ in range(2):
            _, control = _recvmsg(fd)
            [(level, kind, data)] = control
            assert (level, kind) == (SOL_IP, IP_PKTINFO)
            ifindex, spec_dst, addr = struct.unpack("=i4s4s", data)
            infos.append((ifindex, ".".join(map(str, spec_dst)), ".".join(map(str, addr))))
        return infos

    def send() -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.setsockopt(fd, SOL_SOCKET, SO_BROADCAST, 1)
        libc.sendto(fd, b"to you", 0, ("10.0.0.2", 7000))
        libc.sleep(0.001)  # (it waits for ARP; a broadcast would not)
        libc.sendto(fd, b"to all", 0, ("10.0.0.255", 7000))

    receiver = b.spawn(receive)
    run(world, a, send)
    world.run_until(lambda: not receiver.alive)
    eth0 = b.dev("eth0").ifindex
    assert receiver.result == [(eth0, "10.0.0.2", "10.0.0.2"), (eth0, "10.0.0.2", "10.0.0.255")]


def test_recvfragsize_is_the_largest_fragment_a_router_cut():
    """3,000 bytes from a, cut to 1,500-byte fragments by a and again to 1,000 by r1 for the
    middle link: b's datagram was made of fragments of at most 996 bytes (976 of data and the
    header)."""
    world, hosts = two_routers(middle_mtu=1000)

    def receive() -> list:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(fd, ("10.0.3.2", 7000))
        libc.setsockopt(fd, SOL_IP, IP_RECVFRAGSIZE, 1)
        data, control = _recvmsg(fd)
        return [len(data), control]

    def send() -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.setsockopt(fd, SOL_IP, IP_MTU_DISCOVER, 0)  # IP_PMTUDISC_DONT: fragments may be cut
        libc.sendto(fd, b"f" * 3000, 0, ("10.0.3.2", 7000))

    receiver = hosts["b"].spawn(receive)
    run(world, hosts["a"], send)
    world.run_until(lambda: not receiver.alive, timeout=10**10)
    assert receiver.result == [3000, [(SOL_IP, IP_RECVFRAGSIZE, 996)]]


def test_an_icmp_error_in_the_error_queue_has_its_arrival_time():
    """A datagram to a closed port: the port unreachable reaches the error queue (IP_RECVERR), and
    with SO_TIMESTAMP its read has the time it came, before the IP_RECVERR message."""
    world, a, _b = cable_pair()

    def probe() -> tuple[list[tuple[int, int]], int, int]:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.setsockopt(fd, SOL_IP, IP_RECVERR, 1)
        libc.setsockopt(fd, SOL_SOCKET, SO_TIMESTAMP, 1)
        sent_at = world.now
        libc.sendto(fd, b"anyone?", 0, ("10.0.0.2", 9))
        libc.sleep(0.01)
        _, control = _recvmsg(fd, MSG_ERRQUEUE)
        sec, usec = struct.unpack("qq", control[0][2])
        return [c[:2] for c in control], sent_at, (sec * NSEC_PER_SEC + usec * 1000 - EPOCH_NS)

    kinds, sent_at, arrived = run(world, a, probe)
    assert kinds == [(SOL_SOCKET, SO_TIMESTAMP), (SOL_IP, IP_RECVERR)]
    assert sent_at + 20_000 < arrived < sent_at + 1_000_000  # there and back, in microseconds
