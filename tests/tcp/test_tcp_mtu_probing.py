"""Packetization-layer path MTU discovery (RFC 4821) as Linux does it: ``tcp_mtu_probing`` 1
finds a path whose ICMP "fragmentation needed" never arrives (a PMTU black hole) after
retransmissions time out, and 2 probes from ``tcp_base_mss`` up from the start; a lost probe lowers
the search's ceiling, an acknowledged one raises its floor.  Also the route metrics TCP reads:
``mtu lock``, ``advmss`` and ``initcwnd``."""

from __future__ import annotations

from typing import Any

import pytest
from tcpnet import SEC, connection, tcp_segments

from bulk import bulk_transfer
from tuxnet.net.core.netfilter import NF_ACCEPT, NF_DROP, NF_INET_LOCAL_IN, nf_register_net_hook
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.trace.capture import Capture
from tuxnet.user import libc
from tuxnet.user.iproute import ip
from tuxnet.world import World

IPPROTO_ICMP = 1
TS_HEADERS = 20 + 20 + 12  # IPv4, TCP and the timestamp option


def _path(narrow_mtu: int, probing: int, seed: int = 1) -> tuple[World, Any, Any, Any]:
    """a (10.0.1.1) -- r1 -- r2 -- b (10.0.3.2), 100 Mb/s and 1 ms a link; the middle link has MTU
    ``narrow_mtu``, which neither end sees (both announce MSS 1460).  a's ``tcp_mtu_probing`` is
    ``probing``.  Returns the world, a, b and r1."""
    world = World(seed=seed)
    a, b = world.add_host("a"), world.add_host("b")
    r1, r2 = world.add_router("r1"), world.add_router("r2")
    world.connect(a, r1, rate="100mbit", delay="1ms", a_addr="10.0.1.1/24", b_addr="10.0.1.254/24")
    world.connect(r1, r2, rate="100mbit", delay="1ms", mtu=narrow_mtu, a_addr="10.0.2.1/24",
                  b_addr="10.0.2.2/24")
    world.connect(r2, b, rate="100mbit", delay="1ms", a_addr="10.0.3.254/24", b_addr="10.0.3.2/24")
    ip(a, "route add default via 10.0.1.254")
    ip(b, "route add default via 10.0.3.254")
    ip(r1, "route add 10.0.3.0/24 via 10.0.2.2")
    ip(r2, "route add 10.0.1.0/24 via 10.0.2.1")
    a.sysctl.set("net.ipv4.tcp_mtu_probing", str(probing))
    world.run_for(10_000_000)
    return world, a, b, r1


def _drop_icmp(host: Any) -> list[int]:
    """A firewall on ``host`` that drops every ICMP message (``iptables -A INPUT -p icmp -j
    DROP``): path MTU discovery's "fragmentation needed" never arrives.  Returns the drop count."""
    dropped = [0]

    def hook(_host: Any, skb: Any, _state: Any) -> int:
        if skb.buf[skb.network_header + 9] == IPPROTO_ICMP:
            dropped[0] += 1
            return NF_DROP
        return NF_ACCEPT

    nf_register_net_hook(host, NF_INET_LOCAL_IN, hook)
    return dropped


def _sender(host: Any) -> Any:
    return connection(host, 5001)


def _payload_sizes(cap: Capture, src: str) -> list[int]:
    return [s.length for s in tcp_segments(cap, src) if s.length]


def _syn_mss(cap: Capture, flags: int) -> int:
    """The MSS option of the first segment with exactly ``flags`` (SYN, or SYN|ACK)."""
    for _, f, _ in cap.frames:
        if f[12:14] == b"\x08\x00" and f[23] == 6 and f[47] & 0x3F == flags:
            assert f[54] == 2, "MSS is the first option"
            return int.from_bytes(f[56:58], "big")
    raise AssertionError(f"no segment with flags {flags:#x}")


def test_black_hole_stalls_a_connection_without_probing():
    world, a, b, r = _path(1000, probing=0)
    dropped = _drop_icmp(a)
    got = [0]

    def reader() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("10.0.3.2", 5001))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        while data := libc.recv(fd, 65536):
            got[0] += len(data)

    def writer() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("10.0.3.2", 5001))
        libc.send(fd, bytes(64 * 1024))

    b.spawn(reader)
    world.run_for(1_000_000)
    a.spawn(writer)
    world.run_for(30 * SEC)
    sk = _sender(a)
    # Every full-sized segment is too big for the middle link; r1's ICMP never reaches a.
    assert got[0] == 0 and dropped[0] > 0
    assert sk.mss_cache == 1500 - TS_HEADERS and not sk.icsk_mtup.enabled
    assert a.mib.TcpExt["TCPTimeouts"] >= 4


@pytest.mark.parametrize("probing", [1, 2])
def test_black_hole_detection_shrinks_the_mss_and_the_transfer_completes(probing):
    world, a, b, r = _path(1000, probing=probing)
    dropped = _drop_icmp(a)
    cap = Capture(a, "eth0")
    cap.keep = True
    bulk_transfer(world, a, b, 256 * 1024, daddr="10.0.3.2")
    sk = _sender(a)
    assert dropped[0] > 0
    # Mode 1 starts at 1448 bytes and mode 2 at tcp_base_mss, 1024: both too big.  Once
    # tcp_retries1 (3) RTOs' worth of time has passed since the first retransmission (the 5th
    # timeout: RTOs of 0.2, 0.4, 0.8, 1.6, 3.2 s), tcp_mtu_probing switches the search on (mode 1,
    # now at 1024) or halves its floor to 512 (mode 2; mode 1 at its 6th timeout).
    sizes = _payload_sizes(cap, "10.0.1.1")
    assert 1024 in sizes and 512 in sizes
    assert sizes.index(512) > sizes.index(1024)
    # From there the probes find the path by fast retransmit alone: no timeout more.  (A probe
    # resent as part of a recovery proves nothing, __tcp_retransmit_skb; taken as a success, the
    # MSS would outgrow the path and the timeouts start again.)
    assert a.mib.TcpExt["TCPTimeouts"] == 5 + (probing == 1)
    # The search ends within tcp_probe_threshold (8) of the path's 1000.
    mtup = sk.icsk_mtup
    assert mtup.enabled
    assert mtup.search_high - mtup.search_low < 8
    assert 1000 - 8 < mtup.search_low <= 1000
    assert sk.mss_cache == mtup.search_low - TS_HEADERS
    assert a.mib.TcpExt["TCPMTUPSuccess"] >= 1 and a.mib.TcpExt["TCPMTUPFail"] >= 1


