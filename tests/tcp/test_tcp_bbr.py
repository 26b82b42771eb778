"""BBR congestion control (net/ipv4/tcp_bbr.c), on a path with a bottleneck: a sender on 1 Gb/s
into a router whose 10 Mb/s link onwards has a 100-packet pfifo, 20 ms of propagation in all.

The run is long enough (10.6 s of virtual time) for every state: STARTUP, DRAIN, PROBE_BW's gain
cycle and the PROBE_RTT that comes 10 s after the last new minimum RTT.  BBR's model only works
paced: without TCP's pacing (``SK_PACING_NEEDED``, which ``bbr_init`` asks for) it stays in DRAIN
with a cwnd of 2.89 BDP, so every test of the steady state here relies on it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import pytest
from tcpnet import IPPROTO_TCP, MS, SEC, connection, listen_socket, pair

from procs import run_program
from tuxnet.net.core.sock import SK_PACING_NEEDED, SK_PACING_NONE
from tuxnet.net.ipv4 import tcp_bbr
from tuxnet.net.ipv4.tcp import TCP_CONGESTION
from tuxnet.net.ipv4.tcp_bbr import (
    BBR_DRAIN,
    BBR_PROBE_BW,
    BBR_PROBE_RTT,
    BBR_STARTUP,
    BBR_UNIT,
    Bbr,
    bbr_get_info,
    inet_csk_ca,
)
from tuxnet.net.ipv4.tcp_sock import TCP_INFINITE_SSTHRESH, TCP_CA_Open, TCP_CA_Recovery, tcp_packets_in_flight
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.ss import format_ss
from tuxnet.user.ssfilter import SS_CONN
from tuxnet.world import World

MSS = 1448
WIRE = MSS + 52 + 14 + 4 + 20  # payload + TCP/IP headers with timestamps, Ethernet, FCS, preamble/IFG
BOTTLENECK = 10_000_000  # bit/s
PAYLOAD_RATE = BOTTLENECK * MSS / WIRE / 8  # bytes/s
SERVER = "10.0.2.2"
PORT = 5001
STEP = 5 * MS  # how often the runs look at the sender


@dataclass
class Run:
    """A bulk transfer over the bottleneck path: the sender's socket, the router's queue towards
    the receiver, the sender's state every ``STEP`` and each change of BBR's mode or gain (as
    ``bbr_update_gains`` leaves them: (t, mode, cycle_idx, pacing_gain, cwnd_gain,
    min_rtt_stamp))."""

    world: World
    a: Any
    b: Any
    queue: Any
    samples: list[dict[str, int]] = field(default_factory=list)
    gains: list[tuple[int, int, int, int, int, int]] = field(default_factory=list)

    @property
    def sk(self) -> Any:
        return connection(self.a, PORT)

    def between(self, start: float, end: float) -> list[dict[str, int]]:
        return [s for s in self.samples if start * SEC <= s["t"] < end * SEC]


def bottleneck_path(cc: str, seed: int = 1, qlen: int = 100, receiver_cc: str = "cubic") -> Run:
    """a (10.0.1.1) -- r -- b (10.0.2.2): 1 Gb/s and 1 ms to the router, 10 Mb/s and 9 ms from it,
    where a pfifo of ``qlen`` packets holds what the slower link cannot take yet."""
    world = World(seed=seed)
    a, b = world.add_host("a"), world.add_host("b")
    r = world.add_router("r")
    world.connect(a, r, rate="1gbit", delay="1ms", a_addr="10.0.1.1/24", b_addr="10.0.1.254/24")
    link = world.connect(r, b, rate="10mbit", delay="9ms", a_addr="10.0.2.254/24", b_addr=f"{SERVER}/24")
    link.a.qdisc.limit = qlen
    a.ip_route_add("0.0.0.0/0", via="10.0.1.254")
    b.ip_route_add("0.0.0.0/0", via="10.0.2.254")
    a.sysctl.set("net.ipv4.tcp_congestion_control", cc)
    b.sysctl.set("net.ipv4.tcp_congestion_control", receiver_cc)
    return Run(world, a, b, link.a.qdisc)


def sink() -> None:
    fd = listen_socket(SERVER, PORT)
    c, _ = libc.accept(fd)
    while libc.recv(c, 1 << 16):
        pass


def bulk(run: Run, seconds: float, total: int = 1 << 30) -> Run:
    """Send ``total`` bytes (more than the path takes in ``seconds`` by default) and watch."""
    def source() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (SERVER, PORT))
        sent = 0
        while sent < total:
            sent += libc.send(fd, bytes(min(1 << 16, total - sent)))
        libc.close(fd)

    run.b.spawn(sink)
    run.a.spawn(source)
    real = tcp_bbr.bbr_update_gains

    def record(sk: Any) -> None:
        real(sk)
        bbr = inet_csk_ca(sk)
        if sk.host is run.a:
            state = (bbr.mode, bbr.cycle_idx, bbr.pacing_gain, bbr.cwnd_gain)
            if not run.gains or run.gains[-1][1:5] != state:
                run.gains.append((sk.host.world.now, *state, bbr.min_rtt_stamp))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tcp_bbr, "bbr_update_gains", record)
        while run.world.now < seconds * SEC:
            run.world.run_for(STEP)
            sk = run.sk
            if sk is None or sk.sk_state != 1:
                continue
            bbr = sk.ca_priv
            run.samples.append({
                "t": run.world.now, "cwnd": sk.snd_cwnd, "ssthresh": sk.snd_ssthresh,
                "inflight": tcp_packets_in_flight(sk), "srtt_us": sk.srtt_us >> 3, "backlog": len(run.queue.q),
                "drops": run.queue.drops, "acked": sk.bytes_acked, "ca_state": sk.icsk_ca_state,
                "mode": bbr.mode if isinstance(bbr, Bbr) else -1,
                "bw": bbr_get_info(sk).bbr_bw_lo if isinstance(bbr, Bbr) else 0,
                "min_rtt_us": bbr.min_rtt_us if isinstance(bbr, Bbr) else 0})
    return run


@pytest.fixture(scope="module")
def bbr_run() -> Run:
    return bulk(bottleneck_path("bbr", receiver_cc="bbr"), 10.6)


@pytest.fixture(scope="module")
def cubic_run() -> Run:
    # 4 s: HyStart ends CUBIC's slow start before the queue overflows, and congestion avoidance
    # fills it after 2 s (with HyStart's rounds as Linux 6.14+ times them)
    return bulk(bottleneck_path("cubic"), 4.0)


def _modes(run: Run) -> list[tuple[int, int]]:
    """(time, mode) at each change of mode."""
    out: list[tuple[int, int]] = []
    for t, mode, *_ in run.gains:
        if not out or out[-1][1] != mode:
            out.append((t, mode))
    return out


def _min_rtt(run: Run) -> int:
    return run.samples[-1]["min_rtt_us"]


def test_bbr_is_available_and_cubic_stays_the_default():
    """``tcp_available_congestion_control`` lists bbr after reno and cubic; a socket gets CUBIC
    unless the namespace's ``tcp_congestion_control`` names bbr, and then a connection runs BBR:
    TCP paces itself (``SK_PACING_NEEDED``) and ssthresh starts infinite."""
    world, a, b, _ = pair()
    assert a.sysctl["net.ipv4.tcp_available_congestion_control"] == "reno cubic bbr"
    assert a.sysctl["net.ipv4.tcp_congestion_control"] == "cubic"
    b.sysctl.set("net.ipv4.tcp_congestion_control", "bbr")
    names: list[bytes] = []

    def server() -> None:
        fd = listen_socket("10.0.0.2", PORT)
        c, _ = libc.accept(fd)
        names.append(libc.getsockopt(c, IPPROTO_TCP, TCP_CONGESTION))
        libc.recv(c, 10)

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        names.append(libc.getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION))
        libc.connect(fd, ("10.0.0.2", PORT))
        libc.sleep(0.1)

    b.spawn(server)
    a.spawn(client)
    world.run_for(100 * MS)
    assert [n.rstrip(b"\0") for n in names] == [b"cubic", b"bbr"]
    server_sk, client_sk = connection(b, PORT), connection(a, PORT)
    assert server_sk.icsk_ca_ops.name == "bbr" and isinstance(server_sk.ca_priv, Bbr)
    assert server_sk.sk_pacing_status == SK_PACING_NEEDED and server_sk.snd_ssthresh == TCP_INFINITE_SSTHRESH
    assert client_sk.icsk_ca_ops.name == "cubic" and client_sk.sk_pacing_status == SK_PACING_NONE


def test_tcp_congestion_selects_bbr_before_connect_or_on_a_connection():
    """TCP_CONGESTION "bbr" before connect: the connection starts in BBR's STARTUP.  On an
    established CUBIC connection, BBR starts at once (``tcp_reinit_congestion_control``);
    asking again for the algorithm in use changes nothing; an unknown name is ENOENT."""
    world, a, b, _ = pair()
    seen: dict[str, Any] = {}

    def server() -> None:
        fd = listen_socket("10.0.0.2", PORT)
        for _ in range(2):
            c, _ = libc.accept(fd)
        libc.sleep(1)

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, b"bbr")
        libc.connect(fd, ("10.0.0.2", PORT))
        seen["before"] = libc.getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION).rstrip(b"\0")
        fd2 = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd2, ("10.0.0.2", PORT))
        sk2 = connection(a, libc.getsockname(fd2)[1])
        seen["cubic_pacing"] = sk2.sk_pacing_status
        libc.setsockopt(fd2, IPPROTO_TCP, TCP_CONGESTION, "bbr")
        seen["switched"] = (sk2.icsk_ca_ops.name, sk2.sk_pacing_status, sk2.snd_ssthresh, sk2.ca_priv.mode)
        state = sk2.ca_priv
        libc.setsockopt(fd2, IPPROTO_TCP, TCP_CONGESTION, b"bbr")
        seen["kept"] = sk2.ca_priv is state
        try:
            libc.setsockopt(fd2, IPPROTO_TCP, TCP_CONGESTION, b"vegas")
        except OSError as e:
            seen["unknown"] = e.errno

    b.spawn(server)
    a.spawn(client)
    world.run_for(100 * MS)
    assert seen["before"] == b"bbr"
    assert seen["cubic_pacing"] == SK_PACING_NONE
    assert seen["switched"] == ("bbr", SK_PACING_NEEDED, TCP_INFINITE_SSTHRESH, BBR_STARTUP)
    assert seen["kept"] and seen["unknown"] == 2


def test_startup_ends_three_rounds_after_the_bandwidth_plateaus(bbr_run: Run):
    """STARTUP paces and sizes cwnd at 2/ln2 (739/256); three rounds after the bandwidth estimate
    stops growing by 25 % the pipe counts as full, DRAIN (pacing gain 1/2.89) sets ssthresh to
    about one BDP and ends when in flight is down to it, and PROBE_BW follows."""
    modes = _modes(bbr_run)
    assert [m for _, m in modes[:3]] == [BBR_STARTUP, BBR_DRAIN, BBR_PROBE_BW]
    by_mode: dict[int, tuple[int, ...]] = {}
    for g in bbr_run.gains:
        by_mode.setdefault(g[1], g[3:5])
    assert by_mode[BBR_STARTUP] == (739, 739) and by_mode[BBR_DRAIN] == (88, 739)
    assert by_mode[BBR_PROBE_BW][1] == 2 * BBR_UNIT
    t_drain, t_probe_bw = modes[1][0], modes[2][0]
    plateau = next(s["t"] for s in bbr_run.samples if s["bw"] >= 0.95 * PAYLOAD_RATE)
    assert t_drain - plateau >= 3 * _min_rtt(bbr_run) * 1000
    assert t_probe_bw - t_drain < 150 * MS
    bdp = PAYLOAD_RATE * _min_rtt(bbr_run) / 1e6 / MSS
    startup = [s for s in bbr_run.samples if s["t"] < t_drain]
    after = [s for s in bbr_run.samples if s["t"] > t_probe_bw]
    assert all(s["ssthresh"] == TCP_INFINITE_SSTHRESH for s in startup)
    assert bdp < after[0]["ssthresh"] < 1.5 * bdp


def test_bandwidth_estimate_is_the_bottleneck_payload_rate(bbr_run: Run):
    """The max filter's estimate is the 10 Mb/s link's payload rate (each 1538-octet frame on
    the wire carries 1448 octets), within 0.5 %, as ``bbr_get_info`` reports it; min_rtt is the
    20 ms of propagation plus the frames' serialisation."""
    bw = bbr_get_info(bbr_run.sk).bbr_bw_lo
    assert abs(bw - PAYLOAD_RATE) / PAYLOAD_RATE < 0.005, bw
    assert 20_000 < _min_rtt(bbr_run) < 22_500


