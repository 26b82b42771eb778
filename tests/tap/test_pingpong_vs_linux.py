"""Interactive (pingpong) mode and MSG_MORE, judged by this machine's kernel over loopback.

A receiver that sends within ``ato`` (40 ms) of the data it last received is taken for an
interactive peer and delays its ACKs, to ride on its replies (``tcp_event_data_sent``; any send
counts, since the 2022 revert of "tcp: change pingpong threshold to 3").  Here the accepted socket
``a`` replies 10 ms after data arrived, so the 3,000 bytes its peer ``c`` then sends (released by
TCP_NODELAY from a MSG_MORE send) stay unacknowledged for more than 10 ms, as do the 70,000 after
them, even once read: SIOCOUTQ (unacknowledged) keeps them while SIOCOUTQNSD (unsent) is 0.  And
MSG_MORE holds a send back until data arrives from the peer the first time, not the second
(the held bytes then go with nothing to push them, and stay until TCP_NODELAY).  TCP_QUICKACK
on such a receiver sends the ACK it owes only once a read has emptied its queue.  A quick ACK is
spent only by an ACK of new data, not by each segment the receiver sends (Linux 6.6+).  Data
the socket's forward allocation does not cover takes the slow path, which sends a byte MSG_MORE
held.
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

PORT = 7700
SIOCOUTQ, SIOCOUTQNSD = 0x5411, 0x894B


def queued(s: Any) -> list[int]:
    """SIOCOUTQ (not yet acknowledged) and SIOCOUTQNSD (not yet sent)."""
    return [struct.unpack("i", fcntl.ioctl(s, request, bytes(4)))[0] for request in (SIOCOUTQ, SIOCOUTQNSD)]


def play(sleep: Callable[[float], None]) -> list:
    out: list[Any] = []
    ls, c, a = lo_pair(PORT)
    sleep(0.05)
    out.append(["more 100", c.send(b"x" * 100, socket.MSG_MORE), queued(c)])
    a.send(b"y" * 10)
    sleep(0.01)
    out.append(["a replied", queued(c)])
    out.append(["more 3000", c.send(b"x" * 3000, socket.MSG_MORE), queued(c)])
    sleep(0.01)
    out.append(["10 ms on", queued(c)])
    a.send(b"y" * 10)  # within ato of the 100 bytes: a becomes interactive
    sleep(0.01)
    out.append(["a replied again", queued(c)])
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out.append(["nodelay", queued(c)])
    out.append(["more 70000", c.send(b"x" * 70000, socket.MSG_MORE), queued(c)])
    sleep(0.01)
    out.append(["10 ms on", queued(c)])
    out.append(["a read", len(a.recv(100000))])
    sleep(0.01)
    out.append(["10 ms on", queued(c)])
    sleep(0.3)
    out.append(["300 ms on", queued(c)])
    for s in (a, c, ls):
        s.close()
    return out


def quickack_play(sleep: Callable[[float], None]) -> list:
    """TCP_QUICKACK on an interactive receiver that owes an ACK: its ACK goes only once a read
    has emptied the receive queue (``__tcp_sock_set_quickack`` → ``tcp_cleanup_rbuf``)."""
    out: list[Any] = []
    ls, c, a = lo_pair(PORT + 1)
    sleep(0.05)
    c.send(b"x")
    a.send(b"y")  # a reply: a turns interactive
    c.send(b"x")
    out.append(["owed", queued(c)])
    a.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    out.append(["quickack, unread", queued(c)])
    sleep(0.02)
    out.append(["read", len(a.recv(100)), queued(c)])
    for s in (a, c, ls):
        s.close()
    return out


def quick_count_play(sleep: Callable[[float], None]) -> list:
    """The quick ACKs a receiver has left after it sent ten segments of its own: c's first byte
    gives a its quick ACKs (``tcp_incr_quickack``), a sends 14,480 bytes (ten segments over lo
    at MTU 1500) past ``ato`` (no reply, so no pingpong), then c sends 100 bytes every 5 ms and
    notes what stays unacknowledged (SIOCOUTQ)."""
    out: list[Any] = []
    ls, c, a = lo_pair(PORT + 2)
    sleep(0.05)
    c.send(b"x")
    sleep(0.1)
    a.send(b"y" * 14480)
    sleep(0.01)
    out.append(["c read", len(c.recv(100000))])
    for _ in range(20):
        c.send(b"x" * 100)
        sleep(0.005)
        out.append(queued(c)[0])
    for s in (a, c, ls):
        s.close()
    return out


def held_play(sleep: Callable[[float], None]) -> list:
    """A byte a holds back with MSG_MORE goes out when c's first data arrives: a fresh socket's
    forward allocation (a page's rest after its own send) does not cover the arriving 3,000
    bytes, so the segment takes the slow path, which sends what may be sent
    (``tcp_data_snd_check``); the fast path sends only after an ACK of new data."""
    out: list[Any] = []
    ls, c, a = lo_pair(PORT + 3)
    sleep(0.05)
    out.append(["a more 1", a.send(b"y", socket.MSG_MORE), queued(a)])
    out.append(["c sends 3000", c.send(b"x" * 3000)])
    sleep(0.01)
    out.append(["10 ms on", queued(a), queued(c)])
    for s in (a, c, ls):
        s.close()
    return out


def test_delayed_acks_of_an_interactive_peer_as_on_the_kernel() -> None:
    linux = kernel_outcomes(os.path.basename(__file__), "pingpong")
    world, host = lo_world()
    ours = tuxnet_outcomes(world, host, play, libc.sleep)
    assert ours == linux
    assert ours[5] == ["nodelay", [3000, 0]]  # sent, its ACK delayed
    assert ours[-2] == ["10 ms on", [37232, 0]] and ours[-1] == ["300 ms on", [0, 0]]


def test_quickack_sends_an_owed_ack_once_the_queue_is_read_as_on_the_kernel() -> None:
    linux = kernel_outcomes(os.path.basename(__file__), "quickack")
    world, host = lo_world()
    ours = tuxnet_outcomes(world, host, quickack_play, libc.sleep)
    assert ours == linux
    assert ours == [["owed", [1, 0]], ["quickack, unread", [1, 0]], ["read", 2, [0, 0]]]


def test_quick_acks_are_spent_only_on_acks_of_new_data_as_on_the_kernel() -> None:
    linux = kernel_outcomes(os.path.basename(__file__), "quickcount", mtu=1500)
    world, host = lo_world(1500)
    ours = tuxnet_outcomes(world, host, quick_count_play, libc.sleep)
    assert ours == linux
    # 16 quick ACKs (tcp_incr_quickack), one spent on c's first byte, none on a's ten segments
    # (Linux 6.6, "count actual ACKs of new data"; before, each segment sent spent one, and
    # five were left); then the ACKs wait for the delayed-ACK timer.
    assert ours == [["c read", 14480], *[0] * 15, 100, 200, 300, 400, 500]


def test_data_past_the_forward_allocation_sends_a_held_byte_as_on_the_kernel() -> None:
    linux = kernel_outcomes(os.path.basename(__file__), "held")
    world, host = lo_world()
    ours = tuxnet_outcomes(world, host, held_play, libc.sleep)
    assert ours == linux
    assert ours == [["a more 1", 1, [1, 1]], ["c sends 3000", 3000], ["10 ms on", [0, 0], [0, 0]]]


if __name__ == "__main__":
    programs = {"pingpong": play, "quickack": quickack_play, "quickcount": quick_count_play, "held": held_play}
    print(json.dumps(programs[sys.argv[1]](time.sleep)))
