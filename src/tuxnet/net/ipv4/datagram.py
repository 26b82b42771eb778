"""Datagram sockets, shared by UDP and raw sockets: connecting them (net/ipv4/datagram.c), and
waiting for and polling them (net/core/datagram.c, kept here because tuxnet's net/core/datagram.py
is imported by the socket layer these need)."""

from __future__ import annotations

from typing import Any

from tuxnet.kernel.errno import EACCES, EAGAIN, ENOPROTOOPT
from tuxnet.kernel.signal import signal_pending_current, sock_intr_errno
from tuxnet.net.core.filter import sk_filter_trim_cap
from tuxnet.net.core.skbuff import SkBuff, skb_copy_bits
from tuxnet.net.core.sock import (
    RCV_SHUTDOWN,
    SHUTDOWN_MASK,
    SOCK_BINDADDR_LOCK,
    SOCK_RXQ_OVFL,
    SOCK_SELECT_ERR_QUEUE,
    sk_wait_event,
    sock_error,
    sock_rcvtimeo,
    sock_writeable,
)
from tuxnet.net.core.utils import ipv4_is_multicast
from tuxnet.net.ipv4.fib import RTN_BROADCAST
from tuxnet.net.ipv4.ip_sockglue import IP_CMSG_PKTINFO, NO_PKTINFO, ipv4_pktinfo_prepare
from tuxnet.net.ipv4.route import inet_sk_flowi_flags, ip_route_output_key, ip_sock_rt_scope
from tuxnet.net.socket import (
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLPRI,
    POLLRDHUP,
    POLLRDNORM,
    POLLWRBAND,
    POLLWRNORM,
)

TCP_ESTABLISHED = 1
TCP_CLOSE = 7


def ip4_datagram_connect(sk: Any, daddr: int, dport: int) -> int:
    """``ip4_datagram_connect``: fix the peer, choose the source address, cache the route; to a
    group, by IP_MULTICAST_IF's device and address unless the socket is bound to its own; to
    another address, by IP_UNICAST_IF's device unless it is bound to one.

    The connect's flow is ``inet->cork.fl``, which a datagram held back by MSG_MORE or UDP_CORK
    goes by: that datagram leaves for the address connected to (its source the one the route
    chose), even when the route is refused."""
    pending = sk.pending
    if pending is not None:
        pending.daddr, pending.dport = daddr, dport
    oif, saddr = sk.sk_bound_dev_if, sk.inet_saddr
    if ipv4_is_multicast(daddr):
        oif = oif or sk.mc_index
        saddr = saddr or sk.mc_addr
    elif not oif:
        oif = sk.uc_index
    rt = ip_route_output_key(sk.host, daddr, saddr, oif, ip_sock_rt_scope(sk), sk.sk_mark, sk.tos,
                             inet_sk_flowi_flags(sk), sk.sk_protocol, sk.inet_sport, dport)
    if isinstance(rt, int):
        return rt
    if pending is not None:
        pending.saddr = sk.inet_saddr or rt.saddr
        pending.daddr = daddr or rt.saddr
    if rt.rt_type == RTN_BROADCAST and not sk.sk_broadcast:
        return -EACCES
    if not sk.inet_saddr:
        sk.inet_saddr = rt.saddr
    if not sk.inet_rcv_saddr:
        sk.inet_rcv_saddr = rt.saddr
    # The peer is the route's destination: 0.0.0.0 meant this host, the source the route chose
    # (fl4->daddr after ip_route_connect).
    sk.inet_daddr = daddr if daddr else rt.saddr
    sk.inet_dport = dport
    sk.sk_state = TCP_ESTABLISHED
    sk.dst_cache = rt
    return 0


def datagram_unhash(table: dict[int, list[Any]], sk: Any) -> None:
    """Take ``sk`` out of a table of the sockets on each port (``udp_lib_unhash``,
    ``ping_unhash``); a port's entry goes with its last socket."""
    lst = table.get(sk.inet_num)
    if lst and sk in lst:
        lst.remove(sk)
        if not lst:
            del table[sk.inet_num]


def __udp_disconnect(sk: Any, flags: int) -> int:
    """``__udp_disconnect``: forget the peer (raw sockets use it too); an address the user did
    not bind goes as well."""
    sk.sk_state = TCP_CLOSE
    sk.inet_daddr = 0
    sk.inet_dport = 0
    sk.dst_cache = None
    if not sk.sk_userlocks & SOCK_BINDADDR_LOCK:
        sk.inet_rcv_saddr = sk.inet_saddr = 0
    return 0


MSG_DONTWAIT = 0x40


