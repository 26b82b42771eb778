"""UDP (RFC 768; net/ipv4/udp.c): datagrams, port lookup, and ICMP port unreachable.

Sending: ``udp_sendmsg`` → ``ip_make_skb`` → ``udp_send_skb`` → ``ip_send_skb``.
Receiving: ``udp_rcv`` → ``__udp4_lib_rcv`` → ``__udp4_lib_lookup`` → ``udp_queue_rcv_skb``.

With UDP_SEGMENT (a socket's, or a send's control message) one send of more than the segment size
is a GSO packet of up to 128 datagrams (``udp_offload.py``), which loopback carries whole: a
socket with UDP_GRO reads it as one, with its segment size in a control message; any other
reads the datagrams.  (A NIC's GRO merges no UDP datagrams here.)
"""

from __future__ import annotations

import struct
from collections import deque
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import (
    EACCES,
    EADDRINUSE,
    EAGAIN,
    EDESTADDRREQ,
    EHOSTUNREACH,
    EINVAL,
    EMSGSIZE,
    ENETUNREACH,
    ENOBUFS,
    ENOIOCTLCMD,
    ENOPROTOOPT,
    EOPNOTSUPP,
    EPROTO,
)
from tuxnet.kernel.minmax import INT_MAX
from tuxnet.kernel.mm import PAGE_SIZE
from tuxnet.net.core.checksum import csum_partial, csum_tcpudp_nofold
from tuxnet.net.core.datagram import copy_to_msg
from tuxnet.net.core.filter import sk_filter_trim_cap
from tuxnet.net.core.netdev_features import NETIF_F_GSO_UDP_L4
from tuxnet.net.core.skbuff import (
    CHECKSUM_NONE,
    CHECKSUM_PARTIAL,
    CHECKSUM_UNNECESSARY,
    SkBuff,
    alloc_skb_data,
    msg_zerocopy_realloc,
    net_zcopy_put,
    skb_charged_truesize,
)
from tuxnet.net.core.sock import (
    RCV_SHUTDOWN,
    SOCK_NOSPACE,
    SOCK_RXQ_OVFL,
    Proto,
    Sock,
    SockoptInt,
    _sock_tx_timestamp,
    lock_sock,
    release_sock,
    sk_mem_schedule,
    sk_peek_offset_bwd,
    sk_wait_event,
    sock_rcvtimeo,
    sock_wfree,
    sockopt_int,
)
from tuxnet.net.core.utils import in_ntoa, ipv4_is_lbcast, ipv4_is_multicast
from tuxnet.net.ipv4.datagram import (
    __skb_wait_for_datagram,
    __udp_disconnect,
    datagram_poll,
    datagram_shutdown,
    datagram_unhash,
    ip4_datagram_connect,
)
from tuxnet.net.ipv4.fib import RT_SCOPE_LINK, RTN_BROADCAST
from tuxnet.net.ipv4.icmp import (
    ICMP_DEST_UNREACH,
    ICMP_ERR_CONVERT,
    ICMP_FRAG_NEEDED,
    ICMP_PARAMETERPROB,
    ICMP_PORT_UNREACH,
    ICMP_REDIRECT,
    ICMP_SOURCE_QUENCH,
    NR_ICMP_UNREACH,
    icmp_send,
)
from tuxnet.net.ipv4.igmp import ip_mc_sf_allow
from tuxnet.net.ipv4.inet_hashtables import inet_sk_get_local_port_range
from tuxnet.net.ipv4.ip_output import (
    IP_DF,
    IP_PMTUDISC_DONT,
    IPHDR_LEN,
    IPPROTO_UDP,
    MAX_HEADER,
    InetCork,
    ip_append_alloc,
    ip_append_data,
    ip_append_truesize,
    ip_build_header,
    ip_cork_mtu,
    ip_datagram_df,
    ip_send_skb,
)
from tuxnet.net.ipv4.ip_sockglue import (
    IP_CMSG_PKTINFO,
    NO_PKTINFO,
    IpcmCookie,
    ip_append_check,
    ip_cmsg_recv_offset,
    ip_icmp_error,
    ip_options_route,
    ip_optlen,
    ip_recv_error,
    ipcm_send,
    ipv4_pktinfo_prepare,
)
from tuxnet.net.ipv4.route import (
    inet_sk_flowi_flags,
    ip_do_redirect,
    ip_route_output_key,
    ip_rt_update_pmtu,
    ip_sock_rt_scope,
)
from tuxnet.net.ipv4.tcp_sock import TCP_CLOSE, TCP_ESTABLISHED
from tuxnet.net.ipv4.udp_offload import UDP_HLEN, UDP_MAX_SEGMENTS, __udp_gso_segment
from tuxnet.net.socket import (  # <sys/socket.h>, <poll.h>, <linux/sockios.h>
    MSG_DONTWAIT,
    MSG_ERRQUEUE,
    MSG_MORE,
    MSG_OOB,
    MSG_PEEK,
    MSG_TRUNC,
    MSG_ZEROCOPY,
    SIOCINQ,
    SIOCOUTQ,
    put_cmsg,
    sock_recv_cmsgs,
)

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

