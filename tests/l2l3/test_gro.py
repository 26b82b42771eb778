"""NAPI, interrupt moderation and GRO on the simulated Ethernet NIC (``ethtool -C DEV rx-usecs N``,
``ethtool -K DEV gro on|off``): frames one interrupt brings in together are merged into one large
TCP packet before the stack sees them; without moderation each frame interrupts and goes up alone."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netlab import cable_pair, capture, run, tshark_problems, two_routers

from bulk import bulk_transfer
from tuxnet.drivers.net.ether import ether_fcs, ether_rx
from tuxnet.net.core.checksum import csum_partial, csum_tcpudp_magic
from tuxnet.net.core.utils import in_aton
from tuxnet.user.ethtool import EthtoolError, ethtool, ethtool_main
from tuxnet.world import msecs

MSS = 1448


def _tcp_lengths(cap: object, src: str) -> list[int]:
    """Payload lengths of the TCP segments from ``src`` in a capture of Ethernet frames."""
    out = []
    s = in_aton(src).to_bytes(4, "big")
    for _, frame, _ in cap.frames:
        if frame[12:14] == b"\x08\x00" and frame[23] == 6 and frame[26:30] == s:
            ihl = (frame[14] & 0x0F) * 4
            tot = struct.unpack_from("!H", frame, 16)[0]
            doff = (frame[14 + ihl + 12] >> 4) * 4
            out.append(tot - ihl - doff)
    return out


def test_moderated_interrupts_merge_segments_into_large_packets(tmp_path, tshark):
    world, a, b = cable_pair()
    assert run(world, b, ethtool_main, ["-C", "eth0", "rx-usecs", "50"]) == 0
    cap = capture(b, "eth0", tmp_path / "gro.pcap", promisc=False)
    bulk_transfer(world, a, b, 4_000_000)
    cap.close()
    lengths = [n for n in _tcp_lengths(cap, "10.0.0.1") if n]
    # 50 us at 10 Gb/s brings ~40 frames per interrupt: the stack sees packets of many segments.
    assert max(lengths) > 20 * MSS and max(lengths) <= 65535 - 52
    assert sum(lengths) == 4_000_000 and len(lengths) < 4_000_000 // MSS // 10
    # Every frame is still counted as a frame; IP and TCP count the merged packets they saw, as
    # Linux's InSegs counts them, while the sender's OutSegs counts segments.
    frames = a.devices["eth0"].stats.tx_packets
    assert b.devices["eth0"].stats.rx_packets == frames
    assert a.mib.Tcp["OutSegs"] + a.mib.Tcp["RetransSegs"] >= frames - 2  # (two ARP frames at most)
    assert b.mib.Tcp["InSegs"] == b.mib.Ip["InReceives"] < frames // 10
    # One ACK per packet the stack saw (or fewer), not one per two segments.
    acks = [n for n in _tcp_lengths(cap, "10.0.0.2") if n == 0]
    assert len(acks) < 4_000_000 // MSS // 8
    # The merged packets' checksums are right in the capture, and tshark finds nothing wrong.
    assert tshark_problems(tshark, tmp_path / "gro.pcap") == []


@pytest.mark.parametrize(("commands", "show", "shown", "largest"), [
    ([], "-c eth0", "rx-usecs: 0\nrx-frames: 0\n", MSS),                       # each frame alone
    (["-C eth0 rx-usecs 50", "-K eth0 gro off"], "-k eth0", "generic-receive-offload: off\n", MSS),
    (["-C eth0 rx-usecs 1000 rx-frames 4"], "-c eth0", "rx-frames: 4\n", 4 * MSS),  # four per interrupt
], ids=["no-moderation", "gro-off", "rx-frames-4"])
def test_what_one_packet_may_hold(commands, show, shown, largest):
    """Without moderation each frame goes up alone; with GRO off frames come in batches but are
    not merged; with ``rx-frames 4`` the interrupt comes once four frames wait, so no packet
    holds more."""
    world, a, b = cable_pair()
    for command in commands:
        ethtool(b, command)
    assert shown in ethtool(b, show)
    cap = capture(b, "eth0", promisc=False)
    bulk_transfer(world, a, b, 1_000_000)
    assert max(_tcp_lengths(cap, "10.0.0.1")) == largest


def _frame(b: object, seq: int, payload: bytes, bad_csum: bool = False, ip_id: int = 0, *, flags: int = 0x10,
           window: int = 512, ack: int = 1, urg: int = 0, tos: int = 0, ttl: int = 64, frag: int = 0x4000) -> bytes:
    """A TCP segment from 10.0.0.9:4000 to b, as it arrives off the wire (with FCS)."""
    s, d = in_aton("10.0.0.9"), in_aton("10.0.0.2")
    tcp = bytearray(struct.pack("!HHIIHHHH", 4000, 9, seq, ack, (5 << 12) | flags, window, 0, urg) + payload)
    check = csum_tcpudp_magic(s, d, len(tcp), 6, csum_partial(bytes(tcp)))
    struct.pack_into("!H", tcp, 16, check ^ (0x5555 if bad_csum else 0))
    ip = bytearray(struct.pack("!BBHHHBBHII", 0x45, tos, 20 + len(tcp), ip_id, frag, ttl, 6, 0, s, d))
    struct.pack_into("!H", ip, 10, ~csum_partial(bytes(ip)) & 0xFFFF)
    dev = b.devices["eth0"]
    frame = dev.dev_addr + b"\x02\x00\x00\x00\x00\x09" + b"\x08\x00" + bytes(ip) + bytes(tcp)
    return frame + ether_fcs(frame)


@pytest.mark.parametrize("bad", [False, True], ids=["good", "bad-checksum"])
def test_a_segment_with_a_bad_checksum_is_not_merged(bad):
    """Three consecutive segments arriving in one interrupt become one packet; if the middle one's
    TCP checksum is wrong, it is not merged: it goes up alone for tcp_v4_rcv to count."""
    world, _, b = cable_pair()
    ethtool(b, "-C eth0 rx-usecs 50")
    cap = capture(b, "eth0", promisc=False)
    dev = b.devices["eth0"]
    for i in range(3):
        ether_rx(dev, _frame(b, 1000 + i * MSS, bytes([i]) * MSS, bad_csum=bad and i == 1, ip_id=i))
    world.run_for(msecs(1))
    lengths = _tcp_lengths(cap, "10.0.0.9")
    if bad:
        assert lengths == [MSS, MSS, MSS]
        assert b.mib.Tcp["InCsumErrors"] == 1
    else:
        assert lengths == [3 * MSS]
        assert b.mib.Tcp["InCsumErrors"] == 0
    assert dev.stats.rx_packets == 3


def test_ring_overflow_is_counted_and_tcp_recovers():
    """A 5 ms interrupt delay at 10 Gb/s lets more frames arrive than the 256-slot ring holds: the
    rest are counted in rx_missed_errors and TCP retransmits them."""
    world, a, b = cable_pair()
    ethtool(b, "-C eth0 rx-usecs 5000")
    bulk_transfer(world, a, b, 2_000_000)
    assert b.devices["eth0"].stats.rx_missed_errors > 0
    assert a.mib.Tcp["RetransSegs"] > 0


def test_a_router_forwards_merged_packets_as_segments(tmp_path, tshark):
    """r1 merges what it receives from a; its output cuts the packets back to the next link's MTU
    (GSO), with no 'fragmentation needed' for the merged size."""
    world, n = two_routers()
    for dev in ("eth0", "eth1"):
        ethtool(n["r1"], f"-C {dev} rx-usecs 200")
    seen = capture(n["r1"], "eth0", promisc=False)
    out = capture(n["b"], "eth0", tmp_path / "b.pcap", promisc=False)
    bulk_transfer(world, n["a"], n["b"], 500_000, daddr="10.0.3.2")
    out.close()
    assert max(_tcp_lengths(seen, "10.0.1.1")) > MSS
    assert max(_tcp_lengths(out, "10.0.1.1")) == MSS
    assert n["r1"].mib.Icmp["OutDestUnreachs"] == 0
    assert tshark_problems(tshark, tmp_path / "b.pcap") == []


def test_ethtool_errors():
    world, a, _ = cable_pair()
    with pytest.raises(EthtoolError, match="Operation not supported"):
        ethtool(a, "-c lo")
    with pytest.raises(EthtoolError, match="no device matches name"):
        ethtool(a, "-C eth7 rx-usecs 8")
    with pytest.raises(EthtoolError, match="bad command line"):
        ethtool(a, "-C eth0 rx-usecs fast")
    with pytest.raises(EthtoolError, match="Could not change any device features"):
        ethtool(a, "-K eth0 tso on")
    assert run(world, a, ethtool_main, ["-C", "eth0", "tx-usecs", "8"]) == 1


# -- odd frames through GRO: never raise, never merge what does not continue a train -------------

_FUZZ_WORLD, _FUZZ_A, _FUZZ_B = cable_pair()
ethtool(_FUZZ_B, "-C eth0 rx-usecs 50")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 60), st.binary(max_size=8)), min_size=1, max_size=6))
def test_damaged_trains_never_raise(edits):
    """A train of full-sized segments, some damaged (a byte of the IP or TCP header replaced, the
    frame cut short, or bytes appended), all in one interrupt: the stack drops and counts what it
    must and never raises."""
    dev = _FUZZ_B.devices["eth0"]
    for i, (kind, pos, data) in enumerate(edits):
        frame = bytearray(_frame(_FUZZ_B, 5000 + i * MSS, bytes([i]) * MSS, ip_id=i)[:-4])
        if kind == 0 and data:
            frame[14 + pos] = data[0]                      # a header byte (IP or TCP)
        elif kind == 1:
            frame = frame[:14 + pos]                       # cut short
        elif kind == 2:
            frame += data                                  # trailing bytes
        ether_rx(dev, bytes(frame) + ether_fcs(frame))
    _FUZZ_WORLD.run_for(msecs(1))
    assert not dev.napi.gro_list


# The fields a segment of a train may change, each with the value it changes to (a train's
# segments otherwise continue it exactly): GRO must merge, hold and send up the same packets
# whether or not it compares a segment's headers whole against the ones it expects.
_CHANGES = {
    "window": ("window", 600), "ack": ("ack", 2), "urgent pointer": ("urg", 7), "tos": ("tos", 2),
    "ttl": ("ttl", 63), "no DF": ("frag", 0), "PSH": ("flags", 0x18), "CWR": ("flags", 0x90),
    "FIN": ("flags", 0x11), "bad checksum": ("bad_csum", True), "ID skipped": ("ip_id", 99),
    "sequence gap": ("seq", 1), "short": ("payload", MSS - 100), "empty": ("payload", 0),
}


def _train_packets(frames: list[bytes], expect_headers: bool) -> tuple[list[bytes], int, int]:
    """What the stack sees of ``frames`` arriving in one interrupt (the packets a capture records
    above GRO), and the TCP checksum errors and frames counted; ``expect_headers`` False takes
    GRO's way without the expected headers (every segment's fields compared one by one)."""
    import tuxnet.net.core.gro as gro

    world, _, b = cable_pair()
    ethtool(b, "-C eth0 rx-usecs 50")
    cap = capture(b, "eth0", promisc=False)
    dev = b.devices["eth0"]
    with pytest.MonkeyPatch.context() as mp:
        if not expect_headers:
            mp.setattr(gro, "gro_expect", lambda p: setattr(p, "expect", None))
        for frame in frames:
            ether_rx(dev, frame)
        world.run_for(msecs(1))
    return [bytes(f) for _, f, _ in cap.frames], b.mib.Tcp["InCsumErrors"], dev.stats.rx_packets


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(3, 9), st.lists(st.tuples(st.integers(0, 8), st.sampled_from(sorted(_CHANGES))), max_size=3))
def test_expected_headers_merge_exactly_what_field_by_field_checks_merge(length, changes):
    """A train of full-sized segments, some changing one field: the packets that go up, counted
    and checksummed, are the same whether each segment is checked field by field or compared whole
    with the headers GRO expects of the next one (its fast way, taken from the third segment on)."""
    _, _, b = cable_pair()
    edits = {i: dict([_CHANGES[name]]) for i, name in changes if i < length}
    frames = []
    seq, ip_id = 5000, 40
    for i in range(length):
        fields = {"ip_id": ip_id, **edits.get(i, {})}
        size = fields.pop("payload", MSS)
        seq += fields.pop("seq", 0)
        frames.append(_frame(b, seq, bytes([i]) * size, **fields))
        seq += size
        ip_id += 1
    fast = _train_packets(frames, True)
    assert fast == _train_packets(frames, False)
    if not edits:  # one packet of them all (and b's answers)
        assert [f[26:30] for f in fast[0]].count(in_aton("10.0.0.9").to_bytes(4, "big")) == 1
