"""IP IDs judged by this machine's kernel (``ip_select_ident_segs``): a connected socket counts
its own from a random start; a packet that may not be fragmented and has no connected socket (a
SYN-ACK, a reset) has ID 0; a datagram that may be fragmented takes the host's.  ``ipidplay.py``
on loopback, watched by ``tcpdump -v``: each flow's IDs, as 0 or counted from the flow's first,
must be the kernel's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
from ipidplay import play
from loplay import lo_world

import tuxnet.socket as tux_socket
from tuxnet.tapnet import Netns, netns_unavailable
from tuxnet.trace.capture import Capture
from tuxnet.user import libc

pytestmark = pytest.mark.root

_PACKET = re.compile(r"id (\d+), .*?\n\s+127\.0\.0\.1\.(\d+) > 127\.0\.0\.1\.(\d+):")


def flows(text: str) -> dict[tuple[str, str], list[int]]:
    """Each flow's IP IDs in order: 0 as 0, the others counted from the flow's first one (+1)."""
    out: dict[tuple[str, str], list[int]] = {}
    first: dict[tuple[str, str], int] = {}
    for ident, sport, dport in _PACKET.findall(text):
        key = (sport if int(sport) < 32768 else "eph", dport if int(dport) < 32768 else "eph")
        value = int(ident)
        if value:
            first.setdefault(key, value)
            value = value - first[key] + 1
        out.setdefault(key, []).append(value)
    return out


def test_ip_ids_as_on_the_kernel():
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    ns = Netns(f"tuxnet-ipid-{os.getpid()}")
    try:
        dump = subprocess.Popen(ns.cmd("tcpdump", "-n", "-v", "-l", "-i", "lo"), stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        time.sleep(1.0)  # (tcpdump listening)
        ns.run(sys.executable, os.path.join(os.path.dirname(__file__), "ipidplay.py"))
        time.sleep(0.5)
        dump.terminate()
        linux = flows(dump.communicate(timeout=10)[0])
    finally:
        ns.close()
    world, host = lo_world()
    lines: list[str] = []
    Capture(host, "lo", tcpdump=lines.append, verbose=True)
    proc = host.spawn(tux_socket.stdlib(play), lambda: libc.sleep(0.05))
    world.run_until(lambda: not proc.alive)
    ours = flows("\n".join(lines))
    assert ours == linux
    assert ours[("7000", "eph")][0] == 0 and ours[("7001", "eph")] == [0]  # the SYN-ACK, the reset
    assert ours[("7100", "7101")] == [1, 2] and ours[("7102", "7101")] == [1, 2]