UDP_CORK = 1  # SOL_UDP options (include/uapi/linux/udp.h)
UDP_ENCAP = 100
UDP_NO_CHECK6_TX = 101
UDP_NO_CHECK6_RX = 102
UDP_SEGMENT = 103
UDP_GRO = 104
# UDP_ENCAP's types: ESP in UDP (RFC 3948), L2TP (whose module would take the datagrams)
UDP_ENCAP_ESPINUDP = 2
UDP_ENCAP_L2TPINUDP = 3
ESP_HDR_LEN = 8  # struct ip_esp_hdr: SPI and sequence number

_udphdr = struct.Struct("!HHHH")
_addrs = struct.Struct("!II")


class UdpSock(Sock):
    """``struct udp_sock``: UDP_CORK (``corkflag``) holds datagrams back, in ``pending``, as
    MSG_MORE does.  The reader takes datagrams from a queue of its own (``reader_queue``), which
    it refills with all the receive queue holds when it finds it empty: here the first
    ``reader_queue_len`` datagrams of ``sk_receive_queue``.  The memory of the datagrams read is
    given back in batches (``forward_deficit``, ``udp_rmem_release``)."""

    __slots__ = ("corkflag", "reader_queue_len", "forward_deficit", "gso_size", "gro_enabled", "encap_type",
                 "no_check6_tx", "no_check6_rx")

    def __init__(self, host: Host, prot: Any, family: int, type: int, protocol: int) -> None:
        super().__init__(host, prot, family, type, protocol)
        self.sk_receive_queue: deque[Any] = deque()
        self.corkflag = False
        self.gso_size = 0  # UDP_SEGMENT
        self.gro_enabled = False  # UDP_GRO (GRO_ENABLED and ACCEPT_L4: GSO packets taken whole)
        self.encap_type = 0  # UDP_ENCAP
        self.no_check6_tx = self.no_check6_rx = False  # UDP_NO_CHECK6_TX and _RX (IPv6's alone)
        self.reader_queue_len = 0
        self.forward_deficit = 0


# -- ports -----------------------------------------------------------------------------------

def udp_lib_get_port(sk: UdpSock, snum: int) -> int:
    """``udp_lib_get_port``: bind a port (a random free one for 0)."""
    table = sk.host.udp_table
    if snum:
        for other in table.get(snum, ()):
            if other is sk:
                continue
            if sk.sk_reuse and other.sk_reuse or sk.sk_reuseport and other.sk_reuseport:
                continue
            a, b = sk.inet_rcv_saddr, other.inet_rcv_saddr
            if sk.sk_bound_dev_if and other.sk_bound_dev_if and sk.sk_bound_dev_if != other.sk_bound_dev_if:
                continue
            if not a or not b or a == b:
                return -EADDRINUSE
        table.setdefault(snum, []).append(sk)
        sk.inet_num = snum
        return 0
    low, high, _ = inet_sk_get_local_port_range(sk)
    remaining = high - low + 1
    start = sk.host.rng.randrange(remaining)
    for i in range(remaining):
        port = low + (start + i) % remaining
        if port not in table:
            table[port] = [sk]
            sk.inet_num = port
            return 0
    return -EADDRINUSE


def udp_lib_unhash(sk: UdpSock) -> None:
    """``udp_lib_unhash``: give the port up."""
    datagram_unhash(sk.host.udp_table, sk)
    sk.inet_num = 0


def __udp4_lib_lookup(host: Host, saddr: int, sport: int, daddr: int, dport: int, dif: int) -> UdpSock | None:
    """``__udp4_lib_lookup``: the best-scoring socket (exact addresses beat wildcards)."""
    best = None
    best_score = -1
    for sk in host.udp_table.get(dport, ()):
        score = 0
        if sk.inet_rcv_saddr:
            if sk.inet_rcv_saddr != daddr:
                continue
            score += 4
        if sk.inet_daddr:
            if sk.inet_daddr != saddr:
                continue
            score += 4
        if sk.inet_dport:
            if sk.inet_dport != sport:
                continue
            score += 4
        if sk.sk_bound_dev_if:
            if sk.sk_bound_dev_if != dif:
                continue
            score += 4
        if score > best_score:
            best, best_score = sk, score
    return best


# -- sending ---------------------------------------------------------------------------------

