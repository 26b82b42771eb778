"""Receive memory as Linux 6.6+ counts it: every queued buffer charges its truesize (payload plus
the kernel's per-buffer overhead) to sk_rmem_alloc, the window offered is the share of free memory
that the peer's full-sized segments carry as payload (``scaling_ratio``, tcp_measure_rcv_mss), and
a queue that outgrows the buffer is pruned: first a bigger buffer (tcp_clamp_window), then its
bloated buffers copied into compact ones (tcp_collapse), then out-of-order data dropped."""

from __future__ import annotations

from tcpnet import (
    B_ADDR,
    IPPROTO_TCP,
    SO_RCVBUF,
    SOL_SOCKET,
    TCP_NODELAY,
    connection,
    lo_host,
    pair,
    sniff,
    tcp_segments,
)

from tuxnet.net.core.skbuff import SKB_TRUESIZE_OVERHEAD, skb_truesize
from tuxnet.net.ipv4.tcp_sock import TCP_DEFAULT_SCALING_RATIO
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc

PORT = 7010


def test_lo_offers_nearly_all_of_the_buffer_and_sends_bigger_segments():
    """lo's 64 KB segments are almost all payload: the receiver offers ~99 % of its buffer
    where kernels before 6.6 offered half, and the sender's segments (at most half the largest
    window, tcp_bound_to_half_wnd) grow past 32 KB."""
    world, h = lo_host()
    cap = sniff(h, "lo")
    got: list[int] = []

    def sink() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("127.0.0.1", PORT))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        sk = next(s for s in h.tcp_hashinfo.ehash.values() if getattr(s, "inet_num", 0) == PORT)
        n = 0
        while data := libc.recv(fd, 1 << 20):
            n += len(data)
        got.extend([n, sk.scaling_ratio, sk.window_clamp, sk.sk_rcvbuf])
        libc.close(fd)

    def source() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("127.0.0.1", PORT))
        libc.send(fd, bytes(4 << 20))
        libc.close(fd)

    h.spawn(sink)
    h.spawn(source)
    world.run_until(lambda: bool(got))
    n, ratio, clamp, rcvbuf = got
    assert n == 4 << 20
    assert 250 <= ratio <= 255, ratio
    assert clamp == rcvbuf * ratio >> 8
    data = [s.length for s in tcp_segments(cap) if s.length]
    assert max(data) > 45_000, sorted(set(data))


def test_cable_ratio_is_payload_over_frame_truesize():
    """A 1448-byte segment arrives in a 1514-byte frame that costs 1514 + SKB_TRUESIZE overhead:
    the receiver offers that share of its buffer, and never more than the buffer can hold."""
    world, a, b, _ = pair()
    out: dict = {}

    def reader() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, (B_ADDR, PORT))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        sk = connection(b, PORT)
        assert sk.scaling_ratio == TCP_DEFAULT_SCALING_RATIO      # half, until data arrives
        libc.sleep(0.5)                                           # the writer fills the window
        out["rmem"], out["queued"] = sk.sk_rmem_alloc, sum(s.rcv_charge for s in sk.sk_receive_queue)
        out["frames"] = sum(skb_truesize(s) for s in sk.sk_receive_queue)
        out["payload"] = sum(s.end_seq - s.seq for s in sk.sk_receive_queue)
        out["ratio"], out["rcvbuf"] = sk.scaling_ratio, sk.sk_rcvbuf
        while libc.recv(fd, 1 << 20):
            pass
        libc.close(fd)

    def writer() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (B_ADDR, PORT))
        libc.send(fd, bytes(1 << 20))
        libc.close(fd)

    r = b.spawn(reader)
    world.run_for(1_000_000)
    w = a.spawn(writer)
    world.run_until(lambda: not r.alive and not w.alive, timeout=60 * 10**9)
    assert out["ratio"] == (1448 << 8) // (1514 + SKB_TRUESIZE_OVERHEAD)
    # Memory is charged by truesize, not payload, and the window kept it within the buffer (give or
    # take the last segment: tcp_try_rmem_schedule looks at the memory before adding a buffer).  A
    # frame merged into the buffer before it (tcp_try_coalesce) is charged its truesize less its
    # struct sk_buff, the head becoming a page fragment of that buffer.
    assert out["frames"] > out["rmem"] == out["queued"] > out["payload"] > 0
    assert out["rmem"] <= out["rcvbuf"] + 1514 + SKB_TRUESIZE_OVERHEAD


def test_small_segments_are_collapsed_when_the_buffer_is_fixed():
    """With SO_RCVBUF fixed, a stream of 30-byte segments costs ~14 times its payload, even merged
    into the buffer before (tcp_try_coalesce: each frame's head, less its struct sk_buff): the
    window (sized for the payload share of full-sized segments) lets more in than the buffer
    holds, and tcp_prune_queue copies the queue into compact buffers instead of dropping; every
    byte arrives in order."""
    world, a, b, _ = pair()
    chunks = [bytes([i % 251]) * 30 for i in range(600)]
    out: dict = {}

    def reader() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, 16384)
        libc.bind(lfd, (B_ADDR, PORT))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        sk = connection(b, PORT)
        libc.sleep(2.0)                                           # let the queue fill
        out["rmem"], out["rcvbuf"], out["queue"] = sk.sk_rmem_alloc, sk.sk_rcvbuf, len(sk.sk_receive_queue)
        data = bytearray()
        while chunk := libc.recv(fd, 1 << 16):
            data += chunk
        out["data"] = bytes(data)
        libc.close(fd)

    def writer() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1)
        libc.connect(fd, (B_ADDR, PORT))
        for c in chunks:
            libc.send(fd, c)
            libc.sleep(0.0005)
        libc.close(fd)

    r = b.spawn(reader)
    world.run_for(1_000_000)
    w = a.spawn(writer)
    world.run_until(lambda: not r.alive and not w.alive, timeout=120 * 10**9)
    mib = b.mib.TcpExt
    assert out["data"] == b"".join(chunks)
    assert mib["PruneCalled"] > 0 and mib["TCPRcvCollapsed"] > 0 and mib["TCPRcvCoalesce"] > 0
    assert mib["RcvPruned"] == 0 and mib["TCPRcvQDrop"] == 0
    assert out["rcvbuf"] == 32768                                 # SO_RCVBUF doubled, then left alone
    assert out["queue"] < 200                                     # fewer, fuller buffers than segments
