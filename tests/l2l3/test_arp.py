"""ARP and the neighbour state machine (RFC 826, net/core/neighbour.c, net/ipv4/arp.c)."""

from __future__ import annotations

import errno

import pytest
from netlab import capture, is_arp, is_broadcast, lan, run, tshark_problems

from tuxnet.net.core.neighbour import (
    NUD_DELAY,
    NUD_FAILED,
    NUD_INCOMPLETE,
    NUD_PROBE,
    NUD_REACHABLE,
    NUD_STALE,
    __ipv4_neigh_lookup_noref,
)
from tuxnet.net.core.sock import SO_RCVTIMEO, SOL_SOCKET
from tuxnet.net.core.utils import in_aton
from tuxnet.net.ipv4.af_inet import IP_RECVERR, IPPROTO_IP
from tuxnet.net.ipv4.arp import ARPOP_REPLY, ARPOP_REQUEST
from tuxnet.net.socket import AF_INET, SOCK_DGRAM
from tuxnet.user import libc
from tuxnet.user.iproute import ip
from tuxnet.user.programs.ping import ping_main
from tuxnet.world import msecs, secs


def _entry(host, addr):
    return __ipv4_neigh_lookup_noref(host, host.dev("eth0"), in_aton(addr))


def _send_udp(dest: str, payloads: list[bytes], connect: bool = False) -> int:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    if connect:
        libc.connect(fd, (dest, 9999))
        for p in payloads:
            libc.send(fd, p)
    else:
        for p in payloads:
            libc.sendto(fd, p, 0, (dest, 9999))
    return fd


def _recv_n(n: int) -> list[bytes]:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.bind(fd, ("", 9999))
    return [libc.recvfrom(fd, 2048)[0] for _ in range(n)]


def test_first_packet_resolves_with_one_request_and_one_reply_then_the_queue_leaves(tmp_path, tshark):
    world, (h1, h2), _ = lan(2)
    cap = capture(h1, "eth0", tmp_path / "arp.pcap")
    receiver = h2.spawn(_recv_n, 3)
    world.run_for(msecs(1))
    payloads = [b"first", b"second", b"third"]
    run(world, h1, _send_udp, "10.0.0.2", payloads)
    assert _entry(h1, "10.0.0.2").nud_state == NUD_INCOMPLETE
    assert len(_entry(h1, "10.0.0.2").arp_queue) == 3, "the datagrams wait for the address"
    world.run_until(lambda: not receiver.alive, timeout=secs(1))
    assert receiver.result == payloads, "the queued datagrams leave, in order, once resolved"
    world.run_for(secs(1))
    cap.close()
    arps = [f for _, f, _ in cap.frames if is_arp(f)]
    requests = [f for f in arps if is_arp(f, ARPOP_REQUEST)]
    replies = [f for f in arps if is_arp(f, ARPOP_REPLY)]
    assert len(requests) == 1 and is_broadcast(requests[0]) and requests[0][6:12] == h1.dev("eth0").dev_addr
    assert requests[0][38:42] == bytes([10, 0, 0, 2]) and requests[0][28:32] == bytes([10, 0, 0, 1])
    assert len(replies) == 1 and replies[0][:6] == h1.dev("eth0").dev_addr
    assert replies[0][22:28] == h2.dev("eth0").dev_addr
    assert len(requests[0]) == 42 and len(replies[0]) == 60, "taps see the sent frame unpadded, received padded"
    assert _entry(h1, "10.0.0.2").nud_state == NUD_REACHABLE
    # The asker was learnt by the target from its request (STALE), as Linux does: no ARP back.
    assert _entry(h2, "10.0.0.1").nud_state in (NUD_STALE, NUD_DELAY, NUD_REACHABLE)
    assert tshark_problems(tshark, tmp_path / "arp.pcap") == []


