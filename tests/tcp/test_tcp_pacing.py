"""TCP's own pacing (``tcp_pacing_check``, the pacing hrtimer ``tcp_pace_kick``) and
SO_MAX_PACING_RATE (sock.c): a socket asked to keep under a rate sends at that rate, in bursts of
``tcp_tso_autosize``'s size, spaced by the Earliest Departure Time each burst leaves behind."""

from __future__ import annotations

from tcpnet import A_ADDR, B_ADDR, MS, SOL_SOCKET, connection, listen_socket, pair, sniff, tcp_segments

from tuxnet.net.core.sock import SK_PACING_NEEDED, SK_PACING_NONE, SO_MAX_PACING_RATE
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc

MSS = 1448
RATE = 1_000_000  # bytes/s


def paced_transfer(size: int, rate: int | None) -> dict:
    """``size`` bytes from a to b over 1 Gb/s and a 10 ms round trip, the sender's socket under
    SO_MAX_PACING_RATE ``rate``; the data segments seen on a's wire and the option read back."""
    world, a, b, _ = pair(delay="5ms", rate="1gbit")
    cap = sniff(a, "eth0")
    out: dict = {"got": 0}

    def sink() -> None:
        fd = listen_socket(B_ADDR, 5001)
        c, _ = libc.accept(fd)
        while data := libc.recv(c, 1 << 16):
            out["got"] += len(data)

    def source() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        if rate is not None:
            libc.setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, rate)
        out["readback"] = libc.getsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE)
        libc.connect(fd, (B_ADDR, 5001))
        libc.send(fd, bytes(size))
        libc.close(fd)

    b.spawn(sink)
    a.spawn(source)
    world.run_for(3000 * MS)
    out["segs"] = [s for s in tcp_segments(cap, A_ADDR) if s.length]
    return out


def test_so_max_pacing_rate_paces_the_flow_after_its_first_ten_segments():
    out = paced_transfer(300_000, RATE)
    segs = out["segs"]
    assert out["got"] == 300_000 and out["readback"] == RATE
    # The first ten leave at once, as sch_fq and tcp_update_skb_after_send leave them unpaced.
    assert segs[9].t - segs[0].t < 1 * MS
    # Then bursts of two segments, one every 2 * MSS / RATE seconds (tcp_tso_autosize: RATE >>
    # sk_pacing_shift is under one MSS, tcp_min_tso_segs is 2, and a 10 ms peer is too far for
    # tcp_tso_rtt_log to add to it).
    gaps = [segs[i + 2].t - segs[i].t for i in range(12, len(segs) - 2, 2)]
    assert all(abs(g - 2 * MSS * 10**9 // RATE) < 20_000 for g in gaps), gaps[:10]
    rate = sum(s.length for s in segs[10:-1]) / ((segs[-1].t - segs[10].t) / 1e9)
    assert abs(rate - RATE) / RATE < 0.02, rate


def test_no_limit_means_no_pacing_and_unlimited_reads_back_as_all_ones():
    """Without the option (or with ~0U) CUBIC's socket does not pace: 300 KB over 1 Gb/s take a
    few round trips, not 0.3 s."""
    for rate in (None, 0xFFFFFFFF):
        out = paced_transfer(300_000, rate)
        segs = out["segs"]
        assert out["readback"] == 0xFFFFFFFF
        assert segs[-1].t - segs[0].t < 50 * MS


def test_the_option_sets_pacing_needed_and_an_accepted_socket_inherits_it():
    """sock_setsockopt turns TCP's own pacing on (SK_PACING_NEEDED) for any limit but ~0U, and
    an accepted socket starts as a copy of its listener (sk_clone_lock), limit included."""
    world, a, b, _ = pair()
    seen: dict = {}

    def server() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, RATE)
        libc.bind(fd, (B_ADDR, 5001))
        libc.listen(fd, 4)
        c, _ = libc.accept(fd)
        seen["child"] = libc.getsockopt(c, SOL_SOCKET, SO_MAX_PACING_RATE)
        libc.sleep(1)

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (B_ADDR, 5001))
        libc.sleep(1)

    b.spawn(server)
    a.spawn(client)
    world.run_for(500 * MS)
    assert seen["child"] == RATE
    child = connection(b, 5001)
    assert child.sk_pacing_status == SK_PACING_NEEDED and child.sk_max_pacing_rate == RATE
    assert connection(a, 5001).sk_pacing_status == SK_PACING_NONE


def test_an_ack_for_a_segment_fq_still_holds_takes_no_negative_rtt():
    """Behind fq a segment's stamp is its departure time, which may be ahead when an ACK that
    covers it comes (a peer acknowledging optimistically): tcp_stamp_us_delta never goes below
    zero, so the RTT sample is 0 and the connection goes on."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from rawpeer import Peer, passive_open
    from tuxnet.drivers.net.tun import tun_setup_tc
    from tuxnet.kernel.sched import current
    from tuxnet.net.socket import MSG_DONTWAIT

    peer = Peer()
    tun_setup_tc(peer.dev, "fq")
    fd = passive_open(peer)
    peer.call(libc.setsockopt, fd, SOL_SOCKET, SO_MAX_PACING_RATE, 1_000_000)
    sk = next(s for s in peer.host.tcp_hashinfo.ehash.values() if getattr(s, "inet_dport", 0) == 40000)

    def send() -> None:
        current().files = peer.files
        libc.send(fd, bytes(200_000), MSG_DONTWAIT)

    peer.call(send)
    peer.segment(0x10, peer.snd_nxt, sk.snd_nxt, 65535, b"", b"")
    peer.host.spawn(send)
    peer.world.run_for(8 * MS)
    assert any(s.skb_mstamp > peer.world.now for s in sk.tcp_rtx_queue)  # one still waits for its EDT
    acked = sk.snd_nxt
    peer.segment(0x10, peer.snd_nxt, acked, 65535, b"", b"")  # acknowledges that one too
    sent = peer.host.mib.Tcp["OutSegs"]
    peer.world.run_for(1000 * MS)  # (a negative sample made tcp_tso_autosize shift by a negative count)
    assert sk.snd_una == acked and sk.min_rtt_us >= 0
    assert peer.host.mib.Tcp["OutSegs"] > sent  # the rest of the data goes on leaving
