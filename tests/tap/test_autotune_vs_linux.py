"""The receive side of Linux 6.16-6.18, judged by this machine's kernel over loopback.

Receive-buffer autotuning (``tcp_rcv_space_adjust``, ``tcp_rcvbuf_grow``) runs after each
buffer a read copies, and counts only what the reader took beyond what it left queued: a reader
that empties 70,000 bytes in one ``recv`` does not grow its buffer, for its first buffer of
32,768 bytes leaves 37,232 queued, and by the next the measure has restarted.  A timestamp echo
of the same millisecond is no RTT sample for it.  So when the peer sends another 70,000 bytes,
the receiver's window has not grown and its ACK is delayed (SIOCOUTQ keeps them).

Segments that reach a socket while its owner holds it wait in the backlog, where each one that
continues the one before is merged into it (``tcp_add_backlog``): the two ACKs a sender gets for
its two 32 KB segments while still in ``send`` are processed as one, with the later window.  That
window is smaller than the first, so the largest window seen stays 64 KB and the sender's MSS
half of it (TCP_MAXSEG 32768): its next 70,000 bytes leave 32,768 at a time, and the second
segment no longer fits the window.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from loplay import kernel_outcomes, lo_pair, lo_world, tuxnet_outcomes

from tuxnet.user import libc

pytestmark = pytest.mark.root

PORT = 7710
SIOCOUTQ, SIOCOUTQNSD = 0x5411, 0x894B
# What sizes the buffers and the window scale: tuxnet takes the kernel's values.
MIRRORED = ("net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem", "net.core.rmem_max", "net.core.wmem_max")


def state(s: Any) -> list[int]:
    """SIOCOUTQ (not yet acknowledged), SIOCOUTQNSD (not yet sent), TCP_MAXSEG, tcpi_rcv_mss,
    tcpi_rcv_space and SO_RCVBUF."""
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return [*(struct.unpack("i", fcntl.ioctl(s, request, bytes(4)))[0] for request in (SIOCOUTQ, SIOCOUTQNSD)),
            s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG), struct.unpack_from("I", info, 20)[0],
            struct.unpack_from("I", info, 96)[0], s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)]


def play(steps: list[tuple[str, int, int]], port: int, sleep: Callable[[float], None]) -> list:
    ls, c, a = lo_pair(port)
    sleep(0.05)
    out: list[Any] = []
    for op, i, n in steps:
        s = (c, a)[i]
        done = s.send(b"x" * n, socket.MSG_DONTWAIT) if op == "send" else len(s.recv(n, socket.MSG_DONTWAIT))
        out.append([op, i, done, state(c), state(a)])
    for s in (a, c, ls):
        s.close()
    return out


PROGRAMS = {
    "read": ([("send", 1, 70000), ("recv", 0, 100000), ("send", 1, 70000)], PORT),
    "backlog": ([("send", 0, 1), ("send", 0, 70000), ("send", 0, 70000)], PORT + 1),
}


def on_both(name: str) -> tuple[list, list]:
    steps, port = PROGRAMS[name]
    linux = kernel_outcomes(os.path.basename(__file__), name)
    world, host = lo_world()
    for key, value in linux["sysctls"].items():
        host.sysctl.set(key, value)
    return linux["out"], tuxnet_outcomes(world, host, play, steps, port, libc.sleep)


def test_a_reader_that_empties_its_queue_does_not_grow_its_buffer_as_on_the_kernel() -> None:
    linux, ours = on_both("read")
    assert ours == linux
    before, after_read = ours[0][3], ours[1][3]
    assert after_read[4:] == before[4:]  # rcv_space and SO_RCVBUF as they were
    assert ours[2][4][:2] == [70000, 0]  # the sender: all sent, the ACK delayed


def test_acks_merged_in_the_backlog_keep_the_mss_as_on_the_kernel() -> None:
    linux, ours = on_both("backlog")
    assert ours == linux
    assert len({step[3][2] for step in ours}) == 1  # the sender's TCP_MAXSEG never changes
    assert ours[2][3][:2] == [74464, 37232]


if __name__ == "__main__":
    steps, port = PROGRAMS[sys.argv[1]]
    sysctls = {}
    for key in MIRRORED:
        with open("/proc/sys/" + key.replace(".", "/")) as f:
            sysctls[key] = " ".join(f.read().split())
    print(json.dumps({"sysctls": sysctls, "out": play(steps, port, time.sleep)}))
