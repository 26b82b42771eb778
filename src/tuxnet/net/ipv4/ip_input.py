"""IPv4 input (net/ipv4/ip_input.c).

``ip_rcv`` checks the header as Linux does and counts what it drops (InHdrErrors, InCsumErrors,
InTruncatedPkts); ``ip_rcv_finish`` routes; ``dst_input`` runs ``ip_local_deliver`` (or
``ip_forward``); ``ip_local_deliver_finish`` hands the payload to the protocol's handler from
``inet_protos``.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import EACCES, EHOSTUNREACH, ENETUNREACH, EXDEV
from tuxnet.net.core.netfilter import NF_HOOK, NF_INET_LOCAL_IN, NF_INET_PRE_ROUTING
from tuxnet.net.core.skbuff import PACKET_OTHERHOST, SkBuff, pskb_trim
from tuxnet.net.ipv4.devinet import in_dev_conf_get
from tuxnet.net.ipv4.fib import RTN_BROADCAST
from tuxnet.net.ipv4.icmp import (
    ICMP_DEST_UNREACH,
    ICMP_HOST_UNREACH,
    ICMP_NET_UNREACH,
    ICMP_PKT_FILTERED,
    ICMP_PROT_UNREACH,
    icmp_send,
)
from tuxnet.net.ipv4.ip_options import ip_rcv_options
from tuxnet.net.ipv4.ip_output import IP_MF, IP_OFFSET, IPHDR_LEN
from tuxnet.net.ipv4.route import dst_input, ip_route_input_noref

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.dev import NetDevice, PacketType

NET_RX_SUCCESS = 0
NET_RX_DROP = 1

_addrs = struct.Struct("!II")
IP_ECN_COUNTERS = ("InNoECTPkts", "InECT1Pkts", "InECT0Pkts", "InCEPkts")


def ip_rcv(skb: SkBuff, dev: NetDevice, pt: PacketType, orig_dev: Any) -> int:
    """``ip_rcv`` → ``ip_rcv_core``: validate the header, then PRE_ROUTING and ``ip_rcv_finish``."""
    host = dev.nd_net
    mib = host.mib.Ip
    if skb.pkt_type == PACKET_OTHERHOST:
        return NET_RX_DROP
    mib["InReceives"] += 1
    buf = skb.buf
    d = skb.data
    avail = skb.tail - d
    ext = host.mib.IpExt
    ext["InOctets"] += avail  # __IP_UPD_PO_STATS(IPSTATS_MIB_IN, skb->len), padding and all
    if avail < 20:
        mib["InHdrErrors"] += 1
        return NET_RX_DROP
    vihl = buf[d]
    ihl = (vihl & 0x0F) * 4
    if vihl >> 4 != 4 or ihl < 20 or avail < ihl:
        mib["InHdrErrors"] += 1
        return NET_RX_DROP
    if int.from_bytes(buf[d:d + ihl], "big") % 0xFFFF:  # ip_fast_csum(): the sum must be 0xFFFF
        host.mib.IpExt["InCsumErrors"] += 1
        mib["InHdrErrors"] += 1
        return NET_RX_DROP
    tot_len = (buf[d + 2] << 8) | buf[d + 3]
    if avail < tot_len:
        host.mib.IpExt["InTruncatedPkts"] += 1
        return NET_RX_DROP
    if tot_len < ihl:
        mib["InHdrErrors"] += 1
        return NET_RX_DROP
    # IPSTATS_MIB_NOECTPKTS + the ECN field, counting each segment GRO merged (gso_segs), or a
    # UDP GSO packet from loopback holds
    if skb.gso_size:
        hlen = 8 if buf[d + 9] == 17 else (buf[d + ihl + 12] >> 4) << 2
        segs = -(-(tot_len - ihl - hlen) // skb.gso_size)
    else:
        segs = 1
    ext[IP_ECN_COUNTERS[buf[d + 1] & 3]] += segs
    if avail != tot_len:
        pskb_trim(skb, tot_len)  # the link layer's padding goes (pskb_trim_rcsum)
    skb.network_header = d
    skb.transport_header = d + ihl
    return NF_HOOK(host, NF_INET_PRE_ROUTING, None, skb, dev, None, ip_rcv_finish)


def ip_rcv_finish(host: Host, sk: Any, skb: SkBuff) -> int:
    """``ip_rcv_finish``: the input route decides between delivery and forwarding; a header
    with options has them compiled (``ip_rcv_options``)."""
    if skb.dst is None:
        nh = skb.network_header
        saddr, daddr = _addrs.unpack_from(skb.buf, nh + 12)
        err = ip_route_input_noref(host, skb, daddr, saddr, skb.dev)
        if err < 0:
            if err == -EXDEV:  # ip_rcv_finish_core: refused by the reverse path filter
                host.mib.TcpExt["IPReversePathFilter"] += 1
            return NET_RX_DROP
    if skb.transport_header - skb.network_header > IPHDR_LEN and ip_rcv_options(host, skb, skb.dev):
        return NET_RX_DROP
    if skb.dst.rt_type == RTN_BROADCAST:
        ext = host.mib.IpExt
        ext["InBcastPkts"] += 1
        ext["InBcastOctets"] += skb.tail - skb.network_header
    return dst_input(host, skb)


def ip_local_deliver(host: Host, skb: SkBuff) -> int:
    """``ip_local_deliver``: reassemble fragments, then LOCAL_IN and ``ip_local_deliver_finish``."""
    buf = skb.buf
    nh = skb.network_header
    if ((buf[nh + 6] << 8) | buf[nh + 7]) & (IP_MF | IP_OFFSET):
        from tuxnet.net.ipv4.ip_fragment import ip_defrag

        skb = ip_defrag(host, skb)
        if skb is None:
            return NET_RX_SUCCESS
    return NF_HOOK(host, NF_INET_LOCAL_IN, None, skb, skb.dev, None, ip_local_deliver_finish)


def ip_local_deliver_finish(host: Host, sk: Any, skb: SkBuff) -> int:
    """``ip_local_deliver_finish`` → ``ip_protocol_deliver_rcu``: raw sockets get a copy
    (``raw_local_deliver``), then the protocol's handler."""
    skb.data = skb.transport_header
    protocol = skb.buf[skb.network_header + 9]
    # raw_local_deliver() looks at raw_v4_hashinfo first: with no raw socket there is no call.
    table = getattr(host, "raw_v4_hashinfo", None)
    delivered = False
    if table and table.get(protocol):
        from tuxnet.net.ipv4.raw import raw_local_deliver

        delivered = raw_local_deliver(host, skb, protocol)
    ipprot = host.inet_protos.get(protocol)
    mib = host.mib.Ip
    if ipprot is not None or delivered:
        mib["InDelivers"] += 1
        if ipprot is not None:
            ipprot.handler(host, skb)
        return NET_RX_SUCCESS
    mib["InUnknownProtos"] += 1
    icmp_send(host, skb, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0)
    return NET_RX_DROP


def ip_error(host: Host, skb: SkBuff) -> int:
    """``ip_error``: no route for a received packet.  A host that does not forward only counts
    it; a router answers with ICMP destination unreachable."""
    err = -skb.dst.error
    if not in_dev_conf_get(host, skb.dev, "forwarding"):  # IN_DEV_FORWARD of the input device
        if err == EHOSTUNREACH:
            host.mib.Ip["InAddrErrors"] += 1
        elif err == ENETUNREACH:
            host.mib.IpExt["InNoRoutes"] += 1
        return NET_RX_DROP
    if err == ENETUNREACH:
        host.mib.IpExt["InNoRoutes"] += 1
        code = ICMP_NET_UNREACH
    elif err == EACCES:
        code = ICMP_PKT_FILTERED
    else:
        host.mib.Ip["InAddrErrors"] += 1
        code = ICMP_HOST_UNREACH if err == EHOSTUNREACH else ICMP_NET_UNREACH
    icmp_send(host, skb, ICMP_DEST_UNREACH, code, 0)
    return NET_RX_DROP
