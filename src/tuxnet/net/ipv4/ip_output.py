"""IPv4 output (net/ipv4/ip_output.c): the header, LOCAL_OUT and POST_ROUTING, fragmentation,
and the hand-off to the neighbour layer.

The seed's chain: ``ip_queue_xmit`` → ``ip_local_out`` → ``__ip_local_out`` → ``nf_hook(LOCAL_OUT)``
→ ``dst_output`` → ``ip_output`` → ``NF_HOOK(POST_ROUTING)`` → ``ip_finish_output`` →
(``ip_fragment``) → ``ip_finish_output2`` → neighbour → ``dev_queue_xmit``.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import EHOSTUNREACH, EINVAL, EMSGSIZE, ENOBUFS
from tuxnet.kernel.minmax import min
from tuxnet.net.core.dev import ETH_P_IP, NET_XMIT_CN, NetDevice, netif_rx, skb_checksum_help
from tuxnet.net.core.neighbour import __ipv4_neigh_lookup_noref, __neigh_create, neigh_output
from tuxnet.net.core.netdev_features import NETIF_F_SG
from tuxnet.net.core.netfilter import (
    NF_ACCEPT,
    NF_HOOK,
    NF_INET_LOCAL_OUT,
    NF_INET_POST_ROUTING,
    nf_hook_slow,
)
from tuxnet.net.core.skbuff import (
    CHECKSUM_NONE,
    CHECKSUM_PARTIAL,
    CHECKSUM_UNNECESSARY,
    PACKET_LOOPBACK,
    SKB_MAX_ALLOC,
    SkBuff,
    alloc_skb,
    alloc_skb_truesize,
    skb_expand_head,
    skb_linearize,
)
from tuxnet.net.core.sock import sock_alloc_send_pskb
from tuxnet.net.ipv4.fib import RTN_BROADCAST, RTN_MULTICAST
from tuxnet.net.ipv4.ip_options import IpOptions, ip_options_build, ip_options_fragment
from tuxnet.net.ipv4.route import IP_MAX_MTU, Rtable, dst_mtu, dst_output, ip_route_output_sk

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

IPVERSION = 4
IP_DF = 0x4000
IP_MF = 0x2000
IP_OFFSET = 0x1FFF
IPHDR_LEN = 20
MAX_HEADER = 128  # room for the link layer header and then some (LL_MAX_HEADER + 48)

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_RAW = 255

# IP_MTU_DISCOVER modes (include/uapi/linux/in.h)
IP_PMTUDISC_DONT = 0
IP_PMTUDISC_WANT = 1
IP_PMTUDISC_DO = 2
IP_PMTUDISC_PROBE = 3
IP_PMTUDISC_INTERFACE = 4
IP_PMTUDISC_OMIT = 5

_iphdr = struct.Struct("!BBHHHBBHII")
_pack_iphdr = _iphdr.pack_into
_u16 = struct.Struct("!H")


def ip_send_check(buf: bytearray, off: int) -> None:
    """``ip_send_check``: compute the header checksum (IHL from the header)."""
    ihl = (buf[off] & 0x0F) * 4
    buf[off + 10] = 0
    buf[off + 11] = 0
    # csum_fold(csum_partial(header)), inline: the header (version 4) is never all zeros, and its
    # ones' complement sum is its value modulo 0xFFFF (a zero remainder standing for 0xFFFF).
    _u16.pack_into(buf, off + 10, ~(int.from_bytes(buf[off:off + ihl], "big") % 0xFFFF or 0xFFFF) & 0xFFFF)


def ip_dont_fragment(sk: Any, rt: Rtable) -> bool:
    """``ip_dont_fragment``: DF on what a socket sends: DO, or WANT (path MTU discovery) unless
    the route's MTU is locked (``ip route ... mtu lock``), which also turns discovery off."""
    mode = sk.pmtudisc
    return mode == IP_PMTUDISC_DO or (mode == IP_PMTUDISC_WANT and not rt.mtu_lock)


def ip_sk_use_pmtu(sk: Any) -> bool:
    """``ip_sk_use_pmtu``: PROBE, INTERFACE and OMIT size packets by the device's MTU, not the
    path's."""
    return sk.pmtudisc < IP_PMTUDISC_PROBE


def ip_cork_mtu(sk: Any, rt: Rtable) -> int:
    """``ip_setup_cork``'s fragsize: the path's MTU or, for the modes that ignore it, the
    device's."""
    return dst_mtu(rt) if ip_sk_use_pmtu(sk) else rt.dev.mtu


