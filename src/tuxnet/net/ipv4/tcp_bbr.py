"""BBR congestion control, version 1 (net/ipv4/tcp_bbr.c; Cardwell et al., "BBR: Congestion-Based
Congestion Control", ACM Queue 14(5), 2016; draft-cardwell-iccrg-bbr-congestion-control-00).

BBR builds a model of the path from each ACK's delivery rate sample (``tcp_rate``): the bottleneck
bandwidth, the windowed maximum of the samples over 10 round trips, and the round-trip
propagation time, the windowed minimum RTT over 10 seconds.  It paces at ``pacing_gain`` times
the bandwidth and caps what is in flight at ``cwnd_gain`` times the bandwidth-delay product,
instead of reacting to losses.  A flow starts in STARTUP (gain 2/ln 2, doubling its rate each
round) until three rounds bring less than 25 % more bandwidth, DRAINs the queue it built, then
cycles its pacing gain in PROBE_BW (5/4, 3/4, then 1 six times) and, when the minimum RTT has not
been seen again for 10 s, spends 200 ms and a round at 4 packets in PROBE_RTT to measure it.

As in the kernel, rates are packets per microsecond scaled by 2^24 (``BW_SCALE``) and gains are
fractions of 256 (``BBR_UNIT``).  tuxnet's clocks are nanoseconds: the kernel's ``tcp_mstamp``
stamps (``cycle_mstamp``, ``ack_epoch_mstamp``) are kept in ns and their differences taken in
microseconds; ``tcp_jiffies32`` is milliseconds (HZ=1000) modulo 2^32.
"""

from __future__ import annotations

from tuxnet.kernel.minmax import max, min
from tuxnet.net.core.sock import SK_PACING_NEEDED, SK_PACING_NONE
from tuxnet.net.ipv4.inet_diag import TcpBbrInfo
from tuxnet.net.ipv4.tcp_cong import CA_EVENT_TX_START, tcp_register_congestion_control
from tuxnet.net.ipv4.tcp_rate import RateSample
from tuxnet.net.ipv4.tcp_sock import (
    TCP_INFINITE_SSTHRESH,
    TCP_INIT_CWND,
    TCP_CA_Loss,
    TCP_CA_Open,
    TCP_CA_Recovery,
    TcpSock,
    after,
    before,
    tcp_min_rtt,
    tcp_packets_in_flight,
)
from tuxnet.world import HZ, NSEC_PER_MSEC, NSEC_PER_USEC, USEC_PER_MSEC, USEC_PER_SEC

U32 = 0xFFFFFFFF

BW_SCALE = 24
BW_UNIT = 1 << BW_SCALE
BBR_SCALE = 8
BBR_UNIT = 1 << BBR_SCALE

# enum bbr_mode
BBR_STARTUP = 0  # ramp up the sending rate rapidly to fill the pipe
BBR_DRAIN = 1  # drain the queue STARTUP created
BBR_PROBE_BW = 2  # discover and share bandwidth: pace around the estimate
BBR_PROBE_RTT = 3  # cut in flight to the minimum to probe min_rtt

CYCLE_LEN = 8  # phases in a pacing gain cycle
bbr_bw_rtts = CYCLE_LEN + 2  # window of the bandwidth filter, in rounds
bbr_min_rtt_win_sec = 10  # window of the min_rtt filter, in seconds
bbr_probe_rtt_mode_ms = 200  # least time at bbr_cwnd_min_target in PROBE_RTT
bbr_min_tso_rate = 1_200_000  # below this many bit/s, skip TSO
bbr_pacing_margin_percent = 1  # pace ~1 % below the estimated bandwidth, to keep queues low
# 2/ln(2): the smallest gain that doubles the sending rate each round, as slow start does
bbr_high_gain = BBR_UNIT * 2885 // 1000 + 1
bbr_drain_gain = BBR_UNIT * 1000 // 2885  # 1/high_gain: drain STARTUP's queue in one round
bbr_cwnd_gain = BBR_UNIT * 2  # steady-state cwnd gain, room for delayed and stretched ACKs
bbr_pacing_gain = (
    BBR_UNIT * 5 // 4,  # probe for more bandwidth
    BBR_UNIT * 3 // 4,  # drain the queue, or yield bandwidth to other flows
    BBR_UNIT, BBR_UNIT, BBR_UNIT, BBR_UNIT, BBR_UNIT, BBR_UNIT,  # cruise at 1.0 x bw
)
bbr_cycle_rand = 7  # randomise the starting phase over this many phases
bbr_cwnd_min_target = 4  # ACK-every-other-packet needs 4 packets in flight
bbr_full_bw_thresh = BBR_UNIT * 5 // 4  # bw grew 1.25x: there may be more
bbr_full_bw_cnt = 3  # rounds without such growth before the pipe counts as full
# long-term ("LT") bandwidth estimation, for token-bucket policers
bbr_lt_intvl_min_rtts = 4  # least rounds in a sampling interval
bbr_lt_loss_thresh = 50  # lost/delivered above 50/256 (~20 %): the interval is lossy
bbr_lt_bw_ratio = BBR_UNIT // 8  # two intervals within 1/8 of each other are consistent
bbr_lt_bw_diff = 4000 // 8  # or within 4 kbit/s (in bytes/s)
bbr_lt_bw_max_rtts = 48  # rounds to use lt_bw once policing is found
# ACK aggregation
bbr_extra_acked_gain = BBR_UNIT
bbr_extra_acked_win_rtts = 5
bbr_ack_epoch_acked_reset_thresh = 1 << 20
bbr_extra_acked_max_us = 100 * USEC_PER_MSEC
# bbr_tso_segs_goal's cap: GSO_LEGACY_MAX_SIZE - 1 - MAX_TCP_HEADER, as the kernel sizes it on x86-64
BBR_TSO_MAX_BYTES = 65536 - 1 - 320


