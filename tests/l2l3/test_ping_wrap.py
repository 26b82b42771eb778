"""ping's sequence numbers are 16 bits: after 65,535 comes 0, and the replies to the second round
are replies, not duplicates (iputils' ping4_send_probe clears each number's mark in its table of
received ones, rcvd_clear, as it sends)."""

from __future__ import annotations

import pytest
from netlab import run

from tuxnet.user.programs.ping import ping_main
from tuxnet.world import World


@pytest.mark.slow
def test_sequence_numbers_come_round_without_duplicates():
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    # -i 0: each probe goes as the one before is answered (pinger's pace without an interval)
    assert run(world, a, ping_main, ["-q", "-c", "65540", "-i", "0", "10.0.0.2"]) == 0
    lines = a.output().splitlines()
    assert lines[-2] == "65540 packets transmitted, 65540 received, 0% packet loss, time 1153ms", lines[-3:]
    assert lines[-1].endswith(", ipg/ewma 0.017/0.018 ms"), lines[-1]
