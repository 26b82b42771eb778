"""Flow control at zero: a reader that stops reading closes the window; the sender's persist timer
probes it at backed-off intervals (RFC 9293 section 3.8.6.1, ``tcp_probe_timer``); the transfer
resumes with the window update when reading resumes, every byte intact."""

from __future__ import annotations

import hashlib
import random

from tcpnet import (
    A_ADDR,
    B_ADDR,
    SEC,
    connection,
    listen_socket,
    pair,
    sniff,
    tcp_segments,
)

from tuxnet.benchmarks import tcp_source
from tuxnet.net.ipv4.tcp_output import tcp_full_space, tcp_space
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc

PORT = 7001
SIZE = 2_000_000
PAUSE = 20.0


def test_zero_window_probes_back_off_and_transfer_resumes():
    world, a, b, _ = pair()
    payload = random.Random(5).randbytes(SIZE)
    out: dict = {}

    def reader():
        lfd = listen_socket(B_ADDR, PORT)
        fd, _ = libc.accept(lfd)
        first = libc.recv(fd, 1000)
        libc.sleep(PAUSE)                      # stop reading: the window closes
        out["resume"] = world.now
        digest = hashlib.sha256(first)
        n = len(first)
        while True:
            data = libc.recv(fd, 1 << 16)
            if not data:
                break
            digest.update(data)
            n += len(data)
        out["end"] = world.now
        out["bytes"], out["sha"] = n, digest.hexdigest()

    def writer():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (B_ADDR, PORT))
        libc.send(fd, payload)
        libc.close(fd)

    cap = sniff(a, "eth0")
    b.spawn(reader)
    a.spawn(writer)
    world.run_until(lambda: "end" in out, timeout=120 * SEC)
    assert out["bytes"] == SIZE and out["sha"] == hashlib.sha256(payload).hexdigest()
    # The transfer resumed promptly once the reader read again.
    assert out["end"] - out["resume"] < 2 * SEC

    from_b = tcp_segments(cap, B_ADDR)
    from_a = tcp_segments(cap, A_ADDR)
    zero = [s for s in from_b if s.window == 0 and s.t < out["resume"]]
    assert zero, "the receiver never advertised a zero window"
    closed_at = zero[0].t
    # Probes: a's zero-length segments one below snd_una (tcp_xmit_probe_skb) while the window is shut.
    una = zero[0].ack
    probes = [s for s in from_a if closed_at < s.t < out["resume"] and s.length == 0
              and s.seq == (una - 1) & 0xFFFFFFFF]
    assert len(probes) >= 5
    # Each one was answered with the window still zero.
    assert len([s for s in zero if s.t > probes[0].t]) >= len(probes) - 1
    gaps = [(q.t - p.t) / SEC for p, q in zip(probes, probes[1:], strict=False)]
    for g0, g1 in zip(gaps, gaps[1:], strict=False):
        assert 1.8 < g1 / g0 < 2.2, gaps           # exponential backoff
    assert 0.2 <= (probes[0].t - closed_at) / SEC < 1.0  # the first after about an RTO
    # No data went into the closed window.
    assert not [s for s in from_a if closed_at < s.t < out["resume"] and s.length > 0]
    # Reading resumed: b's window update reopened it, and data flowed again.
    update = next(s for s in from_b if s.t >= out["resume"] and s.window > 0)
    assert any(s.length > 0 and s.t >= update.t for s in from_a)
    assert a.mib.TcpExt["TCPWinProbe"] >= len(probes)


def test_a_small_read_does_not_reopen_the_window():
    """Receiver-side silly window avoidance (``__tcp_select_window``): once the window is closed,
    a read that frees less than a sixteenth of the buffer's window (``tcp_full_space``) offers
    nothing, though more than an MSS is free; the window stays closed, the sender probing it,
    and opens when the reader reads on."""
    world, a, b, _ = pair()
    out: dict = {}

    def reader():
        lfd = listen_socket(B_ADDR, PORT)
        fd, _ = libc.accept(lfd)
        libc.sleep(3.0)                        # the sender fills the window and it closes
        sk = connection(b, PORT)
        out["closed"] = sk.rcv_wnd
        got = len(libc.recv(fd, 4096))
        out["space"], out["full"], out["mss"] = tcp_space(sk), tcp_full_space(sk), sk.icsk_ack.rcv_mss
        libc.sleep(0.1)
        out["after"], out["got"] = sk.rcv_wnd, got
        out["reopened"] = b.mib.TcpExt["TCPFromZeroWindowAdv"]
        while libc.recv(fd, 1 << 16):
            pass
        out["end"] = True

    b.spawn(reader)
    a.spawn(tcp_source, B_ADDR, PORT, bytes(SIZE), SIZE)
    world.run_until(lambda: "end" in out, timeout=30 * SEC)
    assert out["closed"] == 0 and out["got"] == 4096
    assert out["mss"] <= out["space"] < out["full"] >> 4, out
    assert out["after"] == 0 and out["reopened"] == 0, out
    assert b.mib.TcpExt["TCPFromZeroWindowAdv"] > 0  # once the reader read on
