"""TCP input (net/ipv4/tcp_input.c): ACK processing, loss recovery, receiving data, and the
state machine of RFC 9293 section 3.10.7 as ``tcp_rcv_state_process`` implements it.

Segments arrive with ``TCP_SKB_CB`` filled by ``tcp_v4_rcv``: ``seq``, ``end_seq`` (counting SYN
and FIN), ``ack_seq``, ``tcp_flags``; ``skb.data`` points at the payload.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from tuxnet.kernel.errno import ECONNREFUSED, ECONNRESET, EPIPE
from tuxnet.net.core.sock import RCV_SHUTDOWN, SEND_SHUTDOWN, SHUTDOWN_MASK
from tuxnet.net.ipv4.tcp_output import (
    __tcp_select_window,
    inet_csk_clear_xmit_timer,
    inet_csk_reset_xmit_timer,
    tcp_current_mss,
    tcp_initialize_rcv_mss,
    tcp_packets_in_flight,
    tcp_probe0_base,
    tcp_push_pending_frames,
    tcp_rearm_rto,
    tcp_send_ack,
    tcp_send_delayed_ack,
    tcp_send_synack,
    tcp_sndbuf_expand,
    tcp_sync_mss,
    tcp_time_stamp,
    tcp_xmit_retransmit_queue,
)
from tuxnet.net.ipv4.tcp_sock import (
    ICSK_ACK_NOW,
    ICSK_ACK_PUSHED,
    ICSK_ACK_PUSHED2,
    ICSK_ACK_SCHED,
    ICSK_TIME_PROBE0,
    SEQ_MASK,
    TCP_ATO_MIN,
    TCP_CLOSE,
    TCP_CLOSE_WAIT,
    TCP_CLOSING,
    TCP_ESTABLISHED,
    TCP_FIN_WAIT1,
    TCP_FIN_WAIT2,
    TCP_INIT_CWND,
    TCP_LAST_ACK,
    TCP_LISTEN,
    TCP_MAX_QUICKACKS,
    TCP_RTO_MAX,
    TCP_RTO_MIN,
    TCP_SYN_RECV,
    TCP_SYN_SENT,
    TCP_TIME_WAIT,
    TCP_TIMEWAIT_LEN,
    TCPCB_EVER_RETRANS,
    TCPCB_LOST,
    TCPCB_SACKED_ACKED,
    TCPCB_SACKED_RETRANS,
    TCPHDR_ACK,
    TCPHDR_FIN,
    TCPHDR_RST,
    TCPHDR_SYN,
    TCPOLEN_TSTAMP_ALIGNED,
    TCPOPT_EOL,
    TCPOPT_MSS,
    TCPOPT_NOP,
    TCPOPT_SACK,
    TCPOPT_SACK_PERM,
    TCPOPT_TIMESTAMP,
    TCPOPT_WINDOW,
    TCP_CA_Disorder,
    TCP_CA_Loss,
    TCP_CA_Open,
    TCP_CA_Recovery,
    TcpOptionsReceived,
    TcpSock,
    after,
    before,
)

if TYPE_CHECKING:
    from tuxnet.net.core.skbuff import SkBuff

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
FLAG_UPDATE_TS_RECENT = 0x4000
FLAG_ACKED = FLAG_DATA_ACKED | FLAG_SYN_ACKED
FLAG_NOT_DUP = FLAG_DATA | FLAG_WIN_UPDATE | FLAG_ACKED
FLAG_CA_ALERT = FLAG_DATA_SACKED | FLAG_ECE | FLAG_DSACKING_ACK

TCP_PAWS_WINDOW = 1
TCP_PAWS_24DAYS = 60 * 60 * 24 * 24 * 1_000_000_000

_u32 = struct.Struct("!I")


# -- options ---------------------------------------------------------------------------------

def tcp_parse_options(skb: SkBuff, opt_rx: TcpOptionsReceived, estab: bool) -> None:
    """``tcp_parse_options``: read MSS, window scale, SACK-permitted (on SYNs), timestamps and
    SACK blocks; a malformed option ends the parse, as in Linux."""
    buf = skb.buf
    th = skb.transport_header
    ptr = th + 20
    end = th + ((buf[th + 12] >> 4) << 2)
    opt_rx.saw_tstamp = False
    opt_rx.num_sacks = 0
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
        ptr += size


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
    m = max(mrtt_us, 1)
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
    """``tcp_set_rto``: RTO = SRTT + 4 * RTTVAR (RFC 6298 2.3), at most 120 s."""
    sk.icsk_rto = min(((sk.srtt_us >> 3) + sk.rttvar_us) * 1000, TCP_RTO_MAX)


def tcp_ack_update_rtt(sk: TcpSock, flag: int, seq_rtt_us: int) -> None:
    """``tcp_ack_update_rtt``: Karn's rule; timestamps fill in for retransmitted segments."""
    opt = sk.rx_opt
    if seq_rtt_us < 0 and opt.saw_tstamp and opt.rcv_tsecr and flag & FLAG_ACKED:
        delta_ms = (tcp_time_stamp(sk) - opt.rcv_tsecr) & SEQ_MASK
        if delta_ms < 0x80000000:
            seq_rtt_us = max(delta_ms * 1000, 1)
    if seq_rtt_us < 0:
        return
    tcp_rtt_estimator(sk, seq_rtt_us)
    tcp_set_rto(sk)
    sk.icsk_backoff = 0


