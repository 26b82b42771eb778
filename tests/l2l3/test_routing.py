"""Routing and forwarding, ICMP errors, ping and traceroute across switches and routers."""

from __future__ import annotations

import errno
import re

from netlab import capture, lan, run, tshark_lines, tshark_problems, two_routers

from tuxnet.drivers.net.ether import wire_time
from tuxnet.net.socket import AF_INET, SOCK_DGRAM
from tuxnet.user import libc
from tuxnet.user.iproute import IpError, ip
from tuxnet.user.programs.ping import ping_main
from tuxnet.user.programs.traceroute import traceroute_main
from tuxnet.world import msecs, secs

PING_REPLY = re.compile(r"^64 bytes from (\S+): icmp_seq=(\d+) ttl=(\d+) time=(\d+(?:\.\d+)?) ms$")
PING_STATS = re.compile(r"^(\d+) packets transmitted, (\d+) received, (\d+)% packet loss, time (\d+)ms$")
PING_RTT = re.compile(r"^rtt min/avg/max/mdev = (\d+\.\d{3})/(\d+\.\d{3})/(\d+\.\d{3})/(\d+\.\d{3}) ms$")

ECHO_FRAME = 14 + 20 + 8 + 56  # an echo request or reply with ping's 56 data bytes


def _hop(rate: int, delay_ns: int, frame: int = ECHO_FRAME) -> int:
    """One store-and-forward hop: serialisation (preamble + frame + FCS) plus propagation."""
    return wire_time(max(frame, 60) + 4, rate) + delay_ns


def _ping_lines(out: str) -> tuple[list[tuple[str, int, int, str]], list[str]]:
    lines = out.splitlines()
    replies = [PING_REPLY.match(line).groups() for line in lines if line.startswith("64 bytes")]
    return [(a, int(s), int(t), ms) for a, s, t, ms in replies], lines


def test_ping_across_a_switch_rtt_is_serialisation_plus_propagation(tmp_path, tshark):
    world, (h1, h2), sw = lan(2, rate="100mbit", delay="50us")
    cap = capture(h1, "eth0", tmp_path / "ping.pcap")
    assert run(world, h1, ping_main, ["-c", "4", "10.0.0.2"]) == 0
    cap.close()
    replies, lines = _ping_lines(h1.output())
    assert lines[0] == "PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data."
    assert [s for _, s, _, _ in replies] == [1, 2, 3, 4]
    assert all(a == "10.0.0.2" and ttl == 64 for a, _, ttl, _ in replies), "no router: TTL 64"
    rtt_us = 4 * _hop(100_000_000, 50_000) // 1000  # host -> switch -> host, and back
    assert rtt_us == 235
    assert [ms for *_, ms in replies[1:]] == ["0.235"] * 3
    assert float(replies[0][3]) > 0.235, "the first one waited for ARP"
    assert lines[-3] == "--- 10.0.0.2 ping statistics ---"
    assert PING_STATS.match(lines[-2]).groups() == ("4", "4", "0", "3000")
    assert PING_RTT.match(lines[-1]).group(1) == "0.235"
    assert tshark_problems(tshark, tmp_path / "ping.pcap") == []
    icmp = tshark_lines(tshark, tmp_path / "ping.pcap", "icmp.type", "icmp.seq", display_filter="icmp")
    assert icmp == ["8\t1", "0\t1", "8\t2", "0\t2", "8\t3", "0\t3", "8\t4", "0\t4"]
    assert "4" in sw.port_stats().splitlines()[1]


