"""Receive-queue memory, judged by this machine's kernel over loopback.

An in-order segment joins the receive queue's last buffer when it can (``tcp_try_coalesce``):
a segment a local socket sent keeps its payload in page fragments, which move to that buffer, so
the receiver is charged its payload alone, not a second buffer head.  The buffer takes no more
once it holds MAX_SKB_FRAGS (17) fragments, nor while it is still a clone of a segment its
sender holds unacknowledged; and it is freed, with all it was charged, once every byte of it has
been read.  The head of a buffer costs 896 bytes in tuxnet (Debian's kernels) and 832 on a kernel
built without tunnels or wireless (a smaller MAX_TCP_HEADER), so each side's outcome is given as
the buffers it holds, worked out from its own cost of one, beside the bytes it holds and has read.
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
FIONREAD, SO_MEMINFO, SO_TIMESTAMPNS = 0x541B, 55, 35


def held(s: Any) -> list[int]:
    """FIONREAD (bytes not yet read) and SO_MEMINFO's rmem_alloc (what the queue is charged)."""
    rmem = struct.unpack("9I", s.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 36))[0]
    return [struct.unpack("i", fcntl.ioctl(s, FIONREAD, bytes(4)))[0], rmem]


def play(sleep: Callable[[float], None]) -> list:
    ls, c, a = lo_pair(PORT)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sleep(0.05)
    steps: list[tuple[str, Callable[[], int]]] = [(f"send 1000 #{i}", lambda: c.send(b"y" * 1000))
                                                  for i in range(20)]
    steps += [("recv 500", lambda: len(a.recv(500))), ("recv all", lambda: len(a.recv(1 << 20))),
              ("send 1", lambda: c.send(b"x")), ("send 3000", lambda: c.send(b"z" * 3000)),
              ("send 30000", lambda: c.send(b"z" * 30000)), ("recv 700", lambda: len(a.recv(700)))]
    out = []
    for name, step in steps:
        ret = step()
        sleep(0.02)
        out.append([name, ret, *held(a)])
    for s in (a, c, ls):
        s.close()
    return out


def head_cost(sleep: Callable[[float], None], port: int) -> int:
    """What a buffer costs beyond its bytes: the charge of one byte, less the byte."""
    ls, c, a = lo_pair(port)
    c.send(b"x")
    sleep(0.02)
    unread, rmem = held(a)
    for s in (a, c, ls):
        s.close()
    return rmem - unread


def probe_play(sleep: Callable[[float], None]) -> list:
    """70,000 bytes three times, 20 ms apart, to a reader that does not read; the first step
    says what one buffer costs."""
    out: list[Any] = [["head", 0, 0, head_cost(sleep, PORT + 2)]]
    ls, c, a = lo_pair(PORT + 1)
    sleep(0.05)
    for i in range(3):
        ret = c.send(b"p" * 70_000)
        sleep(0.02)
        out.append([f"send 70000 #{i}", ret, *held(a)])
    for s in (a, c, ls):
        s.close()
    return out


def stamp_play(sleep: Callable[[float], None]) -> list:
    """Two messages 10 ms apart to a reader with SO_TIMESTAMPNS, which then reads one byte and
    the rest: how far the second read's arrival time is from the first's, in whole ms."""
    ls, c, a = lo_pair(PORT + 3)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    a.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sleep(0.05)
    c.send(b"m" * 100)
    sleep(0.01)
    c.send(b"n" * 100)
    sleep(0.01)
    stamps = []
    for size in (1, 1000):
        data, ancdata, _, _ = a.recvmsg(size, 64)
        sec, nsec = struct.unpack("qq", ancdata[0][2])
        stamps.append((len(data), sec * 10**9 + nsec))
    for s in (a, c, ls):
        s.close()
    return [stamps[0][0], stamps[1][0], round((stamps[1][1] - stamps[0][1]) / 1e6)]


def by_buffers(outcomes: list) -> list:
    """Each step as [name, return, unread bytes, buffers held, bytes read but held]: the charge
    less the unread bytes is a whole number of buffer heads, plus what was read of a buffer that
    is not all read yet (under a head's cost here).  A head costs what the first step's buffer
    costs beyond its bytes."""
    head = outcomes[0][3] - outcomes[0][2]
    return [[name, ret, unread, *divmod(rmem - unread, head)] for name, ret, unread, rmem in outcomes]


def tcp_ext(name: str) -> int:
    """A TcpExt counter of the network namespace this process runs in (/proc/net/netstat)."""
    with open("/proc/net/netstat") as f:
        lines = [line.split() for line in f if line.startswith("TcpExt:")]
    return int(dict(zip(lines[0], lines[1], strict=True))[name])


def test_segments_merge_into_the_last_buffer_as_on_the_kernel() -> None:
    linux = kernel_outcomes(os.path.basename(__file__), "coalesce")
    world, host = lo_world()
    ours = tuxnet_outcomes(world, host, play, libc.sleep)
    coalesced = host.mib.TcpExt["TCPRcvCoalesce"]
    assert [by_buffers(ours), coalesced] == [by_buffers(linux["steps"]), linux["TCPRcvCoalesce"]]
    steps = by_buffers(ours)
    # 17 segments of 1,000 bytes in one buffer (17 fragments); the 18th starts a second, and the
    # 19th a third, for the second was still a clone of the segment its sender held (the quick
    # ACKs spent, its ACK was delayed); the 20th joins the third.
    assert [step[3] for step in steps[:20]] == [1] * 17 + [2, 3, 3]
    # A buffer partly read stays, with what was read of it; read to the end, it goes.
    assert steps[20][2:] == [19_500, 3, 500]
    assert steps[21][2:] == [0, 0, 0]
    assert steps[-1][2:] == [33_001 - 700, 1, 700]
    assert coalesced == 19

def test_a_segment_sent_again_no_longer_shares_its_clones_head_as_on_the_kernel() -> None:
    """The first 70,000 bytes go as three segments, the last two unacknowledged (one quick ACK:
    the window over twice the segment), each queued as a buffer of its own, for the one before
    is still a clone of a segment its sender holds.  The tail loss probe sends the last one
    again, and Linux gives the sender's segment a head of its own first
    (``skb_unclone_keeptruesize``): the clone in the receive queue is no longer shared, and
    the next 47,616 bytes merge into it."""
    linux = kernel_outcomes(os.path.basename(__file__), "probe")
    world, host = lo_world()
    ours = tuxnet_outcomes(world, host, probe_play, libc.sleep)
    assert by_buffers(ours) == by_buffers(linux["steps"])
    assert [step[2:] for step in by_buffers(ours)[1:]] == [[70_000, 3, 0], [117_616, 3, 0], [117_616, 3, 0]]


def test_a_read_of_a_merged_buffer_reports_its_latest_arrival_as_on_the_kernel() -> None:
    """The second message merged into the first's buffer, which took its arrival time: a read
    of the first byte already reports the second message's, as the read of the rest does."""
    linux = kernel_outcomes(os.path.basename(__file__), "stamp")
    world, host = lo_world()
    ours = tuxnet_outcomes(world, host, stamp_play, libc.sleep)
    assert ours == linux["steps"] == [1, 199, 0]


if __name__ == "__main__":
    before = tcp_ext("TCPRcvCoalesce")
    steps = {"coalesce": play, "probe": probe_play, "stamp": stamp_play}[sys.argv[1]](time.sleep)
    print(json.dumps({"steps": steps, "TCPRcvCoalesce": tcp_ext("TCPRcvCoalesce") - before}))
