"""Transmit offloads on the cable NIC (``ethtool -K DEV tx on tso on``): the NIC completes TCP/UDP
checksums itself and, with TSO, takes a GSO packet whole and puts its MSS-sized frames on the wire
back to back.  Taps on the sender see the large packet, as tcpdump does on Linux; the wire and
the receiver see ordinary frames with right checksums."""

from __future__ import annotations

import pytest
from netlab import cable_pair, capture, lan, run, tshark_problems

from bulk import bulk_transfer
from tuxnet.net.core.dev import NetDevice, NetDeviceOps
from tuxnet.net.core.skbuff import SkBuff
from tuxnet.user.ethtool import EthtoolError, ethtool
from tuxnet.user.programs.hello import hello, replyhi
from tuxnet.world import World

MSS = 1448


def _data_lengths(cap: object) -> list[int]:
    """Payload lengths of the TCP packets from 10.0.0.1 in a capture (the IP length field)."""
    out = []
    for _, frame, _ in cap.frames:
        if frame[12:14] == b"\x08\x00" and frame[23] == 6 and frame[26:30] == bytes([10, 0, 0, 1]):
            ihl = (frame[14] & 0x0F) * 4
            doff = (frame[14 + ihl + 12] >> 4) * 4
            length = int.from_bytes(frame[16:18], "big") - ihl - doff
            if length:
                out.append(length)
    return out


