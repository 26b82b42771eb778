"""The AF_INET family (net/ipv4/af_inet.c): creating sockets, the ``proto_ops`` tables
``inet_stream_ops`` and ``inet_dgram_ops``, and ``inet_init`` which registers IPv4's handlers."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import (
    EADDRINUSE,
    EADDRNOTAVAIL,
    EAFNOSUPPORT,
    EALREADY,
    ECONNABORTED,
    EINPROGRESS,
    EINVAL,
    EISCONN,
    ENOPROTOOPT,
    ENOTCONN,
    EOPNOTSUPP,
    EPROTONOSUPPORT,
)
from tuxnet.kernel.fs import O_NONBLOCK
from tuxnet.kernel.signal import signal_pending_current, sock_intr_errno
from tuxnet.net.core.dev import ETH_P_IP, PacketType
from tuxnet.net.core.dev_ioctl import DEVINET_IOCTLS
from tuxnet.net.core.sock import (
    SHUTDOWN_MASK,
    SOCK_BINDADDR_LOCK,
    Sock,
    lock_sock,
    release_sock,
    sk_set_peek_off,
    sk_wait_event,
    sock_disable_timestamp,
    sock_error,
    sock_sndtimeo,
)
from tuxnet.net.core.utils import in_ntoa
from tuxnet.net.ipv4.fib import RT_TABLE_LOCAL, RT_TABLE_MAIN, RTN_BROADCAST, RTN_LOCAL, FibTable
from tuxnet.net.ipv4.fib_rules import fib_default_rules_init
from tuxnet.net.ipv4.igmp import IPPROTO_IGMP, igmp_rcv, ip_mc_drop_socket
from tuxnet.net.ipv4.ip_input import ip_rcv
from tuxnet.net.ipv4.ip_output import IP_PMTUDISC_DO, IP_PMTUDISC_DONT, IP_PMTUDISC_WANT  # noqa: F401  (<netinet/in.h>)
from tuxnet.net.ipv4.ip_sockglue import (  # noqa: F401  (the options of <netinet/in.h>)
    IP_HDRINCL,
    IP_MTU,
    IP_MTU_DISCOVER,
    IP_OPTIONS,
    IP_PKTINFO,
    IP_RECVERR,
    IP_TOS,
    IP_TTL,
    ip_getsockopt,
    ip_setsockopt,
)
from tuxnet.net.ipv4.tcp_fastopen import (
    TFO_SERVER_ENABLE,
    TFO_SERVER_WO_SOCKOPT1,
    check_tcp_fastopen_key,
    fastopen_queue_tune,
    tcp_fastopen_init_key_once,
)
from tuxnet.net.socket import (
    AF_INET,
    AF_UNSPEC,
    SOCK_DGRAM,
    SOCK_RAW,
    SOCK_STREAM,
    SS_CONNECTED,
    SS_CONNECTING,
    SS_DISCONNECTING,
    SS_UNCONNECTED,
    ProtoOps,
    Socket,
    sock_register,
)
from tuxnet.world import NSEC_PER_SEC

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

IPPROTO_IP = 0
IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_RAW = 255


TCP_SYN_SENT = 2
TCP_SYN_RECV = 3
TCP_CLOSE = 7
TCP_LISTEN = 10


class NetProtocol:
    """``struct net_protocol``: an IP protocol's receive and ICMP-error handlers."""

    __slots__ = ("handler", "err_handler")

    def __init__(self, handler: Any, err_handler: Any = None) -> None:
        self.handler = handler
        self.err_handler = err_handler


# -- the proto_ops functions ------------------------------------------------------------------

def inet_release(sock: Socket) -> int:
    """``inet_release``: the protocol's close, lingering if SO_LINGER says so."""
    sk = sock.sk
    if sk is not None:
        timeout = sk.sk_lingertime if sk.sk_linger else 0
        sock.sk = None
        if sk.mc_list:
            ip_mc_drop_socket(sk)
        sk.sk_prot.close(sk, timeout)
        if sk.sk_flags:
            sock_disable_timestamp(sk)
    return 0


def inet_addr_valid_or_nonlocal(sk: Sock, addr: int, addr_type: int) -> bool:
    """``inet_addr_valid_or_nonlocal``: a socket binds to the wildcard, an address of this host,
    a broadcast or a multicast one, or any address at all when ``inet_can_nonlocal_bind`` (the
    sysctl ``ip_nonlocal_bind``, IP_FREEBIND or IP_TRANSPARENT)."""
    return (not addr or addr_type in (RTN_LOCAL, RTN_BROADCAST) or (addr >> 28) == 0xE
            or bool(sk.host.sysctl["net.ipv4.ip_nonlocal_bind"] or sk.freebind or sk.transparent))


