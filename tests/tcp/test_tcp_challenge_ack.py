"""RFC 5961 on an established connection: a RST or SYN whose sequence number is in the window but
not exactly rcv_nxt gets a challenge ACK (rate-limited per socket by tcp_invalid_ratelimit), and
the connection carries on; only an exact RST resets it."""

from __future__ import annotations

from tcpnet import (
    A_ADDR,
    B_ADDR,
    TH_ACK,
    TH_RST,
    TH_SYN,
    connection,
    inject,
    listen_socket,
    pair,
    sniff,
    tcp_segment,
    tcp_segments,
)

from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc

PORT = 7000


def run(attack: list[tuple[int, int]], gap: float = 0.0):
    """Connect a → b, then (from a's side of the wire) forge ``attack``: (flags, offset from b's
    rcv_nxt) segments; then try an echo over the connection.  Returns (world, b, echo, b's
    segments after the attack, the connection's view from b)."""
    world, a, b, _ = pair()
    out: dict = {}

    def server():
        lfd = listen_socket(B_ADDR, PORT)
        fd, _ = libc.accept(lfd)
        try:
            data = libc.recv(fd, 100)
            libc.send(fd, data.upper())
            out["server"] = data
        except OSError as e:
            out["server_err"] = e.errno

    def client():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (B_ADDR, PORT))
        libc.sleep(0.1)
        sk = connection(a, PORT)
        out["t_attack"] = world.now
        for flags, off in attack:
            inject(tcp_segment_at(sk, flags, off), B_ADDR)
            if gap:
                libc.sleep(gap)
        libc.sleep(0.1)
        try:
            libc.send(fd, b"still here")
            out["echo"] = libc.recv(fd, 100)
        except OSError as e:
            out["client_err"] = e.errno

    cap = sniff(b, "eth0")
    b.spawn(server)
    proc = a.spawn(client)
    world.run_until(lambda: not proc.alive, timeout=10 * 10**9)
    after = [s for s in tcp_segments(cap, B_ADDR) if s.t >= out["t_attack"]]
    return world, b, out, after


def tcp_segment_at(sk, flags: int, off: int) -> bytes:
    """A segment from a's address and port whose sequence number is a's snd_nxt + ``off``."""
    return tcp_segment(A_ADDR, B_ADDR, sk.inet_sport, PORT, sk.snd_nxt + off, sk.rcv_nxt,
                       flags | (TH_ACK if flags & TH_SYN == 0 and flags & TH_RST == 0 else 0))


def test_inexact_rst_gets_challenge_ack_and_connection_survives():
    world, b, out, after = run([(TH_RST, 100)])
    assert out.get("echo") == b"STILL HERE"
    assert b.mib.TcpExt["TCPChallengeACK"] == 1
    assert b.mib.Tcp["EstabResets"] == 0
    # The first thing b sent after the forged RST: a pure ACK (the challenge), at b's rcv_nxt.
    first = after[0]
    assert first.flags == TH_ACK and first.length == 0


def test_in_window_syn_gets_challenge_ack_and_connection_survives():
    world, b, out, after = run([(TH_SYN, 5)])
    assert out.get("echo") == b"STILL HERE"
    assert b.mib.TcpExt["TCPSYNChallenge"] == 1 and b.mib.TcpExt["TCPChallengeACK"] == 1
    assert after[0].flags == TH_ACK and after[0].length == 0


def test_challenge_acks_are_rate_limited():
    """tcp_invalid_ratelimit (500 ms): a burst of forged RSTs draws a single challenge ACK."""
    world, b, out, after = run([(TH_RST, 100 + i) for i in range(10)])
    assert out.get("echo") == b"STILL HERE"
    assert b.mib.TcpExt["TCPChallengeACK"] == 1
    assert b.mib.TcpExt["TCPACKSkippedChallenge"] == 9


def test_challenge_acks_resume_after_the_rate_limit_interval():
    world, b, out, after = run([(TH_RST, 100), (TH_RST, 200)], gap=0.6)
    assert b.mib.TcpExt["TCPChallengeACK"] == 2
    assert out.get("echo") == b"STILL HERE"


def test_exact_rst_resets_the_connection():
    """The control: a RST at exactly rcv_nxt is accepted (RFC 5961 section 3.2)."""
    world, b, out, after = run([(TH_RST, 0)])
    assert b.mib.TcpExt["TCPChallengeACK"] == 0
    assert b.mib.Tcp["EstabResets"] == 1
    assert "echo" not in out
