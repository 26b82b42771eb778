"""``struct sock`` and the generic socket code (net/core/sock.c, net/core/stream.c).

A ``Sock`` is the protocol-side socket.  Process context takes the socket lock (``lock_sock``);
packets that arrive for a locked socket wait on its backlog and are processed by
``release_sock``, as in Linux.  Waiting is ``sk_wait_event``: drop the lock, sleep on the
socket's wait queue, take the lock again.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.compiler import notrace
from tuxnet.kernel.errno import (
    EAGAIN,
    EBADF,
    EDOM,
    EINVAL,
    ENODATA,
    ENODEV,
    ENOENT,
    ENOPROTOOPT,
    ENOTCONN,
    EOPNOTSUPP,
    EPERM,
    EPIPE,
)
from tuxnet.kernel.minmax import INT_MAX, LONG_MAX, ULONG_MAX, c_int, max, min
from tuxnet.kernel.mm import PAGE_SIZE
from tuxnet.kernel.sched import MAX_SCHEDULE_TIMEOUT, WaitQueue, current
from tuxnet.kernel.signal import signal_pending_current, sock_intr_errno
from tuxnet.kernel.timekeeping import ktime_get_real
from tuxnet.net.core.net_tstamp import (
    SKBTX_COMPLETION_TSTAMP,
    SKBTX_HW_TSTAMP,
    SKBTX_SCHED_TSTAMP,
    SKBTX_SW_TSTAMP,
    SOCKCM_FLAG_TS_OPT_ID,
    SOF_TIMESTAMPING_BIND_PHC,
    SOF_TIMESTAMPING_MASK,
    SOF_TIMESTAMPING_OPT_ID,
    SOF_TIMESTAMPING_OPT_ID_TCP,
    SOF_TIMESTAMPING_OPT_STATS,
    SOF_TIMESTAMPING_OPT_TSONLY,
    SOF_TIMESTAMPING_RX_SOFTWARE,
    SOF_TIMESTAMPING_TX_COMPLETION,
    SOF_TIMESTAMPING_TX_HARDWARE,
    SOF_TIMESTAMPING_TX_SCHED,
    SOF_TIMESTAMPING_TX_SOFTWARE,
)
from tuxnet.world import HZ, NSEC_PER_SEC, NSEC_PER_USEC, USEC_PER_SEC

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.skbuff import SkBuff

# include/uapi/asm-generic/socket.h
SOL_SOCKET = 1
SO_DEBUG = 1
SO_REUSEADDR = 2
SO_TYPE = 3
SO_ERROR = 4
SO_DONTROUTE = 5
SO_BROADCAST = 6
SO_SNDBUF = 7
SO_RCVBUF = 8
SO_KEEPALIVE = 9
SO_OOBINLINE = 10
SO_NO_CHECK = 11
SO_PRIORITY = 12
SO_LINGER = 13
SO_REUSEPORT = 15
SO_PASSCRED = 16
SO_RCVLOWAT = 18
SO_SNDLOWAT = 19
SO_RCVTIMEO = 20
SO_SNDTIMEO = 21
SO_BSDCOMPAT = 14
SO_PEERCRED = 17
SO_BINDTODEVICE = 25
SO_PEERNAME = 28
SO_WIFI_STATUS = 41
SO_NOFCS = 43
SO_SELECT_ERR_QUEUE = 45
SO_CNX_ADVICE = 53
SO_BINDTOIFINDEX = 62
SO_RCVTIMEO_NEW = 66
SO_SNDTIMEO_NEW = 67
SO_PREFER_BUSY_POLL = 69
SO_BUSY_POLL_BUDGET = 70
SO_BUF_LOCK = 72
SO_PEERPIDFD = 77
SO_NETNS_COOKIE = 71
SO_PASSRIGHTS = 83
IFNAMSIZ = 16  # include/uapi/linux/if.h: a device name and its NUL
SO_ACCEPTCONN = 30
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33
SO_PASSSEC = 34
SO_TIMESTAMP_OLD = 29
SO_TIMESTAMPNS_OLD = 35
SO_MARK = 36
SO_TIMESTAMPING_OLD = 37
SCM_TIMESTAMPING_OPT_STATS = 54
SO_PROTOCOL = 38
SO_DOMAIN = 39
SO_RXQ_OVFL = 40
SO_PEEK_OFF = 42
SO_BUSY_POLL = 46
SO_MAX_PACING_RATE = 47
SO_BPF_EXTENSIONS = 48
SO_INCOMING_CPU = 49
SO_ZEROCOPY = 60
SO_TXTIME = 61
SO_TIMESTAMP_NEW = 63
SO_TIMESTAMPNS_NEW = 64
SO_TIMESTAMPING_NEW = 65
SO_MEMINFO = 55
SO_COOKIE = 57
SO_ATTACH_FILTER = SO_GET_FILTER = 26
SO_ATTACH_BPF = 50
SO_ATTACH_REUSEPORT_EBPF = 52
SO_DETACH_REUSEPORT_BPF = 68
SO_RESERVE_MEM = 73
SO_DEVMEM_DONTNEED = 80
SO_DETACH_FILTER = 27
SO_LOCK_FILTER = 44
SO_TXREHASH = 74
SO_RCVMARK = 75
SO_PASSPIDFD = 76
SCM_TS_OPT_ID = 81
SO_RCVPRIORITY = 82
# With a 64-bit time_t the plain names are the old ones (a struct timeval of two longs), and a
# control message has its option's number (SCM_TIMESTAMP is SO_TIMESTAMP).
SO_TIMESTAMP = SCM_TIMESTAMP = SO_TIMESTAMP_OLD
SO_TIMESTAMPNS = SCM_TIMESTAMPNS = SO_TIMESTAMPNS_OLD
SO_TIMESTAMPING = SCM_TIMESTAMPING = SO_TIMESTAMPING_OLD
SCM_TXTIME = SO_TXTIME
# SOL_SOCKET control messages of AF_UNIX (include/linux/socket.h)
SCM_RIGHTS = 1
SCM_CREDENTIALS = 2

# sk->sk_flags (enum sock_flags, include/net/sock.h), those kept in ``sk_flags``: the socket
# wants received packets stamped (it asked for SO_TIMESTAMP or SIOCGSTAMP once); SO_TIMESTAMP
# and SO_TIMESTAMPNS themselves, and whether the new (y2038) control messages were asked for;
# SO_RXQ_OVFL, SO_RCVMARK, SO_RCVPRIORITY
SOCK_TIMESTAMP = 1 << 7
SOCK_DBG = 1 << 10
SOCK_RCVTSTAMP = 1 << 11
SOCK_RCVTSTAMPNS = 1 << 12
SOCK_TIMESTAMPING_RX_SOFTWARE = 1 << 15
SOCK_RXQ_OVFL = 1 << 17
SOCK_WIFI_STATUS = 1 << 19
SOCK_NOFCS = 1 << 20
SOCK_SELECT_ERR_QUEUE = 1 << 22
SOCK_TXTIME = 1 << 24
SOCK_TSTAMP_NEW = 1 << 26
SOCK_RCVMARK = 1 << 27
SOCK_RCVPRIORITY = 1 << 28
# sock_recv_cmsgs: the flags that put control messages on every datagram read (FLAGS_RECV_CMSGS)
FLAGS_RECV_CMSGS = SOCK_RXQ_OVFL | SOCK_RCVTSTAMP | SOCK_RCVMARK | SOCK_RCVPRIORITY
# sock_enable_timestamp: either keeps the host stamping received packets (SK_FLAGS_TIMESTAMP)
SK_FLAGS_TIMESTAMP = SOCK_TIMESTAMP | SOCK_TIMESTAMPING_RX_SOFTWARE
# sk->sk_stamp before any packet was read: -1 s, which SIOCGSTAMP answers with ENOENT
SK_DEFAULT_STAMP = -NSEC_PER_SEC

# sk->sk_pacing_status (include/net/sock.h)
SK_PACING_NONE = 0
SK_PACING_NEEDED = 1
SK_PACING_FQ = 2

SOCK_MIN_SNDBUF = 4608
SOCK_MIN_RCVBUF = 2304

# sk->sk_txrehash (include/net/sock.h): SO_TXREHASH's -1 (as a u8) stands for net.core.txrehash
SOCK_TXREHASH_DEFAULT = 255
SOCK_TXREHASH_ENABLED = 1

# sk_shutdown
RCV_SHUTDOWN = 1
SEND_SHUTDOWN = 2
SHUTDOWN_MASK = 3

_linger = struct.Struct("ii")
_timeval = struct.Struct("qq")
_so_timestamping = struct.Struct("ii")


class Proto:
    """``struct proto``: a transport protocol's socket operations (``tcp_prot``, ``udp_prot``)."""

    def __init__(self, name: str, **ops: Any) -> None:
        self.name = name
        for key, fn in ops.items():
            setattr(self, key, fn)