class Minmax:
    """``struct minmax`` (lib/win_minmax.c, Kathleen Nichols' algorithm): the best, second best
    and third best samples of a sliding window, each a (time, value) pair, so that the windowed
    maximum is known in constant time and space.  Times are u32 (here BBR's round count)."""

    __slots__ = ("s",)

    def __init__(self) -> None:
        self.s = [(0, 0), (0, 0), (0, 0)]

    def get(self) -> int:
        """``minmax_get``."""
        return self.s[0][1]

    def reset(self, t: int, meas: int) -> int:
        """``minmax_reset``: forget every sample but this one."""
        self.s = [(t, meas)] * 3
        return meas

    def subwin_update(self, win: int, val: tuple[int, int]) -> int:
        """``minmax_subwin_update``: as time passes, age the best choices out and take fresh
        second and third choices from the later quarters and half of the window."""
        s = self.s
        dt = (val[0] - s[0][0]) & U32
        if dt > win:
            # The whole window passed without a better sample: the second choice becomes the
            # best, the third the second; perhaps twice, if the second is out of the window too.
            s[0], s[1], s[2] = s[1], s[2], val
            if (val[0] - s[0][0]) & U32 > win:
                s[0], s[1], s[2] = s[1], s[2], val
        elif s[1][0] == s[0][0] and dt > win // 4:
            s[2] = s[1] = val  # a quarter of the window without a new best: a second choice
        elif s[2][0] == s[1][0] and dt > win // 2:
            s[2] = val  # half of the window without one: a third choice
        return s[0][1]

    def running_max(self, win: int, t: int, meas: int) -> int:
        """``minmax_running_max``: add a sample and return the windowed maximum."""
        s = self.s
        val = (t, meas)
        if meas >= s[0][1] or (t - s[2][0]) & U32 > win:
            return self.reset(t, meas)  # a new best, or nothing left in the window
        if meas >= s[1][1]:
            s[2] = s[1] = val
        elif meas >= s[2][1]:
            s[2] = val
        return self.subwin_update(win, val)


class Bbr:
    """``struct bbr``: the per-connection state, all zero as the kernel's ``icsk_ca_priv`` is
    before ``bbr_init``."""

    __slots__ = ("min_rtt_us", "min_rtt_stamp", "probe_rtt_done_stamp", "bw", "rtt_cnt", "next_rtt_delivered",
                 "cycle_mstamp", "mode", "prev_ca_state", "packet_conservation", "round_start", "idle_restart",
                 "probe_rtt_round_done", "lt_is_sampling", "lt_rtt_cnt", "lt_use_bw", "lt_bw",
                 "lt_last_delivered", "lt_last_stamp", "lt_last_lost", "pacing_gain", "cwnd_gain",
                 "full_bw_reached", "full_bw_cnt", "cycle_idx", "has_seen_rtt", "prior_cwnd", "full_bw",
                 "ack_epoch_mstamp", "extra_acked", "ack_epoch_acked", "extra_acked_win_rtts",
                 "extra_acked_win_idx")

    def __init__(self) -> None:
        self.min_rtt_us = 0  # min RTT in the bbr_min_rtt_win_sec window
        self.min_rtt_stamp = 0  # jiffies of min_rtt_us
        self.probe_rtt_done_stamp = 0  # jiffies when PROBE_RTT may end (0: not yet set)
        self.bw = Minmax()  # max recent delivery rate, packets/us << BW_SCALE
        self.rtt_cnt = 0  # packet-timed rounds elapsed
        self.next_rtt_delivered = 0  # sk.delivered at the end of this round
        self.cycle_mstamp = 0  # when this gain cycle phase began (ns)
        self.mode = BBR_STARTUP
        self.prev_ca_state = TCP_CA_Open  # CA state on the previous ACK
        self.packet_conservation = False
        self.round_start = False  # this ACK starts a new packet-timed round
        self.idle_restart = False  # restarting after idle
        self.probe_rtt_round_done = False  # a PROBE_RTT round at 4 packets is over
        self.lt_is_sampling = False
        self.lt_rtt_cnt = 0  # rounds in this long-term interval
        self.lt_use_bw = False  # lt_bw is the bandwidth estimate
        self.lt_bw = 0  # long-term delivery rate, packets/us << BW_SCALE
        self.lt_last_delivered = 0  # sk.delivered at the interval's start
        self.lt_last_stamp = 0  # sk.delivered_mstamp at the interval's start, in ms
        self.lt_last_lost = 0  # sk.lost at the interval's start
        self.pacing_gain = 0
        self.cwnd_gain = 0
        self.full_bw_reached = False  # STARTUP filled the pipe
        self.full_bw_cnt = 0  # rounds without a large bandwidth gain
        self.cycle_idx = 0  # index in bbr_pacing_gain
        self.has_seen_rtt = False
        self.prior_cwnd = 0  # cwnd before loss recovery or PROBE_RTT
        self.full_bw = 0  # recent bw, to tell whether the pipe is full
        self.ack_epoch_mstamp = 0  # start of the ACK sampling epoch (ns)
        self.extra_acked = [0, 0]  # max excess packets ACKed in each of two epochs
        self.ack_epoch_acked = 0  # packets (S)ACKed in the sampling epoch
        self.extra_acked_win_rtts = 0  # age of extra_acked, in rounds
        self.extra_acked_win_idx = 0  # the current one of extra_acked


