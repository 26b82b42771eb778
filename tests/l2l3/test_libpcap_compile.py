"""libpcap's filter compiler rebuilt (tuxnet.user.libpcap): ``pcap_compile`` must make the same
classic BPF program as this machine's libpcap, instruction for instruction, and refuse the same
expressions with the same words.

The judge is ``tcpdump -d`` (and ``-O -d`` unoptimised, ``-dd``, ``-ddd``, ``-s N``), which
compiles for Ethernet without a device; ``tcpdump -r FILE -d`` on a raw-IP capture file compiles
for DLT_RAW.  Without a device tcpdump's netmask is 0, so the programs here are compiled with
``netmask=0``.  Names resolve as this machine resolves them: ``localhost`` through /etc/hosts,
service names through /etc/services.  ``tcpdump -i DEV -d`` on a veth device in a namespace of
our own compiles for a live capture, whose ``vlan`` reads the tag the kernel took out of a frame
as well as one in its bytes (libpcap's BPF_SPECIAL_VLAN_HANDLING)."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tuxnet.tapnet import Netns, netns_unavailable
from tuxnet.trace.pcap import PcapWriter
from tuxnet.user.libpcap import DLT_EN10MB, DLT_RAW, PCAP_NETMASK_UNKNOWN, FilterError, bpf_dump, pcap_compile
from tuxnet.user.resolv import networks_entries

TCPDUMP = "/usr/bin/tcpdump"
pytestmark = pytest.mark.skipif(shutil.which(TCPDUMP) is None, reason="needs /usr/bin/tcpdump (the oracle)")

HOSTS = {"localhost": [0x7F000001]}
SERVICES = ("http", "domain", "ssh", "ntp", "https", "bootps", "tftp", "smtp")


def resolve_port(name: str, proto: str) -> int | None:
    """/etc/services, as libpcap's getaddrinfo reads it."""
    try:
        return socket.getservbyname(name, proto)
    except OSError:
        return None


def resolve_proto(name: str) -> int | None:
    """/etc/protocols, as libpcap's getprotobyname reads it."""
    try:
        return socket.getprotobyname(name)
    except OSError:
        return None


def resolve_net(name: str) -> int | None:
    """This machine's /etc/networks read by tuxnet's parser (libc's getnetbyname reads the
    host's), so that its numbers are judged by what this machine's libpcap makes of the file."""
    text = Path("/etc/networks").read_text() if Path("/etc/networks").is_file() else ""
    return next((net for net_name, net, aliases in networks_entries(text) if name in (net_name, *aliases)), None)


def tcpdump(expression: str, *args: str, netns: Netns | None = None) -> str:
    """tcpdump's program text, or ``ERR message`` with tcpdump's prefixes taken off."""
    command = [TCPDUMP, *args, "--", expression]
    done = subprocess.run(netns.cmd(*command) if netns else command, capture_output=True, text=True, timeout=30)
    if done.returncode:
        message = done.stderr.strip().splitlines()[-1]
        return "ERR " + message.removeprefix("tcpdump: ").removeprefix("can't parse filter expression: ")
    return done.stdout


def ours(expression: str, option: int = 1, **kwargs: object) -> str:
    try:
        insns = pcap_compile(expression, netmask=0, resolve_host=HOSTS.get, resolve_port=resolve_port,
                             resolve_proto=resolve_proto, resolve_net=resolve_net, **kwargs)
    except FilterError as error:
        return "ERR " + str(error).rstrip("\n")
    return bpf_dump(insns, option)


@pytest.fixture(scope="module")
def live_device():
    """A veth device up in a namespace of our own, for ``tcpdump -i v0 -d``."""
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    ns = Netns(f"tuxnet-pcapc-{os.getpid()}")
    try:
        ns.run("ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1")
        ns.run("ip", "link", "set", "v0", "up")
        yield ns
    finally:
        ns.close()


