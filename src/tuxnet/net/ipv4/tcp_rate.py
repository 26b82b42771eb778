"""TCP delivery rate estimation (net/ipv4/tcp_rate.c, draft-cheng-iccrg-delivery-rate-estimation).

Each data segment sent records how much had been delivered, and when, at that moment; the ACK
that delivers it turns the difference into a rate sample: packets delivered over the longer of
the send interval and the ACK interval.  A sample taken while the application had nothing to
send says nothing about the path unless it is higher than the last one kept (``app_limited``).
The samples feed ``TCP_INFO``'s ``tcpi_delivery_rate`` (``ss -i``'s ``delivery_rate``) and the
congestion controls that read a ``rate_sample``.

Times are tuxnet's nanoseconds, stored as they are; intervals are microseconds, as Linux's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.kernel.minmax import max
from tuxnet.net.core.skbuff import SKB_TRUESIZE_OVERHEAD
from tuxnet.net.ipv4.tcp_sock import (
    SEQ_MASK,
    TCPCB_RETRANS,
    TCPCB_SACKED_ACKED,
    TcpSock,
    after,
    tcp_min_rtt,
    tcp_packets_in_flight,
    tcp_skb_cb,
    tcp_skb_sent_after,
    tcp_stamp_us_delta,
)
from tuxnet.world import USEC_PER_SEC

if TYPE_CHECKING:
    from tuxnet.net.core.skbuff import SkBuff



class RateSample:
    """``struct rate_sample``: what one ACK tells about the delivery rate.  ``prior_mstamp`` is
    -1 until a segment with a send-time snapshot is delivered; ``tcp_rate_gen`` sets the rest."""

    __slots__ = ("prior_mstamp", "prior_delivered", "prior_delivered_ce", "delivered", "delivered_ce",
                 "interval_us", "snd_interval_us", "rcv_interval_us", "rtt_us", "losses", "acked_sacked",
                 "prior_in_flight", "last_end_seq", "is_app_limited", "is_retrans", "is_ack_delayed")

    def __init__(self) -> None:
        self.prior_mstamp = -1
        self.prior_delivered = 0
        self.interval_us = 0
        self.rtt_us = -1
        self.last_end_seq = 0
        self.is_ack_delayed = False


def tcp_rate_skb_sent(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_rate_skb_sent``: snapshot the connection's delivery state in the segment as it
    leaves; with nothing in flight, the sending and delivery clocks restart now."""
    if not sk.packets_out:
        sk.first_tx_mstamp = skb.skb_mstamp
        sk.delivered_mstamp = skb.skb_mstamp
    cb = tcp_skb_cb(skb)
    cb.first_tx_mstamp = sk.first_tx_mstamp
    cb.delivered_mstamp = sk.delivered_mstamp
    cb.delivered = sk.delivered
    cb.delivered_ce = sk.delivered_ce
    cb.is_app_limited = sk.app_limited != 0


def tcp_rate_skb_delivered(sk: TcpSock, skb: SkBuff, rs: RateSample) -> None:
    """``tcp_rate_skb_delivered``: of the segments an ACK delivers (cumulatively or by SACK),
    the most recently sent one gives the sample its starting point; the send interval runs
    from the first send of its flight to its own."""
    cb = tcp_skb_cb(skb)
    if cb.delivered_mstamp < 0:
        return
    sent = skb.skb_mstamp
    if not rs.prior_delivered or tcp_skb_sent_after(sent, sk.first_tx_mstamp, skb.end_seq, rs.last_end_seq):
        rs.prior_delivered_ce = cb.delivered_ce
        rs.prior_delivered = cb.delivered
        rs.prior_mstamp = cb.delivered_mstamp
        rs.is_app_limited = cb.is_app_limited
        rs.is_retrans = bool(skb.sacked & TCPCB_RETRANS)
        rs.last_end_seq = skb.end_seq
        sk.first_tx_mstamp = sent
        rs.interval_us = tcp_stamp_us_delta(sent, cb.first_tx_mstamp)
    if skb.sacked & TCPCB_SACKED_ACKED:
        cb.delivered_mstamp = -1  # SACKed once: the cumulative ACK that follows takes no sample


def tcp_rate_gen(sk: TcpSock, delivered: int, lost: int, is_sack_reneg: bool, rs: RateSample) -> None:
    """``tcp_rate_gen``: finish the ACK's sample and keep it as the connection's delivery rate
    unless it is application-limited and lower than the one kept."""
    if sk.app_limited and after(sk.delivered, sk.app_limited):
        sk.app_limited = 0
    if delivered:
        sk.delivered_mstamp = sk.host.world.now
    rs.acked_sacked = delivered
    rs.losses = lost
    if rs.prior_mstamp < 0 or is_sack_reneg:
        rs.delivered = -1
        rs.interval_us = -1
        return
    rs.delivered = sk.delivered - rs.prior_delivered
    rs.delivered_ce = sk.delivered_ce - rs.prior_delivered_ce
    snd_us = rs.interval_us
    ack_us = tcp_stamp_us_delta(sk.host.world.now, rs.prior_mstamp)
    # The longer of the two: ACK compression cannot make the rate higher than the sending rate,
    # nor a burst of sends higher than the rate ACKs come back at.
    rs.interval_us = max(snd_us, ack_us)
    rs.snd_interval_us = snd_us
    rs.rcv_interval_us = ack_us
    if rs.interval_us < tcp_min_rtt(sk):
        # Shorter than a round trip: an ACK for a retransmission of a segment that was not lost,
        # or a receiver's stretch ACK gone wrong; no sample.
        rs.interval_us = -1
        return
    if (not rs.is_app_limited
            or rs.delivered * sk.rate_interval_us >= sk.rate_delivered * rs.interval_us):
        sk.rate_delivered = rs.delivered
        sk.rate_interval_us = rs.interval_us
        sk.rate_app_limited = rs.is_app_limited


def tcp_rate_check_app_limited(sk: TcpSock) -> None:
    """``tcp_rate_check_app_limited``, as ``tcp_sendmsg`` begins: with less than a segment
    waiting, nothing left in the qdisc or the device, room in cwnd and no lost segment waiting to
    be resent, the application is what holds the flow back; the samples of what is in flight now
    are marked application-limited."""
    if (((sk.write_seq - sk.snd_nxt) & SEQ_MASK) < sk.mss_cache
            and sk.sk_wmem_alloc < SKB_TRUESIZE_OVERHEAD + 1
            and tcp_packets_in_flight(sk) < sk.snd_cwnd
            and sk.lost_out <= sk.retrans_out):
        sk.app_limited = (sk.delivered + tcp_packets_in_flight(sk)) or 1


def tcp_compute_delivery_rate(sk: TcpSock) -> int:
    """``tcp_compute_delivery_rate``: the kept sample in bytes per second (0: none yet)."""
    if not sk.rate_interval_us:
        return 0
    return sk.rate_delivered * sk.mss_cache * USEC_PER_SEC // sk.rate_interval_us