def test_ping_across_two_routers_ttl_and_rtt(tmp_path, tshark):
    world, n = two_routers()
    a = n["a"]
    caps = [capture(n["r1"], None, tmp_path / "r1.pcap"), capture(n["b"], "eth0", tmp_path / "b.pcap")]
    assert run(world, a, ping_main, ["-c", "3", "-i", "0.5", "10.0.3.2"]) == 0
    for c in caps:
        c.close()
    replies, lines = _ping_lines(a.output())
    assert [(addr, seq, ttl) for addr, seq, ttl, _ in replies] == [("10.0.3.2", i, 62) for i in (1, 2, 3)]
    one_way = _hop(100_000_000, 50_000) + _hop(10_000_000, 1_000_000) + _hop(100_000_000, 50_000)
    rtt_us = 2 * one_way // 1000
    assert rtt_us == 2411
    assert [ms for *_, ms in replies[1:]] == ["2.41", "2.41"], "1-10 ms: two decimals, as iputils"
    assert PING_STATS.match(lines[-2]).groups() == ("3", "3", "0", "1000")
    for name in ("r1", "b"):
        assert tshark_problems(tshark, tmp_path / f"{name}.pcap") == []
    # The routers decremented the TTL and fixed the checksum (tshark checked it): 64 -> 63 -> 62.
    ttls = tshark_lines(tshark, tmp_path / "b.pcap", "ip.ttl", display_filter="icmp.type == 8")
    assert ttls == ["62", "62", "62"]
    assert n["r1"].mib.Ip["ForwDatagrams"] == 6 and n["r2"].mib.Ip["ForwDatagrams"] == 6


def test_traceroute_through_two_routers():
    world, n = two_routers()
    hops = run(world, n["a"], traceroute_main, ["10.0.3.2"])
    assert hops == 0
    lines = n["a"].output().splitlines()
    assert lines[0] == "traceroute to 10.0.3.2 (10.0.3.2), 30 hops max, 60 byte packets"
    pattern = re.compile(r"^ (\d)  (\S+) \((\S+)\)  (\d+\.\d{3}) ms  (\d+\.\d{3}) ms  (\d+\.\d{3}) ms$")
    rows = [pattern.match(line).groups() for line in lines[1:]]
    assert [(r[0], r[1]) for r in rows] == [("1", "10.0.1.254"), ("2", "10.0.2.2"), ("3", "10.0.3.2")]
    probe = 14 + 60
    err = 14 + 20 + 8 + 60  # ICMP error quoting the whole probe
    hop1 = (_hop(100_000_000, 50_000, probe) + _hop(100_000_000, 50_000, err)) / 1e6
    assert float(rows[0][4]) == float(rows[0][5]) == round(hop1, 3), "(the first probe waited for ARP)"
    assert float(rows[0][5]) < float(rows[1][5]) < float(rows[2][5])


def test_ping_with_ttl_1_gets_time_exceeded_from_the_first_router():
    world, n = two_routers()
    assert run(world, n["a"], ping_main, ["-c", "1", "-t", "1", "10.0.3.2"]) == 1
    assert "From 10.0.1.254 icmp_seq=1 Time to live exceeded" in n["a"].output()
    assert n["r1"].mib.Icmp["OutTimeExcds"] == 1


def test_no_route_gives_net_unreachable_from_the_router():
    world, n = two_routers()
    assert run(world, n["a"], ping_main, ["-c", "1", "10.9.9.9"]) == 1
    assert "From 10.0.1.254 icmp_seq=1 Destination Net Unreachable" in n["a"].output()


def test_unreachable_host_behind_a_router_gives_host_unreachable_from_the_router():
    world, n = two_routers()
    assert run(world, n["a"], ping_main, ["-c", "1", "10.0.3.99"]) == 1
    # The error's source is r2's address toward the sender (icmp_errors_use_inbound_ifaddr = 0).
    assert "From 10.0.2.2 icmp_seq=1 Destination Host Unreachable" in n["a"].output()


def test_udp_to_a_closed_port_is_refused():
    world, n = two_routers()

    def client() -> int:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.connect(fd, ("10.0.3.2", 7777))
        libc.send(fd, b"anyone?")
        libc.sleep(1)
        try:
            libc.recv(fd, 100)
        except OSError as e:
            return e.errno
        return 0

    assert run(world, n["a"], client) == errno.ECONNREFUSED
    assert n["b"].mib.Udp["NoPorts"] == 1 and n["b"].mib.Icmp["OutDestUnreachs"] == 1


def test_a_host_does_not_forward():
    world, n = two_routers()
    n["r1"].sysctl.set("net.ipv4.ip_forward", 0)
    assert run(world, n["a"], ping_main, ["-c", "1", "-W", "2", "10.0.3.2"]) == 1
    assert n["r1"].mib.Ip["InAddrErrors"] == 1 and n["r1"].mib.Ip["ForwDatagrams"] == 0


