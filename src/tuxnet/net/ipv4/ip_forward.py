"""Forwarding (net/ipv4/ip_forward.c): a router passes a datagram on, one hop nearer.

The TTL is decremented with an incremental checksum update (RFC 1624, ``ip_decrease_ttl``); a TTL
that would reach zero gets ICMP time exceeded, a datagram too big for the next link with DF set
gets ICMP fragmentation needed (RFC 1191).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from tuxnet.net.core.netfilter import NF_HOOK, NF_INET_FORWARD
from tuxnet.net.core.skbuff import PACKET_HOST, SkBuff
from tuxnet.net.ipv4.icmp import (
    ICMP_DEST_UNREACH,
    ICMP_EXC_TTL,
    ICMP_FRAG_NEEDED,
    ICMP_SR_FAILED,
    ICMP_TIME_EXCEEDED,
    icmp_send,
)
from tuxnet.net.ipv4.ip_options import ip_forward_options, ipcb_opt
from tuxnet.net.ipv4.ip_output import IP_DF
from tuxnet.net.ipv4.route import dst_mtu, dst_output, ip_rt_send_redirect

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

_addrs = struct.Struct("!II")
NET_RX_SUCCESS = 0
NET_RX_DROP = 1


def ip_decrease_ttl(buf: bytearray, nh: int) -> None:
    """``ip_decrease_ttl``: TTL minus one, checksum patched (RFC 1624 eqn. 3)."""
    buf[nh + 8] -= 1
    check = ((buf[nh + 10] << 8) | buf[nh + 11]) + 0x0100
    check = (check & 0xFFFF) + (check >> 16)
    buf[nh + 10] = check >> 8
    buf[nh + 11] = check & 0xFF


def ip_forward(host: Host, skb: SkBuff) -> int:
    """``ip_forward``: a Router Alert packet to the raw sockets that asked for them
    (``ip_call_ra_chain``), checks, TTL, then the FORWARD hook and ``ip_forward_finish``."""
    if skb.pkt_type != PACKET_HOST:
        return NET_RX_DROP
    opt = ipcb_opt(skb)
    if opt is not None and opt.router_alert:
        from tuxnet.net.ipv4.raw import ip_call_ra_chain  # (raw's imports reach this module)

        if ip_call_ra_chain(host, skb):
            return NET_RX_SUCCESS
    buf = skb.buf
    nh = skb.network_header
    if buf[nh + 8] <= 1:
        icmp_send(host, skb, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0)
        host.mib.Ip["InHdrErrors"] += 1
        return NET_RX_DROP
    rt = skb.dst
    if opt is not None and opt.is_strictroute and rt.gw:
        # a strict source route names the next hop, which must be on the link (RFC 791)
        icmp_send(host, skb, ICMP_DEST_UNREACH, ICMP_SR_FAILED, 0)
        return NET_RX_DROP
    mtu = dst_mtu(rt)
    length = skb.tail - nh
    if skb.gso_size:
        # ip_exceeds_mtu → skb_gso_validate_network_len: a GRO packet leaves as its segments.
        th = skb.transport_header
        length = th - nh + ((buf[th + 12] >> 4) << 2) + skb.gso_size
    if length > mtu and ((buf[nh + 6] << 8) | buf[nh + 7]) & IP_DF:
        host.mib.Ip["FragFails"] += 1
        icmp_send(host, skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu)
        return NET_RX_DROP
    if rt.dev is skb.dev and (opt is None or not opt.srr):
        # back out where it came in: perhaps the sender has a better first hop
        saddr, daddr = _addrs.unpack_from(buf, nh + 12)
        ip_rt_send_redirect(host, skb, saddr, daddr)
    ip_decrease_ttl(buf, nh)
    skb.data = nh
    return NF_HOOK(host, NF_INET_FORWARD, None, skb, skb.dev, rt.dev, ip_forward_finish)


def ip_forward_finish(host: Host, sk: Any, skb: SkBuff) -> int:
    """``ip_forward_finish``: count, the options' router entries (``ip_forward_options``), then
    out through the route (``dst_output``)."""
    host.mib.Ip["ForwDatagrams"] += 1
    opt = ipcb_opt(skb)
    if opt is not None:
        ip_forward_options(host, skb, opt)
    return dst_output(host, sk, skb)
