"""Raw IPv4 sockets (net/ipv4/raw.c): ``socket(AF_INET, SOCK_RAW, protocol)``, as ping and
traceroute use them.

Every datagram of the socket's protocol that is delivered locally is also given, IP header
included, to each matching raw socket (``raw_local_deliver`` → ``raw_v4_input``, called from
``ip_local_deliver_finish`` before the protocol's own handler).  An ICMP socket can filter types
with ``setsockopt(SOL_RAW, ICMP_FILTER, mask)``.  Sending: the user's bytes become the payload of
an IPv4 datagram of the socket's protocol (``raw_sendmsg`` → ``ip_append_data`` path), or, with
IP_HDRINCL (implied by IPPROTO_RAW), the user supplies the IP header (``raw_send_hdrinc``): the
kernel fills in the total length, the checksum, and the source and identification when zero.
The kernel does not compute ICMP checksums for raw sockets; the program does, as ping does.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import (
    EACCES,
    EADDRINUSE,
    EADDRNOTAVAIL,
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
from tuxnet.net.core.datagram import copy_to_msg
from tuxnet.net.core.dev import ETH_P_IP
from tuxnet.net.core.netfilter import NF_HOOK, NF_INET_LOCAL_OUT
from tuxnet.net.core.skbuff import (
    SkBuff,
    alloc_skb_data,
    alloc_skb_truesize,
    skb_charged_truesize,
)
from tuxnet.net.core.sock import Proto, Sock, _sock_tx_timestamp, lock_sock, release_sock, sock_wfree
from tuxnet.net.core.utils import in_ntoa, ipv4_is_lbcast, ipv4_is_multicast
from tuxnet.net.ipv4.af_inet import (
    inet_addr_valid_or_nonlocal,
    inet_bind,
    inet_dgram_connect,
    inet_getname,
    inet_getsockopt,
    inet_ioctl,
    inet_poll,
    inet_recvmsg,
    inet_release,
    inet_sendmsg,
    inet_setsockopt,
    inet_shutdown,
    sock_no_accept,
    sock_no_listen,
)
from tuxnet.net.ipv4.datagram import (
    __skb_wait_for_datagram,
    __udp_disconnect,
    datagram_no_sockopt,
    datagram_poll,
    datagram_shutdown,
    ip4_datagram_connect,
    skb_clone_rcv,
    sock_queue_rcv_skb,
)
from tuxnet.net.ipv4.devinet import inet_addr_type
from tuxnet.net.ipv4.fib import RT_SCOPE_LINK, RTN_BROADCAST
from tuxnet.net.ipv4.icmp import (
    ICMP_DEST_UNREACH,
    ICMP_ERR_CONVERT,
    ICMP_FRAG_NEEDED,
    ICMP_PARAMETERPROB,
    ICMP_REDIRECT,
    ICMP_SOURCE_QUENCH,
    NR_ICMP_UNREACH,
    icmp_out_count,
)
from tuxnet.net.ipv4.igmp import ip_mc_sf_allow
from tuxnet.net.ipv4.ip_fragment import ip_defrag
from tuxnet.net.ipv4.ip_output import (
    IP_DF,
    IP_PMTUDISC_DONT,
    IPPROTO_ICMP,
    IPPROTO_RAW,
    LL_RESERVED_SPACE,
    MAX_HEADER,
    ip_append_alloc,
    ip_append_truesize,
    ip_build_header,
    ip_select_ident,
    ip_send_check,
    ip_send_skb,
    net_xmit_errno,
)
from tuxnet.net.ipv4.ip_sockglue import (
    IpcmCookie,
    ip_append_check,
    ip_cmsg_recv_offset,
    ip_icmp_error,
    ip_local_error,
    ip_options_route,
    ip_recv_error,
    ipcm_send,
)
from tuxnet.net.ipv4.route import (
    dst_output,
    inet_sk_flowi_flags,
    ip_do_redirect,
    ip_route_output_key,
    ip_rt_update_pmtu,
    ip_sock_rt_scope,
)
from tuxnet.net.ipv4.tcp_sock import TCP_CLOSE, TCP_ESTABLISHED
from tuxnet.net.socket import (  # <sys/socket.h>, <poll.h>, <linux/sockios.h>
    AF_INET,
    MSG_DONTWAIT,
    MSG_ERRQUEUE,
    MSG_OOB,
    MSG_PEEK,
    MSG_TRUNC,
    SIOCINQ,
    SIOCOUTQ,
    SOCK_RAW,
    ProtoOps,
    sock_recv_cmsgs,
)

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

SOL_RAW = 255
ICMP_FILTER = 1
IPHDR_LEN = 20

_addrs = struct.Struct("!II")


class RawSock(Sock):
    """``struct raw_sock``: the receive queue holds (datagram, source address) pairs."""

    __slots__ = ("icmp_filter",)

    def __init__(self, host: Host, prot: Any, family: int, type: int, protocol: int) -> None:
        super().__init__(host, prot, family, type, protocol)
        self.sk_receive_queue: deque[Any] = deque()
        self.icmp_filter = 0


def raw_hashinfo(host: Host) -> dict[int, list[RawSock]]:
    """``raw_v4_hashinfo`` of the namespace: the raw sockets by protocol (made on first use)."""
    table = getattr(host, "raw_v4_hashinfo", None)
    if table is None:
        table = host.raw_v4_hashinfo = {}
    return table


def raw_v4_match(sk: RawSock, num: int, raddr: int, laddr: int, dif: int) -> bool:
    """``raw_v4_match``: protocol, and the peer, local address and device when they are set."""
    return sk.inet_num == num and not (sk.inet_daddr and sk.inet_daddr != raddr) and \
        not (sk.inet_rcv_saddr and sk.inet_rcv_saddr != laddr) and \
        not (sk.sk_bound_dev_if and sk.sk_bound_dev_if != dif)


def icmp_filter(sk: RawSock, skb: SkBuff) -> bool:
    """``icmp_filter``: is this ICMP type filtered out on ``sk``? (unknown types never are)"""
    t = skb.transport_header
    if t < 0 or t >= skb.tail:
        return True
    type = skb.buf[t]
    return type < 32 and bool((1 << type) & sk.icmp_filter)


def raw_local_deliver(host: Host, skb: SkBuff, protocol: int) -> bool:
    """``raw_local_deliver`` → ``raw_v4_input``: a copy to every matching raw socket; True when
    at least one matched (then the datagram counts as delivered even with no protocol handler)."""
    table = getattr(host, "raw_v4_hashinfo", None)
    if not table:
        return False
    socks = table.get(protocol)
    if not socks:
        return False
    buf = skb.buf
    nh = skb.network_header
    saddr, daddr = _addrs.unpack_from(buf, nh + 12)
    dif = skb.dev.ifindex if skb.dev is not None else 0
    delivered = False
    for sk in list(socks):
        if not raw_v4_match(sk, protocol, saddr, daddr, dif):
            continue
        if ipv4_is_multicast(daddr) and not ip_mc_sf_allow(sk, daddr, saddr, dif):
            continue
        delivered = True
        if protocol == IPPROTO_ICMP and icmp_filter(sk, skb):
            continue
        raw_rcv(sk, skb_clone_rcv(skb, nh, skb_charged_truesize(skb)), saddr)
    return delivered


def raw_icmp_error(host: Host, skb: SkBuff, inner: int, protocol: int, type: int, code: int, info: int) -> None:
    """``raw_icmp_error``: an ICMP error about a datagram of ``protocol`` goes to each raw socket
    that could have sent it (``raw_err``)."""
    socks = host.raw_v4_hashinfo.get(protocol)
    if not socks:
        return
    saddr, daddr = _addrs.unpack_from(skb.buf, inner + 12)
    dif = skb.dev.ifindex if skb.dev is not None else 0
    for sk in list(socks):
        if raw_v4_match(sk, protocol, daddr, saddr, dif):
            raw_err(sk, skb, inner, type, code, info)


def raw_err(sk: RawSock, skb: SkBuff, inner: int, type: int, code: int, info: int) -> None:
    """``raw_err``: "fragmentation needed" teaches the route the path MTU
    (``ipv4_sk_update_pmtu``), a redirect the better first hop (``ipv4_sk_redirect``).  With
    IP_RECVERR the error goes to the error queue, quoting the datagram from its transport header
    (from its IP header with IP_HDRINCL), and becomes ``sk_err``; without it, only a hard error
    on a connected socket does."""
    host = sk.host
    buf = skb.buf
    daddr = int.from_bytes(buf[inner + 16:inner + 20], "big")
    harderr = False
    if type == ICMP_DEST_UNREACH and code == ICMP_FRAG_NEEDED:
        ip_rt_update_pmtu(host, daddr, info)
    elif type == ICMP_REDIRECT:
        ip_do_redirect(host, skb, inner)
        return
    if (not sk.recverr and sk.sk_state != TCP_ESTABLISHED) or type == ICMP_SOURCE_QUENCH:
        return
    if type == ICMP_PARAMETERPROB:
        err, harderr = EPROTO, True
    elif type == ICMP_DEST_UNREACH and code == ICMP_FRAG_NEEDED:
        err, harderr = EMSGSIZE, sk.pmtudisc != IP_PMTUDISC_DONT
    elif type == ICMP_DEST_UNREACH and code <= NR_ICMP_UNREACH:
        err, harderr = ICMP_ERR_CONVERT[code]
    else:
        err = EHOSTUNREACH
    if sk.recverr:
        ip_icmp_error(sk, skb, inner, err, 0, info, inner if sk.hdrincl else inner + (buf[inner] & 0x0F) * 4)
    if sk.recverr or harderr:
        sk.sk_err = err
        sk.sk_error_report()


def raw_rcv(sk: RawSock, skb: SkBuff, saddr: int) -> None:
    """``raw_rcv`` → ``raw_rcv_skb``: the socket's clone of the packet, from its IP header, is
    queued unless the buffer is full (Ip InDiscards), charged its truesize."""
    drops = sk.sk_drops
    if not sock_queue_rcv_skb(sk, skb, saddr) and sk.sk_drops != drops:  # (not for its filter's drop)
        sk.host.mib.Ip["InDiscards"] += 1


# -- sending -------------------------------------------------------------------------------------

def raw_send_hdrinc(sk: RawSock, data: bytes, rt: Any, noblock: bool, ipc: IpcmCookie, daddr: int) -> int:
    """``raw_send_hdrinc``: the user's own IP header, completed and checksummed; the send's
    priority and mark.  A packet longer than the device's MTU is EMSGSIZE (``ip_local_error``)."""
    host = sk.host
    length = len(data)
    if length > rt.dev.mtu:
        ip_local_error(sk, EMSGSIZE, daddr, sk.inet_dport, rt.dev.mtu)
        return -EMSGSIZE
    if length < IPHDR_LEN:
        return -EINVAL
    err = ip_append_alloc(sk, noblock)
    if err:
        return err
    skb = alloc_skb_data(data, 0, MAX_HEADER)
    skb.truesize = alloc_skb_truesize(length + LL_RESERVED_SPACE(rt.dev) + 15)
    skb.destructor = sock_wfree
    skb.priority = ipc.priority
    skb.mark = ipc.mark
    _sock_tx_timestamp(sk, ipc, skb)
    d = skb.data
    buf = skb.buf
    skb.network_header = d
    ihl = (buf[d] & 0x0F) * 4
    if ihl > length:
        return -EINVAL
    if ihl >= IPHDR_LEN:
        if not _addrs.unpack_from(buf, d + 12)[0]:
            struct.pack_into("!I", buf, d + 12, rt.saddr)
        struct.pack_into("!H", buf, d + 2, length)
        if not (buf[d + 4] or buf[d + 5]):
            struct.pack_into("!H", buf, d + 4, ip_select_ident(host, None, False))
        ip_send_check(buf, d)
        skb.transport_header = d + ihl
        if buf[d + 9] == IPPROTO_ICMP and length >= ihl + 8:
            icmp_out_count(host, buf[d + ihl])
    skb.dst = rt
    skb.sk = sk
    skb.protocol = ETH_P_IP
    host.mib.Ip["OutRequests"] += 1
    err = NF_HOOK(host, NF_INET_LOCAL_OUT, sk, skb, None, rt.dev, dst_output)
    if err > 0:
        err = net_xmit_errno(err)
    if err:
        host.mib.Ip["OutDiscards"] += 1
    return raw_send_err(sk, err)


