"""Loss detection (net/ipv4/tcp_recovery.c): RACK-TLP (RFC 8985) for SACK connections and
NewReno (RFC 6582) for the others, plus ``tcp_mark_skb_lost`` of net/ipv4/tcp_input.c.

RACK marks a segment lost when a segment sent after it has been delivered and more than the
latest RTT plus a reordering window has passed since it was sent; until then a timer
(``ICSK_TIME_REO_TIMEOUT``) waits for the rest of the window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.kernel.minmax import max, min
from tuxnet.net.ipv4.tcp_output import (
    ICSK_TIME_RETRANS,
    inet_csk_reset_xmit_timer,
    tcp_fragment,
    tcp_rearm_rto,
    tcp_skb_mss,
    tcp_xmit_retransmit_queue,
    usecs_to_jiffies,
)
from tuxnet.net.ipv4.tcp_sock import (
    ICSK_TIME_REO_TIMEOUT,
    TCP_TIMEOUT_MIN_US,
    TCPCB_LOST,
    TCPCB_RETRANS,
    TCPCB_SACKED_ACKED,
    TCPCB_SACKED_RETRANS,
    TCP_CA_Recovery,
    TcpSock,
    tcp_min_rtt,
    tcp_packets_in_flight,
    tcp_skb_pcount,
    tcp_skb_sent_after,
    tcp_stamp_us_delta,
)

if TYPE_CHECKING:
    from tuxnet.net.core.skbuff import SkBuff

TCP_RACK_LOSS_DETECTION = 0x1
TCP_RACK_STATIC_REO_WND = 0x2
TCP_RACK_NO_DUPTHRESH = 0x4
TCP_RACK_RECOVERY_THRESH = 16


def tcp_mark_skb_lost(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_mark_skb_lost``: tag a segment lost; a lost retransmission is in flight no more."""
    sacked = skb.sacked
    if sacked & TCPCB_SACKED_ACKED:
        return
    pcount = tcp_skb_pcount(skb)
    if sacked & TCPCB_LOST:
        if sacked & TCPCB_SACKED_RETRANS:
            skb.sacked &= ~TCPCB_SACKED_RETRANS
            sk.retrans_out -= pcount
            sk.host.mib.TcpExt["TCPLostRetransmit"] += pcount
            sk.lost += pcount  # tcp_notify_skb_loss_event
    else:
        sk.lost_out += pcount
        skb.sacked |= TCPCB_LOST
        sk.lost += pcount



def tcp_rack_reo_wnd(sk: TcpSock) -> int:
    """``tcp_rack_reo_wnd``: the reordering window in microseconds (RFC 8985 section 6.2)."""
    if not sk.reord_seen:
        if sk.icsk_ca_state >= TCP_CA_Recovery:
            return 0
        if (sk.sacked_out >= sk.reordering
                and not sk.host.sysctl["net.ipv4.tcp_recovery"] & TCP_RACK_NO_DUPTHRESH):
            return 0
    return min((tcp_min_rtt(sk) >> 2) * sk.rack.reo_wnd_steps, sk.srtt_us >> 3)


def tcp_rack_skb_timeout(sk: TcpSock, skb: SkBuff, reo_wnd: int) -> int:
    """``tcp_rack_skb_timeout``: microseconds left before ``skb`` counts as lost."""
    return sk.rack.rtt_us + reo_wnd - tcp_stamp_us_delta(sk.host.world.now, skb.skb_mstamp)


def tcp_rack_detect_loss(sk: TcpSock) -> int:
    """``tcp_rack_detect_loss``: mark what RACK deems lost; returns the longest wait (us) for the
    segments not yet overdue (0: none)."""
    reo_timeout = 0
    reo_wnd = tcp_rack_reo_wnd(sk)
    rack = sk.rack
    sent = sk.tsorted_sent_queue  # oldest sent first, nothing SACKed
    for skb in sent:
        sacked = skb.sacked
        if sacked & TCPCB_LOST and not sacked & TCPCB_SACKED_RETRANS:
            continue  # marked lost, not yet sent again
        if not tcp_skb_sent_after(rack.mstamp, skb.skb_mstamp, rack.end_seq, skb.end_seq):
            break  # this one, and all sent after it, were sent after the one delivered
        remaining = tcp_rack_skb_timeout(sk, skb, reo_wnd)
        if remaining <= 0:
            tcp_mark_skb_lost(sk, skb)
            sent.delete(skb)
        else:
            reo_timeout = max(reo_timeout, remaining)
    return reo_timeout


