"""Giving up and keeping alive: tcp_retries2 and TCP_USER_TIMEOUT end a connection whose peer went
silent with ETIMEDOUT at Linux's times; tcp_syn_retries bounds connect() and tcp_synack_retries a
half-open request; keepalive probes an idle peer (SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT); SO_LINGER
with a zero time closes with a RST."""

from __future__ import annotations

import errno

from tcpnet import (
    A_ADDR,
    B_ADDR,
    IPPROTO_TCP,
    SEC,
    SO_KEEPALIVE,
    SO_LINGER,
    SOL_SOCKET,
    TCP_KEEPCNT,
    TCP_KEEPIDLE,
    TCP_KEEPINTVL,
    TCP_USER_TIMEOUT,
    TH_RST,
    TH_SYN,
    blackhole_tcp,
    connection,
    inject,
    listen_socket,
    pair,
    sniff,
    tcp_segment,
    tcp_segments,
)

from tuxnet.net.core.sock import SO_TXREHASH
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc

PORT = 7002


def silent_peer(world, b, setup=None, send: bytes = b"x" * 1000):
    """Connect a → b, silence b, send ``send`` and wait in recv(); returns (errno, seconds from
    the cut to the error)."""
    out: dict = {}

    def server():
        lfd = listen_socket(B_ADDR, PORT)
        fd, _ = libc.accept(lfd)
        libc.sleep(100_000)

    def client():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        if setup:
            setup(fd)
        libc.connect(fd, (B_ADDR, PORT))
        libc.sleep(0.5)
        blackhole_tcp(b)
        out["cut"] = world.now
        if send:
            libc.send(fd, send)
        try:
            libc.recv(fd, 100)
        except OSError as e:
            out["errno"] = e.errno
        out["t"] = world.now

    return out, server, client


def run_silent(setup=None, sysctl: dict | None = None, send: bytes = b"x" * 1000, limit: int = 2000):
    world, a, b, cable = pair()
    for k, v in (sysctl or {}).items():
        a.sysctl.set(k, str(v))
    out, server, client = silent_peer(world, b, setup, send)
    b.spawn(server)
    proc = a.spawn(client)
    world.run_until(lambda: not proc.alive, timeout=limit * SEC)
    assert not proc.alive
    return a, out.get("errno"), (out["t"] - out["cut"]) / SEC


def test_tcp_retries2_default_gives_up_after_924_seconds():
    """15 backed-off RTOs from 200 ms, capped at 120 s: tcp_model_timeout = 924.6 s."""
    a, err, elapsed = run_silent()
    assert err == errno.ETIMEDOUT
    assert 924.6 <= elapsed <= 924.6 + 120
    assert a.mib.TcpExt["TCPAbortOnTimeout"] == 1
    # 15 RTO retransmissions; the 16th expiry gives up
    assert a.mib.TcpExt["TCPTimeouts"] == 16 and a.mib.Tcp["RetransSegs"] - a.mib.TcpExt["TCPLossProbes"] == 15
    # each RTO that did not give up took a new flow hash (tcp_write_timeout, sk_rethink_txhash)
    assert a.mib.TcpExt["TcpTimeoutRehash"] == 15


def test_so_txrehash_off_keeps_the_flow_hash_through_timeouts():
    """SO_TXREHASH 0: ``sk_rethink_txhash`` leaves the hash as it is, and nothing is counted."""
    a, err, _ = run_silent(setup=lambda fd: libc.setsockopt(fd, SOL_SOCKET, SO_TXREHASH, 0),
                           sysctl={"net.ipv4.tcp_retries2": 5})
    assert err == errno.ETIMEDOUT and a.mib.TcpExt["TCPTimeouts"] == 6
    assert a.mib.TcpExt["TcpTimeoutRehash"] == 0


def test_tcp_retries2_small():
    a, err, elapsed = run_silent(sysctl={"net.ipv4.tcp_retries2": 5})
    assert err == errno.ETIMEDOUT
    assert 12.6 <= elapsed <= 12.6 + 13        # (2^6 - 1) * 200 ms, then the next RTO
    assert 5 <= a.mib.Tcp["RetransSegs"] <= 6


def test_tcp_user_timeout_aborts_at_the_given_time():
    """TCP_USER_TIMEOUT = 3000 ms counts from the first RTO retransmission (retrans_stamp; the
    resend before it is the tail loss probe), and the RTO is clamped so the abort comes on time."""
    world, a, b, cable = pair()
    cap = sniff(a, "eth0")
    out, server, client = silent_peer(world, b, lambda fd: libc.setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 3000))
    b.spawn(server)
    proc = a.spawn(client)
    world.run_until(lambda: not proc.alive, timeout=100 * SEC)
    assert out["errno"] == errno.ETIMEDOUT
    data = [s.t for s in tcp_segments(cap, A_ADDR) if s.length > 0 and s.t >= out["cut"]]
    assert a.mib.TcpExt["TCPLossProbes"] == 1
    first_rto = data[2]
    assert abs((out["t"] - first_rto) / SEC - 3.0) < 0.002
    # without the clamp the next backed-off retransmission would have come later
    assert out["t"] < data[-1] + 2 * (data[-1] - data[-2])


