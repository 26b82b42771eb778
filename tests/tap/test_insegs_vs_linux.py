"""What ``Tcp: InSegs`` counts, judged by this machine's kernel over a loopback of MTU 1500: one a
packet (``tcp_v4_rcv``), however many segments a GSO packet holds, while the receiving socket's
``segs_in`` (TCP_INFO) counts the segments.  A 2 MB transfer over ``lo`` goes in packets of up to
64 KB, so the first is a small fraction of the second, on the kernel as on tuxnet."""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import time
from collections.abc import Callable

import pytest
from loplay import kernel_outcomes, lo_pair, lo_world, tuxnet_outcomes

from tuxnet.user import libc

pytestmark = pytest.mark.root

PORT = 7900
TOTAL = 2_000_000
TCP_INFO = 11
SEGS_IN = 140  # tcpi_segs_in's offset in struct tcp_info


def proc_in_segs() -> int:
    """``Tcp: InSegs`` of the network namespace, from /proc/net/snmp."""
    with open("/proc/net/snmp") as f:
        names, values = (line.split() for line in f if line.startswith("Tcp:"))
    return int(values[names.index("InSegs")])


def play(sleep: Callable[[float], None], in_segs: Callable[[], int]) -> list:
    ls, c, a = lo_pair(PORT)
    c.setblocking(False)
    a.setblocking(False)
    start = in_segs()
    chunk = b"x" * 65536
    sent = got = 0
    while got < TOTAL:
        if sent < TOTAL:
            try:
                sent += c.send(chunk[:TOTAL - sent])
            except BlockingIOError:
                pass
        try:
            got += len(a.recv(1 << 20))
        except BlockingIOError:
            sleep(0.001)
    counted = in_segs() - start
    segs_in = struct.unpack_from("I", a.getsockopt(socket.IPPROTO_TCP, TCP_INFO, 232), SEGS_IN)[0]
    for s in (a, c, ls):
        s.close()
    return [counted, segs_in]


def test_in_segs_counts_packets_and_segs_in_segments_as_on_the_kernel() -> None:
    linux = kernel_outcomes(os.path.basename(__file__), "play", mtu=1500)
    world, host = lo_world(1500)
    ours = tuxnet_outcomes(world, host, play, libc.sleep, lambda: host.mib.Tcp["InSegs"])
    for counted, segs_in in (linux, ours):
        assert segs_in >= TOTAL // 1448, (linux, ours)
        assert counted < segs_in // 10, (linux, ours)


if __name__ == "__main__":
    print(json.dumps({"play": play}[sys.argv[1]](time.sleep, proc_in_segs)))
