"""UDP segmentation offload (UDP_SEGMENT) and UDP_GRO, as QUIC stacks use them, judged by this
machine's kernel over ``lo`` (MTU 1500): the same programs run by the kernel in a namespace of our
own and by tuxnet.  ``options``: what each setting and each send is refused with (a segment size
out of range, a control message of the wrong size or type, more than 128 segments, a segment
past the MTU, SO_NO_CHECK, a datagram past 65,507 octets).  ``delivery``: how a send of several
segments arrives, as datagrams of the segment size or, with UDP_GRO, as one with its segment size
in a control message; corked and MSG_MORE sends; what a packet socket on ``lo`` and a raw socket
see (the GSO packet whole, as loopback carries it); and the UDP counters.  Across a TAP device, the
kernel receives the datagrams a send was cut into for a device that cannot take it whole."""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from linuxnet import start_tcpdump, stop_tcpdump
from loplay import kernel_outcomes, lo_world, outcome, tuxnet_outcomes

from tuxnet.user import libc

pytestmark = pytest.mark.root

SOL_UDP, UDP_CORK, UDP_SEGMENT, UDP_GRO = 17, 1, 103, 104
SO_NO_CHECK, IP_MTU_DISCOVER, IP_PMTUDISC_DO = 11, 10, 2
ETH_P_IP = 0x0800


def proc_udp() -> list[int]:
    """The namespace's Udp InDatagrams and OutDatagrams, from /proc/net/snmp."""
    with open("/proc/net/snmp") as f:
        names, values = (line.split() for line in f if line.startswith("Udp:"))
    return [int(values[names.index(name)]) for name in ("InDatagrams", "OutDatagrams")]


def seg(size: int) -> list[tuple[int, int, bytes]]:
    """A send's UDP_SEGMENT control message."""
    return [(SOL_UDP, UDP_SEGMENT, struct.pack("=H", size))]


def drain(sock: socket.socket) -> list:
    """What a non-blocking socket holds: each datagram's length and control messages."""
    out = []
    while True:
        try:
            data, anc, _, _ = sock.recvmsg(70000, 100)
        except BlockingIOError:
            return out
        out.append([len(data), [[level, kind, raw.hex()] for level, kind, raw in anc]])


def receiver(port: int, gro: bool = False) -> socket.socket:
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.bind(("127.0.0.1", port))
    r.setblocking(False)
    if gro:
        r.setsockopt(SOL_UDP, UDP_GRO, 1)
    return r


def options(sleep: Callable[[float], None], counters: Callable[[], list[int]]) -> list:
    out: list = []
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.append(["get UDP_SEGMENT", s.getsockopt(SOL_UDP, UDP_SEGMENT), "get UDP_GRO", s.getsockopt(SOL_UDP, UDP_GRO)])
    for value in (-1, 65536, 65535, 0, 1000):
        out.append([f"UDP_SEGMENT {value}", outcome(s.setsockopt, SOL_UDP, UDP_SEGMENT, value)])
    out.append(["get UDP_SEGMENT", s.getsockopt(SOL_UDP, UDP_SEGMENT)])
    out.append(["UDP_GRO 5", outcome(s.setsockopt, SOL_UDP, UDP_GRO, 5), s.getsockopt(SOL_UDP, UDP_GRO)])
    r = receiver(6100)
    dst = ("127.0.0.1", 6100)
    for name, fn, args in (
        ("128 segments", s.sendto, (bytes(128 * 100), dst)),
        ("129 segments", s.sendmsg, ([bytes(129 * 100)], seg(100), 0, dst)),
        ("65507 octets", s.sendto, (bytes(65507), dst)),
        ("65508 octets", s.sendto, (bytes(65508), dst)),
        ("a segment of 1472", s.sendmsg, ([bytes(3000)], seg(1472), 0, dst)),
        ("a segment of 1473", s.sendmsg, ([bytes(3000)], seg(1473), 0, dst)),
        ("one segment of 1473", s.sendmsg, ([bytes(1000)], seg(1473), 0, dst)),
        ("a 4-octet control message", s.sendmsg, ([bytes(3000)], [(SOL_UDP, UDP_SEGMENT, struct.pack("=i", 500))],
                                                 0, dst)),
        ("a control message of UDP_CORK", s.sendmsg, ([bytes(3000)], [(SOL_UDP, UDP_CORK, struct.pack("=H", 500))],
                                                     0, dst)),
        ("segment 0 in a control message", s.sendmsg, ([bytes(3000)], seg(0), 0, dst)),
    ):
        out.append([name, outcome(fn, *args)])
    s.setsockopt(socket.SOL_SOCKET, SO_NO_CHECK, 1)
    out.append(["SO_NO_CHECK", outcome(s.sendto, bytes(3000), dst), outcome(s.sendto, bytes(1000), dst)])
    s.setsockopt(socket.SOL_SOCKET, SO_NO_CHECK, 0)
    d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    d.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
    d.setsockopt(SOL_UDP, UDP_SEGMENT, 1400)
    out.append(["PMTUDISC_DO, 6000 in segments", outcome(d.sendto, bytes(6000), dst)])
    sleep(0.05)
    out.append(["received", [length for length, _ in drain(r)]])
    return out


