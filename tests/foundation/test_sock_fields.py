"""Sockets keep their fields in slots (``Sock``, ``TcpSock``, ``UdpSock``, ``RawSock``): a field a
socket sets without declaring it lands in the instance dictionary, where it works but every read
costs more.  This finds one."""

from __future__ import annotations

import gc

from tuxnet.net.core.sock import Sock
from tuxnet.net.ipv4.af_inet import IPPROTO_ICMP
from tuxnet.net.ipv4.raw import RawSock
from tuxnet.net.ipv4.tcp_sock import TcpSock
from tuxnet.net.ipv4.udp import UdpSock
from tuxnet.net.socket import AF_INET, SOCK_DGRAM, SOCK_RAW
from tuxnet.user import libc
from tuxnet.user.programs.hello import hello, replyhi


def test_every_socket_field_is_declared(lo_host):
    world, host = lo_host
    kept: list[Sock] = []

    def udp_echo() -> None:
        server = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(server, ("127.0.0.1", 7))
        client = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.sendto(client, b"ping", 0, ("127.0.0.1", 7))
        data, peer = libc.recvfrom(server, 100)
        libc.sendto(server, data, 0, peer)
        assert libc.recvfrom(client, 100)[0] == b"ping"

    def raw_icmp() -> None:
        fd = libc.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)
        libc.sendto(fd, bytes([8, 0, 0xF7, 0xFF, 0, 0, 0, 0]), 0, ("127.0.0.1", 0))
        libc.recvfrom(fd, 100)

    def watch(cls: type) -> None:
        init = cls.__init__

        def keep(self: Sock, *args: object) -> None:
            init(self, *args)
            kept.append(self)

        cls.__init__ = keep  # type: ignore[method-assign]

    originals = {cls: cls.__init__ for cls in (TcpSock, UdpSock, RawSock)}
    for cls in originals:
        watch(cls)
    try:
        server = host.spawn(replyhi, count=2)
        client = host.spawn(lambda: [hello() for _ in range(2)])
        udp, raw = host.spawn(udp_echo), host.spawn(raw_icmp)
        world.run_until(lambda: not any(p.alive for p in (server, client, udp, raw)))
    finally:
        for cls, init in originals.items():
            cls.__init__ = init  # type: ignore[method-assign]
    gc.collect()
    assert {type(sk) for sk in kept} == {TcpSock, UdpSock, RawSock}
    assert sum(type(sk) is TcpSock for sk in kept) == 5  # the listener, two clients, two children
    undeclared = {(type(sk).__name__, name) for sk in kept for name in vars(sk)}
    assert not undeclared, f"fields missing from __slots__: {sorted(undeclared)}"
