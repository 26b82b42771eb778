"""TCP timers (net/ipv4/tcp_timer.c): retransmission, loss probe, RACK reordering, persist
(zero-window probe), delayed ACK and keepalive, each running in softirq context when its time
comes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.kernel.errno import ETIMEDOUT
from tuxnet.kernel.minmax import max, max3, min
from tuxnet.net.core.sock import SOCK_TXREHASH_ENABLED
from tuxnet.net.ipv4.tcp_input import (
    tcp_done,
    tcp_enter_loss,
    tcp_write_queue_purge,
)
from tuxnet.net.ipv4.tcp_output import (
    inet_csk_reset_xmit_timer,
    tcp_mss_to_mtu,
    tcp_mtu_to_mss,
    tcp_retransmit_skb,
    tcp_send_ack,
    tcp_send_active_reset,
    tcp_send_loss_probe,
    tcp_send_probe0,
    tcp_sync_mss,
    tcp_write_wakeup,
)
from tuxnet.net.ipv4.tcp_recovery import tcp_rack_reo_timeout
from tuxnet.net.ipv4.tcp_sock import (
    ICSK_ACK_SCHED,
    ICSK_ACK_TIMER,
    ICSK_TIME_LOSS_PROBE,
    ICSK_TIME_PROBE0,
    ICSK_TIME_REO_TIMEOUT,
    ICSK_TIME_RETRANS,
    TCP_ATO_MIN,
    TCP_CLOSE,
    TCP_ESTABLISHED,
    TCP_FIN_WAIT2,
    TCP_LISTEN,
    TCP_RESOURCE_PROBE_INTERVAL,
    TCP_RTO_MAX,
    TCP_RTO_MIN,
    TCP_SYN_RECV,
    TCP_SYN_SENT,
    TCP_TIMEOUT_INIT,
    TCP_TIMEWAIT_LEN,
    TcpSock,
)
from tuxnet.world import NSEC_PER_MSEC, NSEC_PER_SEC

if TYPE_CHECKING:
    from tuxnet.net.ipv4.tcp_minisocks import RequestSock

TCP_THIN_LINEAR_RETRIES = 6


def tcp_init_xmit_timers(sk: TcpSock) -> None:
    """``tcp_init_xmit_timers`` → ``inet_csk_init_xmit_timers``."""
    host = sk.host
    sk.icsk_retransmit_timer = host.timer(tcp_write_timer, sk)
    sk.icsk_delack_timer = host.timer(tcp_delack_timer, sk)
    sk.sk_timer = host.timer(tcp_keepalive_timer, sk)


def tcp_write_err(sk: TcpSock) -> None:
    """``tcp_write_err``: give up on the connection with ETIMEDOUT (or the soft error seen)."""
    sk.sk_err = sk.sk_err_soft or ETIMEDOUT
    sk.sk_error_report()
    tcp_write_queue_purge(sk)
    tcp_done(sk)
    sk.host.mib.TcpExt["TCPAbortOnTimeout"] += 1


def tcp_model_timeout(boundary: int, rto_base: int) -> int:
    """``tcp_model_timeout``: how long ``boundary`` exponentially backed-off RTOs take."""
    linear_backoff_thresh = (TCP_RTO_MAX // rto_base).bit_length() - 1
    if boundary <= linear_backoff_thresh:
        return ((2 << boundary) - 1) * rto_base
    return ((2 << linear_backoff_thresh) - 1) * rto_base + (boundary - linear_backoff_thresh) * TCP_RTO_MAX


def retransmits_timed_out(sk: TcpSock, boundary: int, timeout: int) -> bool:
    """``retransmits_timed_out``: has the time for ``boundary`` backed-off RTOs (or the user
    timeout) passed since the first retransmission?  (Linux counts time, not retransmissions.)"""
    if not sk.icsk_retransmits:
        return False
    start = sk.retrans_stamp
    if start < 0:
        return False
    if not timeout:
        rto_base = TCP_TIMEOUT_INIT if sk.sk_state in (TCP_SYN_SENT, TCP_SYN_RECV) else TCP_RTO_MIN
        timeout = tcp_model_timeout(boundary, rto_base)
    return sk.host.world.now - start >= timeout


def tcp_mtu_probing(sk: TcpSock) -> None:
    """``tcp_mtu_probing``: black hole detection (RFC 4821 section 7.5).  Segments keep timing
    out: with ``tcp_mtu_probing`` set, start the path MTU search (mode 1), or halve its floor
    (no lower than ``tcp_base_mss``, ``tcp_mtu_probe_floor`` and ``tcp_min_snd_mss``), and send
    smaller segments."""
    sysctl = sk.host.sysctl
    if not sysctl["net.ipv4.tcp_mtu_probing"]:
        return
    mtup = sk.icsk_mtup
    if not mtup.enabled:
        mtup.enabled = True
        mtup.probe_timestamp = sk.host.world.now
    else:
        mss = tcp_mtu_to_mss(sk, mtup.search_low) >> 1
        mss = min(sysctl["net.ipv4.tcp_base_mss"], mss)
        mss = max3(mss, sysctl["net.ipv4.tcp_mtu_probe_floor"], sysctl["net.ipv4.tcp_min_snd_mss"])
        mtup.search_low = tcp_mss_to_mtu(sk, mss)
    tcp_sync_mss(sk, sk.pmtu_cookie)


def tcp_write_timeout(sk: TcpSock) -> bool:
    """``tcp_write_timeout``: True when the connection was aborted."""
    sysctl = sk.host.sysctl
    if sk.sk_state in (TCP_SYN_SENT, TCP_SYN_RECV):
        retry_until = sk.icsk_syn_retries or sysctl["net.ipv4.tcp_syn_retries"]
    else:
        if retransmits_timed_out(sk, sysctl["net.ipv4.tcp_retries1"], 0):
            tcp_mtu_probing(sk)
        retry_until = sysctl["net.ipv4.tcp_retries2"]
        if sk.sk_dead:
            retry_until = sysctl["net.ipv4.tcp_orphan_retries"] or 8
    if retransmits_timed_out(sk, retry_until, sk.icsk_user_timeout):
        tcp_write_err(sk)
        return True
    # sk_rethink_txhash: a connected socket takes a new flow hash (unless SO_TXREHASH turned it
    # off), so that a multipath network may route around the trouble
    if sk.sk_txrehash == SOCK_TXREHASH_ENABLED:
        sk.timeout_rehash += 1
        sk.host.mib.TcpExt["TcpTimeoutRehash"] += 1
    return False


def tcp_clamp_rto_to_user_timeout(sk: TcpSock) -> int:
    """``tcp_clamp_rto_to_user_timeout``: the next RTO, but no later than TCP_USER_TIMEOUT."""
    user_timeout = sk.icsk_user_timeout
    if not user_timeout or sk.retrans_stamp < 0:
        return sk.icsk_rto
    remaining = user_timeout - (sk.host.world.now - sk.retrans_stamp)
    if remaining <= 0:
        return NSEC_PER_MSEC
    return min(sk.icsk_rto, -(-remaining // NSEC_PER_MSEC) * NSEC_PER_MSEC)


def tcp_retransmit_timer(sk: TcpSock) -> None:
    """``tcp_retransmit_timer``: the RTO expired (RFC 6298 section 5): everything outstanding
    is lost, the head goes again, and the RTO doubles.  A Fast Open child still in its handshake
    sends its SYN-ACK again instead."""
    req = sk.fastopen_rsk
    if req is not None:
        tcp_fastopen_synack_timer(sk, req)
        return
    if not sk.packets_out or not sk.tcp_rtx_queue:
        return
    host = sk.host
    skb = sk.tcp_rtx_queue[0]
    if not sk.snd_wnd and not sk.sk_dead and sk.sk_state not in (TCP_SYN_SENT, TCP_SYN_RECV):
        # The peer shrank its window to zero: retransmissions are window probes, which may go
        # on as long as the peer answers them (RFC 1122 4.2.2.17), up to TCP_RTO_MAX of silence.
        start = sk.retrans_stamp if sk.retrans_stamp >= 0 else skb.skb_mstamp
        if host.world.now - sk.rcv_tstamp > TCP_RTO_MAX or (
                sk.icsk_user_timeout and host.world.now - start >= sk.icsk_user_timeout):
            tcp_write_err(sk)
            return
        tcp_enter_loss(sk)
        tcp_retransmit_skb(sk, skb, 1)
    else:
        host.mib.TcpExt["TCPTimeouts"] += 1
        if tcp_write_timeout(sk):
            return
        tcp_enter_loss(sk)
        sk.icsk_retransmits += 1
        if tcp_retransmit_skb(sk, sk.tcp_rtx_queue[0], 1) > 0:
            inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, TCP_RESOURCE_PROBE_INTERVAL)
            return
    if (sk.sk_state == TCP_ESTABLISHED and (sk.thin_lto or host.sysctl["net.ipv4.tcp_thin_linear_timeouts"])
            and sk.packets_out < 4 and sk.icsk_retransmits <= TCP_THIN_LINEAR_RETRIES):
        sk.icsk_backoff = 0
    else:
        sk.icsk_backoff += 1
        sk.icsk_rto = min(sk.icsk_rto << 1, TCP_RTO_MAX)
    inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, tcp_clamp_rto_to_user_timeout(sk))


def tcp_fastopen_synack_timer(sk: TcpSock, req: RequestSock) -> None:
    """``tcp_fastopen_synack_timer``: a Fast Open child's SYN-ACK went unanswered: again, with
    backoff, ``tcp_synack_retries`` + 1 times (or TCP_SYNCNT's), then the child fails."""
    from tuxnet.net.ipv4.tcp_minisocks import inet_rtx_syn_ack

    max_retries = sk.icsk_syn_retries or sk.host.sysctl["net.ipv4.tcp_synack_retries"] + 1
    if req.num_timeout >= max_retries:
        tcp_write_err(sk)
        return
    if sk.icsk_retransmits == 1:
        tcp_enter_loss(sk)  # cwnd lowered after a SYN-ACK timeout, as tcp_init_transfer does
    inet_rtx_syn_ack(req)
    sk.synack_stamp = -1  # (no RTT from a retransmitted SYN-ACK)
    req.num_timeout += 1
    sk.icsk_retransmits += 1
    if sk.retrans_stamp < 0:
        sk.retrans_stamp = sk.host.world.now
    inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, min(TCP_TIMEOUT_INIT << req.num_timeout, TCP_RTO_MAX))