def ip_make_skb(sk: UdpSock, data: bytes, saddr: int, daddr: int, dport: int, rt: Any, ipc: IpcmCookie) -> SkBuff:
    """``ip_make_skb`` → ``__ip_make_skb``: one datagram with room for the headers, its TTL, TOS,
    priority and mark those of the send (``ipc``)."""
    skb = alloc_skb_data(data, UDP_HLEN, MAX_HEADER)
    d = skb.data
    skb.transport_header = d
    _udphdr.pack_into(skb.buf, d, sk.inet_sport, dport, UDP_HLEN + len(data), 0)
    skb.dst = rt
    skb.sk = sk
    skb.priority = ipc.priority
    skb.mark = ipc.mark
    _sock_tx_timestamp(sk, ipc, skb)
    ip_build_header(sk.host, sk, skb, saddr, daddr, IPPROTO_UDP, ipc.ttl, ipc.tos, False, ipc.opt)
    return skb


def udp_send_skb(sk: UdpSock, skb: SkBuff, saddr: int, daddr: int, gso_size: int = 0, fragsize: int = 0) -> int:
    """``udp_send_skb``: the checksum (left partial, RFC 768 pseudo-header; none, 0, with
    SO_NO_CHECK) and ``ip_send_skb``.  With a segment size (UDP_SEGMENT) a segment must fit
    ``fragsize`` (EMSGSIZE), the datagram make at most UDP_MAX_SEGMENTS (EINVAL), and have a
    checksum (EINVAL with SO_NO_CHECK); a datagram larger than one segment is a GSO packet,
    which a device that cannot take it whole has cut here (``validate_xmit_skb``'s software GSO,
    done before the IP layer: each datagram is sent and counted on its own)."""
    d = skb.transport_header
    length = skb.tail - d
    if gso_size:
        datalen = length - UDP_HLEN
        if d - skb.network_header + UDP_HLEN + min(datalen, gso_size) > fragsize:
            return -EMSGSIZE
        if datalen > gso_size * UDP_MAX_SEGMENTS or sk.sk_no_check_tx:
            return -EINVAL
        if datalen > gso_size:
            skb.gso_size = gso_size
            if not skb.dst.dev.features & NETIF_F_GSO_UDP_L4:
                err = 0
                for seg in __udp_gso_segment(skb):
                    seg.destructor = sock_wfree
                    seg.truesize = skb.truesize  # (the send buffer is charged for the first)
                    skb.truesize = 0
                    err = ip_send_skb(sk.host, sk, seg) or err
                if not err:
                    sk.host.mib.Udp["OutDatagrams"] += 1
                return err
    if sk.sk_no_check_tx:
        struct.pack_into("!H", skb.buf, d + 6, 0)
        skb.ip_summed = CHECKSUM_NONE
    else:
        struct.pack_into("!H", skb.buf, d + 6, csum_tcpudp_nofold(saddr, daddr, length, IPPROTO_UDP))
        skb.ip_summed = CHECKSUM_PARTIAL
        skb.csum_start = d
        skb.csum_offset = 6
    err = ip_send_skb(sk.host, sk, skb)
    if not err:
        sk.host.mib.Udp["OutDatagrams"] += 1
    elif err == -ENOBUFS and not sk.recverr:
        # a qdisc dropped it: counted, but not the sender's error unless it asked (IP_RECVERR)
        sk.host.mib.Udp["SndbufErrors"] += 1
        err = 0
    return err


