"""``struct tcp_sock`` with ``struct inet_connection_sock`` (include/linux/tcp.h,
include/net/inet_connection_sock.h), the TCP states and the constants of include/net/tcp.h."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.compiler import notrace
from tuxnet.kernel.eventpoll import (
    EPOLLERR,
    EPOLLIN,
    EPOLLOUT,
    EPOLLPRI,
    EPOLLRDBAND,
    EPOLLRDNORM,
    EPOLLWRBAND,
    EPOLLWRNORM,
    wake_up_interruptible_poll,
)
from tuxnet.net.core.net_tstamp import SKBTX_ANY_TSTAMP
from tuxnet.net.core.skbuff import SKB_SMALL_HEAD_TRUESIZE
from tuxnet.net.core.sock import SOCK_NOSPACE, Sock
from tuxnet.world import NSEC_PER_MSEC, NSEC_PER_SEC

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.skbuff import SkBuff
    from tuxnet.net.ipv4.tcp_md5 import TcpMd5sigKey
    from tuxnet.world import Timer

# TCP_REPAIR_QUEUE's queues (include/uapi/linux/tcp.h)
TCP_NO_QUEUE = 0
TCP_RECV_QUEUE = 1
TCP_SEND_QUEUE = 2
TCP_QUEUES_NR = 3

# include/net/tcp_states.h
TCP_ESTABLISHED = 1
TCP_SYN_SENT = 2
TCP_SYN_RECV = 3
TCP_FIN_WAIT1 = 4
TCP_FIN_WAIT2 = 5
TCP_TIME_WAIT = 6
TCP_CLOSE = 7
TCP_CLOSE_WAIT = 8
TCP_LAST_ACK = 9
TCP_LISTEN = 10
TCP_CLOSING = 11
TCP_NEW_SYN_RECV = 12

TCP_STATE_NAMES = {
    TCP_ESTABLISHED: "ESTABLISHED", TCP_SYN_SENT: "SYN_SENT", TCP_SYN_RECV: "SYN_RECV",
    TCP_FIN_WAIT1: "FIN_WAIT1", TCP_FIN_WAIT2: "FIN_WAIT2", TCP_TIME_WAIT: "TIME_WAIT",
    TCP_CLOSE: "CLOSE", TCP_CLOSE_WAIT: "CLOSE_WAIT", TCP_LAST_ACK: "LAST_ACK",
    TCP_LISTEN: "LISTEN", TCP_CLOSING: "CLOSING", TCP_NEW_SYN_RECV: "NEW_SYN_RECV",
}

# TCP header flags (TCPHDR_*)
TCPHDR_FIN = 0x01
TCPHDR_SYN = 0x02
TCPHDR_RST = 0x04
TCPHDR_PSH = 0x08
TCPHDR_ACK = 0x10
TCPHDR_URG = 0x20
TCPHDR_ECE = 0x40
TCPHDR_CWR = 0x80

# options
TCPOPT_EOL = 0
TCPOPT_NOP = 1
TCPOPT_MSS = 2
TCPOPT_WINDOW = 3
TCPOPT_SACK_PERM = 4
TCPOPT_SACK = 5
TCPOPT_TIMESTAMP = 8
TCPOLEN_TSTAMP_ALIGNED = 12
TCP_MAX_WSCALE = 14

# timing (include/net/tcp.h), in nanoseconds
TCP_TIMEWAIT_LEN = 60 * NSEC_PER_SEC
TCP_FIN_TIMEOUT = TCP_TIMEWAIT_LEN
TCP_FIN_TIMEOUT_MAX = 120 * NSEC_PER_SEC
TCP_RTO_MAX = 120 * NSEC_PER_SEC
TCP_RTO_MIN = 200 * NSEC_PER_MSEC
TCP_TIMEOUT_INIT = 1 * NSEC_PER_SEC
TCP_DELACK_MAX = 200 * NSEC_PER_MSEC
TCP_DELACK_MIN = 40 * NSEC_PER_MSEC
TCP_ATO_MIN = 40 * NSEC_PER_MSEC
TCP_RESOURCE_PROBE_INTERVAL = 500 * NSEC_PER_MSEC
TCP_TIMEOUT_MIN = 2 * NSEC_PER_MSEC  # the least a TCP timer waits (2 jiffies)
TCP_TIMEOUT_MIN_US = 2000
TCP_KEEPALIVE_TIME = 7200 * NSEC_PER_SEC
TCP_MAX_QUICKACKS = 16
TCP_INIT_CWND = 10
TCP_MSS_DEFAULT = 536

# The share of receive memory offered as window, in 1/256ths (include/net/tcp.h, Linux 6.6+):
# measured per connection as len/truesize of the peer's segments, half until then.
TCP_RMEM_TO_WIN_SCALE = 8
TCP_DEFAULT_SCALING_RATIO = 1 << (TCP_RMEM_TO_WIN_SCALE - 1)
TCP_MIN_MSS = 88
MAX_TCP_HEADER = 128 + 60
TCP_INFINITE_SSTHRESH = 0x7FFFFFFF

# nonagle bits
TCP_NAGLE_OFF = 1
TCP_NAGLE_CORK = 2
TCP_NAGLE_PUSH = 4

# icsk_ack.pending
ICSK_ACK_SCHED = 1
ICSK_ACK_TIMER = 2
ICSK_ACK_PUSHED = 4
ICSK_ACK_PUSHED2 = 8
ICSK_ACK_NOW = 16

# icsk_pending (which event the retransmit timer is armed for)
ICSK_TIME_RETRANS = 1
ICSK_TIME_DACK = 2
ICSK_TIME_PROBE0 = 3
ICSK_TIME_LOSS_PROBE = 5
ICSK_TIME_REO_TIMEOUT = 6

# icsk_ca_state
TCP_CA_Open = 0
TCP_CA_Disorder = 1
TCP_CA_CWR = 2
TCP_CA_Recovery = 3
TCP_CA_Loss = 4

# TCP_SKB_CB(skb)->sacked
TCPCB_SACKED_ACKED = 0x01
TCPCB_SACKED_RETRANS = 0x02
TCPCB_LOST = 0x04
TCPCB_TAGBITS = TCPCB_SACKED_ACKED | TCPCB_SACKED_RETRANS | TCPCB_LOST
TCPCB_REPAIRED = 0x10
TCPCB_EVER_RETRANS = 0x80
TCPCB_RETRANS = TCPCB_SACKED_RETRANS | TCPCB_EVER_RETRANS

# tp->ecn_flags (include/net/tcp.h)
TCP_ECN_OK = 1
TCP_ECN_QUEUE_CWR = 2
TCP_ECN_DEMAND_CWR = 4
TCP_ECN_SEEN = 8

# tp->chrono_type (enum tcp_chrono): what limits the sender while it is busy
TCP_CHRONO_UNSPEC = 0
TCP_CHRONO_BUSY = 1
TCP_CHRONO_RWND_LIMITED = 2
TCP_CHRONO_SNDBUF_LIMITED = 3

# tp->urg_data: the urgent byte's value in the low 8 bits, and where it stands (include/net/tcp.h)
TCP_URG_VALID = 0x0100  # the byte has arrived
TCP_URG_NOTYET = 0x0200  # the pointer has, the byte not yet
TCP_URG_READ = 0x0400  # read with MSG_OOB


# The memory an skb costs beyond its payload: SKB_TRUESIZE(skb_end_offset) of a head taken, as
# tcp_stream_alloc_skb does since Linux 6.3, from the 640-byte small-head cache (320 bytes of
# MAX_TCP_HEADER headroom + the aligned sk_buff, 256, + its shared info, 320).
SKB_TRUESIZE_OVERHEAD = SKB_SMALL_HEAD_TRUESIZE

SEQ_MASK = 0xFFFFFFFF
# tp->app_limited as tcp_init_sock sets it (~0U): every segment is application-limited until the
# first ACK that delivers data, as after(delivered, ~0U) holds for any count below 2^31.
APP_LIMITED_INIT = 0xFFFFFFFF


@notrace
def before(a: int, b: int) -> bool:
    """``before(seq1, seq2)``: seq1 precedes seq2 in sequence space."""
    return ((a - b) & SEQ_MASK) >= 0x80000000


@notrace
def after(a: int, b: int) -> bool:
    return ((b - a) & SEQ_MASK) >= 0x80000000


@notrace
def tcp_stamp_us_delta(t1: int, t0: int) -> int:
    """``tcp_stamp_us_delta``: microseconds from ``t0`` to ``t1`` (nanosecond clocks), never
    negative: a segment's stamp is its earliest departure time (EDT), which fq may still be
    holding it for when an ACK for it comes."""
    return max((t1 - t0) // 1000, 0)


@notrace
def tcp_min_rtt(sk: TcpSock) -> int:
    """``tcp_min_rtt``: the windowed minimum RTT in microseconds (~0U before any sample)."""
    return sk.min_rtt_us if sk.min_rtt_us else 0xFFFFFFFF


@notrace
def tcp_packets_in_flight(sk: TcpSock) -> int:
    """``tcp_packets_in_flight``: packets_out - left_out + retrans_out."""
    return sk.packets_out - (sk.sacked_out + sk.lost_out) + sk.retrans_out


def tcp_skb_sent_after(t1: int, t2: int, seq1: int, seq2: int) -> bool:
    """``tcp_skb_sent_after``: was (t1, seq1) sent after (t2, seq2)?"""
    return t1 > t2 or (t1 == t2 and after(seq1, seq2))



class TcpSkbCb:
    """The part of ``TCP_SKB_CB(skb)`` that has no slot in ``SkBuff``: segment count and size for
    TSO (``tcp_gso_segs``, ``tcp_gso_size``), end of record, memory charged (``truesize``), the
    delivery-rate state of its last transmission (``tx``) and whether its key byte's
    acknowledgement is to be timestamped (``txstamp_ack``)."""

    __slots__ = ("pcount", "gso_size", "eor", "truesize", "first_tx_mstamp", "delivered_mstamp", "delivered",
                 "delivered_ce", "is_app_limited", "tsorted_prev", "tsorted_next", "tsorted", "txstamp_ack")

    def __init__(self) -> None:
        self.pcount = 0
        self.gso_size = 0
        self.eor = False
        self.truesize = 0
        self.first_tx_mstamp = 0
        self.delivered_mstamp = -1  # -1: no snapshot (not sent, or SACKed already)
        self.delivered = 0
        self.delivered_ce = 0
        self.is_app_limited = False
        # skb->tcp_tsorted_anchor: the segment's place in tp->tsorted_sent_queue
        self.tsorted_prev: SkBuff | None = None
        self.tsorted_next: SkBuff | None = None
        self.tsorted = False
        self.txstamp_ack = False  # SO_TIMESTAMPING's TX_ACK: stamp when the key byte is acknowledged


class TsortedSentQueue:
    """``tp->tsorted_sent_queue``: the segments of the retransmit queue in the order they were
    last sent, less those SACKed or that RACK marked lost, as a doubly linked list (the links are
    in each segment's control block, as Linux's ``tcp_tsorted_anchor`` is in the ``sk_buff``).
    RACK walks it from the oldest and stops at the first segment sent after the one it knows
    delivered, so a loss check costs what is overdue, not the whole window."""

    __slots__ = ("head", "tail")

    def __init__(self) -> None:
        self.head: SkBuff | None = None
        self.tail: SkBuff | None = None

    def __iter__(self) -> Iterator[SkBuff]:
        """Oldest first; the segment given out may be deleted before the next is asked for."""
        skb = self.head
        while skb is not None:
            nxt = skb.cb.tsorted_next
            yield skb
            skb = nxt

    def delete(self, skb: SkBuff) -> None:
        """``list_del_init``: take ``skb`` out (nothing when it is not in)."""
        cb = skb.cb
        if cb.__class__ is not TcpSkbCb or not cb.tsorted:
            return
        prev, nxt = cb.tsorted_prev, cb.tsorted_next
        if prev is None:
            self.head = nxt
        else:
            prev.cb.tsorted_next = nxt
        if nxt is None:
            self.tail = prev
        else:
            nxt.cb.tsorted_prev = prev
        cb.tsorted_prev = cb.tsorted_next = None
        cb.tsorted = False

    def move_tail(self, skb: SkBuff) -> None:
        """``list_move_tail``: ``skb`` was just sent; it goes last."""
        if self.tail is skb:
            return
        self.delete(skb)
        cb = tcp_skb_cb(skb)
        tail = self.tail
        cb.tsorted_prev = tail
        cb.tsorted = True
        if tail is None:
            self.head = skb
        else:
            tail.cb.tsorted_next = skb
        self.tail = skb

    def add_after(self, skb: SkBuff, buff: SkBuff) -> None:
        """``list_add(&buff->tcp_tsorted_anchor, &skb->tcp_tsorted_anchor)``: the tail part of a
        split segment follows its head part, sent at the same time (nothing if that is not in)."""
        cb = skb.cb
        if cb.__class__ is not TcpSkbCb or not cb.tsorted:
            return
        nxt = cb.tsorted_next
        bcb = tcp_skb_cb(buff)
        bcb.tsorted_prev, bcb.tsorted_next, bcb.tsorted = skb, nxt, True
        cb.tsorted_next = buff
        if nxt is None:
            self.tail = buff
        else:
            nxt.cb.tsorted_prev = buff

    def clear(self) -> None:
        for skb in self:
            cb = skb.cb
            cb.tsorted_prev = cb.tsorted_next = None
            cb.tsorted = False
        self.head = self.tail = None


def tcp_skb_cb(skb: SkBuff) -> TcpSkbCb:
    """The TCP control block of a queued segment (created on first use)."""
    cb = skb.cb
    if cb.__class__ is not TcpSkbCb:
        cb = skb.cb = TcpSkbCb()
    return cb


def tcp_has_tx_tstamp(skb: SkBuff) -> bool:
    """``tcp_has_tx_tstamp``: the segment holds the key byte of a send that asked for send
    timestamps."""
    cb = skb.cb
    return bool(skb.tx_flags & SKBTX_ANY_TSTAMP or cb.__class__ is TcpSkbCb and cb.txstamp_ack)


def tcp_skb_collapse_tstamp(skb: SkBuff, next_skb: SkBuff) -> None:
    """``tcp_skb_collapse_tstamp``: ``next_skb`` joins ``skb`` (a retransmission's collapse, an
    MTU probe, a SACK shift), and so do the send timestamps it asked for."""
    if tcp_has_tx_tstamp(next_skb):
        skb.tx_flags |= next_skb.tx_flags & SKBTX_ANY_TSTAMP
        skb.tskey = next_skb.tskey
        cb = tcp_skb_cb(skb)
        cb.txstamp_ack = cb.txstamp_ack or tcp_skb_cb(next_skb).txstamp_ack


@notrace
def tcp_skb_pcount(skb: SkBuff) -> int:
    """``tcp_skb_pcount``: how many MSS-sized segments the skb is."""
    cb = skb.cb
    return cb.pcount if cb.__class__ is TcpSkbCb and cb.pcount else 1


class RackState:
    """``tp->rack``: RACK's record of the most recently sent segment known delivered
    (draft-ietf-tcpm-rack, RFC 8985)."""

    __slots__ = ("mstamp", "rtt_us", "end_seq", "last_delivered", "reo_wnd_steps", "reo_wnd_persist",
                 "dsack_seen", "advanced")

    def __init__(self) -> None:
        self.mstamp = 0
        self.rtt_us = 0
        self.end_seq = 0
        self.last_delivered = 0
        self.reo_wnd_steps = 1
        self.reo_wnd_persist = 0
        self.dsack_seen = False
        self.advanced = False


class TcpOptionsReceived:
    """``struct tcp_options_received``: what the peer negotiated and last sent."""

    __slots__ = ("saw_tstamp", "tstamp_ok", "sack_ok", "wscale_ok", "snd_wscale", "rcv_wscale",
                 "rcv_tsval", "rcv_tsecr", "ts_recent", "ts_recent_stamp", "mss_clamp", "user_mss",
                 "num_sacks", "sacks")

    def __init__(self) -> None:
        self.saw_tstamp = False
        self.tstamp_ok = False
        self.sack_ok = False
        self.wscale_ok = False
        self.snd_wscale = 0
        self.rcv_wscale = 0
        self.rcv_tsval = 0
        self.rcv_tsecr = 0
        self.ts_recent = 0
        self.ts_recent_stamp = 0
        self.mss_clamp = 0
        self.user_mss = 0
        self.num_sacks = 0
        self.sacks: list[tuple[int, int]] = []


# TCP Fast Open's option (RFC 7413 section 4.1.1; the experimental kind before it) and cookies
TCPOPT_FASTOPEN = 34
TCPOPT_EXP = 254
TCPOPT_FASTOPEN_MAGIC = 0xF989  # the experimental option's magic, before RFC 7413 had a kind
TCPOLEN_FASTOPEN_BASE = 2
TCPOLEN_EXP_FASTOPEN_BASE = 4
TCP_FASTOPEN_COOKIE_MIN = 4
TCP_FASTOPEN_COOKIE_MAX = 16
TCP_FASTOPEN_COOKIE_SIZE = 8
# why a client's Fast Open failed: tcp_info's tcpi_fastopen_client_fail (include/uapi/linux/tcp.h)
TFO_STATUS_UNSPEC = 0
TFO_COOKIE_UNAVAILABLE = 1
TFO_DATA_NOT_ACKED = 2
TFO_SYN_RETRANSMITTED = 3


class TcpFastopenCookie:
    """``struct tcp_fastopen_cookie``: ``len`` -1 for no option, 0 for a request (an empty option),
    else the cookie's bytes; ``exp`` for the experimental option (kind 254 and the magic)."""

    __slots__ = ("val", "len", "exp")

    def __init__(self, val: bytes = b"", length: int = -1, exp: bool = False) -> None:
        self.val = val
        self.len = length
        self.exp = exp

    def copy(self) -> TcpFastopenCookie:
        return TcpFastopenCookie(self.val, self.len, self.exp)


