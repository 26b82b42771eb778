"""``tc qdisc ... tbf`` judged by this machine's kernel: a TCP transfer behind ``tbf rate 10mbit
burst 10kb latency 50ms``, over a veth pair and over a tuxnet cable; both shapers send 10 Mb/s of
frames, counted from the Ethernet header, as ``tc -s`` shows them."""

from __future__ import annotations

import os
import re
import shutil
import time

import pytest
from linuxnet import shaped_transfer

from shaped import shaped
from tuxnet.tapnet import netns_unavailable
from tuxnet.user.tc import tc

pytestmark = pytest.mark.root

SHAPER = "qdisc replace dev eth0 root tbf rate 10mbit burst 10kb latency 50ms"
SIZE = 3_000_000
RATE = 10e6 / 8  # bytes/s of frames
def _sent(text: str) -> int:
    """The bytes ``tc -s qdisc show`` says the qdisc sent."""
    return int(re.search(r" Sent (\d+) bytes ", text)[1])


def linux_rate() -> float:
    """The shaper's output, in frame bytes a second, from its counters 0.5 s and 1.5 s into the
    transfer (it takes 2.5 s)."""
    with shaped_transfer(f"tuxnet-tbf-{os.getpid()}", SHAPER, "cubic", SIZE) as a:
        samples = []
        for pause in (0.5, 1.0):
            time.sleep(pause)
            samples.append((time.monotonic(), _sent(a.run("tc", "-s", "qdisc", "show", "dev", "eth0").stdout)))
    (t0, s0), (t1, s1) = samples
    return (s1 - s0) / (t1 - t0)


def tuxnet_rate() -> float:
    """The same, from tuxnet's counters, in virtual time."""
    world, a, _ = shaped(SIZE, SHAPER)
    samples = []
    for pause in (0.5, 1.0):
        world.run_for(int(pause * 1e9))
        samples.append((world.now / 1e9, _sent(tc(a, "-s qdisc show dev eth0"))))
    (t0, s0), (t1, s1) = samples
    return (s1 - s0) / (t1 - t0)


def test_tbf_shapes_as_the_kernel_does():
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    if shutil.which("tc") is None:
        pytest.skip("tc (iproute2) is not installed")
    linux, ours = linux_rate(), tuxnet_rate()
    assert abs(linux - RATE) / RATE < 0.03, linux
    assert abs(ours - RATE) / RATE < 0.01, ours