def udp_sendmsg(sk: UdpSock, msg: Any, size: int) -> int:
    """``udp_sendmsg``: route, build, send, or, with MSG_MORE or UDP_CORK, add to a datagram held
    back until a send without them (``udp_push_pending_frames``).  A datagram over 65,507
    octets gets EMSGSIZE.

    While a datagram is pending, a send only adds its data to it: its destination, route and
    control messages are the first send's, whatever the later ones say, as in Linux.

    MSG_ZEROCOPY on a SO_ZEROCOPY socket takes a notification id (``__ip_append_data``), but the
    datagram is built as a copy, as Linux builds it for a device without scatter-gather and
    checksum offload, and the copy that loopback delivery makes comes to the same: the
    notification says SO_EE_CODE_ZEROCOPY_COPIED, and comes once the datagram has gone to the
    device.  (A pending datagram's sends take no notification.)"""
    host = sk.host
    if size > 0xFFFF:
        return -EMSGSIZE
    flags = msg.msg_flags
    if flags & MSG_OOB:  # "mirror BSD error message compatibility"
        return -EOPNOTSUPP
    corkreq = bool(sk.corkflag or flags & MSG_MORE)
    if sk.pending is not None:
        data = b"".join(bytes(b) for b in msg.msg_iov)
        err = udp_append_data(sk, data, 0, corkreq)
        return udp_sendmsg_out(sk, err) if err < 0 else size
    if msg.msg_name is not None:
        _, daddr, dport = msg.msg_name
        if dport == 0:
            return -EINVAL
    else:
        if sk.sk_state != TCP_ESTABLISHED:
            return -EDESTADDRREQ
        daddr, dport = sk.inet_daddr, sk.inet_dport
    # the segment size (UDP_SEGMENT), the socket's source address, device, TTL and TOS, unless
    # control messages say otherwise; then the route is looked up for this datagram alone
    gso_size = udp_cmsg_send(msg, sk.gso_size) if msg.msg_control else sk.gso_size
    if gso_size < 0:
        return gso_size
    ipc = ipcm_send(sk, msg, daddr)
    if isinstance(ipc, int):
        return ipc
    ipc.gso_size = gso_size
    data = b"".join(bytes(b) for b in msg.msg_iov)
    # a source route's first hop (ip_options_route); MSG_DONTROUTE (or SO_DONTROUTE) and a strict
    # source route: no gateway; neither uses the connected socket's cached route
    faddr, optlen, dontroute = ip_options_route(msg, ipc, daddr)
    if faddr < 0:
        return udp_sendmsg_out(sk, faddr)
    connected = msg.msg_name is None and not dontroute and not msg.msg_control and not ipc.multicast \
        and faddr == daddr
    rt = sk.dst_cache if connected and sk.dst_cache is not None and sk.dst_cache.genid == host.rt_genid else None
    if rt is None:
        scope = RT_SCOPE_LINK if dontroute else ip_sock_rt_scope(sk)
        rt = ip_route_output_key(host, faddr, ipc.addr, ipc.oif, scope, sk.sk_mark, ipc.tos, inet_sk_flowi_flags(sk),
                                 sk.sk_protocol, sk.inet_sport, dport)
        if isinstance(rt, int):
            if rt == -ENETUNREACH:
                host.mib.Ip["OutNoRoutes"] += 1
            return udp_sendmsg_out(sk, rt)
        if connected:
            sk.dst_cache = rt
    if (rt.rt_type == RTN_BROADCAST or ipv4_is_lbcast(daddr)) and not sk.sk_broadcast:
        return udp_sendmsg_out(sk, -EACCES)  # broadcast needs SO_BROADCAST
    saddr = ipc.addr or rt.saddr
    if corkreq:
        # cork the socket (ip_setup_cork) and make the datagram's first buffer
        sk.pending = InetCork(daddr, dport, saddr, rt, ipc, ip_cork_mtu(sk, rt))
        err = udp_append_data(sk, data, UDP_HLEN, corkreq, bool(flags & MSG_DONTWAIT))
        return udp_sendmsg_out(sk, err) if err < 0 else size
    df = ip_append_check(sk, len(data) + IPHDR_LEN + optlen + UDP_HLEN, rt, daddr, bool(gso_size))
    if df < 0:
        return udp_sendmsg_out(sk, df)
    # a pending error (an ICMP report), a shutdown for writing, a full send buffer
    err = ip_append_alloc(sk, bool(flags & MSG_DONTWAIT))
    if err:
        return udp_sendmsg_out(sk, err)
    uarg = None
    if flags & MSG_ZEROCOPY and size and sk.sk_zerocopy:
        uarg = msg_zerocopy_realloc(sk, size, None)
        if uarg is None:
            return udp_sendmsg_out(sk, -ENOBUFS)
        uarg.zerocopy = False
    skb = ip_make_skb(sk, data, saddr, daddr, dport, rt, ipc)
    skb.truesize = ip_append_truesize(rt.dev, skb.tail - skb.network_header, IPHDR_LEN + optlen + UDP_HLEN)
    skb.destructor = sock_wfree
    if df:
        skb.buf[skb.network_header + 6] |= IP_DF >> 8
    err = udp_send_skb(sk, skb, saddr, daddr, gso_size, ip_cork_mtu(sk, rt))
    net_zcopy_put(uarg)  # the datagram, the only holder of the notification, is gone
    return udp_sendmsg_out(sk, err) if err < 0 else size


def udp_append_data(sk: UdpSock, data: bytes, transhdrlen: int, corkreq: bool, noblock: bool = False) -> int:
    """``udp_sendmsg``'s ``do_append_data``: ``data`` joins the pending datagram (its first
    append, ``transhdrlen`` the UDP header, waits for room in the send buffer), which goes out
    unless more is to come; a datagram that would grow past what IP carries, or a send refused
    for memory, discards it all (``udp_flush_pending_frames``)."""
    cork = sk.pending
    length = len(data) + transhdrlen
    err = ip_append_check(sk, cork.length + length + IPHDR_LEN + ip_optlen(cork.ipc), cork.rt, cork.daddr,
                          bool(cork.ipc.gso_size))
    if err >= 0 and transhdrlen:
        err = ip_append_alloc(sk, noblock)
    if err >= 0:
        err = ip_append_data(sk, cork, length, transhdrlen, corkreq)
    if err < 0:
        udp_flush_pending_frames(sk)
        return err
    cork.length += length
    cork.data.append(data)
    return 0 if corkreq else udp_push_pending_frames(sk)


