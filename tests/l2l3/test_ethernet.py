"""Ethernet II framing, the simulated NIC (FCS, padding, address filter) and the cable's physics."""

from __future__ import annotations

import zlib

import pytest
from netlab import capture, lan, run

from tuxnet.drivers.net.cable import Cable, alloc_cable_dev
from tuxnet.drivers.net.ether import IFG_BITS, bits_time, ether_wire_frame, wire_time
from tuxnet.net.core.dev import ETH_P_IP, dev_mc_add, dev_queue_xmit, dev_set_promiscuity
from tuxnet.net.core.pktgen import Pktgen
from tuxnet.net.core.skbuff import (
    PACKET_BROADCAST,
    PACKET_HOST,
    PACKET_MULTICAST,
    PACKET_OTHERHOST,
    alloc_skb,
    skb_from_frame,
)
from tuxnet.net.ethernet.eth import eth_header, eth_type_trans
from tuxnet.net.socket import AF_INET, SOCK_DGRAM
from tuxnet.user import libc
from tuxnet.user.iproute import ip
from tuxnet.world import World, msecs, secs

CRC32_RESIDUE = 0x2144DF1C  # CRC-32 over a frame followed by its FCS


def _two_hosts(seed: int = 1, **cable: object) -> tuple[World, object, object, Cable]:
    world = World(seed=seed)
    a, b = world.add_host("a"), world.add_host("b")
    link = world.connect(a, b, a_addr="10.0.0.1/24", b_addr="10.0.0.2/24", **cable)
    world.run_for(msecs(10))
    return world, a, b, link.medium


def test_eth_header_and_eth_type_trans_classify_frames():
    world = World()
    dev = alloc_cable_dev(world, "eth0")
    cases = ((dev.dev_addr, PACKET_HOST), (b"\xff" * 6, PACKET_BROADCAST),
             (b"\x01\x00\x5e\x00\x00\x01", PACKET_MULTICAST), (b"\x02\x99\x00\x00\x00\x01", PACKET_OTHERHOST))
    for dest, kind in cases:
        skb = alloc_skb(20, 14)
        skb.put_data(bytes(20))
        assert eth_header(skb, dev, ETH_P_IP, dest, None) == 14
        frame = skb.tobytes()
        assert frame[:6] == dest and frame[6:12] == dev.dev_addr and frame[12:14] == b"\x08\x00"
        rx = skb_from_frame(frame)
        assert eth_type_trans(rx, dev) == ETH_P_IP
        assert rx.pkt_type == kind and rx.data == 14 and rx.mac_header == 0


def test_wire_frames_are_padded_to_60_octets_and_carry_a_good_fcs():
    world = World()
    dev = alloc_cable_dev(world, "eth0")
    skb = alloc_skb(28, 14)
    skb.put_data(bytes(range(28)))
    eth_header(skb, dev, 0x0806, b"\xff" * 6, None)
    wire = ether_wire_frame(skb)
    assert len(wire) == 64 and wire[42:60] == bytes(18)
    assert zlib.crc32(wire) == CRC32_RESIDUE
    assert wire_time(len(wire), 10_000_000) == (8 + 64) * 8 * 100


def test_locally_administered_deterministic_mac_addresses():
    def macs(seed: int) -> list[bytes]:
        world, hosts, sw = lan(3, seed=seed, settle=False)
        return [h.dev("eth0").dev_addr for h in hosts] + [d.dev_addr for d in sw.host.devices.values()
                                                          if d.name != "lo"]
    first = macs(1)
    assert first == macs(1) == macs(2), "the same topology gets the same addresses, whatever the seed"
    assert len(set(first)) == len(first)
    assert all(m[0] & 0x02 and not m[0] & 0x01 for m in first), "locally administered, unicast"


def test_a_corrupted_frame_is_dropped_as_a_crc_error():
    world, a, b, cable = _two_hosts(corrupt=1.0)

    def send() -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        for _ in range(5):
            libc.sendto(fd, b"x" * 100, 0, ("10.0.0.2", 9))

    run(world, a, send)
    world.run_for(secs(4))
    rx = b.dev("eth0").stats
    crc_errors = rx.rx_crc_errors + a.dev("eth0").stats.rx_crc_errors
    assert crc_errors == cable.stats.corrupted == cable.stats.frames, "every frame, both ways, was damaged"
    assert rx.rx_crc_errors == 3, "b's side: a's three ARP requests (mcast_solicit)"
    assert rx.rx_errors == rx.rx_crc_errors and b.mib.Ip["InReceives"] == 0 and rx.rx_packets == 0
    assert "10.0.0.2 dev eth0 FAILED" in ip(a, "neigh")


