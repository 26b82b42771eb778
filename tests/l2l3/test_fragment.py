"""Fragmentation (ip_fragment) and reassembly (ip_defrag): whole datagrams, lost fragments, the
30 s timer, PMTU discovery, and hostile fragments."""

from __future__ import annotations

import errno
import struct

from netlab import capture, run, tshark_lines, tshark_problems, two_routers

from tuxnet.net.core.netfilter import NF_ACCEPT, NF_DROP, NF_INET_FORWARD, nf_register_net_hook
from tuxnet.net.core.utils import in_aton
from tuxnet.net.ipv4.af_inet import IP_MTU_DISCOVER, IP_PMTUDISC_DONT, IPPROTO_IP, IPPROTO_RAW
from tuxnet.net.ipv4.ip_output import IP_MF
from tuxnet.net.socket import AF_INET, SOCK_DGRAM, SOCK_RAW
from tuxnet.user import libc
from tuxnet.world import msecs, secs

PORT = 4000


def _receiver(timeout_s: float = 60.0) -> bytes | None:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.bind(fd, ("", PORT))
    libc.setsockopt(fd, 1, 20, (int(timeout_s), 0))  # SO_RCVTIMEO
    try:
        return libc.recvfrom(fd, 70000)[0]
    except BlockingIOError:
        return None


def _sender(data: bytes, dont_fragment_off: bool = False) -> None:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    if dont_fragment_off:
        libc.setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
    libc.connect(fd, ("10.0.3.2", PORT))
    libc.send(fd, data)


def _payload(n: int) -> bytes:
    return bytes((i * 7 + 3) & 0xFF for i in range(n))


def test_a_10000_byte_udp_datagram_crosses_a_1500_mtu_path_intact(tmp_path, tshark):
    world, n = two_routers()
    cap = capture(n["b"], "eth0", tmp_path / "frag.pcap")
    receiver = n["b"].spawn(_receiver)
    data = _payload(10_000)
    run(world, n["a"], _sender, data)
    world.run_until(lambda: not receiver.alive, timeout=secs(5))
    cap.close()
    assert receiver.result == data
    a, b = n["a"], n["b"]
    assert a.mib.Ip["FragOKs"] == 1 and a.mib.Ip["FragCreates"] == 7  # 6 x 1480 + 1128 octets of UDP
    assert b.mib.Ip["ReasmReqds"] == 7 and b.mib.Ip["ReasmOKs"] == 1 and b.mib.Ip["ReasmFails"] == 0
    assert tshark_problems(tshark, tmp_path / "frag.pcap") == []
    frags = tshark_lines(tshark, tmp_path / "frag.pcap", "ip.frag_offset", "ip.flags.mf", "ip.len",
                         display_filter="ip.proto == 17 || ip.flags.mf == 1 || ip.frag_offset > 0")
    offsets = [(int(o) * 8, m, int(length)) for o, m, length in (f.split("\t") for f in frags)]  # 8-octet units
    assert [o for o, _, _ in offsets] == [0, 1480, 2960, 4440, 5920, 7400, 8880]
    assert all(length <= 1500 for *_, length in offsets)
    # tshark reassembled the datagram and found the UDP checksum good (tshark_problems is empty).
    udp = tshark_lines(tshark, tmp_path / "frag.pcap", "udp.length", display_filter="udp")
    assert udp == ["10008"]


def _drop_fragment(offset_bytes: int):
    state = {"dropped": 0}

    def hook(host, skb, st):
        nh = skb.network_header
        frag = struct.unpack_from("!H", skb.buf, nh + 6)[0]
        if (frag & 0x1FFF) * 8 == offset_bytes and not state["dropped"]:
            state["dropped"] += 1
            return NF_DROP
        return NF_ACCEPT

    return hook, state