def raw_send_err(sk: RawSock, err: int) -> int:
    """What a raw send reports of a failure below it: a qdisc's drop (ENOBUFS) only to a socket
    that asked for errors (IP_RECVERR)."""
    return 0 if err == -ENOBUFS and not sk.recverr else err


def raw_sendmsg(sk: RawSock, msg: Any, size: int) -> int:
    """``raw_sendmsg``: route, then either the user's header or ours around the user's bytes."""
    host = sk.host
    if size > 0xFFFF:
        return -EMSGSIZE
    if msg.msg_flags & MSG_OOB:
        return -EOPNOTSUPP
    if msg.msg_name is not None:
        daddr = msg.msg_name[1]
    else:
        if sk.sk_state != TCP_ESTABLISHED:
            return -EDESTADDRREQ
        daddr = sk.inet_daddr
    ipc = ipcm_send(sk, msg, daddr)
    if isinstance(ipc, int):
        return ipc
    if ipc.opt is not None and sk.hdrincl:
        return -EINVAL  # the user's header carries its own options
    faddr, optlen, dontroute = ip_options_route(msg, ipc, daddr)
    if faddr < 0:
        return faddr
    scope = RT_SCOPE_LINK if dontroute else ip_sock_rt_scope(sk)
    data = b"".join(bytes(b) for b in msg.msg_iov)
    rt = ip_route_output_key(host, faddr, ipc.addr, ipc.oif, scope, sk.sk_mark, ipc.tos, inet_sk_flowi_flags(sk),
                             sk.sk_protocol)
    if isinstance(rt, int):
        if rt == -ENETUNREACH:
            host.mib.Ip["OutNoRoutes"] += 1
        return rt
    if (rt.rt_type == RTN_BROADCAST or ipv4_is_lbcast(daddr)) and not sk.sk_broadcast:
        return -EACCES
    noblock = bool(msg.msg_flags & MSG_DONTWAIT)
    if sk.hdrincl:
        err = raw_send_hdrinc(sk, data, rt, noblock, ipc, daddr)
        return err if err < 0 else size
    df = ip_append_check(sk, len(data) + IPHDR_LEN + optlen, rt, daddr)
    if df < 0:
        return df
    err = ip_append_alloc(sk, noblock)
    if err:
        return err
    skb = alloc_skb_data(data, 0, MAX_HEADER)
    skb.transport_header = skb.data
    skb.dst = rt
    skb.sk = sk
    skb.truesize = ip_append_truesize(rt.dev, len(data) + IPHDR_LEN + optlen, IPHDR_LEN + optlen)
    skb.destructor = sock_wfree
    skb.priority = ipc.priority
    skb.mark = ipc.mark
    _sock_tx_timestamp(sk, ipc, skb)
    saddr = ipc.addr or rt.saddr
    ip_build_header(host, sk, skb, saddr, daddr, sk.sk_protocol, ipc.ttl, ipc.tos, False, ipc.opt)
    if df:
        skb.buf[skb.network_header + 6] |= IP_DF >> 8
    if sk.sk_protocol == IPPROTO_ICMP and data:
        icmp_out_count(host, data[0])
    err = raw_send_err(sk, ip_send_skb(host, sk, skb))
    return err if err < 0 else size