@pytest.fixture(scope="module")
def raw_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty capture file of raw IP, for ``tcpdump -r FILE -d``."""
    path = tmp_path_factory.mktemp("libpcap") / "raw.pcap"
    with PcapWriter(path, linktype=DLT_RAW, snaplen=262144, nanosecond=False):
        pass
    return path


# single primitives, every qualifier, names, relations and arithmetic, and/or/not nesting
CORPUS = [
    "", "ip", "ip6", "arp", "rarp", "tcp", "udp", "icmp", "icmp6", "igmp", "igrp", "sctp", "pim", "vrrp",
    "ah", "esp", "atalk", "aarp", "decnet", "lat", "sca", "moprc", "mopdl", "iso", "esis", "isis", "clnp",
    "l1", "l2", "iih", "lsp", "snp", "csnp", "psnp", "stp", "ipx", "netbeui", "llc", "llc i", "llc u",
    "llc rnr", "llc ui",
    "host 1.2.3.4", "src host 1.2.3.4", "dst host 1.2.3.4", "src or dst host 1.2.3.4",
    "src and dst host 1.2.3.4", "ip host 1.2.3.4", "arp src host 10.0.0.1", "rarp dst host 10.0.0.1",
    "host 10", "ip dst 10.1.2", "net 10", "net 10.1", "net 10.0.0.0/8", "src net 172.16.0.0/12",
    "dst net 192.168.0.0 mask 255.255.0.0", "ip net 10.0.0.0/8", "net 0.0.0.0/0", "arp net 10.1.0.0/16",
    "host localhost", "src host localhost", "decnet host 1.2", "decnet src 10.1",
    "ip6 host ::1", "host 2001:db8::1", "ip6 net 2001:db8::/32", "ip6 src or dst net fe80::/10",
    "port 80", "tcp port 80", "udp port 53", "sctp port 7", "tcp src port 1024", "udp dst port 67",
    "tcp src or dst port 22", "tcp src and dst port 22", "port 80 or 443", "portrange 1000-2000",
    "tcp portrange 6000-6010", "udp dst portrange 5000-4000", "portrange 100", "port http", "tcp port http",
    "port domain", "udp port domain", "tcp port domain", "port ntp", "portrange ssh-http", "portrange 80-http",
    "ether host 1:2:3:4:5:6", "ether src 01:02:03:04:05:06", "ether dst 0102.0304.0506",
    "ether host 01-02-03-04-05-06", "ether host 0123456789ab", "broadcast", "ether broadcast", "multicast",
    "ether multicast", "ip multicast", "ip6 multicast", "ip broadcast",
    "ip proto 6", "ip proto \\tcp", "proto \\udp", "ip6 proto 17", "proto 50", "ether proto 0x806",
    "ip proto \\ospf", "proto \\IPv6-ICMP", "net loopback", "src net link-local", "ip net default",
    "ether proto \\arp", "ether proto \\ipx", "ether proto 100", "iso proto \\isis", "link proto \\ip",
    "less 100", "greater 1000", "len >= 100", "len < 100", "len = 60", "length <= 1500",
    "tcp[13] & 2 != 0", "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", "ip[2:2] > 576",
    "icmp[icmptype] == icmp-echo", "icmp[0] = 8", "udp[8:2] = 0x1234", "ip[0] & 0xf != 5",
    "tcp[12] >> 4 > 5", "ip[6:2] & 0x1fff = 0", "ether[0] & 1 = 1", "link[12:2] = 0x800",
    "icmp6[icmp6type] = icmp6-echo", "arp[6:2] = 2", "ip6[6] = 58", "igmp[0] = 0x11", "sctp[0:2] = 80",
    "-1 = ip[0]", "- ip[0] = -69", "ip[0] + ip[1] * 2 = 10", "ip[0] / 2 = 3", "ip[0] % 3 = 1",
    "ip[0] ^ 5 = 3", "ip[0] << 2 = 4", "(ip[0] - 1) * (ip[1] + 2) = ip[2] - ip[3]", "len - 14 > 100",
    "ip[ip[0] & 0xf] = 1", "tcp[tcp[0]] = tcp[1]", "ip[0] + tcp[0] > 3", "1 = 1", "2 > 1 or tcp",
    "ip and 1 = 1", "len = 1 or 2 = 2", "(1 + 2) * 3 = len", "ip[0] % 3 + 4 * 5 = 6 & 7 | 8 ^ 9",
    "byte 0 = 1", "byte 12 > 8", "byte 12 < 8", "byte 1 & 3", "byte 1 | 3",
    "tcp port 80 or udp port 53", "tcp port 80 and host 1.2.3.4", "not tcp", "not tcp and not udp",
    "not (tcp or udp)", "! ip6 && ! arp", "tcp and (port 80 or port 443)", "host 1.2.3.4 or 5.6.7.8",
    "host 1.2.3.4 and not 5.6.7.8", "net 10.0.0.0/8 or 11.0.0.0/8 and 12.0.0.0/8", "ip and not arp",
    "ip or arp or rarp", "ip and tcp and port 80", "icmp or (tcp and port 22)",
    "(tcp or udp) and not port 53", "tcp and tcp[13] & 2 != 0 and not src net 10.0.0.0/8",
    "not not not ip", "((((ip))))", "ip and (tcp or (udp and (port 53 or port 67)))",
    "tcp and not (src port 22 or dst port 22) and (host 10.0.0.1 or host 10.0.0.2)",
    "ether src 1:2:3:4:5:6 and not ether broadcast and ip multicast", "inbound", "outbound and tcp",
    "net 10.0.0.0 mask 255.0.0.1",
    "ifindex 2",
    # 802.1Q: each vlan moves what follows 4 octets on (gen_vlan_no_bpf_extensions)
    "vlan", "vlan 10", "vlan and ip", "vlan 10 and tcp port 80", "vlan and vlan 20", "vlan 4095", "ip and vlan",
    "not vlan", "vlan 10 or vlan 20", "vlan (10)", "vlan and host 1.2.3.4", "vlan and ether host 1:2:3:4:5:6",
    "vlan and ip[0] = 0x45", "vlan 0x10", "vlan 10 and (arp or icmp)", "vlan and ip6", "vlan and ip multicast",
    "vlan and llc", "vlan and stp", "vlan and ipx", "vlan and ether proto 0x806", "vlan and tcp[13] & 2 != 0",
]
# compiled for a live capture too, where the outermost vlan reads the kernel's tag or the bytes
# (gen_vlan_bpf_extensions) and the offsets after it become variable
VLAN_LIVE = [
    "vlan", "vlan 100", "vlan and ip", "vlan 100 and tcp port 80", "vlan and vlan 200", "ip or vlan", "not vlan",
    "vlan and host 10.0.0.1", "vlan 10 or vlan 20", "vlan and ip6", "vlan and llc", "vlan and stp", "vlan and ipx",
    "vlan and tcp[13] & 2 != 0", "vlan and ip[0] = 0x45", "vlan and link[0] = 1", "vlan and icmp6[0] = 1",
    "vlan and len > 100", "vlan and ether host 1:2:3:4:5:6", "vlan and vlan and vlan", "vlan 1 and vlan 2 and tcp",
    "vlan and ip multicast", "vlan and udp[8:2] = 5", "vlan and ip6 host ::1", "vlan and portrange 1-10",
    "vlan and ip broadcast", "vlan 10 and (arp or icmp)", "vlan and inbound", "vlan and ifindex 2", "tcp and vlan",
    "vlan 4095", "vlan and iso", "vlan and atalk", "vlan and decnet host 1.2", "vlan and ip proto 17",
    "vlan and icmp[icmptype] = icmp-echo", "vlan and ip[2:2] - ip[0] > 10", "vlan and ether[12:2] = 0x800",
    "vlan and tcp[tcp[0] & 3] = 1", "vlan and sctp", "vlan 4096", "vlan and vlan 10 and ip[0] + udp[0] = 1",
]
# also compiled for a raw-IP capture file
RAW_CORPUS = [
    "", "ip", "ip6", "arp", "tcp", "udp", "icmp", "sctp", "not ip", "arp or ip", "host 1.2.3.4",
    "src net 10.0.0.0/8", "tcp port 80", "port 53", "portrange 1-1024", "ip[0] & 0xf > 5",
    "tcp[13] & 2 != 0", "ip6 host ::1", "host localhost", "ip proto 17", "ether proto \\ip", "less 64",
    "icmp[icmptype] = icmp-echo", "udp and ip[6:2] & 0x1fff = 0", "link[0] & 0xf0 = 0x40",
    "ip multicast", "ip6 multicast", "proto \\tcp", "len > 100 and (tcp or udp)",
]
DUMPS = ["tcp port 80", "host 1.2.3.4 or net 10", "ip[0] - 5 = 3", "ether broadcast", "icmp6", ""]
SNAPLENS = [("tcp port 80", 96), ("host 1.2.3.4", 1500), ("ip", 65535), ("", 68)]
ERRORS = [
    "host", "tcp 80", "(tcp", "10.0.0.300", "host foo", "host 10.0.0.300", "net foo", "port x",
    "port 99999", "port 080", "net 10.0.0.0/33", "net 10.0.0.1/8", "ip port 80", "icmp host 1.2.3.4",
    "tcp net 10.0.0.0/8", "foo", "host foo bar", "host 1:2:3", "tcp )", "tcp and", "(", ")",
    "ether host 1.2.3.4", "ether host foo", "ip6 host 1.2.3.4", "ip6 host localhost", "tcp proto 6",
    "arp proto 6", "ip proto foo", "ether proto foo", "port 1.2.3.4", "portrange 1.2.3.4",
    "proto 1.2.3.4", "ip[0:3] = 1", "tcp[0] / 0 = 1", "tcp[0] % 0 = 1", "tcp[0] << 32 = 1",
    "ip[0] / (1-1) = 1", "len / 0 = 1", "host 1.2.3.4 mask 255.0.0.0", "net 10.0.0.1 mask 255.0.0.0",
    "host 10.0.0.0/8", "0xfffffffff", "4294967296", "less", "tcp[1", "tcp and udp", "ip and arp",
    "udp port http", "udp portrange ssh-http", "portrange 70000-70001",
    "ip6 broadcast", "tcp broadcast", "arp multicast", "gateway foo", "host $1", "::1/129",
    "host ::1/64", "net 2001:db8::1/32", "1.2.3.4", "80", "and", "!", "tcp or or", "= 1",
    "icmp[icmptype] = icmp-foo", "ip[2:2] > 576 576", "@", "decnet host foo", "link host 1.2.3.4",
    "link port 80", "radio[0] = 1", "iso[0] = 1", "radio", "link", "ip host", "net 1.2.3.4.5",
    "ip broadcast and ip[0] = 1 / 0", "llc foo", "type mgt", "type 1", "subtype beacon", "dir tods",
    "on eth0", "reason foo", "action pass", "lane", "vpi 1", "fisu", "hsio 1", "batadv",
    "vlan 4096", "vlan -1", "vlan 10 20", "vlan foo",
]
ERRORS_RAW = ["ether host 1:2:3:4:5:6", "broadcast", "multicast", "inbound", "ifindex 1", "llc", "arp", "vlan"]


@pytest.mark.parametrize("expression", CORPUS)
def test_ethernet_programs_match_tcpdump(expression: str) -> None:
    """The optimised program is tcpdump's (``-d``), and so is the unoptimised one (``-O -d``)."""
    assert ours(expression) == tcpdump(expression, "-d")
    assert ours(expression, optimize=False) == tcpdump(expression, "-O", "-d")