def test_absent_neighbour_three_requests_one_second_apart_then_ehostunreach():
    world, (h1, _h2), _ = lan(2)
    cap = capture(h1, "eth0")
    start = world.now
    fd_box = {}

    def sender(recverr: bool) -> int:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.setsockopt(fd, IPPROTO_IP, IP_RECVERR, int(recverr))
        libc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, 6.0)
        libc.connect(fd, ("10.0.0.77", 9999))
        libc.send(fd, b"hello?")
        fd_box["fd"] = fd
        libc.sleep(5)
        try:
            libc.recv(fd, 100)
        except OSError as e:
            return e.errno
        return 0

    # ARP's failure comes back as ICMP host unreachable from this host itself (arp_error_report):
    # a soft error, which a connected socket hears only with IP_RECVERR, as on Linux
    # (__udp4_lib_err; checked on this machine's kernel: without it, recv times out).
    result = run(world, h1, sender, True)
    assert result == errno.EHOSTUNREACH
    requests = [(t, f) for t, f, _ in cap.frames if is_arp(f, ARPOP_REQUEST) and f[38:42] == bytes([10, 0, 0, 77])]
    assert len(requests) == 3 and all(is_broadcast(f) for _, f in requests)
    times = [t - start for t, _ in requests]
    assert [times[1] - times[0], times[2] - times[1]] == [secs(1), secs(1)]
    assert _entry(h1, "10.0.0.77").nud_state == NUD_FAILED
    assert h1.arp_tbl.stats.res_failed == 1
    assert "10.0.0.77 dev eth0 FAILED" in ip(h1, "neigh show")
    world, (h1, _h2), _ = lan(2)
    assert run(world, h1, sender, False) == errno.EAGAIN  # SO_RCVTIMEO ran out: nothing to report


def test_ping_to_an_absent_neighbour_reports_destination_host_unreachable():
    world, (h1, _h2), _ = lan(2)
    assert run(world, h1, ping_main, ["-c", "3", "10.0.0.99"]) == 1
    out = h1.output()
    assert out.count("From 10.0.0.1 icmp_seq=") == 3
    assert "From 10.0.0.1 icmp_seq=1 Destination Host Unreachable" in out
    assert "3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2000ms" in out
    assert "pipe 3" in out


def test_reachable_ages_to_stale_then_delay_probe_and_back_to_reachable():
    world, (h1, h2), _ = lan(2)
    run(world, h1, _send_udp, "10.0.0.2", [b"x"])
    world.run_for(msecs(10))
    n = _entry(h1, "10.0.0.2")
    assert n.nud_state == NUD_REACHABLE
    reach = n.parms.reachable_time
    assert secs(15) <= reach < secs(45), "base_reachable_time 30 s, randomised to [15, 45)"
    world.run_for(reach + secs(1))
    assert n.nud_state == NUD_STALE
    cap = capture(h1, "eth0")
    run(world, h1, _send_udp, "10.0.0.2", [b"y"])
    assert n.nud_state == NUD_DELAY, "a packet to a STALE entry goes at once, and the entry is suspected"
    world.run_for(secs(5) + msecs(1))
    unicast = [f for _, f, _ in cap.frames if is_arp(f, ARPOP_REQUEST) and not is_broadcast(f)]
    assert len(unicast) == 1 and unicast[0][:6] == h2.dev("eth0").dev_addr, "PROBE asks the known address"
    assert n.nud_state == NUD_REACHABLE, "the unicast reply confirms it"


def test_probe_without_answer_fails_after_ucast_solicit_probes():
    world, (h1, h2), _ = lan(2)
    run(world, h1, _send_udp, "10.0.0.2", [b"x"])
    n = _entry(h1, "10.0.0.2")
    world.run_for(n.parms.reachable_time + secs(1))
    h2.dev_close("eth0")
    run(world, h1, _send_udp, "10.0.0.2", [b"y"])
    world.run_for(secs(5) + msecs(1))
    assert n.nud_state == NUD_PROBE
    world.run_for(secs(3))
    assert n.nud_state == NUD_FAILED


