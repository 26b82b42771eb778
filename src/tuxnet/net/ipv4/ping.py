"""Ping sockets (net/ipv4/ping.c): ICMP echo for programs without raw sockets.

A ``socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`` may be made only by a process whose group is in
``net.ipv4.ping_group_range`` (by default none is: EACCES).  Its "port" is the echo identifier:
``bind`` sets it, and a socket that sends unbound gets the next one free after the last given
(``ping_port_rover``).  A send must carry an ICMP header with type ECHO and code 0 (EINVAL
otherwise); the kernel writes the socket's identifier and the checksum into it.  An echo reply
goes to the socket bound to its identifier that was bound last (``ping_lookup``), and ``recv``
returns its ICMP header and data, from port 0.  As this machine's kernel (6.18) does, a bind does
not refuse an identifier another ping socket has.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import (
    EACCES,
    EADDRINUSE,
    EDESTADDRREQ,
    EHOSTUNREACH,
    EINVAL,
    EMSGSIZE,
    ENETUNREACH,
    ENOIOCTLCMD,
    EOPNOTSUPP,
    EPROTO,
    EREMOTEIO,
)
from tuxnet.net.core.checksum import csum_fold, csum_partial
from tuxnet.net.core.skbuff import (
    SkBuff,
    alloc_skb_data,
    skb_charged_truesize,
)
from tuxnet.net.core.sock import Proto, Sock, _sock_tx_timestamp, sock_wfree
from tuxnet.net.core.utils import ipv4_is_lbcast
from tuxnet.net.ipv4.datagram import (
    __udp_disconnect,
    datagram_poll,
    datagram_shutdown,
    datagram_unhash,
    ip4_datagram_connect,
    skb_clone_rcv,
    sock_queue_rcv_skb,
)
from tuxnet.net.ipv4.fib import RT_SCOPE_LINK, RTN_BROADCAST
from tuxnet.net.ipv4.icmp import (
    ICMP_DEST_UNREACH,
    ICMP_ECHO,
    ICMP_ERR_CONVERT,
    ICMP_FRAG_NEEDED,
    ICMP_PARAMETERPROB,
    ICMP_REDIRECT,
    ICMP_SOURCE_QUENCH,
    NR_ICMP_UNREACH,
    icmp_out_count,
)
from tuxnet.net.ipv4.ip_output import (
    IP_DF,
    IP_PMTUDISC_DONT,
    IPHDR_LEN,
    IPPROTO_ICMP,
    MAX_HEADER,
    ip_append_alloc,
    ip_append_truesize,
    ip_build_header,
    ip_send_skb,
)
from tuxnet.net.ipv4.ip_sockglue import ip_append_check, ip_icmp_error, ip_options_route, ipcm_send
from tuxnet.net.ipv4.raw import queued_recvmsg
from tuxnet.net.ipv4.route import (
    inet_sk_flowi_flags,
    ip_do_redirect,
    ip_route_output_key,
    ip_rt_update_pmtu,
    ip_sock_rt_scope,
)
from tuxnet.net.ipv4.tcp_sock import TCP_ESTABLISHED
from tuxnet.net.socket import MSG_DONTWAIT, MSG_OOB

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

ICMPH_LEN = 8
_echo = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence


class PingSock(Sock):
    """``struct ping_sock``'s inet_sock: ``inet_num`` is the echo identifier."""

    __slots__ = ()

    def __init__(self, host: Host, prot: Any, family: int, type: int, protocol: int) -> None:
        super().__init__(host, prot, family, type, protocol)
        self.sk_receive_queue: deque[Any] = deque()


def ping_init_sock(sk: PingSock) -> int:
    """``ping_init_sock``: only a group in ``net.ipv4.ping_group_range`` may have one (tuxnet's
    processes are root's: group 0)."""
    low, high = sk.host.sysctl["net.ipv4.ping_group_range"]
    return 0 if low <= 0 <= high else -EACCES


def ping_get_port(sk: PingSock, ident: int) -> int:
    """``ping_get_port``: the identifier ``ident``, or for 0 the next free one after the last
    given (the host's ``ping_port_rover``, never 0)."""
    host = sk.host
    table = host.ping_table
    if not ident:
        for _ in range(1 << 16):
            host.ping_port_rover = host.ping_port_rover % 0xFFFF + 1
            if host.ping_port_rover not in table:
                break
        else:
            return -EADDRINUSE
        ident = host.ping_port_rover
    table.setdefault(ident, []).insert(0, sk)  # (hlist_nulls_add_head: the newest is found first)
    sk.inet_num = ident
    return 0


