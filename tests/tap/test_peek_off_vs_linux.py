"""SO_PEEK_OFF judged by this machine's kernel over ``lo``: with it on, a MSG_PEEK read starts
that far into what is queued and moves the offset on by what it read, a plain read moves it back
by what it took (no further than 0), -1 turns it off; on TCP a stream of bytes, on UDP the
datagrams one after another, a peek past a whole datagram landing in the next one (and flagged
MSG_TRUNC when it reads less than the whole datagram), an empty one that a peek has returned
passed over by the next."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable

import pytest
from loplay import kernel_outcomes, lo_pair, lo_world, outcome, tuxnet_outcomes

from tuxnet.user import libc

pytestmark = pytest.mark.root

SO_PEEK_OFF = 42
PORT = 7940


def steps(s: socket.socket, reads: list[tuple[int, int]]) -> list:
    """Each read (size, flags): what it gave, its msg_flags, and the peek offset after it."""
    out = []
    for size, flags in reads:
        got = outcome(s.recvmsg, size, 0, flags | socket.MSG_DONTWAIT)
        got = [got[0].decode(), got[2]] if isinstance(got, tuple) else got
        out.append([size, flags, got, s.getsockopt(socket.SOL_SOCKET, SO_PEEK_OFF)])
    return out


PEEK = socket.MSG_PEEK
READS = [(3, PEEK), (3, PEEK), (2, 0), (4, PEEK), (100, PEEK), (3, 0), (2, PEEK), (100, 0), (1, PEEK)]


def play(sleep: Callable[[float], None]) -> list:
    ls, c, a = lo_pair(PORT)
    out = [outcome(a.getsockopt, socket.SOL_SOCKET, SO_PEEK_OFF)]
    c.sendall(b"abcdefghij")
    sleep(0.05)
    a.setsockopt(socket.SOL_SOCKET, SO_PEEK_OFF, 0)
    out.append(steps(a, READS))
    a.setsockopt(socket.SOL_SOCKET, SO_PEEK_OFF, 5)
    c.sendall(b"klmnop")
    sleep(0.05)
    out.append(steps(a, [(2, PEEK), (10, 0), (2, PEEK)]))
    for s in (ls, c, a):
        s.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", PORT))
    v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for datagram in (b"aaaa", b"bbbbbb", b"", b"cc"):
        v.sendto(datagram, ("127.0.0.1", PORT))
    sleep(0.05)
    out.append(outcome(u.getsockopt, socket.SOL_SOCKET, SO_PEEK_OFF))
    u.setsockopt(socket.SOL_SOCKET, SO_PEEK_OFF, 0)
    out.append(steps(u, READS + [(100, PEEK | socket.MSG_TRUNC), (100, 0), (100, 0), (100, PEEK)]))
    u.setsockopt(socket.SOL_SOCKET, SO_PEEK_OFF, -1)
    v.sendto(b"dd", ("127.0.0.1", PORT))
    sleep(0.05)
    out.append(steps(u, [(100, PEEK), (100, PEEK), (100, 0)]))
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    out.append([outcome(r.setsockopt, socket.SOL_SOCKET, SO_PEEK_OFF, 0),
                outcome(r.getsockopt, socket.SOL_SOCKET, SO_PEEK_OFF)])
    for s in (u, v, r):
        s.close()
    # empty datagrams: a peek at an offset passes over one a peek has returned (skb->peeked),
    # even one returned before the offset was on
    for plain_peek_first in (False, True):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", PORT + 1 + plain_peek_first))
        for datagram in (b"", b"ab", b"", b"c"):
            u.sendto(datagram, u.getsockname())
        sleep(0.05)
        if plain_peek_first:
            out.append(steps(u, [(10, PEEK)]))
        u.setsockopt(socket.SOL_SOCKET, SO_PEEK_OFF, 0)
        out.append(steps(u, [(10, PEEK)] * 6 + [(10, 0)] * 5))
        u.close()
    return out


def test_peek_offsets_move_as_on_the_kernel() -> None:
    linux = kernel_outcomes(os.path.basename(__file__), "play")
    world, host = lo_world()
    assert tuxnet_outcomes(world, host, play, libc.sleep) == linux


if __name__ == "__main__":
    import time

    print(json.dumps({"play": play}[sys.argv[1]](time.sleep)))
