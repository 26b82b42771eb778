"""Ping sockets (SOCK_DGRAM, IPPROTO_ICMP) judged by this machine's kernel: ``pingplay.py``'s
program, in a network namespace of our own and on a tuxnet host run with
``tuxnet.socket.stdlib``, must give the same outcomes, and without ``ping_group_range`` allowing
it neither may make one."""

from __future__ import annotations

import json
import os
import sys

import pytest
from pingplay import play

import tuxnet.socket as tux_socket
from tuxnet.tapnet import Netns, netns_unavailable
from tuxnet.user import libc
from tuxnet.world import World

pytestmark = pytest.mark.root

ALLOW_ROOT = "0 2147483647"
MAKE_ONE = ("import socket\ntry:\n    socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)\n"
            "    print('made')\nexcept OSError as e:\n    print(e.errno)")


def linux_play() -> tuple[str, list]:
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    ns = Netns(f"tuxnet-ping-{os.getpid()}")
    try:
        refused = ns.run(sys.executable, "-c", MAKE_ONE).stdout.strip()
        ns.run("sysctl", "-qw", f"net.ipv4.ping_group_range={ALLOW_ROOT}")
        script = os.path.join(os.path.dirname(__file__), "pingplay.py")
        return refused, json.loads(ns.run(sys.executable, script).stdout)
    finally:
        ns.close()


def tuxnet_play() -> tuple[str, list]:
    world = World(seed=1)
    host = world.add_host("h")
    host.dev_open("lo")
    host.ip_addr_add("lo", "127.0.0.1/8")

    def make_one() -> str:
        try:
            tux_socket.socket(tux_socket.AF_INET, tux_socket.SOCK_DGRAM, tux_socket.IPPROTO_ICMP)
        except OSError as e:
            return str(e.errno)
        return "made"

    refused = host.spawn(make_one)
    world.run_until(lambda: not refused.alive)
    host.sysctl.set("net.ipv4.ping_group_range", ALLOW_ROOT)
    proc = host.spawn(tux_socket.stdlib(play), lambda: libc.sleep(0.01))
    world.run_until(lambda: not proc.alive, timeout=10**11)
    return refused.result, json.loads(json.dumps(proc.result))


def test_ping_sockets_as_on_the_kernel():
    linux = linux_play()
    ours = tuxnet_play()
    assert ours == linux
    refused, outcomes = ours
    assert refused == "13"  # EACCES: ping_group_range is "1 0" by default
    assert ["reply", ["0000", True, "00016162636465666768", ["127.0.0.1", 0]]] in outcomes
    assert ["not an echo", "EINVAL"] in outcomes and ["broadcast", "EACCES"] in outcomes