def test_probe_bw_keeps_the_queue_small_where_cubic_fills_the_buffer(bbr_run: Run, cubic_run: Run):
    """In PROBE_BW, BBR keeps a few packets queued at the bottleneck (RTT within 1.5x min_rtt,
    no drop) and still delivers at least 97 % of the link's payload rate; CUBIC on the same path
    fills the router's 100 packets until they overflow, and its RTT grows past 3x min_rtt."""
    min_rtt = _min_rtt(bbr_run)
    steady = bbr_run.between(1.0, 9.9)
    srtts = sorted(s["srtt_us"] for s in steady)
    assert srtts[len(srtts) // 2] < 1.5 * min_rtt
    assert max(s["backlog"] for s in steady) <= 12 and steady[-1]["drops"] == 0
    rate = (steady[-1]["acked"] - steady[0]["acked"]) / ((steady[-1]["t"] - steady[0]["t"]) / SEC)
    assert rate > 0.97 * PAYLOAD_RATE, rate
    cubic = cubic_run.between(1.0, 4.0)
    assert cubic[-1]["srtt_us"] > 3 * min_rtt and cubic_run.samples[-1]["drops"] > 0
    assert max(s["backlog"] for s in cubic_run.samples) == 100


def test_pacing_gain_cycles_through_the_eight_phases(bbr_run: Run):
    """PROBE_BW starts at a random phase other than the draining one and then steps through the
    cycle 5/4, 3/4, 1 x 6 in order; a phase at gain 1 lasts at least min_rtt."""
    cycle = [g for g in bbr_run.gains if g[1] == BBR_PROBE_BW and g[0] < 10 * SEC]
    assert cycle[0][2] != 1
    gains = [BBR_UNIT * 5 // 4, BBR_UNIT * 3 // 4] + [BBR_UNIT] * 6
    for (t0, _, idx0, *_), (t1, _, idx1, pacing_gain, cwnd_gain, _) in pairwise(cycle):
        assert idx1 == (idx0 + 1) % 8
        assert pacing_gain == gains[idx1] and cwnd_gain == 2 * BBR_UNIT
        if gains[idx0] == BBR_UNIT:
            assert t1 - t0 >= _min_rtt(bbr_run) * 1000
    assert {g[2] for g in cycle} == set(range(8))
    assert len(cycle) > 8 * 40  # 40 cycles and more in the 9.6 s


def test_probe_bw_starts_at_a_random_phase():
    """Over a few seeds the starting phase differs, and is never phase 1 (3/4): ``cycle_idx``
    is 7 - rand(7), then advanced."""
    starts = set()
    for seed in range(1, 6):
        run = bottleneck_path("bbr", seed=seed)
        run.b.spawn(sink)

        def source() -> None:
            fd = libc.socket(AF_INET, SOCK_STREAM, 0)
            libc.connect(fd, (SERVER, PORT))
            libc.send(fd, bytes(1 << 20))
            libc.sleep(10)

        run.a.spawn(source)
        while run.sk is None or not isinstance(run.sk.ca_priv, Bbr) or run.sk.ca_priv.mode != BBR_PROBE_BW:
            run.world.run_for(MS)
        starts.add(run.sk.ca_priv.cycle_idx)
    assert len(starts) > 1 and 1 not in starts


def test_probe_rtt_after_ten_seconds_without_a_new_min_rtt(bbr_run: Run):
    """The queue BBR keeps means no RTT sample matches min_rtt again: 10 s after the last one,
    PROBE_RTT caps cwnd at 4 packets for 200 ms and a round, measures the RTT of the drained
    path and returns to PROBE_BW with the cwnd it had."""
    modes = _modes(bbr_run)
    entries = [i for i, (_, m) in enumerate(modes) if m == BBR_PROBE_RTT]
    assert len(entries) == 1
    t_in, t_out = modes[entries[0]][0], modes[entries[0] + 1][0]
    assert modes[entries[0] + 1][1] == BBR_PROBE_BW
    last_min_rtt_ms = next(g[5] for g in reversed(bbr_run.gains) if g[0] < t_in)
    assert 10_000 <= t_in // MS - last_min_rtt_ms <= 10_050
    during = bbr_run.between(t_in / SEC, t_out / SEC)
    assert min(s["cwnd"] for s in during) == 4 and min(s["inflight"] for s in during) <= 4
    assert 200 * MS <= t_out - t_in <= 200 * MS + 3 * _min_rtt(bbr_run) * 1000
    before = bbr_run.between(t_in / SEC - 0.1, t_in / SEC)
    after = bbr_run.between(t_out / SEC + 0.01, t_out / SEC + 0.1)
    assert min(s["cwnd"] for s in after) >= min(s["cwnd"] for s in before) - 2
    refreshed = next(g[5] for g in bbr_run.gains if g[0] > t_out)
    assert refreshed * MS >= t_in


def test_ss_prints_bbr_info_where_ss_does(bbr_run: Run):
    """``ss -i`` prints ``bbr:(bw:…bps,mrtt:…,pacing_gain:…,cwnd_gain:…)`` after the segment
    counts and before ``send``, as ss.c's tcp_stats_print; the receiver, whose BBR never had an
    ACK of data, has no gains yet and prints none (as Linux 6.18 does)."""
    world, a, b = bbr_run.world, bbr_run.a, bbr_run.b
    sender, named = run_program(world, a, lambda: (format_ss(a, info=True, states=SS_CONN).splitlines()[2],
                                                   format_ss(a, info=True, states=SS_CONN, numeric=False)))
    info = bbr_get_info(bbr_run.sk)
    m = re.search(r" data_segs_out:\d+ bbr:\(bw:(\d+)bps,mrtt:([\d.]+),pacing_gain:([\d.]+),cwnd_gain:2\) send ",
                  sender)
    assert m, sender
    assert int(m[1]) == info.bbr_bw_lo * 8 and m[2] == f"{info.bbr_min_rtt / 1000:g}"
    assert float(m[3]) in (1.25, 0.75, 1.0)
    assert re.search(r" bbr:\(bw:9\.4Mbps,mrtt:[\d.]+,pacing_gain:[\d.]+,cwnd_gain:2\) send ", named)
    receiver = run_program(world, b, lambda: format_ss(b, info=True, states=SS_CONN).splitlines()[2])
    assert re.search(r" data_segs_in:\d+ bbr:\(bw:0bps,mrtt:[\d.]+\) send ", receiver), receiver


def test_idle_restart_keeps_cwnd_and_paces_at_the_estimated_bandwidth():
    """After an idle second (four RTOs) BBR keeps its cwnd, where CUBIC's is halved for each RTO
    of idleness (RFC 2861, RFC 5681 4.1: ``tcp_cwnd_restart``, which Linux skips for a
    ``cong_control`` algorithm); restarting application-limited in PROBE_BW, BBR paces at the
    estimated bandwidth (``bbr_cwnd_event``), less the 1 % margin."""
    out: dict[str, list[Any]] = {}
    for cc in ("bbr", "cubic"):
        run = bottleneck_path(cc)
        run.b.spawn(sink)
        seen: list[Any] = []

        def source(run: Run = run, seen: list[Any] = seen) -> None:
            fd = libc.socket(AF_INET, SOCK_STREAM, 0)
            libc.connect(fd, (SERVER, PORT))
            libc.send(fd, bytes(1_500_000))
            while run.sk.packets_out or run.sk.sk_write_queue:
                libc.sleep(0.01)
            seen.append(run.sk.snd_cwnd)
            libc.sleep(1)
            libc.send(fd, bytes(100_000))
            sk = run.sk
            seen.append(sk.snd_cwnd)
            if isinstance(sk.ca_priv, Bbr):
                seen.extend([sk.ca_priv.mode, sk.ca_priv.idle_restart, sk.sk_pacing_rate,
                             bbr_get_info(sk).bbr_bw_lo])
            libc.sleep(10)

        run.a.spawn(source)
        run.world.run_for(4 * SEC)
        out[cc] = seen
    before, after, mode, idle_restart, pacing_rate, bw = out["bbr"]
    assert after == before > 10
    assert mode == BBR_PROBE_BW and idle_restart
    assert abs(pacing_rate - 0.99 * bw) < 0.001 * bw
    assert out["cubic"][1] <= out["cubic"][0] // 4


def test_recovery_conserves_packets_then_restores_cwnd():
    """With a 10-packet buffer, each probe at 5/4 overflows it: BBR enters fast recovery with
    packet conservation and leaves it with the cwnd it had; ssthresh stays what DRAIN set (no
    multiplicative decrease), and the flow keeps over 85 % of the payload rate."""
    run = bulk(bottleneck_path("bbr", qlen=10), 1.5)
    steady = run.between(0.4, 1.5)
    assert steady[-1]["drops"] > steady[0]["drops"]
    episodes = 0
    entered = None  # (an episode under way when the window opens is not counted)
    for prev, cur in pairwise(steady):
        if prev["ca_state"] < TCP_CA_Recovery <= cur["ca_state"]:
            entered = prev
        if prev["ca_state"] >= TCP_CA_Recovery and cur["ca_state"] == TCP_CA_Open and entered is not None:
            episodes += 1
            assert abs(cur["cwnd"] - entered["cwnd"]) <= 2
    assert episodes >= 3
    assert len({s["ssthresh"] for s in steady}) == 1
    rate = (steady[-1]["acked"] - steady[0]["acked"]) / ((steady[-1]["t"] - steady[0]["t"]) / SEC)
    assert rate > 0.85 * PAYLOAD_RATE, rate


def test_tcp_cc_info_gives_bbrs_record_and_nothing_for_cubic():
    """getsockopt(TCP_CC_INFO): ``struct tcp_bbr_info`` (bw in two u32 halves, min_rtt, the
    gains) for BBR, as ``ss`` reads it through sock_diag; no bytes for CUBIC, which has no
    ``get_info``."""
    import struct

    from tuxnet.net.ipv4.tcp import TCP_CC_INFO

    world, a, b, _ = pair()
    seen: dict[str, Any] = {}

    def server() -> None:
        fd = listen_socket("10.0.0.2", PORT)
        c, _ = libc.accept(fd)
        while libc.recv(c, 1 << 16):
            pass

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        seen["cubic"] = libc.getsockopt(fd, IPPROTO_TCP, TCP_CC_INFO)
        libc.setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, b"bbr")
        libc.connect(fd, ("10.0.0.2", PORT))
        for _ in range(20):
            libc.send(fd, bytes(1 << 16))
        seen["bbr"] = struct.unpack("<5I", libc.getsockopt(fd, IPPROTO_TCP, TCP_CC_INFO))
        seen["info"] = bbr_get_info(connection(a, PORT))

    b.spawn(server)
    a.spawn(client)
    world.run_for(2 * SEC)
    assert seen["cubic"] == b""
    info = seen["info"]
    assert seen["bbr"] == (info.bbr_bw_lo, info.bbr_bw_hi, info.bbr_min_rtt, info.bbr_pacing_gain,
                           info.bbr_cwnd_gain)
    assert info.bbr_bw_lo > 0 and 20_000 <= info.bbr_min_rtt <= 21_000  # 2 x 10 ms of cable
