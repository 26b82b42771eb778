"""Receive-buffer autotuning (dynamic right-sizing, ``tcp_rcv_space_adjust``): over a long fat
path the receiver grows sk_rcvbuf and its window with what the reader consumes per RTT, up to
tcp_rmem[2]; SO_RCVBUF turns it off and the window stays put, at the share of the buffer that
the segments' payload is of their memory (Linux 6.6+'s scaling_ratio)."""

from __future__ import annotations

from tcpnet import B_ADDR, SEC, SO_RCVBUF, SOL_SOCKET, connection, pair

from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc

PORT = 7004
SIZE = 8_000_000


def bulk(rcvbuf: int | None) -> tuple[float, int, int, int]:
    """8 MB a → b over 100 Mb/s with a 50 ms RTT; (goodput Mb/s, b's sk_rcvbuf, b's largest
    advertised window in bytes, b's scaling_ratio)."""
    world, a, b, _ = pair(delay="25ms")
    out: dict = {"wnd": 0}

    def server():
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        if rcvbuf is not None:
            libc.setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, rcvbuf)
        libc.bind(lfd, (B_ADDR, PORT))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        n = 0
        while True:
            data = libc.recv(fd, 1 << 20)
            if not data:
                break
            n += len(data)
            sk = connection(b, PORT)
            out["wnd"] = max(out["wnd"], sk.rcv_wnd)
            out["rcvbuf"] = sk.sk_rcvbuf
            out["ratio"] = sk.scaling_ratio
        out["end"] = world.now

    def client():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (B_ADDR, PORT))
        out["start"] = world.now
        libc.send(fd, bytes(SIZE))
        libc.close(fd)

    b.spawn(server)
    world.run_for(1_000_000)
    a.spawn(client)
    world.run_until(lambda: "end" in out, timeout=120 * SEC)
    return SIZE * 8 / ((out["end"] - out["start"]) / SEC) / 1e6, out["rcvbuf"], out["wnd"], out["ratio"]


def test_receive_buffer_grows_to_fill_the_path():
    goodput, rcvbuf, wnd, _ = bulk(None)
    assert rcvbuf > 1_000_000 and rcvbuf <= 33554432          # grown, within tcp_rmem[2]
    assert wnd > 625_000                                      # more than the 625 kB BDP
    assert goodput > 60


def test_so_rcvbuf_locks_the_window():
    goodput, rcvbuf, wnd, ratio = bulk(65536)
    assert rcvbuf == 131072                                    # doubled once, as Linux does, then left
    # A 1448-byte segment in a 1514-byte frame costs 2090 bytes (SKB_TRUESIZE): 177/256 of the
    # buffer is offered, where kernels before 6.6 offered half (tcp_adv_win_scale 1).
    assert ratio == 1448 * 256 // 2090
    assert 65536 < wnd <= rcvbuf * ratio // 256
    assert goodput < wnd * 8 / 0.050 / 1e6 * 1.05              # one window per RTT at most


def test_a_slow_reader_does_not_grow_the_buffer():
    """Linux 6.16+ ("add receive queue awareness in tcp_rcv_space_adjust", "fix sk_rcvbuf
    overshoot"): what the reader took in an RTT counts less what it left queued, and the buffer
    is sized for the sender's growth, not for losses too.  A reader slower than the path (64 KB
    every 20 ms: 164 KB an RTT, 26 Mb/s of the 100) grows it while the sender's slow start is
    slower than itself, then no more: to 1.18 MB, where Linux before 6.16 (and tuxnet before it)
    went to 2.87 MB.  (915 KB before tuxnet merged arriving segments into the receive queue's last
    buffer, tcp_try_coalesce: the queue now costs less, its window is wider and the sender gets
    further ahead of the reader.)"""
    world, a, b, _ = pair(delay="25ms")
    out: dict = {}

    def server():
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, (B_ADDR, PORT))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        n = 0
        while data := libc.recv(fd, 65536):
            n += len(data)
            out["rcvbuf"] = connection(b, PORT).sk_rcvbuf
            libc.sleep(0.02)
        out["n"] = n

    def client():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (B_ADDR, PORT))
        libc.send(fd, bytes(4_000_000))
        libc.close(fd)

    b.spawn(server)
    world.run_for(1_000_000)
    a.spawn(client)
    world.run_until(lambda: "n" in out, timeout=120 * SEC)
    assert out["n"] == 4_000_000
    assert 131072 < out["rcvbuf"] < 1_300_000


def test_the_receiver_rtt_seeks_the_minimum():
    """``tcp_rcv_rtt_update`` (Linux 6.16+): a lower sample is taken at once; a higher one only
    from a timestamp (a window-based one overestimates) and only while the reader keeps up."""
    from tuxnet.net.ipv4.tcp_input import tcp_rcv_rtt_update

    world, a, b, _ = pair()
    send = {}

    def server():
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, (B_ADDR, PORT))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        while "now" not in send:
            libc.sleep(0.01)
        libc.send(fd, bytes(100))
        libc.sleep(10)

    def client():
        libc.connect(libc.socket(AF_INET, SOCK_STREAM, 0), (B_ADDR, PORT))
        libc.sleep(10)

    b.spawn(server)
    world.run_for(1_000_000)
    a.spawn(client)
    world.run_for(SEC)
    sk = connection(a, PORT)
    sk.rcv_rtt_us = 0
    tcp_rcv_rtt_update(sk, 20_000, True)
    assert sk.rcv_rtt_us >> 3 == 20_000                   # the first sample
    tcp_rcv_rtt_update(sk, 30_000, True)
    assert sk.rcv_rtt_us >> 3 == 20_000                   # higher, window-based: ignored
    tcp_rcv_rtt_update(sk, 28_000, False)
    assert sk.rcv_rtt_us >> 3 == 21_000                   # higher, timestamp: an eighth of the way
    tcp_rcv_rtt_update(sk, 5_000, True)
    assert sk.rcv_rtt_us >> 3 == 5_000                    # lower: taken at once
    send["now"] = True
    world.run_for(SEC)
    assert sk.rcv_nxt != sk.copied_seq                    # 100 bytes not read
    rtt = sk.rcv_rtt_us
    tcp_rcv_rtt_update(sk, (rtt >> 3) + 4_000, False)
    assert sk.rcv_rtt_us == rtt                           # higher while the queue holds data: ignored
