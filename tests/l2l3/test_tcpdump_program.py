"""tcpdump as a program on a host (a packet socket, its frames printed by tuxnet's tcpdump printer):
the lines and times the device's own capture gives, pcap-filter's primitives and how they join,
promiscuous mode on a hub and ``-p``, loopback heard once, and tcpdump's errors, word for word as
this machine's tcpdump 4.99.3 prints them."""

from __future__ import annotations

import re

import pytest
from netlab import capture, lan, run

from tuxnet.net.socket import AF_INET, SOCK_DGRAM
from tuxnet.trace.tcpdump import TcpdumpPrinter
from tuxnet.user import libc
from tuxnet.user.programs.ping import ping_main
from tuxnet.user.programs.tcpdump import tcpdump_main

BANNER = ["tcpdump: verbose output suppressed, use -v[v]... for full protocol decode",
          "listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes"]


def udp_to(addr: str, port: int) -> None:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.sendto(fd, b"x" * 10, 0, (addr, port))
    libc.close(fd)


def udp_receive(port: int) -> None:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.bind(fd, ("0.0.0.0", port))
    libc.recvfrom(fd, 100)
    libc.close(fd)


def traffic(world, h1) -> None:
    """ARP, two pings and two datagrams (ports 5000 and 9999, where h2 has readers) from h1 to
    10.0.0.2."""
    h2 = world.hosts["h2"]
    for port in (5000, 9999):
        h2.spawn(udp_receive, port)
    assert run(world, h1, ping_main, ["-c", "2", "10.0.0.2"]) == 0
    run(world, h1, udp_to, "10.0.0.2", 5000)
    run(world, h1, udp_to, "10.0.0.2", 9999)
    world.run_for(10**9)


def dump(world, host, args: list[str], load) -> tuple[int | None, list[str]]:
    """tcpdump ``args`` on ``host`` while ``load()`` runs; its exit status (None: still waiting)
    and its lines after the banner."""
    before = len(host.output())
    proc = host.spawn(tcpdump_main, args)
    world.run_for(1000)
    load()
    world.run_for(10**9)
    lines = host.output()[before:].splitlines()
    return (None if proc.alive else proc.result), lines


def test_lines_and_times_are_the_devices_capture():
    world, (h1, h2), _ = lan(2)
    cap = capture(h2, "eth0")
    rc, lines = dump(world, h2, ["-c", "8"], lambda: traffic(world, h1))
    assert rc == 0 and lines[:2] == BANNER
    printer = TcpdumpPrinter()
    assert lines[2:10] == [printer.format(t, frame) for t, frame, _ in cap.frames[:8]]
    assert lines[10:] == ["8 packets captured", "8 packets received by filter", "0 packets dropped by kernel"]
    assert "ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 46" in lines[2]
    assert lines[9].endswith(" > 10.0.0.2.9999: UDP, length 10")


@pytest.mark.parametrize("expression, kinds", [
    ("arp", ["ARP"] * 2),
    ("icmp", ["ICMP"] * 4),
    ("udp", ["UDP"] * 2),
    ("udp port 5000", ["UDP"]),
    ("dst port 9999 or arp", ["ARP", "ARP", "UDP"]),
    ("not ( arp or icmp )", ["UDP"] * 2),
    ("src host 10.0.0.2", ["ARP", "ICMP", "ICMP"]),
    ("src and dst net 10.0.0.0/24 and ! arp", ["ICMP"] * 4 + ["UDP"] * 2),
    ("host 10.0.0.9 || port 0x1388", ["UDP"]),
    ("ip && src 10.0.0.1 && dst 10.0.0.2 and not udp", ["ICMP"] * 2),
    ("net 10.1", []),
])
def test_filters_select_the_frames_pcap_filter_would(expression, kinds):
    world, (h1, h2), _ = lan(2)
    rc, lines = dump(world, h2, expression.split(), lambda: traffic(world, h1))
    assert rc is None, "no -c: it waits for more"
    seen = ["ARP" if " ARP, " in line else "ICMP" if ": ICMP " in line else "UDP" if ": UDP, " in line else line
            for line in lines[2:]]
    assert seen == kinds


