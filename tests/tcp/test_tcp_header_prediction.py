"""Header prediction (tcp_rcv_established's fast path): in-order data and pure ACKs with the
expected flags and window skip the slow path's checks, as Linux counts them (TCPHPHits,
TCPHPAcks), and anything unusual (a hole, a window change, a closed window) goes the slow way
without losing a byte."""

from __future__ import annotations

import hashlib
import random

from tcpnet import B_ADDR, connection, pair

from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc

PORT = 5001


def _transfer(world, a, b, size: int, reader_pause: float = 0.0) -> dict:
    payload = random.Random(7).randbytes(size)
    seen: dict = {}

    def reader() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, (B_ADDR, PORT))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        if reader_pause:
            libc.sleep(reader_pause)
        h, n = hashlib.sha256(), 0
        while data := libc.recv(fd, 1 << 16):
            h.update(data)
            n += len(data)
        seen["bytes"], seen["sha256"] = n, h.hexdigest()
        libc.close(fd)

    def writer() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (B_ADDR, PORT))
        seen["sender"] = connection(a, PORT)
        libc.send(fd, payload)
        libc.close(fd)

    r = b.spawn(reader)
    world.run_for(1_000_000)
    w = a.spawn(writer)
    world.run_until(lambda: not r.alive and not w.alive, timeout=600 * 10**9)
    assert seen["bytes"] == size and seen["sha256"] == hashlib.sha256(payload).hexdigest()
    return seen


def test_bulk_data_and_its_acks_take_the_fast_path():
    world, a, b, _ = pair()
    _transfer(world, a, b, 2_000_000)
    data_segs = b.mib.Tcp["InSegs"]
    hits = b.mib.TcpExt["TCPHPHits"]
    assert hits > 0.9 * 2_000_000 / 1448, (hits, data_segs)
    # The sender sees each ACK once, predicted or pure (the SYN-ACK is neither); while the
    # receiver's window still grows most ACKs announce a new one and go the slow way.
    ext = a.mib.TcpExt
    assert ext["TCPHPAcks"] > 0 and ext["TCPHPAcks"] + ext["TCPPureAcks"] == a.mib.Tcp["InSegs"] - 1, ext
    assert b.mib.TcpExt["TCPOFOQueue"] == 0


def test_a_hole_turns_prediction_off_until_it_is_filled():
    world, a, b, cable = pair(loss=0.02, seed=3)
    _transfer(world, a, b, 1_000_000)
    assert b.mib.TcpExt["TCPOFOQueue"] > 0, "losses left holes"
    assert b.mib.TcpExt["TCPHPHits"] > 0, "and prediction came back after them"


def test_a_closed_window_goes_the_slow_way():
    """The reader sleeps: the window closes (prediction off while it is zero, TCPToZeroWindowAdv)
    and reopens when it reads; every byte arrives."""
    world, a, b, _ = pair()
    _transfer(world, a, b, 3_000_000, reader_pause=2.0)
    assert b.mib.TcpExt["TCPToZeroWindowAdv"] > 0 and b.mib.TcpExt["TCPFromZeroWindowAdv"] > 0
    assert b.mib.TcpExt["TCPHPHits"] > 0
