"""What ``TcpExt: TCPDelivered`` counts (``tcp_newly_delivered``), judged by this machine's
kernel over ``lo``: the segments each ACK newly delivers, the SYN, the SYN-ACK and the FINs among
them, for a connection that carries a request and an answer and closes."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable

import pytest
from loplay import kernel_outcomes, lo_pair, lo_world, tuxnet_outcomes

from tuxnet.user import libc

pytestmark = pytest.mark.root

PORT = 7910


def proc_delivered() -> int:
    """``TcpExt: TCPDelivered`` of the network namespace, from /proc/net/netstat."""
    with open("/proc/net/netstat") as f:
        names, values = (line.split() for line in f if line.startswith("TcpExt:"))
    return int(values[names.index("TCPDelivered")])


def play(sleep: Callable[[float], None], delivered: Callable[[], int]) -> list:
    start = delivered()
    ls, c, a = lo_pair(PORT)
    sleep(0.05)
    opened = delivered() - start
    c.sendall(b"x" * 100_000)
    got = 0
    while got < 100_000:
        got += len(a.recv(1 << 20))
    a.sendall(b"hi")
    c.recv(10)
    c.close()
    a.close()
    ls.close()
    sleep(0.05)
    return [opened, delivered() - start]


def test_tcp_delivered_counts_as_on_the_kernel() -> None:
    linux = kernel_outcomes(os.path.basename(__file__), "play", mtu=1500)
    world, host = lo_world(1500)
    ours = tuxnet_outcomes(world, host, play, libc.sleep, lambda: host.mib.TcpExt["TCPDelivered"])
    assert ours == linux


if __name__ == "__main__":
    print(json.dumps({"play": play}[sys.argv[1]](time.sleep, proc_delivered)))
