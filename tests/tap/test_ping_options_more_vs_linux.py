"""ping's -O (a line for each request still unanswered when the next goes), -D (the time of day
before each line) and -v with -4, where answers do not come: this machine's ping on A of an A --
R -- B of namespaces (B ignoring echo requests, or the TTL running out at R), and tuxnet's on the
same network of cables.  Both must print the same lines, time stamps and times aside, and exit
alike (1: no reply)."""

from __future__ import annotations

import os
import re

import pytest
from linuxnet import a_r_b

from tuxnet.tapnet import netns_unavailable
from tuxnet.user.iproute import ip
from tuxnet.user.programs.ping import ping_main
from tuxnet.world import World, secs

pytestmark = pytest.mark.root

VARYING = [(re.compile(r"\[\d+\.\d{6}\] "), "[T] "), (re.compile(r"time \d+ms"), "time Tms"),
           (re.compile(r"fd: \d+"), "fd: N")]
RUNS = (["-O", "-c", "3", "-i", "0.2", "-W", "0.5", "10.0.3.2"],
        ["-O", "-D", "-c", "2", "-i", "0.2", "-W", "0.5", "10.0.3.2"],
        ["-O", "-D", "-t", "1", "-c", "2", "-i", "0.2", "10.0.3.2"],
        ["-4", "-v", "-c", "1", "-W", "0.5", "10.0.3.2"])


def masked(text: str) -> str:
    for pattern, replacement in VARYING:
        text = pattern.sub(replacement, text)
    return text


def linux_runs() -> list[tuple[str, int]]:
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    spaces = []
    try:
        a, _, b = a_r_b(f"tuxnet-pom-{os.getpid()}", 1500, spaces)
        b.run("ip", "route", "add", "default", "via", "10.0.3.254")
        b.run("sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
        runs = []
        for args in RUNS:
            res = a.run("ping", *args, check=False, timeout=30)
            runs.append((masked(res.stderr + res.stdout if "-v" in args else res.stdout + res.stderr),
                         res.returncode))
        return runs
    finally:
        for ns in spaces:
            ns.close()


def tuxnet_runs() -> list[tuple[str, int]]:
    world = World(seed=1)
    host_a, router, host_b = world.add_host("a"), world.add_router("r"), world.add_host("b")
    world.connect(host_a, router, a_addr="10.0.1.1/24", b_addr="10.0.1.254/24")
    world.connect(router, host_b, a_addr="10.0.3.254/24", b_addr="10.0.3.2/24")
    ip(host_a, "route add default via 10.0.1.254")
    ip(host_b, "route add default via 10.0.3.254")
    host_b.sysctl.set("net.ipv4.icmp_echo_ignore_all", 1)
    runs = []
    for args in RUNS:
        before = len(host_a.output())
        proc = host_a.spawn(ping_main, args)
        world.run_until(lambda p=proc: not p.alive, timeout=secs(60))
        runs.append((masked(host_a.output()[before:]), proc.result if proc.exit_code == 0 else proc.exit_code))
    return runs


def test_outstanding_and_timestamps_as_iputils():
    linux = linux_runs()
    ours = tuxnet_runs()
    assert ours == linux
    assert ours[0][0].splitlines()[1:3] == ["no answer yet for icmp_seq=1", "no answer yet for icmp_seq=2"]
    assert "[T] From 10.0.1.254 icmp_seq=1 Time to live exceeded" in ours[2][0]