def ping_unhash(sk: PingSock) -> None:
    """``ping_unhash``: give the identifier up."""
    datagram_unhash(sk.host.ping_table, sk)
    sk.inet_num = sk.inet_sport = 0


def ping_close(sk: PingSock, timeout: int) -> None:
    """``ping_close``."""
    ping_unhash(sk)
    sk.sk_receive_queue.clear()
    sk.sk_rmem_alloc = 0


# -- sending -------------------------------------------------------------------------------------

def ping_v4_sendmsg(sk: PingSock, msg: Any, size: int) -> int:
    """``ping_v4_sendmsg`` (with ``ping_common_sendmsg``'s checks): an echo request built from the
    user's ICMP header and data, with the socket's identifier and the checksum filled in."""
    host = sk.host
    if size > 0xFFFF:
        return -EMSGSIZE
    if size < ICMPH_LEN:
        return -EINVAL
    if msg.msg_flags & MSG_OOB:
        return -EOPNOTSUPP
    data = bytearray(b"".join(bytes(b) for b in msg.msg_iov))
    if data[0] != ICMP_ECHO or data[1] != 0:
        return -EINVAL
    if msg.msg_name is not None:
        daddr = msg.msg_name[1]  # (no remote port)
    else:
        if sk.sk_state != TCP_ESTABLISHED:
            return -EDESTADDRREQ
        daddr = sk.inet_daddr
    ipc = ipcm_send(sk, msg, daddr)
    if isinstance(ipc, int):
        return ipc
    faddr, optlen, dontroute = ip_options_route(msg, ipc, daddr)
    if faddr < 0:
        return faddr
    scope = RT_SCOPE_LINK if dontroute else ip_sock_rt_scope(sk)
    rt = ip_route_output_key(host, faddr, ipc.addr, ipc.oif, scope, sk.sk_mark, ipc.tos, inet_sk_flowi_flags(sk),
                             sk.sk_protocol)
    if isinstance(rt, int):
        if rt == -ENETUNREACH:
            host.mib.Ip["OutNoRoutes"] += 1
        return rt
    if (rt.rt_type == RTN_BROADCAST or ipv4_is_lbcast(daddr)) and not sk.sk_broadcast:
        return -EACCES
    df = ip_append_check(sk, size + IPHDR_LEN + optlen, rt, daddr)
    if df < 0:
        return df
    err = ip_append_alloc(sk, bool(msg.msg_flags & MSG_DONTWAIT))
    if err:
        return err
    # ping_v4_push_pending_frames: the identifier is the socket's, the checksum over it all
    _echo.pack_into(data, 0, ICMP_ECHO, 0, 0, sk.inet_num, _echo.unpack_from(data)[4])
    struct.pack_into("!H", data, 2, csum_fold(csum_partial(data)))
    skb = alloc_skb_data(data, 0, MAX_HEADER)
    skb.transport_header = skb.data
    skb.dst = rt
    skb.sk = sk
    skb.truesize = ip_append_truesize(rt.dev, size + IPHDR_LEN + optlen, IPHDR_LEN + optlen + ICMPH_LEN)
    skb.destructor = sock_wfree
    skb.priority = ipc.priority
    skb.mark = ipc.mark
    _sock_tx_timestamp(sk, ipc, skb)
    ip_build_header(host, sk, skb, ipc.addr or rt.saddr, daddr, IPPROTO_ICMP, ipc.ttl, ipc.tos, False, ipc.opt)
    if df:
        skb.buf[skb.network_header + 6] |= IP_DF >> 8
    icmp_out_count(host, ICMP_ECHO)
    err = ip_send_skb(host, sk, skb)
    if err:
        host.mib.Icmp["OutErrors"] += 1
        return err
    return size


# -- receiving -----------------------------------------------------------------------------------

def ping_rcv(host: Host, skb: SkBuff) -> int:
    """``ping_rcv``: an echo reply goes to the socket its identifier names (``ping_lookup``: the
    last bound, whose address, if it bound one, is the reply's destination)."""
    d = skb.data
    sk = ping_lookup(host, skb, int.from_bytes(skb.buf[d + 4:d + 6], "big"))
    if sk is not None:
        ping_queue_rcv_skb(sk, skb)
    return 0