def udp_push_pending_frames(sk: UdpSock) -> int:
    """``udp_push_pending_frames``: the pending datagram goes out, its header and checksum made
    now, keeping the truesize its buffers were charged."""
    cork = sk.pending
    sk.pending = None
    sk.sk_wmem_alloc -= cork.truesize  # (the datagram's holders charge it from here)
    data = b"".join(cork.data)
    skb = ip_make_skb(sk, data, cork.saddr, cork.daddr, cork.dport, cork.rt, cork.ipc)
    skb.truesize = cork.truesize
    skb.destructor = sock_wfree
    if ip_datagram_df(sk, IPHDR_LEN + ip_optlen(cork.ipc) + cork.length, cork.rt, bool(cork.ipc.gso_size)):
        skb.buf[skb.network_header + 6] |= IP_DF >> 8
    return udp_send_skb(sk, skb, cork.saddr, cork.daddr, cork.ipc.gso_size, cork.fragsize)


def udp_flush_pending_frames(sk: UdpSock) -> None:
    """``udp_flush_pending_frames``: the pending datagram is dropped, its charge given back."""
    cork = sk.pending
    if cork is not None:
        sk.pending = None
        sk.sk_wmem_alloc -= cork.truesize
        sk.sk_write_space()


def udp_sendmsg_out(sk: UdpSock, err: int) -> int:
    """``udp_sendmsg``'s ``out:``: a send refused for want of memory (ENOBUFS), or by a socket
    that has found its send buffer full (SOCK_NOSPACE, which stays set), counts as SndbufErrors."""
    if err == -ENOBUFS or sk.sock_flags & SOCK_NOSPACE:
        sk.host.mib.Udp["SndbufErrors"] += 1
    return err


# -- receiving -------------------------------------------------------------------------------

def udp_rcv(host: Host, skb: SkBuff) -> int:
    """``udp_rcv`` → ``__udp4_lib_rcv``: check length and checksum, find the socket."""
    mib = host.mib.Udp
    buf = skb.buf
    d = skb.data
    avail = skb.tail - d
    if avail < UDP_HLEN:
        mib["InErrors"] += 1
        return 0
    sport, dport, ulen, check = _udphdr.unpack_from(buf, d)
    if ulen > avail or ulen < UDP_HLEN:
        mib["InErrors"] += 1
        return 0
    skb.tail = d + ulen
    nh = skb.network_header
    saddr, daddr = _addrs.unpack_from(buf, nh + 12)
    if check and skb.ip_summed not in (CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY):
        if csum_partial(memoryview(buf)[d:d + ulen], csum_tcpudp_nofold(saddr, daddr, ulen, IPPROTO_UDP)) != 0xFFFF:
            mib["InCsumErrors"] += 1
            mib["InErrors"] += 1
            return 0
    if ipv4_is_multicast(daddr) or ipv4_is_lbcast(daddr) or (skb.dst is not None and skb.dst.rt_type == RTN_BROADCAST):
        delivered = False
        dif = skb.dev.ifindex if skb.dev is not None else 0
        for sk in list(host.udp_table.get(dport, ())):
            # __udp_is_mcast_sock: the socket's own address and peer, device, and groups
            if sk.inet_rcv_saddr and sk.inet_rcv_saddr != daddr:
                continue
            if sk.inet_daddr and sk.inet_daddr != saddr or sk.inet_dport and sk.inet_dport != sport:
                continue
            if sk.sk_bound_dev_if and sk.sk_bound_dev_if != dif:
                continue
            if ipv4_is_multicast(daddr) and not ip_mc_sf_allow(sk, daddr, saddr, dif):
                continue
            udp_queue_rcv_skb(sk, skb.copy(), saddr, sport)
            delivered = True
        if not delivered:
            mib["IgnoredMulti"] += 1
        return 0
    sk = __udp4_lib_lookup(host, saddr, sport, daddr, dport, skb.dev.ifindex if skb.dev is not None else 0)
    if sk is None:
        mib["NoPorts"] += 1
        icmp_send(host, skb, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0)
        return 0
    return udp_queue_rcv_skb(sk, skb, saddr, sport)


def udp_queue_rcv_skb(sk: UdpSock, skb: SkBuff, saddr: int, sport: int) -> int:
    """``udp_queue_rcv_skb``: a GSO packet (from loopback) goes to a socket without UDP_GRO as its
    datagrams (``udp_unexpected_gso`` → ``udp_rcv_segment``), each then as any other."""
    if skb.gso_size and not sk.gro_enabled:
        for seg in __udp_gso_segment(skb):
            seg.data = seg.transport_header
            seg.ip_summed = CHECKSUM_UNNECESSARY
            udp_queue_rcv_one_skb(sk, seg, saddr, sport)
        return 0
    return udp_queue_rcv_one_skb(sk, skb, saddr, sport)