def ip_datagram_df(sk: Any, length: int, rt: Rtable, gso: bool = False) -> int:
    """For a datagram of ``length`` octets (IP header included) on route ``rt``: -EMSGSIZE when
    no IP datagram holds it, or the mode forbids fragmenting it and it passes the MTU
    (``__ip_append_data``'s limit, ``ip_sk_ignore_df``; a UDP GSO packet's is IP's, its segments
    are checked on their own), else 1 to set DF (``__ip_make_skb``: DO and PROBE always, WANT when
    it fits), else 0."""
    mtu = ip_cork_mtu(sk, rt)
    mode = sk.pmtudisc
    ignore_df = mode < IP_PMTUDISC_DO or mode == IP_PMTUDISC_OMIT
    if length > (IP_MAX_MTU if ignore_df or gso else mtu):
        return -EMSGSIZE
    if mode in (IP_PMTUDISC_DO, IP_PMTUDISC_PROBE):
        return 1
    return 1 if length <= mtu and ip_dont_fragment(sk, rt) else 0


def ip_select_ident(host: Host, sk: Any, df: bool) -> int:
    """``ip_select_ident_segs``: a connected socket counts its own IDs; a packet that may not be
    fragmented needs none (0: a SYN-ACK, a reset); the rest take the host's.  (A datagram
    socket that lets its packets be fragmented where DF allows, IP_PMTUDISC_WANT, sets DF after
    and counts as fragmentable here, as ``ignore_df`` makes it in Linux.)"""
    if sk is not None and sk.inet_daddr:
        sk.inet_id = (sk.inet_id + 1) & 0xFFFF
        return sk.inet_id
    if df:
        return 0
    host.ip_ident = (host.ip_ident + 1) & 0xFFFF
    return host.ip_ident


def ip_build_header(host: Host, sk: Any, skb: SkBuff, saddr: int, daddr: int, proto: int,
                    ttl: int, tos: int, df: bool, opt: IpOptions | None = None) -> None:
    """Push and fill an IPv4 header in front of the transport header; its total length and
    checksum are ``__ip_local_out``'s, which every packet built so passes.  With options
    (``opt``, a socket's or a reply's) the header grows by them and ``ip_options_build`` writes
    them; a source-routed datagram is addressed to the route's first hop, ``daddr`` going into
    the route's last slot."""
    if opt is None or not opt.optlen:
        d = skb.push(IPHDR_LEN)
        skb.network_header = d
        _pack_iphdr(skb.buf, d, 0x45, tos, 0, ip_select_ident(host, sk, df), IP_DF if df else 0, ttl, proto, 0,
                    saddr, daddr)
        return
    skb.push(opt.optlen)
    d = skb.push(IPHDR_LEN)
    skb.network_header = d
    _pack_iphdr(skb.buf, d, 0x45, tos, 0, ip_select_ident(host, sk, df), IP_DF if df else 0, ttl, proto, 0,
                saddr, opt.faddr if opt.srr else daddr)
    ip_options_build(host, skb, opt, daddr)


def ip_queue_xmit(host: Host, sk: Any, skb: SkBuff) -> int:
    """``ip_queue_xmit``: route (from the socket's cache; a source route's first hop), build the
    header with the socket's options, send."""
    rt = sk.dst_cache
    opt = sk.inet_opt
    if rt is None or rt.genid != host.rt_genid:
        daddr = opt.faddr if opt is not None and opt.srr else sk.inet_daddr
        rt = ip_route_output_sk(sk, daddr)
        if isinstance(rt, int) or opt is not None and opt.is_strictroute and rt.gw:
            host.mib.Ip["OutNoRoutes"] += 1
            sk.sk_err_soft = EHOSTUNREACH
            return rt if isinstance(rt, int) else -EHOSTUNREACH
        sk.dst_cache = rt
    skb.dst = rt
    ip_build_header(host, sk, skb, sk.inet_saddr, sk.inet_daddr, sk.sk_protocol, sk.uc_ttl,
                    sk.tos, ip_dont_fragment(sk, rt), opt)
    skb.priority = sk.sk_priority
    skb.mark = sk.sk_mark
    return ip_local_out(host, sk, skb)


