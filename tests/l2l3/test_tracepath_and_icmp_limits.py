"""tracepath across two routers, and the ICMP rate limits it meets: the path MTU learnt hop by hop
from the error queue, an unreachable network and host, the errors of its command line; time
exceeded limited to a burst of six a peer (icmpv4_xrlim_allow), fragmentation needed never, and
every limited type to the host's budget of icmp_msgs_per_sec (icmp_global_allow); and what
icmp_rcv counts as errors (a request to a broadcast address, a type it does not know)."""

from __future__ import annotations

import re

from netlab import lan, run, two_routers

from tuxnet.net.core.checksum import csum_fold, csum_partial
from tuxnet.net.core.sock import SO_BROADCAST, SOL_SOCKET
from tuxnet.net.ipv4.af_inet import IP_MTU_DISCOVER, IP_PMTUDISC_DONT, IP_TTL, IPPROTO_IP
from tuxnet.net.socket import AF_INET, SOCK_DGRAM, SOCK_RAW
from tuxnet.user import libc
from tuxnet.user.programs.tracepath import tracepath_main
from tuxnet.world import secs

HOP = re.compile(r"^ ?(\d+)(\?)?: {1,2}(\S+) +(\d+\.\d{3})ms (.*)$")


def trace(world, host, args: list[str]) -> tuple[int, list[str]]:
    before = len(host.output())
    rc = run(world, host, tracepath_main, args)
    return rc, host.output()[before:].splitlines()


def test_tracepath_finds_the_path_mtu_hop_by_hop():
    world, n = two_routers(middle_mtu=1000)
    rc, lines = trace(world, n["a"], ["-n", "10.0.3.2"])
    assert rc == 0
    # the first probe (65,535 octets) is refused at home: the route's MTU
    assert lines[0] == " 1?: [LOCALHOST]                      pmtu 1500"
    hops = [HOP.match(line).groups() for line in lines[1:-1]]
    assert [(h[0], h[2], h[4]) for h in hops] == [
        ("1", "10.0.1.254", ""), ("1", "10.0.1.254", ""),   # hop 1, then again with the new MTU
        ("2", "10.0.1.254", "pmtu 1000"),                     # r1 cannot send 1,500 onward
        ("2", "10.0.2.2", ""), ("3", "10.0.3.2", "reached")]
    # the times are the round trips of each probe: 1,472 octets out, the error back
    assert 2.0 < float(hops[3][3]) < 6.0
    assert lines[-1] == "     Resume: pmtu 1000 hops 3 back 3 "
    # the route remembers: the next run starts from 1000
    rc, lines = trace(world, n["a"], ["-n", "-l", "900", "10.0.3.2"])
    assert not lines[0].startswith(" 1?: [LOCALHOST]"), "900 octets fit"
    assert lines[-1] == "     Resume: pmtu 900 hops 3 back 3 "


def test_tracepath_unreachable_network_and_host():
    world, n = two_routers()
    rc, lines = trace(world, n["a"], ["-n", "10.0.9.9"])
    assert rc == 0 and lines[1].endswith("ms !N") and lines[-1] == "     Resume: pmtu 1500 "
    # a host that does not answer ARP on b's link: three probes of a second each go unanswered,
    # then r2's host unreachable, three seconds late, names the probe's hop
    rc, lines = trace(world, n["a"], ["-n", "10.0.3.99"])
    assert " 3:  no reply" in lines
    assert re.match(r"^ 3:  10\.0\.2\.2 +300\d\.\d{3}ms !H$", lines[-2])


def test_tracepath_command_line_errors():
    world, n = two_routers()
    assert trace(world, n["a"], ["-x"])[1][0] == "tracepath: invalid option -- 'x'"
    rc, lines = trace(world, n["a"], [])
    assert rc == 255 and lines[1] == "Usage"
    assert trace(world, n["a"], ["-l", "10", "10.0.3.2"]) == (
        1, ["tracepath: pktlen must be within: 28 < value <= 2147483647"])
    assert trace(world, n["a"], ["-m", "300", "10.0.3.2"]) == (
        1, ["tracepath: invalid argument: '300': out of range: 0 <= value <= 255"])
    assert trace(world, n["a"], ["-p", "x", "10.0.3.2"]) == (1, ["tracepath: invalid argument: 'x'"])
    assert trace(world, n["a"], ["no.such.host"]) == (1, ["tracepath: no.such.host: Name or service not known"])
    assert trace(world, n["a"], ["-V"]) == (0, ["tracepath from iputils 20221126",
        "libcap: yes, IDN: yes, NLS: no, error.h: yes, getrandom(): yes, __fpending(): yes"])
    rc, lines = trace(world, n["a"], ["-n", "-m", "0", "10.0.3.2"])
    assert lines == ["     Too many hops: pmtu 65535", "     Resume: pmtu 65535 "]


