"""Sequence numbers wrap at 2**32 (RFC 9293 section 3.4): a connection whose sequence space
crosses the wrap in the middle of a transfer carries on as if nothing happened."""

from __future__ import annotations

import pytest
from tcpnet import pair

from bulk import bulk_transfer
from tuxnet.net.ipv4 import tcp_ipv4


@pytest.mark.parametrize("isn", [2**32 - 5_000, 2**32 - 700_000])
def test_a_transfer_across_the_sequence_wrap(monkeypatch, isn):
    """The sender's initial sequence number is set just below 2**32 (any ISN is a valid one), so
    the receiver's RCV.NXT wraps while RCV.WUP has not: its window must stay the window."""
    monkeypatch.setattr(tcp_ipv4, "secure_tcp_seq", lambda host, saddr, daddr, sport, dport: isn)
    world, a, b, _ = pair()
    bulk_transfer(world, a, b, 2_000_000, timeout_s=60)
    assert b.mib.TcpExt["TCPZeroWindowDrop"] == 0 and b.mib.TcpExt["TCPToZeroWindowAdv"] == 0
    assert world.now < 2 * 10**9, "no stall: 2 MB at 100 Mb/s take well under two seconds"


def test_recovery_is_the_same_wherever_the_wrap_falls(monkeypatch):
    """With 3 % loss each way (SACK, RACK, recovery and the receiver's out-of-order queue all at
    work) the run is the same event for event whatever the ISN, so wrapping changes nothing:
    the same duration, the same retransmissions, the same holes."""
    outcomes = set()
    for isn in (12345, 2**32 - 5_000, 2**32 - 300_000, 2**32 - 900_000):
        monkeypatch.setattr(tcp_ipv4, "secure_tcp_seq", lambda host, saddr, daddr, sport, dport, isn=isn: isn)
        world, a, b, _ = pair(loss=0.03, seed=4)
        bulk_transfer(world, a, b, 2_000_000, timeout_s=600)
        assert a.mib.TcpExt["TCPSackRecovery"] > 0 and b.mib.TcpExt["TCPOFOQueue"] > 0
        outcomes.add((world.now, a.mib.Tcp["RetransSegs"], b.mib.TcpExt["TCPOFOQueue"]))
    assert len(outcomes) == 1, outcomes
