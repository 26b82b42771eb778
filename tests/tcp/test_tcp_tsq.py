"""TCP Small Queues over a qdisc: a packet charges its socket (``sk_wmem_alloc``) while the qdisc
holds it, and ``tcp_small_queue_check`` stops the sending when too much is held, so a bulk sender
behind its own shaper does not fill the shaper's queue with its whole window.

The kernel's figures were measured on this machine (Linux 6.18): a CUBIC sender behind
``tbf rate 10mbit burst 5kb limit 1mb`` on its own veth sends 40 MB; each second from the third
to the eighth, ``tc -s`` showed 88-144 KB waiting in the tbf and ``ss -ti`` an RTT of 91-106 ms
and a cwnd of 125 (tests/tap/test_tsq_vs_linux.py repeats the measurement); in the first three
seconds its ``delivery_rate`` read 8.00, 6.88 and 9.56 Mb/s, the shaper's payload rate being
9.56.  Before tuxnet charged the qdisc's packets, its sender filled the tbf: 524 KB and 400 ms by
the eighth second, cwnd 347 and growing until the tbf's 1 MB was full.
"""

from __future__ import annotations

import pytest
from tcpnet import MS, SEC, connection, lo_host

from shaped import samples, shaped
from tuxnet.benchmarks import tcp_sink, tcp_source
from tuxnet.net.core.skbuff import SKB_SMALL_HEAD_TRUESIZE
from tuxnet.user.tc import tc

KERNEL_BACKLOG = (88_000, 144_000)  # bytes, from the third second to the eighth
KERNEL_RTT_MS = (91, 106)
KERNEL_CWND = 125


def test_a_sender_behind_its_own_shaper_keeps_its_queue_short():
    seen = samples()
    backlog = [s[0] for s in seen]
    # The same regime as the kernel's: a queue of a few dozen packets, not the shaper's megabyte.
    assert max(backlog) < 1.5 * KERNEL_BACKLOG[1], seen
    assert max(s[1] for s in seen) < 1.5 * KERNEL_RTT_MS[1], seen
    assert max(s[2] for s in seen) < 2 * KERNEL_CWND, seen
    # What the socket is charged for is what the qdisc holds, in truesize: each segment tbf cuts
    # from a GSO packet costs its own buffer, a small head and its 1,448 bytes of payload, and the
    # socket is charged the difference from the packet's truesize (tcp_gso_segment), as the
    # kernel does (about 2,400 bytes a segment: 228 KB for 95 packets held).
    for held, _, _, wmem in seen:
        packets = held / 1514
        assert abs(wmem - packets * (SKB_SMALL_HEAD_TRUESIZE + 1448)) <= SKB_SMALL_HEAD_TRUESIZE + 1448, seen


def test_the_charge_comes_back_however_the_qdisc_lets_go():
    """Sent, dropped by the shaper, dropped with a qdisc replaced, dropped with the link down:
    every packet's charge returns, and the transfer still ends (TCP retransmits what was lost)."""
    size = 3_000_000
    world, a, got = shaped(size, "qdisc replace dev eth0 root tbf rate 10mbit burst 5kb limit 30kb")
    world.run_for(300 * MS)
    sk = connection(a, 5001)
    assert a.dev("eth0").qdisc.drops > 0
    assert sk.sk_wmem_alloc > 0
    tc(a, "qdisc replace dev eth0 root tbf rate 20mbit burst 10kb limit 100kb")
    world.run_for(300 * MS)
    assert sk.sk_wmem_alloc > 0
    a.dev_close("eth0")
    assert sk.sk_wmem_alloc == 0
    a.dev_open("eth0")
    world.run_for(30 * SEC)
    assert got == [size]
    assert sk.sk_wmem_alloc == 0


@pytest.mark.parametrize("tso", [True, False])
def test_segments_cut_by_the_shaper_share_the_charge(tso):
    """tbf cuts a GSO packet larger than its burst into segments (``tbf_segment``); they take over
    the packet's charge, each its own truesize, and each gives it back as it leaves."""
    world, a, got = shaped(2_000_000, tso=tso)
    world.run_for(100 * MS)
    sk = connection(a, 5001)
    assert sk.sk_wmem_alloc > 0
    world.run_for(20 * SEC)
    assert got == [2_000_000]
    assert sk.sk_wmem_alloc == 0


def test_nothing_is_charged_where_nothing_holds_the_packets():
    """Over lo (noqueue, as Linux's) a packet goes straight to the driver: the socket is charged
    nothing at any point, and never less than nothing."""
    world, host = lo_host()
    got: list[int] = []
    host.spawn(tcp_sink, "127.0.0.1", 5001, got)
    host.spawn(tcp_source, "127.0.0.1", 5001, bytes(1 << 16), 4 << 20)
    world.run_until(lambda: any(getattr(s, "inet_dport", 0) == 5001 for s in host.tcp_hashinfo.ehash.values()))
    sk = connection(host, 5001)
    seen = set()
    while not got:
        world.run_for(10_000)
        seen.add(sk.sk_wmem_alloc)
    assert got == [4 << 20] and seen == {0}
