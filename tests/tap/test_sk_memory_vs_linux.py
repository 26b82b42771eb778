"""A TCP socket's memory as ``ss -m`` and SO_MEMINFO show it, judged by this machine's kernel
over loopback.

A socket takes memory in whole pages ahead of need and keeps what its buffers have not used as
its forward allocation (``f``): what it holds, ``r + w + f``, is always whole pages.  A segment
that arrives takes the pages its truesize lacks; a read, or an ACK that frees sent data, gives
back every whole page left unused; data held back (TCP_CORK, for up to 200 ms) keeps its pages
in ``w + f``.  The
kernel and tuxnet must hold the same number of pages at every step.  (This machine's kernel
gives a small buffer a head 64 bytes smaller than Debian's, which tuxnet models, so ``r`` and
``f`` themselves differ by that much a buffer; the pages do not.)  And whatever the socket
holds, ``f`` stays below a page once something was given back.
"""

from __future__ import annotations

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

PORT = 7800
SO_MEMINFO = 55
PAGE = 4096


def pages(s: Any) -> list[int]:
    """The pages the socket holds (``r + w + f``, in whole pages) and whether its forward
    allocation is below a page."""
    r, _rb, _t, _tb, f, w, *_ = struct.unpack("9i", s.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 36))
    assert (r + w + f) % PAGE == 0, (r, w, f)
    return [(r + w + f) // PAGE, f < PAGE]


def play(sleep: Callable[[float], None]) -> list:
    out: list[Any] = []
    ls, c, a = lo_pair(PORT)
    sleep(0.05)

    def step(name: str) -> None:
        sleep(0.08)  # (past any delayed ACK: 40 ms on lo)
        out.append([name, pages(c), pages(a)])

    step("established")
    c.send(b"x" * 100)
    step("100 bytes arrive")
    a.recv(1000)
    step("read")
    c.send(b"x" * 3000)
    step("3,000 bytes arrive")
    a.send(b"y" * 5000)
    step("a sends 5,000")
    a.recv(100000)
    step("a reads")
    for i in range(5):
        c.send(b"z" * 10000)
        step(f"10,000 bytes more, {i + 1}")
    a.recv(1 << 20)
    step("a reads them")
    c.recv(100000)
    step("c reads")
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    for i in range(3):
        c.send(b"w" * 3000)
        step(f"corked 3,000, {i + 1}")
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
    step("uncorked")
    a.recv(1 << 20)
    step("a reads the 9,000")
    for s in (a, c, ls):
        s.close()
    return out


def test_a_sockets_pages_as_on_the_kernel() -> None:
    linux = kernel_outcomes(os.path.basename(__file__), "play")
    world, host = lo_world()
    ours = tuxnet_outcomes(world, host, play, libc.sleep)
    assert ours == linux, "\n".join(f"kernel {k}, tuxnet {t}" for k, t in zip(linux, ours, strict=True))
    steps = {name: (c, a) for name, c, a in ours}
    assert steps["100 bytes arrive"] == ([0, True], [1, True])
    assert steps["10,000 bytes more, 5"][1] == [13, True]  # 50,000 bytes in 13 pages
    assert steps["corked 3,000, 2"][0] == [2, True]  # 6,000 bytes held, in 2 pages
    assert steps["corked 3,000, 3"] == ([0, True], [3, True])  # the cork's 200 ms are over
    assert steps["a reads the 9,000"] == ([0, True], [0, True])


if __name__ == "__main__":
    print(json.dumps({"play": play}[sys.argv[1]](time.sleep)))