def test_tso_puts_checksummed_frames_on_the_wire_back_to_back(tmp_path, tshark):
    world, a, b = cable_pair()
    ethtool(a, "-K eth0 tx on tso on")
    sent = capture(a, "eth0", tmp_path / "a.pcap", promisc=False)
    wire = capture(b, "eth0", tmp_path / "b.pcap", promisc=False)
    bulk_transfer(world, a, b, 2_000_000)  # (the bytes arrive whole: sha256)
    sent.close()
    wire.close()
    at_sender, on_wire = _data_lengths(sent), _data_lengths(wire)
    assert sum(at_sender) == sum(on_wire) == 2_000_000
    assert max(at_sender) > 10 * MSS, "the sender's taps see the GSO packets whole"
    assert max(on_wire) == MSS and len(on_wire) == -(-2_000_000 // MSS)
    assert a.devices["eth0"].stats.tx_packets == b.devices["eth0"].stats.rx_packets > len(at_sender)
    assert b.mib.Tcp["InCsumErrors"] == 0
    assert tshark_problems(tshark, tmp_path / "b.pcap") == []


def test_tso_takes_the_same_wire_time():
    """The frames of one packet follow each other at the line rate with the inter-frame gap: on a
    100 Mb/s cable a transfer takes the same virtual time with TSO as without."""
    durations = []
    for offload in (False, True):
        world, a, b = cable_pair("100mbit")
        if offload:
            ethtool(a, "-K eth0 tx on tso on")
        sent, wire = capture(a, "eth0", promisc=False), capture(b, "eth0", promisc=False)
        start = world.now
        bulk_transfer(world, a, b, 3_000_000)
        durations.append(world.now - start)
        sent.close()
        wire.close()
        assert (max(_data_lengths(sent)) > MSS) == offload  # the NIC cut some packets itself
        # Full frames arrive no closer together than a frame's time on the wire (1,514 octets,
        # FCS and preamble: 122 us at 100 Mb/s).
        arrivals = [t for t, frame, _ in wire.frames if len(frame) == 1514]
        assert min(y - x for x, y in zip(arrivals, arrivals[1:], strict=False)) >= (1514 + 4 + 8) * 8 * 10
    assert durations[0] > 3_000_000 * 8 * 10   # about 240 ms at 100 Mb/s: wire-limited
    assert abs(durations[1] - durations[0]) < durations[0] * 0.03


def test_tx_checksumming_without_tso(tmp_path, tshark):
    world, a, b = cable_pair()
    ethtool(a, "-K eth0 tx on")
    wire = capture(b, "eth0", tmp_path / "b.pcap", promisc=False)
    bulk_transfer(world, a, b, 500_000)
    b.spawn(replyhi, "10.0.0.2", 5002, count=1)
    assert run(world, a, hello, "10.0.0.2", 5002) == b"hi"
    wire.close()
    assert max(_data_lengths(wire)) == MSS
    assert b.mib.Tcp["InCsumErrors"] == 0
    assert tshark_problems(tshark, tmp_path / "b.pcap") == []


@pytest.mark.parametrize("offloads", ["tx on tso on", "tx on tso off", "tx off"])
def test_the_nic_gathers_page_fragments_into_its_frames(offloads):
    """A NIC with scatter-gather (NETIF_F_SG, on by default as on real NICs) takes a packet whose
    payload is in page fragments as it is (a buffer ``tcp_grow_skb`` grew, the part after a split,
    a retransmission with a new head), and its DMA gathers each frame from them: with TSO each
    frame is cut from the fragments, its checksum and FCS computed over them; with the checksum
    offloaded it sums the fragments in place.  Over a cable that loses 1 % of the frames, every
    byte arrives, and no frame fails its FCS or its TCP checksum (no capture runs on the sender:
    a tap would get the packets linearized)."""
    world = World(seed=3)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="1gbit", delay="50us", loss=0.01, a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    ethtool(a, f"-K eth0 {offloads}")
    dev = a.devices["eth0"]
    ops = dev.netdev_ops
    gathered = []

    def xmit(skb: SkBuff, d: NetDevice) -> int:
        gathered.append(skb.frags is not None)
        return ops.ndo_start_xmit(skb, d)

    dev.netdev_ops = NetDeviceOps(xmit, ops.ndo_open, ops.ndo_stop)
    bulk_transfer(world, a, b, 3_000_000)  # (the bytes arrive whole: sha256)
    assert sum(gathered) > 20 and a.mib.Tcp["RetransSegs"] > 5
    assert b.devices["eth0"].stats.rx_crc_errors == 0 and b.mib.Tcp["InCsumErrors"] == 0


def test_ethtool_tso_needs_tx_checksumming():
    world, a, _ = cable_pair()
    shown = ethtool(a, "-k eth0")
    assert "tx-checksumming: off\n" in shown and "tcp-segmentation-offload: off\n" in shown
    with pytest.raises(EthtoolError, match="Could not change any device features"):
        ethtool(a, "-K eth0 tso on")
    ethtool(a, "-K eth0 tx on tso on")
    shown = ethtool(a, "-k eth0")
    assert "tx-checksumming: on\n" in shown and "tcp-segmentation-offload: on\n" in shown
    ethtool(a, "-K eth0 tx off")  # netdev_fix_features: no TSO without checksumming
    assert "tcp-segmentation-offload: off\n" in ethtool(a, "-k eth0")
    # nor without scatter-gather
    with pytest.raises(EthtoolError, match="Could not change any device features"):
        ethtool(a, "-K eth0 tx on sg off tso on")
    ethtool(a, "-K eth0 tx on tso on")
    ethtool(a, "-K eth0 sg off")
    shown = ethtool(a, "-k eth0")
    assert "scatter-gather: off\n" in shown and "tcp-segmentation-offload: off\n" in shown
    _, hosts, _ = lan(2, hub=True, settle=False)
    assert "tcp-segmentation-offload: off [fixed]\n" in ethtool(hosts[0], "-k eth0")


@pytest.mark.parametrize("setting, largest", [("gso_max_segs 3", 3 * MSS), ("gso_max_size 10000", 6 * MSS),
                                              ("gso_max_segs 0", MSS)])
def test_ip_link_gso_limits_bound_the_packets_tcp_builds(setting, largest):
    """``ip link set eth0 gso_max_segs N | gso_max_size N``: TCP's GSO packets through the device
    (``sk_setup_caps``, at connect) hold at most N segments, or N bytes less the kernel's room for
    headers (MAX_TCP_HEADER + 1: 10000 → 9679 → 6 segments); 0 segments counts as 1."""
    from tuxnet.user.iproute import ip

    world, a, b = cable_pair()
    ethtool(a, "-K eth0 tx on tso on")
    ip(a, ["link", "set", "eth0", *setting.split()])
    sent = capture(a, "eth0", promisc=False)
    bulk_transfer(world, a, b, 1_000_000)
    sent.close()
    lengths = _data_lengths(sent)
    assert sum(lengths) == 1_000_000
    assert max(lengths) == largest
