"""802.1Q VLANs (net/8021q/): devices stacked on eth0, tagged on the wire, isolated from each other.

Three hosts on one switch: h1 and h2 have eth0.10 (10.10.0.0/24) and eth0.20 (10.20.0.0/24), h3
only eth0.20.  tshark reads the tags of the frames a capture kept, and this machine's tcpdump
prints the file as tuxnet's tcpdump does.  (This machine's kernel has no 8021q module, so the
devices' ``ip`` lines follow iproute2's source, not a run.)
"""

from __future__ import annotations

import pytest
from netlab import capture, lan, run, tshark_lines, tshark_problems
from test_tcpdump_program import real_tcpdump

from bulk import bulk_transfer
from tuxnet.user.iproute import IpError, ip
from tuxnet.user.programs.ping import ping_main
from tuxnet.user.programs.tcpdump import tcpdump_main


def vlans():
    world, hosts, sw = lan(3)
    for i, h in enumerate(hosts):
        for vid in (10, 20) if i < 2 else (20,):
            ip(h, f"link add link eth0 name eth0.{vid} type vlan id {vid}")
            ip(h, f"addr add 10.{vid}.0.{i + 1}/24 dev eth0.{vid}")
            ip(h, f"link set eth0.{vid} up")
    return world, hosts


def _ping(world, host, *args: str) -> str:
    before = len(host.output())
    run(world, host, ping_main, list(args))
    return host.output()[before:]


def test_a_vlan_carries_tagged_frames_and_keeps_to_itself(tmp_path, tshark):
    world, (h1, h2, h3) = vlans()
    cap = capture(h3, "eth0", tmp_path / "h3.pcap")
    assert "2 received" in _ping(world, h1, "-c", "2", "10.10.0.2")
    assert "2 received" in _ping(world, h1, "-c", "2", "10.20.0.3")
    cap.close()
    # h3 heard VLAN 10's broadcast ARP request (a switch floods it), but has no device for 10: its
    # IP never saw it, and nobody answered from h3
    lines = tshark_lines(tshark, tmp_path / "h3.pcap", "vlan.id", "eth.src", "_ws.col.Protocol")
    assert any(line.startswith("10\t") and line.endswith("ARP") for line in lines)
    assert all(not (line.startswith("10\t") and "02:00:00:00:00:05" in line) for line in lines)
    assert any(line.startswith("20\t") and line.endswith("ICMP") for line in lines)
    assert tshark_problems(tshark, tmp_path / "h3.pcap") == []
    assert h3.mib.Icmp["InEchos"] == 2 and h2.mib.Icmp["InEchos"] == 2
    # what h1's eth0.10 sent is counted on it, and once more on eth0 below it
    assert h1.dev("eth0.10").stats.tx_packets >= 3 and h1.dev("eth0").stats.tx_packets >= 6


def test_a_tag_no_device_has_is_another_hosts_frame():
    """h3 has 10.10.0.3 on its untagged eth0: VLAN 10's ARP request for it reaches its eth0
    tagged, finds no eth0.10, and goes up as a frame for another host, which ARP ignores."""
    world, (h1, h2, h3) = vlans()
    ip(h3, "addr add 10.10.0.3/24 dev eth0")
    out = _ping(world, h1, "-c", "1", "-W", "1", "10.10.0.3")
    assert "0 received" in out and h3.mib.Icmp["InEchos"] == 0
    assert "1 received" in _ping(world, h2, "-c", "1", "10.0.0.3")  # untagged, as before


def test_full_size_frames_cross_with_their_tag_and_tcp_streams_over_it(tmp_path, tshark):
    """A 1500-octet packet is a 1518-octet frame with its tag: the NICs take it (VLAN_ETH_FRAME_LEN);
    a TCP stream of 200 kB crosses whole."""
    world, (h1, h2, _) = vlans()
    cap = capture(h2, "eth0", tmp_path / "big.pcap")
    assert "1 received" in _ping(world, h1, "-c", "1", "-s", "1472", "-M", "do", "10.10.0.2")
    bulk_transfer(world, h1, h2, 200_000, daddr="10.10.0.2")
    cap.close()
    sizes = [int(x) for x in tshark_lines(tshark, tmp_path / "big.pcap", "frame.len",
                                          display_filter="vlan.id == 10 && ip.len == 1500")]
    assert sizes and set(sizes) == {1518}
    assert h2.dev("eth0").stats.rx_length_errors == 0
    assert tshark_problems(tshark, tmp_path / "big.pcap") == []


