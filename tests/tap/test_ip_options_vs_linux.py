"""IPv4 options judged by this machine's kernel: ``optplay.py``'s programs, in a network namespace
of our own and on a tuxnet host, must give the same outcomes: what IP_OPTIONS takes and gives
back, the options datagrams carry over loopback and what a reader sees of them (IP_RECVOPTS,
IP_RETOPTS, a raw socket), the parameter problem a malformed option draws, ICMP timestamp
requests, and a connection that records its route."""

from __future__ import annotations

import pytest
from loplay import play_on_both
from optplay import PLAYS, RR

pytestmark = pytest.mark.root


def outcome(outcomes: list, *key: object) -> list:
    return next(o for o in outcomes if o[:len(key)] == list(key))


def test_ip_options_sockopt_as_on_the_kernel():
    linux, ours = play_on_both("optplay.py", "sockopt", PLAYS["sockopt"])
    assert ours == linux
    assert outcome(ours, 2, "record route")[3] == RR.hex()
    assert outcome(ours, 2, "41 octets")[2] == "EINVAL"
    # a socket's source route is given back as it was given, its first hop in front
    assert outcome(ours, 2, "loose source route")[3] == "01830b047f0000027f000003"


def test_datagrams_with_options_as_on_the_kernel():
    linux, ours = play_on_both("optplay.py", "udp", PLAYS["udp"])
    assert ours == linux
    # the sender's slot and the receiver's filled, the reply's options one slot further
    recvopts, retopts = outcome(ours, "rr")[2]
    assert recvopts[2].startswith("0107270c7f0000017f000001")
    assert retopts[2].startswith("07270c7f0000017f000001")


def test_raw_echo_with_record_route_and_parameter_problems_as_on_the_kernel():
    linux, ours = play_on_both("optplay.py", "raw", PLAYS["raw"])
    assert ours == linux
    # as ping -R shows it on loopback: the route out and back, 127.0.0.1 four times
    assert outcome(ours, "read", 0)[2].startswith("072714" + "7f000001" * 4)
    assert outcome(ours, "rr length 2") == ["rr length 2", 12, 0, 21]


def test_icmp_timestamp_requests_as_on_the_kernel():
    linux, ours = play_on_both("optplay.py", "timestamp", PLAYS["timestamp"])
    assert ours == linux
    reply = outcome(ours, "timestamp")[1]
    assert reply == [[14, 0, 0x4242, 7, 20, 12345, True, ""]]
    assert outcome(ours, "too short")[1] == []


def test_a_connection_recording_its_route_as_on_the_kernel():
    linux, ours = play_on_both("optplay.py", "tcp", PLAYS["tcp"], 1500)
    assert ours == linux
    assert outcome(ours, "maxseg") == ["maxseg", 1408, 1408]  # 1500 - 40 - 40 options - 12 timestamps
    assert outcome(ours, "received") == ["received", 100000]