def test_learning_from_requests_only_for_our_address():
    world, (h1, h2, h3), _ = lan(3)
    run(world, h1, _send_udp, "10.0.0.2", [b"x"])
    world.run_for(msecs(10))
    assert _entry(h2, "10.0.0.1") is not None, "the target learns the asker"
    assert _entry(h3, "10.0.0.1") is None, "a bystander does not (the request is not for it)"


def _garps(cap, addr: str) -> list[bytes]:
    a = in_aton(addr).to_bytes(4, "big")
    return [f for _, f, _ in cap.frames if is_arp(f, ARPOP_REQUEST) and f[28:32] == f[38:42] == a]


def test_no_gratuitous_arp_by_default():
    """arp_notify is 0 in Linux: neither ``ip addr add`` nor bringing a link up announces."""
    world, (h1, h2), _ = lan(2)
    cap = capture(h1, "eth0")
    h2.ip_addr_add("eth0", "10.0.0.22/24")
    ip(h2, "link set eth0 down")
    ip(h2, "link set eth0 up")
    world.run_for(msecs(10))
    assert cap.frames == []


def test_arp_notify_announces_on_link_up_and_neighbours_follow():
    """With arp_notify 1 a device that comes up announces each of its addresses (NETDEV_UP); a
    host whose NIC changed is relearnt by its neighbours (a gratuitous ARP overrides), while a
    host that never talked to it creates no entry (arp_accept 0)."""
    world, (h1, h2, h3), _ = lan(3)
    run(world, h1, _send_udp, "10.0.0.2", [b"x"])
    world.run_for(msecs(10))
    cap = capture(h1, "eth0")
    h2.sysctl.set("net.ipv4.conf.all.arp_notify", 1)
    h2.ip_addr_add("eth0", "10.0.0.22/24")
    world.run_for(msecs(10))
    assert cap.frames == [], "adding an address announces nothing"
    entry = _entry(h1, "10.0.0.2")
    new_mac = b"\x02\xaa\x00\x00\x00\x02"
    ip(h2, "link set eth0 down")
    h2.dev("eth0").dev_addr = new_mac
    ip(h2, "link set eth0 up")
    world.run_for(msecs(10))
    for addr in ("10.0.0.2", "10.0.0.22"):
        garps = _garps(cap, addr)
        assert len(garps) == 1 and is_broadcast(garps[0]) and garps[0][6:12] == new_mac, addr
    assert entry.ha == new_mac and entry.nud_state == NUD_STALE
    assert _entry(h3, "10.0.0.2") is None and _entry(h1, "10.0.0.22") is None


def test_netdev_notify_peers_announces_whatever_arp_notify_says():
    from tuxnet.net.ipv4.arp import netdev_notify_peers

    world, (h1, h2), _ = lan(2)
    cap = capture(h1, "eth0")
    netdev_notify_peers(h2.dev("eth0"))
    world.run_for(msecs(10))
    assert len(_garps(cap, "10.0.0.2")) == 1


def test_answers_duplicate_address_detection_probe():
    from tuxnet.net.core.dev import ETH_P_ARP
    from tuxnet.net.ipv4.arp import arp_send

    world, (h1, h2), _ = lan(2)
    cap = capture(h1, "eth0")
    arp_send(ARPOP_REQUEST, ETH_P_ARP, in_aton("10.0.0.2"), h1.dev("eth0"), 0, None, None, None)
    world.run_for(msecs(10))
    replies = [f for _, f, _ in cap.frames if is_arp(f, ARPOP_REPLY)]
    assert len(replies) == 1 and replies[0][28:32] == bytes([10, 0, 0, 2])
    assert _entry(h2, "0.0.0.0") is None


