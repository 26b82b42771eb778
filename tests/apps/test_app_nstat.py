"""``nstat`` against this machine's: the same pings between two namespaces and between two tuxnet
hosts, and what nstat prints after each (increments since the last run, then totals)."""

from __future__ import annotations

import os

import pytest

from tuxnet.user.nstat import nstat_main
from tuxnet.user.programs.ping import ping_main
from tuxnet.world import World

STEPS = [["nstat", "-n"], ["ping", "-c", "3", "-i", "0.2", "-q", "10.0.0.2"], ["nstat"],
         ["ping", "-c", "2", "-i", "0.2", "-q", "10.0.0.2"], ["nstat", "Icmp*", "Ip*Receives"],
         ["nstat", "-az", "IcmpMsg*", "IpInReceives", "IpExtInOctets", "IpExtOutOctets", "IpExtInNoECTPkts",
          "TcpActiveOpens"], ["nstat", "-s"], ["nstat", "-a", "Icmp*Echo*"]]


def kept(text: str, names: set[str]) -> str:
    """The lines of counters tuxnet keeps (Linux's also have IPv6's, which tuxnet has not)."""
    return "".join(line + "\n" for line in text.splitlines() if line == "#kernel" or line.split()[0] in names)


@pytest.mark.root
def test_nstat_prints_what_this_machines_does():
    from tuxnet.tapnet import netns_pair, netns_unavailable
    from tuxnet.user.nstat import counters

    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    a, b = netns_pair(f"tuxnet-nstat-{os.getpid()}", "10.0.0.1/24", "10.0.0.2/24")
    linux = []
    try:
        for step in STEPS:
            out = a.run(*step, check=False).stdout
            if step[0] == "nstat":
                linux.append(out)
    finally:
        a.close()
        b.close()
    world = World(seed=1)
    ta, tb = world.add_host("a"), world.add_host("b")
    world.connect(ta, tb, a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    ours = []
    for step in STEPS:
        before = len(ta.console)
        proc = ta.spawn(nstat_main if step[0] == "nstat" else ping_main, step[1:])
        world.run_until(lambda proc=proc: not proc.alive)
        if step[0] == "nstat":
            ours.append("".join(ta.console[before:]))
    names = {name for name, _ in counters(ta)}
    assert [kept(t, names) for t in linux] == ours
    assert "IcmpMsgInType0                  5                  0.0\n" in ours[3]
