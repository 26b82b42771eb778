"""``ifconfig`` changing an interface, against this machine's net-tools 2.10 and kernel: the same
commands, one after another, in a network namespace of our own and on a tuxnet host (an address
by itself and with a prefix, its netmask and broadcast address, an alias made and taken down, the
MTU, the flags: up, down, arp, promisc, allmulti; a MAC address; and the refusals: no such
device, an MTU or netmask the kernel refuses, a name that is no address, a missing value).  After
each, ifconfig's words and exit status, the addresses and routes ``ip`` shows, and the
interface's flag, address and link lines must be the kernel's."""

from __future__ import annotations

import re

import pytest
from test_proc_files import linux_pair, run_program, tuxnet_lan

from tuxnet.user.iproute import ip_main
from tuxnet.user.programs.nettools import ifconfig

pytestmark = pytest.mark.root

STEPS = [
    ["eth0", "10.0.5.1"],
    ["eth0", "netmask", "255.255.255.0"],
    ["eth0", "broadcast", "10.0.5.127"],
    ["eth0", "192.168.7.9", "netmask", "255.255.255.128", "broadcast", "192.168.7.255", "mtu", "1400", "up"],
    ["eth0", "down"],
    ["eth0", "up"],
    ["eth0", "-arp"],
    ["eth0", "arp", "promisc", "allmulti"],
    ["eth0", "-promisc", "-allmulti"],
    ["eth0:1", "10.9.9.9"],
    ["eth0:1", "netmask", "255.255.0.0"],
    ["eth0:1", "down"],
    ["eth0:2", "172.16.1.1"],
    ["eth0:2", "0.0.0.0"],
    ["eth9", "up"],
    ["eth9", "10.1.1.1"],
    ["eth0", "mtu", "20"],
    ["eth0", "mtu", "70000"],
    ["eth0", "netmask", "255.0.255.0"],
    ["eth0", "10.0.0.300"],
    ["eth0", "mtu"],
    ["eth0", "224.1.1.1"],
    ["eth0", "10.0.0.1/24"],
    ["eth0", "inet", "10.0.0.1", "netmask", "255.255.0.0"],
    ["eth0", "hw", "ether", "02:00:00:00:00:77"],
    ["eth0", "hw", "ether", "01:00:00:00:00:77"],
    ["eth0", "0.0.0.0"],
    ["eth0", "10.0.0.1", "netmask", "255.255.255.0", "broadcast", "10.0.0.255"],
]
SHOW = [["-4", "-o", "addr", "show", "dev", "eth0"], ["route", "show"]]
# ifconfig's lines of the interface that say what the steps change (its counters differ: a veth
# counts a frame's bytes as given, tuxnet's Ethernet pads them)
KEPT = re.compile(r"^(eth0\S*: flags|        inet |        ether )")


def shown(ip_out: str, ifconfig_out: str) -> str:
    """What ``ip`` and ``ifconfig eth0`` showed, without the addresses' lifetimes."""
    ip_text = re.sub(r"\\\s+valid_lft.*", "", ip_out)
    return ip_text + "".join(line for line in ifconfig_out.splitlines(keepends=True) if KEPT.match(line))


def test_ifconfig_changes_an_interface_as_on_the_kernel():
    linux = []
    with linux_pair() as ns:
        for step in STEPS:
            done = ns.run("ifconfig", *step, check=False)
            ip_out = "".join(ns.run("ip", *args).stdout for args in SHOW)
            linux.append((step, done.returncode, done.stdout + done.stderr,
                          shown(ip_out, ns.run("ifconfig", "eth0").stdout)))
    world, h1 = tuxnet_lan()
    ours = []
    for step in STEPS:
        status, out = run_program(world, h1, ifconfig, step)
        ip_out = "".join(run_program(world, h1, ip_main, args)[1] for args in SHOW)
        ours.append((step, status, out, shown(ip_out, run_program(world, h1, ifconfig, ["eth0"])[1])))
    for mine, theirs in zip(ours, linux, strict=True):
        assert mine == theirs
    # what the comparison saw: an alias's own address, the flags the user set, a new MAC address,
    # and the refusals in net-tools' words
    states = "".join(state for *_, state in ours)
    words = "".join(out for _, _, out, _ in ours)
    assert "inet 10.9.9.9/8 brd 10.255.255.255 scope global eth0:1" in states
    assert "<UP,BROADCAST,RUNNING,PROMISC,ALLMULTI,MULTICAST>" in states and "ether 02:00:00:00:00:77" in states
    for refusal in ("eth9: ERROR while getting interface flags: No such device", "SIOCSIFMTU: Invalid argument",
                    "SIOCSIFNETMASK: Invalid argument", "10.0.0.300: Unknown host", "SIOCSIFADDR: Invalid argument",
                    "SIOCSIFHWADDR: Cannot assign requested address"):
        assert refusal in words