class Sock:
    """``struct sock`` with ``struct inet_sock``: state shared by every inet protocol."""

    # The fields are slots, each protocol's socket adding its own (TcpSock): a slot is read at a fixed
    # offset.  ``__dict__`` stays for what a test or a program hangs on a socket.
    __slots__ = (
        "host", "sk_prot", "sk_family", "sk_type", "sk_protocol", "sk_state", "sk_shutdown",
        "sk_err", "sk_err_soft", "sk_reuse", "sk_reuseport", "sk_bound_dev_if", "sk_priority",
        "sk_mark", "sk_rcvlowat", "sk_rcvtimeo", "sk_sndtimeo", "sk_lingertime", "sk_linger",
        "sk_keepopen", "sk_broadcast", "sk_urginline", "sk_localroute", "sk_dead", "sk_userlocks", "sk_sndbuf",
        "sk_rcvbuf", "sk_rmem_alloc", "sk_wmem_alloc", "sk_wmem_queued", "sk_forward_alloc", "sk_receive_queue",
        "sk_error_queue",
        "sk_backlog", "sk_backlog_len", "sk_ack_backlog", "sk_max_ack_backlog", "sk_socket",
        "sk_wq", "owned", "lock_wq", "dst_cache", "inet_saddr", "inet_rcv_saddr", "inet_sport",
        "inet_daddr", "inet_dport", "inet_num", "uc_ttl", "tos", "inet_opt", "inet_id", "pmtudisc",
        "recverr", "recverr_rfc4884", "hdrincl", "bind_port_locked", "sk_zerocopy", "sk_zckey",
        "mc_ttl", "mc_loop", "mc_all", "mc_index", "mc_addr", "uc_index", "mc_list", "pending",
        "sk_omem_alloc", "sock_flags", "sk_flags", "sk_stamp", "sk_drops", "cmsg_flags", "sk_tsflags", "sk_tskey",
        "sk_pacing_rate", "sk_max_pacing_rate", "sk_pacing_status", "sk_pacing_shift", "sk_cookie",
        "sk_filter", "sk_ll_usec", "sk_incoming_cpu", "sk_txrehash", "sk_peek_off", "sk_no_check_tx",
        "sk_prefer_busy_poll", "sk_busy_poll_budget", "min_ttl", "rcv_tos", "sk_clockid", "sk_txtime_flags",
        "rtalert",
        "freebind", "transparent", "bind_address_no_port", "nodefrag", "local_port_range",
        "__dict__", "__weakref__",
    )

    def __init__(self, host: Host, prot: Any, family: int, type: int, protocol: int) -> None:
        self.host = host
        self.sk_prot = prot
        self.sk_family = family
        self.sk_type = type
        self.sk_protocol = protocol
        self.sk_state = 7  # TCP_CLOSE
        self.sk_shutdown = 0
        self.sk_err = 0
        self.sk_err_soft = 0
        self.sk_reuse = 0
        self.sk_reuseport = 0
        self.sk_bound_dev_if = 0
        self.sk_priority = 0
        self.sk_mark = 0
        self.sk_rcvlowat = 1
        self.sk_rcvtimeo = MAX_SCHEDULE_TIMEOUT
        self.sk_sndtimeo = MAX_SCHEDULE_TIMEOUT
        self.sk_lingertime = 0
        self.sk_linger = False
        self.sk_keepopen = False
        self.sk_broadcast = False
        self.sk_urginline = False  # SOCK_URGINLINE (SO_OOBINLINE): urgent data stays in the stream
        self.sk_localroute = False  # SOCK_LOCALROUTE (SO_DONTROUTE): no route through a gateway
        self.sk_dead = False
        self.sk_zerocopy = False  # SOCK_ZEROCOPY (SO_ZEROCOPY): MSG_ZEROCOPY sends the caller's pages
        self.sk_zckey = 0  # the id of the next MSG_ZEROCOPY notification
        self.sk_omem_alloc = 0  # option memory: the zerocopy notifications not yet read
        self.sock_flags = 0
        self.sk_flags = 0
        self.sk_stamp = SK_DEFAULT_STAMP  # the time of the last packet read (SIOCGSTAMP)
        self.sk_drops = 0  # packets the receive queue had no room for
        self.cmsg_flags = 0  # inet->cmsg_flags: the IP control messages a read gets (IP_PKTINFO ...)
        self.sk_tsflags = 0  # SO_TIMESTAMPING's flags (net_tstamp.py)
        self.sk_tskey = 0  # the next OPT_ID key of a datagram; for TCP, the byte keys count from
        # pacing: the rate TCP (or SO_MAX_PACING_RATE) asks for, in bytes/s (~0UL: none), and who
        # enforces it (SK_PACING_NONE, NEEDED: TCP itself, FQ: the fq qdisc)
        self.sk_pacing_rate = (1 << 64) - 1
        self.sk_max_pacing_rate = (1 << 64) - 1
        self.sk_pacing_status = SK_PACING_NONE
        self.sk_pacing_shift = 10
        self.sk_cookie = 0  # none until asked for (sock_gen_cookie)
        self.sk_filter: list[tuple[int, int, int, int]] | None = None  # SO_ATTACH_FILTER's program (filter.py)
        self.sk_peek_off = -1  # SO_PEEK_OFF: where a MSG_PEEK read starts; -1, from the front
        self.sk_no_check_tx = False  # SO_NO_CHECK: UDP datagrams go without a checksum
        self.sk_prefer_busy_poll = False  # SO_PREFER_BUSY_POLL, SO_BUSY_POLL_BUDGET: kept for busy polling
        self.sk_busy_poll_budget = 0
        self.min_ttl = 0  # IP_MINTTL
        self.rtalert = False  # IP_ROUTER_ALERT: on the namespace's Router Alert chain (a raw socket)
        self.rcv_tos = 0  # the TOS of an accepted connection's handshake (IP_PKTOPTIONS)
        self.sk_clockid = 0  # SO_TXTIME's clock and flags
        self.sk_txtime_flags = 0
        self.sk_ll_usec = 0  # SO_BUSY_POLL: microseconds to busy-poll for (net.core.busy_read, 0)
        self.sk_incoming_cpu = -1  # SO_INCOMING_CPU: the CPU the socket's packets are taken on
        # SO_TXREHASH (TCP's): whether a timeout picks a new flow hash; inet_create's is
        # net.core.txrehash
        self.sk_txrehash = SOCK_TXREHASH_ENABLED
        self.sk_userlocks = 0
        self.sk_sndbuf = host.sysctl["net.core.wmem_default"]
        self.sk_rcvbuf = host.sysctl["net.core.rmem_default"]
        self.sk_rmem_alloc = 0
        # the truesize of the socket's sent packets something still holds (skb_set_owner_w)
        self.sk_wmem_alloc = 0
        self.sk_wmem_queued = 0
        # memory scheduled for the socket in whole pages and not yet charged to a buffer (TCP's)
        self.sk_forward_alloc = 0
        self.sk_receive_queue: deque[SkBuff] = deque()
        self.sk_error_queue: deque[Any] = deque()
        self.sk_backlog: list[SkBuff] = []
        self.sk_backlog_len = 0
        self.sk_ack_backlog = 0
        self.sk_max_ack_backlog = 0
        self.sk_socket: Any = None
        self.sk_wq = WaitQueue()
        self.owned = False
        self.lock_wq = WaitQueue()
        self.dst_cache: Any = None
        # inet_sock
        self.inet_saddr = 0
        self.inet_rcv_saddr = 0
        self.inet_sport = 0
        self.inet_daddr = 0
        self.inet_dport = 0
        self.inet_num = 0
        self.uc_ttl = host.sysctl["net.ipv4.ip_default_ttl"]
        self.tos = 0
        self.inet_opt = None  # IP_OPTIONS: the options of what the socket sends (IpOptions)
        self.inet_id = host.rng.getrandbits(16)
        self.pmtudisc = 1  # IP_PMTUDISC_WANT, as net.ipv4.ip_no_pmtu_disc=0 gives
        self.recverr = False
        self.recverr_rfc4884 = False  # IP_RECVERR_RFC4884: where an ICMP error's extensions begin
        # multicast: IP_MULTICAST_TTL, _LOOP, _ALL, _IF (device and source), and the groups joined,
        # as (group, ifindex)
        self.mc_ttl = 1
        self.mc_loop = True
        self.mc_all = True
        self.mc_index = 0
        self.uc_index = 0  # IP_UNICAST_IF
        self.mc_addr = 0
        self.mc_list: list[Any] = []  # the memberships, newest first (igmp.IpMcSocklist)
        # inet->cork of a datagram held back by MSG_MORE or UDP_CORK (up->pending), or None
        self.pending: Any = None
        self.hdrincl = False
        self.bind_port_locked = False  # SOCK_BINDPORT_LOCK: bind() chose the port
        # inet flags kept for IP's options (do_ip_setsockopt): IP_FREEBIND, IP_TRANSPARENT,
        # IP_BIND_ADDRESS_NO_PORT, IP_NODEFRAG; IP_LOCAL_PORT_RANGE's u32 (the low port in the low
        # 16 bits, 0 for the sysctl's)
        self.freebind = False
        self.transparent = False
        self.bind_address_no_port = False
        self.nodefrag = False
        self.local_port_range = 0

    # -- callbacks (sock_def_*) ------------------------------------------------------------------
    def sk_data_ready(self) -> None:
        """``sock_def_readable``: wake readers."""
        self.sk_wq.wake_up()

    def sk_write_space(self) -> None:
        """``sock_def_write_space``: wake writers once they can make "significant progress", with
        half the send buffer free (``sock_writeable``)."""
        if sock_writeable(self):
            self.sk_wq.wake_up()

    def sk_state_change(self) -> None:
        """``sock_def_wakeup``."""
        self.sk_wq.wake_up()

    def sk_error_report(self) -> None:
        """``sock_def_error_report``."""
        self.sk_wq.wake_up()

    def backlog_rcv(self, skb: SkBuff) -> int:
        """``sk_backlog_rcv``: the protocol's handler for segments queued while locked."""
        return self.sk_prot.backlog_rcv(self, skb)


