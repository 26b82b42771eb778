"""tcpdump as a program on a host (a packet socket, its frames printed by tuxnet's tcpdump printer):
the lines and times the device's own capture gives, pcap-filter's primitives and how they join,
promiscuous mode on a hub and ``-p``, loopback heard once, and tcpdump's errors, word for word as
this machine's tcpdump 4.99.3 prints them; the files it writes (``-w``, ``-s``, ``-U``) read back
by that tcpdump as the lines it printed live, the files it reads (``-r``) printed as that tcpdump
prints them, the files libpcap refuses refused in its words, and Ctrl-C (SIGINT) ending a capture
with its counts."""

from __future__ import annotations

import contextlib
import os
import random
import re
import shlex
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from netlab import capture, lan, run

from topologies import TWO_HOSTS
from tuxnet.kernel.signal import SIGINT, send_sig
from tuxnet.net.core.filter import bpf_check_classic
from tuxnet.net.socket import AF_INET, SOCK_DGRAM, SOCK_STREAM
from tuxnet.topology import load_topology
from tuxnet.trace.addrtoname import OUI_NAMES, AddrToName
from tuxnet.trace.pcap import DLT_EN10MB, DLT_RAW, MAGIC_USEC, PcapReader, PcapWriter, read_pcap
from tuxnet.trace.tcpdump import TcpdumpPrinter
from tuxnet.user import libc
from tuxnet.user.etc import NETWORKS, PROTOCOLS, SERVICES, install_base_files
from tuxnet.user.libpcap import FilterError, pcap_compile
from tuxnet.user.libpcap.bpf_filter import bpf_filter
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
    rc, lines = dump(world, h2, ["-n", "-c", "8"], lambda: traffic(world, h1))
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


# -- capture files: -w, -r, -U, and Ctrl-C ------------------------------------------------------

def real_tcpdump(*args: str) -> subprocess.CompletedProcess[str]:
    """This machine's tcpdump (skips without it); ``-Z root`` keeps it from giving up root before
    it writes a file into a directory only root may enter."""
    binary = shutil.which("tcpdump")
    if binary is None:
        pytest.skip("tcpdump is not installed (apt-get install tcpdump)")
    return subprocess.run([binary, "-Z", "root", *args], capture_output=True, text=True, encoding="latin-1",
                          env={**os.environ, "TZ": "UTC"})


def traffic_file(tmp_path: Path) -> tuple[Path, list[tuple[int, bytes]]]:
    """The traffic above as h2's device saw it, in a nanosecond pcap file."""
    world, (h1, h2), _ = lan(2)
    cap = capture(h2, "eth0")
    traffic(world, h1)
    frames = [(t, frame) for t, frame, _ in cap.frames]
    path = tmp_path / "traffic.pcap"
    with PcapWriter(path) as writer:
        for t, frame in frames:
            writer.write(t, frame)
    return path, frames


def test_written_file_is_the_capture_tcpdump_reads_back(tmp_path):
    world, (h1, h2), _ = lan(2)
    cap = capture(h2, "eth0")
    path = tmp_path / "h2.pcap"
    rc, lines = dump(world, h2, ["-c", "8", "-w", str(path)], lambda: traffic(world, h1))
    # nothing printed but the banner (to stderr in tcpdump, prefixed) and the counts
    assert rc == 0 and lines == ["tcpdump: " + BANNER[1], "8 packets captured", "8 packets received by filter",
                                 "0 packets dropped by kernel"]
    data = path.read_bytes()
    # the file tcpdump -w writes: microsecond times, the snapshot length, Ethernet
    assert struct.unpack_from("<IHHiIII", data) == (MAGIC_USEC, 2, 4, 0, 0, 262144, DLT_EN10MB)
    printer = TcpdumpPrinter()
    expected = [printer.format(t, frame) for t, frame, _ in cap.frames[:8]]
    result = real_tcpdump("-n", "-r", str(path))
    assert result.returncode == 0 and result.stdout.splitlines() == expected
    assert result.stderr == f"reading from file {path}, link-type EN10MB (Ethernet), snapshot length 262144\n"
    before = len(h1.output())
    assert run(world, h1, tcpdump_main, ["-n", "-r", str(path)]) == 0
    assert h1.output()[before:].splitlines() == result.stderr.splitlines() + expected