# -- receiving -----------------------------------------------------------------------------------

def raw_recvmsg(sk: RawSock, msg: Any, size: int, flags: int) -> bytes | int:
    """``raw_recvmsg``: one datagram, IP header first; MSG_TRUNC in ``msg_flags`` when cut, and
    with MSG_TRUNC in ``flags`` the datagram's real length."""
    return queued_recvmsg(sk, msg, size, flags, True)


def queued_recvmsg(sk: Any, msg: Any, size: int, flags: int, real_length: bool) -> bytes | int:
    """What raw and ping sockets' ``recvmsg`` share: the first packet of the queue, from its
    source address and port 0, with the control messages the socket asked for; MSG_TRUNC in ``msg_flags`` when cut; with
    ``real_length`` and MSG_TRUNC in ``flags``, the message's real length."""
    if flags & MSG_OOB:
        return -EOPNOTSUPP
    if flags & MSG_ERRQUEUE:
        return ip_recv_error(sk, msg, size)
    lock_sock(sk)
    try:
        waited = __skb_wait_for_datagram(sk, flags)
        if waited is not None:
            return waited or copy_to_msg(msg, [])  # 0: shut down, nothing to read
        skb = sk.sk_receive_queue[0]
        if not flags & MSG_PEEK:
            sk.sk_receive_queue.popleft()
            sk.sk_rmem_alloc -= skb.truesize
        length = skb.tail - skb.data
        if length > size:
            msg.msg_flags |= MSG_TRUNC
        saddr, _, dropcount, pktinfo, ipcb = skb.cb
        msg.msg_name = (in_ntoa(saddr), 0)
        copied = copy_to_msg(msg, [memoryview(skb.buf)[skb.data:skb.data + min(size, length)]])
        sock_recv_cmsgs(msg, sk, skb, dropcount)
        if sk.cmsg_flags:
            ip_cmsg_recv_offset(msg, sk, skb, pktinfo, ipcb)
        if flags & MSG_TRUNC and real_length:
            # recv(MSG_TRUNC) returns the datagram's real length: into a buffer, as the count;
            # as bytes, as an object that long (Python's recv gives its buffer that length).
            if copied.__class__ is int:
                return length if copied >= 0 else copied
            return copied + bytes(length - len(copied))
        return copied
    finally:
        release_sock(sk)


