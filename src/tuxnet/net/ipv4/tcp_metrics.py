"""What TCP remembers of each peer between connections (net/ipv4/tcp_metrics.c).

A connection that ends well (into TIME_WAIT, or from LAST_ACK to CLOSE) saves its smoothed RTT,
its RTT variance and its congestion window, per (source, destination) pair
(``tcp_update_metrics``); the next connection to that destination starts its first retransmission
timeout from the saved RTT when that is the larger (``tcp_init_metrics``), as the SYN's tiny
packets measure a path short.  ``ip tcp_metrics`` shows and flushes them.  With
``net.ipv4.tcp_no_metrics_save`` nothing is saved; ssthresh is kept only without
``tcp_no_ssthresh_metrics_save`` (1 by default, so it is not).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.kernel.minmax import max, min
from tuxnet.net.core.utils import in_ntoa
from tuxnet.net.ipv4.tcp_cong import tcp_in_slow_start
from tuxnet.net.ipv4.tcp_sock import TCP_INFINITE_SSTHRESH, TCP_RTO_MIN, TCP_CA_Open, TcpFastopenCookie
from tuxnet.world import NSEC_PER_MSEC, NSEC_PER_SEC

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.ipv4.tcp_sock import TcpSock

TCP_METRICS_TIMEOUT = 60 * 60 * NSEC_PER_SEC  # an entry older than this starts over
TCP_TIMEOUT_FALLBACK = 3 * NSEC_PER_SEC  # RFC 6298 5.7: no RTT sample from the handshake


class TcpMetricsBlock:
    """``struct tcp_metrics_block``: ``rtt`` and ``rttvar`` in microseconds scaled as the socket's
    ``srtt_us`` (by 8) and ``mdev_us`` (by 4) are; 0 means not known."""

    __slots__ = ("saddr", "daddr", "stamp", "rtt", "rttvar", "ssthresh", "cwnd", "reordering",
                 "fastopen_mss", "fastopen_cookie", "fastopen_syn_loss", "fastopen_last_syn_loss",
                 "fastopen_try_exp")

    def __init__(self, saddr: int, daddr: int, now: int) -> None:
        self.saddr = saddr
        self.daddr = daddr
        self.stamp = now
        self.rtt = self.rttvar = self.ssthresh = self.cwnd = self.reordering = 0
        # struct tcp_fastopen_metrics: the server's MSS and Fast Open cookie, and lost Fast Open SYNs
        self.fastopen_mss = 0
        self.fastopen_cookie = TcpFastopenCookie(length=0)
        self.fastopen_syn_loss = 0
        self.fastopen_last_syn_loss = 0
        self.fastopen_try_exp = 0

    def format(self, now: int) -> str:
        """One line of ``ip tcp_metrics show``: the known values, RTTs last, in microseconds."""
        age = (now - self.stamp) // NSEC_PER_MSEC
        parts = [in_ntoa(self.daddr), f"age {age // 1000}.{age % 1000:03d}sec"]
        for name in ("ssthresh", "cwnd", "reordering"):
            if getattr(self, name):
                parts.append(f"{name} {getattr(self, name)}")
        if self.rtt:
            parts.append(f"rtt {self.rtt >> 3}us")
        if self.rttvar:
            parts.append(f"rttvar {self.rttvar >> 2}us")
        if self.fastopen_mss:
            parts.append(f"fo_mss {self.fastopen_mss}")
        if self.fastopen_syn_loss:
            ago = (now - self.fastopen_last_syn_loss) // NSEC_PER_MSEC
            parts.append(f"fo_syn_drops {self.fastopen_syn_loss}/{ago // 1000}.{ago % 1000:03d}sec ago")
        if self.fastopen_cookie.len > 0:
            parts.append(f"fo_cookie {self.fastopen_cookie.val.hex()}")
        return " ".join(parts + ["source", in_ntoa(self.saddr)])


def tcp_get_metrics(sk: TcpSock, create: bool) -> TcpMetricsBlock | None:
    """``tcp_get_metrics``: the block of the socket's addresses (made when ``create``); one older
    than an hour starts over (``tcpm_check_stamp``)."""
    cache = sk.host.tcp_metrics
    key = (sk.inet_saddr, sk.inet_daddr)
    now = sk.host.world.now
    tm = cache.get(key)
    if tm is not None and now > tm.stamp + TCP_METRICS_TIMEOUT:
        tm = cache[key] = TcpMetricsBlock(*key, now)  # tcpm_suck_dst: the route sets no values
    if tm is None and create:
        tm = cache[key] = TcpMetricsBlock(*key, now)
    return tm


def tcp_update_metrics(sk: TcpSock) -> None:
    """``tcp_update_metrics``: fold what this connection learned into the saved values: a larger
    RTT replaces the saved one, a smaller moves it an eighth of the way; the variance follows the
    deviation; cwnd as far as slow start made it meaningful."""
    host = sk.host
    if host.sysctl["net.ipv4.tcp_no_metrics_save"] or sk.dst_cache is None:
        return
    if sk.icsk_backoff or not sk.srtt_us:
        tm = tcp_get_metrics(sk, False)  # this connection failed to measure the RTT: forget it
        if tm is not None:
            tm.rtt = 0
        return
    tm = tcp_get_metrics(sk, True)
    m = tm.rtt - sk.srtt_us
    tm.rtt = sk.srtt_us if m <= 0 else tm.rtt - (m >> 3)
    m = abs(m) >> 1
    m = max(m, sk.mdev_us)
    tm.rttvar = m if m >= tm.rttvar else tm.rttvar - ((tm.rttvar - m) >> 2)
    save_ssthresh = not host.sysctl["net.ipv4.tcp_no_ssthresh_metrics_save"]
    if sk.snd_ssthresh >= TCP_INFINITE_SSTHRESH:  # tcp_in_initial_slowstart
        if save_ssthresh and tm.ssthresh and sk.snd_cwnd >> 1 > tm.ssthresh:
            tm.ssthresh = sk.snd_cwnd >> 1
        tm.cwnd = max(tm.cwnd, sk.snd_cwnd)
    elif not tcp_in_slow_start(sk) and sk.icsk_ca_state == TCP_CA_Open:
        if save_ssthresh:
            tm.ssthresh = max(sk.snd_cwnd >> 1, sk.snd_ssthresh)
        tm.cwnd = (tm.cwnd + sk.snd_cwnd) >> 1
    else:
        tm.cwnd = (tm.cwnd + sk.snd_ssthresh) >> 1
        if save_ssthresh and tm.ssthresh and sk.snd_ssthresh > tm.ssthresh:
            tm.ssthresh = sk.snd_ssthresh
        if tm.reordering < sk.reordering and sk.reordering != host.sysctl["net.ipv4.tcp_reordering"]:
            tm.reordering = sk.reordering
    tm.stamp = host.world.now


def tcp_init_metrics(sk: TcpSock) -> None:
    """``tcp_init_metrics``: at the start of a transfer, ssthresh back to infinite (the handshake
    may have lowered it), the saved reordering and (if saved) ssthresh, and the first RTO from the
    saved RTT when it is larger than the handshake's sample; with no sample at all (the SYN or
    SYN-ACK was retransmitted), a conservative 3 s (RFC 6298 5.7)."""
    sk.snd_ssthresh = TCP_INFINITE_SSTHRESH
    crtt = 0
    tm = tcp_get_metrics(sk, False) if sk.dst_cache is not None else None
    if tm is not None:
        if tm.ssthresh and not sk.host.sysctl["net.ipv4.tcp_no_ssthresh_metrics_save"]:
            sk.snd_ssthresh = min(tm.ssthresh, sk.snd_cwnd_clamp)
        if tm.reordering:
            sk.reordering = tm.reordering
        crtt = tm.rtt
    if crtt > sk.srtt_us:
        rtt = crtt // 8000 * NSEC_PER_MSEC  # unscaled, in whole jiffies (ms)
        sk.icsk_rto = rtt + max(2 * rtt, TCP_RTO_MIN)
    elif not sk.srtt_us:
        sk.rttvar_us = sk.mdev_us = sk.mdev_max_us = TCP_TIMEOUT_FALLBACK // 1000
        sk.icsk_rto = TCP_TIMEOUT_FALLBACK


def tcp_fastopen_cache_get(sk: TcpSock, cookie: TcpFastopenCookie) -> int:
    """``tcp_fastopen_cache_get``: the server's cached Fast Open cookie goes into ``cookie`` (the
    experimental option next if the server did not answer the RFC's); returns its cached MSS, 0
    for none."""
    tm = tcp_get_metrics(sk, False)
    if tm is None:
        return 0
    cached = tm.fastopen_cookie
    cookie.val, cookie.len, cookie.exp = cached.val, cached.len, cached.exp
    if cookie.len <= 0 and tm.fastopen_try_exp == 1:
        cookie.exp = True
    return tm.fastopen_mss


def tcp_fastopen_cache_set(sk: TcpSock, mss: int, cookie: TcpFastopenCookie, syn_lost: bool,
                           try_exp: int) -> None:
    """``tcp_fastopen_cache_set``: remember the server's MSS and the cookie its SYN-ACK brought,
    and count a Fast Open SYN that seems lost."""
    if sk.dst_cache is None:
        return
    tm = tcp_get_metrics(sk, True)
    if mss:
        tm.fastopen_mss = mss
    if cookie.len > 0:
        tm.fastopen_cookie = cookie.copy()
    elif try_exp > tm.fastopen_try_exp and tm.fastopen_cookie.len <= 0 and not tm.fastopen_cookie.exp:
        tm.fastopen_try_exp = try_exp
    if syn_lost:
        tm.fastopen_syn_loss += 1
        tm.fastopen_last_syn_loss = sk.host.world.now
    else:
        tm.fastopen_syn_loss = 0


def tcp_metrics_show(host: Host, daddr: int | None = None) -> str:
    """``ip tcp_metrics show [ADDR]``."""
    now = host.world.now
    return "".join(tm.format(now) + "\n" for tm in host.tcp_metrics.values()
                   if daddr is None or tm.daddr == daddr)


def tcp_metrics_flush(host: Host, daddr: int | None = None) -> int:
    """``ip tcp_metrics flush [all]`` and ``delete ADDR``: how many entries went."""
    doomed = [key for key, tm in host.tcp_metrics.items() if daddr is None or tm.daddr == daddr]
    for key in doomed:
        del host.tcp_metrics[key]
    return len(doomed)