def udp_queue_rcv_one_skb(sk: UdpSock, skb: SkBuff, saddr: int, sport: int) -> int:
    """``udp_queue_rcv_one_skb``: the socket's filter (SO_ATTACH_FILTER) may drop the datagram
    (InErrors) or cut it; then ``__udp_queue_rcv_skb`` → ``__udp_enqueue_schedule_skb`` (Linux
    6.15+): charge the datagram's truesize, unless that would take the receive memory past ``sk_rcvbuf`` and the
    queue is not empty (an empty one always takes one datagram): RcvbufErrors."""
    mib = sk.host.mib.Udp
    if sk.encap_type == UDP_ENCAP_ESPINUDP and xfrm4_udp_encap_rcv(skb):
        mib["InDatagrams"] += 1  # (taken by the encapsulation, as received)
        return 0
    if sk.sk_filter is not None and sk_filter_trim_cap(sk, skb, UDP_HLEN):  # udp_queue_rcv_one_skb
        mib["InErrors"] += 1
        sk.sk_drops += 1
        return 0
    size = skb_charged_truesize(skb)
    rmem = sk.sk_rmem_alloc
    if rmem + size > sk.sk_rcvbuf and (rmem or sk.sk_rcvbuf > INT_MAX >> 1):
        mib["RcvbufErrors"] += 1
        mib["InErrors"] += 1
        sk.sk_drops += 1
        return 0
    skb.truesize = size
    skb.data += UDP_HLEN
    # the datagram's control block: its source, the socket's drops so far (sock_skb_set_dropcount,
    # for SO_RXQ_OVFL), where it came in (ipv4_pktinfo_prepare), its IPCB (a reassembled one's largest fragment)
    skb.cb = (saddr, sport, sk.sk_drops if sk.sk_flags & SOCK_RXQ_OVFL else 0,
              ipv4_pktinfo_prepare(sk, skb) if sk.cmsg_flags & IP_CMSG_PKTINFO else NO_PKTINFO, skb.cb)
    sk.sk_receive_queue.append(skb)
    sk.sk_rmem_alloc += size
    sk_mem_schedule(sk, size)  # udp_rmem_schedule
    sk.sk_forward_alloc -= size
    mib["InDatagrams"] += 1
    sk.sk_data_ready()
    return 0


def xfrm4_udp_encap_rcv(skb: SkBuff) -> bool:
    """``xfrm4_udp_encap_rcv`` on an ESP-in-UDP socket (RFC 3948): a NAT keepalive (one octet,
    0xFF) is eaten, an ESP packet (more than an ESP header, its SPI not 0) goes to IPsec, which
    has no state for it here and drops it; an IKE message (the non-ESP marker, a zero SPI) and
    anything shorter go on to the socket.  True when the datagram is taken."""
    d = skb.data + UDP_HLEN
    length = skb.tail - d
    if length == 1:
        return skb.buf[d] == 0xFF
    return length > ESP_HDR_LEN and skb.buf[d:d + 4] != b"\0\0\0\0"


def udp_peek_at(queue: Any, off: int) -> tuple[SkBuff | None, int]:
    """``__skb_try_recv_from_queue`` with a peek offset: the datagram ``off`` bytes into the queue
    (whole datagrams before it passed over, and an empty one a peek has returned already) and the
    offset left within it; None when the queue holds no byte that far in."""
    for skb in queue:
        length = skb.tail - skb.data
        if off >= length and (off or skb.peeked):
            off -= length
            continue
        return skb, off
    return None, 0


