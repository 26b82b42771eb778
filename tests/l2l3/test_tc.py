"""``tc qdisc``: the root qdisc of a device, shown, replaced and deleted as iproute2's tc and this
machine's kernel do it, and the queue it sets working (its limit drops, its counters count)."""

from __future__ import annotations

import os
import re

import pytest
from netlab import lan

from bulk import bulk_transfer
from tuxnet.user.tc import TcError, tc

TC_SCRIPT = [
    "qdisc show", "-s qdisc show dev eth0", "qdisc show dev lo", "qdisc del dev eth0 root", "qdisc del dev lo root",
    "qdisc add dev eth0 root pfifo limit 10", "qdisc show dev eth0", "qdisc add dev eth0 root pfifo limit 20",
    "qdisc replace dev eth0 root pfifo limit 30", "qdisc show dev eth0",
    "qdisc change dev eth0 root pfifo limit 40", "qdisc show dev eth0",
    "qdisc replace dev eth0 root pfifo_fast", "-s qdisc show dev eth0", "qdisc add dev eth0 root pfifo",
    "qdisc show", "qdisc del dev eth0 root", "qdisc show dev eth0", "qdisc add dev lo root pfifo limit 3",
    "qdisc show dev lo", "qdisc del dev lo root", "qdisc show dev lo",
    "qdisc replace dev eth0 root frob", "qdisc replace dev nosuch root pfifo",
    "qdisc replace dev eth0 root pfifo limit x", "qdisc replace dev eth0 root pfifo limit",
    "qdisc replace dev eth0 root pfifo frob 3", "qdisc show dev nosuch",
    "qdisc frob", "frob", "qdisc add dev eth0", "qdisc add dev eth0 root",
    "qdisc replace dev eth0 root tbf rate 1mbit burst 32kbit latency 400ms", "-s qdisc show dev eth0",
    "qdisc replace dev eth0 root tbf rate 10mbit burst 10kb limit 30000", "qdisc show dev eth0",
    "qdisc replace dev eth0 root tbf rate 1gbit burst 100kb latency 1s", "qdisc show dev eth0",
    "qdisc change dev eth0 root tbf rate 512kbit burst 2kb latency 100ms peakrate 1mbit mtu 1600",
    "qdisc show dev eth0", "qdisc replace dev eth0 root tbf rate 125kbps burst 10k latency 1s", "qdisc show",
    "qdisc replace dev eth0 root tbf rate 2mbit burst 3000 limit 1000", "qdisc show dev eth0",
    "qdisc add dev eth0 root tbf rate 1mbit burst 1000 latency 10ms",
    "qdisc replace dev eth0 root tbf rate abc burst 10kb latency 10ms",
    "qdisc replace dev eth0 root tbf rate 1mbit burst 10kb latency 10ms foo",
    "qdisc replace dev eth0 root tbf rate 1mbit burst 10kb", "qdisc replace dev eth0 root tbf rate 1mbit latency 1s",
    "qdisc replace dev eth0 root tbf burst 10kb latency 1s",
    "qdisc replace dev eth0 root tbf rate 1mbit burst 10kb limit 100000 latency 10ms",
    "qdisc replace dev eth0 root tbf rate 1mbit burst 10kb latency 10ms peakrate 2mbit",
    "qdisc del dev eth0 root", "qdisc show dev eth0",
]