# -- ACK processing --------------------------------------------------------------------------

def tcp_may_update_window(sk: TcpSock, ack: int, ack_seq: int, nwin: int) -> bool:
    """RFC 9293 section 3.10.7.4 (SND.WL1/SND.WL2 test)."""
    return after(ack, sk.snd_una) or after(ack_seq, sk.snd_wl1) or (ack_seq == sk.snd_wl1 and nwin > sk.snd_wnd)


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
            if nwin > sk.max_window:
                sk.max_window = nwin
                tcp_sync_mss(sk, sk.pmtu_cookie)
    sk.snd_una = ack
    return flag


def tcp_clean_rtx_queue(sk: TcpSock, prior_snd_una: int) -> tuple[int, int, int]:
    """``tcp_clean_rtx_queue``: free what the ACK covers; returns (flag, packets acked, rtt_us)."""
    now = sk.host.world.now
    flag = 0
    pkts_acked = 0
    first_ackt = -1
    rtx = sk.tcp_rtx_queue
    snd_una = sk.snd_una
    while rtx:
        skb = rtx[0]
        if after(skb.end_seq, snd_una):
            break
        rtx.popleft()
        sacked = skb.sacked
        if sacked & TCPCB_SACKED_RETRANS:
            sk.retrans_out -= 1
        if sacked & TCPCB_EVER_RETRANS:
            flag |= FLAG_RETRANS_DATA_ACKED
        elif first_ackt < 0:
            first_ackt = skb.skb_mstamp
        if sacked & TCPCB_LOST:
            sk.lost_out -= 1
        if sacked & TCPCB_SACKED_ACKED:
            sk.sacked_out -= 1
        sk.packets_out -= 1
        pkts_acked += 1
        size = skb.tail - skb.data
        sk.sk_wmem_queued -= size
        if skb.tcp_flags & TCPHDR_SYN:
            flag |= FLAG_SYN_ACKED
            sk.retrans_stamp = -1
        else:
            flag |= FLAG_DATA_ACKED
    sk.bytes_acked += (snd_una - prior_snd_una) & SEQ_MASK
    sk.delivered += pkts_acked
    seq_rtt_us = (now - first_ackt) // 1000 if first_ackt >= 0 and not flag & FLAG_RETRANS_DATA_ACKED else -1
    if flag & FLAG_ACKED:
        tcp_ack_update_rtt(sk, flag, seq_rtt_us)
        tcp_rearm_rto(sk)
        if sk.icsk_ca_ops is not None:
            sk.icsk_ca_ops.pkts_acked(sk, pkts_acked, seq_rtt_us)
    if not sk.packets_out:
        sk.retrans_stamp = -1
    return flag, pkts_acked, seq_rtt_us


