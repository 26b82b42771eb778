"""Packet sockets judged by this machine's kernel: ``packetplay.py``'s program on loopback, in a
network namespace of our own and on a tuxnet host, must give the same outcomes."""

from __future__ import annotations

import pytest
from loplay import play_on_both
from packetplay import play

pytestmark = pytest.mark.root


def outcome(outcomes: list, *key: object) -> list:
    return [o for o in outcomes if o[:len(key)] == list(key)]


def test_packet_sockets_as_on_the_kernel():
    linux, ours = play_on_both("packetplay.py", "all", play)
    assert ours == linux
    heard = outcome(ours, "every protocol, raw")[0][1]
    # the datagram going out of lo (PACKET_OUTGOING, 4) and coming in (PACKET_HOST, 0)
    assert [h[1] for h in heard] == [["lo", 0x0800, 4, 772], ["lo", 0x0800, 0, 772]]
    assert [h[1] for h in outcome(ours, "ipv4 only, dgram")[0][1]] == [["lo", 0x0800, 0, 772]]
    # the frames sent from packet sockets go out and come back in, and IP drops them: they carry
    # no route, and a source in 127/8 from outside the stack is martian without route_localnet
    assert [len(h) for h in (o[1] for o in outcome(ours, "every protocol, raw"))] == [2, 4]
    assert outcome(ours, "udp")[1] == ["udp", "EAGAIN", "EAGAIN"]
    assert outcome(ours, "statistics")[0][1:] == [[6, 0], [0, 0]]
    # SO_TIMESTAMPNS: the datagram (28 bytes) with one SOL_SOCKET SO_TIMESTAMPNS, a timespec
    assert outcome(ours, "timestamped") == [["timestamped", 31, 0, [[1, 35, 16]]]]
