"""UDP corking (MSG_MORE, UDP_CORK) judged by this machine's kernel: ``corkplay.py``'s programs,
in a network namespace of our own and on a tuxnet host run with ``tuxnet.socket.stdlib``, must
give the same outcomes: every SIOCOUTQ while a datagram is pending, what arrives, the errors and
the error queue's reports."""

from __future__ import annotations

import pytest
from corkplay import PLAYS
from loplay import play_on_both

pytestmark = pytest.mark.root


def both(name: str, mtu: int = 0) -> tuple[list, list]:
    return play_on_both("corkplay.py", name, PLAYS[name], mtu)


def test_corking_on_loopback_as_on_the_kernel():
    linux, ours = both("lo")
    assert ours == linux
    assert ["arrived", [[24806, "41", "7a"]]] in ours  # six appends and the push: one datagram
    appends = [o for o in ours if o[0] == "more"]
    for before, after in zip(appends, appends[1:], strict=False):  # each later one: its octets
        assert after[3] - before[3] == after[1]


def test_corking_on_a_loopback_of_mtu_1500_as_on_the_kernel():
    """There the pending datagram is made of fragment-sized buffers, each charged when made."""
    linux, ours = both("lo1500", 1500)
    assert ours == linux
    small = next(o for o in ours if o[0] == "small buffer")[1]
    assert ["ENOBUFS", 0] in small  # a buffer past twice SO_SNDBUF: the datagram is dropped


def test_a_pending_datagram_may_not_pass_the_mtu_with_pmtudisc_do():
    linux, ours = both("df", 1500)
    assert ours == linux
    assert ours[1][1] == "EMSGSIZE" and ours[1][3][1][0][2][5] == 1500  # IP_RECVERR's info: the MTU