def tcp_ack_probe(sk: TcpSock) -> None:
    """``tcp_ack_probe``: stop probing once the window opens, else keep backing off."""
    head = sk.tcp_send_head()
    if head is None:
        return
    if not after(head.end_seq if head.tail - head.data <= tcp_current_mss(sk) else
                 (head.seq + tcp_current_mss(sk)) & SEQ_MASK, (sk.snd_una + sk.snd_wnd) & SEQ_MASK):
        sk.icsk_backoff = 0
        sk.icsk_probes_out = 0
        inet_csk_clear_xmit_timer(sk)
    else:
        when = min(tcp_probe0_base(sk) << sk.icsk_backoff, TCP_RTO_MAX)
        inet_csk_reset_xmit_timer(sk, ICSK_TIME_PROBE0, when)


def tcp_cong_avoid(sk: TcpSock, ack: int, acked: int) -> None:
    sk.icsk_ca_ops.cong_avoid(sk, ack, acked)


def tcp_set_ca_state(sk: TcpSock, state: int) -> None:
    sk.icsk_ca_ops.set_state(sk, state)
    sk.icsk_ca_state = state


def tcp_mark_head_lost(sk: TcpSock) -> None:
    """Mark the first unacknowledged segment lost (NewReno's retransmission target)."""
    for skb in sk.tcp_rtx_queue:
        if skb.sacked & TCPCB_SACKED_ACKED:
            continue
        if skb.sacked & TCPCB_SACKED_RETRANS and sk.icsk_ca_state == TCP_CA_Recovery:
            # NewReno: a hole already retransmitted in this recovery is retransmitted again only
            # when a partial ACK shows the retransmission was lost too.
            skb.sacked &= ~TCPCB_SACKED_RETRANS
            sk.retrans_out -= 1
        if not skb.sacked & TCPCB_LOST:
            skb.sacked |= TCPCB_LOST
            sk.lost_out += 1
        return


def tcp_enter_recovery(sk: TcpSock) -> None:
    """``tcp_enter_recovery``: fast retransmit (RFC 5681 3.2) with PRR's bookkeeping (RFC 6937)."""
    mib = sk.host.mib.TcpExt
    mib["TCPRenoRecovery"] += 1
    sk.prior_ssthresh = 0
    sk.undo_marker = sk.snd_una
    sk.prior_cwnd = sk.snd_cwnd
    sk.prr_delivered = 0
    sk.prr_out = 0
    sk.snd_ssthresh = sk.icsk_ca_ops.ssthresh(sk)
    sk.high_seq = sk.snd_nxt
    tcp_set_ca_state(sk, TCP_CA_Recovery)


def tcp_cwnd_reduction(sk: TcpSock, newly_acked_sacked: int) -> None:
    """``tcp_cwnd_reduction``: Proportional Rate Reduction (RFC 6937)."""
    if newly_acked_sacked <= 0 or not sk.prior_cwnd:
        return
    delta = sk.snd_ssthresh - tcp_packets_in_flight(sk)
    sk.prr_delivered += newly_acked_sacked
    if delta < 0:
        dividend = sk.snd_ssthresh * sk.prr_delivered + sk.prior_cwnd - 1
        sndcnt = dividend // sk.prior_cwnd - sk.prr_out
    else:
        sndcnt = min(delta, max(sk.prr_delivered - sk.prr_out, newly_acked_sacked) + 1)
    sndcnt = max(sndcnt, 0 if sk.prr_out else 1)
    sk.snd_cwnd = tcp_packets_in_flight(sk) + sndcnt


def tcp_end_cwnd_reduction(sk: TcpSock) -> None:
    if sk.snd_ssthresh < 0x7FFFFFFF:
        sk.snd_cwnd = sk.snd_ssthresh
        sk.snd_cwnd_cnt = 0