def inet_bind(sock: Socket, addr: tuple[int, int, int]) -> int:
    """``inet_bind``: the protocol's own bind if it has one (``raw_bind``), else ``__inet_bind``."""
    from tuxnet.net.ipv4.devinet import inet_addr_type

    if sock.sk.sk_prot.bind is not None:
        return sock.sk.sk_prot.bind(sock.sk, addr)
    family, ip, port = addr
    if family != AF_INET and not (family == AF_UNSPEC and ip == 0):
        return -EAFNOSUPPORT
    sk = sock.sk
    host = sk.host
    addr_type = inet_addr_type(host, ip)
    if not inet_addr_valid_or_nonlocal(sk, ip, addr_type):
        return -EADDRNOTAVAIL
    lock_sock(sk)
    try:
        if sk.sk_state != TCP_CLOSE or sk.inet_num:
            return -EINVAL
        sk.inet_rcv_saddr = sk.inet_saddr = ip
        if addr_type == RTN_BROADCAST or (ip >> 28) == 0xE:
            sk.inet_saddr = 0
        # IP_BIND_ADDRESS_NO_PORT: the address alone; connect() picks the port with it
        err = sk.sk_prot.get_port(sk, port) if port or not sk.bind_address_no_port else 0
        if err:
            sk.inet_rcv_saddr = sk.inet_saddr = 0
            return -EADDRINUSE if err == -EADDRINUSE else err
        if sk.inet_rcv_saddr:
            sk.sk_userlocks |= SOCK_BINDADDR_LOCK
        if port:
            sk.bind_port_locked = True
        sk.inet_sport = sk.inet_num
        sk.inet_daddr = 0
        sk.inet_dport = 0
        sk.dst_cache = None
        return 0
    finally:
        release_sock(sk)


def __inet_stream_connect(sock: Socket, addr: tuple[int, int, int] | None, flags: int, is_sendmsg: bool) -> int:
    """``__inet_stream_connect``, with the socket locked: start the connection and wait for it,
    unless non-blocking.  ``addr`` None is a Fast Open send's connect (``tcp_sendmsg_fastopen``);
    with TCP_FASTOPEN_CONNECT and a cookie the connect is deferred to the first write, and
    returns 0 at once."""
    sk = sock.sk
    if addr is not None:
        family, ip, port = addr
        if family == AF_UNSPEC:
            err = sk.sk_prot.disconnect(sk, flags)
            sock.state = SS_DISCONNECTING if err else SS_UNCONNECTED
            return err
    if sock.state == SS_CONNECTED:
        return -EISCONN
    if sock.state == SS_CONNECTING:
        if sk.defer_connect:
            err = -EINPROGRESS if is_sendmsg else -EISCONN
        else:
            err = -EALREADY
    elif sock.state == SS_UNCONNECTED:
        if sk.sk_state != TCP_CLOSE:
            return -EISCONN
        if addr is None:
            return -EINVAL
        if family != AF_INET:
            return -EAFNOSUPPORT  # (tcp_v4_connect's check)
        err = sk.sk_prot.connect(sk, ip, port)
        if err < 0:
            return err
        sock.state = SS_CONNECTING
        if sk.defer_connect:
            return 0
        err = -EINPROGRESS
    else:
        return -EINVAL
    timeo = sock_sndtimeo(sk, bool(flags & O_NONBLOCK))
    if sk.sk_state in (TCP_SYN_SENT, TCP_SYN_RECV):
        if not timeo:
            return err
        while sk.sk_state in (TCP_SYN_SENT, TCP_SYN_RECV):  # inet_wait_for_connect
            timeo = sk_wait_event(sk, timeo, lambda: sk.sk_state not in (TCP_SYN_SENT, TCP_SYN_RECV))
            if not timeo:
                return err
            if signal_pending_current():
                # the connection goes on; a restarted connect waits for it again (EALREADY)
                return sock_intr_errno(timeo)
    if sk.sk_state == TCP_CLOSE:
        err = sock_error(sk) or -ECONNABORTED
        sock.state = SS_UNCONNECTED
        if sk.sk_prot.disconnect(sk, flags):
            sock.state = SS_DISCONNECTING
        return err
    sock.state = SS_CONNECTED
    return 0


def inet_stream_connect(sock: Socket, addr: tuple[int, int, int], flags: int) -> int:
    """``inet_stream_connect``: ``__inet_stream_connect`` under the socket's lock."""
    lock_sock(sock.sk)
    try:
        return __inet_stream_connect(sock, addr, flags, False)
    finally:
        release_sock(sock.sk)


