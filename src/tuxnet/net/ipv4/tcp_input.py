"""TCP input (net/ipv4/tcp_input.c): ACK processing with the SACK scoreboard, loss recovery
(RFC 6675 with RACK-TLP, RFC 8985; PRR, RFC 6937; F-RTO, RFC 5682; undo with D-SACK and
timestamps), congestion control hooks, receiving data, and the state machine of RFC 9293
section 3.10.7 as ``tcp_rcv_state_process`` implements it.

Segments arrive with ``TCP_SKB_CB`` filled by ``tcp_v4_rcv``: ``seq``, ``end_seq`` (counting SYN
and FIN), ``ack_seq``, ``tcp_flags``; ``skb.data`` points at the payload.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from typing import TYPE_CHECKING

from tuxnet.kernel.compiler import notrace
from tuxnet.kernel.errno import ECONNREFUSED, ECONNRESET, EPIPE
from tuxnet.kernel.minmax import max, min, min3
from tuxnet.net.core.dev import IFF_LOOPBACK
from tuxnet.net.core.net_tstamp import SCM_TSTAMP_ACK
from tuxnet.net.core.skbuff import (
    MAX_SKB_FRAGS,
    SKB_FRAG_PAGE_SIZE,
    SKB_SMALL_HEAD_TRUESIZE,
    SKB_STRUCT_SIZE,
    SkBuff,
    __pskb_trim_head,
    __skb_tstamp_tx,
    alloc_skb_end,
    alloc_skb_truesize,
    skb_add_frags,
    skb_charged_truesize,
    skb_cloned,
    skb_copy_bits,
    skb_try_coalesce,
    skb_views,
    skb_zcopy_clear,
)
from tuxnet.net.core.sock import (
    RCV_SHUTDOWN,
    SEND_SHUTDOWN,
    SHUTDOWN_MASK,
    SOCK_MIN_RCVBUF,
    SOCK_RCVBUF_LOCK,
    SOCK_SNDBUF_LOCK,
    sk_mem_schedule,
    sk_mem_uncharge,
)
from tuxnet.net.ipv4.inet_connection_sock import inet_csk_destroy_sock
from tuxnet.net.ipv4.tcp_cong import CA_EVENT_COMPLETE_CWR, CA_EVENT_LOSS, tcp_init_congestion_control
from tuxnet.net.ipv4.tcp_fastopen import reqsk_fastopen_remove, tcp_fastopen_add_skb
from tuxnet.net.ipv4.tcp_metrics import tcp_fastopen_cache_set, tcp_init_metrics, tcp_update_metrics
from tuxnet.net.ipv4.tcp_output import (
    __tcp_push_pending_frames,
    __tcp_select_window,
    inet_csk_clear_xmit_timer,
    tcp_ca_event,
    tcp_check_space,
    tcp_chrono_stop,
    tcp_clamp_probe0_to_user_timeout,
    tcp_current_mss,
    tcp_current_ssthresh,
    tcp_fragment,
    tcp_full_space,
    tcp_in_cwnd_reduction,
    tcp_init_cwnd,
    tcp_initialize_rcv_mss,
    tcp_mss_to_mtu,
    tcp_mtup_init,
    tcp_non_congestion_loss_retransmit,
    tcp_probe0_when,
    tcp_push_pending_frames,
    tcp_rearm_rto,
    tcp_reset_xmit_timer,
    tcp_schedule_loss_probe,
    tcp_send_ack,
    tcp_send_delayed_ack,
    tcp_send_synack,
    tcp_simple_retransmit,
    tcp_skb_can_collapse,
    tcp_skb_mss,
    tcp_slow_start_after_idle_check,
    tcp_sndbuf_expand,
    tcp_space,
    tcp_space_from_win,
    tcp_sync_mss,
    tcp_time_stamp,
    tcp_trim_head,
    tcp_win_from_space,
    tcp_wmem_free_skb,
    tcp_wnd_end,
    tcp_xmit_retransmit_queue,
    usecs_to_jiffies,
)
from tuxnet.net.ipv4.tcp_rate import RateSample, tcp_rate_gen, tcp_rate_skb_delivered
from tuxnet.net.ipv4.tcp_recovery import (
    TCP_RACK_LOSS_DETECTION,
    TCP_RACK_RECOVERY_THRESH,
    tcp_mark_skb_lost,
    tcp_newreno_mark_lost,
    tcp_rack_advance,
    tcp_rack_mark_lost,
    tcp_rack_skb_timeout,
    tcp_rack_update_reo_wnd,
)
from tuxnet.net.ipv4.tcp_sock import (
    ICSK_ACK_NOW,
    ICSK_ACK_PUSHED,
    ICSK_ACK_PUSHED2,
    ICSK_ACK_SCHED,
    ICSK_TIME_PROBE0,
    ICSK_TIME_RETRANS,
    SEQ_MASK,
    TCP_ATO_MIN,
    TCP_CA_CWR,
    TCP_CHRONO_BUSY,
    TCP_CLOSE,
    TCP_CLOSE_WAIT,
    TCP_CLOSING,
    TCP_ECN_DEMAND_CWR,
    TCP_ECN_OK,
    TCP_ECN_QUEUE_CWR,
    TCP_ECN_SEEN,
    TCP_ESTABLISHED,
    TCP_FASTOPEN_COOKIE_MAX,
    TCP_FASTOPEN_COOKIE_MIN,
    TCP_FIN_WAIT1,
    TCP_FIN_WAIT2,
    TCP_INFINITE_SSTHRESH,
    TCP_INIT_CWND,
    TCP_LAST_ACK,
    TCP_LISTEN,
    TCP_MAX_QUICKACKS,
    TCP_MIN_MSS,
    TCP_MSS_DEFAULT,
    TCP_RMEM_TO_WIN_SCALE,
    TCP_RTO_MAX,
    TCP_RTO_MIN,
    TCP_SYN_RECV,
    TCP_SYN_SENT,
    TCP_TIME_WAIT,
    TCP_TIMEWAIT_LEN,
    TCP_URG_NOTYET,
    TCP_URG_VALID,
    TCPCB_EVER_RETRANS,
    TCPCB_LOST,
    TCPCB_RETRANS,
    TCPCB_SACKED_ACKED,
    TCPCB_SACKED_RETRANS,
    TCPCB_TAGBITS,
    TCPHDR_ACK,
    TCPHDR_CWR,
    TCPHDR_ECE,
    TCPHDR_FIN,
    TCPHDR_PSH,
    TCPHDR_RST,
    TCPHDR_SYN,
    TCPHDR_URG,
    TCPOLEN_EXP_FASTOPEN_BASE,
    TCPOLEN_FASTOPEN_BASE,
    TCPOLEN_TSTAMP_ALIGNED,
    TCPOPT_EOL,
    TCPOPT_EXP,
    TCPOPT_FASTOPEN,
    TCPOPT_FASTOPEN_MAGIC,
    TCPOPT_MSS,
    TCPOPT_NOP,
    TCPOPT_SACK,
    TCPOPT_SACK_PERM,
    TCPOPT_TIMESTAMP,
    TCPOPT_WINDOW,
    TFO_DATA_NOT_ACKED,
    TFO_SYN_RETRANSMITTED,
    TCP_CA_Disorder,
    TCP_CA_Loss,
    TCP_CA_Open,
    TCP_CA_Recovery,
    TcpFastopenCookie,
    TcpOptionsReceived,
    TcpSock,
    after,
    before,
    tcp_min_rtt,
    tcp_packets_in_flight,
    tcp_skb_cb,
    tcp_skb_collapse_tstamp,
    tcp_skb_pcount,
    tcp_stamp_us_delta,
)
from tuxnet.world import NSEC_PER_MSEC, NSEC_PER_SEC

if TYPE_CHECKING:
    from tuxnet.net.ipv4.tcp_minisocks import RequestSock

FLAG_DATA = 0x01
FLAG_WIN_UPDATE = 0x02
FLAG_DATA_ACKED = 0x04
FLAG_RETRANS_DATA_ACKED = 0x08
FLAG_SYN_ACKED = 0x10
FLAG_DATA_SACKED = 0x20
FLAG_ECE = 0x40
FLAG_LOST_RETRANS = 0x80
FLAG_SLOWPATH = 0x100
FLAG_ORIG_SACK_ACKED = 0x200
FLAG_SND_UNA_ADVANCED = 0x400
FLAG_DSACKING_ACK = 0x800
FLAG_SET_XMIT_TIMER = 0x1000
FLAG_SACK_RENEGING = 0x2000
FLAG_UPDATE_TS_RECENT = 0x4000
FLAG_NO_CHALLENGE_ACK = 0x8000
FLAG_ACK_MAYBE_DELAYED = 0x10000
FLAG_DSACK_TLP = 0x20000
FLAG_ACKED = FLAG_DATA_ACKED | FLAG_SYN_ACKED
FLAG_NOT_DUP = FLAG_DATA | FLAG_WIN_UPDATE | FLAG_ACKED
FLAG_CA_ALERT = FLAG_DATA_SACKED | FLAG_ECE | FLAG_DSACKING_ACK
FLAG_FORWARD_PROGRESS = FLAG_ACKED | FLAG_DATA_SACKED

REXMIT_NONE = 0
REXMIT_LOST = 1
REXMIT_NEW = 2

TCP_PAWS_WINDOW = 1
TCP_PAWS_24DAYS = 60 * 60 * 24 * 24 * NSEC_PER_SEC
TCP_NUM_SACKS = 4
# A block this far down the list, extended or pushed down, first sends the compressed ACK.
TCP_SACK_BLOCKS_TO_COMPRESS = 3
# Duplicate ACKs that trigger fast retransmit: as many go out uncompressed (include/net/tcp.h).
TCP_FASTRETRANS_THRESH = 3
INET_ECN_NOT_ECT = 0
INET_ECN_CE = 3

_u32 = struct.Struct("!I")
_u16 = struct.Struct("!H")
_u32x2 = struct.Struct("!II")
TCPOPT_TSTAMP_ALIGNED = (TCPOPT_NOP << 24) | (TCPOPT_NOP << 16) | (TCPOPT_TIMESTAMP << 8) | 10
# The header word of data offset, flags and window (include/net/tcp.h): header prediction
# compares it, reserved bits and PSH aside, with pred_flags.
TCP_FLAG_ACK = 0x00100000
TCP_HP_BITS = ~(0x0F000000 | 0x00080000) & 0xFFFFFFFF  # ~(TCP_RESERVED_BITS | TCP_FLAG_PSH)


# -- options ---------------------------------------------------------------------------------

def tcp_parse_options(skb: SkBuff, opt_rx: TcpOptionsReceived, estab: bool,
                      foc: TcpFastopenCookie | None = None) -> None:
    """``tcp_parse_options``: read MSS, window scale, SACK-permitted (on SYNs), timestamps and
    SACK blocks, and into ``foc`` a SYN's Fast Open option (RFC 7413 or the experimental form);
    a malformed option ends the parse, as in Linux."""
    buf = skb.buf
    th = skb.transport_header
    ptr = th + 20
    end = th + ((buf[th + 12] >> 4) << 2)
    opt_rx.num_sacks = 0
    if (estab and end - ptr == TCPOLEN_TSTAMP_ALIGNED and opt_rx.tstamp_ok
            and _u32.unpack_from(buf, ptr)[0] == TCPOPT_TSTAMP_ALIGNED):
        # tcp_fast_parse_options → tcp_parse_aligned_timestamp: just NOP, NOP, timestamps.
        opt_rx.saw_tstamp = True
        opt_rx.rcv_tsval, opt_rx.rcv_tsecr = _u32x2.unpack_from(buf, ptr + 4)
        return
    opt_rx.saw_tstamp = False
    syn = buf[th + 13] & TCPHDR_SYN
    while ptr < end:
        kind = buf[ptr]
        if kind == TCPOPT_EOL:
            return
        if kind == TCPOPT_NOP:
            ptr += 1
            continue
        if ptr + 1 >= end:
            return
        size = buf[ptr + 1]
        if size < 2 or ptr + size > end:
            return
        if kind == TCPOPT_MSS and size == 4 and syn and not estab:
            mss = (buf[ptr + 2] << 8) | buf[ptr + 3]
            if mss:
                if opt_rx.user_mss and opt_rx.user_mss < mss:
                    mss = opt_rx.user_mss
                opt_rx.mss_clamp = mss
        elif kind == TCPOPT_WINDOW and size == 3 and syn and not estab:
            opt_rx.wscale_ok = True
            opt_rx.snd_wscale = min(buf[ptr + 2], 14)
        elif kind == TCPOPT_TIMESTAMP and size == 10:
            if (syn and not estab) or (estab and opt_rx.tstamp_ok):
                opt_rx.saw_tstamp = True
                opt_rx.rcv_tsval = _u32.unpack_from(buf, ptr + 2)[0]
                opt_rx.rcv_tsecr = _u32.unpack_from(buf, ptr + 6)[0]
        elif kind == TCPOPT_SACK_PERM and size == 2 and syn and not estab:
            opt_rx.sack_ok = True
        elif kind == TCPOPT_SACK and size >= 10 and (size - 2) % 8 == 0 and opt_rx.sack_ok:
            n = (size - 2) // 8
            opt_rx.num_sacks = n
            opt_rx.sacks = [(_u32.unpack_from(buf, ptr + 2 + 8 * i)[0],
                             _u32.unpack_from(buf, ptr + 6 + 8 * i)[0]) for i in range(n)]
        elif foc is not None and syn:
            if kind == TCPOPT_FASTOPEN:
                tcp_parse_fastopen_option(size - TCPOLEN_FASTOPEN_BASE, bytes(buf[ptr + 2:ptr + size]), foc, False)
            elif (kind == TCPOPT_EXP and size >= TCPOLEN_EXP_FASTOPEN_BASE
                  and _u16.unpack_from(buf, ptr + 2)[0] == TCPOPT_FASTOPEN_MAGIC):
                tcp_parse_fastopen_option(size - TCPOLEN_EXP_FASTOPEN_BASE, bytes(buf[ptr + 4:ptr + size]), foc,
                                          True)
        ptr += size


def tcp_parse_fastopen_option(length: int, cookie: bytes, foc: TcpFastopenCookie, exp: bool) -> None:
    """``tcp_parse_fastopen_option``: an even cookie of 4 to 16 octets, or an empty option (a
    request); any other length is no cookie (-1)."""
    if length < 0 or length & 1:
        return
    if TCP_FASTOPEN_COOKIE_MIN <= length <= TCP_FASTOPEN_COOKIE_MAX:
        foc.val = cookie
    elif length:
        length = -1
    foc.len = length
    foc.exp = exp


def tcp_store_ts_recent(sk: TcpSock) -> None:
    sk.rx_opt.ts_recent = sk.rx_opt.rcv_tsval
    sk.rx_opt.ts_recent_stamp = sk.host.world.now


def tcp_replace_ts_recent(sk: TcpSock, seq: int) -> None:
    """``tcp_replace_ts_recent`` (RFC 7323 section 4.3): remember TSval of in-order segments."""
    opt = sk.rx_opt
    if opt.saw_tstamp and not after(seq, sk.rcv_wup):
        if ((opt.rcv_tsval - opt.ts_recent) & SEQ_MASK) < 0x80000000 or \
                sk.host.world.now - opt.ts_recent_stamp >= TCP_PAWS_24DAYS:
            tcp_store_ts_recent(sk)


def tcp_paws_discard(sk: TcpSock, rst: bool) -> bool:
    """``tcp_paws_discard`` (RFC 7323 section 5): an old TSval marks an old duplicate."""
    opt = sk.rx_opt
    if ((opt.ts_recent - opt.rcv_tsval) & SEQ_MASK) >= 0x80000000:
        return False
    if ((opt.ts_recent - opt.rcv_tsval) & SEQ_MASK) <= TCP_PAWS_WINDOW:
        return False
    if sk.host.world.now - opt.ts_recent_stamp >= TCP_PAWS_24DAYS:
        return False
    return not rst


# -- RTT and RTO -----------------------------------------------------------------------------

def tcp_rtt_estimator(sk: TcpSock, mrtt_us: int) -> None:
    """``tcp_rtt_estimator``: RFC 6298's SRTT and RTTVAR, in Linux's fixed-point form."""
    m = mrtt_us
    srtt = sk.srtt_us
    rto_min_us = TCP_RTO_MIN // 1000
    if srtt:
        m -= srtt >> 3
        srtt += m
        if m < 0:
            m = -m
            m -= sk.mdev_us >> 2
            if m > 0:
                m >>= 3
        else:
            m -= sk.mdev_us >> 2
        sk.mdev_us += m
        if sk.mdev_us > sk.mdev_max_us:
            sk.mdev_max_us = sk.mdev_us
            if sk.mdev_max_us > sk.rttvar_us:
                sk.rttvar_us = sk.mdev_max_us
        if after(sk.snd_una, sk.rtt_seq):
            if sk.mdev_max_us < sk.rttvar_us:
                sk.rttvar_us -= (sk.rttvar_us - sk.mdev_max_us) >> 2
            sk.rtt_seq = sk.snd_nxt
            sk.mdev_max_us = rto_min_us
    else:
        srtt = m << 3
        sk.mdev_us = m << 1
        sk.rttvar_us = max(sk.mdev_us, rto_min_us)
        sk.mdev_max_us = sk.rttvar_us
        sk.rtt_seq = sk.snd_nxt
    sk.srtt_us = max(1, srtt)


def tcp_set_rto(sk: TcpSock) -> None:
    """``tcp_set_rto``: RTO = SRTT + 4 * RTTVAR (RFC 6298 2.3) in whole jiffies, at most 120 s."""
    sk.icsk_rto = min(usecs_to_jiffies((sk.srtt_us >> 3) + sk.rttvar_us), TCP_RTO_MAX)


def tcp_update_pacing_rate(sk: TcpSock) -> None:
    """``tcp_update_pacing_rate``: 200% of cwnd * mss / srtt in slow start, 120% after."""
    sysctl = sk.host.sysctl
    rate = sk.mss_cache * ((1_000_000 // 100) << 3)
    if sk.snd_cwnd < sk.snd_ssthresh // 2:
        rate *= sysctl["net.ipv4.tcp_pacing_ss_ratio"]
    else:
        rate *= sysctl["net.ipv4.tcp_pacing_ca_ratio"]
    rate *= max(sk.snd_cwnd, sk.packets_out)
    if sk.srtt_us:
        rate //= sk.srtt_us
    sk.sk_pacing_rate = min(rate, sk.sk_max_pacing_rate)


def tcp_rtt_tsopt_us(sk: TcpSock, min_delta: int) -> int:
    """``tcp_rtt_tsopt_us``: the RTT the echoed timestamp shows, in us; an echo of this very tick
    counts as ``min_delta`` ticks (1 for the sender's RTT; 0, no sample, for the receiver's
    autotuning since Linux 6.16: a millisecond is no RTT for a flow of sub-millisecond RTT)."""
    delta = (tcp_time_stamp(sk) - sk.rx_opt.rcv_tsecr) & SEQ_MASK
    if delta < 0x7FFFFFFF // 1000:
        return (delta or min_delta) * 1000
    return -1


def tcp_update_rtt_min(sk: TcpSock, rtt_us: int, flag: int) -> None:
    """``tcp_update_rtt_min``: the windowed minimum RTT (``tcp_min_rtt_wlen`` seconds)."""
    if flag & FLAG_ACK_MAYBE_DELAYED and rtt_us > tcp_min_rtt(sk):
        return
    now = sk.host.world.now
    rtt_us = rtt_us or 1000
    wlen = sk.host.sysctl["net.ipv4.tcp_min_rtt_wlen"] * NSEC_PER_SEC
    if not sk.min_rtt_us or rtt_us <= sk.min_rtt_us or now - sk.min_rtt_stamp > wlen:
        sk.min_rtt_us = rtt_us
        sk.min_rtt_stamp = now


def tcp_ack_update_rtt(sk: TcpSock, flag: int, seq_rtt_us: int, sack_rtt_us: int, ca_rtt_us: int,
                       rs: RateSample) -> bool:
    """``tcp_ack_update_rtt``: Karn's rule; timestamps fill in for retransmitted segments."""
    if seq_rtt_us < 0:
        seq_rtt_us = sack_rtt_us
    opt = sk.rx_opt
    if seq_rtt_us < 0 and opt.saw_tstamp and opt.rcv_tsecr and flag & FLAG_ACKED:
        seq_rtt_us = ca_rtt_us = tcp_rtt_tsopt_us(sk, 1)
    rs.rtt_us = ca_rtt_us
    if seq_rtt_us < 0:
        return False
    tcp_update_rtt_min(sk, ca_rtt_us, flag)
    tcp_rtt_estimator(sk, seq_rtt_us)
    tcp_set_rto(sk)
    sk.icsk_backoff = 0
    return True


