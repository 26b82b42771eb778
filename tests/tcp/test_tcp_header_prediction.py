"""Header prediction (tcp_rcv_established's fast path): in-order data and pure ACKs with the
expected flags and window skip the slow path's checks, as Linux counts them (TCPHPHits,
TCPHPAcks), and anything unusual (a hole, a window change, a closed window) goes the slow way
without losing a byte."""

from __future__ import annotations

from tcpnet import pair

from bulk import bulk_transfer


def test_bulk_data_and_its_acks_take_the_fast_path():
    world, a, b, _ = pair()
    bulk_transfer(world, a, b, 2_000_000)
    hits = b.mib.TcpExt["TCPHPHits"]
    assert hits > 0.9 * 2_000_000 / 1448, (hits, b.mib.Tcp["InSegs"])
    # The sender sees each ACK once, predicted or pure (the SYN-ACK is neither); while the
    # receiver's window still grows most ACKs announce a new one and go the slow way.
    ext = a.mib.TcpExt
    assert ext["TCPHPAcks"] > 0 and ext["TCPHPAcks"] + ext["TCPPureAcks"] == a.mib.Tcp["InSegs"] - 1, ext
    assert b.mib.TcpExt["TCPOFOQueue"] == 0


def test_a_hole_turns_prediction_off_until_it_is_filled():
    world, a, b, _ = pair(loss=0.02, seed=3)
    bulk_transfer(world, a, b, 1_000_000)
    assert b.mib.TcpExt["TCPOFOQueue"] > 0, "losses left holes"
    assert b.mib.TcpExt["TCPHPHits"] > 0, "and prediction came back after them"


def test_a_closed_window_goes_the_slow_way():
    """The reader sleeps: the window closes (prediction off while it is zero, TCPToZeroWindowAdv)
    and reopens when it reads; every byte arrives."""
    world, a, b, _ = pair()
    bulk_transfer(world, a, b, 3_000_000, reader_pause=2.0)
    assert b.mib.TcpExt["TCPToZeroWindowAdv"] > 0 and b.mib.TcpExt["TCPFromZeroWindowAdv"] > 0
    assert b.mib.TcpExt["TCPHPHits"] > 0