def tcp_fastretrans_alert(sk: TcpSock, prior_snd_una: int, pkts_acked: int, flag: int) -> None:
    """``tcp_fastretrans_alert`` for a peer without SACK: Reno's duplicate-ACK counting with
    NewReno's partial-ACK rule (RFC 6582) and PRR for the window."""
    is_dupack = not flag & (FLAG_SND_UNA_ADVANCED | FLAG_NOT_DUP)
    state = sk.icsk_ca_state
    if state == TCP_CA_Loss:
        if not before(sk.snd_una, sk.high_seq):
            tcp_set_ca_state(sk, TCP_CA_Open)
            sk.sacked_out = 0
        else:
            tcp_xmit_retransmit_queue(sk)
        return
    if state == TCP_CA_Recovery:
        if not before(sk.snd_una, sk.high_seq):
            tcp_end_cwnd_reduction(sk)
            tcp_set_ca_state(sk, TCP_CA_Open)
            sk.sacked_out = 0
            sk.dup_acks = 0
            return
        if is_dupack:
            sk.sacked_out = min(sk.sacked_out + 1, max(sk.packets_out - 1, 0))
            tcp_cwnd_reduction(sk, 1)
        else:
            # NewReno partial ACK: the next hole is lost too.
            sk.sacked_out = max(0, sk.sacked_out - pkts_acked + 1)
            tcp_cwnd_reduction(sk, max(pkts_acked, 1))
            tcp_mark_head_lost(sk)
        tcp_xmit_retransmit_queue(sk)
        return
    if is_dupack and sk.packets_out:
        sk.dup_acks += 1
        sk.sacked_out = min(sk.sacked_out + 1, max(sk.packets_out - 1, 0))
        if sk.dup_acks >= sk.reordering:
            tcp_enter_recovery(sk)
            tcp_mark_head_lost(sk)
            tcp_xmit_retransmit_queue(sk)
            sk.host.mib.TcpExt["TCPFastRetrans"] += 1
        elif state == TCP_CA_Open:
            tcp_set_ca_state(sk, TCP_CA_Disorder)
        return
    if flag & FLAG_SND_UNA_ADVANCED:
        sk.dup_acks = 0
        sk.sacked_out = 0
        if state == TCP_CA_Disorder:
            tcp_set_ca_state(sk, TCP_CA_Open)


def tcp_ack(sk: TcpSock, skb: SkBuff, flag: int) -> int:
    """``tcp_ack``: process the acknowledgement; 1 for an acceptable ACK, 0 for an old one,
    -1 for one that acknowledges what was never sent."""
    prior_snd_una = sk.snd_una
    ack = skb.ack_seq
    if before(ack, prior_snd_una):
        if before(ack, (prior_snd_una - sk.max_window) & SEQ_MASK) and not skb.tcp_flags & TCPHDR_SYN:
            tcp_send_challenge_ack(sk)
            return -1
        return 0
    if after(ack, sk.snd_nxt):
        tcp_send_challenge_ack(sk)
        return -1
    if after(ack, prior_snd_una):
        flag |= FLAG_SND_UNA_ADVANCED
        sk.icsk_retransmits = 0
    if skb.tail > skb.data:
        flag |= FLAG_DATA
    flag |= tcp_ack_update_window(sk, skb, ack, skb.seq)
    sk.sk_err_soft = 0
    sk.icsk_probes_out = 0
    sk.rcv_tstamp = sk.host.world.now
    pkts_acked = 0
    if sk.tcp_rtx_queue:
        cflag, pkts_acked, _ = tcp_clean_rtx_queue(sk, prior_snd_una)
        flag |= cflag
    if sk.icsk_ca_state != TCP_CA_Open or not flag & FLAG_NOT_DUP or flag & FLAG_CA_ALERT:
        tcp_fastretrans_alert(sk, prior_snd_una, pkts_acked, flag)
    if flag & FLAG_ACKED and sk.icsk_ca_state in (TCP_CA_Open, TCP_CA_Disorder, TCP_CA_Loss):
        tcp_cong_avoid(sk, ack, pkts_acked)
    if sk.icsk_pending == ICSK_TIME_PROBE0 or (not sk.packets_out and sk.sk_write_queue):
        tcp_ack_probe(sk)
    return 1


