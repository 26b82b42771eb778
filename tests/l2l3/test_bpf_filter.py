"""Socket filters (net/core/filter.py): classic BPF programs attached with SO_ATTACH_FILTER.

The judge: this machine's libpcap compiles pcap-filter expressions (``tcpdump -dd``), tuxnet's
kernel runs the programs on packet sockets, and the frames each socket keeps are those this
machine's tcpdump matches reading the same frames from a file.  Then programs of our own on UDP,
raw and TCP sockets, and the checks ``bpf_check_classic`` makes."""

from __future__ import annotations

import errno
import re
import shutil
import struct
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from netlab import lan, run
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Ether

import tuxnet.socket as tux_socket
from tuxnet.net.core.filter import CLASSIC_CODES, SKF_AD_OFF, SKF_AD_PROTOCOL
from tuxnet.net.core.sock import SO_ATTACH_FILTER, SO_DETACH_FILTER, SO_GET_FILTER, SO_LOCK_FILTER, SOL_SOCKET
from tuxnet.net.socket import AF_INET, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM
from tuxnet.trace.pcap import PcapWriter
from tuxnet.user import libc

ETH_P_ALL = 0x0003
EXPRESSIONS = ["udp port 53", "tcp", "tcp[tcpflags] & tcp-syn != 0", "icmp", "arp", "ether broadcast",
               "ip[2:2] > 100", "less 100", "greater 500", "host 10.0.0.2 and not port 53", "ip and (udp or icmp)",
               "portrange 50-60", "ip6", "ip[6:2] & 0x1fff != 0", "udp and ip[0] & 0xf > 5",
               "ether src 02:00:00:00:00:01"]


def bpf(*insns: tuple[int, int, int, int]) -> bytes:
    """A program's bytes, as setsockopt takes them (``struct sock_filter`` after another)."""
    return b"".join(struct.pack("=HBBI", *insn) for insn in insns)


def frames(a_mac: str, b_mac: str) -> list[bytes]:
    """A mix for the filters to sort: DNS, other UDP, TCP with and without SYN, ICMP, ARP, a
    broadcast, an IP header with options, a fragment, IPv6, a large datagram."""
    eth = Ether(src=a_mac, dst=b_mac)
    ip = IP(src="10.0.0.1", dst="10.0.0.2")
    return [bytes(p) for p in (
        eth / ip / UDP(sport=1234, dport=53) / b"q", eth / ip / UDP(sport=1234, dport=54) / b"q",
        eth / ip / TCP(sport=4000, dport=80, flags="S"), eth / ip / TCP(sport=4000, dport=80, flags="A") / (b"x" * 80),
        eth / IP(src="10.0.0.1", dst="10.0.0.9") / TCP(sport=80, dport=4000, flags="SA"),
        eth / ip / ICMP() / (b"p" * 56),
        Ether(src=a_mac, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="10.0.0.1", pdst="10.0.0.2"),
        Ether(src=a_mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="10.0.0.1", dst="10.0.0.255") / UDP(dport=67) / b"d",
        eth / IP(src="10.0.0.1", dst="10.0.0.2", options=b"\x01\x01\x01\x00") / UDP(dport=53) / b"o",
        eth / IP(src="10.0.0.1", dst="10.0.0.2", frag=100) / (b"f" * 30), eth / IPv6() / UDP(dport=53) / b"6",
        eth / ip / UDP(dport=55) / (b"L" * 1000))]


def compile_filter(tcpdump: str, pcap: str, expression: str) -> bytes:
    """``tcpdump -dd``: the program libpcap makes of ``expression`` for Ethernet frames."""
    out = subprocess.run([tcpdump, "-r", pcap, "-dd", expression], capture_output=True, text=True, check=True).stdout
    return bpf(*(tuple(int(n, 0) for n in m.groups())
                 for m in re.finditer(r"\{ (0x[0-9a-f]+), (\d+), (\d+), (0x[0-9a-f]+) \}", out)))


def matched(tcpdump: str, pcap: str, expression: str, tmp_path) -> list[bytes]:
    """The frames of ``pcap`` this machine's tcpdump matches, as it writes them out."""
    from tuxnet.trace.pcap import read_pcap

    out = tmp_path / "matched.pcap"
    subprocess.run([tcpdump, "-r", pcap, "-w", str(out), expression], capture_output=True, check=True)
    return [frame for _, frame in read_pcap(str(out))[1]]


