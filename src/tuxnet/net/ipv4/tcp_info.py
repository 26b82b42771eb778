"""``struct tcp_info`` (include/uapi/linux/tcp.h) and ``tcp_get_info`` (net/ipv4/tcp.c)."""

from __future__ import annotations

import struct
from dataclasses import astuple, dataclass, fields

from tuxnet.kernel.minmax import min
from tuxnet.net.ipv4.tcp_rate import tcp_compute_delivery_rate
from tuxnet.net.ipv4.tcp_sock import (
    SEQ_MASK,
    TCP_CHRONO_BUSY,
    TCP_CHRONO_RWND_LIMITED,
    TCP_CHRONO_SNDBUF_LIMITED,
    TCP_LISTEN,
    TcpSock,
)
from tuxnet.world import NSEC_PER_MSEC

TCPI_OPT_TIMESTAMPS = 1
TCPI_OPT_SACK = 2
TCPI_OPT_WSCALE = 4
TCPI_OPT_SYN_DATA = 32  # the SYN's Fast Open data was acknowledged (tcp_sock.syn_data_acked)

# Field order and widths exactly as the kernel lays out struct tcp_info (up to tcpi_snd_wnd).
_LAYOUT = "<BBBBBBBB" + "I" * 24 + "QQQQ" + "IIIIII" + "QQQQ" + "II" + "QQ" + "IIII"


@dataclass
class TcpInfo:
    tcpi_state: int = 0
    tcpi_ca_state: int = 0
    tcpi_retransmits: int = 0
    tcpi_probes: int = 0
    tcpi_backoff: int = 0
    tcpi_options: int = 0
    tcpi_wscale: int = 0
    tcpi_flags: int = 0
    tcpi_rto: int = 0
    tcpi_ato: int = 0
    tcpi_snd_mss: int = 0
    tcpi_rcv_mss: int = 0
    tcpi_unacked: int = 0
    tcpi_sacked: int = 0
    tcpi_lost: int = 0
    tcpi_retrans: int = 0
    tcpi_fackets: int = 0
    tcpi_last_data_sent: int = 0
    tcpi_last_ack_sent: int = 0
    tcpi_last_data_recv: int = 0
    tcpi_last_ack_recv: int = 0
    tcpi_pmtu: int = 0
    tcpi_rcv_ssthresh: int = 0
    tcpi_rtt: int = 0
    tcpi_rttvar: int = 0
    tcpi_snd_ssthresh: int = 0
    tcpi_snd_cwnd: int = 0
    tcpi_advmss: int = 0
    tcpi_reordering: int = 0
    tcpi_rcv_rtt: int = 0
    tcpi_rcv_space: int = 0
    tcpi_total_retrans: int = 0
    tcpi_pacing_rate: int = 0
    tcpi_max_pacing_rate: int = 0
    tcpi_bytes_acked: int = 0
    tcpi_bytes_received: int = 0
    tcpi_segs_out: int = 0
    tcpi_segs_in: int = 0
    tcpi_notsent_bytes: int = 0
    tcpi_min_rtt: int = 0
    tcpi_data_segs_in: int = 0
    tcpi_data_segs_out: int = 0
    tcpi_delivery_rate: int = 0
    tcpi_busy_time: int = 0
    tcpi_rwnd_limited: int = 0
    tcpi_sndbuf_limited: int = 0
    tcpi_delivered: int = 0
    tcpi_delivered_ce: int = 0
    tcpi_bytes_sent: int = 0
    tcpi_bytes_retrans: int = 0
    tcpi_dsack_dups: int = 0
    tcpi_reord_seen: int = 0
    tcpi_rcv_ooopack: int = 0
    tcpi_snd_wnd: int = 0

    @property
    def tcpi_delivery_rate_app_limited(self) -> int:
        """The first bit of the byte after ``tcpi_wscale`` (a bit-field in the kernel's struct)."""
        return self.tcpi_flags & 1

    @property
    def tcpi_fastopen_client_fail(self) -> int:
        """The two bits after it: why a client's Fast Open failed (TFO_COOKIE_UNAVAILABLE ...)."""
        return (self.tcpi_flags >> 1) & 3

    @property
    def tcpi_snd_wscale(self) -> int:
        return self.tcpi_wscale & 0x0F

    @property
    def tcpi_rcv_wscale(self) -> int:
        return self.tcpi_wscale >> 4

    def pack(self) -> bytes:
        return struct.pack(_LAYOUT, *astuple(self))

    @classmethod
    def unpack(cls, data: bytes) -> TcpInfo:
        size = struct.calcsize(_LAYOUT)
        return cls(*struct.unpack(_LAYOUT, data[:size].ljust(size, b"\0")))

    def as_dict(self) -> dict[str, int]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["tcpi_snd_wscale"] = self.tcpi_snd_wscale
        d["tcpi_rcv_wscale"] = self.tcpi_rcv_wscale
        d["tcpi_delivery_rate_app_limited"] = self.tcpi_delivery_rate_app_limited
        return d


