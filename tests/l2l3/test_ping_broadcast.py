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


def test_the_statistics_count_every_reply():
    """``gather_statistics`` counts a duplicate's round trip as it counts the first reply's: the
    slowest host's reply is the maximum, and the average is over received + duplicates."""
    world, hosts, _ = lan(3)
    for h in hosts[1:]:
        h.sysctl["net.ipv4.icmp_echo_ignore_broadcasts"] = 0
    run(world, hosts[0], ping_main, ["-b", "-c", "3", "10.0.0.255"])
    out = hosts[0].output()
    times = [round(float(t) * 1000) for t in re.findall(r"time=(\d+\.\d+) ms", out)]
    assert "3 received, +2 duplicates" in out and len(times) == 5
    assert (min(times), sum(times) // 5, max(times)) == (235, 328, 468)
    # mdev: (tsum2 - tsum * tsum / 5) / 5 = (599245 - 538576) / 5 = 12133 us^2, whose root is 110 us
    assert "rtt min/avg/max/mdev = 0.235/0.328/0.468/0.110 ms" in out


def test_small_round_trips_keep_their_deviation_as_iputils_computes_it():
    """finish()'s "slightly clumsy computation order": 30 and 31 us give a variance of
    (1861 - 3721 / 2) / 2 = 0, so mdev 0.000 (tsum2 / n - avg^2 would give 30 us^2, 0.005 ms)."""
    from tuxnet.user.programs.ping import PingStats, _summary
    from tuxnet.world import World

    h = World().add_host("h")
    stats = PingStats(transmitted=2, received=2, rtts=[30, 31])
    proc = h.spawn(lambda argv: _summary("x", stats, 1_000_000_000, 1.0), [])
    h.world.run_until(lambda: not proc.alive)
    assert "rtt min/avg/max/mdev = 0.030/0.030/0.031/0.000 ms" in h.output()
