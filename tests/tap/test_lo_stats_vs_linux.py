"""What ``lo`` counts (``loopback_xmit``'s ``dev_lstats_add``), judged by this machine's kernel:
each packet once as sent and once as received, its length past the Ethernet header, for
datagrams and a TCP exchange over ``lo``."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable

import pytest
from loplay import kernel_outcomes, lo_world, tuxnet_outcomes

from tuxnet.user import libc

pytestmark = pytest.mark.root


def proc_lo() -> list[int]:
    """lo's received and sent bytes and packets, from /proc/net/dev."""
    with open("/proc/net/dev") as f:
        fields = next(line for line in f if line.strip().startswith("lo:")).split(":", 1)[1].split()
    return [int(fields[0]), int(fields[1]), int(fields[8]), int(fields[9])]


def play(sleep: Callable[[float], None], counters: Callable[[], list[int]]) -> list:
    start = counters()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 7920))
    v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for size in (0, 1, 76, 1000, 1472):
        v.sendto(b"d" * size, ("127.0.0.1", 7920))
        u.recv(2000)
    u.close()
    v.close()
    sleep(0.05)
    return [now - before for now, before in zip(counters(), start, strict=True)]


def test_lo_counts_as_on_the_kernel() -> None:
    linux = kernel_outcomes(os.path.basename(__file__), "play", mtu=1500)
    world, host = lo_world(1500)
    lo = host.dev("lo")
    ours = tuxnet_outcomes(world, host, play, libc.sleep,
                           lambda: [lo.stats.rx_bytes, lo.stats.rx_packets, lo.stats.tx_bytes, lo.stats.tx_packets])
    assert ours == linux


if __name__ == "__main__":
    print(json.dumps({"play": play}[sys.argv[1]](time.sleep, proc_lo)))