def tcp_synack_rtt_meas(sk: TcpSock) -> None:
    """``tcp_synack_rtt_meas``: the RTT of the handshake, unless the SYN-ACK was resent."""
    rtt_us = (sk.host.world.now - sk.synack_stamp) // 1000 if sk.synack_stamp >= 0 else -1
    tcp_ack_update_rtt(sk, FLAG_SYN_ACKED, rtt_us, -1, rtt_us, RateSample())


# -- the SACK scoreboard (RFC 2018, RFC 2883, RFC 6675) ---------------------------------------


class SacktagState:
    """``struct tcp_sacktag_state``."""

    __slots__ = ("first_sackt", "last_sackt", "reord", "sack_delivered", "flag", "rate")

    def __init__(self, rate: RateSample) -> None:
        self.first_sackt = -1
        self.last_sackt = 0
        self.reord = 0
        self.sack_delivered = 0
        self.flag = 0
        self.rate = rate



def tcp_highest_sack_seq(sk: TcpSock) -> int:
    """``tcp_highest_sack_seq``: where the highest SACKed segment starts."""
    if not sk.sacked_out:
        return sk.snd_una
    if sk.highest_sack is None:
        return sk.snd_nxt
    return sk.highest_sack.seq


def tcp_advance_highest_sack(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_advance_highest_sack``: the segment after ``skb`` becomes the hint."""
    rtx = sk.tcp_rtx_queue
    i = rtx.index(skb) + 1
    sk.highest_sack = rtx[i] if i < len(rtx) else None


def tcp_highest_sack_replace(sk: TcpSock, old: SkBuff, new: SkBuff | None) -> None:
    if old is sk.highest_sack:
        sk.highest_sack = new


def tcp_count_delivered(sk: TcpSock, delivered: int, ece_ack: bool) -> None:
    """``tcp_count_delivered``."""
    sk.delivered += delivered
    if ece_ack:
        sk.delivered_ce += delivered


def tcp_newly_delivered(sk: TcpSock, prior_delivered: int, flag: int) -> int:
    """``tcp_newly_delivered``: the segments this ACK delivered, counted in TCPDelivered (and,
    with ECE, TCPDeliveredCE)."""
    delivered = sk.delivered - prior_delivered
    if delivered:
        mib = sk.host.mib.TcpExt
        mib["TCPDelivered"] += delivered
        if flag & FLAG_ECE:
            mib["TCPDeliveredCE"] += delivered
    return delivered


def tcp_dsack_seen(sk: TcpSock, start_seq: int, end_seq: int, state: SacktagState) -> int:
    """``tcp_dsack_seen``: the number of duplicate segments a D-SACK reports (0: dubious)."""
    if not before(start_seq, end_seq):
        return 0
    seq_len = (end_seq - start_seq) & SEQ_MASK
    if seq_len > sk.max_window:
        return 0
    dup_segs = 1
    if seq_len > sk.mss_cache:
        dup_segs = -(-seq_len // sk.mss_cache)
    elif sk.tlp_high_seq and sk.tlp_high_seq == end_seq:
        state.flag |= FLAG_DSACK_TLP
    sk.dsack_dups += dup_segs
    if sk.dsack_dups > sk.total_retrans:
        return 0
    if sk.reord_seen and not state.flag & FLAG_DSACK_TLP:
        sk.rack.dsack_seen = True
    state.flag |= FLAG_DSACKING_ACK
    state.sack_delivered += dup_segs
    return dup_segs


def tcp_check_sack_reordering(sk: TcpSock, low_seq: int, ts: int) -> None:
    """``tcp_check_sack_reordering``: a hole below the highest SACK was filled by an original
    transmission; the reordering degree is at least that distance in segments."""
    mss = sk.mss_cache
    fack = tcp_highest_sack_seq(sk)
    if not before(low_seq, fack):
        return
    metric = (fack - low_seq) & SEQ_MASK
    if metric > sk.reordering * mss and mss:
        sk.reordering = min(-(-metric // mss), sk.host.sysctl["net.ipv4.tcp_max_reordering"])
    sk.reord_seen += 1
    sk.host.mib.TcpExt["TCPTSReorder" if ts else "TCPSACKReorder"] += 1


def tcp_is_sackblock_valid(sk: TcpSock, is_dsack: bool, start_seq: int, end_seq: int) -> bool:
    """``tcp_is_sackblock_valid``: within SND.UNA..SND.NXT (D-SACKs: down to undo_marker)."""
    if after(end_seq, sk.snd_nxt) or not before(start_seq, end_seq):
        return False
    if not before(start_seq, sk.snd_nxt):
        return False
    if after(start_seq, sk.snd_una):
        return True
    if not is_dsack or not sk.undo_marker:
        return False
    if after(end_seq, sk.snd_una):
        return False
    if not before(start_seq, sk.undo_marker):
        return True
    if not after(end_seq, sk.undo_marker):
        return False
    return not before(start_seq, (end_seq - sk.max_window) & SEQ_MASK)


def tcp_check_dsack(sk: TcpSock, ack_seq: int, sp: list[tuple[int, int]], prior_snd_una: int,
                    state: SacktagState) -> bool:
    """``tcp_check_dsack`` (RFC 2883): is the first block a D-SACK?"""
    start_seq_0, end_seq_0 = sp[0]
    mib = sk.host.mib.TcpExt
    if before(start_seq_0, ack_seq):
        mib["TCPDSACKRecv"] += 1
    elif len(sp) > 1:
        start_seq_1, end_seq_1 = sp[1]
        if after(end_seq_0, end_seq_1) or before(start_seq_0, start_seq_1):
            return False
        mib["TCPDSACKOfoRecv"] += 1
    else:
        return False
    dup_segs = tcp_dsack_seen(sk, start_seq_0, end_seq_0, state)
    if not dup_segs:
        mib["TCPDSACKIgnoredDubious"] += 1
        return False
    if (sk.undo_marker and sk.undo_retrans > 0 and not after(end_seq_0, prior_snd_una)
            and after(end_seq_0, sk.undo_marker)):
        sk.undo_retrans = max(0, sk.undo_retrans - dup_segs)
    return True


def tcp_match_skb_to_sack(sk: TcpSock, skb: SkBuff, start_seq: int, end_seq: int) -> int:
    """``tcp_match_skb_to_sack``: is ``skb`` inside the block?  A multi-segment buffer only partly
    covered is split at an MSS boundary first."""
    in_sack = not after(start_seq, skb.seq) and not before(end_seq, skb.end_seq)
    if tcp_skb_pcount(skb) > 1 and not in_sack and after(skb.end_seq, start_seq):
        mss = tcp_skb_mss(skb)
        in_sack = not after(start_seq, skb.seq)
        if not in_sack:
            pkt_len = (start_seq - skb.seq) & SEQ_MASK
            if pkt_len < mss:
                pkt_len = mss
        else:
            pkt_len = (end_seq - skb.seq) & SEQ_MASK
            if pkt_len < mss:
                return -1
        if pkt_len > mss:
            new_len = (pkt_len // mss) * mss
            if not in_sack and new_len < pkt_len:
                new_len += mss
            pkt_len = new_len
        if pkt_len >= skb.tail - skb.data and not in_sack:
            return 0
        tcp_fragment(sk, sk.tcp_rtx_queue, skb, pkt_len, mss)
    return int(in_sack)


def tcp_sacktag_one(sk: TcpSock, state: SacktagState, sacked: int, start_seq: int, end_seq: int,
                    dup_sack: bool, pcount: int, xmit_time: int) -> int:
    """``tcp_sacktag_one``: tag a newly SACKed range; returns the new tag bits."""
    if dup_sack and sacked & TCPCB_RETRANS:
        if sk.undo_marker and sk.undo_retrans > 0 and after(end_seq, sk.undo_marker):
            sk.undo_retrans = max(0, sk.undo_retrans - pcount)
        if sacked & TCPCB_SACKED_ACKED and before(start_seq, state.reord):
            state.reord = start_seq
    if not after(end_seq, sk.snd_una):
        return sacked
    if not sacked & TCPCB_SACKED_ACKED:
        tcp_rack_advance(sk, sacked, end_seq, xmit_time)
        if sacked & TCPCB_SACKED_RETRANS:
            if sacked & TCPCB_LOST:
                sacked &= ~(TCPCB_LOST | TCPCB_SACKED_RETRANS)
                sk.lost_out -= pcount
                sk.retrans_out -= pcount
        else:
            if not sacked & TCPCB_RETRANS:
                if before(start_seq, tcp_highest_sack_seq(sk)) and before(start_seq, state.reord):
                    state.reord = start_seq
                if not after(end_seq, sk.high_seq):
                    state.flag |= FLAG_ORIG_SACK_ACKED
                if state.first_sackt < 0:
                    state.first_sackt = xmit_time
                state.last_sackt = xmit_time
            if sacked & TCPCB_LOST:
                sacked &= ~TCPCB_LOST
                sk.lost_out -= pcount
        sacked |= TCPCB_SACKED_ACKED
        state.flag |= FLAG_DATA_SACKED
        sk.sacked_out += pcount
        state.sack_delivered += pcount
    if dup_sack and sacked & TCPCB_SACKED_RETRANS:
        sacked &= ~TCPCB_SACKED_RETRANS
        sk.retrans_out -= pcount
    return sacked


def tcp_skb_seglen(skb: SkBuff) -> int:
    """``tcp_skb_seglen``."""
    return skb.tail - skb.data if tcp_skb_pcount(skb) == 1 else tcp_skb_mss(skb)


def tcp_shifted_skb(sk: TcpSock, prev: SkBuff, skb: SkBuff, state: SacktagState, pcount: int, shifted: int,
                    mss: int, dup_sack: bool) -> bool:
    """``tcp_shifted_skb``: ``shifted`` newly SACKed bytes move from ``skb`` onto the SACKed
    ``prev``; True when ``skb`` was eaten whole."""
    start_seq = skb.seq
    end_seq = (start_seq + shifted) & SEQ_MASK
    tcp_sacktag_one(sk, state, skb.sacked, start_seq, end_seq, dup_sack, pcount, skb.skb_mstamp)
    tcp_rate_skb_delivered(sk, skb, state.rate)
    prev.end_seq = (prev.end_seq + shifted) & SEQ_MASK
    skb.seq = (skb.seq + shifted) & SEQ_MASK
    pcb = tcp_skb_cb(prev)
    cb = tcp_skb_cb(skb)
    prev_data = skb_copy_bits(prev, 0, prev.tail - prev.data) + skb_copy_bits(skb, 0, shifted)
    prev.buf = bytearray(prev_data)
    prev.data = 0
    prev.tail = prev.end = len(prev_data)
    prev.frags = None
    prev.data_len = 0
    __pskb_trim_head(skb, shifted)
    pcb.truesize += shifted
    cb.truesize -= shifted
    pcb.pcount += pcount
    cb.pcount -= pcount
    if not pcb.gso_size:
        pcb.gso_size = mss
    if cb.pcount <= 1:
        cb.gso_size = 0
    prev.sacked |= skb.sacked & TCPCB_EVER_RETRANS
    if skb.tail > skb.data:
        sk.host.mib.TcpExt["SackShifted"] += 1
        return False
    prev.tcp_flags |= skb.tcp_flags
    pcb.eor = cb.eor
    if skb.tcp_flags & TCPHDR_FIN:
        prev.end_seq = (prev.end_seq + 1) & SEQ_MASK
    if skb is sk.highest_sack:
        tcp_advance_highest_sack(sk, skb)
    tcp_skb_collapse_tstamp(prev, skb)
    pcb.delivered_mstamp = -1
    tcp_wmem_free_skb(sk, skb)
    sk.tcp_rtx_queue.remove(skb)
    sk.tsorted_sent_queue.delete(skb)
    sk.host.mib.TcpExt["SackMerged"] += 1
    return True


# TCP's smallest MSS for GSO (include/net/tcp.h): with a 16-bit segment count, no buffer holds
# more than 65535 of them.
TCP_MIN_GSO_SIZE = 8


def tcp_skb_shift(to: SkBuff, frm: SkBuff, pcount: int, shiftlen: int) -> bool:
    """``tcp_skb_shift``: can ``shiftlen`` bytes (``pcount`` segments) of ``frm`` move onto ``to``?
    Not beyond 65535 segments of the smallest size, nor a zerocopy send's pages (``skb_shift``
    does not move them).  It also bounds the copy that moving them costs here, where a buffer's
    bytes are one array and not a list of page fragments."""
    if to.tail - to.data + shiftlen >= 65535 * TCP_MIN_GSO_SIZE:
        return False
    if tcp_skb_pcount(to) + pcount > 65535:
        return False
    return to.destructor_arg is None and frm.destructor_arg is None


def tcp_shift_skb_data(sk: TcpSock, skb: SkBuff, state: SacktagState, start_seq: int, end_seq: int,
                       dup_sack: bool) -> SkBuff | None | int:
    """``tcp_shift_skb_data``: merge a newly SACKed range into the SACKed buffer before it.
    Returns the buffer to continue from, ``skb`` itself for nothing done ("noop"), or None to
    fall back to tagging ``skb`` in place."""
    rtx = sk.tcp_rtx_queue
    if not dup_sack and skb.sacked & (TCPCB_LOST | TCPCB_SACKED_RETRANS) == TCPCB_SACKED_RETRANS:
        return None
    if not after(skb.end_seq, sk.snd_una):
        return None
    i = rtx.index(skb)
    if not i:
        return None
    prev = rtx[i - 1]
    if prev.sacked & TCPCB_TAGBITS != TCPCB_SACKED_ACKED:
        return None
    if not tcp_skb_can_collapse(prev, skb):
        return None
    in_sack = not after(start_seq, skb.seq) and not before(end_seq, skb.end_seq)
    if in_sack:
        length = skb.tail - skb.data
        pcount = tcp_skb_pcount(skb)
        mss = tcp_skb_seglen(skb)
        if mss != tcp_skb_seglen(prev):
            return None
    else:
        if not after(skb.end_seq, start_seq) or tcp_skb_pcount(skb) <= 1:
            return skb
        if after(start_seq, skb.seq):
            return None
        length = (end_seq - skb.seq) & SEQ_MASK
        mss = tcp_skb_mss(skb)
        if mss != tcp_skb_seglen(prev):
            return None
        if length == mss:
            pcount = 1
        elif length < mss:
            return skb
        else:
            pcount = length // mss
            length = pcount * mss
    if not after((skb.seq + length) & SEQ_MASK, sk.snd_una):
        return None
    if not tcp_skb_shift(prev, skb, pcount, length):
        return None
    if not tcp_shifted_skb(sk, prev, skb, state, pcount, length, mss, dup_sack):
        return prev
    i = rtx.index(prev) + 1
    if i >= len(rtx):
        return prev
    nxt = rtx[i]
    if (nxt.sacked & TCPCB_TAGBITS != TCPCB_SACKED_ACKED or mss != tcp_skb_seglen(nxt)
            or not tcp_skb_can_collapse(prev, nxt)):
        return prev
    length = nxt.tail - nxt.data
    if tcp_skb_shift(prev, nxt, tcp_skb_pcount(nxt), length):
        tcp_shifted_skb(sk, prev, nxt, state, tcp_skb_pcount(nxt), length, mss, False)
    return prev


def tcp_sacktag_walk(sk: TcpSock, start: int, next_dup: tuple[int, int] | None, state: SacktagState,
                     start_seq: int, end_seq: int, dup_sack_in: bool) -> int:
    """``tcp_sacktag_walk``: tag the buffers from index ``start`` covered by one block; returns
    the index to continue from."""
    rtx = sk.tcp_rtx_queue
    i = start
    while i < len(rtx):
        skb = rtx[i]
        if not before(skb.seq, end_seq):
            break
        in_sack = 0
        dup_sack = dup_sack_in
        if next_dup is not None and before(skb.seq, next_dup[1]):
            in_sack = tcp_match_skb_to_sack(sk, skb, next_dup[0], next_dup[1])
            if in_sack > 0:
                dup_sack = True
        if in_sack <= 0:
            tmp = tcp_shift_skb_data(sk, skb, state, start_seq, end_seq, dup_sack)
            if tmp is not None:
                if tmp is not skb:
                    i = rtx.index(tmp) + 1
                    continue
                in_sack = 0
            else:
                in_sack = tcp_match_skb_to_sack(sk, skb, start_seq, end_seq)
        if in_sack < 0:
            break
        if in_sack:
            skb.sacked = tcp_sacktag_one(sk, state, skb.sacked, skb.seq, skb.end_seq, dup_sack,
                                         tcp_skb_pcount(skb), skb.skb_mstamp)
            tcp_rate_skb_delivered(sk, skb, state.rate)
            if skb.sacked & TCPCB_SACKED_ACKED:
                sk.tsorted_sent_queue.delete(skb)
            if not before(skb.seq, tcp_highest_sack_seq(sk)):
                tcp_advance_highest_sack(sk, skb)
        i = rtx.index(skb) + 1
    return i


def tcp_sacktag_skip(sk: TcpSock, i: int, skip_to_seq: int) -> int:
    """``tcp_sacktag_skip``: the index of the buffer holding ``skip_to_seq`` (or past it)."""
    rtx = sk.tcp_rtx_queue
    if i < len(rtx) and after(rtx[i].seq, skip_to_seq):
        return i
    for j, skb in enumerate(rtx):
        if not before(skip_to_seq, skb.seq) and before(skip_to_seq, skb.end_seq):
            return j
    return len(rtx)


def tcp_maybe_skipping_dsack(sk: TcpSock, i: int, next_dup: tuple[int, int] | None, state: SacktagState,
                             skip_to_seq: int) -> int:
    """``tcp_maybe_skipping_dsack``."""
    if next_dup is None:
        return i
    if before(next_dup[0], skip_to_seq):
        i = tcp_sacktag_skip(sk, i, next_dup[0])
        i = tcp_sacktag_walk(sk, i, None, state, next_dup[0], next_dup[1], True)
    return i


def tcp_sacktag_write_queue(sk: TcpSock, ack_seq: int, prior_snd_una: int, state: SacktagState) -> int:
    """``tcp_sacktag_write_queue``: apply the incoming SACK blocks to the retransmit queue."""
    sp_wire = list(sk.rx_opt.sacks[:min(TCP_NUM_SACKS, sk.rx_opt.num_sacks)])
    state.flag = 0
    state.reord = sk.snd_nxt
    if not sk.sacked_out:
        sk.highest_sack = sk.tcp_rtx_queue[0] if sk.tcp_rtx_queue else None
    found_dup_sack = tcp_check_dsack(sk, ack_seq, sp_wire, prior_snd_una, state)
    if before(ack_seq, (prior_snd_una - sk.max_window) & SEQ_MASK):
        return 0
    if not sk.packets_out:
        return state.flag
    mib = sk.host.mib.TcpExt
    sp: list[tuple[int, int]] = []
    first_sack_index = 0
    for i, (start_seq, end_seq) in enumerate(sp_wire):
        dup_sack = not i and found_dup_sack
        if not tcp_is_sackblock_valid(sk, dup_sack, start_seq, end_seq):
            if dup_sack:
                mib["TCPDSACKIgnoredNoUndo" if not sk.undo_marker else "TCPDSACKIgnoredOld"] += 1
            else:
                if ack_seq != sk.snd_una and not after(end_seq, sk.snd_una):
                    continue
                mib["TCPSACKDiscard"] += 1
            if i == 0:
                first_sack_index = -1
            continue
        if not after(end_seq, prior_snd_una):
            if i == 0:
                first_sack_index = -1
            continue
        sp.append((start_seq, end_seq))
    used_sacks = len(sp)
    for i in range(used_sacks - 1, 0, -1):
        for j in range(i):
            if after(sp[j][0], sp[j + 1][0]):
                sp[j], sp[j + 1] = sp[j + 1], sp[j]
                if j == first_sack_index:
                    first_sack_index = j + 1
    cache = [blk for blk in sk.recv_sack_cache if blk != (0, 0)] if sk.sacked_out else []
    ci = 0
    skb_i = 0
    i = 0
    while i < used_sacks:
        start_seq, end_seq = sp[i]
        dup_sack = found_dup_sack and i == first_sack_index
        next_dup = sp[i + 1] if found_dup_sack and i + 1 == first_sack_index else None
        while ci < len(cache) and not before(start_seq, cache[ci][1]):
            ci += 1
        if ci < len(cache) and not dup_sack and after(end_seq, cache[ci][0]):
            if before(start_seq, cache[ci][0]):
                skb_i = tcp_sacktag_skip(sk, skb_i, start_seq)
                skb_i = tcp_sacktag_walk(sk, skb_i, next_dup, state, start_seq, cache[ci][0], dup_sack)
            if not after(end_seq, cache[ci][1]):
                i += 1
                continue
            skb_i = tcp_maybe_skipping_dsack(sk, skb_i, next_dup, state, cache[ci][1])
            if tcp_highest_sack_seq(sk) == cache[ci][1]:
                if sk.highest_sack is None:
                    break
                skb_i = sk.tcp_rtx_queue.index(sk.highest_sack)
                ci += 1
                skb_i = tcp_sacktag_walk(sk, skb_i, next_dup, state, start_seq, end_seq, dup_sack)
                i += 1
                continue
            skb_i = tcp_sacktag_skip(sk, skb_i, cache[ci][1])
            ci += 1
            continue
        if not before(start_seq, tcp_highest_sack_seq(sk)):
            if sk.highest_sack is None:
                break
            skb_i = sk.tcp_rtx_queue.index(sk.highest_sack)
        skb_i = tcp_sacktag_skip(sk, skb_i, start_seq)
        skb_i = tcp_sacktag_walk(sk, skb_i, next_dup, state, start_seq, end_seq, dup_sack)
        i += 1
    sk.recv_sack_cache = [(0, 0)] * (TCP_NUM_SACKS - used_sacks) + sp
    if sk.icsk_ca_state != TCP_CA_Loss or sk.undo_marker:
        tcp_check_sack_reordering(sk, state.reord, 0)
    return state.flag


# -- SACK emulation for peers without SACK (Reno, NewReno) ------------------------------------

def tcp_limit_reno_sacked(sk: TcpSock) -> bool:
    """``tcp_limit_reno_sacked``: sacked_out + lost_out never exceed packets_out."""
    holes = min(max(sk.lost_out, 1), sk.packets_out)
    if sk.sacked_out + holes > sk.packets_out:
        sk.sacked_out = sk.packets_out - holes
        return True
    return False


def tcp_check_reno_reordering(sk: TcpSock, addend: int) -> None:
    """``tcp_check_reno_reordering``: more duplicate ACKs than segments means reordering."""
    if not tcp_limit_reno_sacked(sk):
        return
    sk.reordering = min(sk.packets_out + addend, sk.host.sysctl["net.ipv4.tcp_max_reordering"])
    sk.reord_seen += 1
    sk.host.mib.TcpExt["TCPRenoReorder"] += 1


def tcp_add_reno_sack(sk: TcpSock, num_dupack: int, ece_ack: bool) -> None:
    """``tcp_add_reno_sack``: count a duplicate ACK as one SACKed segment."""
    if num_dupack:
        prior_sacked = sk.sacked_out
        sk.sacked_out += num_dupack
        tcp_check_reno_reordering(sk, 0)
        delivered = sk.sacked_out - prior_sacked
        if delivered > 0:
            tcp_count_delivered(sk, delivered, ece_ack)


def tcp_remove_reno_sacks(sk: TcpSock, acked: int, ece_ack: bool) -> None:
    """``tcp_remove_reno_sacks``: one ACKed segment filled the hole, the rest ate dupacks."""
    if acked > 0:
        tcp_count_delivered(sk, max(acked - sk.sacked_out, 1), ece_ack)
        if acked - 1 >= sk.sacked_out:
            sk.sacked_out = 0
        else:
            sk.sacked_out -= acked - 1
    tcp_check_reno_reordering(sk, acked)


def tcp_is_sack(sk: TcpSock) -> bool:
    return bool(sk.rx_opt.sack_ok)


def tcp_is_rack(sk: TcpSock) -> bool:
    return bool(sk.host.sysctl["net.ipv4.tcp_recovery"] & TCP_RACK_LOSS_DETECTION)


# -- loss recovery state machine ---------------------------------------------------------------

def tcp_set_ca_state(sk: TcpSock, state: int) -> None:
    """``tcp_set_ca_state``."""
    sk.icsk_ca_ops.set_state(sk, state)
    sk.icsk_ca_state = state


def tcp_clear_retrans(sk: TcpSock) -> None:
    """``tcp_clear_retrans``."""
    sk.retrans_out = 0
    sk.lost_out = 0
    sk.undo_marker = 0
    sk.undo_retrans = -1
    sk.sacked_out = 0


def tcp_init_undo(sk: TcpSock) -> None:
    """``tcp_init_undo``: remember where this episode began, to undo it if it was spurious."""
    sk.undo_marker = sk.snd_una
    sk.undo_retrans = sk.retrans_out
    if sk.tlp_high_seq and sk.tlp_retrans:
        sk.undo_retrans += 1
    if not sk.undo_retrans:
        sk.undo_retrans = -1


def tcp_timeout_mark_lost(sk: TcpSock) -> None:
    """``tcp_timeout_mark_lost``: after an RTO everything outstanding is lost, except recent
    segments RACK still waits for; SACKs covering the head mean the receiver reneged."""
    rtx = sk.tcp_rtx_queue
    head = rtx[0] if rtx else None
    is_reneg = head is not None and bool(head.sacked & TCPCB_SACKED_ACKED)
    if is_reneg:
        sk.host.mib.TcpExt["TCPSACKReneging"] += 1
        sk.sacked_out = 0
        sk.is_sack_reneg = True  # until this loss episode ends: no rate samples meanwhile
    elif not tcp_is_sack(sk):
        sk.sacked_out = 0
    for skb in rtx:
        if is_reneg:
            skb.sacked &= ~TCPCB_SACKED_ACKED
        elif tcp_is_rack(sk) and skb is not head and tcp_rack_skb_timeout(sk, skb, 0) > 0:
            continue
        tcp_mark_skb_lost(sk, skb)


def tcp_enter_loss(sk: TcpSock) -> None:
    """``tcp_enter_loss``: the RTO fired (RFC 5681 section 3.1, RFC 6298 section 5): cwnd drops
    to what is in flight plus one, ssthresh is halved, F-RTO (RFC 5682) may start."""
    new_recovery = sk.icsk_ca_state < TCP_CA_Recovery
    tcp_timeout_mark_lost(sk)
    if (sk.icsk_ca_state <= TCP_CA_Disorder or not after(sk.high_seq, sk.snd_una)
            or (sk.icsk_ca_state == TCP_CA_Loss and not sk.icsk_retransmits)):
        sk.prior_ssthresh = tcp_current_ssthresh(sk)
        sk.prior_cwnd = sk.snd_cwnd
        sk.snd_ssthresh = sk.icsk_ca_ops.ssthresh(sk)
        tcp_ca_event(sk, CA_EVENT_LOSS)
        tcp_init_undo(sk)
    sk.snd_cwnd = tcp_packets_in_flight(sk) + 1
    sk.snd_cwnd_cnt = 0
    sk.snd_cwnd_stamp = sk.host.world.now
    reordering = sk.host.sysctl["net.ipv4.tcp_reordering"]
    if sk.icsk_ca_state <= TCP_CA_Disorder and sk.sacked_out >= reordering:
        sk.reordering = min(sk.reordering, reordering)
    tcp_set_ca_state(sk, TCP_CA_Loss)
    sk.high_seq = sk.snd_nxt
    sk.tlp_high_seq = 0
    tcp_ecn_queue_cwr(sk)
    sk.frto = bool(sk.host.sysctl["net.ipv4.tcp_frto"]) and (new_recovery or bool(sk.icsk_retransmits))


def tcp_check_sack_reneging(sk: TcpSock, flag: int) -> tuple[bool, int]:
    """``tcp_check_sack_reneging``: an ACK up to a SACKed segment means the receiver dropped
    SACKed data; give it max(RTT/2, 10 ms) before the RTO clears the scoreboard."""
    if flag & FLAG_SACK_RENEGING and flag & FLAG_SND_UNA_ADVANCED:
        delay = max(usecs_to_jiffies(sk.srtt_us >> 4), 10 * NSEC_PER_MSEC)
        tcp_reset_xmit_timer(sk, ICSK_TIME_RETRANS, delay, False)
        return True, flag & ~FLAG_SET_XMIT_TIMER
    return False, flag


def tcp_dupack_heuristics(sk: TcpSock) -> int:
    return sk.sacked_out + 1


def tcp_time_to_recover(sk: TcpSock, flag: int) -> bool:
    """``tcp_time_to_recover``: a loss is proven, or (without RACK) enough duplicate ACKs."""
    if sk.lost_out:
        return True
    return not tcp_is_rack(sk) and tcp_dupack_heuristics(sk) > sk.reordering


def tcp_mark_head_lost(sk: TcpSock, packets: int, mark_head: bool) -> None:
    """``tcp_mark_head_lost`` (RFC 6675 IsLost()): a segment with ``reordering`` SACKed segments
    above it is lost."""
    loss_high = sk.snd_nxt
    cnt = 0
    for skb in list(sk.tcp_rtx_queue):
        if after(skb.end_seq, loss_high):
            break
        if skb.sacked & TCPCB_SACKED_ACKED:
            cnt += tcp_skb_pcount(skb)
        if cnt > packets:
            break
        if not skb.sacked & TCPCB_LOST:
            tcp_mark_skb_lost(sk, skb)
        if mark_head:
            break


def tcp_update_scoreboard(sk: TcpSock, fast_rexmit: bool) -> None:
    """``tcp_update_scoreboard``: the RFC 6675 loss marking used when RACK is off."""
    if tcp_is_sack(sk):
        sacked_upto = sk.sacked_out - sk.reordering
        if sacked_upto >= 0:
            tcp_mark_head_lost(sk, sacked_upto, False)
        elif fast_rexmit:
            tcp_mark_head_lost(sk, 1, True)


def tcp_tsopt_ecr_before(sk: TcpSock, when: int) -> bool:
    opt = sk.rx_opt
    return opt.saw_tstamp and bool(opt.rcv_tsecr) and before(opt.rcv_tsecr, when)


def _ts_of(sk: TcpSock, stamp_ns: int) -> int:
    """A send time as a TSval of this connection."""
    return (stamp_ns // NSEC_PER_MSEC + sk.tsoffset) & SEQ_MASK


def tcp_skb_spurious_retrans(sk: TcpSock, skb: SkBuff) -> bool:
    """``tcp_skb_spurious_retrans``: the echoed timestamp predates the retransmission."""
    return bool(skb.sacked & TCPCB_RETRANS) and tcp_tsopt_ecr_before(sk, _ts_of(sk, skb.skb_mstamp))


def tcp_packet_delayed(sk: TcpSock) -> bool:
    """``tcp_packet_delayed`` (Eifel, RFC 3522): nothing was retransmitted, or the echoed
    timestamp predates the first retransmission."""
    if sk.retrans_stamp >= 0 and tcp_tsopt_ecr_before(sk, _ts_of(sk, sk.retrans_stamp)):
        return True
    return sk.retrans_stamp < 0 and sk.sk_state != TCP_SYN_SENT


def tcp_any_retrans_done(sk: TcpSock) -> bool:
    """``tcp_any_retrans_done``."""
    if sk.retrans_out:
        return True
    rtx = sk.tcp_rtx_queue
    return bool(rtx) and bool(rtx[0].sacked & TCPCB_EVER_RETRANS)


def tcp_retrans_stamp_cleanup(sk: TcpSock) -> None:
    if not tcp_any_retrans_done(sk):
        sk.retrans_stamp = -1


def tcp_undo_cwnd_reduction(sk: TcpSock, unmark_loss: bool) -> None:
    """``tcp_undo_cwnd_reduction``: the reduction was spurious; restore cwnd and ssthresh."""
    if unmark_loss:
        for skb in sk.tcp_rtx_queue:
            skb.sacked &= ~TCPCB_LOST
        sk.lost_out = 0
    if sk.prior_ssthresh:
        sk.snd_cwnd = sk.icsk_ca_ops.undo_cwnd(sk)
        if sk.prior_ssthresh > sk.snd_ssthresh:
            sk.snd_ssthresh = sk.prior_ssthresh
            sk.ecn_flags &= ~TCP_ECN_QUEUE_CWR
    sk.snd_cwnd_stamp = sk.host.world.now
    sk.undo_marker = 0
    sk.rack.advanced = True


def tcp_may_undo(sk: TcpSock) -> bool:
    return bool(sk.undo_marker) and (not sk.undo_retrans or tcp_packet_delayed(sk))


def tcp_is_non_sack_preventing_reopen(sk: TcpSock) -> bool:
    """``tcp_is_non_sack_preventing_reopen``: a Reno sender holds on until SND.UNA passes
    high_seq, so that duplicate ACKs of retransmissions cause no new recovery."""
    if sk.snd_una == sk.high_seq and not tcp_is_sack(sk):
        if not tcp_any_retrans_done(sk):
            sk.retrans_stamp = -1
        return True
    return False


def tcp_try_undo_recovery(sk: TcpSock) -> bool:
    """``tcp_try_undo_recovery``: recovery is over; undo it if it was spurious."""
    if tcp_may_undo(sk):
        tcp_undo_cwnd_reduction(sk, False)
        sk.host.mib.TcpExt["TCPLossUndo" if sk.icsk_ca_state == TCP_CA_Loss else "TCPFullUndo"] += 1
    elif sk.rack.reo_wnd_persist:
        sk.rack.reo_wnd_persist -= 1
    if tcp_is_non_sack_preventing_reopen(sk):
        return True
    tcp_set_ca_state(sk, TCP_CA_Open)
    sk.is_sack_reneg = False
    return False


def tcp_try_undo_dsack(sk: TcpSock) -> bool:
    """``tcp_try_undo_dsack``: D-SACKs covered every retransmission."""
    if sk.undo_marker and not sk.undo_retrans:
        sk.rack.reo_wnd_persist = min(TCP_RACK_RECOVERY_THRESH, sk.rack.reo_wnd_persist + 1)
        tcp_undo_cwnd_reduction(sk, False)
        sk.host.mib.TcpExt["TCPDSACKUndo"] += 1
        return True
    return False


def tcp_try_undo_loss(sk: TcpSock, frto_undo: bool) -> bool:
    """``tcp_try_undo_loss``: undo an RTO shown spurious (by F-RTO or timestamps)."""
    if frto_undo or tcp_may_undo(sk):
        tcp_undo_cwnd_reduction(sk, True)
        mib = sk.host.mib.TcpExt
        mib["TCPLossUndo"] += 1
        if frto_undo:
            mib["TCPSpuriousRTOs"] += 1
        sk.icsk_retransmits = 0
        if tcp_is_non_sack_preventing_reopen(sk):
            return True
        if frto_undo or tcp_is_sack(sk):
            tcp_set_ca_state(sk, TCP_CA_Open)
        return True
    return False


def tcp_init_cwnd_reduction(sk: TcpSock) -> None:
    """``tcp_init_cwnd_reduction``: start a PRR episode (RFC 6937)."""
    sk.high_seq = sk.snd_nxt
    sk.tlp_high_seq = 0
    sk.snd_cwnd_cnt = 0
    sk.prior_cwnd = sk.snd_cwnd
    sk.prr_delivered = 0
    sk.prr_out = 0
    sk.snd_ssthresh = sk.icsk_ca_ops.ssthresh(sk)
    tcp_ecn_queue_cwr(sk)


def tcp_cwnd_reduction(sk: TcpSock, newly_acked_sacked: int, flag: int) -> None:
    """``tcp_cwnd_reduction``: Proportional Rate Reduction (RFC 6937 section 3): proportional
    while in flight exceeds ssthresh, then the conservative bound (PRR-CRB), with the slow-start
    bound (PRR-SSRB) only when an ACK covers retransmitted data not lost again."""
    if newly_acked_sacked <= 0 or not sk.prior_cwnd:
        return
    delta = sk.snd_ssthresh - tcp_packets_in_flight(sk)
    sk.prr_delivered += newly_acked_sacked
    if delta < 0:
        dividend = sk.snd_ssthresh * sk.prr_delivered + sk.prior_cwnd - 1
        sndcnt = dividend // sk.prior_cwnd - sk.prr_out
    elif flag & FLAG_RETRANS_DATA_ACKED and not flag & FLAG_LOST_RETRANS:
        sndcnt = min(delta, max(sk.prr_delivered - sk.prr_out, newly_acked_sacked) + 1)
    else:
        sndcnt = min(delta, newly_acked_sacked)
    sndcnt = max(sndcnt, 0 if sk.prr_out else 1)
    sk.snd_cwnd = tcp_packets_in_flight(sk) + sndcnt


def tcp_end_cwnd_reduction(sk: TcpSock) -> None:
    """``tcp_end_cwnd_reduction``: cwnd becomes ssthresh when CWR or Recovery ends (a congestion
    control that sets cwnd itself sees to that)."""
    if sk.icsk_ca_ops.cong_control is not None:
        return
    if sk.snd_ssthresh < TCP_INFINITE_SSTHRESH and (sk.icsk_ca_state == TCP_CA_CWR or sk.undo_marker):
        sk.snd_cwnd = sk.snd_ssthresh
        sk.snd_cwnd_stamp = sk.host.world.now
    tcp_ca_event(sk, CA_EVENT_COMPLETE_CWR)


def tcp_enter_cwr(sk: TcpSock) -> None:
    """``tcp_enter_cwr``: reduce cwnd for an ECN echo or local congestion (RFC 3168 6.1.2)."""
    sk.prior_ssthresh = 0
    if sk.icsk_ca_state < TCP_CA_CWR:
        sk.undo_marker = 0
        tcp_init_cwnd_reduction(sk)
        tcp_set_ca_state(sk, TCP_CA_CWR)


def tcp_try_keep_open(sk: TcpSock) -> None:
    """``tcp_try_keep_open``: Open, or Disorder while SACKed/lost/retransmitted data remain."""
    state = TCP_CA_Open
    if sk.sacked_out + sk.lost_out or tcp_any_retrans_done(sk):
        state = TCP_CA_Disorder
    if sk.icsk_ca_state != state:
        tcp_set_ca_state(sk, state)
        sk.high_seq = sk.snd_nxt


def tcp_try_to_open(sk: TcpSock, flag: int) -> None:
    """``tcp_try_to_open``."""
    if not tcp_any_retrans_done(sk):
        sk.retrans_stamp = -1
    if flag & FLAG_ECE:
        tcp_enter_cwr(sk)
    if sk.icsk_ca_state != TCP_CA_CWR:
        tcp_try_keep_open(sk)


def tcp_enter_recovery(sk: TcpSock, ece_ack: bool) -> None:
    """``tcp_enter_recovery``: fast recovery begins (RFC 6675 section 5, step 4)."""
    tcp_retrans_stamp_cleanup(sk)
    sk.host.mib.TcpExt["TCPRenoRecovery" if not tcp_is_sack(sk) else "TCPSackRecovery"] += 1
    sk.prior_ssthresh = 0
    tcp_init_undo(sk)
    if not tcp_in_cwnd_reduction(sk):
        if not ece_ack:
            sk.prior_ssthresh = tcp_current_ssthresh(sk)
        tcp_init_cwnd_reduction(sk)
    tcp_set_ca_state(sk, TCP_CA_Recovery)


def tcp_process_loss(sk: TcpSock, flag: int, num_dupack: int) -> int:
    """``tcp_process_loss``: an ACK in the Loss state; F-RTO's steps 2 and 3 (RFC 5682 3.1).
    Returns the retransmission to do (REXMIT_*)."""
    recovered = not before(sk.snd_una, sk.high_seq)
    if flag & FLAG_SND_UNA_ADVANCED and tcp_try_undo_loss(sk, False):
        return REXMIT_NONE
    if sk.frto:
        if flag & FLAG_ORIG_SACK_ACKED and tcp_try_undo_loss(sk, True):
            return REXMIT_NONE
        if after(sk.snd_nxt, sk.high_seq):
            if flag & FLAG_DATA_SACKED or num_dupack:
                sk.frto = False
        elif flag & FLAG_SND_UNA_ADVANCED and not recovered:
            sk.high_seq = sk.snd_nxt
            if sk.sk_write_queue and after(tcp_wnd_end(sk), sk.snd_nxt):
                return REXMIT_NEW
            sk.frto = False
    if recovered:
        tcp_try_undo_recovery(sk)
        return REXMIT_NONE
    if not tcp_is_sack(sk):
        if after(sk.snd_nxt, sk.high_seq) and num_dupack:
            tcp_add_reno_sack(sk, num_dupack, bool(flag & FLAG_ECE))
        elif flag & FLAG_SND_UNA_ADVANCED:
            sk.sacked_out = 0
    return REXMIT_LOST


def tcp_force_fast_retransmit(sk: TcpSock) -> bool:
    """``tcp_force_fast_retransmit``: SACKs reach beyond ``reordering`` segments past SND.UNA."""
    return after(tcp_highest_sack_seq(sk), (sk.snd_una + sk.reordering * sk.mss_cache) & SEQ_MASK)


def tcp_try_undo_partial(sk: TcpSock, prior_snd_una: int) -> tuple[bool, bool]:
    """``tcp_try_undo_partial``: a partial ACK in recovery; undo if the hole was filled by a
    delayed original.  Returns (stop processing, do_lost)."""
    if sk.undo_marker and tcp_packet_delayed(sk):
        tcp_check_sack_reordering(sk, prior_snd_una, 1)
        if sk.retrans_out:
            return True, False
        if not tcp_any_retrans_done(sk):
            sk.retrans_stamp = -1
        tcp_undo_cwnd_reduction(sk, True)
        sk.host.mib.TcpExt["TCPPartialUndo"] += 1
        tcp_try_keep_open(sk)
        return False, False
    return False, tcp_force_fast_retransmit(sk)


def tcp_identify_packet_loss(sk: TcpSock, flag: int) -> int:
    """``tcp_identify_packet_loss``: NewReno without SACK, RACK with it."""
    if not sk.tcp_rtx_queue:
        return flag
    if not tcp_is_sack(sk):
        tcp_newreno_mark_lost(sk, bool(flag & FLAG_SND_UNA_ADVANCED))
    elif tcp_is_rack(sk):
        prior_retrans = sk.retrans_out
        if tcp_rack_mark_lost(sk):
            flag &= ~FLAG_SET_XMIT_TIMER
        if prior_retrans > sk.retrans_out:
            flag |= FLAG_LOST_RETRANS
    return flag


def tcp_fastretrans_alert(sk: TcpSock, prior_snd_una: int, num_dupack: int, flag: int) -> tuple[int, int]:
    """``tcp_fastretrans_alert``: the loss recovery state machine, run on every ACK that is
    not plain (duplicate, SACK, ECE, or outside the Open state).  Returns (flag, rexmit)."""
    ece_ack = bool(flag & FLAG_ECE)
    do_lost = bool(num_dupack) or (bool(flag & FLAG_DATA_SACKED) and tcp_force_fast_retransmit(sk))
    fast_rexmit = False
    if not sk.packets_out and sk.sacked_out:
        sk.sacked_out = 0
    if ece_ack:
        sk.prior_ssthresh = 0
    reneg, flag = tcp_check_sack_reneging(sk, flag)
    if reneg:
        return flag, REXMIT_NONE
    state = sk.icsk_ca_state
    if state == TCP_CA_Open:
        sk.retrans_stamp = -1
    elif not before(sk.snd_una, sk.high_seq):
        if state == TCP_CA_CWR:
            if sk.snd_una != sk.high_seq:
                tcp_end_cwnd_reduction(sk)
                tcp_set_ca_state(sk, TCP_CA_Open)
        elif state == TCP_CA_Recovery:
            if not tcp_is_sack(sk):
                sk.sacked_out = 0
            if tcp_try_undo_recovery(sk):
                return flag, REXMIT_NONE
            tcp_end_cwnd_reduction(sk)
    state = sk.icsk_ca_state
    if state == TCP_CA_Recovery:
        if not flag & FLAG_SND_UNA_ADVANCED:
            if not tcp_is_sack(sk):
                tcp_add_reno_sack(sk, num_dupack, ece_ack)
        else:
            stop, do_lost = tcp_try_undo_partial(sk, prior_snd_una)
            if stop:
                return flag, REXMIT_NONE
        if tcp_try_undo_dsack(sk):
            tcp_try_to_open(sk, flag)
        flag = tcp_identify_packet_loss(sk, flag)
        if sk.icsk_ca_state != TCP_CA_Recovery:
            if not tcp_time_to_recover(sk, flag):
                return flag, REXMIT_NONE
            tcp_enter_recovery(sk, ece_ack)
    else:
        if state == TCP_CA_Loss:
            rexmit = tcp_process_loss(sk, flag, num_dupack)
            flag = tcp_identify_packet_loss(sk, flag)
            if not (sk.icsk_ca_state == TCP_CA_Open or flag & FLAG_LOST_RETRANS):
                return flag, rexmit
        if not tcp_is_sack(sk):
            if flag & FLAG_SND_UNA_ADVANCED:
                sk.sacked_out = 0
            tcp_add_reno_sack(sk, num_dupack, ece_ack)
        if sk.icsk_ca_state <= TCP_CA_Disorder:
            tcp_try_undo_dsack(sk)
        flag = tcp_identify_packet_loss(sk, flag)
        if not tcp_time_to_recover(sk, flag):
            tcp_try_to_open(sk, flag)
            return flag, REXMIT_NONE
        mtup = sk.icsk_mtup
        if sk.icsk_ca_state < TCP_CA_CWR and mtup.probe_size and sk.snd_una == mtup.probe_seq_start:
            # The MTU probe was lost, not the path's capacity: no cwnd reduction.
            tcp_mtup_probe_failed(sk)
            sk.snd_cwnd += 1  # give back what tcp_mtu_probe took
            tcp_simple_retransmit(sk)
            return flag, REXMIT_NONE
        tcp_enter_recovery(sk, ece_ack)
        fast_rexmit = True
    if not tcp_is_rack(sk) and do_lost:
        tcp_update_scoreboard(sk, fast_rexmit)
    return flag, REXMIT_LOST


# -- MTU probing (RFC 4821) ------------------------------------------------------------------

def tcp_mtup_probe_failed(sk: TcpSock) -> None:
    """``tcp_mtup_probe_failed``: the probe's size is too big; the search's ceiling drops below
    it."""
    mtup = sk.icsk_mtup
    mtup.search_high = mtup.probe_size - 1
    mtup.probe_size = 0
    sk.host.mib.TcpExt["TCPMTUPFail"] += 1


def tcp_mtup_probe_success(sk: TcpSock) -> None:
    """``tcp_mtup_probe_success``: the path carries the probe's size; it becomes the search's
    floor and the MSS, and cwnd is rescaled to keep the same bytes in flight."""
    mtup = sk.icsk_mtup
    sk.prior_ssthresh = tcp_current_ssthresh(sk)
    sk.snd_cwnd = max(1, sk.snd_cwnd * tcp_mss_to_mtu(sk, sk.mss_cache) // mtup.probe_size)
    sk.snd_cwnd_cnt = 0
    sk.snd_cwnd_stamp = sk.host.world.now
    sk.snd_ssthresh = tcp_current_ssthresh(sk)
    mtup.search_low = mtup.probe_size
    mtup.probe_size = 0
    tcp_sync_mss(sk, sk.pmtu_cookie)
    sk.host.mib.TcpExt["TCPMTUPSuccess"] += 1


# -- ACK processing --------------------------------------------------------------------------

def tcp_ack_tstamp(sk: TcpSock, skb: SkBuff, ack_skb: SkBuff, prior_snd_una: int) -> None:
    """``tcp_ack_tstamp`` for a segment holding the key byte of a send that asked for TX_ACK
    (``txstamp_ack``, which the caller tested): this ACK acknowledged that byte (SCM_TSTAMP_ACK)."""
    if not before(skb.tskey, prior_snd_una) and before(skb.tskey, sk.snd_una):
        __skb_tstamp_tx(skb, sk, SCM_TSTAMP_ACK, ack_skb)


def tcp_tso_acked(sk: TcpSock, skb: SkBuff) -> int:
    """``tcp_tso_acked``: part of a multi-segment buffer was acknowledged; trim it."""
    packets_acked = tcp_skb_pcount(skb)
    tcp_trim_head(sk, skb, (sk.snd_una - skb.seq) & SEQ_MASK)
    return packets_acked - tcp_skb_pcount(skb)


def tcp_clean_rtx_queue(sk: TcpSock, ack_skb: SkBuff, prior_fack: int, prior_snd_una: int, sack: SacktagState,
                        ece_ack: bool) -> int:
    """``tcp_clean_rtx_queue``: free what the ACK covers, measure the RTT, advance RACK."""
    now = sk.host.world.now
    first_ackt = -1
    last_ackt = 0
    prior_sacked = sk.sacked_out
    reord = sk.snd_nxt
    fully_acked = True
    sack_rtt_us = seq_rtt_us = ca_rtt_us = -1
    pkts_acked = 0
    flag = 0
    rtx = sk.tcp_rtx_queue
    skb = None
    while rtx:
        skb = rtx[0]
        start_seq = skb.seq
        sacked = skb.sacked
        if after(skb.end_seq, sk.snd_una):
            if tcp_skb_pcount(skb) == 1 or not after(sk.snd_una, skb.seq):
                break
            acked_pcount = tcp_tso_acked(sk, skb)
            if not acked_pcount:
                break
            fully_acked = False
        else:
            acked_pcount = tcp_skb_pcount(skb)
        if sacked & TCPCB_RETRANS:
            if sacked & TCPCB_SACKED_RETRANS:
                sk.retrans_out -= acked_pcount
            flag |= FLAG_RETRANS_DATA_ACKED
        elif not sacked & TCPCB_SACKED_ACKED:
            last_ackt = skb.skb_mstamp
            if first_ackt < 0:
                first_ackt = last_ackt
            if before(start_seq, reord):
                reord = start_seq
            if not after(skb.end_seq, sk.high_seq):
                flag |= FLAG_ORIG_SACK_ACKED
        if sacked & TCPCB_SACKED_ACKED:
            sk.sacked_out -= acked_pcount
        elif tcp_is_sack(sk):
            tcp_count_delivered(sk, acked_pcount, ece_ack)
            if not tcp_skb_spurious_retrans(sk, skb):
                tcp_rack_advance(sk, sacked, skb.end_seq, skb.skb_mstamp)
        if sacked & TCPCB_LOST:
            sk.lost_out -= acked_pcount
        sk.packets_out -= acked_pcount
        pkts_acked += acked_pcount
        tcp_rate_skb_delivered(sk, skb, sack.rate)
        if not skb.tcp_flags & TCPHDR_SYN:
            flag |= FLAG_DATA_ACKED
        else:
            flag |= FLAG_SYN_ACKED
            sk.retrans_stamp = -1
        if not fully_acked:
            break
        if skb.cb.txstamp_ack:  # (a sent segment has its TcpSkbCb)
            tcp_ack_tstamp(sk, skb, ack_skb, prior_snd_una)
        rtx.popleft()
        sk.tsorted_sent_queue.delete(skb)
        nxt = rtx[0] if rtx else None
        tcp_highest_sack_replace(sk, skb, nxt)
        tcp_wmem_free_skb(sk, skb)
        skb = None
    if skb is None:
        tcp_chrono_stop(sk, TCP_CHRONO_BUSY)
    if not before(sk.snd_up, prior_snd_una) and not after(sk.snd_up, sk.snd_una):
        sk.snd_up = sk.snd_una
    if skb is not None:
        if skb.cb.txstamp_ack:
            tcp_ack_tstamp(sk, skb, ack_skb, prior_snd_una)
        if skb.sacked & TCPCB_SACKED_ACKED:
            flag |= FLAG_SACK_RENEGING
    if first_ackt >= 0 and not flag & FLAG_RETRANS_DATA_ACKED:
        seq_rtt_us = tcp_stamp_us_delta(now, first_ackt)
        ca_rtt_us = tcp_stamp_us_delta(now, last_ackt)
        if (pkts_acked == 1 and fully_acked and not prior_sacked
                and ((sk.snd_una - prior_snd_una) & SEQ_MASK) < sk.mss_cache
                and sack.rate.prior_delivered + 1 == sk.delivered
                and not flag & (FLAG_CA_ALERT | FLAG_SYN_ACKED)):
            flag |= FLAG_ACK_MAYBE_DELAYED
    if sack.first_sackt >= 0:
        sack_rtt_us = tcp_stamp_us_delta(now, sack.first_sackt)
        ca_rtt_us = tcp_stamp_us_delta(now, sack.last_sackt)
    rtt_update = tcp_ack_update_rtt(sk, flag, seq_rtt_us, sack_rtt_us, ca_rtt_us, sack.rate)
    if flag & FLAG_ACKED:
        flag |= FLAG_SET_XMIT_TIMER
        mtup = sk.icsk_mtup
        if mtup.probe_size and not after(mtup.probe_seq_end, sk.snd_una):
            tcp_mtup_probe_success(sk)
        if not tcp_is_sack(sk):
            tcp_remove_reno_sacks(sk, pkts_acked, ece_ack)
            if flag & FLAG_RETRANS_DATA_ACKED:
                flag &= ~FLAG_ORIG_SACK_ACKED
        elif before(reord, prior_fack):
            tcp_check_sack_reordering(sk, reord, 0)
    elif (skb is not None and rtt_update and sack_rtt_us >= 0
          and sack_rtt_us > tcp_stamp_us_delta(now, skb.skb_mstamp)):
        flag |= FLAG_SET_XMIT_TIMER
    if sk.icsk_ca_ops.pkts_acked is not None:
        sk.icsk_ca_ops.pkts_acked(sk, pkts_acked, sack.rate.rtt_us)
    if not sk.packets_out and tcp_is_sack(sk):
        sk.lost_out = sk.sacked_out = sk.retrans_out = 0
    return flag


def tcp_ack_probe(sk: TcpSock) -> None:
    """``tcp_ack_probe``: stop probing once the window opens, else keep backing off."""
    head = sk.tcp_send_head()
    if head is None:
        return
    if not after(head.end_seq, tcp_wnd_end(sk)):
        sk.icsk_backoff = 0
        sk.icsk_probes_tstamp = -1
        if sk.icsk_pending == ICSK_TIME_PROBE0:
            inet_csk_clear_xmit_timer(sk)
    else:
        when = tcp_clamp_probe0_to_user_timeout(sk, tcp_probe0_when(sk, TCP_RTO_MAX))
        tcp_reset_xmit_timer(sk, ICSK_TIME_PROBE0, when, True)


def tcp_ack_is_dubious(sk: TcpSock, flag: int) -> bool:
    return not flag & FLAG_NOT_DUP or bool(flag & FLAG_CA_ALERT) or sk.icsk_ca_state != TCP_CA_Open


def tcp_may_raise_cwnd(sk: TcpSock, flag: int) -> bool:
    """``tcp_may_raise_cwnd``: grow cwnd only on in-order delivery (RFC 5681), unless reordering
    is high."""
    if sk.reordering > sk.host.sysctl["net.ipv4.tcp_reordering"]:
        return bool(flag & FLAG_FORWARD_PROGRESS)
    return bool(flag & FLAG_DATA_ACKED)


def tcp_cong_avoid(sk: TcpSock, ack: int, acked: int) -> None:
    sk.icsk_ca_ops.cong_avoid(sk, ack, acked)
    sk.snd_cwnd_stamp = sk.host.world.now


def tcp_cong_control(sk: TcpSock, ack: int, acked_sacked: int, flag: int, rs: RateSample) -> None:
    """``tcp_cong_control``: a congestion control of the model-based kind (``cong_control``,
    as BBR) takes the whole rate sample; for the others, reduce (PRR) or raise cwnd, then the
    pacing rate."""
    cong_control = sk.icsk_ca_ops.cong_control
    if cong_control is not None:
        cong_control(sk, ack, flag, rs)
        return
    if tcp_in_cwnd_reduction(sk):
        tcp_cwnd_reduction(sk, acked_sacked, flag)
    elif tcp_may_raise_cwnd(sk, flag):
        tcp_cong_avoid(sk, ack, acked_sacked)
    tcp_update_pacing_rate(sk)


def tcp_may_update_window(sk: TcpSock, ack: int, ack_seq: int, nwin: int) -> bool:
    """RFC 9293 section 3.10.7.4 (SND.WL1/SND.WL2 test)."""
    return after(ack, sk.snd_una) or after(ack_seq, sk.snd_wl1) or (
        ack_seq == sk.snd_wl1 and (nwin > sk.snd_wnd or not nwin))


def tcp_ack_update_window(sk: TcpSock, skb: SkBuff, ack: int, ack_seq: int) -> int:
    """``tcp_ack_update_window``."""
    buf = skb.buf
    th = skb.transport_header
    nwin = (buf[th + 14] << 8) | buf[th + 15]
    if not buf[th + 13] & TCPHDR_SYN:
        nwin <<= sk.rx_opt.snd_wscale
    flag = 0
    if tcp_may_update_window(sk, ack, ack_seq, nwin):
        flag |= FLAG_WIN_UPDATE
        sk.snd_wl1 = ack_seq
        if sk.snd_wnd != nwin:
            sk.snd_wnd = nwin
            sk.pred_flags = 0
            tcp_fast_path_check(sk)
            if sk.sk_write_queue:
                tcp_slow_start_after_idle_check(sk)
            if nwin > sk.max_window:
                sk.max_window = nwin
                tcp_sync_mss(sk, sk.pmtu_cookie)
    tcp_snd_una_update(sk, ack)
    return flag


def tcp_snd_una_update(sk: TcpSock, ack: int) -> None:
    """``tcp_snd_una_update``."""
    sk.bytes_acked += (ack - sk.snd_una) & SEQ_MASK
    sk.snd_una = ack


def tcp_send_challenge_ack(sk: TcpSock) -> None:
    """``tcp_send_challenge_ack`` (RFC 5961 section 7): rate-limited per socket."""
    now = sk.host.world.now
    limit = sk.host.sysctl["net.ipv4.tcp_invalid_ratelimit"] * NSEC_PER_MSEC
    last = sk.last_oow_ack_time
    if last >= 0 and 0 <= now - last < limit:
        sk.host.mib.TcpExt["TCPACKSkippedChallenge"] += 1
        return
    sk.last_oow_ack_time = now
    sk.host.mib.TcpExt["TCPChallengeACK"] += 1
    tcp_send_ack(sk)


def tcp_process_tlp_ack(sk: TcpSock, ack: int, flag: int) -> None:
    """``tcp_process_tlp_ack``: the ACKs after a loss probe show whether anything was lost."""
    if before(ack, sk.tlp_high_seq):
        return
    if not sk.tlp_retrans:
        sk.tlp_high_seq = 0
    elif flag & FLAG_DSACK_TLP:
        sk.tlp_high_seq = 0
    elif after(ack, sk.tlp_high_seq):
        tcp_init_cwnd_reduction(sk)
        tcp_set_ca_state(sk, TCP_CA_CWR)
        tcp_end_cwnd_reduction(sk)
        tcp_try_keep_open(sk)
        sk.host.mib.TcpExt["TCPLossProbeRecovery"] += 1
    elif not flag & (FLAG_SND_UNA_ADVANCED | FLAG_NOT_DUP | FLAG_DATA_SACKED):
        sk.tlp_high_seq = 0


def tcp_set_xmit_timer(sk: TcpSock) -> None:
    """``tcp_set_xmit_timer``: a loss probe if possible, else the RTO."""
    if not tcp_schedule_loss_probe(sk, True):
        tcp_rearm_rto(sk)


def tcp_xmit_recovery(sk: TcpSock, rexmit: int) -> None:
    """``tcp_xmit_recovery``: send new data for F-RTO or retransmit what is marked lost."""
    if rexmit == REXMIT_NONE or sk.sk_state == TCP_SYN_SENT:
        return
    if rexmit == REXMIT_NEW:
        __tcp_push_pending_frames(sk, tcp_current_mss(sk), 1)
        if after(sk.snd_nxt, sk.high_seq):
            return
        sk.frto = False
    tcp_xmit_retransmit_queue(sk)


def tcp_ecn_queue_cwr(sk: TcpSock) -> None:
    if sk.ecn_flags & TCP_ECN_OK:
        sk.ecn_flags |= TCP_ECN_QUEUE_CWR


def tcp_ecn_accept_cwr(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_ecn_accept_cwr``: the sender reduced its window; stop echoing CE."""
    if skb.tcp_flags & TCPHDR_CWR:
        sk.ecn_flags &= ~TCP_ECN_DEMAND_CWR
        if skb.seq != skb.end_seq:
            sk.icsk_ack.pending |= ICSK_ACK_NOW