def test_ip_route_cli_and_api():
    world, n = two_routers()
    r1 = n["r1"]
    assert ip(r1, "route") == (
        "10.0.1.0/24 dev eth0 proto kernel scope link src 10.0.1.254 \n"
        "10.0.2.0/24 dev eth1 proto kernel scope link src 10.0.2.1 \n"
        "10.0.3.0/24 via 10.0.2.2 dev eth1 \n")  # iproute2 ends each line with a space
    assert ip(n["a"], "route show") == ("default via 10.0.1.254 dev eth0 \n"
                                        "10.0.1.0/24 dev eth0 proto kernel scope link src 10.0.1.1 \n")
    assert ip(n["a"], "route get 10.0.3.2") == "10.0.3.2 via 10.0.1.254 dev eth0 src 10.0.1.1 uid 0 \n    cache \n"
    ip(r1, "route add unreachable 10.7.0.0/16")
    assert "unreachable 10.7.0.0/16" in ip(r1, "route")
    try:
        ip(r1, "route add 10.8.0.0/16 via 192.168.9.9")
    except IpError as e:
        assert "Nexthop has invalid gateway" in str(e)
    else:
        raise AssertionError("a gateway that is not on a connected network is refused")
    ip(r1, "route del 10.0.3.0/24")
    assert run(world, n["a"], ping_main, ["-c", "1", "10.0.3.2"]) == 1
    assert "Destination Net Unreachable" in n["a"].output()
    world.run_for(secs(2))
    ip(r1, "route add 10.0.3.0/24 via 10.0.2.2")
    world.run_for(msecs(1))
    assert run(world, n["a"], ping_main, ["-c", "1", "10.0.3.2"]) == 0


def test_tcp_across_the_routers_finds_the_path_mtu(tmp_path, tshark):
    from tuxnet.net.socket import SOCK_STREAM

    world, n = two_routers(middle_mtu=1000)
    data = bytes(i % 251 for i in range(100_000))

    def server() -> bytes:
        s = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(s, ("", 5001))
        libc.listen(s, 5)
        c, _ = libc.accept(s)
        got = b""
        while chunk := libc.recv(c, 65536):
            got += chunk
        libc.close(c)
        return got

    def client() -> None:
        s = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(s, ("10.0.3.2", 5001))
        view = memoryview(data)
        sent = 0
        while sent < len(data):
            sent += libc.send(s, view[sent:])
        libc.close(s)

    cap = capture(n["r1"], "eth1", tmp_path / "tcp.pcap")
    srv = n["b"].spawn(server)
    run(world, n["a"], client, timeout=secs(30))
    world.run_until(lambda: not srv.alive, timeout=secs(30))
    cap.close()
    assert srv.result == data
    assert n["r1"].mib.Ip["FragFails"] >= 1, "full-size segments met the 1000-octet link: fragmentation needed"
    assert n["a"].fnhe_cache, "and the sender learnt the path MTU"
    assert tshark_problems(tshark, tmp_path / "tcp.pcap") == []
    sizes = tshark_lines(tshark, tmp_path / "tcp.pcap", "ip.len", display_filter="tcp.len > 0")
    assert max(int(s) for s in sizes) <= 1000