def tcp_rack_mark_lost(sk: TcpSock) -> bool:
    """``tcp_rack_mark_lost``: run RACK after the ACK advanced it; arm the reordering timer for
    segments still within the window.  True when that timer was armed."""
    if not sk.rack.advanced:
        return False
    sk.rack.advanced = False
    timeout = tcp_rack_detect_loss(sk)
    if timeout:
        inet_csk_reset_xmit_timer(sk, ICSK_TIME_REO_TIMEOUT, usecs_to_jiffies(timeout + TCP_TIMEOUT_MIN_US),
                                  sk.icsk_rto)
    return bool(timeout)


def tcp_rack_advance(sk: TcpSock, sacked: int, end_seq: int, xmit_time: int) -> None:
    """``tcp_rack_advance`` (RFC 8985 step 2): remember the latest-sent delivered segment."""
    rtt_us = tcp_stamp_us_delta(sk.host.world.now, xmit_time)
    if rtt_us < tcp_min_rtt(sk) and sacked & TCPCB_RETRANS:
        # A retransmission delivered sooner than min_rtt: the original was what arrived.
        return
    rack = sk.rack
    rack.advanced = True
    rack.rtt_us = rtt_us
    if tcp_skb_sent_after(xmit_time, rack.mstamp, end_seq, rack.end_seq):
        rack.mstamp = xmit_time
        rack.end_seq = end_seq


def tcp_rack_reo_timeout(sk: TcpSock) -> None:
    """``tcp_rack_reo_timeout``: the reordering window is over; mark and retransmit."""
    from tuxnet.net.ipv4.tcp_input import tcp_cwnd_reduction, tcp_enter_recovery

    prior_inflight = tcp_packets_in_flight(sk)
    tcp_rack_detect_loss(sk)
    if prior_inflight != tcp_packets_in_flight(sk):
        if sk.icsk_ca_state != TCP_CA_Recovery:
            tcp_enter_recovery(sk, False)
            if sk.icsk_ca_ops.cong_control is None:
                tcp_cwnd_reduction(sk, 1, 0)
        tcp_xmit_retransmit_queue(sk)
    if sk.icsk_pending != ICSK_TIME_RETRANS:
        tcp_rearm_rto(sk)


def tcp_rack_update_reo_wnd(sk: TcpSock, prior_delivered: int) -> None:
    """``tcp_rack_update_reo_wnd``: widen the reordering window after D-SACKs show spurious
    retransmissions; keep it for 16 recoveries."""
    if sk.host.sysctl["net.ipv4.tcp_recovery"] & TCP_RACK_STATIC_REO_WND or not prior_delivered:
        return
    rack = sk.rack
    if prior_delivered < rack.last_delivered:
        rack.dsack_seen = False
    if rack.dsack_seen:
        rack.reo_wnd_steps = min(0xFF, rack.reo_wnd_steps + 1)
        rack.dsack_seen = False
        rack.last_delivered = sk.delivered
        rack.reo_wnd_persist = TCP_RACK_RECOVERY_THRESH
    elif not rack.reo_wnd_persist:
        rack.reo_wnd_steps = 1


def tcp_newreno_mark_lost(sk: TcpSock, snd_una_advanced: bool) -> None:
    """``tcp_newreno_mark_lost`` (RFC 6582): the first unacknowledged segment is lost after
    enough duplicate ACKs, or after a partial ACK in recovery."""
    state = sk.icsk_ca_state
    if (state < TCP_CA_Recovery and sk.sacked_out >= sk.reordering) or (
            state == TCP_CA_Recovery and snd_una_advanced):
        skb = sk.tcp_rtx_queue[0]
        if skb.sacked & TCPCB_LOST:
            return
        mss = tcp_skb_mss(skb)
        if tcp_skb_pcount(skb) > 1 and skb.tail - skb.data > mss:
            tcp_fragment(sk, sk.tcp_rtx_queue, skb, mss, mss)
        tcp_mark_skb_lost(sk, skb)
