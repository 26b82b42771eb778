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

import pytest
from linuxnet import a_r_b_runs, tuxnet_a_r_b_runs

from tuxnet.user.programs.tracepath import tracepath_main

pytestmark = [pytest.mark.root, pytest.mark.skipif(shutil.which("tracepath") is None,
                                                    reason="no tracepath: apt-get install iputils-tracepath")]

TIME = re.compile(r"\d+\.\d{3}ms ")
RUNS = (["-n", "10.0.3.2"], ["-n", "10.0.3.2"], ["-n", "-l", "800", "10.0.3.2"], ["-n", "-m", "1", "10.0.3.2"])


def test_tracepath_as_on_the_kernel():
    # a second between runs: the router's ICMP token bucket refills (a message a second, six at most)
    linux = a_r_b_runs(f"tuxnet-tp-{os.getpid()}", 1000, "tracepath", RUNS, pause=1.0)
    ours = tuxnet_a_r_b_runs(1000, tracepath_main, RUNS, pause=1.0)
    assert [TIME.sub("T ", out) for out in ours] == [TIME.sub("T ", out) for out in linux]
    first = ours[0].splitlines()
    assert first[0] == " 1?: [LOCALHOST]                      pmtu 1500"
    assert first[3].endswith("pmtu 1000") and first[-1] == "     Resume: pmtu 1000 hops 2 back 2 "
    assert ours[1].splitlines()[0].endswith("pmtu 1000"), "the route remembers the path MTU"
    assert ours[3].splitlines()[-2] == "     Too many hops: pmtu 1000"
