"""Connecting datagram sockets (net/ipv4/datagram.c), shared by UDP and raw sockets."""

from __future__ import annotations

from typing import Any

from tuxnet.kernel.errno import EACCES
from tuxnet.net.ipv4.fib import RTN_BROADCAST
from tuxnet.net.ipv4.route import ip_route_output_key

TCP_ESTABLISHED = 1
TCP_CLOSE = 7


def ip4_datagram_connect(sk: Any, daddr: int, dport: int) -> int:
    """``ip4_datagram_connect``: fix the peer, choose the source address, cache the route."""
    rt = ip_route_output_key(sk.host, daddr, sk.inet_saddr, sk.sk_bound_dev_if)
    if isinstance(rt, int):
        return rt
    if rt.rt_type == RTN_BROADCAST and not sk.sk_broadcast:
        return -EACCES
    if not sk.inet_saddr:
        sk.inet_saddr = rt.saddr
    if not sk.inet_rcv_saddr:
        sk.inet_rcv_saddr = rt.saddr
    sk.inet_daddr = daddr
    sk.inet_dport = dport
    sk.sk_state = TCP_ESTABLISHED
    sk.dst_cache = rt
    return 0


def __udp_disconnect(sk: Any, flags: int) -> int:
    """``__udp_disconnect``: forget the peer (raw sockets use it too); an address the user did
    not bind goes as well."""
    sk.sk_state = TCP_CLOSE
    sk.inet_daddr = 0
    sk.inet_dport = 0
    sk.dst_cache = None
    if not getattr(sk, "bind_addr_locked", False):
        sk.inet_rcv_saddr = sk.inet_saddr = 0
    return 0
