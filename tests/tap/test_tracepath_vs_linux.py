"""tracepath against this machine's: iputils' tracepath run across a Linux router to a link of
MTU 1000 (veth pairs in namespaces of our own), and tuxnet's across the same network of cables;
line for line the same, the times aside.  Its lines come from the error queue (IP_RECVERR): the
local EMSGSIZE of a probe too large for the route, each router's time exceeded, the
fragmentation needed of the router before the small link, the port unreachable of the end;
the second run starts from the path MTU the first one taught the route."""

from __future__ import annotations

import os
import re
import shutil
import time

import pytest

from tuxnet.tapnet import Netns, netns_unavailable
from tuxnet.user.iproute import ip
from tuxnet.user.programs.tracepath import tracepath_main
from tuxnet.world import World, secs

pytestmark = [pytest.mark.root, pytest.mark.skipif(shutil.which("tracepath") is None,
                                                    reason="no tracepath: apt-get install iputils-tracepath")]

TIME = re.compile(r"\d+\.\d{3}ms ")
RUNS = (["-n", "10.0.3.2"], ["-n", "10.0.3.2"], ["-n", "-l", "800", "10.0.3.2"], ["-n", "-m", "1", "10.0.3.2"])


def linux_runs() -> list[str]:
    from linuxnet import a_r_b

    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    spaces: list[Netns] = []
    try:
        a, _, b = a_r_b(f"tuxnet-tp-{os.getpid()}", 1000, spaces)
        b.run("ip", "route", "add", "default", "via", "10.0.3.254")
        outs = []
        for args in RUNS:
            outs.append(a.run("tracepath", *args, timeout=60).stdout)
            time.sleep(1)  # the router's ICMP token bucket refills (a message a second, six at most)
        return outs
    finally:
        for ns in spaces:
            ns.close()


def tuxnet_runs() -> list[str]:
    world = World(seed=1)  # the same A -- R -- B, of cables
    host_a, router, host_b = world.add_host("a"), world.add_router("r"), world.add_host("b")
    world.connect(host_a, router, a_addr="10.0.1.1/24", b_addr="10.0.1.254/24")
    world.connect(router, host_b, mtu=1000, a_addr="10.0.3.254/24", b_addr="10.0.3.2/24")
    ip(host_a, "route add default via 10.0.1.254")
    ip(host_b, "route add default via 10.0.3.254")
    outs = []
    for args in RUNS:
        before = len(host_a.output())
        proc = host_a.spawn(tracepath_main, args)
        world.run_until(lambda p=proc: not p.alive, timeout=10**11)
        assert proc.result == 0
        outs.append(host_a.output()[before:])
        world.run_for(secs(1))
    return outs


def test_tracepath_as_on_the_kernel():
    linux = linux_runs()
    ours = tuxnet_runs()
    assert [TIME.sub("T ", out) for out in ours] == [TIME.sub("T ", out) for out in linux]
    first = ours[0].splitlines()
    assert first[0] == " 1?: [LOCALHOST]                      pmtu 1500"
    assert first[3].endswith("pmtu 1000") and first[-1] == "     Resume: pmtu 1000 hops 2 back 2 "
    assert ours[1].splitlines()[0].endswith("pmtu 1000"), "the route remembers the path MTU"
    assert ours[3].splitlines()[-2] == "     Too many hops: pmtu 1000"
