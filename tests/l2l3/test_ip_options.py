"""IPv4 options across routers (net/ipv4/ip_options.c, RFC 791 section 3.1): record route and
timestamps filled by every hop and echoed by the destination, source routes refused unless
``accept_source_route`` allows them and followed when it does, a strict route that needs a
gateway refused with ICMP, a connection whose segments all carry the route, and malformed
options answered with ICMP parameter problem and counted.  tshark judges the packets."""

from __future__ import annotations

import re
import struct

from netlab import capture, run, tshark_lines, tshark_problems, two_routers

import tuxnet.socket as tux_socket
from tuxnet.net.core.utils import in_aton
from tuxnet.net.ipv4.af_inet import IP_OPTIONS, IP_RECVERR, IPPROTO_ICMP, IPPROTO_IP, IPPROTO_RAW
from tuxnet.net.ipv4.ip_options import inet_current_timestamp
from tuxnet.net.socket import AF_INET, MSG_ERRQUEUE, SOCK_RAW, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.programs.ping import ping_main
from tuxnet.world import secs

REPLY = r"64 bytes from 10\.0\.3\.2: icmp_seq=(\d) ttl=62 time=\S+ ms"
# the way out and back: a, r1 and r2 leaving, b twice, r2 and r1 leaving towards a, a
ROUTE = ["10.0.1.1", "10.0.2.1", "10.0.3.254", "10.0.3.2", "10.0.3.2", "10.0.2.2", "10.0.1.254", "10.0.1.1"]


def block(lines: list[str], head: str) -> list[str]:
    """The entries of the ``RR:``/``TS:`` block starting at the line that starts with ``head``."""
    i = next(i for i, line in enumerate(lines) if line.startswith(head))
    entries = [lines[i][len(head):].strip("\t")]
    for line in lines[i + 1:]:
        if not line.startswith("\t"):
            break
        entries.append(line.strip("\t"))
    return entries


def test_ping_records_the_route_out_and_back(tmp_path, tshark):
    world, n = two_routers()
    cap = capture(n["b"], "eth0", tmp_path / "b.pcap")
    assert run(world, n["a"], ping_main, ["-R", "-c", "2", "10.0.3.2"]) == 0
    cap.close()
    lines = n["a"].output().splitlines()
    assert lines[0] == "PING 10.0.3.2 (10.0.3.2) 56(124) bytes of data."  # 56 + 8 + 20 + 40
    assert re.fullmatch(REPLY, lines[1])
    assert block(lines, "RR: ") == ROUTE
    assert lines[10] == "", "iputils ends a route with an empty line"
    assert re.fullmatch(REPLY + r"\t\(same route\)", lines[11])
    assert tshark_problems(tshark, tmp_path / "b.pcap") == []
    seen = tshark_lines(tshark, tmp_path / "b.pcap", "icmp.type", "ip.opt.ptr", "ip.rec_rt", "ip.hdr_len",
                        display_filter="icmp")
    # at b the request has three entries; the reply leaves with b's own twice (its arrival, and
    # the slot the reply reserves and fills as it is sent)
    assert seen[:2] == ["8\t16\t10.0.1.1,10.0.2.1,10.0.3.254\t60",
                        "0\t24\t" + ",".join(ROUTE[:5]) + "\t60"]
    # the routers made the header checksum again after writing their addresses (tshark checked)
    assert n["r1"].mib.Ip["ForwDatagrams"] == 4 and n["b"].mib.Ip["InHdrErrors"] == 0


