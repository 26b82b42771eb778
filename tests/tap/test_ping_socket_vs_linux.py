"""Ping sockets (SOCK_DGRAM, IPPROTO_ICMP) judged by this machine's kernel: ``pingplay.py``'s
program, in a network namespace of our own and on a tuxnet host run with
``tuxnet.socket.stdlib``, must give the same outcomes, and without ``ping_group_range`` allowing
it neither may make one."""

from __future__ import annotations

import json
import os
import sys

import pytest
from loplay import lo_world, tuxnet_outcomes
from pingplay import play, play_errors, play_options

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


def test_an_icmp_error_about_an_echo_as_on_the_kernel():
    """Through a router with no route onward: the network-unreachable error reaches the socket
    that asked for errors (IP_RECVERR), with the echo request as its data and the router as the
    offender, and not the other."""
    from linuxnet import a_r_b

    from tuxnet.user.iproute import ip

    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    spaces: list[Netns] = []
    try:
        a, _r, _b = a_r_b(f"tuxnet-pingerr-{os.getpid()}", 1500, spaces)
        a.run("sysctl", "-qw", f"net.ipv4.ping_group_range={ALLOW_ROOT}")
        script = os.path.join(os.path.dirname(__file__), "pingplay.py")
        linux = json.loads(a.run(sys.executable, script, "errors").stdout)
    finally:
        for ns in spaces:
            ns.close()
    world = World(seed=1)  # the same A -- R -- B, of cables
    host_a, router, host_b = world.add_host("a"), world.add_router("r"), world.add_host("b")
    world.connect(host_a, router, a_addr="10.0.1.1/24", b_addr="10.0.1.254/24")
    world.connect(router, host_b, a_addr="10.0.3.254/24", b_addr="10.0.3.2/24")
    ip(host_a, "route add default via 10.0.1.254")
    host_a.sysctl.set("net.ipv4.ping_group_range", ALLOW_ROOT)
    proc = host_a.spawn(tux_socket.stdlib(play_errors), lambda: libc.sleep(0.2))
    world.run_until(lambda: not proc.alive, timeout=10**11)
    ours = json.loads(json.dumps(proc.result))
    assert ours == linux
    # ENETUNREACH from ICMP type 3 code 0, quoted by 10.0.1.254; the other socket saw nothing
    assert ours[3][5][:4] == [101, 2, 3, 0] and ours[3][6] == "10.0.1.254"
    assert ours[4:] == ["EAGAIN", "EAGAIN", 0, 0]


def test_raw_and_ping_socket_options_and_binds_as_on_the_kernel():
    """Both go through inet_sockraw_ops: bind and options reach the protocol's own (raw_bind,
    SOL_RAW's ICMP_FILTER), and a ping socket has none at SOL_RAW."""
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    ns = Netns(f"tuxnet-rawopt-{os.getpid()}")
    try:
        ns.run("sysctl", "-qw", f"net.ipv4.ping_group_range={ALLOW_ROOT}")
        script = os.path.join(os.path.dirname(__file__), "pingplay.py")
        linux = json.loads(ns.run(sys.executable, script, "options").stdout)
    finally:
        ns.close()
    world, host = lo_world()
    host.sysctl.set("net.ipv4.ping_group_range", ALLOW_ROOT)
    ours = tuxnet_outcomes(world, host, play_options)
    assert ours == linux
    assert ours[0][1:4] == ["00000000", None, "01000000"]  # the raw ICMP socket's filter
    assert ours[-1][1:3] == ["ENOPROTOOPT", "ENOTSUP"]  # none on a ping socket