def __ip_local_out(host: Host, sk: Any, skb: SkBuff) -> int:
    """``__ip_local_out``: final length and checksum, then the LOCAL_OUT hook.  A GSO packet past
    64 KB says 0 (``iph_set_totlen``, BIG TCP's convention): its segments get their own."""
    d = skb.network_header
    buf = skb.buf
    length = skb.tail - d
    _u16.pack_into(buf, d + 2, length if length <= IP_MAX_MTU else 0)
    ip_send_check(buf, d)
    skb.protocol = ETH_P_IP
    host.mib.Ip["OutRequests"] += 1
    if host.nf_hooks[NF_INET_LOCAL_OUT]:
        return nf_hook_slow(host, NF_INET_LOCAL_OUT, sk, skb, None, skb.dst.dev)
    return NF_ACCEPT


def ip_local_out(host: Host, sk: Any, skb: SkBuff) -> int:
    """``ip_local_out``: LOCAL_OUT, then ``dst_output``."""
    err = __ip_local_out(host, sk, skb)
    if err == NF_ACCEPT:
        return dst_output(host, sk, skb)
    return err


def ip_output(host: Host, sk: Any, skb: SkBuff) -> int:
    """``ip_output``: account the packet, run POST_ROUTING, then ``ip_finish_output``."""
    dev = skb.dst.dev
    skb.dev = dev
    skb.protocol = ETH_P_IP
    return NF_HOOK(host, NF_INET_POST_ROUTING, sk, skb, None, dev, ip_finish_output)


def ip_mc_output(host: Host, sk: Any, skb: SkBuff) -> int:
    """``ip_mc_output``, a broadcast or multicast route's output: a copy loops back to this host
    (``ip_mc_finish_output``; for a multicast only with IP_MULTICAST_LOOP, and a multicast of
    TTL 0 goes no further), then POST_ROUTING and ``ip_finish_output``."""
    rt = skb.dst
    dev = rt.dev
    skb.dev = dev
    skb.protocol = ETH_P_IP
    if rt.rt_type != RTN_MULTICAST or sk is None or sk.mc_loop:
        NF_HOOK(host, NF_INET_POST_ROUTING, sk, skb.copy(), None, dev, ip_mc_finish_output)
    if rt.rt_type == RTN_MULTICAST and skb.buf[skb.network_header + 8] == 0:
        return 0
    return NF_HOOK(host, NF_INET_POST_ROUTING, sk, skb, None, dev, ip_finish_output)


def ip_mc_finish_output(host: Host, sk: Any, skb: SkBuff) -> int:
    """``ip_mc_finish_output`` → ``dev_loopback_xmit``: the copy comes in on the device it was
    sent by, marked PACKET_LOOPBACK (packet taps leave it alone), its checksum trusted."""
    skb.mac_header = skb.data
    skb.pkt_type = PACKET_LOOPBACK
    if skb.ip_summed == CHECKSUM_NONE:
        skb.ip_summed = CHECKSUM_UNNECESSARY
    netif_rx(skb)
    return 0


def ip_finish_output(host: Host, sk: Any, skb: SkBuff) -> int:
    """``ip_finish_output``: fragment what the path cannot carry whole (``ip_skb_dst_mtu``: the
    device's MTU for a socket that ignores the path's)."""
    rt = skb.dst
    mtu = dst_mtu(rt) if sk is None or ip_sk_use_pmtu(sk) else rt.dev.mtu
    if skb.tail - skb.data > mtu and not skb.gso_size:
        return ip_fragment(host, sk, skb, mtu)
    return ip_finish_output2(host, sk, skb)


def ip_finish_output2(host: Host, sk: Any, skb: SkBuff) -> int:
    """``ip_finish_output2``: find (or create) the next hop's neighbour and hand it the packet,
    given room for the device's link-layer header first when it came without (forwarded from a
    device with a shorter one, a TUN device's none: ``skb_expand_head``)."""
    rt: Rtable = skb.dst
    dev = rt.dev
    if skb.data < dev.hard_header_len:
        skb_expand_head(skb, LL_RESERVED_SPACE(dev))
    nexthop = rt.gw or int.from_bytes(skb.buf[skb.network_header + 16:skb.network_header + 20], "big")
    neigh = __ipv4_neigh_lookup_noref(host, dev, nexthop)
    if neigh is None:
        neigh = __neigh_create(host.arp_tbl, nexthop, dev)
        if isinstance(neigh, int):
            return -EINVAL  # "No header cache and no neighbour!": the table is full
    host.mib.Ip["OutTransmits"] += 1  # IP_UPD_PO_STATS(IPSTATS_MIB_OUT, skb->len)
    ext = host.mib.IpExt
    length = skb.tail - skb.network_header
    ext["OutOctets"] += length
    if rt.rt_type == RTN_BROADCAST:
        ext["OutBcastPkts"] += 1
        ext["OutBcastOctets"] += length
    return neigh_output(neigh, skb)