def inet_listen(sock: Socket, backlog: int) -> int:
    """``inet_listen``."""
    sk = sock.sk
    if sock.state != SS_UNCONNECTED or sock.type != SOCK_STREAM:
        return -EINVAL
    lock_sock(sk)
    try:
        if sk.sk_state not in (TCP_CLOSE, TCP_LISTEN):
            return -EINVAL
        if sk.sk_state != TCP_LISTEN:
            # Fast Open without the TCP_FASTOPEN option, when the sysctl says so
            tfo = sk.host.sysctl["net.ipv4.tcp_fastopen"]
            if tfo & TFO_SERVER_WO_SOCKOPT1 and tfo & TFO_SERVER_ENABLE and not sk.fastopenq_max_qlen:
                fastopen_queue_tune(sk, backlog)
                tcp_fastopen_init_key_once(sk.host)
            return sk.sk_prot.listen(sk, backlog)
        sk.sk_max_ack_backlog = backlog
        return 0
    finally:
        release_sock(sk)


def inet_accept(sock: Socket, newsock: Socket, flags: int) -> int:
    """``inet_accept``: the child from the accept queue, grafted onto ``newsock``."""
    sk = sock.sk
    child = sk.sk_prot.accept(sk, flags)
    if isinstance(child, int):
        return child
    newsock.sk = child
    child.sk_socket = newsock
    newsock.state = SS_CONNECTED
    return 0


def inet_getname(sock: Socket, peer: int) -> tuple[str, int] | int:
    """``inet_getname``."""
    sk = sock.sk
    if peer:
        if not sk.inet_dport or (sk.sk_state in (TCP_CLOSE, TCP_SYN_SENT) and peer == 1):
            return -ENOTCONN
        return (in_ntoa(sk.inet_daddr), sk.inet_dport)
    return (in_ntoa(sk.inet_rcv_saddr or sk.inet_saddr), sk.inet_sport)


def inet_sendmsg(sock: Socket, msg: Any, size: int) -> int:
    """``inet_sendmsg``: bind an unbound datagram socket first (``inet_send_prepare``)."""
    sk = sock.sk
    if not sk.inet_num and sock.type != SOCK_STREAM:
        err = sk.sk_prot.get_port(sk, 0)
        if err:
            return err
        sk.inet_sport = sk.inet_num
    return sk.sk_prot.sendmsg(sk, msg, size)


def inet_recvmsg(sock: Socket, msg: Any, size: int, flags: int) -> bytes | int:
    """``inet_recvmsg``."""
    sk = sock.sk
    return sk.sk_prot.recvmsg(sk, msg, size, flags)


def inet_shutdown(sock: Socket, how: int) -> int:
    """``inet_shutdown``: SHUT_RD/WR/RDWR become RCV/SEND_SHUTDOWN bits."""
    sk = sock.sk
    how += 1
    if not isinstance(how, int) or how & ~SHUTDOWN_MASK or not how:
        return -EINVAL
    lock_sock(sk)
    try:
        if sock.state == SS_CONNECTING:
            sock.state = SS_DISCONNECTING if sk.sk_state in (TCP_SYN_SENT, TCP_SYN_RECV, TCP_CLOSE) \
                else SS_CONNECTED
        err = 0
        state = sk.sk_state
        if state == TCP_LISTEN:
            if how & 1:
                err = sk.sk_prot.disconnect(sk, O_NONBLOCK)
                sock.state = SS_DISCONNECTING if err else SS_UNCONNECTED
        elif state == TCP_SYN_SENT:
            err = sk.sk_prot.disconnect(sk, O_NONBLOCK)
            sock.state = SS_DISCONNECTING if err else SS_UNCONNECTED
        else:
            if state == TCP_CLOSE:
                err = -ENOTCONN
            sk.sk_shutdown |= how
            sk.sk_prot.shutdown(sk, how)
        sk.sk_state_change()
        return err
    finally:
        release_sock(sk)


def inet_poll(sock: Socket) -> int:
    return sock.sk.sk_prot.poll(sock.sk)


def inet_ioctl(sock: Socket, cmd: int, arg: Any) -> int | bytes:
    """``inet_ioctl``: an IPv4 address request of ifconfig's (``devinet_ioctl``), else the
    protocol's (``sk_ioctl``), which gives -ENOIOCTLCMD for what it does not know."""
    if cmd in DEVINET_IOCTLS:
        from tuxnet.net.ipv4.devinet import devinet_ioctl

        return devinet_ioctl(sock.sk.host, cmd, arg)
    return sock.sk.sk_prot.ioctl(sock.sk, cmd)


