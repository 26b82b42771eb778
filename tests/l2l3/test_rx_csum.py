"""Receive checksum offload on the simulated Ethernet NIC (``ethtool -K DEV rx on|off``): a TCP or
UDP checksum the sending stack completed, carried in a frame whose FCS checks, reaches the stack
CHECKSUM_UNNECESSARY; every other frame is checked in software, so a bad checksum is still
found and counted."""

from __future__ import annotations

import struct

import pytest
from netlab import lan, run, two_routers

from tuxnet.drivers.net.ether import ether_fcs, ether_rx
from tuxnet.net.core.checksum import csum_partial, csum_tcpudp_magic
from tuxnet.net.core.netfilter import NF_ACCEPT, NF_INET_LOCAL_IN, nf_register_net_hook
from tuxnet.net.core.skbuff import CHECKSUM_NONE, CHECKSUM_UNNECESSARY
from tuxnet.net.core.utils import in_aton
from tuxnet.net.socket import AF_INET, SOCK_DGRAM
from tuxnet.user import libc
from tuxnet.user.ethtool import ethtool
from tuxnet.user.programs.hello import hello, replyhi
from tuxnet.world import World, msecs

IPPROTO_TCP, IPPROTO_UDP = 6, 17


def _watch_local_in(host: object) -> list[tuple[int, int]]:
    """(IP protocol, ip_summed) of every packet delivered to ``host``, as LOCAL_IN sees it."""
    seen: list[tuple[int, int]] = []

    def hook(_host: object, skb: object, _state: object) -> int:
        seen.append((skb.buf[skb.network_header + 9], skb.ip_summed))
        return NF_ACCEPT

    nf_register_net_hook(host, NF_INET_LOCAL_IN, hook)
    return seen


def _udp_send(addr: str, payload: bytes) -> None:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.sendto(fd, payload, 0, (addr, 9000))
    libc.close(fd)


def _udp_recv(addr: str) -> bytes:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.bind(fd, (addr, 9000))
    data, _ = libc.recvfrom(fd, 2048)
    libc.close(fd)
    return data


def _exchange(world: World, client: object, server: object, addr: str) -> None:
    """One UDP datagram and one hello/replyhi exchange from ``client`` to ``server``."""
    receiver = server.spawn(_udp_recv, addr)
    run(world, client, _udp_send, addr, b"checksummed")
    world.run_until(lambda: not receiver.alive)
    assert receiver.result == b"checksummed"
    server.spawn(replyhi, addr, 5001, count=1)
    assert run(world, client, hello, addr, 5001) == b"hi"


@pytest.mark.parametrize(("rx", "expected"), [("on", CHECKSUM_UNNECESSARY), ("off", CHECKSUM_NONE)])
def test_the_nic_vouches_for_checksums_its_peer_completed(rx, expected):
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="1gbit", delay="10us", a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    world.run_for(msecs(1))
    ethtool(b, f"-K eth0 rx {rx}")
    assert f"rx-checksumming: {rx}\n" in ethtool(b, "-k eth0")
    seen = _watch_local_in(b)
    _exchange(world, a, b, "10.0.0.2")
    assert {proto for proto, _ in seen} == {IPPROTO_TCP, IPPROTO_UDP}
    assert {summed for _, summed in seen} == {expected}
    assert b.mib.Tcp["InCsumErrors"] == b.mib.Udp["InCsumErrors"] == 0


def test_a_router_passes_on_what_its_nic_found_and_a_hub_carries_no_verdict():
    """A router's NIC finds the checksum right and forwarding leaves it so: the next hop's NIC
    vouches for it.  A hub is a bare wire: its stations check every checksum themselves."""
    world, n = two_routers()
    seen = _watch_local_in(n["b"])
    _exchange(world, n["a"], n["b"], "10.0.3.2")
    assert {summed for _, summed in seen} == {CHECKSUM_UNNECESSARY}

    world, hosts, _ = lan(2, hub=True)
    seen = _watch_local_in(hosts[1])
    _exchange(world, hosts[0], hosts[1], "10.0.0.2")
    assert seen and {summed for _, summed in seen} == {CHECKSUM_NONE}


def _forged(b: object, proto: int, bad: bool) -> bytes:
    """A frame from 10.0.0.9 to b carrying a UDP datagram (to port 9000) or a TCP ACK (to a closed
    port) whose checksum someone else wrote: right, or wrong with ``bad``."""
    s, d = in_aton("10.0.0.9"), in_aton("10.0.0.2")
    if proto == IPPROTO_UDP:
        l4 = bytearray(struct.pack("!HHHH", 4000, 9000, 8 + 5, 0) + b"forge")
        off = 6
    else:
        l4 = bytearray(struct.pack("!HHIIHHHH", 4000, 9, 1, 1, (5 << 12) | 0x10, 512, 0, 0))
        off = 16
    check = csum_tcpudp_magic(s, d, len(l4), proto, csum_partial(bytes(l4)))
    struct.pack_into("!H", l4, off, check ^ (0x5555 if bad else 0))
    ip = bytearray(struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(l4), 1, 0x4000, 64, proto, 0, s, d))
    struct.pack_into("!H", ip, 10, ~csum_partial(bytes(ip)) & 0xFFFF)
    frame = b.devices["eth0"].dev_addr + b"\x02\x00\x00\x00\x00\x09" + b"\x08\x00" + bytes(ip) + bytes(l4)
    return frame.ljust(60, b"\0") + ether_fcs(frame.ljust(60, b"\0"))


@pytest.mark.parametrize("proto", [IPPROTO_TCP, IPPROTO_UDP], ids=["tcp", "udp"])
def test_frames_nobody_vouches_for_are_checked_in_software(proto):
    """Frames put on the wire with their own checksums go up CHECKSUM_NONE with rx on: the good one
    is taken, the bad one counted in InCsumErrors and dropped."""
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    world.run_for(msecs(1))
    assert "rx-checksumming: on\n" in ethtool(b, "-k eth0")
    receiver = b.spawn(_udp_recv, "10.0.0.2")
    world.run_for(msecs(1))
    seen = _watch_local_in(b)
    mib = b.mib.Udp if proto == IPPROTO_UDP else b.mib.Tcp
    dev = b.devices["eth0"]
    ether_rx(dev, _forged(b, proto, bad=True))
    world.run_for(msecs(1))
    assert mib["InCsumErrors"] == 1
    ether_rx(dev, _forged(b, proto, bad=False))
    world.run_for(msecs(1))
    assert mib["InCsumErrors"] == 1
    assert [summed for p, summed in seen if p == proto] == [CHECKSUM_NONE, CHECKSUM_NONE]
    if proto == IPPROTO_UDP:
        assert receiver.result == b"forge"
    else:
        assert b.mib.Tcp["OutRsts"] == 1  # the good ACK to a closed port is answered
