"""``ifconfig`` and ``netstat -i`` against this machine's net-tools 2.10: the same addresses (two
of them labelled as aliases, ``eth0:1`` and ``eth0:2``), the same traffic (on the veth's ``eth0``
and on ``lo``), then ``eth0`` down, in a network namespace of our own and on a tuxnet host, every
form a user types (all interfaces, ``-a``, ``-s``, one interface or alias, one that does not
exist, an unknown option; ``netstat -i``, ``-ia``, ``-ie``), the outputs and exit statuses
compared byte for byte."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
from test_proc_files import linux_pair, run_program, tuxnet_lan

import tuxnet.socket as tux_socket
from tuxnet.user import libc
from tuxnet.user.iproute import ip
from tuxnet.user.programs.nettools import ifconfig, netstat

pytestmark = pytest.mark.root

# tuxnet's lan gives its hosts' addresses the subnet's broadcast address (as ifupdown configures
# one); the namespace's address is given the same (added again: a replace keeps the broadcast)
LINUX_BROADCAST = ["addr del 10.0.0.1/24 dev eth0", "addr add 10.0.0.1/24 brd + dev eth0"]
# two aliases, a second address of eth0's own, and a second address on lo
SETUP = ["addr add 10.0.1.1/24 brd + label eth0:1 dev eth0",
         "addr add 192.0.2.1/28 label eth0:2 dev eth0",
         "addr add 10.0.2.1/24 brd + dev eth0",
         "addr add 127.0.0.2/8 label lo:1 dev lo"]

PLAY = r'''
import socket, time


def play(sleep):
    """Two datagrams to a closed port of 10.0.0.2: an ARP exchange, and an ICMP error back for
    each; the second of 1200 bytes, so that eth0's counts run into KiB."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b"x" * 10, ("10.0.0.2", 9))
    sleep()
    u.sendto(b"y" * 1200, ("10.0.0.2", 9))
    sleep()


if __name__ == "__main__":
    play(lambda: time.sleep(0.2))
'''

IFCONFIG_ARGS = [[], ["-a"], ["-s"], ["-a", "-s"], ["-v", "-a"], ["eth0"], ["eth0:1"], ["eth0:2"], ["lo"],
                 ["lo:1"], ["eth0:7"], ["-s", "eth0:1"], ["eth9"], ["-x"], ["-as"], ["-V"]]
NETSTAT_ARGS = [["-i"], ["-ia"], ["-ie"], ["-iea"], ["-i", "-e", "-e"]]
COMMANDS: list[tuple[Callable[[list[str]], int], list[str]]] = \
    [(ifconfig, args) for args in IFCONFIG_ARGS] + [(netstat, args) for args in NETSTAT_ARGS]

# A veth counts a frame's bytes as given; tuxnet's Ethernet pads a frame to 60 octets, as a NIC
# puts it on the wire: the ARP request and the short datagram out (42 and 52 octets on the veth),
# the ARP reply in (42) are 60 each; the rest are over 60 either way (tests/apps/test_proc_files.py)
VETH_BYTES = {"RX packets 3  bytes 712 (712.0 B)": "RX packets 3  bytes 730 (730.0 B)",
              "TX packets 3  bytes 1336 (1.3 KiB)": "TX packets 3  bytes 1362 (1.3 KiB)"}


def normalised(out: str) -> str:
    """The namespace's output as tuxnet's host would give it: its eth0's byte counts padded; and
    without ``inet6`` lines (tuxnet has no IPv6; the namespace has it off, but ifconfig would list
    any address /proc/net/if_inet6 held)."""
    for veth, ethernet in VETH_BYTES.items():
        out = out.replace(veth, ethernet)
    return "".join(line for line in out.splitlines(keepends=True) if not line.startswith("        inet6 "))


def test_ifconfig_and_netstat_i_as_net_tools_prints_them():
    linux: list[tuple[Any, ...]] = []
    with linux_pair() as ns:
        for command in [*LINUX_BROADCAST, *SETUP]:
            ns.run("ip", *command.split())
        ns.run(sys.executable, "-c", PLAY)
        for state in ("up", "down"):
            ns.run("ip", "link", "set", "eth0", state)
            for fn, args in COMMANDS:
                # a tuxnet program writes its complaints to its console with the rest
                theirs = ns.run(fn.__name__, *args, check=False)
                linux.append((state, fn.__name__, args, theirs.returncode, normalised(theirs.stdout + theirs.stderr)))
    world, h1 = tuxnet_lan()
    for command in SETUP:
        ip(h1, command)
    namespace: dict[str, Any] = {}
    exec(PLAY, namespace)  # noqa: S102  (the same play, on tuxnet's socket module)
    proc = h1.spawn(tux_socket.stdlib(namespace["play"]), lambda: libc.sleep(0.2))
    world.run_until(lambda: not proc.alive, timeout=10**11)
    ours: list[tuple[Any, ...]] = []
    for state in ("up", "down"):
        ip(h1, f"link set eth0 {state}")
        for fn, args in COMMANDS:
            status, out = run_program(world, h1, fn, args)
            ours.append((state, fn.__name__, args, status, out))
    for mine, theirs in zip(ours, linux, strict=True):
        assert (*mine[:4], mine[4].splitlines()) == (*theirs[:4], theirs[4].splitlines())
        assert mine[4] == theirs[4]
    # what the comparison saw: the 2.10 layout, the aliases, lo's traffic in KiB, a down eth0
    text = "".join(out for *_, out in ours)
    assert "eth0:1: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500\n" \
           "        inet 10.0.1.1  netmask 255.255.255.0  broadcast 10.0.1.255\n" in text
    assert "eth0:1           1500      - no statistics available -                        BMRU\n" in text
    assert "KiB)" in text and "eth0: flags=4098<BROADCAST,MULTICAST>  mtu 1500\n" in text
    assert "eth9: error fetching interface information: Device not found\n" in text
