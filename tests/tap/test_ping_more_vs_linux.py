"""ping's ``-I``, its refused connect(), ``-M do`` past the MTU, and ``-f``, judged by this
machine's iputils ping: the same command, ours on the tuxnet host towards the namespace and
this machine's in the namespace towards the tuxnet host, must print the same lines (addresses,
device names and times aside) and exit alike.  This machine's ping writes its errors to stderr;
ours has one console, so its lines must be the two streams, each in its order."""

from __future__ import annotations

import re

import pytest

from tuxnet.user.programs.ping import ping_main

pytestmark = pytest.mark.root

VARYING = [(re.compile(r"time=\d+(\.\d+)? ms"), "time=X ms"), (re.compile(r"time \d+ms"), "time Xms"),
           (re.compile(r"(rtt min/avg/max/mdev|ipg/ewma) [\d./= ]+ ms"), r"\1 X ms")]


def masked(text: str, names: dict[str, str]) -> list[str]:
    for real, name in names.items():
        text = text.replace(real, name)
    for pattern, replacement in VARYING:
        text = pattern.sub(replacement, text)
    return text.splitlines()


def both(p, argv: list[str]) -> tuple[tuple[list[str], int], tuple[list[str], list[str], int]]:
    """Ours (its lines, its status) and this machine's (stdout's lines, stderr's, its status),
    ``PEER`` standing for the other side's address and ``DEV`` for each side's device."""
    proc = p.host.spawn(ping_main, [arg.replace("PEER", p.linux_ip).replace("DEV", "eth0").replace("ME", p.tux_ip)
                                    for arg in argv])
    p.world.run_until(lambda: not proc.alive, timeout=int(30e9))
    assert not proc.alive
    status = proc.result if proc.exit_code == 0 else proc.exit_code
    ours = masked(p.host.output(), {p.linux_ip: "PEER", p.tux_ip: "ME", "eth0": "DEV"})
    linux = p.ns.popen("ping", *[arg.replace("PEER", p.tux_ip).replace("DEV", p.ifname).replace("ME", p.linux_ip)
                                 for arg in argv])
    out, err = p.run_until_exit(linux, timeout=30)
    names = {p.tux_ip: "PEER", p.linux_ip: "ME", p.ifname: "DEV"}
    return (ours, status), (masked(out, names), masked(err, names), linux.returncode)


def assert_alike(ours: tuple[list[str], int], theirs: tuple[list[str], list[str], int]) -> None:
    lines, status = ours
    out, err, returncode = theirs
    assert status == returncode, (lines, out, err)
    assert [line for line in lines if line in err] == err, (lines, err)
    assert [line for line in lines if line not in err] == out, (lines, out)


@pytest.mark.parametrize("argv", [
    ["-I", "DEV", "-c", "2", "-i", "0.2", "PEER"],       # SO_BINDTODEVICE: "from ME DEV:"
    ["-I", "ME", "-c", "2", "-i", "0.2", "PEER"],        # a source address: "from ME :"
    ["-I", "nosuchdev0", "-c", "1", "PEER"],             # SO_BINDTODEVICE nosuchdev0: No such device
    ["-I", "10.251.7.9", "-c", "1", "PEER"],             # bind: Cannot assign requested address
    ["-c", "2", "10.251.7.9"],                           # connect: Network is unreachable
    ["-M", "do", "-s", "1473", "-c", "2", "-i", "0.2", "PEER"],  # local error: message too long, mtu=1500
    ["-M", "do", "-s", "1473", "-c", "2", "-i", "0.2", "-q", "PEER"],  # quiet: not counted
    ["-M", "do", "-s", "1473", "-w", "2", "PEER"],       # an error ends a deadline's run
    ["-M", "do", "-s", "1472", "-c", "1", "PEER"],       # 1500 octets: it goes
    ["-f", "-c", "5", "PEER"],                           # a flood: dots, backspaces, ipg/ewma
    ["-f", "-c", "3", "-i", "0.2", "PEER"],              # a flood with an interval
    ["-f", "-M", "do", "-s", "1473", "-c", "2", "PEER"],  # a flood's local errors: E
    ["-f", "-q", "-c", "3", "PEER"],
])
def test_ping_prints_what_iputils_prints(tap_pair, argv):
    ours, theirs = both(tap_pair, argv)
    assert_alike(ours, theirs)