def test_probing_from_base_mss_climbs_to_the_path_mtu():
    world, a, b, r = _path(1500, probing=2)
    cap = Capture(a, "eth0")
    cap.keep = True
    bulk_transfer(world, a, b, 1024 * 1024, daddr="10.0.3.2")
    sizes = _payload_sizes(cap, "10.0.1.1")
    # The connection starts at tcp_base_mss; the first probe is half-way to the peer's MSS:
    # (1500 + 1076) / 2 = 1288 bytes of IP, 1236 of payload.
    assert max(sizes[:10]) == 1024
    assert next(n for n in sizes if n > 1024) == (1500 + 1024 + TS_HEADERS) // 2 - TS_HEADERS
    sk = _sender(a)
    assert sk.mss_cache >= 1500 - TS_HEADERS - 8 and max(sizes) <= 1500 - TS_HEADERS
    assert a.mib.TcpExt["TCPMTUPSuccess"] >= 3 and a.mib.TcpExt["TCPMTUPFail"] == 0


def test_a_lost_probe_lowers_the_ceiling_without_a_cwnd_cut():
    world, a, b, r = _path(1200, probing=2)
    _drop_icmp(a)
    cap = Capture(a, "eth0")
    cap.keep = True
    bulk_transfer(world, a, b, 1024 * 1024, daddr="10.0.3.2")
    sizes = _payload_sizes(cap, "10.0.1.1")
    first_probe = next(n for n in sizes if n > 1024)
    assert first_probe == 1236  # 1288 bytes of IP: r1 cannot forward it
    sk = _sender(a)
    mtup = sk.icsk_mtup
    assert a.mib.TcpExt["TCPMTUPFail"] >= 1 and a.mib.TcpExt["TCPMTUPSuccess"] >= 1
    assert mtup.search_high < 1288 and 1200 - 8 < mtup.search_low <= 1200
    # A failed probe is no congestion signal: tcp_simple_retransmit, not fast recovery.
    assert a.mib.TcpExt["TCPSackRecovery"] == 0 and a.mib.TcpExt["TCPRenoRecovery"] == 0


def test_icmp_lowers_the_ceiling_when_it_arrives():
    world, a, b, r = _path(1200, probing=2)
    bulk_transfer(world, a, b, 512 * 1024, daddr="10.0.3.2")
    sk = _sender(a)
    # The probe of 1288 bytes drew "fragmentation needed, MTU 1200": the route learns it, and
    # the search's ceiling follows the path MTU (tcp_sync_mss).
    assert sk.pmtu_cookie == 1200 and sk.icsk_mtup.search_high <= 1200
    assert sk.mss_cache <= 1200 - TS_HEADERS


def test_a_locked_route_mtu_turns_path_mtu_discovery_off():
    world, a, b, r = _path(1000, probing=0)
    ip(a, "route add 10.0.3.0/24 via 10.0.1.254 mtu lock 1400")
    assert ip(a, "route get 10.0.3.2").endswith("    cache mtu lock 1400 \n")
    cap = Capture(a, "eth0")
    cap.keep = True
    bulk_transfer(world, a, b, 128 * 1024, daddr="10.0.3.2")
    tcp = [f for _, f, _ in cap.frames if f[12:14] == b"\x08\x00" and f[23] == 6 and f[26:30] == bytes([10, 0, 1, 1])]
    assert tcp and max(len(f) - 14 for f in tcp) == 1400
    # ip_dont_fragment: no DF with a locked MTU, so r1 fragments what does not fit its link.
    assert not any(int.from_bytes(f[20:22], "big") & 0x4000 for f in tcp)
    assert r.mib.Ip["FragCreates"] > 0
    assert not a.fnhe_cache


def test_route_advmss_and_initcwnd_reach_tcp():
    world, a, b, r = _path(1500, probing=0)
    ip(a, "route add 10.0.3.0/24 via 10.0.1.254 advmss 1000 initcwnd 4")
    ip(b, "route add 10.0.1.0/24 via 10.0.3.254 advmss 700")
    cap = Capture(a, "eth0")
    cap.keep = True
    bulk_transfer(world, a, b, 64 * 1024, daddr="10.0.3.2")
    assert _syn_mss(cap, 0x02) == 1000 and _syn_mss(cap, 0x12) == 700
    # a sends no more than the peer's MSS, less the timestamps; its first flight is initcwnd.
    sizes = _payload_sizes(cap, "10.0.1.1")
    assert max(sizes) == 700 - 12
    segs = tcp_segments(cap)
    first_data = next(s.t for s in segs if s.src == "10.0.1.1" and s.length)
    first_ack = next(s.t for s in segs if s.src == "10.0.3.2" and s.t > first_data)
    assert sum(1 for s in segs if s.src == "10.0.1.1" and s.length and s.t < first_ack) == 4
