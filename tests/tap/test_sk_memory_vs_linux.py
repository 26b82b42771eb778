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

A UDP socket gives the memory of the datagrams it reads back in batches: once they add up to a
quarter of its receive buffer, or its reader's queue (all that was queued when the reader last
found it empty) is empty; until then ``r`` stays where it was, and so datagrams that would pass
the buffer are dropped although their predecessors were read (``d``).  The forward allocation
then keeps one page while reading goes on.  Here tuxnet is given the kernel's small-head size,
read off its first datagram, and every value of SO_MEMINFO must be the kernel's.
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

from tuxnet.net.core import skbuff
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


def meminfo(s: Any) -> list[int]:
    return list(struct.unpack("9i", s.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 36)))


def udp_play(sleep: Callable[[float], None]) -> list:
    out: list[Any] = []
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.bind(("127.0.0.1", PORT))
    w = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for n in (100, 1000, 3000, 100, 100):
        w.sendto(b"x" * n, ("127.0.0.1", PORT))
        sleep(0.01)
        out.append([f"{n} bytes", meminfo(r)])
    for _ in range(5):
        r.recv(65536)
        out.append(["read", meminfo(r)])
    # a small buffer (4 KB): four datagrams fit, and memory read comes back a kilobyte at a time
    r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    for _ in range(6):
        w.sendto(b"x" * 100, ("127.0.0.1", PORT))
        sleep(0.01)
    out.append(["six more", meminfo(r)])
    for _ in range(3):
        r.recv(65536)
        out.append(["read", meminfo(r)])
    for _ in range(4):
        w.sendto(b"x" * 100, ("127.0.0.1", PORT))
        sleep(0.01)
        out.append(["one more", meminfo(r)])
    r.setblocking(False)
    while True:
        try:
            r.recv(65536)
        except BlockingIOError:
            break
        out.append(["read", meminfo(r)])
    r.close()
    w.close()
    return out


def test_a_udp_sockets_memory_as_on_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    linux = kernel_outcomes(os.path.basename(__file__), "udp")
    # the kernel's first datagram is a small head's: its size, less the struct sk_buff
    monkeypatch.setattr(skbuff, "SKB_SMALL_HEAD_CACHE_SIZE", linux[0][1][0] - skbuff.SKB_STRUCT_SIZE)
    world, host = lo_world()
    ours = tuxnet_outcomes(world, host, udp_play, libc.sleep)
    assert ours == linux, "\n".join(f"kernel {k}, tuxnet {t}" for k, t in zip(linux, ours, strict=True))
    small = linux[0][1][0]
    reads = [mem for name, mem in ours if name == "read"]
    # the first four reads give nothing back; the fifth empties the reader's queue
    assert [mem[0] for mem in reads[:5]] == [ours[4][1][0]] * 4 + [0]
    assert reads[4][4] == PAGE  # a page kept
    # in the small buffer: two of the six dropped, a read of two given back, and of the four
    # sent after it, two dropped that fit once the third read's memory would have come back
    assert [mem[8] for name, mem in ours if name in ("six more", "one more")] == [2, 2, 2, 3, 4]
    assert ours[10][1][0] == 4 * small


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
    print(json.dumps({"play": play, "udp": udp_play}[sys.argv[1]](time.sleep)))