def tcp_probe_timer(sk: TcpSock) -> None:
    """``tcp_probe_timer``: the persist timer (RFC 9293 section 3.8.6.1); an orphan, or a socket
    with TCP_USER_TIMEOUT, is killed when the probes go unanswered too long."""
    if sk.packets_out or not sk.sk_write_queue:
        sk.icsk_probes_out = 0
        sk.icsk_probes_tstamp = -1
        return
    now = sk.host.world.now
    if sk.icsk_probes_tstamp < 0:
        sk.icsk_probes_tstamp = now
    elif sk.icsk_user_timeout and now - sk.icsk_probes_tstamp >= sk.icsk_user_timeout:
        tcp_write_err(sk)
        return
    max_probes = sk.host.sysctl["net.ipv4.tcp_retries2"]
    if sk.sk_dead:
        max_probes = sk.host.sysctl["net.ipv4.tcp_orphan_retries"] or 8
    if sk.icsk_probes_out >= max_probes:
        tcp_write_err(sk)
    else:
        tcp_send_probe0(sk)


def tcp_write_timer(sk: TcpSock) -> None:
    """``tcp_write_timer`` → ``tcp_write_timer_handler``."""
    if sk.sk_state in (TCP_CLOSE, TCP_LISTEN) or not sk.icsk_pending:
        return
    event = sk.icsk_pending
    if event == ICSK_TIME_REO_TIMEOUT:
        tcp_rack_reo_timeout(sk)
    elif event == ICSK_TIME_LOSS_PROBE:
        tcp_send_loss_probe(sk)
    elif event == ICSK_TIME_RETRANS:
        sk.icsk_pending = 0
        tcp_retransmit_timer(sk)
    elif event == ICSK_TIME_PROBE0:
        sk.icsk_pending = 0
        tcp_probe_timer(sk)


