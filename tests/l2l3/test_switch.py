"""The learning switch: a Linux bridge without a host (net/bridge)."""

from __future__ import annotations

from netlab import capture, lan, run

from tuxnet.net.core.dev import dev_queue_xmit
from tuxnet.net.core.skbuff import alloc_skb
from tuxnet.net.ethernet.eth import eth_header, format_mac
from tuxnet.net.socket import AF_INET, SOCK_DGRAM
from tuxnet.user import libc
from tuxnet.world import World, msecs, secs


def _udp(dest: str, n: int = 1) -> None:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    for _ in range(n):
        libc.sendto(fd, b"data", 0, (dest, 9))


def _sink() -> None:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.bind(fd, ("", 9))
    while True:
        libc.recv(fd, 100)


def _tx(sw, port: str) -> int:
    return sw.bridge.port(port).stats.tx_frames


def _frames_between(cap, src_mac: bytes, dst_mac: bytes) -> int:
    return sum(1 for _, f, _ in cap.frames if f[6:12] == src_mac and f[:6] == dst_mac)


def test_after_learning_a_unicast_frame_leaves_only_on_the_destination_port():
    world, (h1, h2, h3), sw = lan(3)
    h2.spawn(_sink)
    run(world, h1, _udp, "10.0.0.2")  # ARP: h1 and h2 are learnt
    world.run_for(msecs(10))
    mac1, mac2 = h1.dev("eth0").dev_addr, h2.dev("eth0").dev_addr
    assert sw.bridge.fdb[mac1].dst.dev.name == "p1" and sw.bridge.fdb[mac2].dst.dev.name == "p2"
    cap3 = capture(h3, "eth0")
    before = {p: _tx(sw, p) for p in ("p1", "p2", "p3")}
    run(world, h1, _udp, "10.0.0.2", 10)
    world.run_for(msecs(10))
    after = {p: _tx(sw, p) for p in ("p1", "p2", "p3")}
    assert after["p2"] - before["p2"] == 10, "every datagram went out of h2's port"
    assert after["p3"] == before["p3"] and after["p1"] == before["p1"], "and out of no other"
    assert _frames_between(cap3, mac1, mac2) == 0, "h3 saw none of them"
    assert sw.bridge.port("p1").stats.forwarded >= 10


def test_unknown_unicast_and_broadcast_flood_to_every_other_port():
    world, (h1, h2, h3), sw = lan(3)
    cap3 = capture(h3, "eth0")
    before = {p: _tx(sw, p) for p in ("p1", "p2", "p3")}
    flooded = sw.bridge.port("p1").stats.flooded
    run(world, h1, _udp, "10.0.0.2")
    world.run_for(msecs(10))
    # The ARP request (broadcast) was flooded to p2 and p3, not back to p1.
    arp = [f for _, f, _ in cap3.frames if f[12:14] == b"\x08\x06" and f[6:12] == h1.dev("eth0").dev_addr]
    assert len(arp) == 1
    assert sw.bridge.port("p1").stats.flooded == flooded + 1
    assert _tx(sw, "p3") == before["p3"] + 1, "only the broadcast reached p3"


def test_a_frame_for_a_station_on_the_ingress_port_is_filtered():
    world = World(seed=2)
    h1, h2, h3 = (world.add_host(n) for n in ("h1", "h2", "h3"))
    hub = world.add_hub("hub0", rate="10mbit")
    sw = world.add_switch("sw0")
    world.connect(h1, hub, a_addr="10.0.0.1/24")
    world.connect(h2, hub, a_addr="10.0.0.2/24")
    world.connect(sw, hub)  # the switch's port p1 is a station on the hub
    world.connect(h3, sw, a_addr="10.0.0.3/24")
    h2.spawn(_sink)
    world.run_for(msecs(20))
    run(world, h1, _udp, "10.0.0.2")
    world.run_for(msecs(20))
    mac1, mac2 = h1.dev("eth0").dev_addr, h2.dev("eth0").dev_addr
    assert sw.bridge.fdb[mac1].dst.dev.name == "p1" and sw.bridge.fdb[mac2].dst.dev.name == "p1"
    cap3 = capture(h3, "eth0")
    p1 = sw.bridge.port("p1").stats
    filtered, p2_tx = p1.filtered, _tx(sw, "p2")
    run(world, h1, _udp, "10.0.0.2", 5)
    world.run_for(msecs(20))
    assert p1.filtered - filtered == 5, "both ends are behind p1: the switch keeps the frames off p2"
    assert _tx(sw, "p2") == p2_tx and _frames_between(cap3, mac1, mac2) == 0
    assert h2.mib.Udp["InDatagrams"] == 6, "while the hub delivered them to h2"


