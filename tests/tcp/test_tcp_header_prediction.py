"""Header prediction (tcp_rcv_established's fast path): in-order data and pure ACKs with the
expected flags and window skip the slow path's checks, as Linux counts them (TCPHPHits,
TCPHPAcks), and anything unusual (a hole, a window change, a closed window) goes the slow way
without losing a byte.  Data takes the fast path only when the socket's forward allocation
covers its truesize (Linux 6.0+): a reader that keeps up gives the pages back at every read, so
each segment schedules its memory in the slow path."""

from __future__ import annotations

from tcpnet import pair

from bulk import bulk_transfer
from tuxnet.net.core.netfilter import NF_ACCEPT, NF_INET_LOCAL_IN, nf_register_net_hook


def test_bulk_acks_take_the_fast_path_and_data_only_what_memory_covers():
    world, a, b, _ = pair()
    bulk_transfer(world, a, b, 2_000_000)
    # The sender sees each ACK once, predicted or pure (the SYN-ACK is neither); while the
    # receiver's window still grows most ACKs announce a new one and go the slow way.
    ext = a.mib.TcpExt
    assert ext["TCPHPAcks"] > 0 and ext["TCPHPAcks"] + ext["TCPPureAcks"] == a.mib.Tcp["InSegs"] - 1, ext
    assert b.mib.TcpExt["TCPOFOQueue"] == 0
    # The reader took each segment as it came: none found memory left for it.
    assert b.mib.TcpExt["TCPHPHits"] == 0
    # A reader that reads every 20 ms leaves segments queued: about every other one then finds
    # its 2,090 bytes in what the one before it scheduled (a page, less its own truesize).
    world, a, b, _ = pair()
    bulk_transfer(world, a, b, 2_000_000, read_gap=0.02)
    hits, segs = b.mib.TcpExt["TCPHPHits"], b.mib.Tcp["InSegs"]
    assert 0.4 * segs < hits < 0.6 * segs, (hits, segs)


def test_a_hole_turns_prediction_off_until_it_is_filled():
    world, a, b, _ = pair(loss=0.02, seed=3)
    seen: list[tuple[int, int]] = []

    def watch(_host: object, _skb: object, _state: object) -> int:
        seen.append((b.mib.TcpExt["TCPOFOQueue"], b.mib.TcpExt["TCPHPHits"]))
        return NF_ACCEPT

    nf_register_net_hook(b, NF_INET_LOCAL_IN, watch)
    bulk_transfer(world, a, b, 1_000_000, read_gap=0.02)
    hole = next(i for i, (ofo, _) in enumerate(seen) if ofo)
    assert seen[-1][1] > seen[hole][1], "prediction came back after the first hole"


def test_a_closed_window_goes_the_slow_way():
    """The reader sleeps: the window closes (prediction off while it is zero, TCPToZeroWindowAdv)
    and reopens when it reads; every byte arrives."""
    world, a, b, _ = pair()
    bulk_transfer(world, a, b, 3_000_000, reader_pause=2.0)
    assert b.mib.TcpExt["TCPToZeroWindowAdv"] > 0 and b.mib.TcpExt["TCPFromZeroWindowAdv"] > 0
    assert b.mib.TcpExt["TCPHPHits"] > 0