class TcpFastopenRequest:
    """``struct tcp_fastopen_request``: a client's Fast Open in progress: the cookie its SYN
    carries, the data waiting to go in it and how much of that the SYN took."""

    __slots__ = ("cookie", "data", "size", "copied")

    def __init__(self, cookie: TcpFastopenCookie | None = None) -> None:
        self.cookie = cookie if cookie is not None else TcpFastopenCookie(length=0)
        self.data: Any = None
        self.size = 0
        self.copied = 0


class IcskMtup:
    """``inet_connection_sock.icsk_mtup``: packetization-layer path MTU discovery (RFC 4821),
    the binary search between ``search_low`` (known to work) and ``search_high`` (the largest
    MTU that may), with the probe in flight (``probe_size``, 0 for none) and the sequence range
    it covers (``tcp_sock.mtu_probe``)."""

    __slots__ = ("enabled", "search_high", "search_low", "probe_size", "probe_timestamp",
                 "probe_seq_start", "probe_seq_end")

    def __init__(self) -> None:
        self.enabled = False
        self.search_high = 0
        self.search_low = 0
        self.probe_size = 0
        self.probe_timestamp = 0
        self.probe_seq_start = 0
        self.probe_seq_end = 0


class IcskAck:
    """``inet_connection_sock.icsk_ack``: delayed-ACK state."""

    __slots__ = ("pending", "quick", "pingpong", "ato", "timeout", "lrcvtime", "last_seg_size",
                 "rcv_mss")

    def __init__(self) -> None:
        self.pending = 0
        self.quick = 0
        self.pingpong = 0
        self.ato = 0
        self.timeout = 0
        self.lrcvtime = 0
        self.last_seg_size = 0
        self.rcv_mss = TCP_MSS_DEFAULT


