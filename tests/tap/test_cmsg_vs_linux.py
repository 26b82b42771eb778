"""Control messages and packet timestamps judged by this machine's kernel: ``cmsgplay.py``'s
programs, in a network namespace of our own and on a tuxnet host run with ``tuxnet.socket.stdlib``,
must give the same outcomes (a timestamp compared only as lying between the clock read before the
send and after the read, each machine's own clock)."""

from __future__ import annotations

import pytest
from cmsgplay import PLAYS
from loplay import play_on_both

pytestmark = pytest.mark.root


def outcome(outcomes: list, *key: object) -> list:
    return next(o for o in outcomes if o[:len(key)] == list(key))


def test_udp_control_messages_as_on_the_kernel():
    linux, ours = play_on_both("cmsgplay.py", "udp", PLAYS["udp"])
    assert ours == linux
    # IP_PKTINFO (lo, 127.0.0.1, 127.0.0.1), the TTL, the TOS, the original destination
    read = outcome(ours, "read")[1]
    assert read[1][0] == [1, 29, "in time"]
    assert [c[:2] for c in read[1][1:]] == [[0, 8], [0, 2], [0, 1], [0, 20]]
    assert [0, 2, "07000000"] in outcome(ours, "sendmsg", "ttl 7")[3][1]  # the TTL the sender gave
    assert [1, 36, "05000000"] in outcome(ours, "sendmsg", "mark")[3][1]  # and the mark
    assert outcome(ours, "sendmsg", "ttl 0")[2] == "EINVAL"
    assert outcome(ours, "SIOCGSTAMP before")[1] == "ENOENT"
    # a port unreachable read from the error queue: the ICMP message's device, TTL and TOS (0xc0)
    icmp = outcome(ours, "icmp error")[1]
    assert [c[:2] for c in icmp[1]] == [[0, 8], [0, 2], [0, 1], [0, 11]] and icmp[1][2] == [0, 1, "c0"]


def test_tcp_timestamps_and_control_messages_as_on_the_kernel():
    linux, ours = play_on_both("cmsgplay.py", "tcp", PLAYS["tcp"])
    assert ours == linux
    read = outcome(ours, "read")[1]
    assert read[1] == [[1, 35, "in time"], [6, 36, "06000000"]]  # SO_TIMESTAMPNS, then TCP_CM_INQ


def test_raw_socket_control_messages_as_on_the_kernel():
    linux, ours = play_on_both("cmsgplay.py", "raw", PLAYS["raw"])
    assert ours == linux
    request = outcome(ours, "read")[1]
    assert request[0][:2] == [5, 1]  # the TTL the control message asked for


def test_ip_recvfragsize_as_on_the_kernel():
    linux, ours = play_on_both("cmsgplay.py", "frag", PLAYS["frag"], 1500)
    assert ours == linux
    assert outcome(ours, "read", 3000)[2][0] == [[0, 25, "dc050000"]]  # 1500
    assert outcome(ours, "read", 1000)[2][0] == []