@pytest.mark.parametrize("expression", VLAN_LIVE)
def test_live_capture_programs_match_tcpdump_on_a_device(expression: str, live_device: Netns) -> None:
    """``vlan`` on a live capture: the kernel's ``vlanp`` first, the TPIDs after it with the
    payload's and type's offsets moved on in scratch registers, the id from ``vlan_tci`` or the
    bytes (a jump among a block's statements), optimised and not."""
    assert ours(expression, special_vlan_handling=True) == tcpdump(expression, "-i", "v0", "-d", netns=live_device)
    assert ours(expression, special_vlan_handling=True, optimize=False) == tcpdump(
        expression, "-i", "v0", "-O", "-d", netns=live_device)


def test_live_vlan_codes_are_libpcaps(live_device: Netns) -> None:
    """``-dd``: the ancillary loads' opcodes and offsets, instruction for instruction."""
    for expression in ("vlan 100", "vlan and tcp port 80"):
        assert ours(expression, 2, special_vlan_handling=True) == tcpdump(
            expression, "-i", "v0", "-dd", netns=live_device)


@pytest.mark.parametrize("seed", [3, 11])
def test_random_live_vlan_expressions_compile_as_tcpdump(seed: int, live_device: Netns) -> None:
    """Seeded random expressions with ``vlan`` or ``vlan N`` before, after or inside them."""
    r = random.Random(seed)
    cases = []
    for i, expression in enumerate(random_expressions(seed, 120)):
        vlan = r.choice(["vlan", "vlan 10", "vlan 4095", "not vlan"])
        expression = r.choice([f"{vlan} and {expression}", f"{expression} and {vlan}", f"{vlan} or ({expression})",
                               f"vlan and ({expression}) and {vlan}"])
        cases.append((expression, ["-i", "v0", "-d"] if i % 2 else ["-i", "v0", "-O", "-d"], i % 2 == 1))
    with ThreadPoolExecutor(max_workers=8) as pool:
        expected = list(pool.map(lambda case: tcpdump(case[0], *case[1], netns=live_device), cases))
    differ = [(expression, want) for (expression, _, optimize), want in zip(cases, expected, strict=True)
              if ours(expression, special_vlan_handling=True, optimize=optimize) != want]
    assert not differ, f"{len(differ)} of {len(cases)} differ, the first: {differ[0]}"


