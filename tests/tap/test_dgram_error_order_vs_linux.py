"""Which comes first to a datagram socket holding both a queued datagram and a pending error
(``sk_err``, from an ICMP error): the error, as ``__skb_recv_udp`` and
``__skb_try_recv_datagram`` check ``sock_error`` before they look at the queue.  Judged by this
machine's kernel over ``lo``, for a connected UDP socket and a raw socket with IP_RECVERR."""

from __future__ import annotations

import errno
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

PORT, CLOSED = 7920, 7921
IP_RECVERR = 11  # (linux/in.h; CPython's socket module does not name it)


def _drain(s: socket.socket, n: int) -> list:
    """``n`` receives without waiting: what each gives, or the name of its error."""
    out: list = []
    for _ in range(n):
        try:
            out.append(s.recv(100, socket.MSG_DONTWAIT).hex())
        except OSError as e:
            out.append(errno.errorcode[e.errno])
    return out


def udp(sleep: Callable[[float], None]) -> list:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", PORT))
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.sendto(b"queued", ("127.0.0.1", PORT))
    sleep(0.05)
    s.connect(("127.0.0.1", CLOSED))
    s.send(b"to nobody")
    sleep(0.05)
    return _drain(s, 3)


def raw(sleep: Callable[[float], None]) -> list:
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    r.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b"seen raw", ("127.0.0.1", CLOSED))
    sleep(0.05)
    out = _drain(r, 3)
    try:
        out.append(len(r.recvmsg(100, 512, socket.MSG_ERRQUEUE)[0]))
    except OSError as e:
        out.append(errno.errorcode[e.errno])
    return [x if not isinstance(x, str) or x.isupper() else len(x) // 2 for x in out]


@pytest.mark.parametrize("name", ["udp", "raw"])
def test_a_pending_error_comes_before_queued_datagrams_as_on_the_kernel(name: str) -> None:
    linux = kernel_outcomes(os.path.basename(__file__), name)
    world, host = lo_world()
    assert tuxnet_outcomes(world, host, PROGRAMS[name], libc.sleep) == linux


PROGRAMS = {"udp": udp, "raw": raw}

if __name__ == "__main__":
    print(json.dumps(PROGRAMS[sys.argv[1]](time.sleep)))