def inet_csk_delack_init(sk: TcpSock) -> None:
    """``inet_csk_delack_init``: the delayed-ACK state all zero (``memset``), as ``listen`` and
    ``tcp_disconnect`` leave it: out of pingpong mode, TCP_QUICKACK reading 1 again."""
    ack = sk.icsk_ack
    ack.pending = ack.quick = ack.pingpong = ack.ato = ack.timeout = ack.lrcvtime = ack.last_seg_size = 0
    ack.rcv_mss = 0


class InetConnectionSockAfOps:
    """``struct inet_connection_sock_af_ops``: what a connection socket asks of its address family
    (``ipv4_specific``): a SYN at a listener, and the child socket of a completed handshake."""

    __slots__ = ("conn_request", "syn_recv_sock")

    def __init__(self, conn_request: Callable[..., int], syn_recv_sock: Callable[..., Any]) -> None:
        self.conn_request = conn_request
        self.syn_recv_sock = syn_recv_sock


class TcpSock(Sock):
    """A TCP socket: connection state, sequence space, queues and timers."""

    # Every field is a slot, as Sock's are: CPython reads and writes a slot at a fixed offset, where
    # a dictionary of ~150 fields (and defaults read through the class) cost hello/replyhi 10-15 %.
    __slots__ = (
        "snd_una", "snd_nxt", "snd_wnd", "snd_wl1", "snd_sml", "snd_up", "urg_data", "urg_seq",
        "max_window", "write_seq", "pushed_seq", "rcv_nxt", "rcv_wnd", "rcv_wup", "copied_seq",
        "rcv_ssthresh", "window_clamp", "scaling_ratio", "mss_cache", "advmss",
        "tcp_header_len", "icsk_ext_hdr_len", "pmtu_cookie", "tsoffset", "snd_cwnd", "snd_cwnd_cnt",
        "snd_cwnd_clamp", "snd_ssthresh", "prior_cwnd", "prior_ssthresh", "high_seq",
        "packets_out", "retrans_out", "lost_out", "sacked_out", "undo_marker", "prr_delivered",
        "prr_out", "icsk_ca_state", "icsk_ca_ops", "icsk_af_ops", "ca_priv", "srtt_us", "mdev_us",
        "mdev_max_us", "rttvar_us", "rtt_seq", "icsk_rto", "icsk_retransmits", "icsk_backoff",
        "icsk_probes_out", "icsk_probes_tstamp", "icsk_pending", "icsk_timeout",
        "icsk_user_timeout", "icsk_syn_retries", "retrans_stamp", "total_retrans", "timeout_rehash", "lsndtime",
        "rcv_tstamp", "nonagle", "linger2", "keepalive_time", "keepalive_intvl",
        "keepalive_probes", "rskq_defer_accept", "notsent_lowat", "thin_lto", "syn_queue_len",
        "parent", "segs_in", "segs_out", "data_segs_in", "data_segs_out", "bytes_acked",
        "bytes_received", "bytes_sent", "bytes_retrans", "delivered", "rcv_space",
        "rcv_rtt_us", "rcv_rtt_seq", "rcv_rtt_time", "rcv_rtt_last_tsecr", "pred_flags",
        "rcvq_space_seq", "rcvq_space_time", "rcv_ooopack", "dsack_dups", "reord_seen",
        "delivered_ce", "sk_gso_max_size", "sk_gso_max_segs", "gso_segs", "tcp_wstamp_ns", "pacing_timer",
        "compressed_ack", "compressed_ack_rcv_nxt", "dup_ack_counter", "compressed_ack_timer",
        "tsq_throttled", "tsq_tasklet", "max_packets_out", "max_packets_seq",
        "is_cwnd_limited", "snd_cwnd_used", "snd_cwnd_stamp", "tlp_high_seq", "tlp_retrans",
        "highest_sack", "synack_stamp", "min_rtt_us", "min_rtt_stamp", "undo_retrans",
        "delivered_mstamp", "first_tx_mstamp", "app_limited", "rate_delivered", "rate_interval_us",
        "rate_app_limited", "lost", "is_sack_reneg", "ecn_flags", "chrono_type", "chrono_start",
        "sk_done", "recvmsg_inq", "last_oow_ack_time", "frto",
        "icsk_retransmit_timer", "icsk_delack_timer", "sk_timer", "rx_opt", "reordering",
        "icsk_ack", "icsk_mtup", "sk_write_queue", "tcp_rtx_queue", "tsorted_sent_queue", "out_of_order_queue",
        "selective_acks", "duplicate_sack", "accept_queue", "rack", "chrono_stat", "recv_sack_cache",
        # The receive queue's last buffer as Linux has it (tcp_try_coalesce): the last of ours it
        # covers, and the first (whose head it is)
        "rcvq_tail", "rcvq_tail_head",
        # TCP Fast Open (tcp_fastopen.py): a client's request in progress and what its SYN did, a
        # server child's request socket, a listener's Fast Open queue and keys
        "fastopen_req", "fastopen_connect", "fastopen_no_cookie", "defer_connect", "syn_fastopen",
        "syn_fastopen_exp", "syn_data", "syn_data_acked", "fastopen_client_fail", "fastopen_rsk",
        "fastopenq_max_qlen", "fastopenq_qlen", "fastopen_keys", "save_syn", "saved_syn",
        "listened",
        # TCP MD5 signatures (tcp_md5.py): the keys, none until the first is set (md5sig_info),
        # and segments no larger than one MSS from then on (sk_gso_disabled)
        "md5sig_info", "sk_gso_disabled",
        # TCP repair mode (TCP_REPAIR): on or off, and the queue TCP_QUEUE_SEQ and the data calls
        # work on (TCP_REPAIR_QUEUE)
        "repair", "repair_queue",
    )

    def __init__(self, host: Host, prot: Any, family: int, type: int, protocol: int) -> None:
        super().__init__(host, prot, family, type, protocol)
        # Zero, as sk_alloc() hands out a zeroed struct tcp_sock, or tcp_init_sock()'s constants.
        # sequence space
        self.snd_una = 0
        self.snd_nxt = 0
        self.snd_wnd = 0
        self.snd_wl1 = 0
        self.snd_sml = 0
        self.snd_up = 0
        self.urg_data = 0  # the urgent byte the peer pointed at (TCP_URG_*), tcp_check_urg
        self.urg_seq = 0
        self.max_window = 0
        self.write_seq = 0
        self.pushed_seq = 0
        self.rcv_nxt = 0
        self.rcv_wnd = 0
        self.rcv_wup = 0
        self.copied_seq = 0
        self.rcv_ssthresh = 0
        self.window_clamp = 0
        self.scaling_ratio = TCP_DEFAULT_SCALING_RATIO
        # sizes
        self.mss_cache = TCP_MSS_DEFAULT
        self.advmss = TCP_MSS_DEFAULT
        self.tcp_header_len = 0  # set by tcp_connect_init or for a child (tcp_init_sock leaves it 0)
        self.icsk_ext_hdr_len = 0  # the IP options each segment carries (IP_OPTIONS)
        self.pmtu_cookie = 0
        self.tsoffset = 0
        # congestion control
        self.snd_cwnd = TCP_INIT_CWND
        self.snd_cwnd_cnt = 0
        self.snd_cwnd_clamp = 0xFFFFFFFF
        self.snd_ssthresh = TCP_INFINITE_SSTHRESH
        self.prior_cwnd = 0
        self.prior_ssthresh = 0
        self.high_seq = 0
        self.packets_out = 0
        self.retrans_out = 0
        self.lost_out = 0
        self.sacked_out = 0
        self.undo_marker = 0
        self.prr_delivered = 0
        self.prr_out = 0
        self.icsk_ca_state = TCP_CA_Open
        self.icsk_ca_ops: Any = None
        self.icsk_af_ops: InetConnectionSockAfOps | None = None  # the address family's (ipv4_specific)
        self.ca_priv: Any = None
        # RTT (RFC 6298), microseconds as in Linux
        self.srtt_us = 0
        self.mdev_us = 0
        self.mdev_max_us = 0
        self.rttvar_us = 0
        self.rtt_seq = 0
        self.icsk_rto = TCP_TIMEOUT_INIT
        self.icsk_retransmits = 0
        self.icsk_backoff = 0
        self.icsk_probes_out = 0
        self.icsk_probes_tstamp = -1
        self.icsk_pending = 0
        self.icsk_timeout = 0
        self.icsk_user_timeout = 0
        self.icsk_syn_retries = 0
        self.retrans_stamp = -1  # time of the first retransmitted segment's original send; -1: none
        self.total_retrans = 0
        self.timeout_rehash = 0  # the RTOs that changed the flow hash (sk_rethink_txhash)
        self.lsndtime = 0
        self.rcv_tstamp = 0
        # the user's choices
        self.nonagle = 0
        self.linger2 = 0
        self.keepalive_time = 0
        self.keepalive_intvl = 0
        self.keepalive_probes = 0
        self.rskq_defer_accept = 0  # TCP_DEFER_ACCEPT, in SYN-ACK timeouts (secs_to_retrans)
        self.notsent_lowat = 0
        self.thin_lto = 0
        # listener state (icsk_accept_queue)
        self.syn_queue_len = 0
        self.parent: TcpSock | None = None
        # statistics (tcp_info)
        self.segs_in = 0
        self.segs_out = 0
        self.data_segs_in = 0
        self.data_segs_out = 0
        self.bytes_acked = 0
        self.bytes_received = 0
        self.bytes_sent = 0
        self.bytes_retrans = 0
        self.delivered = 0
        self.rcv_space = 0
        # receive-buffer autotuning (struct tcp_sock's rcv_rtt_est and rcvq_space, tcp_rcv_space_adjust)
        self.rcv_rtt_us = 0
        self.rcv_rtt_seq = 0
        self.rcv_rtt_time = 0
        self.rcv_rtt_last_tsecr = 0
        self.pred_flags = 0  # header prediction (tcp_rcv_established's fast path); 0 is off
        self.rcvq_space_seq = 0
        self.rcvq_space_time = 0
        self.rcv_ooopack = 0
        self.dsack_dups = 0
        self.reord_seen = 0
        self.delivered_ce = 0
        # segmentation offload (sk_gso_max_size, sk_setup_caps) and the pacing of Earliest
        # Departure Time: when the next segment may leave, and TCP's own pacing timer
        self.sk_gso_max_size = 65536
        self.sk_gso_max_segs = 65535
        self.sk_gso_disabled = False
        self.md5sig_info: list[TcpMd5sigKey] | None = None
        self.repair = 0
        self.repair_queue = 0
        self.gso_segs = 0
        self.tcp_wstamp_ns = 0
        self.pacing_timer: Timer | None = None
        # SACK compression (tcp_comp_sack): ACKs held back, for which RCV.NXT, how many duplicate
        # ACKs went out for it at once, and the timer that sends the held one (made on first use)
        self.compressed_ack = 0
        self.compressed_ack_rcv_nxt = 0
        self.dup_ack_counter = 0
        self.compressed_ack_timer: Timer | None = None
        # TCP Small Queues: TSQF_THROTTLED (what it limits is sk_wmem_alloc)
        self.tsq_throttled = False
        self.tsq_tasklet = None
        # sender state of Linux's write path: cwnd validation, TLP, RACK, chrono, ECN
        self.max_packets_out = 0
        self.max_packets_seq = 0
        self.is_cwnd_limited = False
        self.snd_cwnd_used = 0
        self.snd_cwnd_stamp = 0
        self.tlp_high_seq = 0
        self.tlp_retrans = False
        self.highest_sack: SkBuff | None = None
        self.synack_stamp = -1  # when the SYN-ACK of a passive open left (-1: resent, no RTT)
        self.min_rtt_us = 0
        self.min_rtt_stamp = 0
        self.undo_retrans = -1
        self.delivered_mstamp = -1  # -1: nothing delivered yet (the kernel's 0; tuxnet's clock starts at 0)
        self.first_tx_mstamp = 0
        self.app_limited = APP_LIMITED_INIT
        self.rate_delivered = 0  # the delivery rate sample kept (tcp_rate_gen)
        self.rate_interval_us = 0
        self.rate_app_limited = True  # (tcp_init_sock: app-limited until a sample says otherwise)
        self.lost = 0  # segments ever marked lost (tcp_mark_skb_lost)
        self.is_sack_reneg = False  # the receiver reneged on SACKs; cleared when recovery ends
        self.ecn_flags = 0
        self.chrono_type = TCP_CHRONO_UNSPEC
        self.chrono_start = 0
        self.sk_done = False  # SOCK_DONE: the peer's FIN or a reset ended the input
        self.recvmsg_inq = False
        self.last_oow_ack_time = -1
        self.frto = False
        # timers (softirq context), set up by tcp_init_xmit_timers
        self.icsk_retransmit_timer = None
        self.icsk_delack_timer = None
        self.sk_timer = None
        # What each socket owns (queues, option and timer state) or reads from sysctls.
        self.rx_opt = TcpOptionsReceived()
        self.rx_opt.mss_clamp = TCP_MSS_DEFAULT  # tcp_init_sock: until the peer's MSS option says more
        self.reordering = host.sysctl["net.ipv4.tcp_reordering"]
        self.icsk_ack = IcskAck()
        self.icsk_mtup = IcskMtup()
        # queues
        self.sk_write_queue: deque[SkBuff] = deque()
        self.tcp_rtx_queue: deque[SkBuff] = deque()
        self.tsorted_sent_queue = TsortedSentQueue()
        self.out_of_order_queue: list[SkBuff] = []
        self.rcvq_tail: SkBuff | None = None
        self.rcvq_tail_head: SkBuff | None = None
        self.selective_acks: list[tuple[int, int]] = []
        self.duplicate_sack: list[tuple[int, int]] = []
        # listener state (icsk_accept_queue)
        self.accept_queue: deque[TcpSock] = deque()
        # RACK, chrono and SACK state of the write path
        self.rack = RackState()
        self.chrono_stat = [0, 0, 0]
        self.recv_sack_cache: list[tuple[int, int]] = []
        # TCP Fast Open
        self.fastopen_req: Any = None
        self.fastopen_connect = False
        self.fastopen_no_cookie = False
        self.defer_connect = False
        self.syn_fastopen = False
        self.syn_fastopen_exp = False
        self.syn_data = False
        self.syn_data_acked = False
        self.fastopen_client_fail = 0
        self.listened = False  # the socket has been a listener (connect then fails: tcp_v4_connect)
        self.fastopen_rsk: Any = None
        self.fastopenq_max_qlen = 0
        self.fastopenq_qlen = 0
        self.fastopen_keys: list[bytes] = []
        # TCP_SAVE_SYN: a listener keeps each SYN's headers (1: from the IP header, 2: from the
        # link-layer header) for the child, which TCP_SAVED_SYN reads once
        self.save_syn = 0
        self.saved_syn: bytes | None = None

    # -- callbacks: wake-ups keyed with the events they concern, as epoll needs them ----------
    def sk_data_ready(self) -> None:
        """``sock_def_readable``."""
        wake_up_interruptible_poll(self.sk_wq, EPOLLIN | EPOLLPRI | EPOLLRDNORM | EPOLLRDBAND)

    def sk_write_space(self) -> None:
        """``sk_stream_write_space``: wake writers once the buffer is writeable again."""
        if sk_stream_is_writeable(self, 1) and self.sk_socket is not None:
            self.sock_flags &= ~SOCK_NOSPACE
            wake_up_interruptible_poll(self.sk_wq, EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND)

    def sk_error_report(self) -> None:
        """``sock_def_error_report``."""
        wake_up_interruptible_poll(self.sk_wq, EPOLLERR)

    def __repr__(self) -> str:
        from tuxnet.net.core.utils import in_ntoa

        return (f"<TcpSock {TCP_STATE_NAMES.get(self.sk_state)} {in_ntoa(self.inet_rcv_saddr)}:"
                f"{self.inet_num} -> {in_ntoa(self.inet_daddr)}:{self.inet_dport}>")

    def tcp_send_head(self) -> SkBuff | None:
        """``tcp_send_head``: the first segment not yet sent."""
        return self.sk_write_queue[0] if self.sk_write_queue else None

    def tcp_timers(self) -> list[Timer]:
        """The connection's timers: retransmission, delayed ACK, keepalive, and the pacing and
        compressed-ACK timers once made (what ``tcp_clear_xmit_timers`` stops and freeing the
        socket shuts down)."""
        timers = [self.icsk_retransmit_timer, self.icsk_delack_timer, self.sk_timer]
        return timers + [t for t in (self.pacing_timer, self.compressed_ack_timer) if t is not None]