# socket->flags (include/linux/net.h), in ``sock_flags``: a writer found no room
SOCK_NOSPACE = 1 << 2

# include/net/sock.h: sk_reuse, SO_REUSEADDR's, or TCP repair mode's forced reuse of a port
SK_NO_REUSE = 0
SK_FORCE_REUSE = 2

# sk_userlocks bits (include/net/sock.h): the user set the buffer size, autotuning keeps off;
# the user bound the local address, which a disconnect then keeps (inet_reset_saddr)
SOCK_SNDBUF_LOCK = 1
SOCK_RCVBUF_LOCK = 2
SOCK_BINDADDR_LOCK = 4


# -- memory accounting (include/net/sock.h, net/core/sock.c) ----------------------------------
#
# A TCP socket takes memory from the protocol's pool in whole pages, ahead of need, and keeps what
# its buffers have not used yet as its forward allocation (sk_forward_alloc): a buffer queued for
# sending or receiving is charged to it (sk_mem_charge, which the callers write out: it is one
# subtraction), and gives its truesize back when it is freed (sk_mem_uncharge), which returns
# whole pages to the pool at once (since Linux 6.0, "net: keep sk->sk_forward_alloc as small as
# possible").  So what the socket holds, its forward allocation plus its queued buffers
# (sk_rmem_alloc + sk_wmem_queued), is always whole pages.
# The pool's limits (net.ipv4.tcp_mem) are not modelled: scheduling always succeeds, so
# sk_rmem_schedule, sk_wmem_schedule and sk_forced_mem_schedule are the one function here.