def LL_RESERVED_SPACE(dev: NetDevice) -> int:
    """``LL_RESERVED_SPACE``: the headroom a device's link-layer header takes, in 16-octet units
    (HH_DATA_MOD), with one to spare."""
    return (dev.hard_header_len & ~15) + 16


def ip_append_head(dev: NetDevice, length: int, head: int) -> tuple[int, int]:
    """How ``__ip_append_data`` makes a new buffer for ``length`` octets (``head`` of them
    headers) that leave by ``dev``: the length it allocates and how many octets go to page
    fragments.  A linear buffer with room for the link-layer header (``alloc_extra``); or, where
    the device gathers pages (NETIF_F_SG) and that buffer would pass SKB_MAX_ALLOC, a head for the
    headers and the data in pages."""
    alloc_extra = LL_RESERVED_SPACE(dev) + 15
    if length + alloc_extra < SKB_MAX_ALLOC or not dev.features & NETIF_F_SG:
        return length + alloc_extra, 0
    return head + alloc_extra, length - head


def ip_append_truesize(dev: NetDevice, length: int, head: int) -> int:
    """The truesize ``__ip_append_data`` gives a packet of ``length`` octets (``head`` of them its
    headers) that leaves by ``dev`` in one buffer (``ip_append_head``): the allocation's, and the
    octets in page fragments."""
    alloclen, pagedlen = ip_append_head(dev, length, head)
    return alloc_skb_truesize(alloclen) + pagedlen


class InetCork:
    """``inet->cork`` of a datagram socket with a datagram pending (UDP's MSG_MORE or UDP_CORK):
    where it goes (``daddr``, ``dport``, ``saddr`` and the route of the send that began it, with that
    send's TTL, TOS, mark and priority in ``ipc``), its ``length`` so far (transport header
    included), its data, and the buffers ``__ip_append_data`` has made for it: each one's length
    (IP header included) and the room left in its linear part, and what they charge the socket
    (``truesize``, in ``sk_wmem_alloc``)."""

    __slots__ = ("daddr", "dport", "saddr", "rt", "ipc", "fragsize", "length", "data", "skbs", "truesize")

    def __init__(self, daddr: int, dport: int, saddr: int, rt: Rtable, ipc: Any, fragsize: int) -> None:
        self.daddr = daddr
        self.dport = dport
        self.saddr = saddr
        self.rt = rt
        self.ipc = ipc
        self.fragsize = fragsize
        self.length = 0
        self.data: list[bytes] = []
        self.skbs: list[list[int]] = []
        self.truesize = 0


def ip_append_data(sk: Any, cork: InetCork, length: int, transhdrlen: int, more: bool) -> int:
    """``__ip_append_data``'s buffers for ``length`` octets appended to the pending datagram (its
    first ``transhdrlen`` the transport header, on the first append): the last buffer's room up
    to the MTU is filled first (in page fragments on a device with NETIF_F_SG, each octet charged;
    else in its linear room), then new buffers a fragment long (``ip_append_head``; a device
    without scatter-gather gets whole-MTU buffers while MSG_MORE says more will come).  Each is
    charged to ``sk_wmem_alloc``; a buffer after the first, which the caller waited for room for
    (``ip_append_alloc``), is refused with -ENOBUFS once the socket holds twice its send buffer.
    Returns 0 or -ENOBUFS; the caller checked the length."""
    dev = cork.rt.dev
    sg = dev.features & NETIF_F_SG
    mtu = cork.fragsize
    maxfraglen = ((mtu - IPHDR_LEN) & ~7) + IPHDR_LEN
    skbs = cork.skbs
    added = 0
    while length > 0:
        skb = skbs[-1] if skbs else None
        copy = 0
        if skb is not None:
            copy = mtu - skb[0]
            if copy < length:
                copy = maxfraglen - skb[0]
        if copy <= 0:
            if skb is not None and sk.sk_wmem_alloc + added > 2 * sk.sk_sndbuf:
                sk.sk_wmem_alloc += added
                cork.truesize += added
                return -ENOBUFS
            fraggap = skb[0] - maxfraglen if skb is not None else 0
            datalen = length + fraggap
            if datalen > mtu - IPHDR_LEN:
                datalen = maxfraglen - IPHDR_LEN
            fraglen = datalen + IPHDR_LEN
            if more and not sg:
                alloclen, pagedlen = mtu + LL_RESERVED_SPACE(dev) + 15, 0
            else:
                alloclen, pagedlen = ip_append_head(dev, fraglen, IPHDR_LEN + transhdrlen)
            if fraggap:
                skb[0] = maxfraglen  # the octets past the fragment's end move to the new buffer
            linear = fraglen - pagedlen
            skbs.append([linear, alloclen - LL_RESERVED_SPACE(dev) - 15 - linear])
            added += alloc_skb_truesize(alloclen)
            length -= datalen - fraggap - pagedlen
            transhdrlen = 0
            continue
        copy = min(copy, length)
        if not sg and skb[1] >= copy:
            skb[1] -= copy
        else:
            added += copy  # a page fragment: skb->truesize += copy
        skb[0] += copy
        length -= copy
    sk.sk_wmem_alloc += added
    cork.truesize += added
    return 0