# -- the rest of raw_prot and inet_sockraw_ops -----------------------------------------------------

def raw_init(sk: RawSock) -> None:
    """``inet_create`` for SOCK_RAW: the protocol number is the socket's "port"; IPPROTO_RAW
    implies IP_HDRINCL; the socket goes in the hash (``raw_hash_sk``)."""
    sk.inet_num = sk.inet_sport = sk.sk_protocol  # (getsockname shows it as the port)
    if sk.sk_protocol == IPPROTO_RAW:
        sk.hdrincl = True
    raw_hashinfo(sk.host).setdefault(sk.inet_num, []).append(sk)


def ip_ra_control(sk: Any, on: bool) -> int:
    """``ip_ra_control`` (IP_ROUTER_ALERT): a raw socket of a protocol (not IPPROTO_RAW) joins the
    namespace's Router Alert chain, or leaves it: EINVAL for any other socket, EADDRINUSE to join
    twice, ENOBUFS to leave when not in it (there being no new entry to add, as the kernel
    words it)."""
    if sk.sk_type != SOCK_RAW or sk.inet_num == IPPROTO_RAW:
        return -EINVAL
    chain = sk.host.ra_chain
    if on:
        if sk in chain:
            return -EADDRINUSE
        chain.insert(0, sk)
    else:
        if sk not in chain:
            return -ENOBUFS
        chain.remove(sk)
    sk.rtalert = on
    return 0