@notrace
def sk_mem_schedule(sk: Sock, size: int) -> None:
    """``sk_rmem_schedule`` / ``sk_wmem_schedule`` / ``sk_forced_mem_schedule``: make the forward
    allocation cover ``size`` bytes, taking the pages it lacks (``__sk_mem_schedule``)."""
    delta = size - sk.sk_forward_alloc
    if delta > 0:
        sk.sk_forward_alloc += -(-delta // PAGE_SIZE) * PAGE_SIZE


@notrace
def sk_mem_uncharge(sk: Sock, size: int) -> None:
    """``sk_mem_uncharge``: a queued buffer's ``size`` comes back; once a page or more is unused,
    the whole pages go back to the pool (``sk_mem_reclaim``)."""
    fwd = sk.sk_forward_alloc + size
    sk.sk_forward_alloc = fwd & (PAGE_SIZE - 1) if fwd >= PAGE_SIZE else fwd


# -- memory (sk_get_meminfo) ------------------------------------------------------------------

_meminfo = struct.Struct("9I")


def sk_get_meminfo(sk: Sock) -> tuple[int, ...]:
    """``sk_get_meminfo``: SK_MEMINFO_VARS, what SO_MEMINFO and ``ss -m`` (INET_DIAG_SKMEMINFO)
    show: receive memory and buffer, send memory held and buffer, forward allocation (TCP's; a
    datagram socket's stays 0 here), write queue, option memory, backlog, drops."""
    return (sk.sk_rmem_alloc, sk.sk_rcvbuf, sk.sk_wmem_alloc, sk.sk_sndbuf, sk.sk_forward_alloc & 0xFFFFFFFF,
            sk.sk_wmem_queued, sk.sk_omem_alloc, sk.sk_backlog_len, sk.sk_drops)


# -- locking (lock_sock / release_sock) --------------------------------------------------------

def lock_sock(sk: Sock) -> None:
    """``lock_sock``: own the socket in process context (wait if another process owns it)."""
    while sk.owned:
        current().sleep_on(sk.lock_wq)
    sk.owned = True


def release_sock(sk: Sock) -> None:
    """``release_sock``: process the backlog queued meanwhile (``__release_sock``, which counts
    the backlog's size down to nothing only once it is empty), then let go."""
    while sk.sk_backlog:
        backlog = sk.sk_backlog
        sk.sk_backlog = []
        for skb in backlog:
            sk.backlog_rcv(skb)
    sk.sk_backlog_len = 0
    sk.owned = False
    if sk.lock_wq:
        sk.lock_wq.wake_up()


@notrace
def sock_owned_by_user(sk: Sock) -> bool:
    return sk.owned


def sk_add_backlog(sk: Sock, skb: SkBuff, limit: int) -> bool:
    """``sk_add_backlog``: queue for the lock owner, counting the buffer's truesize (which its
    caller has set); False when what is queued and what the socket holds pass ``limit``
    (``sk_rcvqueues_full``)."""
    if sk.sk_backlog_len + sk.sk_rmem_alloc > limit:
        return False
    __sk_add_backlog(sk, skb)
    return True


def __sk_add_backlog(sk: Sock, skb: SkBuff) -> None:
    """``__sk_add_backlog``: queue for the lock owner whatever the backlog holds already."""
    sk.sk_backlog.append(skb)
    sk.sk_backlog_len += skb.truesize


def sk_acceptq_is_full(sk: Sock) -> bool:
    """``sk_acceptq_is_full``: more connections wait for accept() than the backlog, so a listener
    takes one more than listen() asked for (listen(0) takes one)."""
    return sk.sk_ack_backlog > sk.sk_max_ack_backlog


def sk_wait_event(sk: Sock, timeo: int, condition: Callable[[], Any]) -> int:
    """``sk_wait_event``: drop the lock (running the backlog), and sleep until woken or ``timeo``
    ns pass unless ``condition()`` already holds; returns the time left."""
    release_sock(sk)
    if not condition():
        timeo = current().sleep_on(sk.sk_wq, timeo)
    lock_sock(sk)
    return timeo


@notrace
def sock_rcvtimeo(sk: Sock, noblock: bool) -> int:
    return 0 if noblock else sk.sk_rcvtimeo


@notrace
def sock_sndtimeo(sk: Sock, noblock: bool) -> int:
    return 0 if noblock else sk.sk_sndtimeo


@notrace
def sock_writeable(sk: Sock) -> bool:
    """``sock_writeable``: the packets still held charge less than half the send buffer (the
    kernel's count starts at 1, the socket's own reference)."""
    return sk.sk_wmem_alloc + 1 < sk.sk_sndbuf >> 1


def sock_wfree(skb: Any) -> None:
    """``sock_wfree``, the destructor of a datagram socket's packets: the charge goes back, and
    writers waiting for room may go on."""
    sk = skb.sk
    sk.sk_wmem_alloc -= skb.truesize
    sk.sk_write_space()


def sock_alloc_send_pskb(sk: Sock, noblock: bool) -> int:
    """``sock_alloc_send_pskb``'s checks and wait, before a datagram socket makes a packet: a
    pending error, then a shutdown for writing (EPIPE), then room in the send buffer, waited for
    up to SO_SNDTIMEO (``sock_wait_for_wmem``, which a signal ends) or not at all (EAGAIN).  0
    when the packet may be made; the caller charges it to the socket (``sock_wfree`` as its
    destructor)."""
    timeo = sock_sndtimeo(sk, noblock)
    while True:
        err = sock_error(sk)
        if err:
            return err
        if sk.sk_shutdown & SEND_SHUTDOWN:
            return -EPIPE
        if sk.sk_wmem_alloc < sk.sk_sndbuf:
            return 0
        sk.sock_flags |= SOCK_NOSPACE
        if not timeo:
            return -EAGAIN
        if signal_pending_current():
            return sock_intr_errno(timeo)
        timeo = current().sleep_on(sk.sk_wq, timeo)


def sock_error(sk: Sock) -> int:
    """``sock_error``: take the pending error (as ``-errno``), clearing it."""
    err = sk.sk_err
    if not err:
        return 0
    sk.sk_err = 0
    return -err


# -- timestamps of received packets ----------------------------------------------------------

@notrace
def sock_valbool_flag(sk: Sock, bit: int, valbool: bool) -> None:
    """``sock_valbool_flag``: set or clear a flag of ``sk_flags``."""
    sk.sk_flags = sk.sk_flags | bit if valbool else sk.sk_flags & ~bit


def sock_enable_timestamp(sk: Sock, flag: int = SOCK_TIMESTAMP) -> None:
    """``sock_enable_timestamp``: from now on the host stamps the packets it receives
    (``net_enable_timestamp``), for SIOCGSTAMP and SO_TIMESTAMP (SOCK_TIMESTAMP) or for
    SO_TIMESTAMPING's RX_SOFTWARE (SOCK_TIMESTAMPING_RX_SOFTWARE)."""
    flags = sk.sk_flags
    if not flags & flag:
        sk.sk_flags = flags | flag
        if not flags & SK_FLAGS_TIMESTAMP:
            sk.host.netstamp_needed += 1


def sock_disable_timestamp(sk: Sock, flags: int = SK_FLAGS_TIMESTAMP) -> None:
    """``sock_disable_timestamp``: the socket no longer needs received packets stamped for
    ``flags`` (``__sk_destruct`` gives up both; SO_TIMESTAMPING without RX_SOFTWARE its own), and
    once it needs them for neither, the host may stop (``net_disable_timestamp``)."""
    if sk.sk_flags & flags:
        sk.sk_flags &= ~flags
        if not sk.sk_flags & SK_FLAGS_TIMESTAMP:
            sk.host.netstamp_needed -= 1


def sock_set_timestamp(sk: Sock, optname: int, valbool: bool) -> None:
    """``sock_set_timestamp`` → ``__sock_set_timestamps``: SO_TIMESTAMP(NS), old or new, on:
    each read gets the packet's arrival time, as a timeval or a timespec; off: no longer (the host
    goes on stamping packets for the socket, SIOCGSTAMP's)."""
    if valbool:
        sock_valbool_flag(sk, SOCK_TSTAMP_NEW, optname in (SO_TIMESTAMP_NEW, SO_TIMESTAMPNS_NEW))
        sock_valbool_flag(sk, SOCK_RCVTSTAMPNS, optname in (SO_TIMESTAMPNS_OLD, SO_TIMESTAMPNS_NEW))
        sk.sk_flags |= SOCK_RCVTSTAMP
        sock_enable_timestamp(sk)
    else:
        sk.sk_flags &= ~(SOCK_RCVTSTAMP | SOCK_RCVTSTAMPNS)


def sk_is_tcp(sk: Sock) -> bool:
    """``sk_is_tcp``: a TCP socket."""
    from tuxnet.net.ipv4.af_inet import IPPROTO_TCP  # (they import this module)
    from tuxnet.net.socket import SOCK_STREAM

    return sk.sk_type == SOCK_STREAM and sk.sk_protocol == IPPROTO_TCP


def sock_set_timestamping(sk: Sock, optname: int, val: int, bind_phc: int) -> int:
    """``sock_set_timestamping`` (SO_TIMESTAMPING, old or new): the flags of net_tstamp.py, or
    -EINVAL for one it does not know, OPT_ID_TCP without OPT_ID, OPT_STATS without OPT_TSONLY,
    or OPT_ID on a TCP socket that is closed or listening.  Turning OPT_ID on starts the keys:
    a datagram socket's next send is 0; a TCP socket's keys are byte offsets from ``snd_una``
    (``write_seq`` with OPT_ID_TCP), set even if a later check refuses the flags.  BIND_PHC
    names a PTP clock of the socket's device (``sock_timestamping_bind_phc``), which tuxnet's
    devices have not: -EOPNOTSUPP unbound, else -EINVAL.  RX_SOFTWARE has the host stamp
    received packets."""
    if val & ~SOF_TIMESTAMPING_MASK:
        return -EINVAL
    if val & SOF_TIMESTAMPING_OPT_ID_TCP and not val & SOF_TIMESTAMPING_OPT_ID:
        return -EINVAL
    if val & SOF_TIMESTAMPING_OPT_ID and not sk.sk_tsflags & SOF_TIMESTAMPING_OPT_ID:
        if sk_is_tcp(sk):
            if sk.sk_state in (7, 10):  # TCP_CLOSE, TCP_LISTEN
                return -EINVAL
            sk.sk_tskey = sk.write_seq if val & SOF_TIMESTAMPING_OPT_ID_TCP else sk.snd_una
        else:
            sk.sk_tskey = 0
    if val & SOF_TIMESTAMPING_OPT_STATS and not val & SOF_TIMESTAMPING_OPT_TSONLY:
        return -EINVAL
    if val & SOF_TIMESTAMPING_BIND_PHC:
        if not sk.sk_bound_dev_if:
            return -EOPNOTSUPP
        return -ENODEV if sk.sk_bound_dev_if not in sk.host.dev_by_index else -EINVAL
    sk.sk_tsflags = val
    sock_valbool_flag(sk, SOCK_TSTAMP_NEW, optname == SO_TIMESTAMPING_NEW)
    if val & SOF_TIMESTAMPING_RX_SOFTWARE:
        sock_enable_timestamp(sk, SOCK_TIMESTAMPING_RX_SOFTWARE)
    else:
        sock_disable_timestamp(sk, SOCK_TIMESTAMPING_RX_SOFTWARE)
    return 0


@notrace
def sock_tx_timestamp(tsflags: int) -> int:
    """``__sock_tx_timestamp``: the ``tx_flags`` a send's flags ask its packet to carry."""
    tx_flags = 0
    if tsflags & SOF_TIMESTAMPING_TX_HARDWARE:
        tx_flags |= SKBTX_HW_TSTAMP  # (asked, but no device of tuxnet's has a clock to stamp with)
    if tsflags & SOF_TIMESTAMPING_TX_SOFTWARE:
        tx_flags |= SKBTX_SW_TSTAMP
    if tsflags & SOF_TIMESTAMPING_TX_SCHED:
        tx_flags |= SKBTX_SCHED_TSTAMP
    if tsflags & SOF_TIMESTAMPING_TX_COMPLETION:
        tx_flags |= SKBTX_COMPLETION_TSTAMP  # (asked, but no device of tuxnet's reports completions)
    return tx_flags


def _sock_tx_timestamp(sk: Sock, sockc: Any, skb: SkBuff) -> None:
    """``_sock_tx_timestamp`` for a datagram: the send timestamps its control messages or socket
    ask for (``sockc.tsflags``), and with OPT_ID its key: the one SCM_TS_OPT_ID gave, else the
    socket's next."""
    tsflags = sockc.tsflags
    if not tsflags:
        return
    tx_flags = sock_tx_timestamp(tsflags)
    if not tx_flags:
        return
    skb.tx_flags = tx_flags
    if tsflags & SOF_TIMESTAMPING_OPT_ID:
        if tsflags & SOCKCM_FLAG_TS_OPT_ID:
            skb.tskey = sockc.ts_opt_id
        else:
            skb.tskey = sk.sk_tskey
            sk.sk_tskey = (sk.sk_tskey + 1) & 0xFFFFFFFF


def sock_gettstamp(sk: Sock, timeval: bool) -> bytes | int:
    """``sock_gettstamp`` (SIOCGSTAMP, SIOCGSTAMPNS): when the last packet read arrived, as a
    timeval or a timespec; -ENOENT before any was read.  A packet read before the socket asked is
    given the time of this first call (the host did not stamp it)."""
    sock_enable_timestamp(sk)
    stamp = sk.sk_stamp
    if stamp == SK_DEFAULT_STAMP:
        return -ENOENT
    if stamp == 0:
        stamp = sk.sk_stamp = ktime_get_real(sk.host.world)
    return skb_timestamp_struct(stamp, timeval)


@notrace
def skb_timestamp_struct(stamp: int, timeval: bool) -> bytes:
    """A time in nanoseconds as the struct timeval (``skb_get_timestamp``) or timespec
    (``skb_get_timestampns``) a program reads, of two 64-bit integers."""
    sec, nsec = divmod(stamp, NSEC_PER_SEC)
    return _timeval.pack(sec, nsec // NSEC_PER_USEC if timeval else nsec)


# -- SOL_SOCKET options (sock_setsockopt / sock_getsockopt) ------------------------------------

class SockoptInt(int):
    """An int option's value as ``getsockopt`` hands it to the caller (``put_user(val, optval)``).
    The getsockopt functions give their values back as this type, not as a plain int, so that a
    negative one (SO_PRIORITY -1, TCP_LINGER2 -1) is never taken for the ``-errno`` of a failed
    call: in the kernel the value goes to user memory and the return value only says whether
    that worked.  (The caller reads it as its C type: Python's ``getsockopt`` as an ``int``.)"""

    __slots__ = ()


# The options that only turn a flag of ``sk_flags`` on or off (sock_valbool_flag), and their flags:
# a control message on every read, SO_DEBUG's mark (nothing reads it), the Wi-Fi status and
# no-FCS requests (which only a wireless device or a raw frame's NIC acts on), and POLLPRI with
# POLLERR for a pending error (datagram_poll).
_FLAG_OPTIONS = {SO_RXQ_OVFL: SOCK_RXQ_OVFL, SO_RCVMARK: SOCK_RCVMARK, SO_RCVPRIORITY: SOCK_RCVPRIORITY,
                 SO_DEBUG: SOCK_DBG, SO_WIFI_STATUS: SOCK_WIFI_STATUS, SO_NOFCS: SOCK_NOFCS,
                 SO_SELECT_ERR_QUEUE: SOCK_SELECT_ERR_QUEUE}
SOCK_BUF_LOCK_MASK = 3  # SOCK_SNDBUF_LOCK | SOCK_RCVBUF_LOCK: what SO_BUF_LOCK sets
_sock_txtime = struct.Struct("=iI")  # struct sock_txtime: the clock, the flags
SOF_TXTIME_FLAGS_MASK = 3  # SOF_TXTIME_DEADLINE_MODE | SOF_TXTIME_REPORT_ERRORS
TXTIME_CLOCKS = (0, 1, 11)  # sockopt_validate_clockid: CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_TAI
_ucred = struct.Struct("=iII")  # struct ucred: pid, uid, gid


def sockopt_int(optval: Any) -> int | None:
    """An option value as the C int it stands for (an int, a bool, or 4 native bytes)."""
    if isinstance(optval, bool):
        return int(optval)
    if isinstance(optval, int):
        return optval
    if isinstance(optval, bytes | bytearray) and len(optval) >= 4:
        return int.from_bytes(optval[:4], "little", signed=True)
    return None


def sock_set_timeout(optval: Any) -> tuple[int, int]:
    """``sock_set_timeout`` (SO_RCVTIMEO, SO_SNDTIMEO): ``(0, timeout in ns)`` or ``(-errno, 0)``.
    The value is a struct timeval (or a (sec, usec) pair, or seconds); fewer bytes are EINVAL.  Microseconds outside
    [0, 1,000,000) are EDOM; a negative time means not to wait at all (0), none, or seconds past
    what a jiffies count holds (``MAX_SCHEDULE_TIMEOUT / HZ - 1``), means waiting for ever.  Linux
    keeps any other time in whole jiffies, rounded up (and reads it back so); tuxnet keeps it to
    the microsecond, which its programs' timers (ping's interval) count on."""
    if isinstance(optval, bytes | bytearray) and len(optval) >= 16:
        sec, usec = _timeval.unpack_from(optval)
    elif isinstance(optval, tuple) and len(optval) == 2:
        sec, usec = optval
    elif isinstance(optval, int | float):
        sec, usec = int(optval), int((optval - int(optval)) * USEC_PER_SEC)
    else:
        return -EINVAL, 0
    if not 0 <= usec < USEC_PER_SEC:
        return -EDOM, 0
    if sec < 0:
        return 0, 0
    if not sec and not usec or sec >= LONG_MAX // HZ - 1:
        return 0, MAX_SCHEDULE_TIMEOUT
    return 0, sec * NSEC_PER_SEC + usec * NSEC_PER_USEC


def sk_set_peek_off(sk: Sock, val: int) -> int:
    """``sk_set_peek_off``: MSG_PEEK reads start ``val`` bytes into what is queued, and move on
    by what they read; a negative value turns that off."""
    sk.sk_peek_off = val
    return 0


def sk_peek_offset_bwd(sk: Sock, val: int) -> None:
    """``sk_peek_offset_bwd``: a read took ``val`` bytes from the front: the peek offset, when on,
    comes back by as much (no further than the front)."""
    off = sk.sk_peek_off
    if off >= 0:
        sk.sk_peek_off = max(off - val, 0)


def sock_set_linger(sk: Sock, optval: Any) -> int:
    """SO_LINGER as ``sk_setsockopt`` sets it: a struct linger (or an (onoff, seconds) pair), EINVAL
    when shorter.  Off keeps the time as it was; on takes the seconds as an unsigned long (a
    negative int sign-extended), those a jiffies count cannot hold (``MAX_SCHEDULE_TIMEOUT / HZ``)
    meaning lingering for ever."""
    if isinstance(optval, bytes | bytearray) and len(optval) >= _linger.size:
        onoff, linger = _linger.unpack_from(optval)
    elif isinstance(optval, tuple) and len(optval) == 2:
        onoff, linger = optval
    else:
        return -EINVAL
    if onoff:
        secs = linger & ULONG_MAX
        sk.sk_lingertime = MAX_SCHEDULE_TIMEOUT if secs >= LONG_MAX // HZ else secs * NSEC_PER_SEC
    sk.sk_linger = bool(onoff)
    return 0



def sock_setsockopt_filter(sk: Sock, optname: int, optval: Any) -> int:
    """SO_ATTACH_FILTER (a classic BPF program's instructions, as bytes), SO_DETACH_FILTER, and
    SO_LOCK_FILTER, which once set keeps the program as it is and cannot be cleared."""
    from tuxnet.net.core.filter import SOCK_FILTER_LOCKED, sk_attach_filter, sk_detach_filter

    if optname == SO_ATTACH_FILTER:
        return sk_attach_filter(sk, optval)
    if optname == SO_DETACH_FILTER:
        return sk_detach_filter(sk)
    locked = bool(sk.sk_flags & SOCK_FILTER_LOCKED)
    on = bool(optval if isinstance(optval, int) else int.from_bytes(bytes(optval)[:4], "little"))
    if locked and not on:
        return -EPERM
    sk.sk_flags = sk.sk_flags | SOCK_FILTER_LOCKED if on else sk.sk_flags & ~SOCK_FILTER_LOCKED
    return 0


def sock_setsockopt_unsupported(sk: Sock, optname: int, optval: Any, val: int) -> int:
    """The options of what tuxnet has not (eBPF programs, memory cgroups, device memory), refused
    as the kernel refuses them where it has none to give: SO_ATTACH_BPF and
    SO_ATTACH_REUSEPORT_EBPF take a program's fd (EBADF for a closed one, EINVAL for any other:
    none is a program, ``bpf_prog_get_type``); SO_DETACH_REUSEPORT_BPF finds no program (ENOENT,
    EINVAL without SO_REUSEPORT); SO_RESERVE_MEM needs a memory cgroup (EOPNOTSUPP; EINVAL below
    0); SO_DEVMEM_DONTNEED returns no device-memory frags (TCP's alone: EBADF for another; a list
    of 8-octet tokens, at most 128)."""
    from tuxnet.kernel.sched import current
    from tuxnet.net.core.filter import SOCK_FILTER_LOCKED

    optlen = len(optval) if isinstance(optval, bytes | bytearray) else 4
    if optname in (SO_ATTACH_BPF, SO_ATTACH_REUSEPORT_EBPF):
        if optlen != 4:
            return -EINVAL
        if optname == SO_ATTACH_BPF and sk.sk_flags & SOCK_FILTER_LOCKED:
            return -EPERM
        return -EINVAL if current().files.get(val & 0xFFFFFFFF) is not None else -EBADF
    if optname == SO_DETACH_REUSEPORT_BPF:
        return -ENOENT if sk.sk_reuseport else -EINVAL
    if optname == SO_RESERVE_MEM:
        return -EINVAL if val < 0 else -EOPNOTSUPP
    if not sk_is_tcp(sk):
        return -EBADF
    return -EINVAL if optlen % 8 or optlen > 8 * 128 else 0


def sock_setsockopt(sk: Sock, optname: int, optval: Any) -> int:
    """``sock_setsockopt``: SOL_SOCKET options; ``-ENOPROTOOPT`` for unknown names."""
    host = sk.host
    if optname == SO_LINGER:
        return sock_set_linger(sk, optval)
    if isinstance(optval, bytes | bytearray) and len(optval) < 4 and optname != SO_BINDTODEVICE:
        return -EINVAL  # (sk_setsockopt: every other option takes at least an int)
    if optname == SO_TXTIME:
        # a struct sock_txtime, exactly: the clock the departure times of SCM_TXTIME count in, and
        # the deadline-mode and error-report flags (for a qdisc that schedules by them, fq or
        # etf, which tuxnet has not: its qdiscs send a timed packet when they would any other)
        if not isinstance(optval, bytes | bytearray) or len(optval) != _sock_txtime.size:
            return -EINVAL
        clockid, flags = _sock_txtime.unpack(optval)
        if flags & ~SOF_TXTIME_FLAGS_MASK or clockid not in TXTIME_CLOCKS:
            return -EINVAL
        sk.sk_flags |= SOCK_TXTIME
        sk.sk_clockid, sk.sk_txtime_flags = clockid, flags
        return 0
    if optname in (SO_RCVTIMEO, SO_SNDTIMEO, SO_RCVTIMEO_NEW, SO_SNDTIMEO_NEW):
        # (the _NEW ones take a struct __kernel_sock_timeval, the old struct timeval on 64 bits)
        err, t = sock_set_timeout(optval)
        if err:
            return err
        if optname in (SO_RCVTIMEO, SO_RCVTIMEO_NEW):
            sk.sk_rcvtimeo = t
        else:
            sk.sk_sndtimeo = t
        return 0
    if optname in (SO_ATTACH_FILTER, SO_DETACH_FILTER, SO_LOCK_FILTER):
        return sock_setsockopt_filter(sk, optname, optval)
    if optname == SO_BINDTODEVICE:
        # sock_setbindtodevice: at most IFNAMSIZ - 1 bytes, the name ending at the first NUL, its
        # bytes compared as they are (dev_get_by_name): a name no device has is ENODEV.
        raw = optval if isinstance(optval, bytes | bytearray) else str(optval).encode()
        name = bytes(raw[:IFNAMSIZ - 1]).split(b"\0", 1)[0].decode("latin-1")
        if not name:
            sk.sk_bound_dev_if = 0
        elif name in host.devices:
            sk.sk_bound_dev_if = host.devices[name].ifindex
        else:
            return -ENODEV
        sk.dst_cache = None
        return 0
    val = sockopt_int(optval)
    if val is None:
        return -EINVAL
    if optname == SO_BINDTOIFINDEX:
        # sock_bindtoindex: any index not negative, a device or not (SO_BINDTODEVICE's name is checked)
        if val < 0:
            return -EINVAL
        sk.sk_bound_dev_if = val
        sk.dst_cache = None
        return 0
    if optname == SO_PASSRIGHTS:
        return -EOPNOTSUPP  # (AF_UNIX's alone)
    if optname in (SO_ATTACH_BPF, SO_ATTACH_REUSEPORT_EBPF, SO_DETACH_REUSEPORT_BPF, SO_RESERVE_MEM,
                   SO_DEVMEM_DONTNEED):
        return sock_setsockopt_unsupported(sk, optname, optval, val)
    if optname in (SO_PASSCRED, SO_PASSSEC, SO_PASSPIDFD):
        # sk_may_scm_recv: only AF_UNIX, AF_NETLINK and AF_BLUETOOTH sockets pass credentials
        # (Linux 6.16 on), and tuxnet has none of those
        return -EOPNOTSUPP
    if optname == SO_PEEK_OFF:
        # the proto_ops' set_peek_off: TCP's and UDP's (sk_set_peek_off); not raw or ping sockets'
        set_peek_off = getattr(sk.sk_socket.ops, "set_peek_off", None) if sk.sk_socket is not None else None
        return -EOPNOTSUPP if set_peek_off is None else set_peek_off(sk, val)
    if optname == SO_TXREHASH:
        # TCP's alone (Linux 6.16 on); -1 for net.core.txrehash's value
        if not sk_is_tcp(sk):
            return -EOPNOTSUPP
        if not -1 <= val <= 1:
            return -EINVAL
        sk.sk_txrehash = sk.host.sysctl["net.core.txrehash"] if val & 0xFF == SOCK_TXREHASH_DEFAULT else val
        return 0
    if optname == SO_REUSEADDR:
        sk.sk_reuse = 1 if val else 0
    elif optname == SO_REUSEPORT:
        sk.sk_reuseport = 1 if val else 0
    elif optname == SO_KEEPALIVE:
        sk.sk_keepopen = bool(val)
        hook = getattr(sk.sk_prot, "keepalive", None)
        if hook is not None:
            hook(sk, bool(val))
    elif optname == SO_BROADCAST:
        sk.sk_broadcast = bool(val)
    elif optname in (SO_SNDBUF, SO_SNDBUFFORCE):
        limit = host.sysctl["net.core.wmem_max"] if optname == SO_SNDBUF else INT_MAX
        # sk_setsockopt: SO_SNDBUF takes the value as a u32 (min_t), -1 being the most there is;
        # SO_SNDBUFFORCE no negative value; __sock_set_sndbuf doubles at most INT_MAX / 2.
        val = min(val & 0xFFFFFFFF, limit) if optname == SO_SNDBUF else max(val, 0)
        sk.sk_userlocks |= SOCK_SNDBUF_LOCK
        sk.sk_sndbuf = max(SOCK_MIN_SNDBUF, min(val, INT_MAX // 2) * 2)
        sk.sk_write_space()
    elif optname in (SO_RCVBUF, SO_RCVBUFFORCE):
        limit = host.sysctl["net.core.rmem_max"] if optname == SO_RCVBUF else INT_MAX
        # (as SO_SNDBUF: __sock_set_rcvbuf)
        val = min(val & 0xFFFFFFFF, limit) if optname == SO_RCVBUF else max(val, 0)
        sk.sk_userlocks |= SOCK_RCVBUF_LOCK
        sk.sk_rcvbuf = max(SOCK_MIN_RCVBUF, min(val, INT_MAX // 2) * 2)
    elif optname == SO_RCVLOWAT:
        # a negative low-water mark is INT_MAX; TCP's proto_ops caps it (tcp_set_rcvlowat)
        if val < 0:
            val = INT_MAX
        set_rcvlowat = getattr(sk.sk_socket.ops, "set_rcvlowat", None) if sk.sk_socket is not None else None
        if set_rcvlowat is not None:
            return set_rcvlowat(sk, val)
        sk.sk_rcvlowat = val or 1
    elif optname == SO_PRIORITY:
        sk.sk_priority = val
    elif optname == SO_BUSY_POLL:  # (CONFIG_NET_RX_BUSY_POLL's)
        if val < 0:
            return -EINVAL
        sk.sk_ll_usec = val
    elif optname == SO_INCOMING_CPU:
        # reuseport_update_incoming_cpu: any value; a reuseport group would prefer the sockets
        # whose CPU takes the packet, but a tuxnet host has one
        sk.sk_incoming_cpu = val
    elif optname == SO_MARK:
        if sk.sk_mark != val:  # sock_set_mark: the cached route may no longer be the mark's
            sk.sk_mark = val
            sk.dst_cache = None
    elif optname == SO_OOBINLINE:
        sk.sk_urginline = bool(val)
    elif optname == SO_ZEROCOPY:
        from tuxnet.net.ipv4.af_inet import IPPROTO_TCP, IPPROTO_UDP  # (they import this module)
        from tuxnet.net.socket import SOCK_DGRAM, SOCK_STREAM

        # Only the protocols that can send the caller's pages: TCP and UDP (and RDS).
        if not (sk.sk_type == SOCK_STREAM and sk.sk_protocol == IPPROTO_TCP
                or sk.sk_type == SOCK_DGRAM and sk.sk_protocol == IPPROTO_UDP):
            return -EOPNOTSUPP
        if val < 0 or val > 1:
            return -EINVAL
        sk.sk_zerocopy = bool(val)
    elif optname == SO_MAX_PACING_RATE:
        # A 32-bit value; ~0U means no limit (~0UL).  Any other asks TCP to pace itself unless
        # fq already does.
        rate = (1 << 64) - 1 if val & 0xFFFFFFFF == 0xFFFFFFFF else val & 0xFFFFFFFF
        if rate != (1 << 64) - 1 and sk.sk_pacing_status == SK_PACING_NONE:
            sk.sk_pacing_status = SK_PACING_NEEDED
        sk.sk_max_pacing_rate = rate
        sk.sk_pacing_rate = min(sk.sk_pacing_rate, rate)
    elif optname == SO_DONTROUTE:
        sk.sk_localroute = bool(val)
        sk.dst_cache = None
    elif optname in (SO_TIMESTAMP_OLD, SO_TIMESTAMP_NEW, SO_TIMESTAMPNS_OLD, SO_TIMESTAMPNS_NEW):
        sock_set_timestamp(sk, optname, bool(val))
    elif optname in (SO_TIMESTAMPING_OLD, SO_TIMESTAMPING_NEW):
        # an int, or a struct so_timestamping {flags, bind_phc} when the length is its own
        struct_given = isinstance(optval, bytes | bytearray) and len(optval) == _so_timestamping.size
        bind_phc = _so_timestamping.unpack(optval)[1] if struct_given else 0
        return sock_set_timestamping(sk, optname, val & 0xFFFFFFFF, bind_phc)
    elif optname in _FLAG_OPTIONS:
        sock_valbool_flag(sk, _FLAG_OPTIONS[optname], bool(val))
    elif optname == SO_NO_CHECK:
        sk.sk_no_check_tx = bool(val)  # (UDP sends no checksum: udp_send_skb)
    elif optname == SO_BSDCOMPAT:
        pass  # (obsolete: accepted, and reads as 0)
    elif optname == SO_CNX_ADVICE:
        if val == 1:  # dst_negative_advice: the cached route is doubted, and looked up again
            sk.dst_cache = None
    elif optname == SO_PREFER_BUSY_POLL:
        sk.sk_prefer_busy_poll = bool(val)
    elif optname == SO_BUSY_POLL_BUDGET:
        if not 0 <= val <= 0xFFFF:
            return -EINVAL
        sk.sk_busy_poll_budget = val
    elif optname == SO_BUF_LOCK:
        if val & ~SOCK_BUF_LOCK_MASK:
            return -EINVAL
        sk.sk_userlocks = sk.sk_userlocks & ~SOCK_BUF_LOCK_MASK | val
    else:
        return -ENOPROTOOPT  # SO_SNDLOWAT among them: Linux cannot change it (socket(7))
    return 0


def sock_getsockopt(sk: Sock, optname: int, optlen: int | None = None) -> int | bytes:
    """``sock_getsockopt``: the value (a ``SockoptInt``, or the C struct's bytes) or ``-errno``;
    ``optlen`` is the caller's room (None: any), which a cookie must fit."""
    if optname == SO_ERROR:
        err = sk.sk_err or sk.sk_err_soft
        sk.sk_err = 0
        sk.sk_err_soft = 0
        return SockoptInt(err)
    if optname == SO_LINGER:
        # the time in seconds, as jiffies / HZ in a C int (lingering for ever: LONG_MAX / HZ, cut)
        t = sk.sk_lingertime
        secs = c_int(LONG_MAX // HZ) if t == MAX_SCHEDULE_TIMEOUT else t // NSEC_PER_SEC
        return _linger.pack(int(sk.sk_linger), secs)
    if optname in (SO_PASSCRED, SO_PASSSEC, SO_PASSPIDFD):
        return -EOPNOTSUPP  # (as sk_setsockopt)
    if optname == SO_PEEK_OFF:
        ops = sk.sk_socket.ops if sk.sk_socket is not None else None
        return SockoptInt(sk.sk_peek_off) if getattr(ops, "set_peek_off", None) is not None else -EOPNOTSUPP
    if optname == SO_TXREHASH:
        return SockoptInt(sk.sk_txrehash) if sk_is_tcp(sk) else -EOPNOTSUPP
    if optname == SO_PEERCRED:
        # an inet socket has no peer credentials: no pid, and the ids (uid_t) -1 (cred_to_ucred)
        return _ucred.pack(0, 0xFFFFFFFF, 0xFFFFFFFF)
    if optname == SO_PEERNAME:
        # the peer's struct sockaddr_in (the protocol's getname, asked as peer 2: a closed
        # socket's last peer too), ENOTCONN without one
        from tuxnet.net.core.dev_ioctl import sockaddr_in

        sock = sk.sk_socket
        peer = sock.ops.getname(sock, 2) if sock is not None else -ENOTCONN
        if isinstance(peer, int):
            return -ENOTCONN
        return sockaddr_in(sk.sk_family, int.from_bytes(bytes(int(p) for p in peer[0].split(".")), "big"), peer[1])
    if optname == SO_PEERPIDFD:
        return -ENODATA  # (no peer process: AF_UNIX's have one)
    if optname in (SO_PASSRIGHTS, SO_BUSY_POLL_BUDGET, SO_CNX_ADVICE):
        return -EOPNOTSUPP if optname == SO_PASSRIGHTS else -ENOPROTOOPT  # (no getter for the others)
    if optname == SO_RESERVE_MEM:
        return SockoptInt(0)  # (none reserved: sock_reserve_memory needs a memory cgroup)
    if optname == SO_TXTIME:
        return _sock_txtime.pack(sk.sk_clockid, sk.sk_txtime_flags)
    if optname == SO_NETNS_COOKIE:
        # the namespace's cookie, a u64 in exactly eight octets
        return sk.host.net_cookie.to_bytes(8, "little") if optlen is None or optlen == 8 else -EINVAL
    if optname in (SO_RCVTIMEO, SO_SNDTIMEO, SO_RCVTIMEO_NEW, SO_SNDTIMEO_NEW):
        t = sk.sk_rcvtimeo if optname in (SO_RCVTIMEO, SO_RCVTIMEO_NEW) else sk.sk_sndtimeo
        t = 0 if t == MAX_SCHEDULE_TIMEOUT else t
        return _timeval.pack(t // NSEC_PER_SEC, (t % NSEC_PER_SEC) // NSEC_PER_USEC)
    if optname == SO_BINDTODEVICE:
        # sock_getbindtodevice: the name and its terminating NUL (nothing when not bound), in a
        # buffer of IFNAMSIZ at least
        dev = sk.host.dev_by_index.get(sk.sk_bound_dev_if)
        if dev is None:
            return b""
        return -EINVAL if optlen is not None and optlen < IFNAMSIZ else dev.name.encode() + b"\0"
    if optname == SO_MAX_PACING_RATE and optlen is not None and optlen >= 8:
        return sk.sk_max_pacing_rate.to_bytes(8, "little")  # (an unsigned long where it fits)
    if optname == SO_MEMINFO:
        return _meminfo.pack(*sk_get_meminfo(sk))
    if optname == SO_GET_FILTER:
        from tuxnet.net.core.filter import sk_get_filter

        return sk_get_filter(sk)
    if optname == SO_BPF_EXTENSIONS:
        from tuxnet.net.core.filter import bpf_tell_extensions

        return SockoptInt(bpf_tell_extensions())
    if optname == SO_LOCK_FILTER:
        from tuxnet.net.core.filter import SOCK_FILTER_LOCKED

        return SockoptInt(bool(sk.sk_flags & SOCK_FILTER_LOCKED))
    if optname == SO_COOKIE:
        from tuxnet.net.core.sock_diag import sock_gen_cookie

        if optlen is not None and optlen < 8:
            return -EINVAL
        return sock_gen_cookie(sk).to_bytes(8, "little")
    values = {
        SO_REUSEADDR: sk.sk_reuse, SO_REUSEPORT: sk.sk_reuseport, SO_TYPE: sk.sk_type,
        SO_KEEPALIVE: int(sk.sk_keepopen), SO_BROADCAST: int(sk.sk_broadcast),
        SO_SNDBUF: sk.sk_sndbuf, SO_RCVBUF: sk.sk_rcvbuf, SO_RCVLOWAT: sk.sk_rcvlowat,
        SO_SNDLOWAT: 1, SO_PRIORITY: sk.sk_priority, SO_MARK: sk.sk_mark,
        SO_ACCEPTCONN: int(sk.sk_state == 10), SO_PROTOCOL: sk.sk_protocol, SO_DOMAIN: sk.sk_family,
        SO_DEBUG: 0, SO_DONTROUTE: int(sk.sk_localroute), SO_OOBINLINE: int(sk.sk_urginline),
        SO_ZEROCOPY: int(sk.sk_zerocopy), SO_BUSY_POLL: sk.sk_ll_usec, SO_INCOMING_CPU: sk.sk_incoming_cpu,
        SO_MAX_PACING_RATE: min(sk.sk_max_pacing_rate, 0xFFFFFFFF), SO_NO_CHECK: int(sk.sk_no_check_tx),
        SO_BSDCOMPAT: 0, SO_BINDTOIFINDEX: sk.sk_bound_dev_if, SO_PREFER_BUSY_POLL: int(sk.sk_prefer_busy_poll),
        SO_BUF_LOCK: sk.sk_userlocks & SOCK_BUF_LOCK_MASK,
    }
    flags = sk.sk_flags
    # the timestamp options read the flags the last of them set, as sock_getsockopt combines them
    new = flags & SOCK_TSTAMP_NEW
    if optname == SO_TIMESTAMP_OLD:
        return SockoptInt(bool(flags & SOCK_RCVTSTAMP) and not new and not flags & SOCK_RCVTSTAMPNS)
    if optname == SO_TIMESTAMPNS_OLD:
        return SockoptInt(bool(flags & SOCK_RCVTSTAMPNS) and not new)
    if optname == SO_TIMESTAMP_NEW:
        return SockoptInt(bool(flags & SOCK_RCVTSTAMP and new))
    if optname == SO_TIMESTAMPNS_NEW:
        return SockoptInt(bool(flags & SOCK_RCVTSTAMPNS and new))
    if optname in _FLAG_OPTIONS:
        return SockoptInt(bool(flags & _FLAG_OPTIONS[optname]))
    if optname in (SO_TIMESTAMPING_OLD, SO_TIMESTAMPING_NEW):
        # struct so_timestamping; the new option reads the flags only if they were set by it
        if optname == SO_TIMESTAMPING_OLD or new:
            return _so_timestamping.pack(sk.sk_tsflags, 0)
        return _so_timestamping.pack(0, 0)
    if optname in values:
        return SockoptInt(values[optname])
    return -ENOPROTOOPT
