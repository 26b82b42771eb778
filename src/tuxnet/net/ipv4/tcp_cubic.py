"""CUBIC congestion control with HyStart (net/ipv4/tcp_cubic.c, RFC 9438), Linux's default.

Window growth follows the cubic function W(t) = C (t - K)^3 + W_max in Linux's fixed-point form
(``bictcp_update``, time in jiffies of 1 ms), with the TCP-friendly region, fast convergence and
beta = 717/1024.  HyStart (``hystart_update``) ends slow start early on an ACK train as long as the
minimum RTT, or on a rise of the round's minimum RTT above ``delay_min`` + clamp(delay_min/8,
4 ms, 16 ms) after eight samples.

The module parameters (``/sys/module/tcp_cubic/parameters/*``) are kept per host, as each tuxnet
host is its own kernel; ``cubic_param_set`` is what writing those files does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.kernel.minmax import max, min
from tuxnet.net.ipv4.tcp_cong import (
    CA_EVENT_TX_START,
    tcp_cong_avoid_ai,
    tcp_in_slow_start,
    tcp_is_cwnd_limited,
    tcp_register_congestion_control,
    tcp_slow_start,
)
from tuxnet.net.ipv4.tcp_sock import TCP_CA_Loss, after
from tuxnet.world import HZ, USEC_PER_MSEC, USEC_PER_SEC

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.ipv4.tcp_sock import TcpSock

BICTCP_BETA_SCALE = 1024
BICTCP_HZ = 10
HYSTART_ACK_TRAIN = 0x1
HYSTART_DELAY = 0x2
HYSTART_MIN_SAMPLES = 8
HYSTART_DELAY_MIN = 4000
HYSTART_DELAY_MAX = 16000

CUBIC_PARAMS: dict[str, int] = {
    "fast_convergence": 1,
    "beta": 717,
    "initial_ssthresh": 0,
    "bic_scale": 41,
    "tcp_friendliness": 1,
    "hystart": 1,
    "hystart_detect": HYSTART_ACK_TRAIN | HYSTART_DELAY,
    "hystart_low_window": 16,
    "hystart_ack_delta_us": 2000,
}

# cubic_root's table: cbrt(x << 18) - 1 for x in [0..63], refined by hand (Willy Tarreau).
_CBRT = (
    0, 54, 54, 54, 118, 118, 118, 118, 123, 129, 134, 138, 143, 147, 151, 156,
    157, 161, 164, 168, 170, 173, 176, 179, 181, 185, 187, 190, 192, 194, 197, 199,
    200, 202, 204, 206, 209, 211, 213, 215, 217, 219, 221, 222, 224, 225, 227, 229,
    231, 232, 234, 236, 237, 239, 240, 242, 244, 245, 246, 248, 250, 251, 252, 254,
)


def cubic_params(host: Host) -> dict[str, int]:
    """The host's ``tcp_cubic`` module parameters."""
    params = host.module_params.get("tcp_cubic")
    if params is None:
        params = host.module_params["tcp_cubic"] = dict(CUBIC_PARAMS)
    return params


def cubic_param_set(host: Host, name: str, value: str) -> None:
    """Write ``/sys/module/tcp_cubic/parameters/NAME``; ValueError for an unknown one."""
    if name not in CUBIC_PARAMS:
        raise ValueError(f"tcp_cubic has no parameter {name}")
    cubic_params(host)[name] = int(value.strip(), 0)


def cubic_root(a: int) -> int:
    """``cubic_root``: a table lookup and one Newton-Raphson step (average error 0.195%)."""
    b = a.bit_length()
    if b < 7:
        return (_CBRT[a] + 35) >> 6
    b = ((b * 84) >> 8) - 1
    shift = a >> (b * 3)
    x = (((_CBRT[shift] + 10) << b) & 0xFFFFFFFF) >> 6
    x = 2 * x + a // (x * (x - 1))
    return ((x * 341) >> 10) & 0xFFFFFFFF


class Bictcp:
    """``struct bictcp``: the per-connection CUBIC state."""

    __slots__ = ("cnt", "last_max_cwnd", "last_cwnd", "last_time", "bic_origin_point", "bic_K",
                 "delay_min", "epoch_start", "ack_cnt", "tcp_cwnd", "sample_cnt", "found", "round_start",
                 "end_seq", "last_ack", "curr_rtt")

    def __init__(self) -> None:
        self.reset()
        self.round_start = 0
        self.end_seq = 0
        self.last_ack = 0
        self.curr_rtt = 0
        self.sample_cnt = 0

    def reset(self) -> None:
        """``bictcp_reset``."""
        self.cnt = 0
        self.last_max_cwnd = 0
        self.last_cwnd = 0
        self.last_time = 0
        self.bic_origin_point = 0
        self.bic_K = 0
        self.delay_min = 0
        self.epoch_start = 0
        self.ack_cnt = 0
        self.tcp_cwnd = 0
        self.found = 0