def udp_recvmsg(sk: UdpSock, msg: Any, size: int, flags: int) -> bytes | int:
    """``udp_recvmsg``: one datagram, truncated to ``size`` (MSG_TRUNC in ``msg.msg_flags``);
    with MSG_TRUNC in ``flags``, a read into a buffer returns the datagram's real length.  A
    MSG_PEEK read with SO_PEEK_OFF on starts that far into the queue (``sk_peek_offset``) and
    moves the offset on by what it read; a read takes it back."""
    if flags & MSG_ERRQUEUE:
        return ip_recv_error(sk, msg, size)
    lock_sock(sk)
    try:
        queue = sk.sk_receive_queue
        timeo = -1
        while True:
            waited = __skb_wait_for_datagram(sk, flags)
            if waited is not None:
                return waited or copy_to_msg(msg, [])  # 0: shut down, nothing to read
            if not flags & MSG_PEEK or sk.sk_peek_off < 0:
                skb, off = queue[0], 0
                break
            skb, off = udp_peek_at(queue, sk.sk_peek_off)
            if skb is not None:
                break
            # nothing that far in yet: wait for another datagram (__skb_wait_for_more_packets)
            if timeo < 0:
                timeo = sock_rcvtimeo(sk, bool(flags & MSG_DONTWAIT))
            if not timeo:
                return -EAGAIN
            last = queue[-1]
            timeo = sk_wait_event(sk, timeo, lambda last=last: queue[-1] is not last or sk.sk_err
                                  or sk.sk_shutdown & RCV_SHUTDOWN)
        if not sk.reader_queue_len:
            sk.reader_queue_len = len(queue)  # skb_queue_splice_tail_init
        length = skb.tail - skb.data
        copied = size
        if copied > length - off:
            copied = length - off
        elif copied < length:
            msg.msg_flags |= MSG_TRUNC
        if not flags & MSG_PEEK:
            queue.popleft()
            sk.reader_queue_len -= 1
            udp_rmem_release(sk, skb.truesize, 1)
        elif not length:
            skb.peeked = True  # skb_set_peeked
        if sk.sk_peek_off >= 0:  # (skb_consume_udp, peeking_with_offset)
            consumed = length if flags & MSG_TRUNC else copied
            sk_peek_offset_bwd(sk, -consumed if flags & MSG_PEEK else consumed)
        saddr, sport, dropcount, pktinfo, ipcb = skb.cb
        msg.msg_name = (in_ntoa(saddr), sport)
        start = skb.data + off
        copied = copy_to_msg(msg, [memoryview(skb.buf)[start:start + copied]])
        sock_recv_cmsgs(msg, sk, skb, dropcount)
        if sk.gro_enabled and skb.gso_size:
            put_cmsg(msg, IPPROTO_UDP, UDP_GRO, skb.gso_size)  # (udp_cmsg_recv: the segment size)
        if sk.cmsg_flags:
            ip_cmsg_recv_offset(msg, sk, skb, pktinfo, ipcb)
        if flags & MSG_TRUNC:
            # recv(MSG_TRUNC) returns the datagram's real length: into a buffer, as the count;
            # as bytes, as an object that long (Python's recv gives its buffer that length).
            if copied.__class__ is int:
                return length if copied >= 0 else copied
            return copied + bytes(length - len(copied))
        return copied
    finally:
        release_sock(sk)


def udp_rmem_release(sk: UdpSock, size: int, partial: int) -> None:
    """``udp_rmem_release``: a datagram read (``partial`` 1) gives its ``size`` back only once the
    datagrams read since the last release add up to a quarter of the receive buffer
    (``forward_threshold``), or the reader's queue is empty; then the receive memory falls by all
    of it, and the forward allocation keeps what is left of a page and, while reading goes on,
    one more page (the ``- partial``)."""
    if partial:
        sk.forward_deficit += size
        size = sk.forward_deficit
        if size < sk.sk_rcvbuf >> 2 and sk.reader_queue_len:
            return
    else:
        size += sk.forward_deficit
    sk.forward_deficit = 0
    fwd = sk.sk_forward_alloc + size
    sk.sk_forward_alloc = fwd - ((fwd - partial) & ~(PAGE_SIZE - 1))
    sk.sk_rmem_alloc -= size


def udp_err(host: Host, skb: SkBuff, inner: int, type: int, code: int, info: int) -> None:
    """``__udp4_lib_err``: an ICMP error about a datagram we sent goes to its socket: to the error
    queue with IP_RECVERR (and ``sk_err``), else as ``sk_err`` only when hard and the socket is
    connected (RFC 1122 4.1.3.3); a source quench is ignored, a redirect teaches the route."""
    buf = skb.buf
    ihl = (buf[inner] & 0x0F) * 4
    saddr, daddr = _addrs.unpack_from(buf, inner + 12)
    sport, dport = struct.unpack_from("!HH", buf, inner + ihl)
    sk = __udp4_lib_lookup(host, daddr, dport, saddr, sport, 0)
    if sk is None:
        host.mib.Icmp["InErrors"] += 1
        return
    harderr = False
    if type == ICMP_REDIRECT:
        ip_do_redirect(host, skb, inner)  # ipv4_sk_redirect
        return
    if type == ICMP_SOURCE_QUENCH:
        return
    if type == ICMP_PARAMETERPROB:
        err, harderr = EPROTO, True
    elif type == ICMP_DEST_UNREACH and code == ICMP_FRAG_NEEDED:
        ip_rt_update_pmtu(host, daddr, info)  # ipv4_sk_update_pmtu
        if sk.pmtudisc == IP_PMTUDISC_DONT:
            return
        err, harderr = EMSGSIZE, True
    elif type == ICMP_DEST_UNREACH and code <= NR_ICMP_UNREACH:
        err, harderr = ICMP_ERR_CONVERT[code]
    else:
        err = EHOSTUNREACH
    if sk.recverr:
        ip_icmp_error(sk, skb, inner, err, dport, info, inner + ihl + UDP_HLEN)  # the payload quoted
        sk.sk_err = err
    elif harderr and sk.sk_state == TCP_ESTABLISHED:
        sk.sk_err = err
    else:
        return
    sk.sk_error_report()


