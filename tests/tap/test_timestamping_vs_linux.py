"""SO_TIMESTAMPING judged by this machine's kernel: ``tsplay.py``'s programs, in a network
namespace of our own and on a tuxnet host run with ``tuxnet.socket.stdlib``, must give the same
outcomes (a time compared only as lying between the clock read before the send and after the
read, each machine's own clock)."""

from __future__ import annotations

import pytest
from loplay import play_on_both
from tsplay import PLAYS

pytestmark = pytest.mark.root

ENOMSG, SO_EE_ORIGIN_TIMESTAMPING = 42, 4
SCM_TSTAMP_SND, SCM_TSTAMP_SCHED, SCM_TSTAMP_ACK = 0, 1, 2


def outcome(outcomes: list, *key: object) -> list:
    return next(o for o in outcomes if o[:len(key)] == list(key))


def kinds(entries: list) -> list:
    """(ee_info, ee_data) of each error-queue entry: which timestamp, and its key."""
    return [(cmsgs[-1][6], cmsgs[-1][7]) for _, cmsgs, _, _ in entries]


def test_timestamping_flags_as_on_the_kernel():
    linux, ours = play_on_both("tsplay.py", "options", PLAYS["options"])
    assert ours == linux
    bits = outcome(ours, "bits")[1]
    assert bits[12] == bits[16] == "EINVAL" and bits[15] == "ENOTSUP"  # OPT_STATS, OPT_ID_TCP alone; BIND_PHC
    assert outcome(ours, "tcp closed")[1] == "EINVAL"


def test_datagram_send_timestamps_as_on_the_kernel():
    linux, ours = play_on_both("tsplay.py", "udp", PLAYS["udp"])
    assert ours == linux
    ids = outcome(ours, "ids")[1]
    assert kinds(ids) == [(SCM_TSTAMP_SCHED, 0), (SCM_TSTAMP_SND, 0), (SCM_TSTAMP_SCHED, 1), (SCM_TSTAMP_SND, 1)]
    first = ids[0]
    assert first[0][:2] == [47, "0000000000000000000000000800"]  # lo's frame: 14 + 20 + 8 + 5 bytes
    assert first[1][0] == [37, "in time"] and first[1][1][1:3] == [ENOMSG, SO_EE_ORIGIN_TIMESTAMPING]
    assert outcome(ours, "tsonly")[1][0][0] == [0, ""]
    # OPT_CMSG: IP_PKTINFO (lo, 127.0.0.1) and the source as the offender
    cmsg = outcome(ours, "cmsg")[1][0][1]
    assert cmsg[1] == [0, 8, "010000007f0000017f000001"] and cmsg[2][-1].startswith("020000007f000001")
    assert kinds(outcome(ours, "per send")[1]) == [(SCM_TSTAMP_SCHED, 0), (SCM_TSTAMP_SND, 1), (SCM_TSTAMP_SND, 77),
                                                   (SCM_TSTAMP_SND, 3)]
    filtered = outcome(ours, "filtered")
    assert filtered[1][1] == [] and filtered[3][1] == [[37, "in time"]]  # OPT_RX_FILTER, then without


def test_tcp_send_timestamps_as_on_the_kernel():
    linux, ours = play_on_both("tsplay.py", "tcp", PLAYS["tcp"])
    assert ours == linux
    # each send's last byte is its key: 100 bytes, then 50, counted from where OPT_ID was set
    assert kinds(outcome(ours, "tsonly")[1]) == [(SCM_TSTAMP_SCHED, 99), (SCM_TSTAMP_SND, 99), (SCM_TSTAMP_ACK, 99),
                                                 (SCM_TSTAMP_SCHED, 149), (SCM_TSTAMP_SND, 149),
                                                 (SCM_TSTAMP_ACK, 149)]
    full = outcome(ours, "bytes")[1]
    assert [e[0][0] for e in full] == [76, 76, 10]  # the frame as sent; the acknowledged payload
    assert outcome(ours, "read")[1][1] == [[35, 16], [37, "in time"]]
    # OPT_STATS: the connection's state as netlink attributes (SCM_TIMESTAMPING_OPT_STATS), the
    # ACK's TTL on the ACK timestamp alone; 30 bytes queued until the ACK
    sched, snd, ack = ([c[1] for c in cmsgs if c[0] == 54][0] for _, cmsgs, _, _ in outcome(ours, "stats")[1])
    assert [attr[0] for attr in ack] == [*range(1, 13), 15, 16, 17, 13, 14, *range(18, 28)]
    assert [26, 5, 64] in ack and all(attr[0] != 26 for attr in sched + snd)
    assert [13, 8, 30] in snd and [13, 8, 0] in ack


def test_raw_send_timestamps_as_on_the_kernel():
    linux, ours = play_on_both("tsplay.py", "raw", PLAYS["raw"])
    assert ours == linux
    for name in ("hdrincl", "proto 253"):
        entries = outcome(ours, name)[1]
        assert kinds(entries) == [(SCM_TSTAMP_SCHED, 0), (SCM_TSTAMP_SND, 0),
                                  (SCM_TSTAMP_SCHED, 1), (SCM_TSTAMP_SND, 1)]
        assert entries[0][0][:4] == [38, "0000000000000000000000000800", 24, 253]  # the frame as sent