def tcp_ecn_check_ce(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_ecn_check_ce`` (RFC 3168 section 6.1.3): a CE mark demands an echo (ECE)."""
    if not sk.ecn_flags & TCP_ECN_OK:
        return
    ecn = skb.buf[skb.network_header + 1] & 3 if skb.network_header >= 0 else 0
    if ecn == INET_ECN_NOT_ECT:
        if sk.ecn_flags & TCP_ECN_SEEN:
            tcp_enter_quickack_mode(sk, 2)
    elif ecn == INET_ECN_CE:
        if not sk.ecn_flags & TCP_ECN_DEMAND_CWR:
            tcp_enter_quickack_mode(sk, 2)
            sk.ecn_flags |= TCP_ECN_DEMAND_CWR
        sk.ecn_flags |= TCP_ECN_SEEN
    else:
        sk.ecn_flags |= TCP_ECN_SEEN


def tcp_ack(sk: TcpSock, skb: SkBuff, flag: int) -> int:
    """``tcp_ack``: process the acknowledgement; 1 for an acceptable ACK, 0 for an old one,
    -1 for one to drop (too old, or for data never sent)."""
    prior_snd_una = sk.snd_una
    is_sack_reneg = sk.is_sack_reneg
    lost = sk.lost
    ack_seq = skb.seq
    ack = skb.ack_seq
    num_dupack = 0
    prior_packets = sk.packets_out
    delivered = sk.delivered
    rexmit = REXMIT_NONE
    has_sacks = sk.rx_opt.num_sacks > 0
    # The rate sample and the SACK state live on Linux's stack: here they are made only for an
    # ACK that may acknowledge or SACK something.
    if prior_packets or has_sacks:
        rs = RateSample()
        sack_state = SacktagState(rs)
    else:
        rs = sack_state = None
    if before(ack, prior_snd_una):
        max_window = min(sk.max_window, sk.bytes_acked)
        if before(ack, (prior_snd_una - max_window) & SEQ_MASK):
            if not flag & FLAG_NO_CHALLENGE_ACK:
                tcp_send_challenge_ack(sk)
            return -1
        if has_sacks:
            flag |= tcp_sacktag_write_queue(sk, ack, prior_snd_una, sack_state)
            flag, rexmit = tcp_fastretrans_alert(sk, prior_snd_una, num_dupack, flag)
            tcp_newly_delivered(sk, delivered, flag)
            tcp_xmit_recovery(sk, rexmit)
        return 0
    if after(ack, sk.snd_nxt):
        return -1
    if rs is not None:
        rs.prior_in_flight = tcp_packets_in_flight(sk)
    if after(ack, prior_snd_una):
        flag |= FLAG_SND_UNA_ADVANCED
        sk.icsk_retransmits = 0
    # (what tcp_clean_rtx_queue needs, with nothing in flight nothing)
    prior_fack = (tcp_highest_sack_seq(sk) if tcp_is_sack(sk) else sk.snd_una) if prior_packets else 0
    if flag & FLAG_UPDATE_TS_RECENT:
        tcp_replace_ts_recent(sk, skb.seq)
    if not flag & FLAG_SLOWPATH and flag & FLAG_SND_UNA_ADVANCED:
        # Header prediction held: the window is what it was, the ACK a pure advance.
        sk.snd_wl1 = ack_seq
        tcp_snd_una_update(sk, ack)
        flag |= FLAG_WIN_UPDATE
        sk.host.mib.TcpExt["TCPHPAcks"] += 1
    else:
        if ack_seq != skb.end_seq:
            flag |= FLAG_DATA
        else:
            sk.host.mib.TcpExt["TCPPureAcks"] += 1
        flag |= tcp_ack_update_window(sk, skb, ack, ack_seq)
        if has_sacks:
            flag |= tcp_sacktag_write_queue(sk, ack, prior_snd_una, sack_state)
        if skb.tcp_flags & TCPHDR_ECE and not skb.tcp_flags & TCPHDR_SYN and sk.ecn_flags & TCP_ECN_OK:
            flag |= FLAG_ECE
    if sack_state is not None and sack_state.sack_delivered:
        tcp_count_delivered(sk, sack_state.sack_delivered, bool(flag & FLAG_ECE))
    tcp_ecn_accept_cwr(sk, skb)
    sk.sk_err_soft = 0
    sk.icsk_probes_out = 0
    sk.rcv_tstamp = sk.host.world.now
    if not prior_packets:
        if flag & FLAG_DSACKING_ACK:
            flag, rexmit = tcp_fastretrans_alert(sk, prior_snd_una, num_dupack, flag)
            tcp_newly_delivered(sk, delivered, flag)
        tcp_ack_probe(sk)
        if sk.tlp_high_seq:
            tcp_process_tlp_ack(sk, ack, flag)
        return 1
    flag |= tcp_clean_rtx_queue(sk, skb, prior_fack, prior_snd_una, sack_state, bool(flag & FLAG_ECE))
    tcp_rack_update_reo_wnd(sk, rs.prior_delivered)
    if sk.tlp_high_seq:
        tcp_process_tlp_ack(sk, ack, flag)
    if tcp_ack_is_dubious(sk, flag):
        if not flag & (FLAG_SND_UNA_ADVANCED | FLAG_NOT_DUP | FLAG_DSACKING_ACK):
            num_dupack = 1
        flag, rexmit = tcp_fastretrans_alert(sk, prior_snd_una, num_dupack, flag)
    if flag & FLAG_SET_XMIT_TIMER:
        tcp_set_xmit_timer(sk)
    delivered = tcp_newly_delivered(sk, delivered, flag)
    rs.is_ack_delayed = bool(flag & FLAG_ACK_MAYBE_DELAYED)
    tcp_rate_gen(sk, delivered, sk.lost - lost, is_sack_reneg, rs)
    tcp_cong_control(sk, ack, delivered, flag, rs)
    tcp_xmit_recovery(sk, rexmit)
    return 1

# -- receiving data --------------------------------------------------------------------------

def tcp_receive_window(sk: TcpSock) -> int:
    win = (sk.rcv_wup + sk.rcv_wnd - sk.rcv_nxt) & SEQ_MASK
    return 0 if win >= 0x80000000 else win


def tcp_incr_quickack(sk: TcpSock, max_quickacks: int) -> None:
    quickacks = sk.rcv_wnd // (2 * max(sk.icsk_ack.rcv_mss, 1))
    if quickacks == 0:
        quickacks = 2
    quickacks = min(quickacks, max_quickacks)
    if quickacks > sk.icsk_ack.quick:
        sk.icsk_ack.quick = quickacks


def tcp_enter_quickack_mode(sk: TcpSock, max_quickacks: int) -> None:
    """``tcp_enter_quickack_mode``: ACK every segment for a while."""
    tcp_incr_quickack(sk, max_quickacks)
    sk.icsk_ack.pingpong = 0
    sk.icsk_ack.ato = TCP_ATO_MIN


def tcp_in_quickack_mode(sk: TcpSock) -> bool:
    return bool(sk.icsk_ack.quick) and not sk.icsk_ack.pingpong


def tcp_measure_rcv_mss(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_measure_rcv_mss``: track the peer's segment size (of a GRO packet, the size of its
    segments); two equal full-looking segments in a row set it too; small pushes mark
    ``PUSHED``."""
    ack = sk.icsk_ack
    lss = ack.last_seg_size
    ack.last_seg_size = 0
    length = skb.gso_size or skb.tail - skb.data
    if length >= ack.rcv_mss:
        if length != ack.rcv_mss:
            # Linux 6.6+: how much of the memory a full segment costs is payload.
            old_ratio = sk.scaling_ratio
            sk.scaling_ratio = ((skb.tail - skb.data) << TCP_RMEM_TO_WIN_SCALE) // skb_charged_truesize(skb) or 1
            if sk.scaling_ratio != old_ratio:
                tcp_set_window_clamp(sk, tcp_win_from_space(sk, sk.sk_rcvbuf))
                if sk.window_clamp < sk.rcv_space:
                    sk.rcv_space = sk.window_clamp
        ack.rcv_mss = min(length, sk.advmss)
        return
    length += skb.data - skb.transport_header
    if length >= TCP_MSS_DEFAULT + 20 or (
            length >= TCP_MIN_MSS + 20 and not skb.tcp_flags & (TCPHDR_FIN | TCPHDR_URG | TCPHDR_SYN | TCPHDR_PSH)):
        length -= sk.tcp_header_len
        ack.last_seg_size = length
        if length == lss:
            ack.rcv_mss = length
            return
    if ack.pending & ICSK_ACK_PUSHED:
        ack.pending |= ICSK_ACK_PUSHED2
    ack.pending |= ICSK_ACK_PUSHED


def tcp_set_window_clamp(sk: TcpSock, val: int) -> None:
    """``tcp_set_window_clamp`` (net/ipv4/tcp.c): a new clamp; a smaller one pulls the window
    threshold down with it, a larger one lets it rise to the window already offered."""
    old = sk.window_clamp
    sk.window_clamp = new = max(SOCK_MIN_RCVBUF // 2, val)
    if new < old:
        sk.rcv_ssthresh = min(sk.rcv_ssthresh, new)
    else:
        sk.rcv_ssthresh = max(min(sk.rcv_wnd, new), sk.rcv_ssthresh)


def __tcp_grow_window(sk: TcpSock, skb: SkBuff, skbtruesize: int) -> int:
    """``__tcp_grow_window``: a segment that costs more memory than its share of the window still
    opens it while the threshold is small enough for such segments to fill the buffer."""
    truesize = tcp_win_from_space(sk, skbtruesize) >> 1
    window = tcp_win_from_space(sk, sk.host.sysctl["net.ipv4.tcp_rmem"][2]) >> 1
    while sk.rcv_ssthresh <= window:
        if truesize <= skb.tail - skb.data:
            return 2 * sk.icsk_ack.rcv_mss
        truesize >>= 1
        window >>= 1
    return 0


def truesize_adjust(adjust: bool, skb: SkBuff) -> int:
    """``truesize_adjust``: a segment that may be merged into the buffer before it
    (``tcp_try_coalesce``) counts without its head when its payload is all in fragments (over lo,
    from a local socket), for the head is what the merge frees."""
    truesize = skb_charged_truesize(skb)
    if adjust and skb_from_local_socket(skb):
        adjusted = truesize - SKB_SMALL_HEAD_TRUESIZE
        if adjusted >= skb.tail - skb.data:
            return adjusted
    return truesize


def tcp_grow_window(sk: TcpSock, skb: SkBuff, adjust: bool) -> None:
    """``tcp_grow_window``: open the offered window (``rcv_ssthresh``) as data keeps arriving, by
    twice the segment at least.  ``adjust``: ``skb`` may be merged (``truesize_adjust``)."""
    room = min(sk.window_clamp, tcp_space(sk)) - sk.rcv_ssthresh
    if room <= 0:
        return
    truesize = truesize_adjust(adjust, skb)
    length = skb.tail - skb.data
    incr = 2 * sk.advmss if tcp_win_from_space(sk, truesize) <= length else __tcp_grow_window(sk, skb, truesize)
    if incr:
        sk.rcv_ssthresh += min(room, max(incr, 2 * length))
        sk.icsk_ack.quick |= 1


def tcp_rcv_rtt_update(sk: TcpSock, sample: int, win_dep: bool) -> None:
    """``tcp_rcv_rtt_update``: the receiver's RTT estimate (us << 3) for autotuning.  A lower
    sample is taken at once (Linux 6.16+: "always seek for minimal rtt"); a higher one only from a
    timestamp (a window-based one overestimates) and only while the reader keeps up (an
    undrained queue would inflate it: "skip big rtt sample if receive queue is not empty")."""
    old = sk.rcv_rtt_us
    m = sample << 3
    if not old or m < old:
        sk.rcv_rtt_us = m
    elif not win_dep and sk.rcv_nxt == sk.copied_seq:
        sk.rcv_rtt_us = old - (old >> 3) + sample


def tcp_rcv_rtt_measure(sk: TcpSock) -> None:
    """``tcp_rcv_rtt_measure``: without timestamps, one window's worth of data takes an RTT."""
    now = sk.host.world.now
    if sk.rcv_rtt_time:
        if before(sk.rcv_nxt, sk.rcv_rtt_seq):
            return
        tcp_rcv_rtt_update(sk, max((now - sk.rcv_rtt_time) // 1000, 1), True)
    sk.rcv_rtt_seq = (sk.rcv_nxt + sk.rcv_wnd) & SEQ_MASK
    sk.rcv_rtt_time = now


def tcp_rcv_rtt_measure_ts(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_rcv_rtt_measure_ts``: a full-sized segment echoing a new TSecr gives an RTT sample."""
    opt = sk.rx_opt
    if not opt.saw_tstamp or opt.rcv_tsecr == sk.rcv_rtt_last_tsecr:
        return
    sk.rcv_rtt_last_tsecr = opt.rcv_tsecr
    if ((skb.end_seq - skb.seq) & SEQ_MASK) >= sk.icsk_ack.rcv_mss:
        delta = tcp_rtt_tsopt_us(sk, 0)
        if delta > 0:
            tcp_rcv_rtt_update(sk, delta, False)


def tcp_rcvbuf_grow(sk: TcpSock, newval: int) -> None:
    """``tcp_rcvbuf_grow`` (Linux 6.16, as fixed in 6.18): ``newval`` is what the reader took in
    the last RTT.  The receive buffer is sized for twice that (dynamic right-sizing sees one RTT
    late), plus the sender's slow-start growth (the rise since the last measure, twice over), plus
    the span held out of order; never shrunk, never past ``tcp_rmem[2]``."""
    oldval = sk.rcv_space
    sk.rcv_space = newval
    sysctl = sk.host.sysctl
    if not sysctl["net.ipv4.tcp_moderate_rcvbuf"] or sk.sk_userlocks & SOCK_RCVBUF_LOCK:
        return
    rcvwin = newval << 1
    if oldval:
        rcvwin += (rcvwin * (newval - oldval) // oldval) << 1
    ofo = sk.out_of_order_queue
    if ofo:
        rcvwin += (ofo[-1].end_seq - sk.rcv_nxt) & SEQ_MASK
    rcvbuf = min(tcp_space_from_win(sk, rcvwin), sysctl["net.ipv4.tcp_rmem"][2])
    if rcvbuf > sk.sk_rcvbuf:
        sk.sk_rcvbuf = rcvbuf
        sk.window_clamp = tcp_win_from_space(sk, rcvbuf)


def tcp_rcv_space_adjust(sk: TcpSock) -> None:
    """``tcp_rcv_space_adjust`` (dynamic right-sizing): once per receiver RTT, what the reader
    consumed in it, less what it left queued, grows the receive buffer (``tcp_rcvbuf_grow``)."""
    now = sk.host.world.now
    elapsed = (now - sk.rcvq_space_time) // 1000
    if not sk.rcv_rtt_us or elapsed < sk.rcv_rtt_us >> 3:
        return
    copied = ((sk.copied_seq - sk.rcvq_space_seq) & SEQ_MASK) - ((sk.rcv_nxt - sk.copied_seq) & SEQ_MASK)
    if copied > sk.rcv_space:
        tcp_rcvbuf_grow(sk, copied)
    sk.rcvq_space_seq = sk.copied_seq
    sk.rcvq_space_time = now


def tcp_init_buffer_space(sk: TcpSock) -> None:
    """``tcp_init_buffer_space``: the send buffer for the initial cwnd, the window clamp at the
    receive buffer less the application's share (``tcp_app_win``) and one segment held in
    reserve, and the first autotuning measurement."""
    if not sk.sk_userlocks & SOCK_SNDBUF_LOCK:
        tcp_sndbuf_expand(sk)
    sk.rcvq_space_time = sk.host.world.now
    sk.rcvq_space_seq = sk.copied_seq
    maxwin = tcp_full_space(sk)
    app_win = sk.host.sysctl["net.ipv4.tcp_app_win"]
    advmss = sk.advmss
    if sk.window_clamp >= maxwin:
        sk.window_clamp = maxwin
        if app_win and maxwin > 4 * advmss:
            sk.window_clamp = max(maxwin - (maxwin >> app_win), 4 * advmss)
    # Force reservation of one segment.
    if app_win and sk.window_clamp > 2 * advmss and sk.window_clamp + advmss > maxwin:
        sk.window_clamp = max(2 * advmss, maxwin - advmss)
    sk.rcv_ssthresh = min(sk.rcv_ssthresh, sk.window_clamp)
    sk.rcv_space = min3(sk.rcv_ssthresh, sk.rcv_wnd, TCP_INIT_CWND * sk.advmss)


def tcp_event_data_recv(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_event_data_recv``: schedule an ACK and adapt the delayed-ACK timeout (ATO)."""
    ack = sk.icsk_ack
    ack.pending |= ICSK_ACK_SCHED
    tcp_measure_rcv_mss(sk, skb)
    tcp_rcv_rtt_measure(sk)
    now = sk.host.world.now
    if not ack.ato:
        tcp_incr_quickack(sk, TCP_MAX_QUICKACKS)
        ack.ato = TCP_ATO_MIN
    else:
        m = now - ack.lrcvtime
        if m <= TCP_ATO_MIN // 2:
            ack.ato = (ack.ato >> 1) + TCP_ATO_MIN // 2
        elif m < ack.ato:
            ack.ato = (ack.ato >> 1) + m
            if ack.ato > sk.icsk_rto:
                ack.ato = sk.icsk_rto
        elif m > sk.icsk_rto:
            tcp_incr_quickack(sk, TCP_MAX_QUICKACKS)
    ack.lrcvtime = now
    tcp_ecn_check_ce(sk, skb)
    if skb.tail - skb.data >= 128:
        tcp_grow_window(sk, skb, True)


def tcp_dsack_set(sk: TcpSock, seq: int, end_seq: int) -> None:
    """``tcp_dsack_set`` (RFC 2883): report a duplicate in the next ACK."""
    if sk.rx_opt.sack_ok and sk.host.sysctl["net.ipv4.tcp_dsack"]:
        mib = sk.host.mib.TcpExt
        mib["TCPDSACKOldSent" if before(seq, sk.rcv_nxt) else "TCPDSACKOfoSent"] += 1
        sk.duplicate_sack = [(seq, end_seq)]


def tcp_sack_extend(block: tuple[int, int], seq: int, end_seq: int) -> tuple[int, int] | None:
    """``tcp_sack_extend``: ``block`` grown to take in seq..end_seq when the two touch or overlap;
    None when they do not."""
    start, end = block
    if after(seq, end) or after(start, end_seq):
        return None
    return (seq if before(seq, start) else start, end_seq if after(end_seq, end) else end)


def tcp_dsack_extend(sk: TcpSock, seq: int, end_seq: int) -> None:
    """``tcp_dsack_extend``: report seq..end_seq as a duplicate, or grow the one already due."""
    if not sk.duplicate_sack:
        tcp_dsack_set(sk, seq, end_seq)
        return
    grown = tcp_sack_extend(sk.duplicate_sack[0], seq, end_seq)
    if grown is not None:
        sk.duplicate_sack = [grown]


def tcp_sack_maybe_coalesce(blocks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``tcp_sack_maybe_coalesce``: the first block, just grown, takes in the others it now
    touches."""
    first, rest = blocks[0], []
    for block in blocks[1:]:
        grown = tcp_sack_extend(first, *block)
        if grown is None:
            rest.append(block)
        else:
            first = grown
    return [first, *rest]


def tcp_sack_new_ofo_skb(sk: TcpSock, seq: int, end_seq: int) -> None:
    """``tcp_sack_new_ofo_skb`` (RFC 2018 section 4): the block that holds the newest segment
    goes first; a segment that touches no block starts a new one, the oldest of four dropped."""
    sacks = sk.selective_acks
    for i, block in enumerate(sacks):
        grown = tcp_sack_extend(block, seq, end_seq)
        if grown is not None:
            if i >= TCP_SACK_BLOCKS_TO_COMPRESS:
                tcp_sack_compress_send_ack(sk)
            sk.selective_acks = tcp_sack_maybe_coalesce([grown, *sacks[:i], *sacks[i + 1:]])
            return
    if len(sacks) >= TCP_SACK_BLOCKS_TO_COMPRESS:
        tcp_sack_compress_send_ack(sk)
    sk.selective_acks = [(seq, end_seq), *sacks[:TCP_NUM_SACKS - 1]]


def tcp_sack_remove(sk: TcpSock) -> None:
    """``tcp_sack_remove``: RCV.NXT has moved on; drop the blocks it now covers (all of them once
    the out-of-order queue is empty)."""
    if not sk.out_of_order_queue:
        sk.selective_acks = []
        return
    rcv_nxt = sk.rcv_nxt
    sk.selective_acks = [block for block in sk.selective_acks if before(rcv_nxt, block[0])]


# SKB_MAX_ORDER(0, 0): the bytes a one-page buffer holds, what tcp_collapse copies into.
SKB_MAX_ORDER_0 = 4096 - 320


def tcp_clamp_window(sk: TcpSock) -> None:
    """``tcp_clamp_window``: the queue outgrew the buffer; grow the buffer to what it holds (up
    to ``tcp_rmem[2]``, unless the user fixed its size), else shrink the offered window."""
    sk.icsk_ack.quick = 0
    rmem2 = sk.host.sysctl["net.ipv4.tcp_rmem"][2]
    if sk.sk_rcvbuf < rmem2 and not sk.sk_userlocks & SOCK_RCVBUF_LOCK:
        sk.sk_rcvbuf = min(sk.sk_rmem_alloc, rmem2)
    if sk.sk_rmem_alloc > sk.sk_rcvbuf:
        sk.rcv_ssthresh = min(sk.window_clamp, 2 * sk.advmss)


def tcp_collapse(sk: TcpSock) -> None:
    """``tcp_collapse``: copy the unread bytes of the receive queue that sit in bloated buffers
    (costing more memory than their share of the window) into compact page-sized ones.  Buffers
    ``tcp_try_coalesce`` merged count as the one buffer they are in Linux: the run of them that
    ends with the one holding their charge."""
    queue = sk.sk_receive_queue
    out: list[SkBuff] = []
    run: list[SkBuff] = []

    def flush() -> None:
        if not run:
            return
        data = b"".join([view for r in run for view in skb_views(r, r.data, r.tail)])
        start = run[0].seq
        freed = 0  # the buffers of the run whose bytes have all been copied
        done = 0
        for off in range(0, len(data), SKB_MAX_ORDER_0):
            piece = data[off:off + SKB_MAX_ORDER_0]
            nskb = tcp_collapsed_skb(piece, (start + off) & SEQ_MASK, run[0], len(piece))
            nskb.rcv_charge = nskb.truesize
            sk.sk_rmem_alloc += nskb.rcv_charge  # skb_set_owner_r, before the copy
            sk.sk_forward_alloc -= nskb.rcv_charge  # sk_mem_charge
            out.append(nskb)
            while freed < len(run) and done + run[freed].tail - run[freed].data <= off + len(piece):
                r = run[freed]
                done += r.tail - r.data
                freed += 1
                sk.sk_rmem_alloc -= r.rcv_charge  # tcp_collapse_one
                sk_mem_uncharge(sk, r.rcv_charge)
        sk.host.mib.TcpExt["TCPRcvCollapsed"] += len(run)
        run.clear()

    buffer: list[SkBuff] = []
    for skb in queue:
        cut = (sk.copied_seq - skb.seq) & SEQ_MASK
        if cut < 0x80000000 and cut and skb.tail > skb.data:
            # Already read in part: the copy starts at copied_seq.
            __pskb_trim_head(skb, min(cut, skb.tail - skb.data))
            skb.seq = sk.copied_seq
        buffer.append(skb)
        if not skb.rcv_charge:
            continue  # merged with the next
        flags = 0
        length = 0
        for b in buffer:
            flags |= b.tcp_flags
            length += b.tail - b.data
        if flags & (TCPHDR_SYN | TCPHDR_FIN) or not length:
            flush()
            out.extend(buffer)
        elif run or tcp_win_from_space(sk, skb.rcv_charge) > length:
            run.extend(buffer)
        else:
            out.extend(buffer)
        buffer = []
    flush()
    queue.clear()
    queue.extend(out)
    if out and out[-1] is not sk.rcvq_tail:
        sk.rcvq_tail = sk.rcvq_tail_head = out[-1]


def tcp_collapsed_skb(data: bytes, seq: int, like: SkBuff, size: int) -> SkBuff:
    """A compact buffer ``tcp_collapse`` copies ``data`` into, ``alloc_skb(size)`` (at most a
    page; its truesize what that allocation costs, and the allocation's slack its tailroom, which
    later segments may fill), starting at sequence number ``seq``, with the TCP control block of
    ``like``, a buffer it replaces."""
    buf = bytearray(data)
    buf += bytes(alloc_skb_end(size) - len(data))
    nskb = SkBuff(buf, 0, len(data))
    nskb.truesize = alloc_skb_truesize(size)
    nskb.seq = seq
    nskb.end_seq = (seq + len(data)) & SEQ_MASK
    nskb.tcp_flags = like.tcp_flags
    nskb.ack_seq = like.ack_seq
    return nskb


def tcp_collapse_ofo_run(sk: TcpSock, run: list[SkBuff], start: int, end: int) -> list[SkBuff]:
    """``tcp_collapse`` on a run of the out-of-order queue that covers ``start`` to ``end`` without
    a hole: buffers that hold nothing new are freed; the first buffer worth copying is the first
    that is bloated (its truesize would offer more window than it holds), starts before what the
    ones before it hold, or overlaps the next; from it on, the bytes are copied into page-sized
    buffers until a SYN or FIN, and the buffers they came from are freed.  Returns the run as it
    is then."""
    mib = sk.host.mib.TcpExt
    k = 0
    while k < len(run):
        skb = run[k]
        if not before(start, skb.end_seq):  # nothing new in it (tcp_collapse_one)
            del run[k]
            sk.sk_rmem_alloc -= skb.truesize
            sk_mem_uncharge(sk, skb.truesize)
            mib["TCPRcvCollapsed"] += 1
            continue
        if not skb.tcp_flags & (TCPHDR_SYN | TCPHDR_FIN) and (
                tcp_win_from_space(sk, skb.truesize) > skb.tail - skb.data or before(skb.seq, start)):
            break
        if k + 1 < len(run) and skb.end_seq != run[k + 1].seq:
            break
        start = skb.end_seq
        k += 1
    else:
        return run
    if skb.tcp_flags & (TCPHDR_SYN | TCPHDR_FIN):
        return run
    kept, rest = run[:k], run[k:]
    i = 0
    done = False
    while before(start, end) and not done:
        copy = size_asked = min(SKB_MAX_ORDER_0, (end - start) & SEQ_MASK)
        first, like, parts = start, skb, []
        truesize = alloc_skb_truesize(size_asked)
        sk.sk_rmem_alloc += truesize  # skb_set_owner_r, before the copy
        sk.sk_forward_alloc -= truesize  # sk_mem_charge
        while copy > 0:
            offset = (start - skb.seq) & SEQ_MASK
            size = (skb.end_seq - start) & SEQ_MASK
            if 0 < size < 0x80000000:
                size = min(copy, size)
                parts.extend(skb_views(skb, skb.data + offset, skb.data + offset + size))
                copy -= size
                start = (start + size) & SEQ_MASK
            if not before(start, skb.end_seq):
                sk.sk_rmem_alloc -= skb.truesize  # tcp_collapse_one
                sk_mem_uncharge(sk, skb.truesize)
                mib["TCPRcvCollapsed"] += 1
                i += 1
                skb = rest[i] if i < len(rest) else None
                if skb is None or skb.tcp_flags & (TCPHDR_SYN | TCPHDR_FIN):
                    done = True
                    break
        kept.append(tcp_collapsed_skb(b"".join(parts), first, like, size_asked))
    return kept + rest[i:]


def tcp_collapse_ofo_queue(sk: TcpSock) -> None:
    """``tcp_collapse_ofo_queue``: each run of the out-of-order queue without a hole in it is
    compacted (``tcp_collapse``), but for a run of a single small buffer; once such tiny runs add
    up to an eighth of the receive buffer, the rest of the queue is left as it is."""
    ofo = sk.out_of_order_queue
    out: list[SkBuff] = []
    sum_tiny = 0
    i, n = 0, len(ofo)
    while i < n:
        head = ofo[i]
        start, end = head.seq, head.end_seq
        range_truesize = head.truesize
        j = i + 1
        while j < n and not after(ofo[j].seq, end) and not before(ofo[j].end_seq, start):
            o = ofo[j]
            range_truesize += o.truesize
            if before(o.seq, start):
                start = o.seq
            if after(o.end_seq, end):
                end = o.end_seq
            j += 1
        if range_truesize != head.truesize or ((end - start) & SEQ_MASK) >= SKB_MAX_ORDER_0:
            out += tcp_collapse_ofo_run(sk, ofo[i:j], start, end)
        else:
            sum_tiny += range_truesize
            if sum_tiny > sk.sk_rcvbuf >> 3:
                out += ofo[i:]
                break
            out.append(head)
        i = j
    ofo[:] = out


def tcp_prune_ofo_queue(sk: TcpSock, in_skb: SkBuff) -> bool:
    """``tcp_prune_ofo_queue``: drop out-of-order data from the far end, down to where ``in_skb``
    would land: an eighth of the receive buffer's worth at a time, until the memory fits; the
    SACK blocks go with it."""
    ofo = sk.out_of_order_queue
    pruned = False
    goal = sk.sk_rcvbuf >> 3
    while ofo and not after(in_skb.seq, ofo[-1].seq):
        skb = ofo.pop()
        truesize = skb_charged_truesize(skb)
        sk.sk_rmem_alloc -= truesize
        sk_mem_uncharge(sk, truesize)
        goal -= truesize
        pruned = True
        if not ofo or goal <= 0:
            if sk.sk_rmem_alloc <= sk.sk_rcvbuf:
                break
            goal = sk.sk_rcvbuf >> 3
    if not pruned:
        return False
    sk.host.mib.TcpExt["OfoPruned"] += 1
    sk.selective_acks = []
    return True


def tcp_prune_queue(sk: TcpSock, in_skb: SkBuff) -> int:
    """``tcp_prune_queue``: make room, mildest first: a bigger buffer, compacted data (out of
    order, then in order), dropped out-of-order data; -1 when the segment must be dropped after
    all."""
    sk.host.mib.TcpExt["PruneCalled"] += 1
    if sk.sk_rmem_alloc >= sk.sk_rcvbuf:
        tcp_clamp_window(sk)
    if sk.sk_rmem_alloc <= sk.sk_rcvbuf:
        return 0
    tcp_collapse_ofo_queue(sk)
    if sk.sk_receive_queue:
        tcp_collapse(sk)
    if sk.sk_rmem_alloc <= sk.sk_rcvbuf:
        return 0
    tcp_prune_ofo_queue(sk, in_skb)
    if sk.sk_rmem_alloc <= sk.sk_rcvbuf:
        return 0
    sk.host.mib.TcpExt["RcvPruned"] += 1
    sk.pred_flags = 0
    return -1


def tcp_try_rmem_schedule(sk: TcpSock, skb: SkBuff) -> int:
    """``tcp_try_rmem_schedule``: room for one more buffer.  The queues are pruned once the memory
    already queued exceeds the receive buffer, and the pages the buffer needs are scheduled
    (``sk_rmem_schedule``)."""
    if sk.sk_rmem_alloc > sk.sk_rcvbuf and tcp_prune_queue(sk, skb) < 0:
        return -1
    sk_mem_schedule(sk, skb_charged_truesize(skb))
    return 0


def tcp_data_queue_ofo(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_data_queue_ofo``: keep an out-of-order segment, dropping what it duplicates.

    Linux keeps the queue in an rbtree; here it is a list in sequence order (no segment in it
    covers another), searched by bisection.  Most segments go at its end, after a hole, and are
    appended without a search (Linux's ``ooo_last_skb``).  Every step costs the same however long
    the queue, as it must: a peer that leaves one hole and sends thousands of segments behind it
    should cost no more per segment than in order (the rbtree came with CVE-2018-5390)."""
    if tcp_try_rmem_schedule(sk, skb) < 0:
        sk.host.mib.TcpExt["TCPOFODrop"] += 1
        sk.sk_data_ready()
        return
    tcp_measure_rcv_mss(sk, skb)  # (Linux 6.16+: a flow that starts out of order learns its MSS)
    sk.pred_flags = 0  # a hole in the sequence space: no header prediction until it is filled
    sk.icsk_ack.pending |= ICSK_ACK_SCHED
    sk.rcv_ooopack += max(1, -(-(skb.tail - skb.data) // skb.gso_size)) if skb.gso_size else 1
    mib = sk.host.mib.TcpExt
    mib["TCPOFOQueue"] += 1
    sack_ok = sk.rx_opt.sack_ok
    ofo = sk.out_of_order_queue
    seq, end_seq = skb.seq, skb.end_seq
    tcp_skb_frags_init(sk, skb)
    coalesced = False
    if not ofo:
        # The first out-of-order segment: one SACK block.
        if sack_ok:
            sk.selective_acks = [(seq, end_seq)]
        ofo.append(skb)
    else:
        if tcp_ooo_try_coalesce(sk, ofo[-1], skb):
            coalesced = True  # it continued the last one, which now covers it too
        elif not before(seq, ofo[-1].end_seq):
            ofo.append(skb)  # after the last one: no search
            at = len(ofo) - 1
        else:
            rcv_nxt = sk.rcv_nxt
            at = bisect_right(ofo, (seq - rcv_nxt) & SEQ_MASK, key=lambda o: (o.seq - rcv_nxt) & SEQ_MASK)
            prev = ofo[at - 1] if at else None
            if prev is not None and before(seq, prev.end_seq):
                if not after(end_seq, prev.end_seq):
                    # All the bits are present: drop it.
                    mib["TCPOFOMerge"] += 1
                    tcp_dsack_set(sk, seq, end_seq)
                    if sack_ok:
                        tcp_sack_new_ofo_skb(sk, seq, end_seq)
                    return
                if after(seq, prev.seq):
                    tcp_dsack_set(sk, seq, prev.end_seq)  # a partial overlap: both stay
                    ofo.insert(at, skb)
                else:
                    # The same start and more: it replaces the one there.
                    at -= 1
                    ofo[at] = skb
                    sk.sk_rmem_alloc -= skb_charged_truesize(prev)
                    sk_mem_uncharge(sk, skb_charged_truesize(prev))
                    tcp_dsack_extend(sk, prev.seq, prev.end_seq)
                    mib["TCPOFOMerge"] += 1
            elif prev is not None and tcp_ooo_try_coalesce(sk, prev, skb):
                coalesced = True
            else:
                ofo.insert(at, skb)
        if not coalesced:
            # merge_right: drop the segments after it that it covers.
            nxt = at + 1
            while nxt < len(ofo):
                other = ofo[nxt]
                if not after(end_seq, other.seq):
                    break
                if before(end_seq, other.end_seq):
                    tcp_dsack_extend(sk, other.seq, end_seq)
                    break
                del ofo[nxt]
                sk.sk_rmem_alloc -= skb_charged_truesize(other)
                sk_mem_uncharge(sk, skb_charged_truesize(other))
                tcp_dsack_extend(sk, other.seq, other.end_seq)
                mib["TCPOFOMerge"] += 1
        if sack_ok:
            tcp_sack_new_ofo_skb(sk, seq, end_seq)
    if sack_ok:
        # Without SACK the window stays put, so that duplicate ACKs trigger fast retransmit.
        tcp_grow_window(sk, skb, coalesced)
    if not coalesced:
        skb.truesize = skb_charged_truesize(skb)  # (what a segment merged into it adds to)
        sk.sk_rmem_alloc += skb.truesize  # skb_set_owner_r
        sk.sk_forward_alloc -= skb.truesize  # sk_mem_charge
    if sk.sk_socket is not None:  # (not for a socket not yet accepted, nor an orphan)
        tcp_rcvbuf_grow(sk, sk.rcv_space)  # room for what is held out of order (Linux 6.16+)


def skb_from_local_socket(skb: SkBuff) -> bool:
    """The segment came over lo: a local socket sent it, its headers in its head and its payload
    in page fragments (``tcp_sendmsg_locked`` → ``skb_copy_to_page_nocache``)."""
    dev = skb.dev
    return dev is not None and bool(dev.flags & IFF_LOOPBACK)


def tcp_skb_frags_init(sk: TcpSock, skb: SkBuff) -> None:
    """``skb_shinfo(skb)->nr_frags`` of a segment a local socket sent, the first time TCP queues
    it: its payload is in the sender's 32 KB page fragments (``sk_page_frag``), one per page its
    bytes touch, taken as filled in stream order from the connection's first byte.  (A NIC's
    driver and GRO set theirs.)"""
    length = skb.tail - skb.data
    if length and not skb.nr_frags and skb_from_local_socket(skb):
        first = sk.bytes_received + ((skb.seq - sk.rcv_nxt) & SEQ_MASK)
        skb.nr_frags = (first + length - 1) // SKB_FRAG_PAGE_SIZE - first // SKB_FRAG_PAGE_SIZE + 1


def skb_coalesce_delta(head: SkBuff, skb: SkBuff, charge: int) -> int:
    """``skb_try_coalesce``'s second way, its checks and accounting: segment ``skb`` (charged
    ``charge``) may join a buffer that counts its fragments on ``head`` (the buffer Linux has);
    returns the truesize that moves (``delta_truesize``), or -1 when it cannot: the buffer is
    shared with a clone still held (``skb_cloned``: over lo, while the sender holds the segment),
    either holds a zerocopy sender's pages, or together they would pass MAX_SKB_FRAGS.  A segment
    a local socket sent keeps its headers in its head and its payload in fragments, which move;
    a NIC's head moves as one more fragment (a page fragment, not shared), less its ``struct
    sk_buff``.  ``head.nr_frags`` counts the fragments that moved."""
    if skb.destructor_arg is not None or skb_cloned(head) or head.destructor_arg is not None:
        return -1
    frags = head.nr_frags + skb.nr_frags
    if skb_from_local_socket(skb):
        delta = skb.tail - skb.data
    elif skb.head_frag and not skb_cloned(skb):
        delta = charge - SKB_STRUCT_SIZE
        frags += 1
    else:
        return -1  # skb_head_is_locked
    if frags > MAX_SKB_FRAGS:
        return -1
    head.nr_frags = frags
    return delta


def tcp_try_coalesce(sk: TcpSock, to: SkBuff, head: SkBuff, skb: SkBuff, charge: int) -> int:
    """``tcp_try_coalesce`` → ``skb_try_coalesce``: segment ``skb`` joins buffer ``to`` when it
    continues it, and ``to`` is charged only the truesize that moves (``skb_coalesce_delta``),
    counting its fragments on ``head`` (``to`` itself, or the first of a merged run of the receive
    queue).  Returns that truesize, or -1 when the buffer cannot take the segment."""
    if skb.seq != to.end_seq:
        return -1
    delta = skb_coalesce_delta(head, skb, charge)
    if delta >= 0:
        sk.host.mib.TcpExt["TCPRcvCoalesce"] += 1
    return delta


def skb_coalesce_frags(sk: TcpSock, to: SkBuff, skb: SkBuff) -> int:
    """``skb_try_coalesce`` past the tailroom, done: ``skb``'s payload moves to the end of ``to``
    as page fragments, not copied, when ``skb_coalesce_delta`` allows it, and ``to``'s truesize
    grows by the delta, which is returned (-1: it stays apart)."""
    tcp_skb_frags_init(sk, to)
    tcp_skb_frags_init(sk, skb)
    delta = skb_coalesce_delta(to, skb, skb_charged_truesize(skb))
    if delta >= 0:
        skb_add_frags(to, skb, skb.data, skb.tail)
        to.truesize += delta
    return delta


def tcp_coalesce_tailroom(sk: TcpSock, to: SkBuff, skb: SkBuff) -> bool:
    """``skb_try_coalesce``'s first way, tried before any other: a segment whose payload fits in
    the tailroom of ``to``, one linear buffer it continues (the slack of a kmalloc'd head: a TUN
    device's packet, a collapsed buffer), is copied there and costs nothing more."""
    if skb.seq != to.end_seq or to.nr_frags or skb_try_coalesce(to, skb) < 0:
        return False
    to.end_seq = skb.end_seq
    to.ack_seq = skb.ack_seq
    to.tcp_flags |= skb.tcp_flags
    if skb.tstamp:
        to.tstamp = skb.tstamp
    sk.host.mib.TcpExt["TCPRcvCoalesce"] += 1
    return True


def tcp_ooo_try_coalesce(sk: TcpSock, to: SkBuff, skb: SkBuff) -> bool:
    """``tcp_ooo_try_coalesce``: an out-of-order segment joins the one it continues, which then
    covers both (its truesize grown by what moves).  Its payload moves as page fragments, not
    copied, as ``skb_try_coalesce`` moves them (a NIC's head with it, as one more fragment)."""
    if tcp_coalesce_tailroom(sk, to, skb):
        return True
    if skb.seq != to.end_seq:
        return False
    delta = skb_coalesce_frags(sk, to, skb)
    if delta < 0:
        return False
    sk.host.mib.TcpExt["TCPRcvCoalesce"] += 1
    to.end_seq = skb.end_seq
    to.ack_seq = skb.ack_seq
    to.tcp_flags |= skb.tcp_flags
    if skb.tstamp:
        to.tstamp = skb.tstamp
    sk.sk_rmem_alloc += delta
    sk.sk_forward_alloc -= delta  # sk_mem_charge
    return True


def tcp_queue_rcv(sk: TcpSock, skb: SkBuff, coalesce: bool = True, owned: bool = False) -> None:
    """``tcp_queue_rcv``: append in-order data to the receive queue, merged into its last buffer
    when it can be (``coalesce`` false: it cannot); RCV.NXT moves on.  An ``owned`` segment, one
    the out-of-order queue held, is charged to the socket already: it keeps its charge, or gives
    it back once merged (``kfree_skb_partial`` → ``sock_rfree``)."""
    if skb.tail > skb.data or skb.tcp_flags & TCPHDR_FIN:
        queue = sk.sk_receive_queue
        charge = skb_charged_truesize(skb)
        tcp_skb_frags_init(sk, skb)
        to = sk.rcvq_tail
        coalesce = coalesce and bool(queue) and queue[-1] is to
        if coalesce and to is sk.rcvq_tail_head and tcp_coalesce_tailroom(sk, to, skb):
            sk.rcv_nxt = skb.end_seq
            sk.bytes_received += skb.tail - skb.data
            if owned:
                sk.sk_rmem_alloc -= charge
                sk_mem_uncharge(sk, charge)
            return
        delta = tcp_try_coalesce(sk, to, sk.rcvq_tail_head, skb, charge) if coalesce else -1
        if delta < 0:
            sk.rcvq_tail_head = skb
            if not owned:
                sk.sk_rmem_alloc += charge  # skb_set_owner_r
                sk.sk_forward_alloc -= charge  # sk_mem_charge
            skb.rcv_charge = charge
        else:
            # the merged buffer is freed with its last bytes: its charge moves to the new last
            sk.sk_rmem_alloc += delta
            sk.sk_forward_alloc -= delta  # sk_mem_charge
            if owned:
                sk.sk_rmem_alloc -= charge
                sk_mem_uncharge(sk, charge)
            tail = queue[-1]
            skb.rcv_charge = tail.rcv_charge + delta
            tail.rcv_charge = 0
            if skb.tstamp:
                # The merged buffer's arrival is its latest part's (has_rxtstamp): a read of any
                # part of it reports that.
                for part in reversed(queue):
                    if part.rcv_charge:
                        break
                    part.tstamp = skb.tstamp
        sk.rcvq_tail = skb
        queue.append(skb)
    sk.rcv_nxt = skb.end_seq
    sk.bytes_received += skb.tail - skb.data


def tcp_ofo_queue(sk: TcpSock) -> None:
    """``tcp_ofo_queue``: move segments that are now in order to the receive queue.  What a
    segment holds below RCV.NXT as it was when the queue was reached is reported as a duplicate
    (D-SACK); a segment with nothing new is dropped.  One that overlaps what was received keeps
    those bytes in Linux, so it does not continue the receive queue's last buffer and is queued
    as a buffer of its own (tuxnet skips them)."""
    ofo = sk.out_of_order_queue
    dsack_high = sk.rcv_nxt
    taken = 0
    for skb in ofo:
        if after(skb.seq, sk.rcv_nxt):
            break
        if before(skb.seq, dsack_high):
            # its part below RCV.NXT as the queue was reached (Linux 6.16+, and stable kernels
            # since: up to its own end, no longer to that point)
            tcp_dsack_extend(sk, skb.seq, skb.end_seq if before(skb.end_seq, dsack_high) else dsack_high)
        taken += 1
        if not after(skb.end_seq, sk.rcv_nxt):
            sk.sk_rmem_alloc -= skb_charged_truesize(skb)
            sk_mem_uncharge(sk, skb_charged_truesize(skb))
            continue
        cut = (sk.rcv_nxt - skb.seq) & SEQ_MASK
        if cut:
            __pskb_trim_head(skb, min(cut, skb.tail - skb.data))
            skb.seq = sk.rcv_nxt
        tcp_queue_rcv(sk, skb, not cut, owned=True)
        if skb.tcp_flags & TCPHDR_FIN:
            del ofo[:taken]
            tcp_fin(sk)  # which purges what is left of the queue
            return
    del ofo[:taken]


def tcp_data_queue(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_data_queue``: in-order data to the socket, the rest kept or dropped (RFC 9293
    section 3.10.7.4, seventh step)."""
    seq, end_seq = skb.seq, skb.end_seq
    if seq == end_seq:
        return
    if seq == sk.rcv_nxt:
        if tcp_receive_window(sk) == 0 and not (skb.tail == skb.data and skb.tcp_flags & TCPHDR_FIN):
            sk.host.mib.TcpExt["TCPZeroWindowDrop"] += 1
            tcp_enter_quickack_mode(sk, TCP_MAX_QUICKACKS)
            sk.icsk_ack.pending |= ICSK_ACK_SCHED
            return
        if tcp_try_rmem_schedule(sk, skb) < 0:
            sk.icsk_ack.pending |= ICSK_ACK_NOW | ICSK_ACK_SCHED
            sk.sk_data_ready()
            if sk.sk_receive_queue and skb.tail > skb.data:
                sk.host.mib.TcpExt["TCPRcvQDrop"] += 1
                return
            sk_mem_schedule(sk, skb_charged_truesize(skb))  # sk_forced_mem_schedule
        tcp_queue_rcv(sk, skb)
        if skb.tail > skb.data:
            tcp_event_data_recv(sk, skb)
        if skb.tcp_flags & TCPHDR_FIN:
            tcp_fin(sk)
        if sk.out_of_order_queue:
            tcp_ofo_queue(sk)
            if not sk.out_of_order_queue:
                sk.icsk_ack.pending |= ICSK_ACK_NOW
        if sk.selective_acks:
            tcp_sack_remove(sk)
        tcp_fast_path_check(sk)
        if not sk.sk_dead:
            sk.sk_data_ready()
        return
    if not after(end_seq, sk.rcv_nxt):
        tcp_dsack_set(sk, seq, end_seq)
        tcp_enter_quickack_mode(sk, TCP_MAX_QUICKACKS)
        sk.icsk_ack.pending |= ICSK_ACK_SCHED
        return
    if not before(seq, (sk.rcv_nxt + tcp_receive_window(sk)) & SEQ_MASK):
        tcp_enter_quickack_mode(sk, TCP_MAX_QUICKACKS)
        sk.icsk_ack.pending |= ICSK_ACK_SCHED
        return
    if before(seq, sk.rcv_nxt):
        tcp_dsack_set(sk, seq, sk.rcv_nxt)
        cut = (sk.rcv_nxt - seq) & SEQ_MASK
        __pskb_trim_head(skb, min(cut, skb.tail - skb.data))
        skb.seq = sk.rcv_nxt
        tcp_data_queue(sk, skb)
        return
    tcp_data_queue_ofo(sk, skb)


def tcp_fin(sk: TcpSock) -> None:
    """``tcp_fin``: the peer has finished sending (RFC 9293 section 3.10.7.4, eighth step)."""
    sk.icsk_ack.pending |= ICSK_ACK_SCHED
    sk.sk_shutdown |= RCV_SHUTDOWN
    sk.sk_done = True
    state = sk.sk_state
    if state in (TCP_SYN_RECV, TCP_ESTABLISHED):
        tcp_set_state(sk, TCP_CLOSE_WAIT)
        sk.icsk_ack.pingpong = 1
    elif state == TCP_FIN_WAIT1:
        tcp_send_ack(sk)
        tcp_set_state(sk, TCP_CLOSING)
    elif state == TCP_FIN_WAIT2:
        tcp_send_ack(sk)
        tcp_minisocks.tcp_time_wait(sk, TCP_TIME_WAIT, 0)
    for skb in sk.out_of_order_queue:
        sk.sk_rmem_alloc -= skb_charged_truesize(skb)
        sk_mem_uncharge(sk, skb_charged_truesize(skb))
    sk.out_of_order_queue = []
    sk.selective_acks = []
    if not sk.sk_dead:
        sk.sk_state_change()


def __tcp_ack_snd_check(sk: TcpSock, ofo_possible: bool) -> None:
    """``__tcp_ack_snd_check``: ACK now (a full segment unacknowledged, quick-ACK mode, a hole),
    or let the delayed-ACK timer do it."""
    ack = sk.icsk_ack
    if ((((sk.rcv_nxt - sk.rcv_wup) & SEQ_MASK) > ack.rcv_mss and __tcp_select_window(sk) >= sk.rcv_wnd)
            or tcp_in_quickack_mode(sk) or ack.pending & ICSK_ACK_NOW):
        tcp_send_ack(sk)
        return
    if not ofo_possible or not sk.out_of_order_queue:
        tcp_send_delayed_ack(sk)
        return
    # A hole: the first TCP_FASTRETRANS_THRESH duplicate ACKs for this RCV.NXT go at once, the
    # rest are compressed into one (up to tcp_comp_sack_nr of them) sent after 5 % of the RTT,
    # at most tcp_comp_sack_delay_ns.
    sysctl = sk.host.sysctl
    if not sk.rx_opt.sack_ok or sk.compressed_ack >= sysctl["net.ipv4.tcp_comp_sack_nr"]:
        tcp_send_ack(sk)
        return
    if sk.compressed_ack_rcv_nxt != sk.rcv_nxt:
        sk.compressed_ack_rcv_nxt = sk.rcv_nxt
        sk.dup_ack_counter = 0
    if sk.dup_ack_counter < TCP_FASTRETRANS_THRESH:
        sk.dup_ack_counter += 1
        tcp_send_ack(sk)
        return
    sk.compressed_ack += 1
    timer = sk.compressed_ack_timer
    if timer is None:
        timer = sk.compressed_ack_timer = sk.host.timer(tcp_compressed_ack_kick, sk)
    if timer.pending():
        return
    rtt = sk.rcv_rtt_us  # (both RTTs in 1/8 us)
    if sk.srtt_us and sk.srtt_us < rtt:
        rtt = sk.srtt_us
    timer.mod(sk.host.world.now + min(sysctl["net.ipv4.tcp_comp_sack_delay_ns"], rtt * (1000 >> 3) // 20))


def tcp_compressed_ack_kick(sk: TcpSock) -> None:
    """``tcp_compressed_ack_kick``: the compressed ACK is due; one ACK stands for all of them."""
    if sk.compressed_ack:
        sk.compressed_ack -= 1  # (the one sent is not a compressed one)
        tcp_send_ack(sk)


def tcp_sack_compress_send_ack(sk: TcpSock) -> None:
    """``tcp_sack_compress_send_ack``: send the compressed ACK now, before the SACK blocks it
    would report are reordered."""
    if not sk.compressed_ack:
        return
    sk.compressed_ack_timer.delete()
    sk.compressed_ack -= 1
    tcp_send_ack(sk)


def tcp_ack_snd_check(sk: TcpSock) -> None:
    if not sk.icsk_ack.pending & ICSK_ACK_SCHED:
        return
    __tcp_ack_snd_check(sk, True)


def tcp_data_snd_check(sk: TcpSock) -> None:
    """``tcp_data_snd_check``: send what the ACK allows, then see whether writers have room."""
    tcp_push_pending_frames(sk)
    tcp_check_space(sk)


def tcp_send_dupack(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_send_dupack``: answer an out-of-window segment with an ACK (D-SACK for a duplicate)."""
    if skb.end_seq != skb.seq and before(skb.seq, sk.rcv_nxt):
        sk.host.mib.TcpExt["DelayedACKLost"] += 1
        tcp_enter_quickack_mode(sk, TCP_MAX_QUICKACKS)
        end = skb.end_seq if before(skb.end_seq, sk.rcv_nxt) else sk.rcv_nxt
        tcp_dsack_set(sk, skb.seq, end)
    tcp_send_ack(sk)


# -- state changes ---------------------------------------------------------------------------

def tcp_set_state(sk: TcpSock, state: int) -> None:
    """``tcp_set_state``: keep CurrEstab, and unhash a socket that reaches CLOSE."""
    old = sk.sk_state
    mib = sk.host.mib.Tcp
    if state == TCP_ESTABLISHED and old != TCP_ESTABLISHED:
        mib["CurrEstab"] += 1
    elif old == TCP_ESTABLISHED and state != TCP_ESTABLISHED:
        mib["CurrEstab"] -= 1
    if state == TCP_CLOSE and old in (TCP_CLOSE_WAIT, TCP_ESTABLISHED):
        mib["EstabResets"] += 1
    sk.sk_state = state
    if state == TCP_CLOSE:
        sk.sk_prot.unhash(sk)


def tcp_done(sk: TcpSock) -> None:
    """``tcp_done``: the connection is over; wake the owner or free an orphan."""
    if sk.sk_state in (TCP_SYN_SENT, TCP_SYN_RECV):
        sk.host.mib.Tcp["AttemptFails"] += 1
    tcp_set_state(sk, TCP_CLOSE)
    tcp_clear_xmit_timers(sk)
    if sk.fastopen_rsk is not None:
        reqsk_fastopen_remove(sk, sk.fastopen_rsk, False)
    sk.sk_shutdown = SHUTDOWN_MASK
    if not sk.sk_dead:
        sk.sk_state_change()
    else:
        inet_csk_destroy_sock(sk)


def tcp_clear_xmit_timers(sk: TcpSock) -> None:
    sk.icsk_pending = 0
    sk.icsk_ack.pending = 0
    for timer in sk.tcp_timers():
        timer.delete()


def tcp_write_queue_purge(sk: TcpSock) -> None:
    """``tcp_write_queue_purge``: drop everything unsent and unacknowledged (the zerocopy sends it
    held complete)."""
    tcp_chrono_stop(sk, TCP_CHRONO_BUSY)
    for queue in (sk.sk_write_queue, sk.tcp_rtx_queue):
        for skb in queue:
            if skb.destructor_arg is not None:
                skb_zcopy_clear(skb, True)
    sk.sk_write_queue.clear()
    sk.tcp_rtx_queue.clear()
    sk.tsorted_sent_queue.clear()
    sk.highest_sack = None
    sk_mem_uncharge(sk, sk.sk_wmem_queued)  # (tcp_wmem_free_skb of each)
    sk.sk_wmem_queued = 0
    sk.packets_out = 0
    sk.icsk_backoff = 0
    tcp_clear_retrans(sk)


def tcp_reset(sk: TcpSock) -> None:
    """``tcp_reset``: the peer reset the connection (RFC 9293 section 3.10.7.3)."""
    state = sk.sk_state
    if state == TCP_SYN_SENT:
        sk.sk_err = ECONNREFUSED
    elif state == TCP_CLOSE_WAIT:
        sk.sk_err = EPIPE
    elif state == TCP_CLOSE:
        return
    else:
        sk.sk_err = ECONNRESET
    tcp_write_queue_purge(sk)
    tcp_done(sk)
    if not sk.sk_dead:
        sk.sk_error_report()


def tcp_init_transfer(sk: TcpSock) -> None:
    """``tcp_init_transfer``: the path MTU search, what was saved of the peer
    (``tcp_init_metrics``), the initial cwnd (RFC 6928, or the route's
    ``initcwnd``; one segment after more than one SYN retransmission, RFC 5681), congestion
    control and ``tcp_init_buffer_space``."""
    now = sk.host.world.now
    tcp_mtup_init(sk)
    tcp_init_metrics(sk)
    if sk.total_retrans > 1 and sk.undo_marker:
        sk.snd_cwnd = 1
    else:
        sk.snd_cwnd = tcp_init_cwnd(sk, sk.dst_cache)
    sk.snd_cwnd_stamp = now
    tcp_init_congestion_control(sk)
    tcp_init_buffer_space(sk)
    if sk.sk_keepopen:
        tcp_timer.inet_csk_reset_keepalive_timer(sk, tcp_timer.keepalive_time_when(sk))


def tcp_finish_connect(sk: TcpSock) -> None:
    """``tcp_finish_connect``: SYN_SENT becomes ESTABLISHED."""
    tcp_set_state(sk, TCP_ESTABLISHED)
    now = sk.host.world.now
    sk.icsk_ack.lrcvtime = now
    tcp_init_transfer(sk)
    sk.lsndtime = now
    if not sk.sk_dead:
        sk.sk_state_change()


def tcp_validate_incoming(sk: TcpSock, skb: SkBuff) -> bool:
    """``tcp_validate_incoming``: PAWS, the sequence test, RST and SYN checks (RFC 5961)."""
    flags = skb.tcp_flags
    opt = sk.rx_opt
    if opt.saw_tstamp and opt.ts_recent_stamp and tcp_paws_discard(sk, bool(flags & TCPHDR_RST)):
        sk.host.mib.TcpExt["PAWSEstab"] += 1
        tcp_send_dupack(sk, skb)
        return False
    seq, end_seq = skb.seq, skb.end_seq
    in_window = not before(end_seq, sk.rcv_wup) and not after(
        seq, (sk.rcv_nxt + tcp_receive_window(sk)) & SEQ_MASK)
    if not in_window:
        if not flags & TCPHDR_RST:
            if flags & TCPHDR_SYN:
                tcp_send_challenge_ack(sk)
            else:
                tcp_send_dupack(sk, skb)
        return False
    if flags & TCPHDR_RST:
        if seq == sk.rcv_nxt:
            tcp_reset(sk)
        else:
            tcp_send_challenge_ack(sk)
        return False
    if flags & TCPHDR_SYN:
        sk.host.mib.TcpExt["TCPSYNChallenge"] += 1
        tcp_send_challenge_ack(sk)
        return False
    return True


def __tcp_fast_path_on(sk: TcpSock, snd_wnd: int) -> None:
    """``__tcp_fast_path_on``: predict the next segment's header word: our header length, ACK
    alone (PSH aside), and the window field ``snd_wnd`` as the peer sends it (unscaled)."""
    sk.pred_flags = (sk.tcp_header_len << 26) | TCP_FLAG_ACK | snd_wnd


def tcp_fast_path_on(sk: TcpSock) -> None:
    __tcp_fast_path_on(sk, sk.snd_wnd >> sk.rx_opt.snd_wscale)


def tcp_fast_path_check(sk: TcpSock) -> None:
    """``tcp_fast_path_check``: predict again once nothing calls for the slow path (no hole, an
    open window, room in the receive buffer, no urgent byte awaited or unread)."""
    if not sk.out_of_order_queue and sk.rcv_wnd and sk.sk_rmem_alloc < sk.sk_rcvbuf and not sk.urg_data:
        tcp_fast_path_on(sk)


def tcp_check_urg(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_check_urg``: a segment with URG set; note a new urgent pointer (RFC 9293 section
    3.10.7.4, sixth step), unless its byte has been read already or comes before what we have."""
    ptr = (skb.buf[skb.transport_header + 18] << 8) | skb.buf[skb.transport_header + 19]
    if ptr and not sk.host.sysctl["net.ipv4.tcp_stdurg"]:
        ptr -= 1  # BSD's reading: the pointer is one past the urgent byte
    ptr = (ptr + skb.seq) & SEQ_MASK
    if after(sk.copied_seq, ptr) or before(ptr, sk.rcv_nxt):
        return
    if sk.urg_data and not after(ptr, sk.urg_seq):
        return
    # Linux signals SIGURG to the owner here (sk_send_sigurg); tuxnet processes take no signals.
    # A new mark while the reader sits on an unread earlier urgent byte: step over that byte.
    if (sk.urg_seq == sk.copied_seq and sk.urg_data and not sk.sk_urginline
            and sk.copied_seq != sk.rcv_nxt):
        sk.copied_seq = (sk.copied_seq + 1) & SEQ_MASK
        queue = sk.sk_receive_queue
        if queue and not before(sk.copied_seq, queue[0].end_seq):
            dropped = queue.popleft()
            sk.sk_rmem_alloc -= dropped.rcv_charge
            sk_mem_uncharge(sk, dropped.rcv_charge)
    sk.urg_data = TCP_URG_NOTYET
    sk.urg_seq = ptr
    sk.pred_flags = 0


def tcp_urg(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_urg``: take in a new urgent pointer, and the urgent byte once a segment brings it."""
    if skb.tcp_flags & TCPHDR_URG:
        tcp_check_urg(sk, skb)
    if sk.urg_data == TCP_URG_NOTYET:
        # where the byte is in this segment's payload (a SYN takes the first sequence number)
        ptr = (sk.urg_seq - skb.seq - (1 if skb.tcp_flags & TCPHDR_SYN else 0)) & SEQ_MASK
        if ptr < skb.tail - skb.data:
            sk.urg_data = TCP_URG_VALID | skb_copy_bits(skb, ptr, 1)[0]
            if not sk.sk_dead:
                sk.sk_data_ready()


def tcp_rcv_established(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_rcv_established``: header prediction first (the "30 instruction TCP receive" of Van
    Jacobson: the next in-order segment with the expected flags and window, carrying a pure ACK
    or plain data), everything else through the slow path."""
    plen = skb.tail - skb.data
    # tcp_segs_in: a GRO packet counts as the segments it was made of (gso_segs).
    segs = max(1, -(-plen // skb.gso_size)) if skb.gso_size else 1
    sk.segs_in += segs
    if plen:
        sk.data_segs_in += segs
    pred = sk.pred_flags
    if pred and skb.seq == sk.rcv_nxt:
        buf = skb.buf
        th = skb.transport_header
        if (_u32.unpack_from(buf, th + 12)[0] & TCP_HP_BITS) == pred and not after(skb.ack_seq, sk.snd_nxt):
            opt = sk.rx_opt
            opt.num_sacks = 0
            ts = sk.tcp_header_len == 20 + TCPOLEN_TSTAMP_ALIGNED
            if ts:
                # tcp_parse_aligned_timestamp, and PAWS in the simplest form
                if _u32.unpack_from(buf, th + 20)[0] != TCPOPT_TSTAMP_ALIGNED:
                    return _tcp_rcv_established_slow(sk, skb)
                opt.saw_tstamp = True
                opt.rcv_tsval, opt.rcv_tsecr = _u32x2.unpack_from(buf, th + 24)
                if ((opt.rcv_tsval - opt.ts_recent) & SEQ_MASK) >= 0x80000000:
                    return _tcp_rcv_established_slow(sk, skb)
            else:
                opt.saw_tstamp = False
            if not plen:
                # Bulk data transfer: sender.
                if ts and sk.rcv_nxt == sk.rcv_wup:
                    tcp_store_ts_recent(sk)
                tcp_ack(sk, skb, 0)
                tcp_data_snd_check(sk)
                sk.rcv_rtt_last_tsecr = opt.rcv_tsecr
                return None
            if skb_charged_truesize(skb) <= sk.sk_forward_alloc:
                # Bulk data transfer: receiver (only within the memory the socket has scheduled
                # already: anything more takes the slow path, which schedules it).
                if ts and sk.rcv_nxt == sk.rcv_wup:
                    tcp_store_ts_recent(sk)
                tcp_rcv_rtt_measure_ts(sk, skb)
                sk.host.mib.TcpExt["TCPHPHits"] += 1
                tcp_queue_rcv(sk, skb)
                tcp_event_data_recv(sk, skb)
                if skb.ack_seq != sk.snd_una:
                    tcp_ack(sk, skb, FLAG_DATA)
                    tcp_data_snd_check(sk)
                    if sk.icsk_ack.pending & ICSK_ACK_SCHED:
                        __tcp_ack_snd_check(sk, False)
                else:
                    sk.snd_wl1 = skb.seq
                    __tcp_ack_snd_check(sk, False)
                if not sk.sk_dead:
                    sk.sk_data_ready()
                return None
    return _tcp_rcv_established_slow(sk, skb)


@notrace
def _tcp_rcv_established_slow(sk: TcpSock, skb: SkBuff) -> None:
    """The ``slow_path`` of ``tcp_rcv_established``: every check, then the ACK and the data."""
    tcp_parse_options(skb, sk.rx_opt, True)
    if not tcp_validate_incoming(sk, skb):
        return
    if not skb.tcp_flags & TCPHDR_ACK:
        return
    if tcp_ack(sk, skb, FLAG_SLOWPATH | FLAG_UPDATE_TS_RECENT) < 0:
        return
    tcp_rcv_rtt_measure_ts(sk, skb)
    tcp_urg(sk, skb)
    tcp_data_queue(sk, skb)
    if sk.sk_state != TCP_CLOSE:
        tcp_data_snd_check(sk)
        tcp_ack_snd_check(sk)


def tcp_rcv_synsent_state_process(sk: TcpSock, skb: SkBuff) -> int:
    """``tcp_rcv_synsent_state_process``: the answer to our SYN (RFC 9293 section 3.10.7.3)."""
    flags = skb.tcp_flags
    opt = sk.rx_opt
    foc = TcpFastopenCookie()
    tcp_parse_options(skb, opt, False, foc)
    if flags & TCPHDR_ACK:
        if not after(skb.ack_seq, sk.snd_una) or after(skb.ack_seq, sk.snd_nxt):
            return 0 if flags & TCPHDR_RST else 1
        if flags & TCPHDR_RST:
            tcp_reset(sk)
            return 0
        if not flags & TCPHDR_SYN:
            return 0
        if sk.ecn_flags & TCP_ECN_OK and (not flags & TCPHDR_ECE or flags & TCPHDR_CWR):
            sk.ecn_flags &= ~TCP_ECN_OK
        sk.snd_wl1 = skb.seq
        tcp_ack(sk, skb, FLAG_SLOWPATH)
        sk.rcv_nxt = (skb.seq + 1) & SEQ_MASK
        sk.rcv_wup = sk.rcv_nxt
        buf = skb.buf
        th = skb.transport_header
        sk.snd_wnd = (buf[th + 14] << 8) | buf[th + 15]
        _negotiated(sk)
        sk.max_window = sk.snd_wnd
        tcp_sync_mss(sk, sk.pmtu_cookie)
        tcp_initialize_rcv_mss(sk)
        sk.copied_seq = sk.rcv_nxt
        tcp_finish_connect(sk)
        # The SYN-ACK's window is not scaled: predict only when no scaling is in use.
        sk.pred_flags = 0
        if not sk.rx_opt.snd_wscale:
            __tcp_fast_path_on(sk, sk.snd_wnd)
        if sk.syn_fastopen or sk.syn_data:
            if tcp_rcv_fastopen_synack(sk, skb, foc):
                return -1  # the SYN's data goes again, with the ACK
        elif skb.tail > skb.data:
            tcp_data_queue(sk, skb)
        tcp_send_ack(sk)
        return -1
    if flags & TCPHDR_RST:
        return 0
    if flags & TCPHDR_SYN:
        # Simultaneous open (RFC 9293 section 3.5, figure 7).
        tcp_set_state(sk, TCP_SYN_RECV)
        sk.rcv_nxt = (skb.seq + 1) & SEQ_MASK
        sk.rcv_wup = sk.rcv_nxt
        sk.copied_seq = sk.rcv_nxt
        buf = skb.buf
        th = skb.transport_header
        sk.snd_wnd = (buf[th + 14] << 8) | buf[th + 15]
        sk.snd_wl1 = skb.seq
        sk.max_window = sk.snd_wnd
        _negotiated(sk)
        tcp_sync_mss(sk, sk.pmtu_cookie)
        tcp_initialize_rcv_mss(sk)
        tcp_send_synack(sk)
        return -1
    return 0


def tcp_rcv_fastopen_synack(sk: TcpSock, synack: SkBuff, cookie: TcpFastopenCookie) -> bool:
    """``tcp_rcv_fastopen_synack``: the SYN-ACK of a Fast Open SYN.  Its cookie (or the lack of
    one) and the server's MSS are cached; data the SYN carried that it does not acknowledge is
    sent again at once (True).  A SYN-ACK without a cookie after a retransmitted SYN counts as a
    Fast Open SYN lost on the way."""
    data = sk.tcp_rtx_queue[0] if sk.syn_data and sk.tcp_rtx_queue else None
    mss = sk.rx_opt.mss_clamp
    if sk.rx_opt.user_mss and mss == sk.rx_opt.user_mss:
        # the SYN-ACK's own MSS, not the one the user's clamps
        opt = TcpOptionsReceived()
        tcp_parse_options(synack, opt, False)
        mss = opt.mss_clamp
    try_exp = 0
    syn_drop = False
    if not sk.syn_fastopen:
        cookie.len = -1  # an unsolicited cookie is ignored
    elif sk.total_retrans:
        syn_drop = cookie.len < 0 and data is not None
    elif cookie.len < 0 and not sk.syn_data:
        try_exp = 2 if sk.syn_fastopen_exp else 1
    tcp_fastopen_cache_set(sk, mss, cookie, syn_drop, try_exp)
    if data is not None:
        sk.fastopen_client_fail = TFO_SYN_RETRANSMITTED if sk.total_retrans else TFO_DATA_NOT_ACKED
        for skb in sk.tcp_rtx_queue:
            tcp_mark_skb_lost(sk, skb)
        tcp_non_congestion_loss_retransmit(sk)
        sk.host.mib.TcpExt["TCPFastOpenActiveFail"] += 1
        return True
    sk.syn_data_acked = sk.syn_data
    if sk.syn_data_acked:
        sk.host.mib.TcpExt["TCPFastOpenActive"] += 1
        if sk.delivered > 1:
            sk.delivered -= 1  # the SYN and its data counted as two in tcp_ack
    tcp_fastopen_add_skb(sk, synack)
    return False


def tcp_rcv_synrecv_state_fastopen(sk: TcpSock, req: RequestSock) -> None:
    """``tcp_rcv_synrecv_state_fastopen``: a Fast Open child's handshake is over: its request
    leaves the listener's Fast Open queue, and the retransmission timer is set for the data it
    may have sent meanwhile."""
    if sk.icsk_ca_state == TCP_CA_Loss and not sk.packets_out:
        tcp_try_undo_loss(sk, False)
    sk.icsk_retransmits = 0
    reqsk_fastopen_remove(sk, req, False)
    tcp_rearm_rto(sk)


def _negotiated(sk: TcpSock) -> None:
    """Settle the options both SYNs agreed on (part of ``tcp_rcv_synsent_state_process``)."""
    opt = sk.rx_opt
    if not opt.wscale_ok:
        opt.snd_wscale = 0
        opt.rcv_wscale = 0
        sk.window_clamp = min(sk.window_clamp, 65535)
    if opt.saw_tstamp:
        opt.tstamp_ok = True
        sk.tcp_header_len = 20 + TCPOLEN_TSTAMP_ALIGNED
        sk.advmss -= TCPOLEN_TSTAMP_ALIGNED
        tcp_store_ts_recent(sk)
    else:
        opt.tstamp_ok = False
        sk.tcp_header_len = 20
    if not opt.mss_clamp:
        opt.mss_clamp = 536


def tcp_rcv_state_process(sk: TcpSock, skb: SkBuff) -> int:
    """``tcp_rcv_state_process``: every state but ESTABLISHED; non-zero means send a RST."""
    flags = skb.tcp_flags
    state = sk.sk_state
    if state == TCP_CLOSE:
        return 1
    if state == TCP_LISTEN:
        if flags & TCPHDR_ACK:
            return 1
        if flags & TCPHDR_RST:
            return 0
        if flags & TCPHDR_SYN:
            if flags & TCPHDR_FIN:
                return 0
            sk.icsk_af_ops.conn_request(sk, skb)
        return 0
    if state == TCP_SYN_SENT:
        ret = tcp_rcv_synsent_state_process(sk, skb)
        return ret if ret > 0 else 0
    sk.segs_in += 1
    req = sk.fastopen_rsk
    if req is not None and tcp_minisocks.tcp_check_req(sk, skb, req, True) is None:
        return 0
    tcp_parse_options(skb, sk.rx_opt, True)
    if not flags & (TCPHDR_ACK | TCPHDR_RST | TCPHDR_SYN):
        return 0
    if not tcp_validate_incoming(sk, skb):
        return 0
    if not flags & TCPHDR_ACK:
        return 0
    acceptable = tcp_ack(sk, skb, FLAG_SLOWPATH | FLAG_UPDATE_TS_RECENT | FLAG_NO_CHALLENGE_ACK)
    if acceptable <= 0:
        if state == TCP_SYN_RECV:
            return 1
        if acceptable < 0:
            tcp_send_challenge_ack(sk)
            return 0
    if state == TCP_SYN_RECV:
        sk.delivered += 1
        if not sk.srtt_us:
            tcp_synack_rtt_meas(sk)
        if sk.rx_opt.tstamp_ok:
            # before tcp_init_buffer_space sizes rcv_space by it (Linux 6.16+)
            sk.advmss -= TCPOLEN_TSTAMP_ALIGNED
        if req is not None:
            tcp_rcv_synrecv_state_fastopen(sk, req)
        else:
            sk.retrans_stamp = -1
            tcp_init_transfer(sk)
            sk.copied_seq = sk.rcv_nxt
        tcp_set_state(sk, TCP_ESTABLISHED)
        if not sk.sk_dead:
            sk.sk_state_change()
        sk.snd_una = skb.ack_seq
        buf = skb.buf
        th = skb.transport_header
        sk.snd_wnd = ((buf[th + 14] << 8) | buf[th + 15]) << sk.rx_opt.snd_wscale
        sk.snd_wl1 = skb.seq
        tcp_fast_path_on(sk)
        if sk.icsk_ca_ops.cong_control is None:
            tcp_update_pacing_rate(sk)
        sk.lsndtime = sk.host.world.now
        tcp_initialize_rcv_mss(sk)
        if sk.sk_shutdown & SEND_SHUTDOWN:
            # shut down for writing before the handshake was over (a crossed SYN): the FIN
            # goes now (tcp_shutdown, through sk_prot)
            sk.sk_prot.shutdown(sk, SEND_SHUTDOWN)
    elif state == TCP_FIN_WAIT1:
        if req is not None:
            tcp_rcv_synrecv_state_fastopen(sk, req)
        if sk.snd_una == sk.write_seq:
            tcp_set_state(sk, TCP_FIN_WAIT2)
            sk.sk_shutdown |= SEND_SHUTDOWN
            if not sk.sk_dead:
                sk.sk_state_change()
            else:
                if sk.linger2 < 0:
                    tcp_done(sk)
                    sk.host.mib.TcpExt["TCPAbortOnData"] += 1
                    return 1
                if skb.end_seq != skb.seq and after((skb.end_seq - (flags & TCPHDR_FIN)) & SEQ_MASK,
                                                    sk.rcv_nxt):
                    tcp_done(sk)
                    sk.host.mib.TcpExt["TCPAbortOnData"] += 1
                    return 1
                tmo = tcp_minisocks.tcp_fin_time(sk)
                if tmo > TCP_TIMEWAIT_LEN:
                    tcp_timer.inet_csk_reset_keepalive_timer(sk, tmo - TCP_TIMEWAIT_LEN)
                elif flags & TCPHDR_FIN:
                    tcp_timer.inet_csk_reset_keepalive_timer(sk, tmo)
                else:
                    tcp_minisocks.tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)
                    return 0
    elif state == TCP_CLOSING:
        if sk.snd_una == sk.write_seq:
            tcp_minisocks.tcp_time_wait(sk, TCP_TIME_WAIT, 0)
            return 0
    elif state == TCP_LAST_ACK:
        if sk.snd_una == sk.write_seq:
            tcp_update_metrics(sk)
            tcp_done(sk)
            return 0
    tcp_urg(sk, skb)  # step 6: check the URG bit
    state = sk.sk_state
    if state in (TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK):
        if not before(skb.seq, sk.rcv_nxt):
            state = -1
    if state in (TCP_FIN_WAIT1, TCP_FIN_WAIT2) and sk.sk_shutdown & RCV_SHUTDOWN:
        if skb.end_seq != skb.seq and after((skb.end_seq - (flags & TCPHDR_FIN)) & SEQ_MASK, sk.rcv_nxt):
            sk.host.mib.TcpExt["TCPAbortOnData"] += 1
            tcp_reset(sk)
            return 1
    if state in (TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK):
        tcp_data_queue(sk, skb)
    if sk.sk_state != TCP_CLOSE:
        tcp_data_snd_check(sk)
        tcp_ack_snd_check(sk)
    return 0


# These import this module: bound once it is whole rather than at each call (a ``from ... import``
# in a function costs about a microsecond, CPython formatting two AttributeErrors as it looks for a
# package's __path__ in a plain module).
from tuxnet.net.ipv4 import tcp_minisocks, tcp_timer  # noqa: E402