def test_unres_qlen_bytes_drops_the_oldest():
    world, (h1, _h2), _ = lan(2)
    # __ip_append_data's buffer for IP, UDP and 100 octets, with 31 to spare for the link layer:
    # 159 octets and its skb_shared_info come from the small-head cache (640), then the sk_buff
    truesize = 640 + 256
    h1.sysctl.set("net.ipv4.neigh.default.unres_qlen_bytes", 2 * truesize + truesize // 2)
    payloads = [bytes([i]) * 100 for i in range(5)]
    run(world, h1, _send_udp, "10.0.0.2", payloads)
    n = _entry(h1, "10.0.0.2")
    assert [s.truesize for s in n.arp_queue] == [truesize, truesize]
    assert n.arp_queue_len_bytes == 2 * truesize
    assert h1.arp_tbl.stats.unres_discards == 3
    assert [bytes(s.buf[s.tail - 100:s.tail]) for s in n.arp_queue] == payloads[3:], "the newest stay"


def test_garbage_collection_of_stale_and_failed_entries():
    world, (h1, _h2, _h3), _ = lan(3)
    h1.sysctl.set("net.ipv4.neigh.default.gc_thresh1", 1)
    run(world, h1, _send_udp, "10.0.0.2", [b"x"])
    run(world, h1, _send_udp, "10.0.0.66", [b"x"])
    world.run_for(secs(4))
    assert _entry(h1, "10.0.0.66").nud_state == NUD_FAILED
    world.run_for(secs(46))
    assert _entry(h1, "10.0.0.66") is None, "FAILED entries go at the next periodic pass"
    assert _entry(h1, "10.0.0.2").nud_state == NUD_STALE
    world.run_for(secs(60))
    assert _entry(h1, "10.0.0.2") is None, "unused for gc_stale_time (60 s): collected"
    assert h1.arp_tbl.stats.periodic_gc_runs >= 2


def test_small_tables_are_not_collected_and_the_world_goes_idle():
    world, (h1, _h2), _ = lan(2)
    run(world, h1, _send_udp, "10.0.0.2", [b"x"])
    world.run()
    assert _entry(h1, "10.0.0.2").nud_state == NUD_STALE, "below gc_thresh1 nothing is collected"


@pytest.mark.parametrize("seed", [3, 4])
def test_reachable_time_is_randomised_per_seed(seed):
    world, (h1, _), _ = lan(2, seed=seed)
    base = h1.arp_tbl.parms.base_reachable_time
    r = h1.arp_tbl.parms.reachable_time
    assert base // 2 <= r < base * 3 // 2
    world2, (h1b, _), _ = lan(2, seed=seed)
    assert h1b.arp_tbl.parms.reachable_time == r, "same seed, same draw"


def test_the_kernel_path_carries_linux_names():
    from tuxnet.trace.ftrace import FunctionTracer

    world, (h1, _h2), _ = lan(2)
    with FunctionTracer(world) as tracer:
        run(world, h1, _send_udp, "10.0.0.2", [b"x"])
        world.run_for(msecs(5))
    called = tracer.called()
    path = ["ip_finish_output2", "__ipv4_neigh_lookup_noref", "__neigh_create", "arp_constructor",
            "neigh_resolve_output", "neigh_event_send", "arp_solicit", "arp_send", "dev_queue_xmit",
            "br_handle_frame", "br_handle_frame_finish", "br_fdb_update", "br_flood", "arp_rcv",
            "arp_process", "neigh_event_ns", "neigh_update", "br_forward"]
    positions = [called.index(name) for name in path]
    assert positions[:9] == sorted(positions[:9]), "the send side, in order"
    assert all(name in called for name in path)


def test_a_device_going_down_forgets_its_neighbours():
    world, (h1, _h2), _ = lan(2)
    run(world, h1, _send_udp, "10.0.0.2", [b"x"])
    ip(h1, "neigh add 10.0.0.50 lladdr 02:00:00:00:00:50 dev eth0")
    assert ip(h1, "neigh").count("\n") == 2
    ip(h1, "link set eth0 down")
    assert ip(h1, "neigh") == "", "arp_ifdown takes the permanent entries too"