def test_libpcaps_programs_keep_what_tcpdump_matches(tmp_path):
    """The frames as b receives them (the cable pads the short ones to 60 bytes) are kept by a
    socket without a filter, written to a file and matched there by this machine's tcpdump."""
    tcpdump = shutil.which("tcpdump")
    if tcpdump is None:
        pytest.skip("no tcpdump: apt-get install tcpdump")
    world, (a, b), _ = lan(2)
    a_mac, b_mac = (":".join(f"{x:02x}" for x in h.dev("eth0").dev_addr) for h in (a, b))
    sent = frames(a_mac, b_mac)
    empty = str(tmp_path / "empty.pcap")
    PcapWriter(empty, nanosecond=False).close()
    programs = [compile_filter(tcpdump, empty, e) for e in EXPRESSIONS]
    kept: list[list[bytes]] = []

    def listen() -> None:
        socks = []
        for program in [b"", *programs]:
            s = tux_socket.socket(tux_socket.AF_PACKET, tux_socket.SOCK_RAW, tux_socket.htons(ETH_P_ALL))
            if program:
                s.setsockopt(SOL_SOCKET, SO_ATTACH_FILTER, program)
            s.setblocking(False)
            socks.append(s)
        libc.sleep(0.1)
        for s in socks:
            got = []
            while True:
                try:
                    got.append(s.recv(65536))
                except BlockingIOError:
                    break
            kept.append(got)

    def send() -> None:
        libc.sleep(0.01)
        s = tux_socket.socket(tux_socket.AF_PACKET, tux_socket.SOCK_RAW, tux_socket.htons(ETH_P_ALL))
        s.bind(("eth0", ETH_P_ALL))
        for frame in sent:
            s.send(frame)

    listener = b.spawn(tux_socket.stdlib(listen))
    a.spawn(tux_socket.stdlib(send))
    world.run_until(lambda: not listener.alive, timeout=10**10)
    received, kept = kept[0], kept[1:]  # (b's answers too, which its sockets hear going out)
    assert len(received) > len(sent)
    pcap = str(tmp_path / "received.pcap")
    writer = PcapWriter(pcap, nanosecond=False)
    for frame in received:
        writer.write(0, frame)
    writer.close()
    for expression, got in zip(EXPRESSIONS, kept, strict=True):
        assert got == matched(tcpdump, pcap, expression, tmp_path), expression
    assert all(kept) and all(len(k) < len(received) for k in kept)  # (each kept some, none all)


def test_a_udp_sockets_filter_drops_and_cuts_datagrams():
    """From the UDP header: keep a datagram whose first byte is "A", cut to 12 bytes (4 of
    payload); drop the others (Udp InErrors, the socket's drops)."""
    world, (a, b), _ = lan(2)
    program = bpf((0x30, 0, 0, 8),  # ldb [8]
                  (0x15, 0, 1, ord("A")),  # jeq #'A' jt 2 jf 3
                  (0x06, 0, 0, 12),  # ret #12
                  (0x06, 0, 0, 0))  # ret #0
    got: list[bytes] = []

    def server() -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(fd, ("0.0.0.0", 9000))
        libc.setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, program)
        assert libc.getsockopt(fd, SOL_SOCKET, SO_GET_FILTER) == program
        for _ in range(2):
            got.append(libc.recv(fd, 100))

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        for data in (b"Bravo", b"Alpha one", b"Charlie", b"Also"):
            libc.sendto(fd, data, 0, ("10.0.0.2", 9000))

    b.spawn(server)
    a.spawn(client)
    world.run_until(lambda: len(got) == 2, timeout=10**10)
    assert got == [b"Alph", b"Also"] and b.mib.Udp["InErrors"] == 2 and b.mib.Udp["InDatagrams"] == 2