def __skb_wait_for_datagram(sk: Any, flags: int) -> int | None:
    """``__skb_recv_datagram`` → ``__skb_wait_for_more_packets`` (net/core/datagram.c), with the
    socket locked: a pending error first, before any datagram queued (``__skb_try_recv_datagram``
    and UDP's ``__skb_recv_udp`` take ``sock_error`` before they look at the queue); None once a
    datagram is queued; else -EAGAIN when the wait (non-blocking, or SO_RCVTIMEO) is over, or 0
    when a reader that may wait finds the socket shut down: only the wait looks at RCV_SHUTDOWN,
    so a non-blocking read of a shut-down socket is -EAGAIN; a signal for the sleeper ends the
    wait (``sock_intr_errno``)."""
    timeo = sock_rcvtimeo(sk, bool(flags & MSG_DONTWAIT))
    queue = sk.sk_receive_queue
    while True:
        err = sock_error(sk)
        if err:
            return err
        if queue:
            return None
        if not timeo:
            return -EAGAIN
        if sk.sk_shutdown & RCV_SHUTDOWN:
            return 0
        if signal_pending_current():
            return sock_intr_errno(timeo)
        timeo = sk_wait_event(sk, timeo, lambda: queue or sk.sk_err or sk.sk_shutdown & RCV_SHUTDOWN)


def datagram_poll(sk: Any) -> int:
    """``datagram_poll`` (net/core/datagram.c): an error; a shutdown for reading, which reads as
    readable and RDHUP; both directions shut, HUP; a queued datagram; room to write, while the
    datagrams still held take less than half the send buffer (``sock_writeable``)."""
    mask = POLLOUT | POLLWRNORM | POLLWRBAND if sock_writeable(sk) else 0
    if sk.sk_err or sk.sk_error_queue:
        mask |= POLLERR | (POLLPRI if sk.sk_flags & SOCK_SELECT_ERR_QUEUE else 0)
    shutdown = sk.sk_shutdown
    if shutdown & RCV_SHUTDOWN:
        mask |= POLLRDHUP | POLLIN | POLLRDNORM
    if shutdown == SHUTDOWN_MASK:
        mask |= POLLHUP
    if sk.sk_receive_queue:
        mask |= POLLIN | POLLRDNORM
    return mask


def datagram_shutdown(sk: Any, how: int) -> None:
    """``shutdown`` on a datagram socket only wakes its readers (``sk_state_change``)."""
    sk.sk_data_ready()


def datagram_no_sockopt(sk: Any, optname: int, optval: Any = None) -> int:
    """No options at the protocol's own level: -ENOPROTOOPT."""
    return -ENOPROTOOPT


def skb_clone_rcv(skb: SkBuff, data: int, truesize: int) -> SkBuff:
    """``skb_clone`` of a received packet for one raw or ping socket: its bytes from the IP
    header on (a copy: each socket reads its own), data starting at ``data`` as in ``skb``, with
    the packet's device, route, protocol, type, arrival time, mark and priority and control
    block."""
    nh = skb.network_header
    n = SkBuff(bytearray(skb_copy_bits(skb, nh - skb.data, skb.tail - nh)), data - nh)
    n.network_header = 0
    n.transport_header = skb.transport_header - nh
    n.dev = skb.dev
    n.dst = skb.dst
    n.protocol = skb.protocol
    n.pkt_type = skb.pkt_type
    n.tstamp = skb.tstamp
    n.mark = skb.mark
    n.priority = skb.priority
    n.cb = skb.cb
    n.truesize = truesize
    return n


def sock_queue_rcv_skb(sk: Any, skb: SkBuff, saddr: int) -> bool:
    """``raw_rcv_skb`` and ``ping_queue_rcv_skb``: ``ipv4_pktinfo_prepare``, then
    ``sock_queue_rcv_skb``: queued, its truesize charged, unless the socket's filter drops it
    (``sk_filter``) or the receive memory is already at ``sk_rcvbuf`` (a drop, counted in
    ``sk_drops``).  The control block keeps the source, the
    drops so far for SO_RXQ_OVFL, where the packet came in, its IPCB."""
    if sk.sk_filter is not None and sk_filter_trim_cap(sk, skb):
        return False
    if sk.sk_rmem_alloc >= sk.sk_rcvbuf:
        sk.sk_drops += 1
        return False
    skb.cb = (saddr, 0, sk.sk_drops if sk.sk_flags & SOCK_RXQ_OVFL else 0,
              ipv4_pktinfo_prepare(sk, skb) if sk.cmsg_flags & IP_CMSG_PKTINFO else NO_PKTINFO, skb.cb)
    sk.sk_receive_queue.append(skb)
    sk.sk_rmem_alloc += skb.truesize
    sk.sk_data_ready()
    return True
