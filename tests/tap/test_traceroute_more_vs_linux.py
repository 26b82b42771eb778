"""traceroute's packet length, ``--mtu``, ``-F`` and the other options, against this machine's
(traceroute 2.1.2) across a Linux router whose link to the far host has an MTU of 1400, in
namespaces of our own, and tuxnet's across the same network of cables: the same lines, the
times aside.  A length past the far MTU is fragmented there, or with ``-F`` refused ("!F-1400");
``--mtu`` starts at 65000 octets (or the length given), learns the device's MTU from the refused
send and the far link's from the router, and shows each where it was learnt ("F=1500",
"F=1400"); the TCP method's SYNs keep their 60 octets."""

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
RUNS = (["--mtu", "-n", "10.0.3.2"], ["-n", "10.0.3.2", "1400"], ["-n", "-F", "10.0.3.2", "1450"],
        ["-n", "10.0.3.2", "1450"], ["-n", "-I", "--mtu", "10.0.3.2"], ["-n", "-T", "--mtu", "10.0.3.2"],
        ["-n", "-T", "10.0.3.2", "1450"], ["-n", "-F", "-I", "10.0.3.2", "1450"], ["-n", "--mtu", "10.0.3.2", "1450"],
        ["-n", "--mtu", "-F", "10.0.3.2", "1300"], ["-n", "10.0.3.2", "10"], ["-n", "-I", "10.0.3.2", "20"],
        ["-n", "-N", "1", "10.0.3.2"], ["-n", "-f", "2", "10.0.3.2"], ["-n", "-m", "1", "10.0.3.2"],
        ["-n", "-p", "40000", "10.0.3.2"], ["-n", "-I", "-p", "7", "10.0.3.2"], ["-n", "-s", "10.0.1.1", "10.0.3.2"],
        ["-n", "-T", "-s", "10.0.1.1", "10.0.3.2"])


# No ICMP limits on either side: the kernel's global bucket (icmp_msgs_per_sec, _burst) refills in
# real time and tuxnet's in the world's, so with them the replies that go missing would depend on
# how fast the runs follow one another (a fresh-clone run met "* *" at the far host).
UNLIMITED = {"net.ipv4.icmp_ratelimit": 0, "net.ipv4.icmp_msgs_per_sec": 100_000, "net.ipv4.icmp_msgs_burst": 100_000}


def test_traceroute_lengths_and_mtu_as_on_the_kernel():
    linux = a_r_b_runs(f"tuxnet-trm-{os.getpid()}", 1400, "traceroute", RUNS,
                       [f"{name}={value}" for name, value in UNLIMITED.items()])
    ours = tuxnet_a_r_b_runs(1400, traceroute_main, RUNS, UNLIMITED)
    assert [TIME.sub("  T ms", out) for out in ours] == [TIME.sub("  T ms", out) for out in linux]
    masked = TIME.sub("  T ms", ours[0]).splitlines()
    assert masked == ["traceroute to 10.0.3.2 (10.0.3.2), 30 hops max, 65000 byte packets",
                      " 1  10.0.1.254  T ms F=1500  T ms  T ms", " 2  10.0.3.2  T ms F=1400  T ms  T ms"]
    assert TIME.sub("  T ms", ours[2]).splitlines()[2] == " 2  10.0.1.254  T ms !F-1400  T ms !F-1400  T ms !F-1400"