def tcp_delack_timer(sk: TcpSock) -> None:
    """``tcp_delack_timer_handler``: the delayed ACK is due."""
    ack = sk.icsk_ack
    if sk.sk_state in (TCP_CLOSE, TCP_LISTEN) or not ack.pending & ICSK_ACK_TIMER:
        return
    ack.pending &= ~ICSK_ACK_TIMER
    if ack.pending & ICSK_ACK_SCHED:
        if not ack.pingpong:
            ack.ato = min(ack.ato << 1, sk.icsk_rto)
        else:
            ack.pingpong = 0
            ack.ato = TCP_ATO_MIN
        tcp_send_ack(sk)
        sk.host.mib.TcpExt["DelayedACKs"] += 1


def keepalive_time_when(sk: TcpSock) -> int:
    return sk.keepalive_time or sk.host.sysctl["net.ipv4.tcp_keepalive_time"] * NSEC_PER_SEC


def keepalive_intvl_when(sk: TcpSock) -> int:
    return sk.keepalive_intvl or sk.host.sysctl["net.ipv4.tcp_keepalive_intvl"] * NSEC_PER_SEC


def keepalive_probes(sk: TcpSock) -> int:
    return sk.keepalive_probes or sk.host.sysctl["net.ipv4.tcp_keepalive_probes"]