def test_time_exceeded_is_rate_limited_fragmentation_needed_is_not():
    """Ten datagrams in a burst: r1 answers six with time exceeded (a token a second, six at most,
    as a new peer's bucket starts full) and counts the rest in OutRateLimitHost; ten too big for
    the next link each get fragmentation needed ("don't limit PMTU discovery")."""
    world, n = two_routers(middle_mtu=1000)
    r1 = n["r1"]

    def burst(ttl: int, size: int) -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.setsockopt(fd, IPPROTO_IP, IP_TTL, ttl)
        if size > 1000:
            libc.setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, 2)  # IP_PMTUDISC_DO: DF on
        else:
            libc.setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
        for _ in range(10):
            libc.sendto(fd, bytes(size), 0, ("10.0.3.2", 9))
        libc.sleep(0.1)
        libc.close(fd)

    run(world, n["a"], burst, 1, 100)
    assert r1.mib.Icmp["OutTimeExcds"] == 6 and r1.mib.Icmp["OutRateLimitHost"] == 4
    world.run_for(secs(2))  # two tokens back
    run(world, n["a"], burst, 1, 100)
    assert r1.mib.Icmp["OutTimeExcds"] == 8
    run(world, n["a"], burst, 64, 1400)
    assert r1.mib.IcmpMsg["OutType3"] == 10, "every fragmentation needed went"


def test_the_host_budget_limits_icmp_errors_to_anyone():
    """icmp_global_allow: with the per-peer limit off (icmp_ratelimit 0), 200 datagrams to a
    closed port in a burst draw about icmp_msgs_burst (50) port unreachables, each taking 0-2
    credits; the rest count in OutRateLimitGlobal.  A second later the budget is full again."""
    world, n = two_routers()
    b = n["b"]
    b.sysctl.set("net.ipv4.icmp_ratelimit", 0)

    def burst() -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        for _ in range(200):
            libc.sendto(fd, b"x", 0, ("10.0.3.2", 9))
        libc.sleep(0.05)
        libc.close(fd)

    for round in (1, 2):
        before = b.mib.Icmp["OutDestUnreachs"]
        run(world, n["a"], burst)
        sent = b.mib.Icmp["OutDestUnreachs"] - before
        assert 30 <= sent <= 90, sent
        assert b.mib.Icmp["OutDestUnreachs"] + b.mib.Icmp["OutRateLimitGlobal"] == 200 * round
        world.run_for(secs(1))
    b.sysctl.set("net.ipv4.icmp_msgs_per_sec", 0)
    before = b.mib.Icmp["OutDestUnreachs"]
    run(world, n["a"], burst)
    # no credit a second: only what the budget still held goes (here nothing: it was spent)
    assert b.mib.Icmp["OutDestUnreachs"] - before <= b.sysctl["net.ipv4.icmp_msgs_burst"]


def _icmp(type: int, body: bytes) -> bytes:
    message = bytes((type, 0, 0, 0)) + bytes(4) + body
    return message[:2] + csum_fold(csum_partial(message)).to_bytes(2, "big") + message[4:]


def _send_icmp(messages: list[tuple[bytes, str]]) -> None:
    fd = libc.socket(AF_INET, SOCK_RAW, 1)
    libc.setsockopt(fd, SOL_SOCKET, SO_BROADCAST, 1)
    for message, addr in messages:
        libc.sendto(fd, message, 0, (addr, 0))
    libc.close(fd)


def test_icmp_to_a_broadcast_and_of_unknown_type_are_errors():
    # what this machine's kernel counted for the same five messages across a veth pair: an echo
    # and a timestamp request to the broadcast address, ignored (icmp_echo_ignore_broadcasts); a
    # destination unreachable to it; a message of type 40 to the host
    world, (h1, h2), _ = lan(2)
    run(world, h1, _send_icmp, [(_icmp(8, bytes(8)), "10.0.0.255"), (_icmp(8, bytes(8)), "10.0.0.255"),
                                 (_icmp(40, bytes(12)), "10.0.0.2"), (_icmp(3, bytes(40)), "10.0.0.255"),
                                 (_icmp(13, bytes(12)), "10.0.0.255")])
    world.run_for(secs(1))
    counted = {k: v for k, v in h2.mib.Icmp.items() if v and k.startswith("In")}
    assert counted == {"InMsgs": 5, "InErrors": 5, "InEchos": 2, "InDestUnreachs": 1, "InTimestamps": 1}
    assert h2.mib.Icmp["OutMsgs"] == 0
    # answered when the host is told to
    h2.sysctl["net.ipv4.icmp_echo_ignore_broadcasts"] = 0
    run(world, h1, _send_icmp, [(_icmp(8, bytes(8)), "10.0.0.255")])
    world.run_for(secs(1))
    assert (h2.mib.Icmp["InErrors"], h2.mib.Icmp["OutEchoReps"]) == (5, 1)