@pytest.mark.parametrize("expression", RAW_CORPUS)
def test_raw_ip_programs_match_tcpdump_reading_a_raw_file(expression: str, raw_file: Path) -> None:
    """For DLT_RAW the IP header is at offset 0 and ``ip``/``ip6`` test its version nibble."""
    assert ours(expression, linktype=DLT_RAW, savefile=True) == tcpdump(expression, "-r", str(raw_file), "-d")
    assert ours(expression, linktype=DLT_RAW, savefile=True, optimize=False) == tcpdump(
        expression, "-r", str(raw_file), "-O", "-d")


@pytest.mark.parametrize("expression", DUMPS)
def test_dd_and_ddd_print_as_tcpdump(expression: str) -> None:
    assert ours(expression, 2) == tcpdump(expression, "-dd")
    assert ours(expression, 3) == tcpdump(expression, "-ddd")


@pytest.mark.parametrize(("expression", "snaplen"), SNAPLENS)
def test_snaplen_is_the_accept_return(expression: str, snaplen: int) -> None:
    assert ours(expression, snaplen=snaplen) == tcpdump(expression, "-s", str(snaplen), "-d")


@pytest.mark.parametrize("expression", ERRORS)
def test_refusals_say_what_libpcap_says(expression: str) -> None:
    expected = tcpdump(expression, "-d")
    assert expected.startswith("ERR ")
    assert ours(expression) == expected


