"""ping's IP options across a TAP device: this machine's ``ping -R`` and ``ping -T`` against a
tuxnet host, which must fill its slots and echo the options as Linux does, and tuxnet's ping
against this machine's kernel, which must print what iputils prints."""

from __future__ import annotations

import re

import pytest

from tuxnet.user.programs.ping import ping_main

pytestmark = pytest.mark.root

TIME = re.compile(r"time=\d+(\.\d+)? ms")
STAMP = re.compile(r"\t\d+( absolute)?")


def route_block(out: str, head: str) -> list[str]:
    """The entries of the first ``RR:``/``TS:`` block ping printed, one per line, tabs stripped."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(head))
    block = [lines[start][len(head):]]
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        block.append(line)
    return [b.strip("\t") for b in block]


def test_linux_ping_records_the_route_through_tuxnet(tap_pair):
    p = tap_pair
    proc = p.ns.popen("ping", "-R", "-c", "2", "-i", "0.2", "-W", "2", p.tux_ip)
    out, err = p.run_until_exit(proc, timeout=10)
    assert proc.returncode == 0, out + err
    assert f"PING {p.tux_ip} ({p.tux_ip}) 56(124) bytes of data." in out
    # Linux's slot going out, ours on arrival and again for the reply, Linux's on arrival
    assert route_block(out, "RR: ") == [p.linux_ip, p.tux_ip, p.tux_ip, p.linux_ip]
    assert "icmp_seq=2 ttl=64" in out and "(same route)" in out
    assert p.host.mib.Icmp["OutEchoReps"] == 2


def test_linux_ping_timestamps_through_tuxnet(tap_pair):
    p = tap_pair
    proc = p.ns.popen("ping", "-T", "tsandaddr", "-c", "1", "-W", "2", p.tux_ip)
    out, err = p.run_until_exit(proc, timeout=10)
    assert proc.returncode == 0, out + err
    entries = route_block(out, "TS: ")
    assert [e.split("\t")[0] for e in entries] == [p.linux_ip, p.tux_ip, p.tux_ip, p.linux_ip]
    assert entries[0].endswith(" absolute")


@pytest.mark.parametrize("options", [["-R"], ["-T", "tsonly"], ["-T", "tsandaddr"]])
def test_tuxnet_ping_prints_the_options_as_iputils_does(tap_pair, options):
    """The same ping, ours from the tuxnet host and this machine's from the namespace, each to
    the other: the same lines, the addresses swapped, times and stamps aside."""
    p = tap_pair
    proc = p.host.spawn(ping_main, [*options, "-c", "2", "-i", "0.2", p.linux_ip])
    p.world.run_until(lambda: not proc.alive, timeout=int(10e9))
    assert proc.result == 0
    ours = p.host.output()
    linux = p.ns.popen("ping", *options, "-c", "2", "-i", "0.2", "-W", "2", p.tux_ip)
    theirs, err = p.run_until_exit(linux, timeout=10)
    assert linux.returncode == 0, theirs + err

    def masked(out: str, me: str, peer: str) -> list[str]:
        out = out.replace(me, "ME").replace(peer, "PEER")
        return [STAMP.sub("\tT", TIME.sub("time=X ms", line)) for line in out.splitlines()
                if not line.startswith("rtt ") and " packets transmitted" not in line]

    assert masked(ours, p.tux_ip, p.linux_ip) == masked(theirs, p.linux_ip, p.tux_ip)
    if options == ["-R"]:
        assert route_block(ours, "RR: ") == [p.tux_ip, p.linux_ip, p.linux_ip, p.tux_ip]