def test_dontroute_reaches_only_hosts_on_a_link():
    """SO_DONTROUTE, and MSG_DONTROUTE for one message (socket(7): "send only to directly
    connected hosts"): the route lookup takes no route through a gateway (flowi4_scope
    RT_SCOPE_LINK), so a host two routers away is ENETUNREACH and the router on the link is not."""
    from tuxnet.net.core.sock import SO_DONTROUTE, SOL_SOCKET
    from tuxnet.net.socket import MSG_DONTROUTE, SOCK_STREAM

    world, n = two_routers()
    a, b = n["a"], n["b"]

    def prog() -> list:
        out = []

        def attempt(fn, *args):
            try:
                fn(*args)
                out.append("ok")
            except OSError as e:
                out.append(errno.errorcode[e.errno])

        udp = libc.socket(AF_INET, SOCK_DGRAM, 0)
        attempt(libc.sendto, udp, b"far", 0, ("10.0.3.2", 9))
        attempt(libc.sendto, udp, b"far", MSG_DONTROUTE, ("10.0.3.2", 9))
        attempt(libc.sendto, udp, b"near", MSG_DONTROUTE, ("10.0.1.254", 9))
        libc.setsockopt(udp, SOL_SOCKET, SO_DONTROUTE, 1)
        out.append(libc.getsockopt(udp, SOL_SOCKET, SO_DONTROUTE))
        attempt(libc.sendto, udp, b"far", 0, ("10.0.3.2", 9))
        attempt(libc.connect, udp, ("10.0.3.2", 9))
        attempt(libc.sendto, udp, b"near", 0, ("10.0.1.254", 9))
        libc.setsockopt(udp, SOL_SOCKET, SO_DONTROUTE, 0)
        attempt(libc.connect, udp, ("10.0.3.2", 9))
        attempt(libc.send, udp, b"far", 0)
        attempt(libc.send, udp, b"far", MSG_DONTROUTE)
        tcp = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.setsockopt(tcp, SOL_SOCKET, SO_DONTROUTE, 1)
        attempt(libc.connect, tcp, ("10.0.3.2", 80))
        return out

    assert run(world, a, prog) == ["ok", "ENETUNREACH", "ok", 1, "ENETUNREACH", "ENETUNREACH", "ok",
                                   "ok", "ok", "ENETUNREACH", "ENETUNREACH"]
    world.run_for(msecs(50))
    assert b.mib.Udp["NoPorts"] == 2, "the two datagrams sent through the routers reached b"


def test_a_router_forwards_from_a_tun_device_to_ethernet_and_back():
    """A packet written to a TUN device has no room before it for a link-layer header: the
    router gives it some (ip_finish_output2's skb_expand_head) to forward it onto its Ethernet
    cable, and the echo reply comes back out of the TUN device."""
    import struct

    from tuxnet.drivers.net.tun import tun_get_user, tun_net_init
    from tuxnet.net.core.checksum import csum_fold, csum_partial
    from tuxnet.world import World

    w = World(seed=1)
    r, b = w.add_router("r"), w.add_host("b")
    tun = tun_net_init(r, "tun0", 1500)
    r.dev_open(tun)
    r.ip_addr_add("tun0", "192.168.0.1/24")
    w.connect(r, b, a_addr="10.0.2.1/24", b_addr="10.0.2.2/24")
    b.ip_route_add("192.168.0.0/24", via="10.0.2.1")
    w.run_for(msecs(10))
    icmp = bytearray(b"\x08\x00\x00\x00\x00\x01\x00\x01hello!")
    icmp[2:4] = struct.pack("!H", csum_fold(csum_partial(bytes(icmp))))
    hdr = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 1, 0, 64, 1, 0,
                                bytes([192, 168, 0, 2]), bytes([10, 0, 2, 2])))
    hdr[10:12] = struct.pack("!H", csum_fold(csum_partial(bytes(hdr))))
    tun_get_user(tun, bytes(hdr + icmp))
    w.run_for(msecs(100))
    assert b.mib.Icmp["InEchos"] == 1 and r.mib.Ip["ForwDatagrams"] == 2
    reply = tun.priv.tx[-1].data
    assert reply[9] == 1 and reply[12:20] == bytes([10, 0, 2, 2, 192, 168, 0, 2]) and reply[20] == 0


def test_a_tun_write_with_a_gso_size_must_be_tcp():
    """virtio_net_hdr_to_skb takes a GSO size (VIRTIO_NET_HDR_GSO_TCPV4) only on a TCP packet:
    a UDP datagram written with one is refused with EINVAL and counted as a frame error."""
    import struct

    from tuxnet.drivers.net.tun import tun_get_user, tun_net_init
    from tuxnet.world import World

    w = World(seed=1)
    r = w.add_router("r")
    tun = tun_net_init(r, "tun0", 1500)
    r.dev_open(tun)
    r.ip_addr_add("tun0", "192.168.0.1/24")
    udp = struct.pack("!HHHH", 1000, 9, 8 + 3000, 0) + bytes(3000)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                      bytes([192, 168, 0, 2]), bytes([192, 168, 0, 1]))
    assert tun_get_user(tun, hdr + udp, gso_size=1400) == -errno.EINVAL
    assert tun.stats.rx_frame_errors == 1 and tun.stats.rx_packets == 0
