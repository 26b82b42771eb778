"""``tp->tsorted_sent_queue``, the list RACK walks (tcp_rack_detect_loss): through a transfer with
loss, reordering, SACK shifting, splits and retransmissions, it holds the segments of the
retransmit queue that were sent and are neither SACKed nor marked lost and waiting to go again,
in the order they were last sent, its links consistent both ways."""

from __future__ import annotations

from tcpnet import MS, connection, listen_socket, pair

from tuxnet.benchmarks import tcp_source
from tuxnet.net.ipv4.tcp_sock import TcpSkbCb
from tuxnet.user import libc

TCPCB_SACKED_ACKED, TCPCB_SACKED_RETRANS, TCPCB_LOST = 0x01, 0x02, 0x04
SIZE = 3_000_000


def check_sent_order(sk) -> int:
    """Assert the list's invariants on a sender socket; how many segments it holds."""
    q = sk.tsorted_sent_queue
    order = list(q)
    assert (q.head, q.tail) == ((order[0], order[-1]) if order else (None, None))
    for i, skb in enumerate(order):
        cb = skb.cb
        assert cb.__class__ is TcpSkbCb and cb.tsorted
        assert cb.tsorted_prev is (order[i - 1] if i else None)
        assert cb.tsorted_next is (order[i + 1] if i + 1 < len(order) else None)
    rtx = list(sk.tcp_rtx_queue)
    members = set(map(id, order))
    assert members <= set(map(id, rtx)), "a segment no longer queued is still in the list"
    for skb in rtx:
        sacked = skb.sacked
        if sacked & TCPCB_SACKED_ACKED:
            assert id(skb) not in members, "a SACKed segment is in the list"
        elif not sacked & TCPCB_LOST or sacked & TCPCB_SACKED_RETRANS:
            assert id(skb) in members, "a segment in flight is missing from the list"
    stamps = [skb.skb_mstamp for skb in order]
    assert stamps == sorted(stamps), "the list is not in the order of sending"
    return len(order)


def test_the_sent_order_list_follows_every_segment():
    world, a, b, _ = pair(seed=3, rate="100mbit", delay="10ms", loss=0.005, reorder=0.01)
    got = []

    def sink() -> None:
        lfd = listen_socket("10.0.0.2", 5001)
        fd, _ = libc.accept(lfd)
        while chunk := libc.recv(fd, 65536):
            got.append(len(chunk))

    b.spawn(sink)
    a.spawn(tcp_source, "10.0.0.2", 5001, bytes(SIZE), SIZE)
    world.run_for(50 * MS)
    sk = connection(a, 5001)
    longest = 0
    while sum(got) < SIZE:
        world.run_for(MS)
        if sk.tcp_rtx_queue is not None:
            longest = max(longest, check_sent_order(sk))
    assert sum(got) == SIZE
    mib = a.mib.TcpExt
    # the transfer went through what changes the list: losses found by RACK, SACK shifting and
    # merging, and retransmissions
    assert mib["TCPLostRetransmit"] + mib["TCPFastRetrans"] > 0 and mib["SackShifted"] + mib["SackMerged"] > 0
    assert longest > 20  # segments (GSO buffers of up to 44) in the list at once