def _handles(results: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Automatic handles as H1, H2, ... in the order they first appear: the kernel's counter is
    the machine's (it has handed out others before), tuxnet's the host's."""
    names: dict[str, str] = {}

    def name(m: re.Match[str]) -> str:
        return names.setdefault(m[0], f"H{len(names) + 1}:")

    return [(status, re.sub(r"\b8[0-9a-f]{3}:", name, out)) for status, out in results]


def test_tc_qdisc_as_the_kernel_does_it():
    """The same ``tc`` commands on a TAP device in a namespace of our own (a device with a
    transmit queue, pfifo_fast by default, as a tuxnet host's eth0) and on tuxnet: the same output
    and messages, and the same exit statuses."""
    import shutil

    from tuxnet.tapnet import Netns, netns_unavailable

    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    if shutil.which("tc") is None:
        pytest.skip("tc (iproute2) is not installed")
    ns = Netns(f"tuxnet-tc-{os.getpid()}")
    linux = []
    try:
        ns.run("ip", "tuntap", "add", "dev", "eth0", "mode", "tap")
        for dev in ("eth0", "lo"):
            ns.run("ip", "link", "set", dev, "up")
        for c in TC_SCRIPT:
            r = ns.run("tc", *c.split(), check=False)
            linux.append((r.returncode, r.stdout + r.stderr))
    finally:
        ns.close()
    world, (h1, _), _ = lan(2)
    ours = []
    for c in TC_SCRIPT:
        try:
            ours.append((0, tc(h1, c)))
        except TcError as e:
            ours.append((e.status, f"{e}\n"))
    for c, theirs, mine in zip(TC_SCRIPT, _handles(linux), _handles(ours), strict=True):
        assert mine == theirs, c


def test_a_pfifo_limit_drops_what_does_not_fit_and_the_counters_say_so():
    """A 1 Gb/s sender behind a 10 Mb/s link through a router whose queue is ``pfifo limit 5``:
    TCP recovers what the queue drops, and ``tc -s`` counts what was sent and dropped."""
    from tuxnet.world import World

    world = World(seed=1)
    a, b, r = world.add_host("a"), world.add_host("b"), world.add_router("r")
    world.connect(a, r, rate="1gbit", a_addr="10.0.1.1/24", b_addr="10.0.1.254/24")
    world.connect(r, b, rate="10mbit", delay="5ms", a_addr="10.0.2.254/24", b_addr="10.0.2.2/24")
    a.ip_route_add("0.0.0.0/0", via="10.0.1.254")
    b.ip_route_add("0.0.0.0/0", via="10.0.2.254")
    tc(r, "qdisc replace dev eth1 root pfifo limit 5")
    bulk_transfer(world, a, b, 500_000, daddr="10.0.2.2")
    q = r.devices["eth1"].qdisc
    assert q.kind == "pfifo" and q.limit == 5 and q.drops > 0 and q.packets > 500_000 // 1448
    assert a.mib.Tcp["RetransSegs"] >= q.drops // 2
    shown = tc(r, "-s qdisc show dev eth1").splitlines()
    assert shown[0] == "qdisc pfifo 8001: root refcnt 2 limit 5p"
    assert shown[1] == f" Sent {q.bytes} bytes {q.packets} pkt (dropped {q.drops}, overlimits 0 requeues {q.requeues}) "


def test_tbf_shapes_a_transfer_to_its_rate():
    """``tbf rate 10mbit``: a TCP transfer over a 1 Gb/s cable moves at the shaper's rate, 10 Mb/s
    of frames (tbf counts a frame from its Ethernet header, as Linux does: 1514 bytes for 1448 of
    payload); the queue in front of it stays within its byte limit, and throttled dequeues count as
    overlimits."""
    from tuxnet.benchmarks import tcp_sink, tcp_source
    from tuxnet.world import World

    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="1gbit", delay="5ms", a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    tc(a, "qdisc replace dev eth0 root tbf rate 10mbit burst 10kb latency 50ms")
    got: list[int] = []
    b.spawn(tcp_sink, "10.0.0.2", 5001, got)
    a.spawn(tcp_source, "10.0.0.2", 5001, bytes(1 << 16), 4_000_000)
    world.run_for(1_000_000_000)
    q = a.devices["eth0"].qdisc
    start_bytes, start = q.bytes, world.now
    world.run_for(1_000_000_000)
    rate = (q.bytes - start_bytes) * 8 / ((world.now - start) / 1e9)
    assert abs(rate - 10e6) / 10e6 < 0.01, rate
    assert q.overlimits > 0 and q.limit == 10e6 / 8 * 0.05 + 10 * 1024
    world.run_for(3_000_000_000)
    assert got == [4_000_000]


def test_qdisc_drops_are_the_qdiscs_not_the_devices():
    """What a full queue drops shows in ``tc -s qdisc`` only: the device's own TX dropped counter
    (``ip -s link``) stays 0, as on this machine (a tbf that dropped 5 packets, next to ip's 0)."""
    from tuxnet.benchmarks import tcp_sink, tcp_source
    from tuxnet.world import World

    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="1gbit", delay="5ms", a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    tc(a, "qdisc replace dev eth0 root tbf rate 10mbit burst 10kb latency 5ms")
    b.spawn(tcp_sink, "10.0.0.2", 5001, [])
    a.spawn(tcp_source, "10.0.0.2", 5001, bytes(1 << 16), 2_000_000)
    world.run_for(3_000_000_000)
    assert a.devices["eth0"].qdisc.drops > 0
    assert a.devices["eth0"].stats.tx_dropped == 0


def test_a_gso_packet_partly_dropped_by_the_qdisc_counts_as_sent():
    """Software GSO queues each segment of a TCP packet; when the qdisc takes some and drops
    others the packet was sent (as ``tbf_segment`` says), and TCP recovers the dropped ones.
    Reported as not sent, its first segments reached the receiver beyond what the sender thought
    it had sent, whose ACKs it then refused: BBR through a tbf stalled for good."""
    from tuxnet.benchmarks import tcp_sink, tcp_source
    from tuxnet.net.ipv4.tcp_bbr import bbr_get_info
    from tuxnet.world import World

    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="1gbit", a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    tc(a, "qdisc replace dev eth0 root tbf rate 10mbit burst 5kb limit 150kb")
    a.sysctl.set("net.ipv4.tcp_congestion_control", "bbr")
    got: list[int] = []
    b.spawn(tcp_sink, "10.0.0.2", 5001, got)
    a.spawn(tcp_source, "10.0.0.2", 5001, bytes(1 << 16), 3_000_000)
    world.run_for(1_500_000_000)
    sk = next(s for s in a.tcp_hashinfo.ehash.values() if getattr(s, "inet_dport", 0) == 5001)
    assert a.devices["eth0"].qdisc.drops > 0
    bw = bbr_get_info(sk).bbr_bw_lo * 8
    assert abs(bw - 10e6 * 1448 / 1514) / 10e6 < 0.01, bw  # tbf's rate, in payload
    world.run_for(2_000_000_000)
    assert got == [3_000_000]


def test_tbf_cuts_a_gso_packet_bigger_than_its_burst():
    """Through a TSO NIC TCP hands the qdisc 64 KB GSO packets; a tbf with a 5 KB burst could
    never send one, so it cuts it into its segments (``tbf_segment``) rather than dropping it: a
    transfer smaller than its limit loses nothing."""
    from tuxnet.benchmarks import tcp_sink, tcp_source
    from tuxnet.user.ethtool import ethtool
    from tuxnet.world import World

    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="1gbit", a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    ethtool(a, "-K eth0 tx on tso on")
    tc(a, "qdisc replace dev eth0 root tbf rate 10mbit burst 5kb limit 4mb")
    got: list[int] = []
    b.spawn(tcp_sink, "10.0.0.2", 5001, got)
    a.spawn(tcp_source, "10.0.0.2", 5001, bytes(1 << 16), 3_000_000)
    world.run_for(5_000_000_000)
    q = a.devices["eth0"].qdisc
    assert got == [3_000_000] and q.drops == 0 and q.packets > 3_000_000 // 1448
