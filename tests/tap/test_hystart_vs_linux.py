"""CUBIC's HyStart judged by this machine's kernel: a CUBIC sender behind its own shaper
(``tbf rate 10mbit burst 5kb limit 150kb`` on the sender's device), over a veth pair and over a
tuxnet cable.  Both leave slow start on an ACK train, once, at cwnd 21: from the first ACK on each
round is timed (Linux 6.14's "tcp_cubic: fix incorrect HyStart round start detection"), and at
10 Mb/s the first round timed with cwnd at or above ``hystart_low_window`` (16) outlasts half the
minimum delay.  (Before that fix tuxnet left at cwnd 17, timing its first round from the
connection's start.)

The test names CUBIC on the socket (TCP_CONGESTION): a namespace takes its default congestion
control from the machine's, which may be BBR, and BBR has no HyStart.
"""

from __future__ import annotations

import os
import time

import pytest
from linuxnet import kernel_measurement, shaped_transfer

from shaped import shaped
from tuxnet.tapnet import netns_unavailable
from tuxnet.world import NSEC_PER_SEC

pytestmark = pytest.mark.root

SHAPER = "qdisc replace dev eth0 root tbf rate 10mbit burst 5kb limit 150kb"
SIZE = 2_000_000
COUNTERS = ("TCPHystartTrainDetect", "TCPHystartTrainCwnd", "TCPHystartDelayDetect", "TCPHystartDelayCwnd")


def linux_hystart() -> list[int]:
    """The kernel's sender's HyStart counters, 0.5 s into the transfer (slow start ends within
    the first 50 ms)."""
    with shaped_transfer(f"tuxnet-hystart-{os.getpid()}", SHAPER, "cubic", SIZE) as a:
        time.sleep(0.5)
        counters = a.tcp_ext()
    return [counters[name] for name in COUNTERS]


def tuxnet_hystart() -> list[int]:
    """The same of tuxnet's sender, its NIC with TSO as a veth has it, in virtual time."""
    world, a, _ = shaped(SIZE, SHAPER, tso=True)
    world.run_for(NSEC_PER_SEC // 2)
    return [a.mib.TcpExt[name] for name in COUNTERS]


def test_hystart_leaves_slow_start_on_an_ack_train_at_the_kernels_cwnd() -> None:
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    # A real-time run on a loaded machine can see the train one ACK late (cwnd 22): such a run
    # strayed, as a spurious RTO would have, and the kernel is measured again.
    linux = kernel_measurement(linux_hystart, lambda c: None if c == [1, 21, 0, 0] else f"counters {c}")
    ours = tuxnet_hystart()
    assert ours == linux