def inet_setsockopt(sock: Socket, level: int, optname: int, optval: Any) -> int:
    """``sock_common_setsockopt``: IPPROTO_IP here, the protocol's own level there."""
    sk = sock.sk
    if level == IPPROTO_IP:
        return ip_setsockopt(sk, optname, optval)
    if level != sk.sk_prot.level or sk.sk_prot.setsockopt is None:
        return -ENOPROTOOPT
    return sk.sk_prot.setsockopt(sk, optname, optval)


def inet_getsockopt(sock: Socket, level: int, optname: int, optlen: int | None = None) -> int | bytes:
    """``sock_common_getsockopt``: the protocol's own level there; any other level goes on to
    ``ip_getsockopt``, whose ``do_ip_getsockopt`` answers -EOPNOTSUPP for a level that is not
    IPPROTO_IP (where ``ip_setsockopt`` answers -ENOPROTOOPT)."""
    sk = sock.sk
    if level == IPPROTO_IP:
        return ip_getsockopt(sk, optname, optlen)
    if level != sk.sk_prot.level or sk.sk_prot.getsockopt is None:
        return -EOPNOTSUPP
    return sk.sk_prot.getsockopt(sk, optname, optlen)


def sock_no_listen(sock: Socket, backlog: int) -> int:
    return -EOPNOTSUPP


def sock_no_accept(sock: Socket, newsock: Socket, flags: int) -> int:
    return -EOPNOTSUPP


def inet_dgram_connect(sock: Socket, addr: tuple[int, int, int], flags: int) -> int:
    """``inet_dgram_connect``: AF_UNSPEC disconnects, anything else sets the default peer."""
    sk = sock.sk
    if addr[0] == AF_UNSPEC:
        return sk.sk_prot.disconnect(sk, flags)
    if not sk.inet_num:
        err = sk.sk_prot.get_port(sk, 0)
        if err:
            return err
        sk.inet_sport = sk.inet_num
    return sk.sk_prot.connect(sk, addr[1], addr[2])


inet_stream_ops = ProtoOps(
    "inet_stream_ops", family=AF_INET, release=inet_release, bind=inet_bind, connect=inet_stream_connect,
    accept=inet_accept, getname=inet_getname, poll=inet_poll, ioctl=inet_ioctl, listen=inet_listen,
    shutdown=inet_shutdown, setsockopt=inet_setsockopt, getsockopt=inet_getsockopt,
    sendmsg=inet_sendmsg, recvmsg=inet_recvmsg, set_peek_off=sk_set_peek_off,
)

inet_dgram_ops = ProtoOps(
    "inet_dgram_ops", family=AF_INET, release=inet_release, bind=inet_bind, connect=inet_dgram_connect,
    accept=sock_no_accept, getname=inet_getname, poll=inet_poll, ioctl=inet_ioctl, listen=sock_no_listen,
    shutdown=inet_shutdown, setsockopt=inet_setsockopt, getsockopt=inet_getsockopt,
    sendmsg=inet_sendmsg, recvmsg=inet_recvmsg, set_peek_off=sk_set_peek_off,
)


# ``inetsw[]``: for each socket type, the protocols that serve it, (protocol, prot, ops), as
# ``inet_register_protosw`` adds them; IPPROTO_IP is a wildcard.
inetsw: dict[int, list[tuple[int, Any, ProtoOps, int]]] = {}


INET_PROTOSW_REUSE = 0x01  # its sockets start with SO_REUSEADDR on (raw and ping sockets')


def inet_register_protosw(type: int, protocol: int, prot: Any, ops: ProtoOps, flags: int = 0) -> None:
    """``inet_register_protosw``: serve sockets of ``type`` and ``protocol`` with ``prot``."""
    inetsw.setdefault(type, []).append((protocol, prot, ops, flags))


def inet_create(host: Host, sock: Socket, protocol: int) -> int:
    """``inet_create``: find the protocol in ``inetsw`` and make its ``sock``.  Protocol 0 asks
    for the type's protocol; a registration for protocol 0 (raw sockets) takes any other."""
    if not isinstance(protocol, int) or protocol < 0 or protocol > 255:
        return -EINVAL
    for entry in inetsw.get(sock.type, ()):
        answer = entry[0]
        if protocol == answer:
            if protocol != IPPROTO_IP:
                break
        elif protocol == IPPROTO_IP:
            protocol = answer
            break
        elif answer == IPPROTO_IP:
            break
    else:
        return -EPROTONOSUPPORT
    _, prot, ops, flags = entry
    sk = prot.sock_class(host, prot, AF_INET, sock.type, protocol)
    if flags & INET_PROTOSW_REUSE:
        sk.sk_reuse = 1
    sk.sk_txrehash = host.sysctl["net.core.txrehash"]
    sock.ops = ops
    sock.sk = sk
    sk.sk_socket = sock
    err = prot.init(sk)
    if err:  # (ping_init_sock: a group not allowed)
        sock.sk = None
        return err
    return 0