def inet_csk_reset_keepalive_timer(sk: TcpSock, when: int) -> None:
    sk.sk_timer.mod(sk.host.world.now + when)


def tcp_keepalive_timer(sk: TcpSock) -> None:
    """``tcp_keepalive_timer``: orphaned FIN_WAIT2 expiry, and keepalive probes (RFC 1122
    section 4.2.3.6) after ``tcp_keepalive_time`` of silence."""
    host = sk.host
    if sk.sk_state == TCP_LISTEN:
        return
    if sk.sk_state == TCP_FIN_WAIT2 and sk.sk_dead:
        from tuxnet.net.ipv4.tcp_minisocks import tcp_fin_time, tcp_time_wait

        if sk.linger2 >= 0:
            tmo = tcp_fin_time(sk) - TCP_TIMEWAIT_LEN
            if tmo > 0:
                tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)
                return
        tcp_send_active_reset(sk)
        tcp_done(sk)
        return
    if not sk.sk_keepopen or sk.sk_state in (TCP_CLOSE, TCP_SYN_SENT):
        return
    elapsed = keepalive_time_when(sk)
    if sk.packets_out or sk.sk_write_queue:
        inet_csk_reset_keepalive_timer(sk, elapsed)
        return
    idle = host.world.now - max(sk.rcv_tstamp, sk.icsk_ack.lrcvtime)
    if idle >= elapsed:
        if (sk.icsk_user_timeout and idle >= sk.icsk_user_timeout and sk.icsk_probes_out > 0) or \
                (not sk.icsk_user_timeout and sk.icsk_probes_out >= keepalive_probes(sk)):
            tcp_send_active_reset(sk)
            tcp_write_err(sk)
            return
        if tcp_write_wakeup(sk, "TCPKeepAlive") <= 0:
            sk.icsk_probes_out += 1
            elapsed = keepalive_intvl_when(sk)
        else:
            elapsed = TCP_RESOURCE_PROBE_INTERVAL
    else:
        elapsed -= idle
    inet_csk_reset_keepalive_timer(sk, elapsed)
