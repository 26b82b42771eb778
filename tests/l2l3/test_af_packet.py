"""Packet sockets on cables and a hub (net/packet/af_packet.c): an ARP request sent from one and
the reply heard on one hearing ARP, frames of other hosts heard only in promiscuous mode, the
sender's own frames not heard back, and any bytes sent as a frame taken by the receiving stack
without harm.  (Against this machine's kernel on loopback: ``tests/tap/test_packet_vs_linux.py``.)"""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netlab import lan, run

import tuxnet.socket as tux_socket
from tuxnet.net.core.utils import in_aton
from tuxnet.net.packet.af_packet import (
    PACKET_ADD_MEMBERSHIP,
    PACKET_DROP_MEMBERSHIP,
    PACKET_MR_ALLMULTI,
    PACKET_MR_MULTICAST,
    PACKET_MR_PROMISC,
    PACKET_MR_UNICAST,
    SOL_PACKET,
)
from tuxnet.user import libc

ETH_P_ARP, ETH_P_IP, ETH_P_ALL = 0x0806, 0x0800, 0x0003


def arp_request(sha: bytes, spa: str, tpa: str) -> bytes:
    return struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, 1, sha, in_aton(spa).to_bytes(4, "big"), bytes(6),
                       in_aton(tpa).to_bytes(4, "big"))


def test_an_arp_request_from_a_packet_socket_and_the_reply_heard():
    world, (h1, h2), _ = lan(2)
    mac1, mac2 = bytes(h1.dev("eth0").dev_addr), bytes(h2.dev("eth0").dev_addr)

    def arping() -> list:
        s = tux_socket.socket(tux_socket.AF_PACKET, tux_socket.SOCK_DGRAM, tux_socket.htons(ETH_P_ARP))
        s.bind(("eth0", ETH_P_ARP))
        s.sendto(arp_request(mac1, "10.0.0.1", "10.0.0.2"), ("eth0", ETH_P_ARP, 0, 0, b"\xff" * 6))
        libc.sleep(0.01)
        s.setblocking(False)
        heard = []
        while True:
            try:
                data, addr = s.recvfrom(100)
            except BlockingIOError:
                return heard
            heard.append((data[:28], addr))

    heard = run(world, h1, tux_socket.stdlib(arping))
    # the reply, to us (PACKET_HOST), from h2's address; our request is not heard back
    assert len(heard) == 1
    data, (ifname, proto, pkttype, hatype, source) = heard[0]
    assert (ifname, proto, pkttype, hatype, source) == ("eth0", ETH_P_ARP, 0, 1, mac2)
    op, sha, spa = struct.unpack_from("!H", data, 6)[0], data[8:14], data[14:18]
    assert (op, sha, spa) == (2, mac2, in_aton("10.0.0.2").to_bytes(4, "big"))
    # the kernel of h1 asked nothing, and with arp_accept 0 an unasked reply makes no entry
    assert h2.mib.Ip["InReceives"] == 0 and not h1.arp_tbl.entries


def test_other_hosts_frames_are_heard_in_promiscuous_mode_only():
    world, (h1, h2, h3), _ = lan(3, hub=True)

    def listen(promisc: bool) -> list:
        s = tux_socket.socket(tux_socket.AF_PACKET, tux_socket.SOCK_RAW, tux_socket.htons(ETH_P_ALL))
        s.bind(("eth0", 0))
        if promisc:
            s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP,
                         struct.pack("=iHH8s", h1.dev("eth0").ifindex, PACKET_MR_PROMISC, 0, b""))
        libc.sleep(0.5)
        s.setblocking(False)
        kinds = []
        while True:
            try:
                data, addr = s.recvfrom(2000)
            except BlockingIOError:
                return kinds
            if data[12:14] == b"\x08\x00":
                kinds.append(addr[2])

    def ping_h3() -> None:
        libc.sleep(0.1)
        c = tux_socket.socket(tux_socket.AF_INET, tux_socket.SOCK_DGRAM)
        for _ in range(3):
            c.sendto(b"x", ("10.0.0.3", 9))

    for promisc in (False, True):
        sender = h2.spawn(tux_socket.stdlib(ping_h3))
        kinds = run(world, h1, tux_socket.stdlib(listen), promisc)
        world.run_until(lambda s=sender: not s.alive)
        # on a hub every frame reaches h1's NIC; only in promiscuous mode does it take them up,
        # as PACKET_OTHERHOST (3): the three datagrams and h3's three port unreachables
        assert kinds == ([3] * 6 if promisc else [])
    assert h1.dev("eth0").promiscuity == 0, "closing the socket gave the mode back"