def test_ping_timestamps_each_hop():
    world, n = two_routers()
    start = inet_current_timestamp(n["a"])
    assert run(world, n["a"], ping_main, ["-T", "tsandaddr", "-c", "1", "10.0.3.2"]) == 0
    lines = n["a"].output().splitlines()
    entries = block(lines, "TS: ")
    # four address and time pairs fit in 36 octets: a, r1 and r2 (the address the reply would
    # come from: the one facing a), b; the three hops after are counted in the overflow
    assert [e.split("\t")[0] for e in entries] == ["10.0.1.1", "10.0.1.254", "10.0.2.2", "10.0.3.2"]
    first = int(entries[0].split("\t")[1].removesuffix(" absolute"))
    assert first == start, "milliseconds since midnight UT, when a sent it"
    steps = [int(e.split("\t")[1]) for e in entries[1:]]
    assert all(s >= 0 for s in steps) and sum(steps) >= 2, "the 1 ms link, each way"
    assert "Unrecorded hops: 3" in lines
    world2, n2 = two_routers()
    assert run(world2, n2["a"], ping_main, ["-T", "tsonly", "-c", "1", "10.0.3.2"]) == 0
    assert len(block(n2["a"].output().splitlines(), "TS: ")) == 8, "eight of the nine slots: every hop"


def test_ping_usage_and_bad_timestamp_type():
    world, n = two_routers()
    assert run(world, n["a"], ping_main, ["-T", "bogus", "10.0.3.2"]) == 2
    assert run(world, n["a"], ping_main, ["-R", "10.0.1.254", "10.0.3.2"]) == 2
    out = n["a"].output()
    assert "ping: invalid timestamp type: bogus" in out and "Usage\n  ping [options] <destination>" in out


def test_a_source_route_is_dropped_unless_every_hop_accepts_it(tmp_path, tshark):
    world, n = two_routers()
    # a loose source route through r1 (ping's hosts before the destination); every host has
    # accept_source_route off on "all", as Linux starts: r1 drops it
    assert run(world, n["a"], ping_main, ["-c", "1", "-W", "1", "10.0.1.254", "10.0.3.2"]) == 1
    assert n["r1"].mib.Ip["ForwDatagrams"] == 0 and n["b"].mib.Icmp["InEchos"] == 0
    # every host the datagrams pass must accept them, a too: the reply comes by the route reversed
    for name in ("a", "r1", "r2", "b"):
        n[name].sysctl.set("net.ipv4.conf.all.accept_source_route", 1)
    cap = capture(n["b"], "eth0", tmp_path / "b.pcap")
    assert run(world, n["a"], ping_main, ["-c", "1", "10.0.1.254", "10.0.3.2"]) == 0
    cap.close()
    out = n["a"].output().splitlines()
    # the reply came back along the route reversed, r1 writing its address towards a
    assert "LSRR: \t10.0.1.254" in out
    assert tshark_problems(tshark, tmp_path / "b.pcap") == []
    hops = tshark_lines(tshark, tmp_path / "b.pcap", "icmp.type", "ip.cur_rt", "ip.dst", "ip.opt.ptr", "ip.rec_rt",
                        display_filter="icmp")
    # the request reaches b addressed to it (no hop left: no current route), r1's outgoing
    # address recorded in the route; the reply is addressed to r1 (tshark's current route), a,
    # its destination, in the route's last slot
    assert hops[:2] == ["8\t\t10.0.3.2\t8\t10.0.2.1", "0\t10.0.2.1\t10.0.1.1\t4\t"]


def test_a_strict_route_that_needs_a_gateway_is_refused():
    world, n = two_routers()
    n["r1"].sysctl.set("net.ipv4.conf.all.accept_source_route", 1)

    def send() -> tuple[int, int, int]:
        s = tux_socket.socket(tux_socket.AF_INET, tux_socket.SOCK_DGRAM)
        s.setsockopt(IPPROTO_IP, IP_RECVERR, 1)
        # a strict route through r1 to b, which is not on r1's links
        s.setsockopt(IPPROTO_IP, IP_OPTIONS, bytes((1, 137, 7, 4)) + in_aton("10.0.1.254").to_bytes(4, "big"))
        s.sendto(b"strict", ("10.0.3.2", 9))
        libc.sleep(0.1)
        _, anc, _, _ = s.recvmsg(100, 512, MSG_ERRQUEUE)
        ee = next(data for _, kind, data in anc if kind == IP_RECVERR)
        return ee[4], ee[5], ee[6]  # origin, type, code

    assert run(world, n["a"], send) == (2, 3, 5)  # SO_EE_ORIGIN_ICMP: source route failed
    assert n["r1"].mib.Ip["ForwDatagrams"] == 0 and n["r1"].mib.Icmp["OutDestUnreachs"] == 1