# inet_family_ops: IPv4 sockets are made by inet_create (sock_register, in inet_init on Linux).
sock_register(AF_INET, inet_create)


def inet_init(host: Host) -> None:
    """``inet_init``: the IPv4 packet handler, the FIB, ARP and the transport protocols."""
    from tuxnet.net.ipv4.arp import arp_init
    from tuxnet.net.ipv4.devinet import devinet_conf_changed
    from tuxnet.net.ipv4.icmp import ICMP_ECHO, ICMP_ECHOREPLY, icmp_err, icmp_err_handlers, icmp_handlers, icmp_rcv
    from tuxnet.net.ipv4.inet_hashtables import InetHashinfo
    from tuxnet.net.ipv4.ping import ping_err, ping_prot, ping_rcv
    from tuxnet.net.ipv4.raw import inet_sockraw_ops, raw_prot
    from tuxnet.net.ipv4.tcp import tcp_prot, tcp_set_rcvlowat
    from tuxnet.net.ipv4.tcp_cong import tcp_set_default_congestion_control
    from tuxnet.net.ipv4.tcp_ipv4 import tcp_v4_err, tcp_v4_rcv
    from tuxnet.net.ipv4.udp import udp_err, udp_prot, udp_rcv

    if not inetsw:  # (inetsw_array, registered once: the table is the kernel's, not a namespace's)
        inet_stream_ops.set_rcvlowat = tcp_set_rcvlowat  # (tcp.c's, which this module cannot import first)
        inet_register_protosw(SOCK_STREAM, IPPROTO_TCP, tcp_prot, inet_stream_ops)
        inet_register_protosw(SOCK_DGRAM, IPPROTO_UDP, udp_prot, inet_dgram_ops)
        inet_register_protosw(SOCK_RAW, IPPROTO_IP, raw_prot, inet_sockraw_ops, INET_PROTOSW_REUSE)
        inet_register_protosw(SOCK_DGRAM, IPPROTO_ICMP, ping_prot, inet_sockraw_ops, INET_PROTOSW_REUSE)
        icmp_handlers[ICMP_ECHOREPLY] = ping_rcv
        icmp_err_handlers[ICMP_ECHO] = ping_err
    host.sysctl.notifiers.append(partial(devinet_conf_changed, host))
    host.sysctl.checks["net.ipv4.tcp_congestion_control"] = tcp_set_default_congestion_control
    host.sysctl.checks["net.ipv4.tcp_fastopen_key"] = check_tcp_fastopen_key
    host.ping_table = {}  # echo identifier -> the ping sockets bound to it, newest first
    host.ping_port_rover = 0
    host.fib_local = FibTable(RT_TABLE_LOCAL)
    host.fib_main = FibTable(RT_TABLE_MAIN)
    host.fib_tables = {RT_TABLE_LOCAL: host.fib_local, RT_TABLE_MAIN: host.fib_main}
    fib_default_rules_init(host)
    host.rt_genid = 0
    host.rt_output_cache = {}
    host.rt_input_cache = {}
    host.fnhe_cache = {}
    host.inet_addr_lst = {}  # our addresses, each to the InIfaddrs that carry it
    host.redirect_peers = {}
    host.icmp_peers = {}
    # icmp_global_allow's budget: credits, and when it was last refilled (long ago: full at first)
    host.icmp_global_credit = 0
    host.icmp_global_stamp = -NSEC_PER_SEC
    host.ip_ident = host.rng.getrandbits(16)
    host.tcp_hashinfo = InetHashinfo(host)
    host.tcp_orphans = set()
    host.tcp_metrics = {}
    host.udp_table = {}
    host.inet_protos = {
        IPPROTO_TCP: NetProtocol(tcp_v4_rcv, tcp_v4_err),
        IPPROTO_UDP: NetProtocol(udp_rcv, udp_err),
        IPPROTO_ICMP: NetProtocol(icmp_rcv, icmp_err),
        IPPROTO_IGMP: NetProtocol(igmp_rcv),
    }
    arp_init(host)
    host.dev_add_pack(PacketType(ETH_P_IP, ip_rcv, name="ip_rcv"))