def tcp_send_challenge_ack(sk: TcpSock) -> None:
    """``tcp_send_challenge_ack`` (RFC 5961 section 7): rate-limited per socket and host."""
    now = sk.host.world.now
    limit = sk.host.sysctl["net.ipv4.tcp_invalid_ratelimit"] * 1_000_000
    last = getattr(sk, "last_oow_ack_time", -limit - 1)
    if now - last < limit:
        return
    sk.last_oow_ack_time = now
    sk.host.mib.TcpExt["TCPChallengeACK"] += 1
    tcp_send_ack(sk)


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


def tcp_measure_rcv_mss(sk: TcpSock, length: int) -> None:
    """``tcp_measure_rcv_mss``: track the peer's segment size; small pushes mark ``PUSHED``."""
    ack = sk.icsk_ack
    if length >= ack.rcv_mss:
        ack.rcv_mss = min(length, sk.advmss)
    else:
        if ack.pending & ICSK_ACK_PUSHED:
            ack.pending |= ICSK_ACK_PUSHED2
        ack.pending |= ICSK_ACK_PUSHED


def tcp_grow_window(sk: TcpSock) -> None:
    """``tcp_grow_window``: open the offered window as data keeps arriving."""
    from tuxnet.net.ipv4.tcp_output import tcp_space

    if sk.rcv_ssthresh < sk.window_clamp and sk.rcv_ssthresh < tcp_space(sk):
        sk.rcv_ssthresh = min(sk.rcv_ssthresh + 2 * sk.advmss, sk.window_clamp)