def _jiffies(sk: TcpSock) -> int:
    """``tcp_jiffies32`` with HZ=1000."""
    return (sk.host.world.now // 1_000_000) & 0xFFFFFFFF


def _clock_us(sk: TcpSock) -> int:
    """``bictcp_clock_us``: ``tcp_mstamp`` in microseconds."""
    return (sk.host.world.now // 1000) & 0xFFFFFFFF


def _s32(x: int) -> int:
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


class TcpCubic:
    """``cubictcp``: the ``tcp_congestion_ops`` of CUBIC."""

    name = "cubic"
    cong_control = None
    min_tso_segs = None
    sndbuf_expand = None
    get_info = None

    @staticmethod
    def ca(sk: TcpSock) -> Bictcp:
        if not isinstance(sk.ca_priv, Bictcp):
            sk.ca_priv = Bictcp()
        return sk.ca_priv

    def hystart_reset(self, sk: TcpSock) -> None:
        """``bictcp_hystart_reset``: a new round starts at snd_nxt."""
        ca = self.ca(sk)
        ca.round_start = ca.last_ack = _clock_us(sk)
        ca.end_seq = sk.snd_nxt
        ca.curr_rtt = 0xFFFFFFFF
        ca.sample_cnt = 0

    def init(self, sk: TcpSock) -> None:
        """``cubictcp_init``."""
        params = cubic_params(sk.host)
        ca = self.ca(sk)
        ca.reset()
        if params["hystart"]:
            self.hystart_reset(sk)
        if not params["hystart"] and params["initial_ssthresh"]:
            sk.snd_ssthresh = params["initial_ssthresh"]

    def cwnd_event(self, sk: TcpSock, event: int) -> None:
        """``cubictcp_cwnd_event``: after an idle period, shift the epoch so that the idle time
        does not count as time on the cubic curve."""
        if event != CA_EVENT_TX_START:
            return
        ca = self.ca(sk)
        now = _jiffies(sk)
        delta = _s32(now - (sk.lsndtime // 1_000_000))
        if ca.epoch_start and delta > 0:
            ca.epoch_start = (ca.epoch_start + delta) & 0xFFFFFFFF
            if after(ca.epoch_start, now):
                ca.epoch_start = now

    def update(self, sk: TcpSock, cwnd: int, acked: int) -> None:
        """``bictcp_update``: compute ``ca.cnt``, the ACKs per one-segment increase."""
        params = cubic_params(sk.host)
        ca = self.ca(sk)
        now = _jiffies(sk)
        ca.ack_cnt += acked
        if ca.last_cwnd == cwnd and _s32(now - ca.last_time) <= HZ // 32:
            return
        if not (ca.epoch_start and now == ca.last_time):
            ca.last_cwnd = cwnd
            ca.last_time = now
            if ca.epoch_start == 0:
                ca.epoch_start = now
                ca.ack_cnt = acked
                ca.tcp_cwnd = cwnd
                if ca.last_max_cwnd <= cwnd:
                    ca.bic_K = 0
                    ca.bic_origin_point = cwnd
                else:
                    cube_factor = (1 << (10 + 3 * BICTCP_HZ)) // (params["bic_scale"] * 10)
                    ca.bic_K = cubic_root(cube_factor * (ca.last_max_cwnd - cwnd))
                    ca.bic_origin_point = ca.last_max_cwnd
            t = _s32(now - ca.epoch_start)
            t += -(-ca.delay_min * HZ // USEC_PER_SEC)
            t = (t << BICTCP_HZ) // HZ
            offs = ca.bic_K - t if t < ca.bic_K else t - ca.bic_K
            cube_rtt_scale = params["bic_scale"] * 10
            delta = (cube_rtt_scale * offs * offs * offs) >> (10 + 3 * BICTCP_HZ)
            bic_target = ca.bic_origin_point - delta if t < ca.bic_K else ca.bic_origin_point + delta
            if bic_target > cwnd:
                ca.cnt = cwnd // (bic_target - cwnd)
            else:
                ca.cnt = 100 * cwnd
            if ca.last_max_cwnd == 0 and ca.cnt > 20:
                ca.cnt = 20
        if params["tcp_friendliness"]:
            beta = params["beta"]
            scale = 8 * (BICTCP_BETA_SCALE + beta) // 3 // (BICTCP_BETA_SCALE - beta)
            delta = (cwnd * scale) >> 3
            while delta and ca.ack_cnt > delta:
                ca.ack_cnt -= delta
                ca.tcp_cwnd += 1
            if ca.tcp_cwnd > cwnd:
                max_cnt = cwnd // (ca.tcp_cwnd - cwnd)
                if ca.cnt > max_cnt:
                    ca.cnt = max_cnt
        ca.cnt = max(ca.cnt, 2)

    def cong_avoid(self, sk: TcpSock, ack: int, acked: int) -> None:
        """``cubictcp_cong_avoid``."""
        if not tcp_is_cwnd_limited(sk):
            return
        if tcp_in_slow_start(sk):
            acked = tcp_slow_start(sk, acked)
            if not acked:
                return
        self.update(sk, sk.snd_cwnd, acked)
        tcp_cong_avoid_ai(sk, self.ca(sk).cnt, acked)

    def ssthresh(self, sk: TcpSock) -> int:
        """``cubictcp_recalc_ssthresh``: W_max (with fast convergence) and beta * cwnd."""
        params = cubic_params(sk.host)
        ca = self.ca(sk)
        beta = params["beta"]
        ca.epoch_start = 0
        if sk.snd_cwnd < ca.last_max_cwnd and params["fast_convergence"]:
            ca.last_max_cwnd = sk.snd_cwnd * (BICTCP_BETA_SCALE + beta) // (2 * BICTCP_BETA_SCALE)
        else:
            ca.last_max_cwnd = sk.snd_cwnd
        return max(sk.snd_cwnd * beta // BICTCP_BETA_SCALE, 2)

    def undo_cwnd(self, sk: TcpSock) -> int:
        """``tcp_reno_undo_cwnd``, which CUBIC uses."""
        return max(sk.snd_cwnd, sk.prior_cwnd)

    def set_state(self, sk: TcpSock, new_state: int) -> None:
        """``cubictcp_state``: a retransmission timeout starts over."""
        if new_state == TCP_CA_Loss:
            self.ca(sk).reset()
            self.hystart_reset(sk)

    def hystart_ack_delay(self, sk: TcpSock) -> int:
        """``hystart_ack_delay``: room for TSO/GRO aggregation delays, at most 1 ms."""
        rate = sk.sk_pacing_rate
        if not rate:
            return 0
        return min(USEC_PER_MSEC, sk.sk_gso_max_size * 4 * USEC_PER_SEC // rate)

    def hystart_update(self, sk: TcpSock, delay: int) -> None:
        """``hystart_update``: leave slow start on an ACK train or a delay increase.  A new round
        starts whatever cwnd is; the detection itself waits for cwnd to reach hystart_low_window.
        (Linux 5.8 to 6.13 started rounds only from there on, so the first round measured from
        the connection's start and an ACK train was found at once: "tcp_cubic: fix incorrect
        HyStart round start detection", 2025.)"""
        params = cubic_params(sk.host)
        ca = self.ca(sk)
        if after(sk.snd_una, ca.end_seq):
            self.hystart_reset(sk)
        if sk.snd_cwnd < params["hystart_low_window"]:
            return
        if params["hystart_detect"] & HYSTART_ACK_TRAIN:
            now = _clock_us(sk)
            if _s32(now - ca.last_ack) <= params["hystart_ack_delta_us"]:
                ca.last_ack = now
                threshold = (ca.delay_min + self.hystart_ack_delay(sk)) >> 1
                if _s32(now - ca.round_start) > threshold:
                    ca.found = 1
                    sk.host.mib.TcpExt["TCPHystartTrainDetect"] += 1
                    sk.host.mib.TcpExt["TCPHystartTrainCwnd"] += sk.snd_cwnd
                    sk.snd_ssthresh = sk.snd_cwnd
        if params["hystart_detect"] & HYSTART_DELAY:
            if ca.curr_rtt > delay:
                ca.curr_rtt = delay
            if ca.sample_cnt < HYSTART_MIN_SAMPLES:
                ca.sample_cnt += 1
            elif ca.curr_rtt > ca.delay_min + min(max(ca.delay_min >> 3, HYSTART_DELAY_MIN), HYSTART_DELAY_MAX):
                ca.found = 1
                sk.host.mib.TcpExt["TCPHystartDelayDetect"] += 1
                sk.host.mib.TcpExt["TCPHystartDelayCwnd"] += sk.snd_cwnd
                sk.snd_ssthresh = sk.snd_cwnd

    def pkts_acked(self, sk: TcpSock, acked: int, rtt_us: int) -> None:
        """``cubictcp_acked``: track the minimum delay and run HyStart in slow start."""
        ca = self.ca(sk)
        if rtt_us < 0:
            return
        if ca.epoch_start and _s32(_jiffies(sk) - ca.epoch_start) < HZ:
            return
        delay = rtt_us or 1
        if ca.delay_min == 0 or ca.delay_min > delay:
            ca.delay_min = delay
        params = cubic_params(sk.host)
        if not ca.found and tcp_in_slow_start(sk) and params["hystart"]:
            self.hystart_update(sk, delay)


tcp_cubic = TcpCubic()
tcp_register_congestion_control(tcp_cubic)