def test_a_connection_carries_its_route_both_ways(tmp_path, tshark):
    world, n = two_routers()
    cap = capture(n["b"], "eth0", tmp_path / "b.pcap")
    data = bytes(range(256)) * 100

    def server() -> bytes:
        ls = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(ls, ("0.0.0.0", 45000))
        libc.listen(ls, 1)
        fd, _ = libc.accept(ls)
        got = b""
        while len(got) < len(data):
            got += libc.recv(fd, 65536)
        libc.send(fd, b"thanks")
        return got

    def client() -> bytes:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.setsockopt(fd, IPPROTO_IP, IP_OPTIONS, bytes((1, 7, 39, 4)) + bytes(36))
        libc.connect(fd, ("10.0.3.2", 45000))
        libc.send(fd, data)
        return libc.recv(fd, 100)

    srv = n["b"].spawn(server)
    assert run(world, n["a"], client, timeout=secs(10)) == b"thanks"
    world.run_until(lambda: not srv.alive, timeout=secs(1))
    assert srv.result == data
    cap.close()
    assert tshark_problems(tshark, tmp_path / "b.pcap") == []
    rows = tshark_lines(tshark, tmp_path / "b.pcap", "ip.src", "ip.hdr_len", "ip.rec_rt", "tcp.len",
                        display_filter="tcp")
    # every segment both ways records its route; b answers with the SYN's options echoed
    assert rows and all(r.split("\t")[1] == "60" for r in rows)
    assert {r.split("\t")[2] for r in rows if r.startswith("10.0.1.1")} == {"10.0.1.1,10.0.2.1,10.0.3.254"}
    assert {r.split("\t")[2] for r in rows if r.startswith("10.0.3.2")} == {
        "10.0.1.1,10.0.2.1,10.0.3.254,10.0.3.2,10.0.3.2"}
    # the options take 40 octets of each segment: 1500 - 20 - 40 - 20 - 12 (timestamps)
    assert max(int(r.split("\t")[3]) for r in rows) == 1408


def test_a_malformed_option_draws_a_parameter_problem_and_is_counted():
    world, n = two_routers()

    def send() -> bytes:
        icmp = libc.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)
        raw = libc.socket(AF_INET, SOCK_RAW, IPPROTO_RAW)
        options = bytes((68, 8, 9, 0xF0)) + bytes(4)  # a full timestamp whose overflow overflows
        header = struct.pack("!BBHHHBBH4s4s", 0x47, 0, 32, 9, 0, 64, 17, 0, in_aton("10.0.1.1").to_bytes(4, "big"),
                             in_aton("10.0.3.2").to_bytes(4, "big")) + options
        libc.sendto(raw, header + b"\0\0\0\0", 0, ("10.0.3.2", 0))
        libc.sleep(0.1)
        return libc.recvfrom(icmp, 200, 0x40)[0]  # MSG_DONTWAIT

    reply = run(world, n["a"], send)
    ihl = (reply[0] & 0x0F) * 4
    # r1 finds it first: parameter problem pointing at the flags octet (20 + 3), and the datagram
    # goes no further
    assert reply[12:16] == in_aton("10.0.1.254").to_bytes(4, "big")
    assert (reply[ihl], reply[ihl + 1], reply[ihl + 4]) == (12, 0, 23)
    assert n["r1"].mib.Ip["InHdrErrors"] == 1 and n["r1"].mib.Ip["ForwDatagrams"] == 0
    assert n["r1"].mib.Icmp["OutParmProbs"] == 1