def test_a_listeners_filter_drops_syns_and_ancillary_loads_see_the_packet():
    """A raw ICMP socket keeping only what came as IPv4 (SKF_AD_PROTOCOL, ETH_P_IP), and a
    listener whose filter drops every segment: the client's SYNs go unanswered."""
    world, (a, b), _ = lan(2)
    out: dict = {}

    def server() -> None:
        raw = libc.socket(AF_INET, SOCK_RAW, 1)
        libc.setsockopt(raw, SOL_SOCKET, SO_ATTACH_FILTER,
                        bpf((0x20, 0, 0, (SKF_AD_OFF + SKF_AD_PROTOCOL) & 0xFFFFFFFF), (0x15, 0, 1, 0x0800),
                            (0x06, 0, 0, 0xFFFF), (0x06, 0, 0, 0)))
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("0.0.0.0", 80))
        libc.listen(lfd, 5)
        libc.setsockopt(lfd, SOL_SOCKET, SO_ATTACH_FILTER, bpf((0x06, 0, 0, 0)))
        out["listener"] = next(iter(next(iter(b.tcp_hashinfo.lhash.values()))))
        out["icmp"] = libc.recv(raw, 200)[20]  # the echo request's type

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM | tux_socket.SOCK_NONBLOCK, 0)
        try:
            libc.connect(fd, ("10.0.0.2", 80))
        except BlockingIOError:
            pass
        libc.sleep(2.5)
        out["state"] = a.tcp_hashinfo.ehash and next(iter(a.tcp_hashinfo.ehash.values())).sk_state

    b.spawn(server)
    run(world, a, client)
    from tuxnet.user.programs.ping import ping_main

    run(world, a, ping_main, ["-c", "1", "10.0.0.2"])
    assert out["state"] == 2 and out["icmp"] == 8  # still SYN_SENT after its SYN and a retry at 1 s
    assert out["listener"].sk_drops == 2 and b.mib.TcpExt["ListenOverflows"] == 0


@pytest.mark.parametrize(("program", "reason"), [
    (b"", "empty"), (bpf((0xff, 0, 0, 0)), "no such opcode"), (bpf((0x15, 5, 0, 1), (0x06, 0, 0, 0)), "jump out"),
    (bpf((0x34, 0, 0, 0), (0x06, 0, 0, 0)), "division by 0"), (bpf((0x00, 0, 0, 1)), "no return at the end"),
    (bpf((0x60, 0, 0, 3), (0x16, 0, 0, 0)), "M[3] read unwritten"), (bpf((0x02, 0, 0, 16), (0x06, 0, 0, 0)), "M[16]"),
    (bpf((0x64, 0, 0, 32), (0x06, 0, 0, 0)), "shift by 32"), (bpf((0x0e, 0, 0, 0)), "ret X is no classic return"),
    (bpf((0x20, 0, 0, (SKF_AD_OFF + 100) & 0xFFFFFFFF), (0x06, 0, 0, 0)), "unknown ancillary load"),
    (b"\x06\x00\x00", "a part of an instruction")])
def test_programs_that_may_not_run_are_refused(program: bytes, reason: str):
    world, (a, _), _ = lan(2)

    def attach() -> int:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        try:
            libc.setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, program)
        except OSError as error:
            return error.errno
        return 0

    assert run(world, a, attach) == errno.EINVAL, reason


def test_a_locked_filter_stays_and_detaching_none_is_enoent():
    world, (a, _), _ = lan(2)

    def prog() -> list:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        results = []
        for name, value in ((SO_DETACH_FILTER, 0), (SO_ATTACH_FILTER, bpf((0x06, 0, 0, 0xFFFF))), (SO_LOCK_FILTER, 1),
                            (SO_DETACH_FILTER, 0), (SO_ATTACH_FILTER, bpf((0x06, 0, 0, 0))), (SO_LOCK_FILTER, 0)):
            try:
                libc.setsockopt(fd, SOL_SOCKET, name, value)
                results.append(0)
            except OSError as error:
                results.append(error.errno)
        results.append(libc.getsockopt(fd, SOL_SOCKET, SO_LOCK_FILTER))
        return results

    assert run(world, a, prog) == [errno.ENOENT, 0, 0, errno.EPERM, errno.EPERM, errno.EPERM, 1]


@settings(max_examples=300, deadline=None)
@given(program=st.lists(st.tuples(st.sampled_from(sorted(CLASSIC_CODES | {0xff, 0x0e})), st.integers(0, 3),
                                  st.integers(0, 3), st.sampled_from([0, 1, 2, 3, 7, 12, 14, 15, 16, 31, 32, 60, 0xFFFF,
                                                                      0xFFFFF000, 0xFFFFF034, 0xFFF00000,
                                                                      0xFFE00000, 0x80000000, 0xFFFFFFFF])),
                        min_size=1, max_size=12),
       packet=st.binary(min_size=0, max_size=80))
def test_any_program_is_refused_or_runs_to_an_answer(program, packet):
    """A program bpf_check_classic takes runs on any bytes to a result; none raises or loops."""
    from tuxnet.net.core.filter import bpf_check_classic, bpf_prog_run
    from tuxnet.net.core.skbuff import SkBuff

    if not bpf_check_classic(program):
        return
    skb = SkBuff(bytearray(b"\0" * 14 + packet), 14, 14 + len(packet))
    skb.mac_header, skb.network_header = 0, 14
    result = bpf_prog_run(program, skb, skb.data, skb.tail)
    assert 0 <= result <= 0xFFFFFFFF