def ip_append_alloc(sk: Any, noblock: bool) -> int:
    """``__ip_append_data``'s first buffer (``sock_alloc_send_skb``): a pending error, a shutdown,
    or the wait for room in the send buffer; a failure counts as OutDiscards (its ``error:``)."""
    err = sock_alloc_send_pskb(sk, noblock)
    if err:
        sk.host.mib.Ip["OutDiscards"] += 1
    return err


def ip_fragment(host: Host, sk: Any, skb: SkBuff, mtu: int) -> int:
    """``ip_fragment`` → ``ip_do_fragment``: split a datagram into fragments of at most ``mtu``.

    With DF set the datagram is refused: ICMP fragmentation needed to the sender (RFC 1191)."""
    from tuxnet.net.ipv4.icmp import ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, icmp_send

    buf = skb.buf
    nh = skb.network_header
    ihl = (buf[nh] & 0x0F) * 4
    frag_off = _u16.unpack_from(buf, nh + 6)[0]
    if frag_off & IP_DF:
        host.mib.Ip["FragFails"] += 1
        if sk is None:
            icmp_send(host, skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu)
        return -EMSGSIZE
    if skb.ip_summed == CHECKSUM_PARTIAL:
        skb_checksum_help(skb)  # ip_do_fragment: finish an offloaded checksum before splitting
    skb_linearize(skb)  # (the slow path's copies: ip_frag_next)
    buf = skb.buf
    payload = memoryview(buf)[nh + ihl:skb.tail]
    header = bytes(buf[nh:nh + ihl])
    chunk = (mtu - ihl) & ~7
    if chunk <= 0:
        host.mib.Ip["FragFails"] += 1
        return -ENOBUFS
    base_off = frag_off & IP_OFFSET
    more = frag_off & IP_MF
    pos = 0
    total = len(payload)
    rc = 0
    while pos < total:
        n = min(chunk, total - pos)
        last = pos + n >= total
        frag = alloc_skb(ihl + n, MAX_HEADER)
        frag.put_data(header)
        frag.put_data(payload[pos:pos + n])
        f = frag.data
        frag.network_header = f
        fb = frag.buf
        _u16.pack_into(fb, f + 2, ihl + n)
        _u16.pack_into(fb, f + 6, (base_off + pos // 8) | (0 if last and not more else IP_MF))
        ip_send_check(fb, f)
        frag.dst = skb.dst
        frag.dev = skb.dev
        frag.protocol = ETH_P_IP
        frag.priority = skb.priority
        # A socket's datagram is charged to it as the fragments __ip_append_data would have made.
        frag.sk = skb.sk
        frag.destructor = skb.destructor
        frag.truesize = ip_append_truesize(skb.dev, ihl + n, ihl)
        host.mib.Ip["FragCreates"] += 1
        rc = ip_finish_output2(host, sk, frag)
        if not pos:
            header = ip_options_fragment(header)
        pos += n
    host.mib.Ip["FragOKs"] += 1
    return rc


def net_xmit_errno(rc: int) -> int:
    """``net_xmit_errno``: a qdisc's verdict as an error, ENOBUFS for a drop (congestion is none)."""
    return -ENOBUFS if rc != NET_XMIT_CN else 0


def ip_send_skb(host: Host, sk: Any, skb: SkBuff) -> int:
    """``ip_send_skb``: send a datagram built by ``ip_make_skb``; a qdisc's drop is ENOBUFS."""
    err = ip_local_out(host, sk, skb)
    if err > 0:
        err = net_xmit_errno(err)
    if err:
        host.mib.Ip["OutDiscards"] += 1
    return err