# -- the rest of udp_prot --------------------------------------------------------------------

def udp_close(sk: UdpSock, timeout: int) -> None:
    """``udp_lib_close``: a datagram still pending is dropped (``udp_destroy_sock``)."""
    udp_flush_pending_frames(sk)
    udp_lib_unhash(sk)
    # udp_destruct_common: both queues purged, all their memory given back
    udp_rmem_release(sk, sum(skb.truesize for skb in sk.sk_receive_queue), 0)
    sk.sk_receive_queue.clear()
    sk.reader_queue_len = 0
    sk.sk_state = TCP_CLOSE


def udp_poll(sk: UdpSock) -> int:
    """``udp_poll``: ``datagram_poll`` (a queued datagram's checksum was checked on arrival, so
    none is a false positive)."""
    return datagram_poll(sk)


def udp_ioctl(sk: UdpSock, cmd: int) -> int:
    """``udp_ioctl``: SIOCINQ is the size of the next datagram, SIOCOUTQ the memory of the sent
    ones still held (``sk_wmem_alloc_get``)."""
    if cmd == SIOCINQ:
        q = sk.sk_receive_queue
        return q[0].tail - q[0].data if q else 0
    if cmd == SIOCOUTQ:
        return sk.sk_wmem_alloc
    return -ENOIOCTLCMD


def udp_cmsg_send(msg: Any, gso_size: int) -> int:
    """``udp_cmsg_send``: a send's SOL_UDP control messages: UDP_SEGMENT, a 16-bit segment size
    for this send; any other, or one of another size, is EINVAL.  The segment size, or -errno."""
    for level, type, data in msg.msg_control:
        if level != IPPROTO_UDP:
            continue
        if type != UDP_SEGMENT or len(data) != 2:
            return -EINVAL
        gso_size = int.from_bytes(data, "little")
    return gso_size


def udp_setsockopt(sk: UdpSock, optname: int, optval: Any) -> int:
    """``udp_lib_setsockopt``: UDP_CORK (taking it off sends the datagram it held), UDP_ENCAP (0,
    or ESP in UDP or L2TP), UDP_NO_CHECK6_TX and _RX, UDP_SEGMENT (0 to 65535) and UDP_GRO; any
    value shorter than an int is EINVAL first."""
    val = sockopt_int(optval)
    if val is None:
        return -EINVAL
    if optname == UDP_CORK:
        sk.corkflag = bool(val)
        if not val and sk.pending is not None:
            udp_push_pending_frames(sk)
    elif optname == UDP_ENCAP:
        if val not in (0, UDP_ENCAP_ESPINUDP, UDP_ENCAP_L2TPINUDP):
            return -ENOPROTOOPT
        sk.encap_type = val
    elif optname == UDP_NO_CHECK6_TX:
        sk.no_check6_tx = bool(val)
    elif optname == UDP_NO_CHECK6_RX:
        sk.no_check6_rx = bool(val)
    elif optname == UDP_SEGMENT:
        if not 0 <= val <= 0xFFFF:
            return -EINVAL
        sk.gso_size = val
    elif optname == UDP_GRO:
        sk.gro_enabled = bool(val)
    else:
        return -ENOPROTOOPT
    return 0


def udp_getsockopt(sk: UdpSock, optname: int, optlen: int | None = None) -> int:
    """``udp_lib_getsockopt``: UDP_CORK, UDP_ENCAP, UDP_NO_CHECK6_TX and _RX, UDP_SEGMENT, UDP_GRO."""
    if optname == UDP_CORK:
        return SockoptInt(sk.corkflag)
    if optname == UDP_ENCAP:
        return SockoptInt(sk.encap_type)
    if optname == UDP_NO_CHECK6_TX:
        return SockoptInt(sk.no_check6_tx)
    if optname == UDP_NO_CHECK6_RX:
        return SockoptInt(sk.no_check6_rx)
    if optname == UDP_SEGMENT:
        return SockoptInt(sk.gso_size)
    if optname == UDP_GRO:
        return SockoptInt(sk.gro_enabled)
    return -ENOPROTOOPT


def udp_init_sock(sk: UdpSock) -> None:
    return None


udp_prot = Proto(
    "UDP",
    level=IPPROTO_UDP,
    bind=None,
    close=udp_close,
    connect=ip4_datagram_connect,
    disconnect=__udp_disconnect,
    accept=None,
    ioctl=udp_ioctl,
    init=udp_init_sock,
    shutdown=datagram_shutdown,
    setsockopt=udp_setsockopt,
    getsockopt=udp_getsockopt,
    sendmsg=udp_sendmsg,
    recvmsg=udp_recvmsg,
    backlog_rcv=None,
    poll=udp_poll,
    listen=None,
    get_port=udp_lib_get_port,
    sock_class=UdpSock,
)