def tcp_event_data_recv(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_event_data_recv``: schedule an ACK and adapt the delayed-ACK timeout (ATO)."""
    ack = sk.icsk_ack
    ack.pending |= ICSK_ACK_SCHED
    tcp_measure_rcv_mss(sk, skb.tail - skb.data)
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
    tcp_grow_window(sk)


def tcp_dsack_set(sk: TcpSock, seq: int, end_seq: int) -> None:
    """``tcp_dsack_set`` (RFC 2883): report a duplicate in the next ACK."""
    if sk.rx_opt.sack_ok and sk.host.sysctl["net.ipv4.tcp_dsack"]:
        mib = sk.host.mib.TcpExt
        mib["TCPDSACKOldSent" if before(seq, sk.rcv_nxt) else "TCPDSACKOfoSent"] += 1
        sk.duplicate_sack = [(seq, end_seq)]


def tcp_sack_update(sk: TcpSock, newest: SkBuff | None) -> None:
    """Rebuild the SACK blocks from the out-of-order queue (RFC 2018 section 4: the block with
    the newest segment first, then the others in order of recency)."""
    ranges: list[list[int]] = []
    for skb in sk.out_of_order_queue:
        if ranges and not after(skb.seq, ranges[-1][1]):
            if after(skb.end_seq, ranges[-1][1]):
                ranges[-1][1] = skb.end_seq
        else:
            ranges.append([skb.seq, skb.end_seq])
    blocks = [(a, b) for a, b in ranges]
    if not blocks:
        sk.selective_acks = []
        return

    def containing(seq: int) -> tuple[int, int] | None:
        for a, b in blocks:
            if not before(seq, a) and before(seq, b):
                return (a, b)
        return None

    ordered: list[tuple[int, int]] = []
    if newest is not None:
        first = containing(newest.seq)
        if first is not None:
            ordered.append(first)
    for a, _ in sk.selective_acks:
        blk = containing(a)
        if blk is not None and blk not in ordered:
            ordered.append(blk)
    for blk in blocks:
        if blk not in ordered:
            ordered.append(blk)
    sk.selective_acks = ordered[:4]


def tcp_data_queue_ofo(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_data_queue_ofo``: keep an out-of-order segment, dropping what it duplicates."""
    sk.host.mib.TcpExt["TCPOFOQueue"] += 1
    sk.icsk_ack.pending |= ICSK_ACK_SCHED
    ofo = sk.out_of_order_queue
    seq, end_seq = skb.seq, skb.end_seq
    for other in ofo:
        if not before(seq, other.seq) and not after(end_seq, other.end_seq):
            sk.host.mib.TcpExt["TCPOFOMerge"] += 1
            tcp_dsack_set(sk, seq, end_seq)
            return
    kept = [o for o in ofo if not (not before(o.seq, seq) and not after(o.end_seq, end_seq))]
    for o in ofo:
        if o not in kept:
            sk.sk_rmem_alloc -= o.tail - o.data
    i = 0
    while i < len(kept) and before(kept[i].seq, seq):
        i += 1
    kept.insert(i, skb)
    sk.out_of_order_queue = kept
    sk.sk_rmem_alloc += skb.tail - skb.data
    tcp_sack_update(sk, skb)


def tcp_queue_rcv(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_queue_rcv``: append in-order data to the receive queue; RCV.NXT moves on."""
    if skb.tail > skb.data or skb.tcp_flags & TCPHDR_FIN:
        sk.sk_receive_queue.append(skb)
        sk.sk_rmem_alloc += skb.tail - skb.data
    sk.rcv_nxt = skb.end_seq
    sk.bytes_received += skb.tail - skb.data


def tcp_ofo_queue(sk: TcpSock) -> None:
    """``tcp_ofo_queue``: move segments that are now in order to the receive queue."""
    ofo = sk.out_of_order_queue
    while ofo and not after(ofo[0].seq, sk.rcv_nxt):
        skb = ofo.pop(0)
        sk.sk_rmem_alloc -= skb.tail - skb.data
        if not after(skb.end_seq, sk.rcv_nxt):
            tcp_dsack_set(sk, skb.seq, skb.end_seq)
            continue
        cut = (sk.rcv_nxt - skb.seq) & SEQ_MASK
        if cut:
            skb.data += min(cut, skb.tail - skb.data)
            skb.seq = sk.rcv_nxt
        tcp_queue_rcv(sk, skb)
        if skb.tcp_flags & TCPHDR_FIN:
            tcp_fin(sk)


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
        if sk.sk_rmem_alloc + (skb.tail - skb.data) > sk.sk_rcvbuf and skb.tail > skb.data:
            sk.host.mib.TcpExt["TCPRcvQDrop"] += 1
            sk.icsk_ack.pending |= ICSK_ACK_SCHED
            return
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
            tcp_sack_update(sk, None)
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
        skb.data += min(cut, skb.tail - skb.data)
        skb.seq = sk.rcv_nxt
        tcp_data_queue(sk, skb)
        return
    tcp_data_queue_ofo(sk, skb)


def tcp_fin(sk: TcpSock) -> None:
    """``tcp_fin``: the peer has finished sending (RFC 9293 section 3.10.7.4, eighth step)."""
    sk.icsk_ack.pending |= ICSK_ACK_SCHED
    sk.sk_shutdown |= RCV_SHUTDOWN
    state = sk.sk_state
    if state in (TCP_SYN_RECV, TCP_ESTABLISHED):
        tcp_set_state(sk, TCP_CLOSE_WAIT)
        sk.icsk_ack.pingpong = 1
    elif state == TCP_FIN_WAIT1:
        tcp_send_ack(sk)
        tcp_set_state(sk, TCP_CLOSING)
    elif state == TCP_FIN_WAIT2:
        tcp_send_ack(sk)
        from tuxnet.net.ipv4.tcp_minisocks import tcp_time_wait

        tcp_time_wait(sk, TCP_TIME_WAIT, 0)
    for skb in sk.out_of_order_queue:
        sk.sk_rmem_alloc -= skb.tail - skb.data
    sk.out_of_order_queue = []
    sk.selective_acks = []
    if not sk.sk_dead:
        sk.sk_state_change()


def __tcp_ack_snd_check(sk: TcpSock, ofo_possible: bool) -> None:
    """``__tcp_ack_snd_check``: ACK now (a full segment unacknowledged, quick-ACK mode, a hole),
    or let the delayed-ACK timer do it."""
    ack = sk.icsk_ack
    if ((((sk.rcv_nxt - sk.rcv_wup) & SEQ_MASK) > ack.rcv_mss and __tcp_select_window(sk) >= sk.rcv_wnd)
            or tcp_in_quickack_mode(sk) or ack.pending & ICSK_ACK_NOW
            or (ofo_possible and sk.out_of_order_queue)):
        tcp_send_ack(sk)
    else:
        tcp_send_delayed_ack(sk)


def tcp_ack_snd_check(sk: TcpSock) -> None:
    if not sk.icsk_ack.pending & ICSK_ACK_SCHED:
        return
    __tcp_ack_snd_check(sk, True)


def tcp_check_space(sk: TcpSock) -> None:
    """``tcp_check_space``: wake a writer once acknowledged data freed enough room."""
    if sk.sk_wmem_queued < sk.sk_sndbuf and sk.sk_socket is not None:
        sk.sk_write_space()


def tcp_data_snd_check(sk: TcpSock) -> None:
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
        from tuxnet.net.ipv4.tcp_ipv4 import inet_unhash

        inet_unhash(sk)


def tcp_done(sk: TcpSock) -> None:
    """``tcp_done``: the connection is over; wake the owner or free an orphan."""
    if sk.sk_state in (TCP_SYN_SENT, TCP_SYN_RECV):
        sk.host.mib.Tcp["AttemptFails"] += 1
    tcp_set_state(sk, TCP_CLOSE)
    tcp_clear_xmit_timers(sk)
    sk.sk_shutdown = SHUTDOWN_MASK
    if not sk.sk_dead:
        sk.sk_state_change()
    else:
        from tuxnet.net.ipv4.tcp_ipv4 import inet_csk_destroy_sock

        inet_csk_destroy_sock(sk)


def tcp_clear_xmit_timers(sk: TcpSock) -> None:
    sk.icsk_pending = 0
    sk.icsk_ack.pending = 0
    sk.icsk_retransmit_timer.delete()
    sk.icsk_delack_timer.delete()
    sk.sk_timer.delete()


def tcp_write_queue_purge(sk: TcpSock) -> None:
    sk.sk_write_queue.clear()
    sk.tcp_rtx_queue.clear()
    sk.sk_wmem_queued = 0
    sk.packets_out = 0
    sk.retrans_out = 0
    sk.lost_out = 0
    sk.sacked_out = 0


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
    """``tcp_init_transfer``: initial cwnd (RFC 6928), send buffer, congestion control."""
    sk.snd_cwnd = TCP_INIT_CWND
    sk.snd_cwnd_cnt = 0
    sk.lsndtime = sk.host.world.now
    tcp_sndbuf_expand(sk)
    sk.icsk_ca_ops.init(sk)
    if sk.sk_keepopen:
        from tuxnet.net.ipv4.tcp_timer import inet_csk_reset_keepalive_timer, keepalive_time_when

        inet_csk_reset_keepalive_timer(sk, keepalive_time_when(sk))


def tcp_finish_connect(sk: TcpSock) -> None:
    """``tcp_finish_connect``: SYN_SENT becomes ESTABLISHED."""
    tcp_set_state(sk, TCP_ESTABLISHED)
    sk.rcv_tstamp = sk.host.world.now
    tcp_init_transfer(sk)
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


def tcp_rcv_established(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_rcv_established``: a segment for an ESTABLISHED socket (always the slow path)."""
    sk.segs_in += 1
    if skb.tail > skb.data:
        sk.data_segs_in += 1
    tcp_parse_options(skb, sk.rx_opt, True)
    if not tcp_validate_incoming(sk, skb):
        return
    if not skb.tcp_flags & TCPHDR_ACK:
        return
    if tcp_ack(sk, skb, FLAG_SLOWPATH | FLAG_UPDATE_TS_RECENT) < 0:
        return
    tcp_replace_ts_recent(sk, skb.seq)
    tcp_data_queue(sk, skb)
    if sk.sk_state != TCP_CLOSE:
        tcp_data_snd_check(sk)
        tcp_ack_snd_check(sk)


def tcp_rcv_synsent_state_process(sk: TcpSock, skb: SkBuff) -> int:
    """``tcp_rcv_synsent_state_process``: the answer to our SYN (RFC 9293 section 3.10.7.3)."""
    flags = skb.tcp_flags
    opt = sk.rx_opt
    tcp_parse_options(skb, opt, False)
    if flags & TCPHDR_ACK:
        if not after(skb.ack_seq, sk.snd_una) or after(skb.ack_seq, sk.snd_nxt):
            return 0 if flags & TCPHDR_RST else 1
        if flags & TCPHDR_RST:
            tcp_reset(sk)
            return 0
        if not flags & TCPHDR_SYN:
            return 0
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
        if skb.tail > skb.data:
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
            from tuxnet.net.ipv4.tcp_ipv4 import tcp_v4_conn_request

            tcp_v4_conn_request(sk, skb)
        return 0
    if state == TCP_SYN_SENT:
        ret = tcp_rcv_synsent_state_process(sk, skb)
        return ret if ret > 0 else 0
    sk.segs_in += 1
    tcp_parse_options(skb, sk.rx_opt, True)
    if not flags & (TCPHDR_ACK | TCPHDR_RST | TCPHDR_SYN):
        return 0
    if not tcp_validate_incoming(sk, skb):
        return 0
    if not flags & TCPHDR_ACK:
        return 0
    acceptable = tcp_ack(sk, skb, FLAG_SLOWPATH | FLAG_UPDATE_TS_RECENT) > 0
    if state == TCP_SYN_RECV:
        if not acceptable:
            return 1
        tcp_set_state(sk, TCP_ESTABLISHED)
        sk.snd_una = skb.ack_seq
        buf = skb.buf
        th = skb.transport_header
        sk.snd_wnd = ((buf[th + 14] << 8) | buf[th + 15]) << sk.rx_opt.snd_wscale
        sk.snd_wl1 = skb.seq
        tcp_init_transfer(sk)
        if not sk.sk_dead:
            sk.sk_state_change()
    elif state == TCP_FIN_WAIT1:
        if sk.snd_una == sk.write_seq:
            tcp_set_state(sk, TCP_FIN_WAIT2)
            sk.sk_shutdown |= SEND_SHUTDOWN
            if not sk.sk_dead:
                sk.sk_state_change()
            else:
                from tuxnet.net.ipv4.tcp_minisocks import tcp_fin_time, tcp_time_wait
                from tuxnet.net.ipv4.tcp_timer import inet_csk_reset_keepalive_timer

                if sk.linger2 < 0:
                    tcp_done(sk)
                    sk.host.mib.TcpExt["TCPAbortOnData"] += 1
                    return 1
                if skb.end_seq != skb.seq and after((skb.end_seq - (flags & TCPHDR_FIN)) & SEQ_MASK,
                                                    sk.rcv_nxt):
                    tcp_done(sk)
                    sk.host.mib.TcpExt["TCPAbortOnData"] += 1
                    return 1
                tmo = tcp_fin_time(sk)
                if tmo > TCP_TIMEWAIT_LEN:
                    inet_csk_reset_keepalive_timer(sk, tmo - TCP_TIMEWAIT_LEN)
                elif flags & TCPHDR_FIN:
                    inet_csk_reset_keepalive_timer(sk, tmo)
                else:
                    tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)
                    return 0
    elif state == TCP_CLOSING:
        if sk.snd_una == sk.write_seq:
            from tuxnet.net.ipv4.tcp_minisocks import tcp_time_wait

            tcp_time_wait(sk, TCP_TIME_WAIT, 0)
            return 0
    elif state == TCP_LAST_ACK:
        if sk.snd_una == sk.write_seq:
            tcp_done(sk)
            return 0
    tcp_replace_ts_recent(sk, skb.seq)
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

