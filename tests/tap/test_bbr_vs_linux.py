"""BBR judged by this machine's kernel, which runs BBR itself: a bulk transfer behind ``tbf rate
10mbit burst 5kb limit 150kb`` over a veth pair (Linux to Linux) and over a tuxnet cable with TSO
(tuxnet to tuxnet).  After two seconds both senders are in PROBE_BW with a cwnd gain of 2, and
both bandwidth estimates are the shaper's rate of payload, 10 Mb/s x 1448/1514 (the kernel's a few
per cent above it: its delivery rate samples see real time's jitter, ACK compression included)."""

from __future__ import annotations

import os
import re
import shutil
import time

import pytest
from linuxnet import kernel_measurement, shaped_transfer

from shaped import shaped
from tuxnet.tapnet import netns_unavailable
from tuxnet.user.ss import format_ss
from tuxnet.user.ssfilter import SS_CONN

pytestmark = pytest.mark.root

SHAPER = "qdisc replace dev eth0 root tbf rate 10mbit burst 5kb limit 150kb"
PAYLOAD_BPS = 10e6 * 1448 / 1514
BBR = re.compile(r" bbr:\(bw:(\d+)bps,mrtt:[\d.]+,pacing_gain:([\d.]+),cwnd_gain:([\d.]+)\) ")


def linux_line() -> str:
    """``ss -tin`` of the kernel's BBR sender, two seconds into the transfer."""
    with shaped_transfer(f"tuxnet-bbr-{os.getpid()}", SHAPER, "bbr", 6_000_000) as a:
        time.sleep(2)
        return a.run("ss", "-tin", "dst", "10.9.0.2").stdout


def tuxnet_line() -> str:
    world, a, _ = shaped(6_000_000, SHAPER, tso=True, cc="bbr")
    world.run_for(2_000_000_000)
    out: list[str] = []
    a.spawn(lambda: out.append(format_ss(a, info=True, states=SS_CONN)))
    world.run_for(1_000_000)
    return out[0]


def test_bbr_estimates_the_bottleneck_as_the_kernels_does():
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    if shutil.which("tc") is None or shutil.which("ss") is None:
        pytest.skip("tc or ss (iproute2) is not installed")
    kernel_measurement(linux_line, lambda line: wrong_estimate(line, 0.05))
    assert wrong_estimate(tuxnet_line(), 0.005) is None


def wrong_estimate(line: str, tolerance: float) -> str | None:
    """What is wrong with the BBR state in ``ss -tin``'s ``line``: it must be in PROBE_BW (a cwnd
    gain of 2) with a bandwidth estimate within ``tolerance`` of the shaper's; None if nothing is."""
    m = BBR.search(line)
    if m is None:
        return f"no BBR state in {line!r}"
    if abs(int(m[1]) - PAYLOAD_BPS) / PAYLOAD_BPS >= tolerance or m[2] not in ("1", "1.25", "0.75") or m[3] != "2":
        return m[0]
    return None