def test_promiscuous_on_a_hub_unless_told_not_to():
    world, (h1, _, h3), _ = lan(3, hub=True)
    rc, lines = dump(world, h3, ["-c", "4", "icmp"], lambda: traffic(world, h1))
    assert rc == 0 and len([line for line in lines if "ICMP echo" in line]) == 4
    assert h3.dev("eth0").promiscuity == 0, "back out of promiscuous mode once it has closed"
    rc, lines = dump(world, h3, ["-p", "icmp", "or", "arp"], lambda: traffic(world, h1))
    # -p: only what is h3's to hear, the broadcast ARP request (h1 has 10.0.0.2 cached: none)
    assert rc is None and lines[2:] == []


def test_loopback_heard_once():
    world, (h1, _), _ = lan(2)
    rc, lines = dump(world, h1, ["-i", "lo", "-c", "2"],
                     lambda: run(world, h1, ping_main, ["-c", "1", "127.0.0.1"]))
    assert rc == 0
    assert lines[1] == "listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes"
    assert [re.sub(r"id \d+", "id N", line[16:]) for line in lines if " IP " in line] == [
        "IP 127.0.0.1 > 127.0.0.1: ICMP echo request, id N, seq 1, length 64",
        "IP 127.0.0.1 > 127.0.0.1: ICMP echo reply, id N, seq 1, length 64"]


@pytest.mark.parametrize("args, message", [
    (["-i", "eth9"], "tcpdump: eth9: No such device exists\n(No such device exists)\n"),
    (["-c", "0"], "tcpdump: invalid packet count 0\n"),
    (["-c", "x"], "tcpdump: invalid packet count x\n"),
    (["-c"], "tcpdump: option requires an argument -- 'c'\n"),
    (["-0"], "tcpdump: invalid option -- '0'\n"),
    (["-s", "x"], "tcpdump: invalid snaplen x (must be >= 0 and <= 262144)\n"),
    (["-s", "-1"], "tcpdump: invalid snaplen -1 (must be >= 0 and <= 262144)\n"),
    (["-s", "300000"], "tcpdump: invalid snaplen 300000 (must be >= 0 and <= 262144)\n"),
    (["host"], "tcpdump: can't parse filter expression: syntax error\n"),
    (["tcp", "80"], "tcpdump: can't parse filter expression: syntax error\n"),
    (["(tcp"], "tcpdump: can't parse filter expression: syntax error\n"),
    (["10.0.0.300"], "tcpdump: can't parse filter expression: syntax error\n"),
    (["host", "foo"], "tcpdump: unknown host 'foo'\n"),
    (["host", "10.0.0.300"], "tcpdump: invalid IPv4 address '10.0.0.300'\n"),
    (["net", "foo"], "tcpdump: unknown network 'foo'\n"),
    (["port", "x"], "tcpdump: unknown port 'x'\n"),
    (["port", "99999"], "tcpdump: illegal port number 99999 > 65535\n"),
    (["port", "080"], "tcpdump: number 080 contains non-octal digit\n"),
    (["net", "10.0.0.0/33"], "tcpdump: mask length must be <= 32\n"),
    (["net", "10.0.0.1/8"], 'tcpdump: non-network bits set in "10.0.0.1/8"\n'),
    (["ip", "port", "80"], "tcpdump: illegal qualifier of 'port'\n"),
    (["icmp", "host", "1.2.3.4"], "tcpdump: 'icmp' modifier applied to host\n"),
    (["tcp", "net", "10.0.0.0/8"], "tcpdump: 'tcp' modifier applied to net\n"),
])
def test_errors_as_tcpdump_prints_them(args, message):
    world, (h1, _), _ = lan(2)
    before = len(h1.output())
    assert run(world, h1, tcpdump_main, args) == 1
    assert h1.output()[before:] == message


def test_hex_dumps():
    world, (h1, h2), _ = lan(2)
    rc, lines = dump(world, h2, ["-c", "1", "-xx", "arp"], lambda: traffic(world, h1))
    # -xx: the whole frame, the broadcast destination first, eight groups of four digits a line
    assert rc == 0 and lines[3] == "\t0x0000:  ffff ffff ffff 0200 0000 0001 0806 0001"
    rc, lines = dump(world, h2, ["-c", "1", "-X", "icmp"], lambda: traffic(world, h1))
    # -X: from the IP header on, with the printable bytes beside
    assert rc == 0 and lines[3].startswith("\t0x0000:  4500 0054 ") and lines[3][51:55] == "E..T"