@pytest.mark.parametrize("expression", ERRORS_RAW)
def test_raw_ip_refusals_say_what_libpcap_says(expression: str, raw_file: Path) -> None:
    expected = tcpdump(expression, "-r", str(raw_file), "-d")
    assert expected.startswith("ERR ")
    assert ours(expression, linktype=DLT_RAW, savefile=True) == expected


@pytest.mark.parametrize("expression", ["inbound", "outbound or icmp", "ifindex 2", "tcp and not inbound"])
def test_what_a_savefile_lacks(expression: str, tmp_path: Path) -> None:
    """Packet metadata (direction, interface) compiles for a live Ethernet capture and is refused
    for an Ethernet capture file, as libpcap refuses it reading one."""
    path = tmp_path / "eth.pcap"
    PcapWriter(path).close()
    assert ours(expression) == tcpdump(expression, "-d")
    expected = tcpdump(expression, "-r", str(path), "-d")
    assert expected.startswith("ERR ") and ours(expression, savefile=True) == expected


def test_long_programs_need_long_jumps() -> None:
    """Branches over more than 255 instructions go through ``ja`` (icode_to_fcode's longjt)."""
    expression = " or ".join(f"host 10.0.0.{i}" for i in range(1, 41))
    unoptimised = ours(expression, optimize=False)
    assert " ja " in unoptimised
    assert unoptimised == tcpdump(expression, "-O", "-d")
    assert ours(expression) == tcpdump(expression, "-d")


def test_api_defaults() -> None:
    """An empty expression accepts everything; ``ip broadcast`` needs a known netmask; the
    errors are ValueErrors; names nobody resolves are unknown."""
    assert pcap_compile("") == [(0x06, 0, 0, 262144)]
    assert pcap_compile("   ", snaplen=1500, linktype=DLT_EN10MB) == [(0x06, 0, 0, 1500)]
    with pytest.raises(ValueError, match="netmask not known, so 'ip broadcast' not supported"):
        pcap_compile("ip broadcast", netmask=PCAP_NETMASK_UNKNOWN)
    assert (0x45, 0, 2, 0xFF) in pcap_compile("ip broadcast", netmask=0xFFFFFF00)  # jset the host part
    with pytest.raises(FilterError, match="unknown host 'localhost'"):
        pcap_compile("host localhost")
    two = pcap_compile("host h", resolve_host=lambda name: [0x0A000001, 0x0A000002], optimize=False)
    # each address as IPv4, ARP and RARP source and destination, the two ORed
    assert sum(1 for code, _, _, k in two if code == 0x15 and k in (0x0A000001, 0x0A000002)) == 12


# the random expressions' vocabulary
_WORDS = ("host net port portrange src dst proto ether ip ip6 arp rarp tcp udp icmp icmp6 sctp igmp and or "
          "not ! && || ( ) [ ] : + - * / % & | ^ << >> = == != < > <= >= len less greater broadcast "
          "multicast mask 1.2.3.4 10.0.0.0 255.0.0.0 10 0 1 2 4 80 443 53 0x800 1:2:3:4:5:6 localhost "
          "http domain tcpflags tcp-syn icmptype icmp-echo 8 / 16 24 1-2 byte llc iso stp ::1 link").split()
