"""traceroute against this machine's (traceroute 2.1): each method (UDP, ``-I`` ICMP echo, ``-T``
TCP SYN) across a Linux router to a host behind it, in namespaces of our own, and tuxnet's across
the same network of cables; the same lines, the times aside.  The ICMP rate limits are off on
both, so that the answers do not depend on how fast the probes go (this machine's sends sixteen
at once, tuxnet's one at a time)."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from tuxnet.tapnet import Netns, netns_unavailable
from tuxnet.user.iproute import ip
from tuxnet.user.programs.traceroute import traceroute_main
from tuxnet.world import World, secs

pytestmark = [pytest.mark.root, pytest.mark.skipif(shutil.which("traceroute") is None,
                                                    reason="no traceroute: apt-get install traceroute")]

TIME = re.compile(r"  \d+\.\d{3} ms")
RUNS = (["-n", "10.0.3.2"], ["-n", "-I", "10.0.3.2"], ["-n", "-T", "10.0.3.2"], ["-n", "-T", "-p", "22", "10.0.3.2"],
        ["-n", "-q", "1", "-m", "1", "10.0.3.2"])


def linux_runs() -> list[str]:
    from linuxnet import a_r_b

    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    spaces: list[Netns] = []
    try:
        a, r, b = a_r_b(f"tuxnet-tr-{os.getpid()}", 1500, spaces)
        b.run("ip", "route", "add", "default", "via", "10.0.3.254")
        for ns in (a, r, b):
            ns.run("sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
        return [a.run("traceroute", *args, timeout=60).stdout for args in RUNS]
    finally:
        for ns in spaces:
            ns.close()


def tuxnet_runs() -> list[str]:
    world = World(seed=1)  # the same A -- R -- B, of cables
    host_a, router, host_b = world.add_host("a"), world.add_router("r"), world.add_host("b")
    world.connect(host_a, router, a_addr="10.0.1.1/24", b_addr="10.0.1.254/24")
    world.connect(router, host_b, a_addr="10.0.3.254/24", b_addr="10.0.3.2/24")
    ip(host_a, "route add default via 10.0.1.254")
    ip(host_b, "route add default via 10.0.3.254")
    for host in (host_a, router, host_b):
        host.sysctl.set("net.ipv4.icmp_ratelimit", 0)
    outs = []
    for args in RUNS:
        before = len(host_a.output())
        proc = host_a.spawn(traceroute_main, args)
        world.run_until(lambda p=proc: not p.alive, timeout=secs(100))
        assert proc.result == 0
        outs.append(host_a.output()[before:])
    return outs


def test_traceroute_methods_as_on_the_kernel():
    linux = linux_runs()
    ours = tuxnet_runs()
    assert [TIME.sub("  T ms", out) for out in ours] == [TIME.sub("  T ms", out) for out in linux]
    for out in ours[:4]:
        lines = out.splitlines()
        assert lines[0] == "traceroute to 10.0.3.2 (10.0.3.2), 30 hops max, 60 byte packets"
        assert [line.split()[:2] for line in lines[1:]] == [["1", "10.0.1.254"], ["2", "10.0.3.2"]]
        assert all(len(TIME.findall(line)) == 3 for line in lines[1:]), "three answers a hop"
    assert ours[4].splitlines()[1:] == [TIME.sub("", ours[4].splitlines()[1]) + TIME.findall(ours[4])[0]]