def delivery(sleep: Callable[[float], None], counters: Callable[[], list[int]]) -> list:
    out: list = []
    start = counters()
    plain, gro = receiver(6200), receiver(6201, gro=True)
    tap = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    tap.bind(("lo", 0))
    tap.setblocking(False)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    raw.setblocking(False)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(SOL_UDP, UDP_SEGMENT, 1000)
    for port in (6200, 6201):
        for size in (4500, 1000, 1001, 999):
            s.sendto(bytes(size), ("127.0.0.1", port))
    s.sendmsg([bytes(1200)], seg(500), 0, ("127.0.0.1", 6200))
    s.sendmsg([bytes(1200)], seg(500), 0, ("127.0.0.1", 6201))
    s.setsockopt(SOL_UDP, UDP_CORK, 1)
    s.sendto(bytes(700), ("127.0.0.1", 6200))
    s.sendto(bytes(700), ("127.0.0.1", 6200))
    s.setsockopt(SOL_UDP, UDP_CORK, 0)
    s.sendmsg([bytes(900)], [], socket.MSG_MORE, ("127.0.0.1", 6201))
    s.sendmsg([bytes(900)], [], 0, ("127.0.0.1", 6201))
    sleep(0.05)
    out.append(["without UDP_GRO", drain(plain)])
    out.append(["with UDP_GRO", drain(gro)])
    out.append(["a packet socket on lo", [length for length, _ in drain(tap)]])
    out.append(["a raw socket", [length for length, _ in drain(raw)]])
    out.append(["Udp InDatagrams, OutDatagrams", [now - then for now, then in zip(counters(), start, strict=True)]])
    return out


PLAYS = {"options": options, "delivery": delivery}


@pytest.mark.parametrize("name", sorted(PLAYS))
def test_udp_gso_as_on_the_kernel(name: str) -> None:
    linux = kernel_outcomes(__file__.rsplit("/", 1)[1], name, mtu=1500)
    world, host = lo_world(1500)
    ours = tuxnet_outcomes(world, host, PLAYS[name], libc.sleep,
                           lambda: [host.mib.Udp["InDatagrams"], host.mib.Udp["OutDatagrams"]])
    assert ours == linux


if __name__ == "__main__":
    print(json.dumps(PLAYS[sys.argv[1]](time.sleep, proc_udp)))


LINUX_RECEIVER = """
import socket, sys
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind((sys.argv[1], 6300)); r.settimeout(3); print("ready", flush=True)
sizes = []
try:
    while True:
        sizes.append(len(r.recv(70000)))
except socket.timeout:
    pass
print(*sizes, flush=True)
"""


def test_segments_cut_for_a_device_reach_the_kernel(netns, pair_factory, tmp_path):
    """A device other than loopback gets the datagrams of a UDP_SEGMENT send, not the GSO
    packet: the kernel, across a TAP device without offloads, receives each, and tcpdump finds
    each one's UDP checksum right and their IP IDs counting up."""
    p = pair_factory(netns, offload=False)
    try:
        pcap = str(tmp_path / "gso.pcap")
        dump = start_tcpdump(p.ns, p.ifname, pcap, "udp")
        proc = p.ns.popen("python3", "-c", LINUX_RECEIVER, p.linux_ip)
        assert proc.stdout.readline().strip() == "ready"

        def send() -> None:
            fd = libc.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
            libc.setsockopt(fd, SOL_UDP, UDP_SEGMENT, 1000)
            libc.sendto(fd, bytes(range(250)) * 18, 0, (p.linux_ip, 6300))

        p.host.spawn(send)
        out, err = p.run_until_exit(proc, timeout=20)
        stop_tcpdump(dump)
    finally:
        p.close()
    assert out.split() == ["1000", "1000", "1000", "1000", "500"], err
    lines = subprocess.run(["tcpdump", "-nn", "-vv", "-r", pcap], capture_output=True, text=True).stdout.splitlines()
    ids = [int(line.split(" id ")[1].split(",")[0]) for line in lines if " id " in line]
    assert [i - ids[0] for i in ids] == [0, 1, 2, 3, 4], lines
    assert sum("[udp sum ok]" in line for line in lines) == 5, lines