def test_tcpdump_prints_the_tags_as_this_machines_tcpdump(tmp_path):
    world, (h1, h2, _) = vlans()
    cap = capture(h2, "eth0", tmp_path / "tags.pcap")
    _ping(world, h1, "-c", "1", "10.10.0.2")
    cap.close()
    for args in (["-n"], ["-n", "-e"], ["-n", "vlan 10 and icmp"], ["-n", "-e", "vlan and arp"], ["-n", "not vlan"]):
        theirs = real_tcpdump(*args, "-r", str(tmp_path / "tags.pcap"))
        before = len(h2.output())
        assert run(world, h2, tcpdump_main, [*args, "-r", str(tmp_path / "tags.pcap")]) == theirs.returncode == 0
        assert h2.output()[before:] == theirs.stderr + theirs.stdout, args
        assert ("vlan 10" in theirs.stdout) == ("-e" in args)


def test_a_vlan_follows_the_device_below_and_goes_with_ip_link_del():
    world, (h1, h2, _) = vlans()
    with pytest.raises(IpError, match="Network is down"):
        ip(h1, "link set eth0 down") or ip(h1, "link set eth0.10 up")
    assert not h1.dev("eth0.10").up and not h1.dev("eth0.20").up
    ip(h1, "link set eth0 up")
    ip(h1, "link set eth0.10 up")
    assert "1 received" in _ping(world, h1, "-c", "1", "10.10.0.2")
    ip(h1, "link del eth0.10")
    assert "eth0.10" not in h1.devices and (0x8100, 10) not in h1.dev("eth0").vlan_info
    assert "10.10.0.0/24" not in ip(h1, "route") and not any(k.startswith("net.ipv4.conf.eth0.10.") for k in h1.sysctl)
    ip(h1, "link add link eth0 name eth0.10 type vlan id 10")  # the name and the id are free again


def test_qinq_a_customer_vlan_inside_a_service_vlan(tmp_path, tshark):
    """802.1ad outside (TPID 0x88a8, id 100), 802.1Q inside (id 10): a VLAN device over a VLAN
    device; the frames carry both tags, the outer one first, and come back through both."""
    world, hosts, _ = lan(2)
    for i, h in enumerate(hosts):
        for command in ("link add link eth0 name eth0.100 type vlan protocol 802.1ad id 100", "link set eth0.100 up",
                        "link add link eth0.100 name eth0.100.10 type vlan id 10",
                        f"addr add 10.100.10.{i + 1}/24 dev eth0.100.10", "link set eth0.100.10 up"):
            ip(h, command)
    cap = capture(hosts[1], "eth0", tmp_path / "qinq.pcap")
    assert "2 received" in _ping(world, hosts[0], "-c", "2", "10.100.10.2")
    cap.close()
    lines = tshark_lines(tshark, tmp_path / "qinq.pcap", "eth.type", "ieee8021ad.id", "vlan.id", "vlan.etype",
                         display_filter="icmp")
    assert len(lines) == 4 and set(lines) == {"0x88a8\t100\t10\t0x0800"}
    theirs = real_tcpdump("-n", "-e", "-r", str(tmp_path / "qinq.pcap"), "vlan 100 and vlan 10 and icmp")
    before = len(hosts[1].output())
    assert run(world, hosts[1], tcpdump_main, ["-n", "-e", "-r", str(tmp_path / "qinq.pcap"),
                                               "vlan 100 and vlan 10 and icmp"]) == theirs.returncode == 0
    assert hosts[1].output()[before:] == theirs.stderr + theirs.stdout and theirs.stdout.count("\n") == 4
    assert "vlan protocol 802.1ad id 100" in ip(hosts[0], "-d link show eth0.100")
    assert "eth0.100.10@eth0.100:" in ip(hosts[0], "link show eth0.100.10")
    ip(hosts[0], "link del eth0.100")  # the customer VLAN over it goes with it
    assert not {"eth0.100", "eth0.100.10"} & set(hosts[0].devices) and not hosts[0].dev("eth0").vlan_info