_PRIMITIVES = [
    "host {a}", "src host {a}", "dst net {n}", "net {n}", "port {p}", "tcp port {p}", "udp dst port {p}",
    "portrange {p}-{q}", "tcp src portrange {p}-{q}", "ip", "ip6", "arp", "tcp", "udp", "icmp",
    "ether host 1:2:3:4:5:6", "ether src 1:2:3:4:5:6", "broadcast", "multicast", "ip multicast",
    "ip broadcast", "less {k}", "greater {k}", "ip proto {k}", "ether proto {e}", "proto \\udp",
    "{x} {rel} {x}", "src or dst host {a}", "src and dst port {p}", "host localhost", "port http",
    "port domain", "ip6 host ::1", "llc", "iso", "stp", "ip6 multicast", "icmp6", "sctp port {p}",
]
_ARITH = ["{k}", "len", "ip[{k}]", "tcp[{k}]", "udp[{k}:2]", "icmp[icmptype]", "ip[{k}:4]", "ether[{k}]",
          "ip6[{k}]", "icmp6[0]", "tcp[tcpflags]", "arp[{k}:2]", "link[{k}:2]"]


def _arith(r: random.Random, depth: int = 0) -> str:
    if depth > 2 or r.random() < 0.5:
        return r.choice(_ARITH).format(k=r.choice([0, 1, 2, 6, 9, 12, 13, 20]))
    op = r.choice(["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"])
    if op in ("/", "%", "<<", ">>"):
        return f"{_arith(r, depth + 1)} {op} {r.choice([1, 2, 3, 4, 8])}"
    text = f"{_arith(r, depth + 1)} {op} {_arith(r, depth + 1)}"
    return f"({text})" if r.random() < 0.3 else text


def _primitive(r: random.Random) -> str:
    return r.choice(_PRIMITIVES).format(
        a=r.choice(["1.2.3.4", "10.0.0.1", "192.168.1.1"]), p=r.choice([22, 53, 80, 443]), q=r.choice([1000, 2000]),
        n=r.choice(["10.0.0.0/8", "192.168", "172.16.0.0 mask 255.240.0.0"]), k=r.choice([0, 1, 13, 64, 100]),
        e=r.choice(["0x800", "0x806", "\\ip", "\\arp"]), x=_arith(r), rel=r.choice(["=", "!=", ">", "<", ">=", "<="]))


def _structured(r: random.Random, depth: int = 0) -> str:
    if depth > 4 or r.random() < 0.3:
        text = _primitive(r)
        return f"{text} or {r.choice(['1.2.3.4', '80', '443', '10.1.0.0/16'])}" if r.random() < 0.2 else text
    roll = r.random()
    if roll < 0.15:
        return f"not {_structured(r, depth + 1)}"
    if roll < 0.3:
        return f"({_structured(r, depth + 1)})"
    return f"{_structured(r, depth + 1)} {r.choice(['and', 'or', '&&', '||'])} {_structured(r, depth + 1)}"


def random_expressions(seed: int, count: int) -> list[str]:
    """Structured expressions of the grammar, and token soups of its words."""
    r = random.Random(seed)
    return [_structured(r) if r.random() < 0.6 else " ".join(r.choices(_WORDS, k=r.randint(1, 6)))
            for _ in range(count)]


@pytest.mark.parametrize("seed", [20240611, 7])
def test_random_expressions_compile_or_fail_as_tcpdump(seed: int, raw_file: Path) -> None:
    """A few hundred seeded random expressions: each refused by both with the same message, or
    compiled by both to the same program, optimised, unoptimised, or for raw IP."""
    cases = []
    for i, expression in enumerate(random_expressions(seed, 200)):
        mode = i % 3
        args = (["-d"], ["-O", "-d"], ["-r", str(raw_file), "-d"])[mode]
        kwargs = ({}, {"optimize": False}, {"linktype": DLT_RAW, "savefile": True})[mode]
        cases.append((expression, args, kwargs))
    with ThreadPoolExecutor(max_workers=8) as pool:
        expected = list(pool.map(lambda case: tcpdump(case[0], *case[1]), cases))
    differ = [(expression, args, want, ours(expression, **kwargs))
              for (expression, args, kwargs), want in zip(cases, expected, strict=True)
              if ours(expression, **kwargs) != want]
    assert not differ, f"{len(differ)} of {len(cases)} differ, the first: {differ[0]}"