def test_membership_kinds_open_the_nic_filter_to_what_they_name():
    """On a hub, h2 sends frames to a unicast address no host has, to a multicast address no group
    maps to, and to h1: h1's NIC takes the first with PACKET_MR_UNICAST of that address, the second
    with PACKET_MR_MULTICAST of it or with PACKET_MR_ALLMULTI, its own always.  A membership
    added twice and dropped once still holds; closing the socket gives every one back."""
    world, (h1, h2, h3), _ = lan(3, hub=True)
    stranger, group = bytes.fromhex("020000000099"), bytes.fromhex("01005e7f0001")
    ifindex = h1.dev("eth0").ifindex

    def listen(memberships: list[tuple[int, bytes, int]]) -> list:
        s = tux_socket.socket(tux_socket.AF_PACKET, tux_socket.SOCK_RAW, tux_socket.htons(ETH_P_ALL))
        s.bind(("eth0", 0))
        for kind, addr, times in memberships:
            for _ in range(abs(times)):
                s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP if times > 0 else PACKET_DROP_MEMBERSHIP,
                             struct.pack("=iHH8s", ifindex, kind, len(addr), addr))
        libc.sleep(0.5)
        s.setblocking(False)
        heard = []
        while True:
            try:
                data, _ = s.recvfrom(2000)
            except BlockingIOError:
                return heard
            if data[12:14] == b"\x88\xb5":
                heard.append(data[:6].hex())

    def send() -> None:
        libc.sleep(0.1)
        s = tux_socket.socket(tux_socket.AF_PACKET, tux_socket.SOCK_RAW)
        s.bind(("eth0", 0))
        for dst in (stranger, group, h1.dev("eth0").dev_addr):
            s.send(bytes(dst) + bytes(h2.dev("eth0").dev_addr) + b"\x88\xb5" + bytes(46))

    plays = {(): ["mine"], ((PACKET_MR_UNICAST, stranger, 1),): ["stranger", "mine"],
             ((PACKET_MR_MULTICAST, group, 1),): ["group", "mine"], ((PACKET_MR_ALLMULTI, b"", 1),): ["group", "mine"],
             ((PACKET_MR_UNICAST, stranger, 2), (PACKET_MR_UNICAST, stranger, -1)): ["stranger", "mine"],
             ((PACKET_MR_UNICAST, stranger, 1), (PACKET_MR_UNICAST, stranger, -1)): ["mine"]}
    names = {stranger.hex(): "stranger", group.hex(): "group", h1.dev("eth0").dev_addr.hex(): "mine"}
    for memberships, expected in plays.items():
        sender = h2.spawn(tux_socket.stdlib(send))
        heard = run(world, h1, tux_socket.stdlib(listen), list(memberships))
        world.run_until(lambda s=sender: not s.alive)
        assert [names[mac] for mac in heard] == expected, memberships
    dev = h1.dev("eth0")
    assert not dev.uc_list and dev.allmulti == 0 and group not in dev.mc_list, "closing gave them back"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=st.binary(min_size=14, max_size=200), ethertype=st.sampled_from([ETH_P_IP, ETH_P_ARP, 0x86DD, 0x1234]))
def test_any_frame_sent_from_a_packet_socket_is_taken_without_harm(frame, ethertype):
    world, (h1, h2), _ = lan(2, settle=False)
    mac2 = bytes(h2.dev("eth0").dev_addr)
    frame = mac2 + frame[6:12] + ethertype.to_bytes(2, "big") + frame[14:]

    def send() -> int:
        s = tux_socket.socket(tux_socket.AF_PACKET, tux_socket.SOCK_RAW, 0)
        return s.sendto(frame, ("eth0", ethertype))

    assert run(world, h1, tux_socket.stdlib(send)) == len(frame)
    world.run_for(10_000_000)