def test_serialisation_and_propagation_delay_and_the_interframe_gap():
    world, a, b, cable = _two_hosts(rate="10mbit", delay="2ms")
    cap = capture(b, "eth0")
    start = world.now
    Pktgen(a.dev("eth0"), b.dev("eth0").dev_addr, pkt_size=1514, count=5).start()
    world.run_for(msecs(50))
    arrivals = [t - start for t, f, _ in cap.frames if f[12:14] == b"\x88\xb5"]
    per_frame = wire_time(1518, 10_000_000)
    assert per_frame == 1_220_800
    gap = per_frame + bits_time(IFG_BITS, 10_000_000)
    assert arrivals == [per_frame + msecs(2) + i * gap for i in range(5)]


def test_the_queue_waits_for_the_line_only_when_a_frame_waits():
    """The transmit-complete wake-up is an event only for a frame that finds the line busy: one
    frame on an idle cable costs one event (its arrival); a second, sent while the first is on
    the wire, leaves the moment the line is free (frame plus inter-frame gap); a third, sent
    after that moment, leaves at once."""
    world, a, b, _ = _two_hosts(rate="10mbit", delay="2ms")
    cap = capture(b, "eth0")
    dev = a.dev("eth0")
    per_frame = wire_time(1518, 10_000_000)
    gap = per_frame + bits_time(IFG_BITS, 10_000_000)

    def send() -> None:
        Pktgen(dev, b.dev("eth0").dev_addr, pkt_size=1514, count=1).start()

    start = world.now
    events = world.events_run
    send()
    world.run_for(msecs(5))
    assert world.events_run - events == 1
    world.call_at(start + msecs(10), send)
    world.call_at(start + msecs(10) + per_frame // 2, send)
    world.call_at(start + msecs(10) + 2 * gap + 1000, send)
    world.run_for(msecs(20))
    arrivals = [t - start for t, f, _ in cap.frames if f[12:14] == b"\x88\xb5"]
    t0 = msecs(10) + per_frame + msecs(2)
    assert arrivals == [per_frame + msecs(2), t0, t0 + gap, t0 + 2 * gap + 1000]


@pytest.mark.parametrize(("what", "p"), [("loss", 0.2), ("duplicate", 0.1), ("reorder", 0.25)])
def test_seeded_impairments(what, p):
    def once() -> tuple[int, int, list[int]]:
        world, a, b, cable = _two_hosts(seed=11, **{what: p})
        cap = capture(b, "eth0")
        Pktgen(a.dev("eth0"), b.dev("eth0").dev_addr, count=2000).start()
        world.run_for(secs(1))
        seqs = [int.from_bytes(f[14:18], "big") for _, f, _ in cap.frames if f[12:14] == b"\x88\xb5"]
        return getattr(cable.stats, {"loss": "lost", "duplicate": "duplicated", "reorder": "reordered"}[what]), \
            cable.stats.frames, seqs

    count, frames, seqs = once()
    assert (count, frames, seqs) == once(), "same seed, same impairments"
    sigma = (frames * p * (1 - p)) ** 0.5
    assert abs(count - frames * p) < 4 * sigma
    if what == "loss":
        assert len(seqs) == 2000 - count
    elif what == "duplicate":
        assert len(seqs) == 2000 + count
    else:
        assert sorted(seqs) == list(range(2000)) and seqs != sorted(seqs)


def test_promiscuous_mode_and_multicast_filter():
    world, (h1, h2, h3), hub = lan(3, hub=True, rate="10mbit")
    dev3 = h3.dev("eth0")
    cap = capture(h3, "eth0", promisc=False)

    def frame_to(dest: bytes) -> None:
        skb = alloc_skb(46, 14)
        skb.put_data(bytes(46))
        dev = h1.dev("eth0")
        eth_header(skb, dev, 0x88B5, dest, None)
        skb.dev = dev
        dev_queue_xmit(skb)
        world.run_for(msecs(5))

    group = b"\x01\x00\x5e\x01\x02\x03"
    frame_to(h2.dev("eth0").dev_addr)
    frame_to(group)
    assert len(cap.frames) == 0, "not ours, not joined"
    dev_mc_add(dev3, group)
    frame_to(group)
    assert len(cap.frames) == 1 and dev3.stats.multicast == 1
    dev_set_promiscuity(dev3, 1)
    frame_to(h2.dev("eth0").dev_addr)
    assert len(cap.frames) == 2
    dev_set_promiscuity(dev3, -1)
    frame_to(h2.dev("eth0").dev_addr)
    assert len(cap.frames) == 2