def inet_csk_ca(sk: TcpSock) -> Bbr:
    """``inet_csk_ca``: the socket's BBR state (zeroed when the socket switched algorithms)."""
    bbr = sk.ca_priv
    if not isinstance(bbr, Bbr):
        bbr = sk.ca_priv = Bbr()
    return bbr


def _jiffies(sk: TcpSock) -> int:
    """``tcp_jiffies32`` (HZ=1000)."""
    return (sk.host.world.now // NSEC_PER_MSEC) & U32


def _delivered_mstamp(sk: TcpSock) -> int:
    """``tp->delivered_mstamp`` in ns, 0 before anything was delivered (tuxnet keeps -1)."""
    return max(sk.delivered_mstamp, 0)


def tcp_stamp_us_delta(t1: int, t0: int) -> int:
    """``tcp_stamp_us_delta``: microseconds from ``t0`` to ``t1`` (ns stamps), at least 0."""
    return max(t1 - t0, 0) // NSEC_PER_USEC


def bbr_full_bw_reached(sk: TcpSock) -> bool:
    """``bbr_full_bw_reached``: does STARTUP seem to have filled the pipe?"""
    return inet_csk_ca(sk).full_bw_reached


def bbr_max_bw(sk: TcpSock) -> int:
    """``bbr_max_bw``: the windowed maximum bandwidth sample, packets/us << BW_SCALE."""
    return inet_csk_ca(sk).bw.get()


def bbr_bw(sk: TcpSock) -> int:
    """``bbr_bw``: the bandwidth estimate: the policed rate if one was found, else the max."""
    bbr = inet_csk_ca(sk)
    return bbr.lt_bw if bbr.lt_use_bw else bbr.bw.get()


def bbr_extra_acked(sk: TcpSock) -> int:
    """``bbr_extra_acked``: the most extra data ACKed in the past 5 to 10 rounds."""
    return max(inet_csk_ca(sk).extra_acked[0], inet_csk_ca(sk).extra_acked[1])


def bbr_rate_bytes_per_sec(sk: TcpSock, rate: int, gain: int) -> int:
    """``bbr_rate_bytes_per_sec``: a rate in packets/us << BW_SCALE as bytes per second, with a
    gain and the pacing margin."""
    rate *= sk.mss_cache
    rate *= gain
    rate >>= BBR_SCALE
    rate *= USEC_PER_SEC // 100 * (100 - bbr_pacing_margin_percent)
    return rate >> BW_SCALE


def bbr_bw_to_pacing_rate(sk: TcpSock, bw: int, gain: int) -> int:
    """``bbr_bw_to_pacing_rate``: bytes per second, at most SO_MAX_PACING_RATE."""
    return min(bbr_rate_bytes_per_sec(sk, bw, gain), sk.sk_max_pacing_rate)


def bbr_init_pacing_rate_from_rtt(sk: TcpSock) -> None:
    """``bbr_init_pacing_rate_from_rtt``: high_gain * cwnd / RTT, with 1 ms before any sample."""
    bbr = inet_csk_ca(sk)
    if sk.srtt_us:
        rtt_us = max(sk.srtt_us >> 3, 1)
        bbr.has_seen_rtt = True
    else:
        rtt_us = USEC_PER_MSEC
    bw = sk.snd_cwnd * BW_UNIT // rtt_us
    sk.sk_pacing_rate = bbr_bw_to_pacing_rate(sk, bw, bbr_high_gain)


def bbr_set_pacing_rate(sk: TcpSock, bw: int, gain: int) -> None:
    """``bbr_set_pacing_rate``: pace at bw * gain; until the pipe is full, never slower than now
    (the first RTT sample sets the rate from srtt)."""
    bbr = inet_csk_ca(sk)
    rate = bbr_bw_to_pacing_rate(sk, bw, gain)
    if not bbr.has_seen_rtt and sk.srtt_us:
        bbr_init_pacing_rate_from_rtt(sk)
    if bbr.full_bw_reached or rate > sk.sk_pacing_rate:
        sk.sk_pacing_rate = rate


def bbr_min_tso_segs(sk: TcpSock) -> int:
    """``bbr_min_tso_segs``: overrides net.ipv4.tcp_min_tso_segs: 1 below 1.2 Mbit/s, else 2."""
    return 1 if sk.sk_pacing_rate < (bbr_min_tso_rate >> 3) else 2


def bbr_tso_segs_goal(sk: TcpSock) -> int:
    """``bbr_tso_segs_goal``: about ``tcp_tso_autosize``, ignoring the device's GSO limit."""
    nbytes = min(sk.sk_pacing_rate >> sk.sk_pacing_shift, BBR_TSO_MAX_BYTES)
    segs = max(nbytes // sk.mss_cache, bbr_min_tso_segs(sk))
    return min(segs, 0x7F)


def bbr_save_cwnd(sk: TcpSock) -> None:
    """``bbr_save_cwnd``: the last good cwnd, to restore after loss recovery or PROBE_RTT."""
    bbr = inet_csk_ca(sk)
    if bbr.prev_ca_state < TCP_CA_Recovery and bbr.mode != BBR_PROBE_RTT:
        bbr.prior_cwnd = sk.snd_cwnd
    else:  # recovery or PROBE_RTT cut cwnd for now
        bbr.prior_cwnd = max(bbr.prior_cwnd, sk.snd_cwnd)


def bbr_cwnd_event(sk: TcpSock, event: int) -> None:
    """``bbr_cwnd_event``: restarting from idle while application-limited, pace at the estimated
    bandwidth (no need for more speed), and let PROBE_RTT end if its time is up."""
    bbr = inet_csk_ca(sk)
    if event == CA_EVENT_TX_START and sk.app_limited:
        bbr.idle_restart = True
        bbr.ack_epoch_mstamp = sk.host.world.now
        bbr.ack_epoch_acked = 0
        if bbr.mode == BBR_PROBE_BW:
            bbr_set_pacing_rate(sk, bbr_bw(sk), BBR_UNIT)
        elif bbr.mode == BBR_PROBE_RTT:
            bbr_check_probe_rtt_done(sk)


def bbr_bdp(sk: TcpSock, bw: int, gain: int) -> int:
    """``bbr_bdp``: ceil(bw * min_rtt * gain) in packets; the initial cwnd before any RTT sample."""
    bbr = inet_csk_ca(sk)
    if bbr.min_rtt_us == U32:
        return TCP_INIT_CWND
    w = bw * bbr.min_rtt_us
    # Rounded up, to avoid a negative feedback loop.
    return (((w * gain) >> BBR_SCALE) + BW_UNIT - 1) // BW_UNIT


def bbr_quantization_budget(sk: TcpSock, cwnd: int) -> int:
    """``bbr_quantization_budget``: room for a full-sized TSO packet in the sender's qdisc, one in
    its TSO engine and one in the receiver's GRO/delayed-ACK engine; an even cwnd, to reduce
    delayed ACKs; and 2 more while probing, so that the gain cycle raises in flight even for a
    small BDP."""
    bbr = inet_csk_ca(sk)
    cwnd += 3 * bbr_tso_segs_goal(sk)
    cwnd = (cwnd + 1) & ~1
    if bbr.mode == BBR_PROBE_BW and bbr.cycle_idx == 0:
        cwnd += 2
    return cwnd


def bbr_inflight(sk: TcpSock, bw: int, gain: int) -> int:
    """``bbr_inflight``: the packets in flight the model wants at ``gain``."""
    return bbr_quantization_budget(sk, bbr_bdp(sk, bw, gain))


def bbr_packets_in_net_at_edt(sk: TcpSock, inflight_now: int) -> int:
    """``bbr_packets_in_net_at_edt``: what will still be in the network when the next segment
    departs at its Earliest Departure Time (segments waiting in the pacing layer are not there
    yet): in flight now, plus that segment when probing upwards, less what the estimated
    bandwidth delivers until then."""
    bbr = inet_csk_ca(sk)
    now_ns = sk.host.world.now
    edt_ns = max(sk.tcp_wstamp_ns, now_ns)
    interval_us = (edt_ns - now_ns) // NSEC_PER_USEC
    interval_delivered = (bbr_bw(sk) * interval_us) >> BW_SCALE
    inflight_at_edt = inflight_now
    if bbr.pacing_gain > BBR_UNIT:
        inflight_at_edt += bbr_tso_segs_goal(sk)
    if interval_delivered >= inflight_at_edt:
        return 0
    return inflight_at_edt - interval_delivered


def bbr_ack_aggregation_cwnd(sk: TcpSock) -> int:
    """``bbr_ack_aggregation_cwnd``: the cwnd increment for ACK aggregation, at most 100 ms of
    data at the estimated bandwidth, once the pipe is full."""
    if bbr_extra_acked_gain and bbr_full_bw_reached(sk):
        max_aggr_cwnd = bbr_bw(sk) * bbr_extra_acked_max_us // BW_UNIT
        aggr_cwnd = (bbr_extra_acked_gain * bbr_extra_acked(sk)) >> BBR_SCALE
        return min(aggr_cwnd, max_aggr_cwnd)
    return 0


def bbr_set_cwnd_to_recover_or_restore(sk: TcpSock, rs: RateSample, acked: int) -> tuple[bool, int]:
    """``bbr_set_cwnd_to_recover_or_restore``: in the first round of recovery, packet conservation
    (send what was ACKed); after it, slow start (at most twice what was ACKed, in ``bbr_set_cwnd``);
    when recovery ends, back to the cwnd from before.  Returns (conserving, new cwnd)."""
    bbr = inet_csk_ca(sk)
    prev_state, state = bbr.prev_ca_state, sk.icsk_ca_state
    cwnd = sk.snd_cwnd
    # An ACK for P packets releases at most 2P: first take the lost packets off.
    if rs.losses > 0:
        cwnd = max(cwnd - rs.losses, 1)
    if state == TCP_CA_Recovery and prev_state != TCP_CA_Recovery:
        bbr.packet_conservation = True
        bbr.next_rtt_delivered = sk.delivered  # the round starts now
        cwnd = tcp_packets_in_flight(sk) + acked  # cut what the app, TSQ or TSO left unused
    elif prev_state >= TCP_CA_Recovery and state < TCP_CA_Recovery:
        cwnd = max(cwnd, bbr.prior_cwnd)  # recovery is over: restore
        bbr.packet_conservation = False
    bbr.prev_ca_state = state
    if bbr.packet_conservation:
        return True, max(cwnd, tcp_packets_in_flight(sk) + acked)
    return False, cwnd


def bbr_set_cwnd(sk: TcpSock, rs: RateSample, acked: int, bw: int, gain: int) -> None:
    """``bbr_set_cwnd``: slow start towards the target (BDP * gain, plus ACK aggregation and the
    quantization budget) while bandwidth grows or losses pulled cwnd under it; snap down to it once
    the pipe is full; 4 packets in PROBE_RTT."""
    bbr = inet_csk_ca(sk)
    cwnd = sk.snd_cwnd
    if acked:  # else no packet was fully ACKed: only apply the caps
        conserving, cwnd = bbr_set_cwnd_to_recover_or_restore(sk, rs, acked)
        if not conserving:
            target_cwnd = bbr_bdp(sk, bw, gain)
            # Room for what ACK aggregation (of data or of ACKs) delays.
            target_cwnd += bbr_ack_aggregation_cwnd(sk)
            target_cwnd = bbr_quantization_budget(sk, target_cwnd)
            if bbr.full_bw_reached:  # only cut cwnd once the pipe was filled
                cwnd = min(cwnd + acked, target_cwnd)
            elif cwnd < target_cwnd or sk.delivered < TCP_INIT_CWND:
                cwnd += acked
            cwnd = max(cwnd, bbr_cwnd_min_target)
    sk.snd_cwnd = min(cwnd, sk.snd_cwnd_clamp)
    if bbr.mode == BBR_PROBE_RTT:  # drain the queue, refresh min_rtt
        sk.snd_cwnd = min(sk.snd_cwnd, bbr_cwnd_min_target)


def bbr_is_next_cycle_phase(sk: TcpSock, rs: RateSample) -> bool:
    """``bbr_is_next_cycle_phase``: a phase lasts min_rtt; probing (gain > 1) also waits until in
    flight reaches gain * BDP or a loss shows it will not fit; draining (gain < 1) ends early when
    in flight falls to the BDP."""
    bbr = inet_csk_ca(sk)
    is_full_length = tcp_stamp_us_delta(_delivered_mstamp(sk), bbr.cycle_mstamp) > bbr.min_rtt_us
    if bbr.pacing_gain == BBR_UNIT:
        return is_full_length  # just use wall clock time
    inflight = bbr_packets_in_net_at_edt(sk, rs.prior_in_flight)
    bw = bbr_max_bw(sk)
    if bbr.pacing_gain > BBR_UNIT:
        return is_full_length and (rs.losses > 0 or inflight >= bbr_inflight(sk, bw, bbr.pacing_gain))
    return is_full_length or inflight <= bbr_inflight(sk, bw, BBR_UNIT)


def bbr_advance_cycle_phase(sk: TcpSock) -> None:
    """``bbr_advance_cycle_phase``."""
    bbr = inet_csk_ca(sk)
    bbr.cycle_idx = (bbr.cycle_idx + 1) & (CYCLE_LEN - 1)
    bbr.cycle_mstamp = _delivered_mstamp(sk)


def bbr_update_cycle_phase(sk: TcpSock, rs: RateSample) -> None:
    """``bbr_update_cycle_phase``: gain cycling, to converge to a fair share of the bandwidth."""
    if inet_csk_ca(sk).mode == BBR_PROBE_BW and bbr_is_next_cycle_phase(sk, rs):
        bbr_advance_cycle_phase(sk)


def bbr_reset_startup_mode(sk: TcpSock) -> None:
    """``bbr_reset_startup_mode``."""
    inet_csk_ca(sk).mode = BBR_STARTUP


def bbr_reset_probe_bw_mode(sk: TcpSock) -> None:
    """``bbr_reset_probe_bw_mode``: enter PROBE_BW at a random phase other than the draining one
    (so that flows do not probe in step)."""
    bbr = inet_csk_ca(sk)
    bbr.mode = BBR_PROBE_BW
    bbr.cycle_idx = CYCLE_LEN - 1 - sk.host.rng.randrange(bbr_cycle_rand)  # get_random_u32_below
    bbr_advance_cycle_phase(sk)  # flip to the next phase of the gain cycle


def bbr_reset_mode(sk: TcpSock) -> None:
    """``bbr_reset_mode``: back to STARTUP if the pipe was never filled, else PROBE_BW."""
    if not bbr_full_bw_reached(sk):
        bbr_reset_startup_mode(sk)
    else:
        bbr_reset_probe_bw_mode(sk)


def bbr_reset_lt_bw_sampling_interval(sk: TcpSock) -> None:
    """``bbr_reset_lt_bw_sampling_interval``: start a new long-term sampling interval."""
    bbr = inet_csk_ca(sk)
    bbr.lt_last_stamp = (_delivered_mstamp(sk) // NSEC_PER_MSEC) & U32
    bbr.lt_last_delivered = sk.delivered
    bbr.lt_last_lost = sk.lost
    bbr.lt_rtt_cnt = 0


def bbr_reset_lt_bw_sampling(sk: TcpSock) -> None:
    """``bbr_reset_lt_bw_sampling``: stop long-term sampling altogether."""
    bbr = inet_csk_ca(sk)
    bbr.lt_bw = 0
    bbr.lt_use_bw = False
    bbr.lt_is_sampling = False
    bbr_reset_lt_bw_sampling_interval(sk)


def bbr_lt_bw_interval_done(sk: TcpSock, bw: int) -> None:
    """``bbr_lt_bw_interval_done``: two lossy intervals in a row at about the same rate mean a
    policer; use their average rate."""
    bbr = inet_csk_ca(sk)
    if bbr.lt_bw:
        diff = abs(bw - bbr.lt_bw)
        if (diff * BBR_UNIT <= bbr_lt_bw_ratio * bbr.lt_bw
                or bbr_rate_bytes_per_sec(sk, diff, BBR_UNIT) <= bbr_lt_bw_diff):
            bbr.lt_bw = (bw + bbr.lt_bw) >> 1
            bbr.lt_use_bw = True
            bbr.pacing_gain = BBR_UNIT  # try to avoid drops
            bbr.lt_rtt_cnt = 0
            return
    bbr.lt_bw = bw
    bbr_reset_lt_bw_sampling_interval(sk)


def bbr_lt_bw_sampling(sk: TcpSock, rs: RateSample) -> None:
    """``bbr_lt_bw_sampling``: token-bucket policers ("An Internet-Wide Analysis of Traffic
    Policing", SIGCOMM 2016).  From the first loss on, take intervals of 4 to 16 rounds that end
    in a loss; one whose loss rate is 20 % or more gives a long-term rate.  After 48 rounds at
    the policed rate, probe again."""
    bbr = inet_csk_ca(sk)
    if bbr.lt_use_bw:
        if bbr.mode == BBR_PROBE_BW and bbr.round_start:
            bbr.lt_rtt_cnt += 1
            if bbr.lt_rtt_cnt >= bbr_lt_bw_max_rtts:
                bbr_reset_lt_bw_sampling(sk)  # stop using lt_bw
                bbr_reset_probe_bw_mode(sk)  # restart gain cycling
        return
    # Start at the first loss: the policer's tokens are then spent, and what follows is its rate.
    if not bbr.lt_is_sampling:
        if not rs.losses:
            return
        bbr_reset_lt_bw_sampling_interval(sk)
        bbr.lt_is_sampling = True
    if rs.is_app_limited:  # running out of data would underestimate the rate
        bbr_reset_lt_bw_sampling(sk)
        return
    if bbr.round_start:
        bbr.lt_rtt_cnt += 1
    if bbr.lt_rtt_cnt < bbr_lt_intvl_min_rtts:
        return
    if bbr.lt_rtt_cnt > 4 * bbr_lt_intvl_min_rtts:
        bbr_reset_lt_bw_sampling(sk)  # too long
        return
    # End the interval at a loss, when the tokens are exhausted.
    if not rs.losses:
        return
    lost = sk.lost - bbr.lt_last_lost
    delivered = sk.delivered - bbr.lt_last_delivered
    if not delivered or (lost << BBR_SCALE) < bbr_lt_loss_thresh * delivered:
        return
    t = ((_delivered_mstamp(sk) // NSEC_PER_MSEC) - bbr.lt_last_stamp) & U32
    if t == 0 or t & 0x80000000:
        return  # under a millisecond: wait
    if t >= U32 // USEC_PER_MSEC:
        bbr_reset_lt_bw_sampling(sk)  # too long to multiply
        return
    t *= USEC_PER_MSEC
    bbr_lt_bw_interval_done(sk, delivered * BW_UNIT // t)


def bbr_update_bw(sk: TcpSock, rs: RateSample) -> None:
    """``bbr_update_bw``: count packet-timed rounds and feed the sample to the max filter.  An
    application-limited sample enters it only if it is at least the current estimate."""
    bbr = inet_csk_ca(sk)
    bbr.round_start = False
    if rs.delivered < 0 or rs.interval_us <= 0:
        return  # not a valid observation
    # A round ends when a segment sent after the round began is delivered.
    if not before(rs.prior_delivered, bbr.next_rtt_delivered):
        bbr.next_rtt_delivered = sk.delivered
        bbr.rtt_cnt = (bbr.rtt_cnt + 1) & U32
        bbr.round_start = True
        bbr.packet_conservation = False
    bbr_lt_bw_sampling(sk, rs)
    bw = rs.delivered * BW_UNIT // rs.interval_us
    if not rs.is_app_limited or bw >= bbr_max_bw(sk):
        bbr.bw.running_max(bbr_bw_rtts, bbr.rtt_cnt, bw)


def bbr_update_ack_aggregation(sk: TcpSock, rs: RateSample) -> None:
    """``bbr_update_ack_aggregation``: the windowed max (5 to 10 rounds) of the data ACKed
    beyond what the estimated bandwidth delivers since the epoch began, at most cwnd, so as to
    keep sending through the silences between aggregated ACKs."""
    bbr = inet_csk_ca(sk)
    if not bbr_extra_acked_gain or rs.acked_sacked <= 0 or rs.delivered < 0 or rs.interval_us <= 0:
        return
    if bbr.round_start:
        bbr.extra_acked_win_rtts = min(0x1F, bbr.extra_acked_win_rtts + 1)
        if bbr.extra_acked_win_rtts >= bbr_extra_acked_win_rtts:
            bbr.extra_acked_win_rtts = 0
            bbr.extra_acked_win_idx ^= 1
            bbr.extra_acked[bbr.extra_acked_win_idx] = 0
    delivered_mstamp = _delivered_mstamp(sk)
    epoch_us = tcp_stamp_us_delta(delivered_mstamp, bbr.ack_epoch_mstamp)
    expected_acked = bbr_bw(sk) * epoch_us // BW_UNIT
    # A new epoch when ACKs come slower than expected, or after very many packets.
    if (bbr.ack_epoch_acked <= expected_acked
            or bbr.ack_epoch_acked + rs.acked_sacked >= bbr_ack_epoch_acked_reset_thresh):
        bbr.ack_epoch_acked = 0
        bbr.ack_epoch_mstamp = delivered_mstamp
        expected_acked = 0
    bbr.ack_epoch_acked = min(0xFFFFF, bbr.ack_epoch_acked + rs.acked_sacked)
    extra_acked = min(bbr.ack_epoch_acked - expected_acked, sk.snd_cwnd)
    if extra_acked > bbr.extra_acked[bbr.extra_acked_win_idx]:
        bbr.extra_acked[bbr.extra_acked_win_idx] = extra_acked


def bbr_check_full_bw_reached(sk: TcpSock, rs: RateSample) -> None:
    """``bbr_check_full_bw_reached``: the pipe is full after three rounds, not application-limited,
    without 25 % more bandwidth (one for receive window autotuning to grow rwin, one to fill it,
    one to see the higher rate)."""
    bbr = inet_csk_ca(sk)
    if bbr.full_bw_reached or not bbr.round_start or rs.is_app_limited:
        return
    bw_thresh = (bbr.full_bw * bbr_full_bw_thresh) >> BBR_SCALE
    if bbr_max_bw(sk) >= bw_thresh:
        bbr.full_bw = bbr_max_bw(sk)
        bbr.full_bw_cnt = 0
        return
    bbr.full_bw_cnt += 1
    bbr.full_bw_reached = bbr.full_bw_cnt >= bbr_full_bw_cnt


def bbr_check_drain(sk: TcpSock, rs: RateSample) -> None:
    """``bbr_check_drain``: a full pipe ends STARTUP; DRAIN ends when in flight is down to the
    BDP."""
    bbr = inet_csk_ca(sk)
    if bbr.mode == BBR_STARTUP and bbr.full_bw_reached:
        bbr.mode = BBR_DRAIN
        sk.snd_ssthresh = bbr_inflight(sk, bbr_max_bw(sk), BBR_UNIT)
    if (bbr.mode == BBR_DRAIN and bbr_packets_in_net_at_edt(sk, tcp_packets_in_flight(sk))
            <= bbr_inflight(sk, bbr_max_bw(sk), BBR_UNIT)):
        bbr_reset_probe_bw_mode(sk)  # the queue is drained


def bbr_check_probe_rtt_done(sk: TcpSock) -> None:
    """``bbr_check_probe_rtt_done``: after the 200 ms (and the round), restart the min_rtt window,
    restore cwnd and go back to STARTUP or PROBE_BW."""
    bbr = inet_csk_ca(sk)
    if not (bbr.probe_rtt_done_stamp and after(_jiffies(sk), bbr.probe_rtt_done_stamp)):
        return
    bbr.min_rtt_stamp = _jiffies(sk)  # wait a while until the next PROBE_RTT
    sk.snd_cwnd = max(sk.snd_cwnd, bbr.prior_cwnd)
    bbr_reset_mode(sk)


def bbr_update_min_rtt(sk: TcpSock, rs: RateSample) -> None:
    """``bbr_update_min_rtt``: the 10 s min_rtt filter, and PROBE_RTT when it expires: cwnd at 4
    packets for at least 200 ms and a round, to drain the bottleneck queue and see the
    propagation delay (about 2 % of the throughput of a flow that is always busy)."""
    bbr = inet_csk_ca(sk)
    now = _jiffies(sk)
    filter_expired = after(now, (bbr.min_rtt_stamp + bbr_min_rtt_win_sec * HZ) & U32)
    if rs.rtt_us >= 0 and (rs.rtt_us <= bbr.min_rtt_us or (filter_expired and not rs.is_ack_delayed)):
        bbr.min_rtt_us = rs.rtt_us
        bbr.min_rtt_stamp = now
    if bbr_probe_rtt_mode_ms > 0 and filter_expired and not bbr.idle_restart and bbr.mode != BBR_PROBE_RTT:
        bbr.mode = BBR_PROBE_RTT  # dip, drain the queue
        bbr_save_cwnd(sk)  # to restore it after
        bbr.probe_rtt_done_stamp = 0
    if bbr.mode == BBR_PROBE_RTT:
        # Samples at this low rate say nothing of the path: mark them application-limited.
        sk.app_limited = (sk.delivered + tcp_packets_in_flight(sk)) or 1
        # Keep the minimum in flight for max(200 ms, 1 round).
        if not bbr.probe_rtt_done_stamp and tcp_packets_in_flight(sk) <= bbr_cwnd_min_target:
            bbr.probe_rtt_done_stamp = (now + bbr_probe_rtt_mode_ms * HZ // 1000) & U32
            bbr.probe_rtt_round_done = False
            bbr.next_rtt_delivered = sk.delivered
        elif bbr.probe_rtt_done_stamp:
            if bbr.round_start:
                bbr.probe_rtt_round_done = True
            if bbr.probe_rtt_round_done:
                bbr_check_probe_rtt_done(sk)
    # The restart after idle ends only with a new (S)ACK of data.
    if rs.delivered > 0:
        bbr.idle_restart = False


def bbr_update_gains(sk: TcpSock) -> None:
    """``bbr_update_gains``: the pacing and cwnd gains of the mode."""
    bbr = inet_csk_ca(sk)
    mode = bbr.mode
    if mode == BBR_STARTUP:
        bbr.pacing_gain = bbr_high_gain
        bbr.cwnd_gain = bbr_high_gain
    elif mode == BBR_DRAIN:
        bbr.pacing_gain = bbr_drain_gain  # slow, to drain
        bbr.cwnd_gain = bbr_high_gain  # keep cwnd
    elif mode == BBR_PROBE_BW:
        bbr.pacing_gain = BBR_UNIT if bbr.lt_use_bw else bbr_pacing_gain[bbr.cycle_idx]
        bbr.cwnd_gain = bbr_cwnd_gain
    else:  # BBR_PROBE_RTT
        bbr.pacing_gain = BBR_UNIT
        bbr.cwnd_gain = BBR_UNIT


def bbr_update_model(sk: TcpSock, rs: RateSample) -> None:
    """``bbr_update_model``: bandwidth, ACK aggregation, the gain cycle, the state machine,
    min_rtt, then the gains."""
    bbr_update_bw(sk, rs)
    bbr_update_ack_aggregation(sk, rs)
    bbr_update_cycle_phase(sk, rs)
    bbr_check_full_bw_reached(sk, rs)
    bbr_check_drain(sk, rs)
    bbr_update_min_rtt(sk, rs)
    bbr_update_gains(sk)


def bbr_main(sk: TcpSock, ack: int, flag: int, rs: RateSample) -> None:
    """``bbr_main``, the ``cong_control`` hook (``tcp_cong_control``): update the model from the
    ACK's rate sample, then set the pacing rate and cwnd from it."""
    bbr_update_model(sk, rs)
    bw = bbr_bw(sk)
    bbr = inet_csk_ca(sk)
    bbr_set_pacing_rate(sk, bw, bbr.pacing_gain)
    bbr_set_cwnd(sk, rs, rs.acked_sacked, bw, bbr.cwnd_gain)


def bbr_init(sk: TcpSock) -> None:
    """``bbr_init``: STARTUP with no bandwidth known, min_rtt from the handshake, the pacing rate
    from srtt, and pacing by TCP itself unless fq does it (``SK_PACING_NEEDED``).  The gains stay
    0 until the first ACK of data (``bbr_update_gains``), as ``ss`` shows."""
    bbr = inet_csk_ca(sk)
    bbr.prior_cwnd = 0
    sk.snd_ssthresh = TCP_INFINITE_SSTHRESH
    bbr.rtt_cnt = 0
    bbr.next_rtt_delivered = sk.delivered  # not 0: a late init would wait 2^31 packets for a round
    bbr.prev_ca_state = TCP_CA_Open
    bbr.packet_conservation = False
    bbr.probe_rtt_done_stamp = 0
    bbr.probe_rtt_round_done = False
    bbr.min_rtt_us = tcp_min_rtt(sk)
    bbr.min_rtt_stamp = _jiffies(sk)
    bbr.bw.reset(bbr.rtt_cnt, 0)
    bbr.has_seen_rtt = False
    bbr_init_pacing_rate_from_rtt(sk)
    bbr.round_start = False
    bbr.idle_restart = False
    bbr.full_bw_reached = False
    bbr.full_bw = 0
    bbr.full_bw_cnt = 0
    bbr.cycle_mstamp = 0
    bbr.cycle_idx = 0
    bbr_reset_lt_bw_sampling(sk)
    bbr_reset_startup_mode(sk)
    bbr.ack_epoch_mstamp = sk.host.world.now
    bbr.ack_epoch_acked = 0
    bbr.extra_acked_win_rtts = 0
    bbr.extra_acked_win_idx = 0
    bbr.extra_acked = [0, 0]
    if sk.sk_pacing_status == SK_PACING_NONE:  # cmpxchg
        sk.sk_pacing_status = SK_PACING_NEEDED


def bbr_sndbuf_expand(sk: TcpSock) -> int:
    """``bbr_sndbuf_expand``: a send buffer of 3 cwnds, as BBR may slow-start during recovery."""
    return 3


def bbr_undo_cwnd(sk: TcpSock) -> int:
    """``bbr_undo_cwnd``: a spurious slow-down: start full-pipe detection and long-term sampling
    over; cwnd stays (BBR did not cut it for the loss)."""
    bbr = inet_csk_ca(sk)
    bbr.full_bw = 0
    bbr.full_bw_cnt = 0
    bbr_reset_lt_bw_sampling(sk)
    return sk.snd_cwnd


def bbr_ssthresh(sk: TcpSock) -> int:
    """``bbr_ssthresh``: entering recovery, save cwnd for when it ends; ssthresh is unchanged."""
    bbr_save_cwnd(sk)
    return sk.snd_ssthresh


def bbr_get_info(sk: TcpSock) -> TcpBbrInfo:
    """``bbr_get_info``: ``struct tcp_bbr_info`` for INET_DIAG_BBRINFO: the bandwidth estimate
    in bytes/s, min_rtt in us, the gains in 1/256."""
    bbr = inet_csk_ca(sk)
    bw = bbr_bw(sk) * sk.mss_cache * USEC_PER_SEC >> BW_SCALE
    return TcpBbrInfo(bbr_bw_lo=bw & U32, bbr_bw_hi=(bw >> 32) & U32, bbr_min_rtt=bbr.min_rtt_us,
                      bbr_pacing_gain=bbr.pacing_gain, bbr_cwnd_gain=bbr.cwnd_gain)


def bbr_set_state(sk: TcpSock, new_state: int) -> None:
    """``bbr_set_state``: an RTO ends the round and restarts full-pipe detection, and counts as a
    loss for long-term sampling."""
    if new_state == TCP_CA_Loss:
        bbr = inet_csk_ca(sk)
        rs = RateSample()
        rs.losses = 1
        rs.is_app_limited = False
        bbr.prev_ca_state = TCP_CA_Loss
        bbr.full_bw = 0
        bbr.round_start = True  # treat the RTO like the end of a round
        bbr_lt_bw_sampling(sk, rs)


class TcpBbr:
    """``tcp_bbr_cong_ops``: BBR sets cwnd and the pacing rate itself (``cong_control``), so it
    has no ``cong_avoid`` nor ``pkts_acked``."""

    name = "bbr"
    init = staticmethod(bbr_init)
    cong_control = staticmethod(bbr_main)
    cong_avoid = None
    pkts_acked = None
    sndbuf_expand = staticmethod(bbr_sndbuf_expand)
    undo_cwnd = staticmethod(bbr_undo_cwnd)
    cwnd_event = staticmethod(bbr_cwnd_event)
    ssthresh = staticmethod(bbr_ssthresh)
    min_tso_segs = staticmethod(bbr_min_tso_segs)
    get_info = staticmethod(bbr_get_info)
    set_state = staticmethod(bbr_set_state)


tcp_bbr = TcpBbr()
tcp_register_congestion_control(tcp_bbr)