def ip_call_ra_chain(host: Host, skb: SkBuff) -> bool:
    """``ip_call_ra_chain``: a packet with the Router Alert option that this host would forward
    goes instead to the raw sockets on the chain of its protocol (bound to no device, or to the one
    it came in by), a fragment once it is whole; True when one took it (it is not forwarded)."""
    nh = skb.network_header
    protocol = skb.buf[nh + 9]
    dif = skb.dev.ifindex if skb.dev is not None else 0
    takers = [sk for sk in host.ra_chain
              if sk.inet_num == protocol and (not sk.sk_bound_dev_if or sk.sk_bound_dev_if == dif)]
    if not takers:
        return False
    if int.from_bytes(skb.buf[nh + 6:nh + 8], "big") & 0x3FFF:  # (ip_is_fragment)
        whole = ip_defrag(host, skb)
        if whole is None:
            return True
        skb = whole
        nh = skb.network_header
    saddr = int.from_bytes(skb.buf[nh + 12:nh + 16], "big")
    for sk in takers:
        raw_rcv(sk, skb_clone_rcv(skb, nh, skb_charged_truesize(skb)), saddr)
    return True


def raw_close(sk: RawSock, timeout: int) -> None:
    """``raw_close``: off the Router Alert chain, out of the hash (``raw_unhash_sk``)."""
    if sk.rtalert:
        ip_ra_control(sk, False)
    socks = raw_hashinfo(sk.host).get(sk.inet_num)
    if socks and sk in socks:
        socks.remove(sk)
    sk.sk_receive_queue.clear()
    sk.sk_rmem_alloc = 0
    sk.sk_state = TCP_CLOSE