def tcp_get_info(sk: TcpSock) -> TcpInfo:
    """``tcp_get_info``: times in microseconds (rto, ato, rtt) or milliseconds (last_*)."""
    info = TcpInfo()
    info.tcpi_state = sk.sk_state
    # what is reported for every state, listeners included
    info.tcpi_pacing_rate = min(sk.sk_pacing_rate, (1 << 64) - 1)
    info.tcpi_max_pacing_rate = min(sk.sk_max_pacing_rate, (1 << 64) - 1)
    info.tcpi_reordering = sk.reordering
    info.tcpi_snd_cwnd = sk.snd_cwnd
    if sk.sk_state == TCP_LISTEN:
        # a listener's aliases: the connections accept() has waiting, and the backlog's limit
        info.tcpi_unacked = sk.sk_ack_backlog
        info.tcpi_sacked = sk.sk_max_ack_backlog
        return info
    now = sk.host.world.now
    opt = sk.rx_opt
    info.tcpi_ca_state = sk.icsk_ca_state
    info.tcpi_retransmits = sk.icsk_retransmits
    info.tcpi_probes = sk.icsk_probes_out
    info.tcpi_backoff = sk.icsk_backoff
    if opt.tstamp_ok:
        info.tcpi_options |= TCPI_OPT_TIMESTAMPS
    if opt.sack_ok:
        info.tcpi_options |= TCPI_OPT_SACK
    if opt.wscale_ok:
        info.tcpi_options |= TCPI_OPT_WSCALE
        info.tcpi_wscale = (opt.snd_wscale & 0x0F) | ((opt.rcv_wscale & 0x0F) << 4)
    if sk.syn_data_acked:
        info.tcpi_options |= TCPI_OPT_SYN_DATA
    info.tcpi_flags |= sk.fastopen_client_fail << 1  # the bit-field tcpi_fastopen_client_fail:2
    info.tcpi_rto = sk.icsk_rto // 1000
    info.tcpi_ato = sk.icsk_ack.ato // 1000
    info.tcpi_snd_mss = sk.mss_cache
    info.tcpi_rcv_mss = sk.icsk_ack.rcv_mss
    info.tcpi_unacked = sk.packets_out
    info.tcpi_sacked = sk.sacked_out
    info.tcpi_lost = sk.lost_out
    info.tcpi_retrans = sk.retrans_out
    info.tcpi_last_data_sent = (now - sk.lsndtime) // 1_000_000 if sk.lsndtime else 0
    info.tcpi_last_data_recv = (now - sk.icsk_ack.lrcvtime) // 1_000_000 if sk.icsk_ack.lrcvtime else 0
    info.tcpi_last_ack_recv = (now - sk.rcv_tstamp) // 1_000_000 if sk.rcv_tstamp else 0
    info.tcpi_pmtu = sk.pmtu_cookie
    info.tcpi_rcv_ssthresh = sk.rcv_ssthresh
    info.tcpi_rtt = sk.srtt_us >> 3
    info.tcpi_rttvar = sk.mdev_us >> 2
    info.tcpi_snd_ssthresh = min(sk.snd_ssthresh, 0xFFFFFFFF)
    info.tcpi_advmss = sk.advmss
    info.tcpi_rcv_rtt = sk.rcv_rtt_us >> 3
    info.tcpi_rcv_space = sk.rcv_space
    info.tcpi_total_retrans = sk.total_retrans
    info.tcpi_bytes_acked = sk.bytes_acked
    info.tcpi_bytes_received = sk.bytes_received
    info.tcpi_segs_out = sk.segs_out
    info.tcpi_segs_in = sk.segs_in
    info.tcpi_notsent_bytes = (sk.write_seq - sk.snd_nxt) & SEQ_MASK
    info.tcpi_data_segs_in = sk.data_segs_in
    info.tcpi_data_segs_out = sk.data_segs_out
    if sk.rate_app_limited:
        info.tcpi_flags |= 1  # tcpi_delivery_rate_app_limited
    info.tcpi_delivery_rate = tcp_compute_delivery_rate(sk)
    info.tcpi_delivered = sk.delivered
    info.tcpi_delivered_ce = sk.delivered_ce
    info.tcpi_bytes_sent = sk.bytes_sent
    info.tcpi_bytes_retrans = sk.bytes_retrans
    info.tcpi_dsack_dups = sk.dsack_dups
    info.tcpi_reord_seen = sk.reord_seen
    info.tcpi_rcv_ooopack = sk.rcv_ooopack
    info.tcpi_snd_wnd = sk.snd_wnd
    info.tcpi_min_rtt = sk.min_rtt_us if sk.min_rtt_us else 0xFFFFFFFF
    tcp_get_info_chrono_stats(sk, info)
    return info


def tcp_get_info_chrono_stats(sk: TcpSock, info: TcpInfo) -> None:
    """``tcp_get_info_chrono_stats``: busy, receive-window-limited and send-buffer-limited
    time in microseconds (``tcp_chrono_*`` counts whole jiffies)."""
    now_jiffies = sk.host.world.now // NSEC_PER_MSEC
    stats = []
    for i in (TCP_CHRONO_BUSY, TCP_CHRONO_RWND_LIMITED, TCP_CHRONO_SNDBUF_LIMITED):
        stat = sk.chrono_stat[i - 1]
        if i == sk.chrono_type:
            stat += now_jiffies - sk.chrono_start // NSEC_PER_MSEC
        stats.append(stat * 1000)
    info.tcpi_busy_time = sum(stats)
    info.tcpi_rwnd_limited = stats[TCP_CHRONO_RWND_LIMITED - 1]
    info.tcpi_sndbuf_limited = stats[TCP_CHRONO_SNDBUF_LIMITED - 1]
