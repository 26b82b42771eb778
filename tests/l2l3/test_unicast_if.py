"""IP_UNICAST_IF on a host with two links (net/ipv4/ip_sockglue.c, ``udp_sendmsg``): a datagram
to a unicast address leaves by the socket's device, not the route's, as a resolver that asks
each link's own DNS server sends it (systemd-resolved does); the source is that device's
address, and the peer on the other link never sees it.  A connected socket keeps the device
(``ip4_datagram_connect``); a send that names its own device (IP_PKTINFO) goes by that one.
tests/tap/test_unicast_if_vs_linux.py judges the option's values by this machine's kernel."""

from __future__ import annotations

import socket as pysock
import struct

from netlab import recvfrom_all, run

from tuxnet.net.ipv4.ip_sockglue import IP_PKTINFO, IP_UNICAST_IF, SOL_IP
from tuxnet.net.socket import AF_INET, SOCK_DGRAM, Msghdr
from tuxnet.user import libc
from tuxnet.user.iproute import ip
from tuxnet.world import World, msecs


def _two_links() -> tuple[World, dict]:
    """a's eth0 to b (10.0.0.0/24), a's eth1 to c (10.0.1.0/24); c also has 10.0.0.2, b's address."""
    world = World(seed=1)
    a, b, c = world.add_host("a"), world.add_host("b"), world.add_host("c")
    world.connect(a, b, a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    world.connect(a, c, a_addr="10.0.1.1/24", b_addr="10.0.1.2/24")
    ip(c, "addr add 10.0.0.2/32 dev eth0")
    world.run_for(msecs(1))
    return world, {"a": a, "b": b, "c": c}


def _listen(host) -> object:
    def server() -> list:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(fd, ("0.0.0.0", 53))
        libc.sleep(0.5)
        return recvfrom_all(fd)
    return host.spawn(server)


def _send(eth0: int, eth1: int, how: str) -> None:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.setsockopt(fd, SOL_IP, IP_UNICAST_IF, struct.pack("!I", eth1) if how != "plain" else b"\0" * 4)
    libc.sleep(0.01)
    if how == "connect":
        libc.connect(fd, ("10.0.0.2", 53))
        libc.send(fd, b"connected")
    elif how == "pktinfo":
        info = struct.pack("=I4s4s", eth0, bytes(4), bytes(4))
        libc.sendmsg(fd, Msghdr(("10.0.0.2", 53), [b"pktinfo"], [(SOL_IP, IP_PKTINFO, info)]))
    else:
        libc.sendto(fd, how.encode(), 0, ("10.0.0.2", 53))


def _where(how: str) -> dict:
    world, h = _two_links()
    servers = {name: _listen(h[name]) for name in ("b", "c")}
    run(world, h["a"], _send, h["a"].dev("eth0").ifindex, h["a"].dev("eth1").ifindex, how)
    world.run_until(lambda: not any(p.alive for p in servers.values()), timeout=10**10)
    return {name: [(data, addr[0]) for data, addr in proc.result] for name, proc in servers.items()}


def test_a_datagram_leaves_by_the_sockets_device_with_its_address() -> None:
    assert _where("plain") == {"b": [(b"plain", "10.0.0.1")], "c": []}
    assert _where("unicast_if") == {"b": [], "c": [(b"unicast_if", "10.0.1.1")]}
    assert _where("connect") == {"b": [], "c": [(b"connected", "10.0.1.1")]}


def test_a_send_that_names_its_device_goes_by_that_one() -> None:
    assert _where("pktinfo") == {"b": [(b"pktinfo", "10.0.0.1")], "c": []}


def test_the_option_reads_back_in_network_order() -> None:
    world, h = _two_links()
    eth1 = h["a"].dev("eth1").ifindex

    def prog() -> list:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.setsockopt(fd, SOL_IP, IP_UNICAST_IF, pysock.htonl(eth1))
        return [libc.getsockopt(fd, SOL_IP, IP_UNICAST_IF), pysock.ntohl(libc.getsockopt(fd, SOL_IP, IP_UNICAST_IF))]

    assert run(world, h["a"], prog) == [pysock.htonl(eth1), eth1]