@pytest.mark.parametrize("args", [
    ["icmp"], ["-c", "3", "udp", "or", "arp"], ["-e", "-v", "not", "icmp"], ["-q", "-tt"], ["-S", "-X", "udp"],
    ["-c", "1", "port", "9999"],
])
def test_reading_a_file_prints_what_tcpdump_prints(tmp_path, args):
    path, _ = traffic_file(tmp_path)
    result = real_tcpdump("-n", "-r", str(path), *args)
    world, (h1, _), _ = lan(2)
    before = len(h1.output())
    assert run(world, h1, tcpdump_main, ["-n", "-r", str(path), *args]) == result.returncode == 0
    assert h1.output()[before:] == result.stderr + result.stdout


def test_copying_a_file_with_a_filter_keeps_each_record_as_it_was(tmp_path):
    """-r with -w: the matching records copied, times and lengths as they were (to the
    microsecond: tcpdump writes microsecond files)."""
    path, frames = traffic_file(tmp_path)
    copy = tmp_path / "udp.pcap"
    world, (h1, _), _ = lan(2)
    assert run(world, h1, tcpdump_main, ["-r", str(path), "-w", str(copy), "udp"]) == 0
    reader = PcapReader(copy.open("rb"))
    assert (reader.linktype, reader.snaplen, reader.nanosecond) == (DLT_EN10MB, 262144, False)
    udp = [(t // 1000 * 1000, frame, len(frame)) for t, frame in frames if frame[23] == 17]
    assert len(udp) == 2 and list(reader) == udp


def test_snapshot_length_packet_buffering_and_ctrl_c(tmp_path):
    """-s 60 -U: each record cut to 60 bytes, its length on the wire kept, and in the file as soon
    as it is captured; SIGINT then ends the capture with its counts, as Ctrl-C does."""
    world, (h1, h2), _ = lan(2)
    path = tmp_path / "cut.pcap"
    before = len(h2.output())
    proc = h2.spawn(tcpdump_main, ["-s", "60", "-U", "-w", str(path), "icmp"])
    world.run_for(1000)
    run(world, h1, ping_main, ["-c", "1", "10.0.0.2"])
    world.run_for(10**9)
    assert proc.alive
    records = list(PcapReader(path.open("rb")))
    assert [(len(frame), length) for _, frame, length in records] == [(60, 98), (60, 98)]
    send_sig(SIGINT, proc)
    world.run_for(1000)
    assert not proc.alive and proc.result == 0
    assert h2.output()[before:].splitlines()[1:] == ["2 packets captured", "2 packets received by filter",
                                                      "0 packets dropped by kernel"]
    result = real_tcpdump("-n", "-r", str(path))
    before = len(h1.output())
    assert run(world, h1, tcpdump_main, ["-n", "-r", str(path)]) == 0
    assert h1.output()[before:] == result.stderr + result.stdout
    assert "[|icmp]" in result.stdout or "ICMP echo request" in result.stdout


def test_a_topology_run_ends_tcpdump_as_ctrl_c_would(tmp_path):
    """A tcpdump with neither -c nor an end of its own, at the end of `tuxnet run`: its counts,
    and its file closed, whole."""
    path = tmp_path / "r.pcap"
    net = load_topology("t.toml", text=TWO_HOSTS + f"""
[[run]]
host = "b"
cmd = "tcpdump -n -w {path} icmp"
[[run]]
host = "a"
cmd = "ping -c 2 10.0.0.2"
at = "1s"
""")
    net.start()
    net.run()
    assert net.output().split("== b ==\n")[1].splitlines()[1:] == [
        "4 packets captured", "4 packets received by filter", "0 packets dropped by kernel"]
    assert len(read_pcap(path)[1]) == 4


def broken_files(tmp_path: Path) -> dict[str, Path]:
    path, _ = traffic_file(tmp_path)
    whole = path.read_bytes()
    files = {"empty": b"", "text": b"not a capture file", "short header": whole[:10],
             "short record header": whole[:30], "short record": whole[:90],
             "archaic": whole[:4] + struct.pack("<H", 1) + whole[6:]}
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / (name.replace(" ", "_") + ".pcap")
        paths[name].write_bytes(data)
    return paths


@pytest.mark.parametrize("case", ["empty", "text", "short header", "short record header", "short record",
                                  "archaic", "missing"])
def test_files_libpcap_refuses(tmp_path, case):
    path = broken_files(tmp_path).get(case, tmp_path / "missing.pcap")
    result = real_tcpdump("-n", "-r", str(path))
    world, (h1, _), _ = lan(2)
    before = len(h1.output())
    assert run(world, h1, tcpdump_main, ["-n", "-r", str(path)]) == result.returncode == 1
    # tcpdump writes its packets to stdout and its messages to stderr; here one console holds both
    ours = h1.output()[before:].splitlines()
    assert sorted(ours) == sorted(result.stderr.splitlines() + result.stdout.splitlines())
    assert ours[-1] == result.stderr.splitlines()[-1]


def test_a_file_that_cannot_be_written(tmp_path):
    path, _ = traffic_file(tmp_path)
    target = str(tmp_path / "no" / "such" / "dir.pcap")
    result = real_tcpdump("-r", str(path), "-w", target)
    world, (h1, h2), _ = lan(2)
    before = len(h1.output())
    assert run(world, h1, tcpdump_main, ["-r", str(path), "-w", target]) == result.returncode == 1
    assert h1.output()[before:] == result.stderr
    assert run(world, h2, tcpdump_main, ["-w", target]) == 1
    assert h2.output().endswith(f"tcpdump: {target}: No such file or directory\n")


def test_link_types_it_cannot_print_and_the_standard_streams(tmp_path):
    path = tmp_path / "sll.pcap"
    with PcapWriter(path, linktype=113) as writer:
        writer.write(1, bytes(40))
    world, (h1, _), _ = lan(2)
    before = len(h1.output())
    assert run(world, h1, tcpdump_main, ["-r", str(path)]) == 1
    assert h1.output()[before:] == (f"reading from file {path}, link-type LINUX_SLL (Linux cooked v1), snapshot length "
                                    "262144\ntcpdump: packet printing is not supported for link type 113: use -w\n")
    # ...but it copies them
    copy = tmp_path / "copy.pcap"
    assert run(world, h1, tcpdump_main, ["-r", str(path), "-w", str(copy)]) == 0
    assert read_pcap(copy) == (113, [(0, bytes(40))])
    for args in (["-w", "-"], ["-r", "-"]):
        before = len(h1.output())
        assert run(world, h1, tcpdump_main, args) == 1
        assert "not its standard input or output" in h1.output()[before:]


# -- names: without -n -------------------------------------------------------------------------

HOSTS = "127.0.0.1\tlocalhost\n10.0.0.1\th1.lan h1\n"


def real_tcpdump_with(files: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """This machine's tcpdump with ``files`` (path → text) in place of its own /etc files, in a
    mount namespace, and in a network namespace of its own, where a nameserver query fails at
    once (skips where namespaces cannot be made)."""
    if shutil.which("tcpdump") is None or shutil.which("unshare") is None:
        pytest.skip("tcpdump or unshare is not installed")
    mounts = []
    for i, (target, text) in enumerate(files.items()):
        source = tmp_path / f"etc{i}"
        source.write_text(text)
        mounts.append(f"mount --bind {source} {target}")
    script = " && ".join([*mounts, "exec tcpdump -Z root " + " ".join(args)])
    result = subprocess.run(["unshare", "-m", "-n", "sh", "-c", script], capture_output=True, text=True,
                            encoding="latin-1", env={**os.environ, "TZ": "UTC"})
    if "unshare failed" in result.stderr or "mount: " in result.stderr:
        pytest.skip(f"no namespaces here: {result.stderr.strip()}")
    return result


def services_traffic(world, h1) -> None:
    """A ping, datagrams to ports with and without names (refused: ICMP port unreachable back),
    and connections to TCP ports with and without them (refused: RST back), from h1 to 10.0.0.2."""
    def udp(port: int) -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.sendto(fd, b"x" * 12, 0, ("10.0.0.2", port))
        libc.close(fd)

    def tcp(port: int) -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        with contextlib.suppress(ConnectionRefusedError):
            libc.connect(fd, ("10.0.0.2", port))
        libc.close(fd)

    assert run(world, h1, ping_main, ["-c", "1", "10.0.0.2"]) == 0
    for port in (13, 9999, 80, 7, 37):
        run(world, h1, udp, port)
    for port in (80, 22, 8080, 4444):
        run(world, h1, tcp, port)
    world.run_for(10**9)


@pytest.mark.parametrize("args", [[], ["-e"], ["-N", "-v"], ["-q", "icmp"]])
def test_names_as_tcpdump_prints_them(tmp_path, args):
    """Hosts from /etc/hosts (the first name; -N its first label) and numbers where neither it
    nor a nameserver knows one, ports from /etc/services, Ethernet addresses with their vendor
    (Broadcast for all ones): what this machine's tcpdump prints given the host's files."""
    world, (h1, h2), _ = lan(2)
    install_base_files(h2, hosts={"10.0.0.1": ["h1.lan", "h1"]})
    path = tmp_path / "h2.pcap"
    proc = h2.spawn(tcpdump_main, ["-w", str(path)])
    world.run_for(1000)
    services_traffic(world, h1)
    send_sig(SIGINT, proc)
    world.run_for(1000)
    assert proc.result == 0
    result = real_tcpdump_with({"/etc/hosts": h2.files["/etc/hosts"], "/etc/services": SERVICES,
                                "/etc/resolv.conf": "nameserver 127.0.0.1\n"}, tmp_path, "-r", str(path), *args)
    assert result.returncode == 0
    before = len(h2.output())
    assert run(world, h2, tcpdump_main, ["-r", str(path), *args]) == 0
    ours = h2.output()[before:]
    assert ours == result.stderr + result.stdout
    assert ("h1.lan" if "-N" not in args else " h1.") in ours
    if not args:
        for expected in (".daytime: UDP", ".9999: UDP", ".http: Flags [S]", ".ssh: Flags [S]",
                         ".http-alt: Flags [S]", ".4444: Flags [S]", "udp port time unreachable",
                         "udp port 80 unreachable"):
            assert expected in ours


def test_live_names_and_ethers():
    """The live capture names hosts and Ethernet addresses too: /etc/ethers before the vendor."""
    world, (h1, h2), _ = lan(2)
    install_base_files(h2, hosts={"10.0.0.1": ["h1"]})
    h2.files["/etc/ethers"] = "02:00:00:00:00:01 h1-nic\n# a comment\nnot a line\n"
    rc, lines = dump(world, h2, ["-e", "-c", "2", "arp"], lambda: traffic(world, h1))
    assert rc == 0
    assert lines[2][16:] == ("h1-nic > Broadcast, ethertype ARP (0x0806), length 60: "
                             "Request who-has 10.0.0.2 tell h1, length 46")
    assert lines[3][16:].startswith("02:00:00:00:00:03 (oui Unknown) > h1-nic, ethertype ARP (0x0806), length 42: "
                                    "Reply 10.0.0.2 is-at 02:00:00:00:00:03 (oui Unknown)")


def test_every_vendor_tcpdump_names(tmp_path):
    """Each OUI of tcpdump's table, and one it does not know, as this machine's tcpdump prints
    them in -e's link-level header."""
    frames = [(i * 1000, bytes.fromhex("ffffffffffff") + oui.to_bytes(3, "big") + b"\x00\x00\x01\x88\xb5")
              for i, oui in enumerate([*OUI_NAMES, 0x020000])]
    path = tmp_path / "oui.pcap"
    with PcapWriter(path) as writer:
        for ts, frame in frames:
            writer.write(ts, frame)
    result = real_tcpdump("-e", "-r", str(path))
    names = AddrToName(lambda addr: None, [])
    printer = TcpdumpPrinter(link_level=True, names=names)
    assert [printer.format(ts, frame) for ts, frame in frames] == result.stdout.splitlines()


# -- pcap-filter: loads, arithmetic, more primitives, and how and/or bind ------------------------

@pytest.fixture(scope="module")
def services_file(tmp_path_factory):
    """The services traffic as h2 saw it, in a file, and h2 (its /etc files as a distribution's)."""
    tmp_path = tmp_path_factory.mktemp("services")
    world, (h1, h2), _ = lan(2)
    install_base_files(h2, hosts={"10.0.0.1": ["h1.lan", "h1"]})
    cap = capture(h2, "eth0")
    services_traffic(world, h1)
    path = tmp_path / "services.pcap"
    with PcapWriter(path) as writer:
        for t, frame, _ in cap.frames:
            writer.write(t, frame)
    return path, world, h2


FILTERS = [
    "tcp[13] & 2 != 0", "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", "tcp[tcpflags] & tcp-rst != 0",
    "ip[2:2] > 80", "icmp[icmptype] == icmp-echo", "icmp[icmptype] = icmp-unreach and icmp[icmpcode] = 3",
    "len >= 90", "len - 10 > 40", "less 60", "greater 0x50", "(tcp[13] & 2) != 0", "((1)) = 1", "1 + 2 * 3 = 7",
    "ip[0] & 0xf > 5", "udp[2:2] == 9999", "udp[8:4] / 0 = 1", "tcp[-1] = 0", "tcp[100] = 1 or icmp",
    "not tcp[100] = 1", "ether[0] & 1 = 1", "arp[7] = 2", "ip[9] = 17 && udp[2:2] < 100", "ip[16:4] >> 24 == 10",
    "port 80 or 22", "port 80 or 22 and udp", "udp and port 80 or 22", "tcp portrange 20-90", "portrange 80",
    "src 10.0.0.1 or dst 10.0.0.1 or 5", "host 10.1", "ether host 02:00:00:00:00:01", "ether src 2:0:0:0:0:3",
    "ether broadcast", "multicast", "broadcast or multicast", "ip multicast", "ip broadcast", "ether proto \\arp",
    "ether proto 0x800", "ip proto \\udp", "proto 6", "ip6", "ip6 and tcp", "icmp6", "not ip6",
    "net 10.0.0.0 mask 255.255.255.0", "ip net 10.0.0.0/8 or 1.2.3.4",
    # refused, in libpcap's words
    "tcp[13:3] = 1", "ether net 1.2.3.4", "ether port 80", "udp broadcast", "tcp proto 6", "ether host zz",
    "proto \\foo", "ether proto \\foo", "net 10.0.0.1 mask 255.255.255.0", "tcp and 10.0.0.1", "arp and 10.0.0.1",
    "port 80 or udp or 22", "tcp[13] = 2 or 5", "(tcp) and (10.0.0.1)", "ip proto 1 or 10.0.0.9",
    "portrange x-y", "portrange 80-", "tcp portrange 1-70000", "less x", "ip[1:2", "tcp[0:2] = http",
    "foo $ bar", "5 = 5 and 10.0.0.1", "1 % 0 = 1", "icmp[icmpcode] / icmptype = 0", "udp port 0x35",
    "tcp[13] & 2 != 0 and not (port 80 or port 22)",
]


@pytest.mark.parametrize("expression", FILTERS)
def test_filters_as_libpcap_compiles_them(services_file, tmp_path, expression):
    path, world, h2 = services_file
    result = real_tcpdump("-n", "-r", str(path), expression)
    before = len(h2.output())
    assert run(world, h2, tcpdump_main, ["-n", "-r", str(path), expression]) == result.returncode
    assert h2.output()[before:] == result.stderr + result.stdout


def test_names_in_filters(services_file, tmp_path):
    """``host NAME``, ``port NAME``, ``proto \\NAME`` and ``net NAME`` resolved as the filter is
    compiled, by the host's files (/etc/hosts, /etc/services, /etc/protocols, /etc/networks)."""
    path, world, h2 = services_file
    files = {"/etc/hosts": h2.files["/etc/hosts"], "/etc/services": SERVICES, "/etc/protocols": PROTOCOLS,
             "/etc/networks": NETWORKS, "/etc/resolv.conf": "nameserver 127.0.0.1\n"}
    for expression in ("host h1 and port http", "src h1.lan and (port ssh or port http-alt)", "host nosuch",
                       "port nosuch", "udp port daytime or tcp port 4444", "udp port http", "tcp port time",
                       "portrange ssh-http", "ip proto \\ospf or proto \\udp or src net loopback", "proto \\nosuch",
                       "net nosuch"):
        result = real_tcpdump_with(files, tmp_path, "-n", "-r", str(path), shlex.quote(expression))
        before = len(h2.output())
        assert run(world, h2, tcpdump_main, ["-n", "-r", str(path), expression]) == result.returncode
        assert h2.output()[before:] == result.stderr + result.stdout, expression


def test_odd_expressions_and_frames_never_crash():
    """Token soup either compiles or is refused with FilterError; what compiles is a program the
    kernel accepts (``bpf_check_classic``), and it answers for any frame, short, cut or random,
    without raising, run in user space as in the kernel."""
    vocabulary = ["tcp", "udp", "ip", "ip6", "arp", "icmp", "ether", "host", "net", "port", "portrange", "src",
                  "dst", "and", "or", "not", "!", "(", ")", "[", "]", ":", "=", "!=", ">", "<", "&", "|", "+",
                  "-", "*", "/", "%", "<<", ">>", "^", "0", "1", "2", "4", "13", "0x10", "10.0.0.1", "10.0",
                  "80-90", "len", "tcpflags", "tcp-syn", "icmptype", "broadcast", "multicast", "proto", "\\tcp",
                  "less", "greater", "mask", "255.0.0.0", "02:00:00:00:00:01", "http", "h1", "99999", "08"]
    rng = random.Random(7)
    frames = [b"", bytes(13), bytes(14), bytes(40)]
    frames += [bytes(rng.randrange(256) for _ in range(rng.randrange(80))) for _ in range(40)]
    ip_frame = bytes.fromhex("ffffffffffff020000000001080045000028000100004006") + bytes(26)
    frames += [ip_frame[:n] for n in range(0, len(ip_frame), 3)]
    compiled = 0
    for _ in range(3000):
        expression = " ".join(rng.choice(vocabulary) for _ in range(rng.randrange(1, 9)))
        try:
            program = pcap_compile(expression, resolve_host=lambda name: [0x0A000001] if name == "h1" else None,
                                   resolve_port=lambda name, proto: 80 if (name, proto) == ("http", "tcp") else None)
        except FilterError:
            continue
        compiled += 1
        assert bpf_check_classic(program), expression
        for frame in frames:
            assert bpf_filter(program, frame, len(frame)) in (0, 262144), expression
    assert compiled > 50


# -- the filter as a program: compiled as libpcap compiles it, run by the kernel -----------------

DUMPED = ["icmp", "tcp port 80 and not src 10.0.0.1", "ip broadcast", "udp[8:4] / 3 = 1 or less 60",
          "arp or (ether multicast and not ip)", ""]


@pytest.mark.parametrize("args", [["-d"], ["-dd"], ["-ddd"], ["-O", "-d"], ["-s", "96", "-d"], ["-i", "eth0", "-d"]],
                         ids=" ".join)
def test_the_program_as_tcpdump_prints_it(args):
    """``-d``, ``-dd``, ``-ddd``: the program this machine's tcpdump prints for the expression
    (its "assuming Ethernet" warning first where no device is named: its lo for our eth0, both
    Ethernet), and nothing captured."""
    world, (h1, _), _ = lan(2)
    for expression in DUMPED:
        result = real_tcpdump(*[("lo" if arg == "eth0" else arg) for arg in args], expression)
        before = len(h1.output())
        assert run(world, h1, tcpdump_main, [*args, *expression.split()]) == result.returncode == 0
        assert h1.output()[before:] == result.stderr + result.stdout, expression
    assert h1.dev("eth0").promiscuity == 0


NUMBERS = [["-s", "0x10"], ["-s", "010"], ["-s", " 96"], ["-s", "4294967396"], ["-s", "5x"], ["-s", ""],
           ["-s", "262145"], ["-c", "5x"], ["-c", " 2"], ["-c", "1_0"], ["-c", "4294967297"], ["-c", "0"],
           ["-c", "99999999999999999999"], ["-c", "+3"]]


@pytest.mark.parametrize("args", NUMBERS, ids=" ".join)
def test_counts_and_snapshot_lengths_read_as_tcpdump_reads_them(args):
    """``-c`` by ``atoi`` (what follows the number let be, the long cut to an int) and ``-s`` by
    ``(int) strtol(optarg, &end, 0)`` (0x hexadecimal, 0 octal, nothing after): the same program
    (its ``ret`` the snapshot length) or the same refusal as this machine's tcpdump."""
    world, (h1, _), _ = lan(2)
    result = real_tcpdump(*args, "-d", "icmp")
    before = len(h1.output())
    assert run(world, h1, tcpdump_main, [*args, "-d", "icmp"]) == result.returncode
    assert h1.output()[before:] == result.stderr + result.stdout


def test_the_program_for_a_files_link_type(tmp_path):
    """``-r FILE -d``: compiled for the file's link type and snapshot length (raw IP: the header
    at the frame's start, IPv4 told from IPv6 by its version), and the file's frames filtered by
    the same program run in user space (``bpf_filter``)."""
    path, frames = traffic_file(tmp_path)
    raw = tmp_path / "raw.pcap"
    with PcapWriter(raw, linktype=DLT_RAW, snaplen=1500) as writer:
        for t, frame in frames:
            if frame[12:14] == b"\x08\x00":
                writer.write(t, frame[14:])
    world, (h1, _), _ = lan(2)
    for args in (["-d", "icmp or udp port 5000"], ["-ddd", "-O", "ip[9] = 17"], ["-n", "udp port 9999 or icmp"],
                 ["-n", "-c", "2", "not icmp"]):
        for file in (path, raw):
            result = real_tcpdump("-r", str(file), *args)
            before = len(h1.output())
            assert run(world, h1, tcpdump_main, ["-r", str(file), *args]) == result.returncode == 0
            assert h1.output()[before:] == result.stderr + result.stdout, (file.name, args)


def _packet_socket(dev):
    """The packet socket listening on the device (tcpdump's)."""
    (hook,) = dev.ptype_all
    return hook.af_packet_priv


def test_the_kernel_runs_the_filter():
    """tcpdump hands the program to its packet socket (``SO_ATTACH_FILTER``, every accepting return
    made the largest snapshot by libpcap's ``fix_program``, since the socket has no ring): the
    frames it rejects never reach the socket, and "received by filter" is the kernel's count of
    those it passed (``PACKET_STATISTICS``)."""
    world, (h1, h2), _ = lan(2)
    before = len(h2.output())
    proc = h2.spawn(tcpdump_main, ["-n", "-s", "100", "udp port 5000"])
    world.run_for(1000)
    sk = _packet_socket(h2.dev("eth0"))
    program = pcap_compile("udp port 5000", snaplen=100)
    assert sk.sk_filter == [(code, jt, jf, 262144 if code == 0x06 and k else k) for code, jt, jf, k in program]
    heard = []
    hook = sk.sk_data_ready
    sk.sk_data_ready = lambda: (heard.append(sk.sk_receive_queue[-1][0]), hook())
    traffic(world, h1)
    assert len(heard) == 1 and heard[0][36:38] == (5000).to_bytes(2, "big")
    send_sig(SIGINT, proc)
    world.run_for(1000)
    # Ctrl-C: the line tcpdump may have been printing ended, then the counts
    assert h2.output()[before:].splitlines()[3:] == ["", "1 packet captured", "1 packet received by filter",
                                                      "0 packets dropped by kernel"]


def test_loopback_counts_each_frame_twice():
    """On ``lo`` the filter passes each frame going out and again coming in, and the kernel counts
    both; libpcap prints one (this machine's tcpdump: ``-c 2 icmp`` and one ping, "2 packets
    captured, 4 packets received by filter", as ``tests/tap/test_tcpdump_vs_linux.py`` shows)."""
    world, (h1, _), _ = lan(2)
    rc, lines = dump(world, h1, ["-i", "lo", "-n", "-c", "2", "icmp"],
                     lambda: run(world, h1, ping_main, ["-c", "1", "127.0.0.1"]))
    assert rc == 0 and lines[-3:] == ["2 packets captured", "4 packets received by filter",
                                      "0 packets dropped by kernel"]


def test_the_expression_from_a_file(tmp_path):
    """``-F FILE``: the expression read from a file, comments blanked and lines joined, the
    command line's words ignored; a file that cannot be read, in tcpdump's words."""
    path, _ = traffic_file(tmp_path)
    expr = tmp_path / "filter"
    expr.write_text("# only the second datagram\nudp port 9999 # and its ICMP\n  or icmp[icmptype] = 3\n")
    world, (h1, _), _ = lan(2)
    for args in (["-n", "-F", str(expr)], ["-n", "-F", str(expr), "arp"], ["-d", "-F", str(expr)],
                 ["-n", "-F", str(tmp_path / "none")], ["-n", "-F", str(tmp_path)]):
        result = real_tcpdump("-r", str(path), *args)
        before = len(h1.output())
        assert run(world, h1, tcpdump_main, ["-r", str(path), *args]) == result.returncode
        assert h1.output()[before:] == result.stderr + result.stdout, args


def test_one_direction_of_a_live_capture():
    """``-Q in``/``-Q out``: libpcap keeps the frames the device received, or those it sent (the
    filter passed both, and the kernel counted both); a word it does not know, in its words."""
    for direction, kinds in (("in", ["request", "request"]), ("out", ["reply", "reply"]), ("InOut", None)):
        world, (h1, h2), _ = lan(2)
        rc, lines = dump(world, h2, ["-n", "-Q", direction, "icmp"],
                         lambda w=world, h=h1: run(w, h, ping_main, ["-c", "2", "10.0.0.2"]))
        seen = [line.split("ICMP echo ")[1].split(",")[0] for line in lines if "ICMP echo" in line]
        assert seen == (kinds or ["request", "reply", "request", "reply"])
    world, (h1, _), _ = lan(2)
    result = real_tcpdump("-Q", "sideways", "-d", "icmp")
    assert run(world, h1, tcpdump_main, ["-Q", "sideways", "-d", "icmp"]) == result.returncode == 1
    assert h1.output() == result.stderr