# -- send buffer space (include/net/sock.h, include/net/tcp.h) -----------------------------------

def tcp_notsent_lowat(sk: TcpSock) -> int:
    """``tcp_notsent_lowat``: TCP_NOTSENT_LOWAT, or the sysctl."""
    return sk.notsent_lowat or sk.host.sysctl["net.ipv4.tcp_notsent_lowat"]


def tcp_stream_memory_free(sk: TcpSock, wake: int) -> bool:
    """``tcp_stream_memory_free``: unsent bytes (doubled when deciding to wake) below the
    not-sent low-water mark."""
    notsent_bytes = (sk.write_seq - sk.snd_nxt) & SEQ_MASK
    return (notsent_bytes << wake) < tcp_notsent_lowat(sk)


def sk_stream_memory_free(sk: TcpSock, wake: int = 0) -> bool:
    """``__sk_stream_memory_free``: the send buffer has room."""
    if sk.sk_wmem_queued >= sk.sk_sndbuf:
        return False
    return tcp_stream_memory_free(sk, wake)


def sk_stream_is_writeable(sk: TcpSock, wake: int = 0) -> bool:
    """``__sk_stream_is_writeable``: a third of the buffer free (wspace >= queued / 2)."""
    return sk.sk_sndbuf - sk.sk_wmem_queued >= sk.sk_wmem_queued >> 1 and sk_stream_memory_free(sk, wake)