def test_an_entry_ages_out_after_300_s_of_silence_and_the_next_frame_floods():
    world, (h1, h2, h3), sw = lan(3)
    h2.spawn(_sink)
    run(world, h1, _udp, "10.0.0.2")
    world.run_for(secs(10))
    mac2 = h2.dev("eth0").dev_addr
    learnt = sw.bridge.fdb[mac2].updated
    assert learnt < secs(1), "nothing was heard from h2 since it answered the ARP request"
    world.run(until=learnt + secs(300) - msecs(1))
    assert mac2 in sw.bridge.fdb, "not yet: ageing_time is 300 s"
    world.run(until=learnt + secs(300) + msecs(1))
    assert mac2 not in sw.bridge.fdb
    world.run_for(msecs(20))  # br_fdb_cleanup runs at least 10 ms apart
    assert h1.dev("eth0").dev_addr not in sw.bridge.fdb
    assert f"{format_mac(mac2)} dev p2 master br0 permanent" not in sw.fdb_show()
    # h1 still has h2's MAC in its ARP cache (STALE): it sends unicast, and the switch floods it.
    cap3 = capture(h3, "eth0")
    flooded = sw.bridge.port("p1").stats.flooded
    p3_tx = _tx(sw, "p3")
    run(world, h1, _udp, "10.0.0.2")
    world.run_for(msecs(10))
    assert sw.bridge.port("p1").stats.flooded == flooded + 1
    assert _tx(sw, "p3") == p3_tx + 1 and _frames_between(cap3, h1.dev("eth0").dev_addr, mac2) == 1


def test_a_station_that_moves_is_learnt_on_its_new_port():
    world, (h1, h2, h3), sw = lan(3)
    run(world, h1, _udp, "10.0.0.2")
    world.run_for(msecs(10))
    mac1 = h1.dev("eth0").dev_addr
    # A frame with h1's address as source arrives on p3 (h1 moved behind h3's port).
    dev = h3.dev("eth0")
    skb = alloc_skb(46, 14)
    skb.put_data(bytes(46))
    eth_header(skb, dev, 0x88B5, b"\xff" * 6, mac1)
    skb.dev = dev
    dev_queue_xmit(skb)
    world.run_for(msecs(10))
    assert sw.bridge.fdb[mac1].dst.dev.name == "p3"


def test_fdb_show_and_showmacs():
    world, (h1, h2), sw = lan(2)
    run(world, h1, _udp, "10.0.0.2")
    world.run(until=secs(3))
    lines = sw.fdb_show().splitlines()
    m = [format_mac(d.dev_addr) for d in (h1.dev("eth0"), sw.host.dev("p1"), h2.dev("eth0"), sw.host.dev("p2"))]
    assert lines == [f"{m[1]} dev p1 master br0 permanent", f"{m[0]} dev p1 master br0",
                     f"{m[3]} dev p2 master br0 permanent", f"{m[2]} dev p2 master br0"]
    assert f"{m[0]} dev p1 used 2/2 master br0" in sw.fdb_show(stats=True)
    macs = sw.showmacs().splitlines()
    assert macs[0] == "port no\tmac addr\t\tis local?\tageing timer"
    age = (world.now - sw.bridge.fdb[h1.dev("eth0").dev_addr].updated) / 1e9
    assert 2.9 < age < 3 and f"  1\t{m[0]}\tno\t\t{age:7.2f}" in macs
    stats = sw.port_stats().splitlines()
    assert stats[0].split() == ["port", "rx_frames", "tx_frames", "forwarded", "flooded", "filtered", "dropped"]
