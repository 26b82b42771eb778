"""IPv4 multicast judged by this machine's kernel: ``mcastplay.py``'s member and sender, in two
network namespaces of our own joined by a veth pair and on two tuxnet hosts joined by a cable,
must give the same outcomes, and the member's IGMP messages the same ``tcpdump -v`` lines: two
IGMPv3 reports on the join, the answer to the general query, two on the leave."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from mcastplay import PLAYS

import tuxnet.socket as tux_socket
from tuxnet.tapnet import Netns, netns_pair, netns_unavailable
from tuxnet.trace.capture import Capture
from tuxnet.user import libc
from tuxnet.user.iproute import ip
from tuxnet.user.programs import nettools
from tuxnet.world import World

pytestmark = pytest.mark.root

SCRIPT = os.path.join(os.path.dirname(__file__), "mcastplay.py")


def joined(lines: list[str]) -> list[str]:
    """tcpdump's lines, each packet's continuation joined to it."""
    out: list[str] = []
    for line in lines:
        if line.startswith(" ") and out:
            out[-1] += "\n" + line
        elif line.strip():
            out.append(line)
    return out


def linux_play() -> tuple[list, list, list[str], str]:
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    a, b = netns_pair(f"tuxnet-mcast-{os.getpid()}", "10.9.0.1/24", "10.9.0.2/24")
    try:
        def during(start: float) -> str:
            time.sleep(1.0)
            return b.run("ip", "maddr", "show").stdout + b.run("netstat", "-gn").stdout

        return kernel_plays(a, b, SCRIPT, "", "-v", during)
    finally:
        a.close()
        b.close()


def kernel_plays(a: Netns, b: Netns, script: str, play: str, verbose: str,
                 during: Callable[[float], str]) -> tuple[list, list, list[str], str]:
    """``script``'s member (``play`` + "member") on b and sender on a, under ``tcpdump -n
    VERBOSE`` on b's eth0 for IGMP; ``during(start)`` runs while they play, ``start`` the time they
    began.  Their outcomes, tcpdump's lines (each packet's continuation joined to it), and what
    ``during`` returned."""
    dump = subprocess.Popen(b.cmd("tcpdump", "-n", verbose, "-l", "-t", "-i", "eth0", "igmp"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # (tcpdump listening)
    start = time.monotonic()
    member = subprocess.Popen(b.cmd(sys.executable, script, f"{play}member"), stdout=subprocess.PIPE, text=True)
    sender = subprocess.Popen(a.cmd(sys.executable, script, f"{play}sender"), stdout=subprocess.PIPE, text=True)
    seen = during(start)
    outcomes = json.loads(member.communicate(timeout=30)[0]), json.loads(sender.communicate(timeout=30)[0])
    time.sleep(0.5)
    dump.terminate()
    return outcomes[0], outcomes[1], joined(dump.communicate(timeout=10)[0].splitlines()), seen


def tuxnet_play() -> tuple[list, list, list[str], str]:
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, a_addr="10.9.0.1/24", b_addr="10.9.0.2/24")
    lines: list[str] = []
    cap = Capture(b, "eth0", tcpdump=lines.append, verbose=1)
    start = world.now

    def sleep_until(at: float) -> None:
        libc.sleep(max(0.0, start / 1e9 + at - libc.clock_monotonic()))

    member = b.spawn(tux_socket.stdlib(PLAYS["member"]), sleep_until)
    sender = a.spawn(tux_socket.stdlib(PLAYS["sender"]), sleep_until)
    world.run_for(10**9)
    groups = b.spawn(nettools.netstat, ["-gn"])
    world.run_until(lambda: not groups.alive)
    maddr = ip(b, "maddr show") + b.output()
    return (*play_ends(world, member, sender, cap, lines), maddr)


def play_ends(world: World, member: Any, sender: Any, cap: Capture, lines: list[str]) -> tuple[list, list, list[str]]:
    """Once the member and the sender are done: what each returned (as JSON gives it back) and the
    IGMP packets of the capture's lines, each with its continuation, the time taken off."""
    world.run_until(lambda: not member.alive and not sender.alive, timeout=10**11)
    cap.close()
    igmp = [line.split(" ", 1)[1] for line in joined("\n".join(lines).splitlines()) if "proto IGMP" in line]
    return json.loads(json.dumps(member.result)), json.loads(json.dumps(sender.result)), igmp


def test_multicast_as_on_the_kernel():
    linux = linux_play()
    ours = tuxnet_play()
    assert ours[:2] == linux[:2]
    # ip maddr and netstat -gn: the group's MAC address and the groups, on lo and eth0 (tuxnet has
    # no IPv6, whose groups and their 33:33 addresses the kernel lists too)
    ipv4 = [line for line in linux[3].splitlines() if line and "inet6" not in line and "33:33:" not in line
            and "::" not in line]
    assert ours[3].splitlines() == ipv4
    mine = [line for line in linux[2] if "\n    10.9.0.2 >" in line]
    assert [line for line in ours[2] if "\n    10.9.0.2 >" in line] == mine
    member = ours[0]
    assert ["read", "to the group", "10.9.0.1"] in member and ["join", None] in member
    assert [line.split(": ", 1)[1] for line in mine] == [
        "igmp v3 report, 1 group record(s) [gaddr 239.1.1.1 to_ex, 0 source(s)]"] * 2 + [
        "igmp v3 report, 1 group record(s) [gaddr 239.1.1.1 is_ex, 0 source(s)]"] + [
        "igmp v3 report, 1 group record(s) [gaddr 239.1.1.1 to_in, 0 source(s)]"] * 2
