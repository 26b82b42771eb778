"""Generic segmentation offload in software, where Linux does it: as a GSO packet leaves the qdisc
(``validate_xmit_skb`` → ``skb_gso_segment``), so the qdisc counts it as one packet against its
limit, as Linux's pfifo_fast counts a 64 KB GSO packet against ``txqueuelen``."""

from __future__ import annotations

from netlab import capture, msecs

from tuxnet.benchmarks import tcp_sink, tcp_source
from tuxnet.user.tc import tc
from tuxnet.world import World

BUFFER = 64 << 20


def big_window_pair() -> tuple[World, object, object]:
    """a and b on a 10 Gb/s cable with 5 ms each way and 64 MB socket buffers: a window far
    larger than a's qdisc (1,000 packets) if each MSS were a packet in it.  a's NIC does neither
    checksums nor TSO (the cable's default): the stack segments in software."""
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="10gbit", delay="5ms", a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    for host in (a, b):
        host.sysctl.set("net.core.rmem_max", BUFFER)
        host.sysctl.set("net.core.wmem_max", BUFFER)
        host.sysctl.set("net.ipv4.tcp_wmem", (4096, 16384, BUFFER))
        host.sysctl.set("net.ipv4.tcp_rmem", (4096, 131072, BUFFER))
    return world, a, b


def test_a_gso_packet_is_one_packet_in_the_qdisc():
    """20 MB with a 64 MB window through pfifo_fast: the qdisc holds GSO packets, so it never
    holds more than its 1,000 of them and drops nothing (segmented before the qdisc, 1,145 of the
    segments were dropped and resent).  ``tc -s`` counts the packets sent as the segments on the
    wire, with no requeues."""
    world, a, b = big_window_pair()
    size = 20 << 20
    wire = capture(b, "eth0", promisc=False)
    got: list[int] = []
    b.spawn(tcp_sink, "10.0.0.2", 5001, got, BUFFER // 2)
    a.spawn(tcp_source, "10.0.0.2", 5001, bytes(1 << 16), size)
    q = a.dev("eth0").qdisc
    most = [0, 0]  # packets in the queue proper; segments waiting in all

    def watch() -> None:
        most[0] = max(most[0], len(q.q))
        most[1] = max(most[1], sum(-(-(skb.tail - skb.data) // 1514) for skb in q.q) + len(q.gso_skb))
        if not got:
            world.call_at(world.now + 10_000, watch)

    watch()
    world.run_until(lambda: bool(got))
    assert got == [size]
    assert q.drops == 0 and a.mib.Tcp["RetransSegs"] == 0
    assert most[0] <= q.limit < most[1], most
    mac = bytes(a.dev("eth0").dev_addr)
    from_a = sum(1 for _, f, _ in wire.frames if f[6:12] == mac)
    stats = tc(a, "-s qdisc show dev eth0")
    assert " pkt (dropped 0, overlimits 0 requeues 0) " in stats
    assert f"bytes {from_a} pkt " in stats, (from_a, stats)


def test_segments_waiting_for_the_driver_go_with_the_qdisc():
    """The segments of a GSO packet the driver has not taken yet are the qdisc's: ``tc -s`` counts
    them in its backlog, and they are dropped (their charge to the socket returned) when the
    link goes down."""
    world, a, b = big_window_pair()
    b.spawn(tcp_sink, "10.0.0.2", 5001, [], BUFFER // 2)
    a.spawn(tcp_source, "10.0.0.2", 5001, bytes(1 << 16), 10 << 20)
    q = a.dev("eth0").qdisc
    world.run_until(lambda: len(q.gso_skb) > 0)
    assert len(q) == len(q.q) + len(q.gso_skb)
    assert f"backlog {q.queue_bytes()}b {len(q)}p " in tc(a, "-s qdisc show dev eth0")
    sk = next(s for s in a.tcp_hashinfo.ehash.values() if getattr(s, "inet_dport", 0) == 5001)
    assert sk.sk_wmem_alloc > 0
    a.dev_close("eth0")
    assert len(q) == 0 and sk.sk_wmem_alloc == 0
    world.run_for(msecs(1))