def test_a_lost_fragment_discards_the_datagram_after_30_s_and_tells_the_sender():
    world, n = two_routers()
    hook, state = _drop_fragment(2960)
    nf_register_net_hook(n["r1"], NF_INET_FORWARD, hook)
    receiver = n["b"].spawn(_receiver, 40.0)
    start = world.now
    run(world, n["a"], _sender, _payload(10_000))
    world.run_for(secs(29))
    b = n["b"]
    assert state["dropped"] == 1
    assert b.ipv4_fqdir.queues, "still waiting for the missing piece"
    assert b.mib.Ip["ReasmTimeout"] == 0
    world.run_until(lambda: b.mib.Ip["ReasmTimeout"] == 1, timeout=secs(2))
    assert secs(30) <= world.now - start < secs(30) + msecs(20), "ipfrag_time is 30 s"
    assert b.mib.Ip["ReasmFails"] == 1 and b.mib.Ip["ReasmOKs"] == 0 and not b.ipv4_fqdir.queues
    assert b.ipv4_fqdir.mem == 0, "the memory held is given back"
    world.run_for(msecs(20))
    # RFC 792: the first fragment was there, so the sender hears "fragment reassembly time exceeded".
    assert b.mib.IcmpMsg["OutType11"] == 1 and n["a"].mib.Icmp["InTimeExcds"] == 1
    world.run_until(lambda: not receiver.alive, timeout=secs(20))
    assert receiver.result is None, "nothing was delivered"


def test_without_the_first_fragment_the_timeout_is_silent():
    world, n = two_routers()
    hook, _ = _drop_fragment(0)
    nf_register_net_hook(n["r1"], NF_INET_FORWARD, hook)
    run(world, n["a"], _sender, _payload(5000))
    world.run_for(secs(31))
    assert n["b"].mib.Ip["ReasmTimeout"] == 1
    assert n["b"].mib.IcmpMsg["OutType11"] == 0


def test_a_router_fragments_for_a_smaller_mtu_when_df_is_clear():
    world, n = two_routers(middle_mtu=576)
    receiver = n["b"].spawn(_receiver)
    data = _payload(1400)
    run(world, n["a"], _sender, data, True)
    world.run_until(lambda: not receiver.alive, timeout=secs(5))
    assert receiver.result == data
    assert n["r1"].mib.Ip["FragCreates"] == 3 and n["r1"].mib.Ip["FragOKs"] == 1
    assert n["b"].mib.Ip["ReasmOKs"] == 1


def test_fragments_after_the_first_carry_only_the_options_marked_copied():
    # RFC 791 3.1, ip_options_fragment: Router Alert (148, copied) is in every fragment; an
    # experimental measurement option (10, not copied, which routers pass on as it is) only in
    # the first, NOPs in its place in the others, the header's length the same; the datagram
    # reassembles whole.
    world, n = two_routers(middle_mtu=576)
    cap = capture(n["r2"], "eth0")
    receiver = n["b"].spawn(_receiver)
    options = bytes((148, 4, 0, 0)) + bytes((10, 4, 0xAB, 0xCD))
    data = _payload(1200)
    udp = _udp_header(8 + len(data)) + data
    header = struct.pack("!BBHHHBBHII", 0x47, 0, 28 + len(udp), 77, 0, 64, 17, 0, in_aton("10.0.1.1"),
                         in_aton("10.0.3.2")) + options
    run(world, n["a"], _send_raw, [header + udp])
    world.run_until(lambda: not receiver.alive, timeout=secs(5))
    assert receiver.result == data
    frags = [f[14:] for _, f, _ in cap.frames if f[12:14] == b"\x08\x00" and f[14 + 4:14 + 6] == b"\x00\x4d"]
    assert len(frags) == 3 and all(f[0] == 0x47 for f in frags)
    assert frags[0][20:28] == options
    assert [f[20:28] for f in frags[1:]] == [bytes((148, 4, 0, 0, 1, 1, 1, 1))] * 2


def test_df_and_too_big_gives_fragmentation_needed_and_emsgsize_then_pmtu():
    world, n = two_routers(middle_mtu=1000)
    a = n["a"]
    receiver = n["b"].spawn(_receiver)

    def sender() -> tuple[int, bytes]:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.connect(fd, ("10.0.3.2", PORT))
        libc.send(fd, _payload(1400))  # fits our 1500-octet link: DF set (IP_PMTUDISC_WANT)
        libc.sleep(0.1)
        try:
            libc.send(fd, b"x")
        except OSError as e:
            err = e.errno
        else:
            err = 0
        libc.send(fd, _payload(1400))  # the path MTU is known now: fragmented here
        return err

    assert run(world, a, sender) == errno.EMSGSIZE
    world.run_until(lambda: not receiver.alive, timeout=secs(5))
    assert n["r1"].mib.Ip["FragFails"] == 1 and n["r1"].mib.Icmp["OutDestUnreachs"] == 1
    assert a.fnhe_cache[in_aton("10.0.3.2")].mtu == 1000
    assert receiver.result == _payload(1400)
    assert a.mib.Ip["FragCreates"] == 2


# -- hostile fragments, sent with IP_HDRINCL from a raw socket --------------------------------------

