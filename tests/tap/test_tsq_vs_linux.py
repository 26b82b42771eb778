"""TCP Small Queues judged by this machine's kernel: a CUBIC sender behind its own shaper
(``tbf rate 10mbit burst 5kb limit 1mb`` on the sender's device) over a veth pair, and tuxnet's
over a cable.  Neither fills the shaper's megabyte with its window: from the third second to the
eighth the kernel holds 60-95 packets (RTT near 100 ms), tuxnet 91-135 (near 140 ms), and both
cwnds stop growing.  (Before tuxnet charged a qdisc's packets to their socket it reached 524 KB
and 400 ms.)  Each segment the shaper holds is charged to the socket as its own buffer."""

from __future__ import annotations

import os
import re
import time

import pytest
from linuxnet import kernel_measurement, shaped_transfer

from shaped import SECONDS, SHAPER, samples
from tuxnet.tapnet import netns_unavailable

pytestmark = [pytest.mark.root, pytest.mark.slow]

BACKLOG = re.compile(r"backlog (\d+)(K?)b (\d+)p")
RTT_CWND = re.compile(r" rtt:([\d.]+)/.* cwnd:(\d+)")
WMEM = re.compile(r"skmem:\(r\d+,rb\d+,t(\d+),")


def linux_samples() -> list[tuple[int, float, int, int, int]]:
    """(bytes in the tbf, RTT in ms, cwnd, sk_wmem_alloc, packets in the tbf) of the kernel's
    sender, once a second."""
    samples = []
    with shaped_transfer(f"tuxnet-tsq-{os.getpid()}", SHAPER, "cubic", 40_000_000) as a:
        start = time.monotonic()
        for t in range(1, SECONDS[-1] + 1):
            time.sleep(max(0.0, start + t - time.monotonic()))
            if t not in SECONDS:
                continue
            out = a.run("ss", "-tinm", "dst", "10.9.0.2").stdout
            ss, wmem = RTT_CWND.search(out), WMEM.search(out)
            backlog = BACKLOG.search(a.run("tc", "-s", "qdisc", "show", "dev", "eth0").stdout)
            if ss is None or wmem is None or backlog is None:
                return samples
            held = int(backlog[1]) * (1000 if backlog[2] else 1)
            samples.append((held, float(ss[1]), int(ss[2]), int(wmem[1]), int(backlog[3])))
    return samples


def wrong(samples: list[tuple]) -> str | None:
    """What keeps ``samples`` from a short queue: under 250 KB held, an RTT under 200 ms, a cwnd
    that has stopped growing by the last three seconds (within 40 %); None if nothing does."""
    if len(samples) != len(SECONDS):
        return f"{len(samples)} samples of {len(SECONDS)}: {samples}"
    last = [s[2] for s in samples[-3:]]
    if max(s[0] for s in samples) >= 250_000 or max(s[1] for s in samples) >= 200 or max(last) > 1.4 * min(last):
        return str(samples)
    return None


def test_a_sender_behind_its_own_shaper_queues_as_little_as_the_kernels():
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    linux = kernel_measurement(linux_samples, wrong)
    seen = samples()
    ours = [s[:3] for s in seen]
    assert wrong(ours) is None
    # The socket is charged for the segments tbf holds, each its own buffer (tcp_gso_segment):
    # 2,344 bytes for 1,448 of payload, where the kernel's median charge a segment held was 2,422.
    theirs = sorted(wmem / packets for _, _, _, wmem, packets in linux)
    mine = sorted(wmem / (held / 1514) for held, _, _, wmem in seen)
    assert abs(mine[len(mine) // 2] / theirs[len(theirs) // 2] - 1) < 0.1, (theirs, mine)
    # tuxnet holds up to 204 KB at 148 ms; the kernel's most, over runs, 89-144 KB at 105-109 ms:
    # within twice the kernel's run, where filling the shaper (524 KB, 400 ms) is far beyond it
    assert max(s[0] for s in ours) < 2 * max(s[0] for s in linux), (ours, linux)
    assert max(s[1] for s in ours) < 2 * max(s[1] for s in linux), (ours, linux)
