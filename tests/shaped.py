"""A bulk sender behind a shaper on its own device, in tuxnet: a on a 1 Gb/s cable to b, ``tc``
on a's eth0.  tests/tap/linuxnet.py builds the same of Linux namespaces (``shaped_transfer``); the
TCP Small Queues tests (tests/tcp/test_tcp_tsq.py, tests/tap/test_tsq_vs_linux.py) sample it."""

from __future__ import annotations

from typing import Any

from tuxnet.benchmarks import tcp_sink, tcp_source
from tuxnet.user.ethtool import ethtool
from tuxnet.user.tc import tc
from tuxnet.world import NSEC_PER_SEC, World

SHAPER = "qdisc replace dev eth0 root tbf rate 10mbit burst 5kb limit 1mb"
SECONDS = range(3, 9)  # the seconds sampled


def shaped(size: int, shaper: str = SHAPER, tso: bool = False, cc: str = "cubic") -> tuple[World, Any, list[int]]:
    """a (10.9.0.1) sends ``size`` bytes to b's sink (10.9.0.2:5001) with congestion control
    ``cc`` through ``tc SHAPER`` on a's eth0, its NIC with TSO if ``tso`` (a veth segments
    nothing either): the world, a, and the list the sink appends the bytes it got to."""
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="1gbit", a_addr="10.9.0.1/24", b_addr="10.9.0.2/24")
    if tso:
        ethtool(a, "-K eth0 tx on tso on")
    tc(a, shaper)
    a.sysctl.set("net.ipv4.tcp_congestion_control", cc)
    got: list[int] = []
    b.spawn(tcp_sink, "10.9.0.2", 5001, got)
    a.spawn(tcp_source, "10.9.0.2", 5001, bytes(1 << 16), size)
    return world, a, got


def sender(a: Any) -> Any:
    """a's connection to port 5001."""
    return next(sk for sk in a.tcp_hashinfo.ehash.values() if getattr(sk, "inet_dport", 0) == 5001)


def samples() -> list[tuple[int, float, int, int]]:
    """Once a second of SECONDS: the bytes in the tbf, the sender's RTT (ms), cwnd and
    ``sk_wmem_alloc``, of a 40 MB CUBIC transfer behind SHAPER, with TSO."""
    world, a, _ = shaped(40_000_000, tso=True)
    q = a.dev("eth0").qdisc
    out = []
    for t in range(1, SECONDS[-1] + 1):
        world.run_for(NSEC_PER_SEC)
        if t in SECONDS:
            sk = sender(a)
            out.append((q.queue_bytes(), sk.srtt_us / 8000, sk.snd_cwnd, sk.sk_wmem_alloc))
    return out
