"""``tcpdump -i any``: every device of the host captured through one cooked packet socket (SOCK_DGRAM,
ETH_P_ALL, bound to no device), each packet behind libpcap's DLT_LINUX_SLL2 header.  Judged by this
machine's tcpdump 4.99 and libpcap 1.10: the lines it prints reading our ``-w`` file (in a network
namespace whose interfaces have the tuxnet host's names and indexes) are the lines we printed
live, the filter programs we compile for LINUX_SLL2 are the ones it compiles (``-d``, for a
device and for a file), tshark dissects the file as sll2 cleanly, and the interfaces and
directions of a small scenario are the ones the Linux kernel gives in a namespace of our own."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from netlab import cable_pair, lan, run, tshark_lines, tshark_problems

from tuxnet.kernel.signal import SIGINT, send_sig
from tuxnet.net.packet.af_packet import ETH_P_ALL
from tuxnet.net.socket import AF_INET, AF_PACKET, SOCK_DGRAM, Msghdr
from tuxnet.trace.pcap import PcapReader
from tuxnet.user import libc
from tuxnet.user.iproute import ip
from tuxnet.user.libpcap import DLT_LINUX_SLL2, FilterError, bpf_dump, pcap_compile
from tuxnet.user.libpcap.pcap_linux import fix_program, sll2_header
from tuxnet.user.programs.ping import ping_main
from tuxnet.user.programs.tcpdump import tcpdump_main

TCPDUMP = shutil.which("tcpdump")
TSHARK = shutil.which("tshark")
IP = shutil.which("ip")
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
ANY_BANNER = ["tcpdump: data link type LINUX_SLL2",
              "tcpdump: verbose output suppressed, use -v[v]... for full protocol decode",
              "listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144 bytes"]
PING_NOISE = re.compile(r"^(PING |\d+ bytes from |--- |\d+ packets transmitted|rtt |$)")


def pings(world, host, *targets: str) -> None:
    for target in targets:
        assert run(world, host, ping_main, ["-c", "1", target]) == 0


def dump(world, host, args: list[str], load) -> tuple[int | None, list[str]]:
    """tcpdump ``args`` on ``host`` while ``load()`` runs, then SIGINT if it still runs; its exit
    status and its lines (ping's own left out)."""
    before = len(host.output())
    proc = host.spawn(tcpdump_main, args)
    world.run_for(1000)
    load()
    world.run_for(10**9)
    if proc.alive:
        send_sig(SIGINT, proc)
        world.run_for(10**6)
    lines = [line for line in host.output()[before:].splitlines() if not PING_NOISE.match(line)]
    return proc.result, lines


def packets(lines: list[str]) -> list[str]:
    """The packets' lines: no banner, no counts."""
    return [line for line in lines if not line.startswith(("tcpdump: ", "listening on "))][:-3]


def stamp_free(lines: list[str]) -> list[str]:
    return [re.sub(r"^\d\d:\d\d:\d\d\.\d{6} ", "", re.sub(r"id \d+", "id N", line)) for line in lines]


def test_every_device_each_direction_named_as_tcpdump_names_it():
    """h2 on a LAN: the broadcast ARP request is B, its reply and echo replies Out, the echo
    requests In; loopback's packets once each, as In (libpcap drops what lo sends, it hears it
    again coming in), though the kernel's filter counted both copies."""
    world, (h1, h2), _ = lan(2)
    rc, lines = dump(world, h2, ["-i", "any", "-n"], lambda: (pings(world, h1, "10.0.0.2"),
                                                               pings(world, h2, "127.0.0.1")))
    assert rc == 0 and lines[:3] == ANY_BANNER
    assert stamp_free(lines[3:]) == [
        "eth0  B   ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 46",
        "eth0  Out ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:03, length 28",
        "eth0  In  IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id N, seq 1, length 64",
        "eth0  Out IP 10.0.0.2 > 10.0.0.1: ICMP echo reply, id N, seq 1, length 64",
        "lo    In  IP 127.0.0.1 > 127.0.0.1: ICMP echo request, id N, seq 1, length 64",
        "lo    In  IP 127.0.0.1 > 127.0.0.1: ICMP echo reply, id N, seq 1, length 64",
        "6 packets captured",
        "8 packets received by filter",
        "0 packets dropped by kernel",
    ]
    assert h2.dev("eth0").promiscuity == 0, "no promiscuous mode on any"


def test_link_level_header_is_the_cooked_one():
    world, a, b = cable_pair()
    rc, lines = dump(world, a, ["-i", "any", "-n", "-e", "-c", "2", "arp"], lambda: pings(world, a, "10.0.0.2"))
    assert rc == 0
    assert stamp_free(packets(lines)) == [
        "eth0  Out ifindex 2 02:00:00:00:00:01 ethertype ARP (0x0806), length 48: "
        "Request who-has 10.0.0.2 tell 10.0.0.1, length 28",
        "eth0  In  ifindex 2 02:00:00:00:00:02 ethertype ARP (0x0806), length 66: "
        "Reply 10.0.0.2 is-at 02:00:00:00:00:02, length 46",
    ]


@pytest.mark.parametrize("expression, expected", [
    ("outbound", ["eth0  Out ARP", "eth0  Out IP 10.0.0.1 > 10.0.0.2"]),
    ("inbound and icmp", ["eth0  In  IP 10.0.0.2 > 10.0.0.1", "lo    In  IP 127.0.0.1", "lo    In  IP 127.0.0.1"]),
    ("ifindex 1", ["lo    In  IP 127.0.0.1", "lo    In  IP 127.0.0.1"]),
    # the link-layer address is not the kernel's to read: this filter runs in tcpdump itself
    ("link[12:4] = 0x02000000 and link[16:2] = 2", ["eth0  In  ARP", "eth0  In  IP 10.0.0.2 > 10.0.0.1"]),
    ("arp or (dst host 127.0.0.1 and icmp[icmptype] = icmp-echo)", ["eth0  Out ARP", "eth0  In  ARP",
                                                                     "lo    In  IP 127.0.0.1"]),
])
def test_filters_read_the_cooked_header(expression, expected):
    world, a, _ = cable_pair()
    rc, lines = dump(world, a, ["-i", "any", "-n", *expression.split()],
                     lambda: pings(world, a, "10.0.0.2", "127.0.0.1"))
    assert rc == 0
    assert [line[16:16 + len(want)] for line, want in zip(packets(lines), expected, strict=True)] == expected


def test_fix_program_moves_loads_off_the_cooked_header():
    """pcap-linux.c fix_offset: the protocol, ifindex and packet type fields become ancillary
    loads, the payload's offsets lose the header's 20 octets, anything else keeps the filter in
    user space."""
    ad = 0xFFFFF000
    program = fix_program(pcap_compile("icmp and ifindex 2 and outbound", linktype=DLT_LINUX_SLL2), cooked=True)
    loads = [(code, k) for code, _, _, k in program if code & 0x07 == 0]
    assert loads == [(0x28, ad + 0), (0x30, 9), (0x20, ad + 8), (0x30, ad + 4)]
    program = pcap_compile("tcp port 80", linktype=DLT_LINUX_SLL2)
    for (code, _, _, k), (_, _, _, fixed) in zip(program, fix_program(program, cooked=True), strict=True):
        if code & 0x07 in (0, 1) and code & 0xE0 in (0x20, 0x40, 0xA0):  # ldh [k], ldh [x + k], ldxb 4*([k]&0xf)
            assert fixed == (k - 20 if k >= 20 else ad)
    assert fix_program(pcap_compile("link[12] = 2", linktype=DLT_LINUX_SLL2), cooked=True) is None


def test_a_cooked_socket_hears_every_device_not_multicast_loop_copies():
    """af_packet: SOCK_DGRAM, ETH_P_ALL, no bind: each device's packets from the network header,
    with the device, the protocol, the packet type and the sender's address; a multicast's copy
    looped back to the sender (PACKET_LOOPBACK) is not heard (packet_rcv)."""
    world, a, _ = cable_pair()
    heard = []

    def listen() -> None:
        fd = libc.socket(AF_PACKET, SOCK_DGRAM, int.from_bytes(ETH_P_ALL.to_bytes(2, "big"), "little"))
        while True:
            msg = Msghdr()
            data = libc.recvmsg(fd, msg, 2000)
            heard.append((msg.msg_name[:4], bytes(data[:1])))

    def multicast() -> None:
        ip(a, "route add 224.0.0.0/4 dev eth0")
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.sendto(fd, b"x", 0, ("224.0.0.1", 9))
        libc.close(fd)

    a.spawn(listen)
    world.run_for(1000)
    pings(world, a, "10.0.0.2")
    run(world, a, multicast)
    world.run_for(10**6)
    assert heard == [(("eth0", 0x0806, 4, 1), b"\x00"), (("eth0", 0x0806, 0, 1), b"\x00"),
                     (("eth0", 0x0800, 4, 1), b"\x45"), (("eth0", 0x0800, 0, 1), b"\x45"),
                     (("eth0", 0x0800, 4, 1), b"\x45")]


# -- the judges: this machine's tcpdump and tshark -------------------------------------------------

EXPRESSIONS = [
    "", "icmp", "arp", "ip", "ip6", "tcp", "udp", "host 10.0.0.1", "src host 10.0.0.1", "dst 10.0.0.2",
    "net 10.0.0.0/8", "port 53", "tcp port 80", "udp dst port 5000", "portrange 1-100", "icmp or arp", "not arp",
    "host 10.0.0.1 and (port 53 or icmp)", "tcp[13] & 2 != 0", "ip[0] & 0xf > 5", "len > 100", "less 64",
    "ether proto 0x806", "ether[0] = 1", "link[4:4] = 2", "inbound", "outbound", "ifindex 3", "vlan", "vlan 10",
    "ether host 00:11:22:33:44:55", "broadcast", "multicast", "ip multicast", "ip broadcast", "llc", "stp",
    "ipx", "atalk", "iso", "isis", "l1", "decnet host 1.2", "rarp", "sctp", "ip6 host ::1", "proto 17",
    "icmp6", "icmp[icmptype] = icmp-echo", "tcp src portrange 1000-2000", "ip and not net 127.0.0.0/8",
]


def _theirs(args: list[str]) -> str:
    done = subprocess.run([TCPDUMP, *args], capture_output=True, text=True)
    notes = ("data link type", "reading from file", "Warning: interface names")
    return (done.stdout + "\n".join(line for line in done.stderr.splitlines()
                                     if not line.startswith(notes))).strip()


def _ours(expression: str, savefile: bool, optimize: bool) -> str:
    try:
        return bpf_dump(pcap_compile(expression, linktype=DLT_LINUX_SLL2, netmask=0, savefile=savefile,
                                     optimize=optimize), 1).strip()
    except FilterError as error:
        reason = str(error)
        return "tcpdump: " + ("can't parse filter expression: " if reason == "syntax error" else "") + reason


@pytest.fixture(scope="module")
def sll2_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("any") / "empty.pcap"
    world, a, _ = cable_pair()
    dump(world, a, ["-i", "any", "-c", "1", "-w", str(path)], lambda: pings(world, a, "127.0.0.1"))
    return path


@pytest.mark.skipif(TCPDUMP is None, reason="needs tcpdump")
@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_programs_are_libpcaps_for_linux_sll2(expression, optimize, sll2_file):
    """``tcpdump -y LINUX_SLL2 -d`` (a device's compile: inbound and ifindex read the cooked
    header) and ``tcpdump -r FILE -d`` (a LINUX_SLL2 file's), with and without ``-O``."""
    words = expression.split() + ([] if optimize else ["-O"])
    assert _ours(expression, False, optimize) == _theirs(["-y", "LINUX_SLL2", "-d", *words])
    assert _ours(expression, True, optimize) == _theirs(["-r", str(sll2_file), "-d", *words])


def test_dash_d_on_any_says_the_link_type_first():
    world, a, _ = cable_pair()
    rc, lines = dump(world, a, ["-i", "any", "-d", "arp"], lambda: None)
    assert rc == 0 and lines == ["tcpdump: data link type LINUX_SLL2", "(000) ldh      [0]",
                                 "(001) jeq      #0x806           jt 2\tjf 3",
                                 "(002) ret      #262144", "(003) ret      #0"]


def _scenario(tmp_path: Path, flags: list[str]) -> tuple[list[str], Path, object]:
    """a pings b and itself under ``tcpdump -i any FLAGS``, then the same written with ``-w``:
    the live lines, the file, and host a."""
    world, a, _ = cable_pair()
    _, live = dump(world, a, ["-i", "any", *flags], lambda: pings(world, a, "10.0.0.2", "10.0.0.2", "127.0.0.1"))
    world, a, _ = cable_pair()
    path = tmp_path / "any.pcap"
    dump(world, a, ["-i", "any", "-w", str(path)], lambda: pings(world, a, "10.0.0.2", "10.0.0.2", "127.0.0.1"))
    return packets(live), path, a


@contextmanager
def namespace_like(host):
    """A network namespace of our own whose interfaces have ``host``'s names and indexes (veth
    pairs, their peers at 1000 and up), so that tcpdump names a file's interfaces as ours did."""
    name = f"tnany{uuid.uuid4().hex[:8]}"
    subprocess.run([IP, "netns", "add", name], check=True)
    try:
        for i, dev in enumerate(d for d in host.devices.values() if d.name != "lo"):
            subprocess.run([IP, "-n", name, "link", "add", dev.name, "index", str(dev.ifindex), "type", "veth",
                            "peer", "name", f"tnpeer{i}", "index", str(1000 + i)], check=True)
        yield name
    finally:
        subprocess.run([IP, "netns", "del", name], check=True)


@pytest.mark.skipif(TCPDUMP is None or IP is None or not ROOT, reason="needs tcpdump, ip and root")
@pytest.mark.parametrize("flags", [["-n"], ["-n", "-e"], ["-n", "-v"], ["-n", "-e", "-vv"], ["-n", "-q"],
                                   ["-n", "-e", "-x"], ["-n", "-X"], ["-n", "-tt"]])
def test_tcpdump_reads_our_file_as_we_printed_it_live(tmp_path, flags):
    live, path, a = _scenario(tmp_path, flags)
    with namespace_like(a) as ns:
        done = subprocess.run([IP, "netns", "exec", ns, TCPDUMP, "-r", str(path), *flags],
                              capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == live
    assert done.stderr.splitlines()[1] == "Warning: interface names might be incorrect"
    with open(path, "rb") as f:
        reader = PcapReader(f)
        assert reader.linktype == DLT_LINUX_SLL2 and not reader.nanosecond


def test_we_read_our_file_as_we_printed_it_live(tmp_path):
    live, path, a = _scenario(tmp_path, ["-n", "-e"])
    world = a.world
    before = len(a.output())
    assert run(world, a, tcpdump_main, ["-r", str(path), "-n", "-e"]) == 0
    lines = a.output()[before:].splitlines()
    assert lines[:2] == [f"reading from file {path}, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144",
                         "Warning: interface names might be incorrect"]
    assert lines[2:] == live


@pytest.mark.skipif(TSHARK is None, reason="needs tshark")
def test_tshark_dissects_the_file_as_sll2(tmp_path):
    _, path, _ = _scenario(tmp_path, ["-n"])
    assert tshark_problems(TSHARK, path) == []
    rows = tshark_lines(TSHARK, path, "frame.protocols", "sll.pkttype", "sll.ifindex", "sll.hatype", "sll.etype")
    assert rows[:3] == ["sll:ethertype:arp\t4\t2\t1\t0x0806", "sll:ethertype:arp\t0\t2\t1\t0x0806",
                        "sll:ethertype:ip:icmp:data\t4\t2\t1\t0x0800"]
    assert rows[-1] == "sll:ethertype:ip:icmp:data\t0\t1\t772\t0x0800"


def test_sll2_header_layout():
    assert sll2_header(0x0800, 3, 1, 4, b"\x3e\x96\xe3\xcd\x75\x7a") == bytes.fromhex(
        "0800 0000 00000003 0001 04 06 3e96e3cd757a0000")


# -- the Linux kernel, in a namespace of our own ---------------------------------------------------

def _who(lines: list[str]) -> list[tuple[str, str, str]]:
    """(device kind, direction, what) of each line: the device "lo" or "dev"."""
    out = []
    for line in lines:
        name, direction, rest = line[16:21].strip(), line[22:25].strip(), line[26:]
        out.append(("lo" if name == "lo" else "dev", direction,
                    re.sub(r", id \d+, seq \d+, length \d+|, length \d+|is-at [0-9a-f:]+", "", rest)))
    return out


@pytest.mark.skipif(TCPDUMP is None or IP is None or not ROOT, reason="needs tcpdump, ip and root")
def test_interfaces_and_directions_are_the_kernels(tmp_path):
    """A veth pair between two namespaces, ``tcpdump -i any -w`` in one, two pings across and one
    to 127.0.0.1: the same packets on the same kinds of device in the same directions."""
    tag = uuid.uuid4().hex[:6]
    ns1, ns2, path = f"tnanya{tag}", f"tnanyb{tag}", tmp_path / "linux.pcap"
    subprocess.run([IP, "netns", "add", ns1], check=True)
    try:
        subprocess.run([IP, "netns", "add", ns2], check=True)
        try:
            for cmd in (["link", "add", "v0", "netns", ns1, "type", "veth", "peer", "name", "v1", "netns", ns2],
                        ["-n", ns1, "addr", "add", "10.0.0.1/24", "dev", "v0"],
                        ["-n", ns2, "addr", "add", "10.0.0.2/24", "dev", "v1"],
                        ["-n", ns1, "link", "set", "v0", "up"], ["-n", ns2, "link", "set", "v1", "up"],
                        ["-n", ns1, "link", "set", "lo", "up"]):
                subprocess.run([IP, *cmd], check=True)
            dumper = subprocess.Popen([IP, "netns", "exec", ns1, TCPDUMP, "-i", "any", "-U", "-w", str(path),
                                       "not", "ip6"], stderr=subprocess.PIPE, text=True)
            dumper.stderr.readline()
            dumper.stderr.readline()  # "listening on any, ...": capturing
            for target in ("10.0.0.2", "10.0.0.2", "127.0.0.1"):
                subprocess.run([IP, "netns", "exec", ns1, "ping", "-c", "1", "-W", "1", target], check=True,
                               capture_output=True)
            time.sleep(1.5)  # (what the ring holds reaches tcpdump when its block times out)
            dumper.terminate()
            dumper.wait(timeout=10)
        finally:
            subprocess.run([IP, "netns", "del", ns2], check=True)
    finally:
        subprocess.run([IP, "netns", "del", ns1], check=True)
    linux = subprocess.run([TCPDUMP, "-r", str(path), "-n"], capture_output=True, text=True, check=True)
    ours, _, _ = _scenario(tmp_path, ["-n"])
    assert _who(linux.stdout.splitlines()) == _who(ours)