@pytest.mark.parametrize("command, message, status", [
    ("link add link eth0 name v1 type vlan", "Error: 8021q: VLAN id not specified.", 2),
    ("link add name v1 type vlan id 5", "Error: 8021q: link not specified.", 2),
    ("link add link eth0 name v1 type vlan id 4095", "Error: 8021q: Invalid VLAN id.", 2),
    ("link add link eth0 name v1 type vlan id abc", 'Error: argument "abc" is wrong: id is invalid', 255),
    ("link add link eth0 name v1 type vlan id 70000", 'Error: argument "70000" is wrong: id is invalid', 255),
    ("link add link eth0 name v1 type vlan id 10", "Error: 8021q: VLAN device already exists.", 2),
    ("link add link eth0 name eth0.20 type vlan id 30", "RTNETLINK answers: File exists", 2),
    ("link add link nosuch name v1 type vlan id 5", 'Cannot find device "nosuch"', 1),
    ("link add link eth0 name v1 type frob", "Error: Unknown device type.", 2),
    ("link add link eth0 name v1 type vlan protocol 802.1x id 5",
     'Error: argument "802.1x" is wrong: protocol is invalid', 255),
    ("link del eth0", "RTNETLINK answers: Operation not supported", 2),
    ("link del nosuch", 'Cannot find device "nosuch"', 1),
    ("link set eth0.10 mtu 1501", "RTNETLINK answers: Numerical result out of range", 2),
])
def test_ip_link_refuses_as_iproute2_and_the_kernel_do(command, message, status):
    world, (h1, _, _) = vlans()
    with pytest.raises(IpError) as e:
        ip(h1, command)
    assert (str(e.value), e.value.status) == (message, status)


def test_ip_link_shows_a_vlan_over_its_device():
    world, (h1, _, _) = vlans()
    out = ip(h1, "-d link show eth0.10")
    assert out.startswith("3: eth0.10@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP ")
    assert "\n    vlan protocol 802.1Q id 10 <REORDER_HDR> " in out


def test_each_frame_is_counted_once_below_and_its_packet_on_the_vlan_device():
    """``vlan_do_receive`` counts a packet on its VLAN device by the bytes past the Ethernet
    header (``skb->len`` there), what a capture on that device shows less 14; the driver below
    counted the tagged frame once, and a tag no device has adds no second count below."""
    world, (h1, h2, h3) = vlans()
    ip(h3, "addr add 10.10.0.3/24 dev eth0")
    cap = capture(h2, "eth0.10", promisc=False)
    vdev, below = h2.dev("eth0.10"), h2.dev("eth0")
    v0, b0 = (vdev.stats.rx_packets, vdev.stats.rx_bytes), below.stats.rx_packets
    assert "2 received" in _ping(world, h1, "-c", "2", "10.10.0.2")
    cap.close()
    mine = below.dev_addr
    incoming = [frame for _, frame, _ in cap.frames if frame[6:12] != mine]
    assert len(incoming) >= 3  # the ARP request and two echo requests at least
    assert vdev.stats.rx_packets - v0[0] == len(incoming)
    assert vdev.stats.rx_bytes - v0[1] == sum(len(frame) - 14 for frame in incoming)
    assert below.stats.rx_packets - b0 == len(incoming)
    # h3's NIC takes VLAN 10's broadcasts (its switch floods them), has no eth0.10: counted once
    frames = h3.dev("eth0").stats.rx_packets
    _ping(world, h1, "-c", "1", "-W", "1", "10.10.0.3")
    assert h3.dev("eth0").stats.rx_packets - frames == 1  # the ARP request, once