def ping_lookup(host: Host, skb: SkBuff, ident: int) -> PingSock | None:
    """``ping_lookup``: the socket last bound to ``ident`` whose address, if it bound one, is the
    packet's destination, and whose device, if it bound one, the packet came in by."""
    nh = skb.network_header
    daddr = int.from_bytes(skb.buf[nh + 16:nh + 20], "big")
    dif = skb.dev.ifindex if skb.dev is not None else 0
    for sk in host.ping_table.get(ident, ()):
        if sk.inet_rcv_saddr and sk.inet_rcv_saddr != daddr:
            continue
        if sk.sk_bound_dev_if and sk.sk_bound_dev_if != dif:
            continue
        return sk
    return None


def ping_err(host: Host, skb: SkBuff, inner: int, type: int, code: int, info: int) -> None:
    """``ping_err``: an ICMP error about one of our echo requests goes to the socket that sent
    it: to the error queue with IP_RECVERR (the quoted request as its data, no remote port) and
    ``sk_err``; without, as ``sk_err`` only when hard and the socket connected (RFC 1122
    4.1.3.3).  A source quench or a redirect, which ping wants to see, is EREMOTEIO."""
    buf = skb.buf
    icmph = inner + (buf[inner] & 0x0F) * 4
    if buf[icmph] != ICMP_ECHO or buf[icmph + 1] != 0:  # (ping_supported)
        return
    sk = ping_lookup(host, skb, int.from_bytes(buf[icmph + 4:icmph + 6], "big"))
    if sk is None:
        return
    harderr = False
    if type == ICMP_SOURCE_QUENCH:
        err = EREMOTEIO
    elif type == ICMP_PARAMETERPROB:
        err, harderr = EPROTO, True
    elif type == ICMP_DEST_UNREACH and code == ICMP_FRAG_NEEDED:
        ip_rt_update_pmtu(host, int.from_bytes(buf[inner + 16:inner + 20], "big"), info)
        if sk.pmtudisc == IP_PMTUDISC_DONT:
            return
        err, harderr = EMSGSIZE, True
    elif type == ICMP_DEST_UNREACH:
        err = EHOSTUNREACH
        if code <= NR_ICMP_UNREACH:
            err, harderr = ICMP_ERR_CONVERT[code]
    elif type == ICMP_REDIRECT:
        ip_do_redirect(host, skb, inner)
        err = EREMOTEIO
    else:  # (time exceeded, and anything else)
        err = EHOSTUNREACH
    if sk.recverr:
        ip_icmp_error(sk, skb, inner, err, 0, info, icmph)  # the request quoted
    elif not harderr or sk.sk_state != TCP_ESTABLISHED:
        return
    sk.sk_err = err
    sk.sk_error_report()


def ping_queue_rcv_skb(sk: PingSock, skb: SkBuff) -> None:
    """``ping_rcv``'s clone → ``ping_queue_rcv_skb``: the ICMP message, from where it came,
    unless the receive buffer is full; charged its truesize."""
    saddr = int.from_bytes(skb.buf[skb.network_header + 12:skb.network_header + 16], "big")
    sock_queue_rcv_skb(sk, skb_clone_rcv(skb, skb.data, skb_charged_truesize(skb)), saddr)


def ping_recvmsg(sk: PingSock, msg: Any, size: int, flags: int) -> bytes | int:
    """``ping_recvmsg``: one ICMP message (header and data, no IP header), from port 0; as a raw
    socket's, but MSG_TRUNC does not ask for the real length."""
    return queued_recvmsg(sk, msg, size, flags, False)


def ping_ioctl(sk: PingSock, cmd: int) -> int:
    """``ping_prot`` has no ioctl: every request is one no protocol knows."""
    return -ENOIOCTLCMD


ping_prot = Proto(
    "PING",
    level=None,  # no options of its own, only IPPROTO_IP's (ping_prot's are ip_setsockopt's)
    bind=None,  # (ping_bind is __inet_bind's work with ping_get_port)
    close=ping_close,
    connect=ip4_datagram_connect,
    disconnect=__udp_disconnect,
    accept=None,
    ioctl=ping_ioctl,
    init=ping_init_sock,
    shutdown=datagram_shutdown,
    setsockopt=None,
    getsockopt=None,
    sendmsg=ping_v4_sendmsg,
    recvmsg=ping_recvmsg,
    backlog_rcv=None,
    poll=datagram_poll,
    listen=None,
    get_port=ping_get_port,
    sock_class=PingSock,
)