def _fragment(ident: int, offset: int, payload: bytes, more: bool, proto: int = 17) -> bytes:
    flags = (offset // 8) | (IP_MF if more else 0)
    return struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(payload), ident, flags, 64, proto, 0,
                       in_aton("10.0.1.1"), in_aton("10.0.3.2")) + payload


def _send_raw(packets: list[bytes]) -> None:
    fd = libc.socket(AF_INET, SOCK_RAW, IPPROTO_RAW)
    for p in packets:
        libc.sendto(fd, p, 0, ("10.0.3.2", 0))


def _udp_header(length: int) -> bytes:
    return struct.pack("!HHHH", 5555, PORT, length, 0)


def test_overlapping_fragments_kill_the_datagram():
    world, n = two_routers()
    b = n["b"]
    receiver = b.spawn(_receiver, 5.0)
    first = _udp_header(8 + 40) + bytes(16)
    evil = bytes(24)  # offset 8: rewrites part of the first fragment (RFC 1858 section 4)
    run(world, n["a"], _send_raw, [_fragment(77, 0, first, True), _fragment(77, 8, evil, True),
                                   _fragment(77, 32, bytes(16), False)])
    world.run_until(lambda: not receiver.alive, timeout=secs(10))
    assert receiver.result is None
    assert b.mib.IpExt["ReasmOverlaps"] == 1 and b.mib.Ip["ReasmFails"] >= 1 and b.mib.Ip["ReasmOKs"] == 0


def test_an_exact_duplicate_fragment_is_ignored():
    world, n = two_routers()
    b = n["b"]
    run(world, n["a"], _send_raw, [_fragment(78, 0, _udp_header(8 + 16) + bytes(8), True),
                                   _fragment(78, 0, _udp_header(8 + 16) + bytes(8), True),
                                   _fragment(78, 16, bytes(8), False)])
    world.run_for(secs(1))
    assert b.mib.Ip["ReasmOKs"] == 1 and b.mib.IpExt["ReasmOverlaps"] == 0


def test_an_oversized_datagram_is_refused():
    world, n = two_routers()
    b = n["b"]
    chunk = 1480
    packets = [_fragment(79, i * chunk, bytes(chunk), True) for i in range(44)]
    packets.append(_fragment(79, 44 * chunk, bytes(400), False))  # 20 + 65,520 > 65,535
    run(world, n["a"], _send_raw, packets)
    world.run_for(secs(2))
    assert b.mib.Ip["ReasmReqds"] == 45 and b.mib.Ip["ReasmOKs"] == 0 and b.mib.Ip["ReasmFails"] == 1
    assert not b.ipv4_fqdir.queues and b.ipv4_fqdir.mem == 0


def test_tiny_fragments_are_dropped():
    world, n = two_routers()
    b = n["b"]
    run(world, n["a"], _send_raw, [_fragment(80, 0, bytes(4), True)])  # less than 8 octets, not last
    world.run_for(secs(1))
    assert b.mib.Ip["ReasmFails"] == 1 and not b.ipv4_fqdir.queues
    # A last fragment that ends before data already queued is corrupt too.
    run(world, n["a"], _send_raw, [_fragment(81, 64, bytes(16), True), _fragment(81, 32, bytes(16), False)])
    world.run_for(secs(1))
    assert b.mib.Ip["ReasmFails"] == 2 and not b.ipv4_fqdir.queues


def test_the_memory_limit_refuses_fragments_and_recovers():
    world, n = two_routers()
    b = n["b"]
    b.sysctl.set("net.ipv4.ipfrag_low_thresh", 15_000)  # (the high mark may not go below the low one)
    b.sysctl.set("net.ipv4.ipfrag_high_thresh", 20_000)
    packets = [_fragment(100 + i, 0, bytes(1000), True) for i in range(40)]
    run(world, n["a"], _send_raw, packets)
    world.run_for(secs(1))
    held = len(b.ipv4_fqdir.queues)
    assert 0 < held < 40 and b.mib.Ip["ReasmFails"] == 40 - held
    assert b.ipv4_fqdir.mem > 20_000
    world.run_for(secs(30))
    assert not b.ipv4_fqdir.queues and b.ipv4_fqdir.mem == 0
    receiver = b.spawn(_receiver, 5.0)
    run(world, n["a"], _sender, _payload(3000))
    world.run_until(lambda: not receiver.alive, timeout=secs(6))
    assert receiver.result == _payload(3000)
