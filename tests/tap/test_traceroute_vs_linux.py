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
from linuxnet import a_r_b_runs, tuxnet_a_r_b_runs

from tuxnet.user.programs.traceroute import traceroute_main

pytestmark = [pytest.mark.root, pytest.mark.skipif(shutil.which("traceroute") is None,
                                                    reason="no traceroute: apt-get install traceroute")]

TIME = re.compile(r"  \d+\.\d{3} ms")
RUNS = (["-n", "10.0.3.2"], ["-n", "-I", "10.0.3.2"], ["-n", "-T", "10.0.3.2"], ["-n", "-T", "-p", "22", "10.0.3.2"],
        ["-n", "-q", "1", "-m", "1", "10.0.3.2"])


def test_traceroute_methods_as_on_the_kernel():
    linux = a_r_b_runs(f"tuxnet-tr-{os.getpid()}", 1500, "traceroute", RUNS, ["net.ipv4.icmp_ratelimit=0"])
    ours = tuxnet_a_r_b_runs(1500, traceroute_main, RUNS, {"net.ipv4.icmp_ratelimit": 0})
    assert [TIME.sub("  T ms", out) for out in ours] == [TIME.sub("  T ms", out) for out in linux]
    for out in ours[:4]:
        lines = out.splitlines()
        assert lines[0] == "traceroute to 10.0.3.2 (10.0.3.2), 30 hops max, 60 byte packets"
        assert [line.split()[:2] for line in lines[1:]] == [["1", "10.0.1.254"], ["2", "10.0.3.2"]]
        assert all(len(TIME.findall(line)) == 3 for line in lines[1:]), "three answers a hop"
    assert ours[4].splitlines()[1:] == [TIME.sub("", ours[4].splitlines()[1]) + TIME.findall(ours[4])[0]]
