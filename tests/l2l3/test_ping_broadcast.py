"""ping -b on a switched LAN, with the lines this machine's iputils ping printed for the same on a
Linux bridge of three namespaces: a broadcast address refused without -b; with it, a warning,
every host's reply, the second one of a probe counted as a duplicate but not marked (DUP!), and
ping done once each probe has had a reply; and no warning for an address that is not a broadcast."""

from __future__ import annotations

import re

from netlab import lan, run

from tuxnet.user.programs.ping import ping_main

TIME = re.compile(r"time=\d+\.\d+ ms|= [\d./]+ ms|time \d+ms")


def ping(args: list[str], ignore_broadcasts: int = 0) -> tuple[int | None, list[str], list]:
    world, hosts, _ = lan(3)
    for h in hosts[1:]:
        h.sysctl["net.ipv4.icmp_echo_ignore_broadcasts"] = ignore_broadcasts
    rc = run(world, hosts[0], ping_main, args)
    return rc, [TIME.sub("T", line) for line in hosts[0].output().splitlines()], hosts


def test_a_broadcast_address_needs_b():
    rc, lines, hosts = ping(["-c", "2", "10.0.0.255"])
    assert lines == ["ping: Do you want to ping broadcast? Then -b. If not, check your local firewall rules"]
    assert all(h.mib.Icmp["InEchos"] == 0 for h in hosts)


def test_every_host_answers_a_broadcast():
    rc, lines, hosts = ping(["-b", "-c", "2", "10.0.0.255"])
    assert rc == 0
    assert lines == ["WARNING: pinging broadcast address",
                     "PING 10.0.0.255 (10.0.0.255) 56(84) bytes of data.",
                     "64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 T",
                     "64 bytes from 10.0.0.3: icmp_seq=1 ttl=64 T",
                     "64 bytes from 10.0.0.2: icmp_seq=2 ttl=64 T",
                     "", "--- 10.0.0.255 ping statistics ---",
                     "2 packets transmitted, 2 received, +1 duplicates, 0% packet loss, T",
                     "rtt min/avg/max/mdev T"]
    assert [h.mib.Icmp["OutEchoReps"] for h in hosts[1:]] == [2, 2]


def test_hosts_that_ignore_broadcasts_count_errors():
    rc, lines, hosts = ping(["-b", "-c", "1", "-W", "1", "10.0.0.255"], ignore_broadcasts=1)
    assert rc == 1 and "1 packets transmitted, 0 received, 100% packet loss, T" in lines
    assert [(h.mib.Icmp["InEchos"], h.mib.Icmp["InErrors"], h.mib.Icmp["OutEchoReps"]) for h in hosts[1:]] == \
        [(1, 1, 0), (1, 1, 0)]


def test_b_to_a_unicast_address_warns_of_nothing():
    rc, lines, _ = ping(["-b", "-c", "1", "10.0.0.2"])
    assert rc == 0 and lines[0] == "PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data."