def raw_bind(sk: RawSock, addr: tuple[int, int, int]) -> int:
    """``raw_bind``, raw_prot's own bind: a local, broadcast or multicast address (or any), or
    one that is not ours where the socket may bind it (``inet_addr_valid_or_nonlocal``)."""
    family, ip, _ = addr
    if family != AF_INET:
        return -EINVAL
    addr_type = inet_addr_type(sk.host, ip)
    if not inet_addr_valid_or_nonlocal(sk, ip, addr_type):
        return -EADDRNOTAVAIL
    sk.inet_rcv_saddr = sk.inet_saddr = ip
    if addr_type == RTN_BROADCAST or ipv4_is_multicast(ip):
        sk.inet_saddr = 0
    sk.dst_cache = None
    return 0


def raw_ioctl(sk: RawSock, cmd: int) -> int:
    """``raw_ioctl``: SIOCINQ is the size of the next datagram, SIOCOUTQ the memory of the sent
    ones still held (``sk_wmem_alloc_get``)."""
    if cmd == SIOCINQ:
        q = sk.sk_receive_queue
        return q[0].tail - q[0].data if q else 0
    if cmd == SIOCOUTQ:
        return sk.sk_wmem_alloc
    return -ENOIOCTLCMD


def raw_setsockopt(sk: RawSock, optname: int, optval: Any) -> int:
    """``raw_setsockopt`` at SOL_RAW (``do_raw_setsockopt``): ICMP_FILTER, on an ICMP socket."""
    if optname != ICMP_FILTER or sk.inet_num != IPPROTO_ICMP:
        return -EOPNOTSUPP if optname == ICMP_FILTER else -ENOPROTOOPT
    if isinstance(optval, bytes | bytearray):
        # the first octets of the struct icmp_filter, over what it was (at most four)
        given = bytes(optval[:4])
        optval = int.from_bytes(given + sk.icmp_filter.to_bytes(4, "little")[len(given):], "little")
    if not isinstance(optval, int):
        return -EINVAL
    sk.icmp_filter = optval & 0xFFFFFFFF
    return 0


def raw_getsockopt(sk: RawSock, optname: int, optlen: int | None = None) -> int | bytes:
    """``raw_getsockopt`` at SOL_RAW (``do_raw_getsockopt``): the ICMP filter as its 4 octets."""
    if optname != ICMP_FILTER or sk.inet_num != IPPROTO_ICMP:
        return -EOPNOTSUPP if optname == ICMP_FILTER else -ENOPROTOOPT
    return sk.icmp_filter.to_bytes(4, "little")


raw_prot = Proto(
    "RAW",
    level=SOL_RAW,
    bind=raw_bind,
    close=raw_close,
    connect=ip4_datagram_connect,
    disconnect=__udp_disconnect,
    accept=None,
    ioctl=raw_ioctl,
    init=raw_init,
    shutdown=datagram_shutdown,
    setsockopt=raw_setsockopt,
    getsockopt=raw_getsockopt,
    sendmsg=raw_sendmsg,
    recvmsg=raw_recvmsg,
    backlog_rcv=None,
    poll=datagram_poll,
    listen=None,
    get_port=datagram_no_sockopt,
    sock_class=RawSock,
)

# Raw and ping sockets' operations: bind and options reach the protocol's own (raw_bind, SOL_RAW's
# ICMP_FILTER) through inet_bind and the inet option calls.
inet_sockraw_ops = ProtoOps(
    "inet_sockraw_ops", family=AF_INET, release=inet_release, bind=inet_bind, connect=inet_dgram_connect,
    accept=sock_no_accept, getname=inet_getname, poll=inet_poll, ioctl=inet_ioctl, listen=sock_no_listen,
    shutdown=inet_shutdown, setsockopt=inet_setsockopt, getsockopt=inet_getsockopt,
    sendmsg=inet_sendmsg, recvmsg=inet_recvmsg,
)