def test_syn_retries_bound_connect():
    """tcp_syn_retries = 3: SYNs at 0, 1, 3, 7 s (initial RTO 1 s, doubling), ETIMEDOUT at 15 s."""
    world, a, b, cable = pair()
    a.sysctl.set("net.ipv4.tcp_syn_retries", "3")
    blackhole_tcp(b)
    cap = sniff(a, "eth0")
    out: dict = {}

    def client():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        out["t0"] = world.now
        try:
            libc.connect(fd, (B_ADDR, PORT))
        except OSError as e:
            out["errno"] = e.errno
        out["t"] = world.now

    proc = a.spawn(client)
    world.run_until(lambda: not proc.alive, timeout=100 * SEC)
    assert out["errno"] == errno.ETIMEDOUT
    assert abs((out["t"] - out["t0"]) / SEC - 15) < 0.01
    syns = [s.t for s in tcp_segments(cap, A_ADDR) if s.flags & TH_SYN]
    assert len(syns) == 4       # the first waited for ARP; the retransmissions count from connect()
    assert [round((t - out["t0"]) / SEC, 3) for t in syns[1:]] == [1, 3, 7]


def test_keepalive_probes_idle_peer_and_detects_death():
    world, a, b, cable = pair()
    cap = sniff(a, "eth0")
    out: dict = {}

    def server():
        lfd = listen_socket(B_ADDR, PORT)
        fd, _ = libc.accept(lfd)
        libc.sleep(100_000)

    def client():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, 1)
        libc.setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, 10)
        libc.setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, 2)
        libc.setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, 3)
        libc.connect(fd, (B_ADDR, PORT))
        out["t0"] = world.now
        world.call_later(35 * SEC, blackhole_tcp, b)   # the peer goes silent at 35 s
        try:
            libc.recv(fd, 100)
        except OSError as e:
            out["errno"] = e.errno
        out["t"] = world.now

    b.spawn(server)
    proc = a.spawn(client)
    world.run_until(lambda: not proc.alive, timeout=200 * SEC)
    assert out["errno"] == errno.ETIMEDOUT
    sent = [s for s in tcp_segments(cap, A_ADDR) if s.length == 0 and s.t > out["t0"] + SEC]
    probes = [round((s.t - out["t0"]) / SEC, 3) for s in sent if not s.flags & TH_RST]
    # While the peer answers, idleness counts from its last ACK (20 ms after each probe): a probe
    # TCP_KEEPIDLE after it.  Once it is silent: TCP_KEEPCNT probes TCP_KEEPINTVL apart, then a
    # RST and ETIMEDOUT (tcp_keepalive_timer).
    assert probes == [10.0, 20.02, 30.04, 40.06, 42.06, 44.06]
    assert sent[-1].flags & TH_RST and round((sent[-1].t - out["t0"]) / SEC, 3) == 46.06
    assert round((out["t"] - out["t0"]) / SEC, 3) == 46.06
    assert a.mib.TcpExt["TCPKeepAlive"] == 6


def test_so_linger_zero_sends_rst_on_close():
    world, a, b, cable = pair()
    cap = sniff(a, "eth0")
    out: dict = {}

    def server():
        lfd = listen_socket(B_ADDR, PORT)
        fd, _ = libc.accept(lfd)
        try:
            out["data"] = libc.recv(fd, 100)
            libc.recv(fd, 100)
        except OSError as e:
            out["errno"] = e.errno

    def client():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.setsockopt(fd, SOL_SOCKET, SO_LINGER, (1, 0))
        libc.connect(fd, (B_ADDR, PORT))
        libc.send(fd, b"bye")
        libc.sleep(0.1)
        out["t_close"] = world.now
        libc.close(fd)

    sproc = b.spawn(server)
    a.spawn(client)
    world.run_until(lambda: not sproc.alive, timeout=5 * SEC)
    assert out["data"] == b"bye"
    assert out["errno"] == errno.ECONNRESET
    after = [s for s in tcp_segments(cap, A_ADDR) if s.t >= out["t_close"]]
    assert len(after) == 1 and after[0].flags & TH_RST     # no FIN handshake, just the RST
    assert connection(a, PORT) is None                     # and no TIME_WAIT left behind
    assert not [tw for tw in a.tcp_hashinfo.ehash.values() if tw.sk_state == 6]


def test_synack_retries_then_the_request_is_dropped():
    """tcp_synack_retries = 2: SYN-ACKs at 0, 1 and 3 s (TCP_TIMEOUT_INIT doubling), and the
    request socket is gone when the next timeout (7 s) finds no retries left (reqsk_timer_handler)."""
    world, a, b, cable = pair()
    b.sysctl.set("net.ipv4.tcp_synack_retries", "2")
    blackhole_tcp(a)                          # the client never sees the SYN-ACKs
    cap = sniff(b, "eth0")
    seen: dict = {}

    def server():
        listen_socket(B_ADDR, PORT)
        libc.sleep(100)

    def client():
        inject(tcp_segment(A_ADDR, B_ADDR, 40000, PORT, 1000, 0, TH_SYN), B_ADDR)
        seen["t0"] = world.now
        libc.sleep(6.9)
        seen["queued_at_6.9"] = b.tcp_hashinfo.lhash[PORT][0].syn_queue_len
        libc.sleep(0.2)
        seen["queued_at_7.1"] = b.tcp_hashinfo.lhash[PORT][0].syn_queue_len

    b.spawn(server)
    world.run_for(1_000_000)
    proc = a.spawn(client)
    world.run_until(lambda: not proc.alive, timeout=20 * SEC)
    synacks = [s.t for s in tcp_segments(cap, B_ADDR) if s.flags & TH_SYN]
    assert [round((t - synacks[0]) / SEC, 3) for t in synacks] == [0, 1, 3]
    assert seen["queued_at_6.9"] == 1 and seen["queued_at_7.1"] == 0
    assert b.mib.TcpExt["TCPSynRetrans"] == 2
