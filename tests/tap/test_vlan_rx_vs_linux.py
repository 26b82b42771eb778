"""A tagged frame's way in, judged by this machine's kernel over a veth pair (whose kernel has no
8021q module: the core alone handles the tag) and a tuxnet cable: the core takes the 802.1Q or
802.1ad tag out of the frame before anything sees it (``skb_vlan_untag``), so a packet socket
reads the frame untagged, of its inner protocol, the tag in PACKET_AUXDATA; one listening for
802.1Q hears nothing; a frame tagged for its priority alone (VLAN 0) goes up to IP, which answers
a ping in it (untagged), where a frame of a VLAN no device has is another host's, which IP drops."""

from __future__ import annotations

import json
import os
import socket
import struct
import sys

import pytest

import tuxnet.socket as tux_socket
from tuxnet.tapnet import Netns, netns_unavailable
from tuxnet.user import libc
from tuxnet.user.iproute import ip
from tuxnet.world import World, msecs

pytestmark = pytest.mark.root

ETH_P_ALL, ETH_P_IP, ETH_P_8021Q, ETH_P_8021AD = 0x0003, 0x0800, 0x8100, 0x88A8
SOL_PACKET, PACKET_AUXDATA = 263, 8
CSUM_BITS = 0x8 | 0x80  # TP_STATUS_CSUMNOTREADY, TP_STATUS_CSUM_VALID: each device's own offloads


def _csum(data: bytes) -> int:
    data += b"\0" * (len(data) % 2)
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    return ~(s + (s >> 16)) & 0xFFFF


def echo_request(seq: int) -> bytes:
    """An IPv4 ICMP echo request from 10.0.0.1 to 10.0.0.2."""
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x1234, seq) + bytes(range(64))  # (no frame padded to 60 octets)
    icmp = icmp[:2] + struct.pack("!H", _csum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), seq, 0, 64, 1, 0, socket.inet_aton("10.0.0.1"),
                     socket.inet_aton("10.0.0.2"))
    return ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:] + icmp


def tag(tpid: int, prio: int, vid: int) -> bytes:
    return struct.pack("!HH", tpid, prio << 13 | vid)


def open_receiver(dev: str) -> list[socket.socket]:
    """Three packet sockets on ``dev``: every protocol (raw, with PACKET_AUXDATA), 802.1Q alone,
    IPv4 alone (cooked)."""
    every = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    every.bind((dev, 0))
    every.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    vlan = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_8021Q))
    vlan.bind((dev, 0))
    ip = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    ip.bind((dev, 0))
    return [every, vlan, ip]


def send(dev: str, src: str, dst: str) -> socket.socket:
    """Four echo requests from ``dev``'s packet socket to the receiver (``dst``'s MAC): tagged
    802.1Q VLAN 10, tagged for priority 3 alone (VLAN 0), untagged, and 802.1ad 20 over 802.1Q
    30; the socket that hears what comes back."""
    back = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    back.bind((dev, 0))
    out = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    out.bind((dev, 0))
    for seq, tags in enumerate([tag(ETH_P_8021Q, 5, 10), tag(ETH_P_8021Q, 3, 0), b"",
                                tag(ETH_P_8021AD, 0, 20) + tag(ETH_P_8021Q, 1, 30)], 1):
        out.send(bytes.fromhex(dst) + bytes.fromhex(src) + tags + struct.pack("!H", ETH_P_IP) + echo_request(seq))
    out.close()
    return back


def read_receiver(socks: list[socket.socket]) -> list:
    """What each socket read: the raw one each frame's length, type after the addresses, the
    protocol and packet type it was given, its tpacket_auxdata (the checksum bits left out); the
    others their frames' lengths."""
    every, vlan, ip = socks
    heard: list = []
    for data, anc, _, addr in _drain(every):
        if data[12:14] not in (b"\x08\x00", b"\x81\x00"):
            continue  # (what else the link carries: IPv6's neighbour discovery on the kernel's)
        aux = [list(struct.unpack("=IIIHHHH", d)) for level, kind, d in anc if (level, kind) == (SOL_PACKET, 8)]
        for a in aux:
            a[0] &= ~CSUM_BITS
        heard.append([len(data), data[12:14].hex(), addr[1], addr[2], aux])
    return [heard, [len(d) for d, _, _, _ in _drain(vlan)], [len(d) for d, _, _, _ in _drain(ip)]]


def read_back(back: socket.socket) -> list:
    """The echo replies that came back: the type after the addresses, the ICMP type, the sequence."""
    return [[d[12:14].hex(), d[34], struct.unpack("!H", d[40:42])[0]] for d, _, _, addr in _drain(back)
            if addr[2] != socket.PACKET_OUTGOING and len(d) > 41 and d[23] == 1]


def _drain(s: socket.socket) -> list:
    got = []
    while True:
        try:
            got.append(s.recvmsg(2048, 256, socket.MSG_DONTWAIT))
        except BlockingIOError:
            return got


def linux_play() -> list:
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    ns = Netns(f"tuxnet-vlanrx-{os.getpid()}")
    try:
        ns.run("ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1")
        for dev in ("v0", "v1"):
            ns.run("ip", "link", "set", dev, "up")
        ns.run("ip", "addr", "add", "10.0.0.2/24", "dev", "v1")
        macs = [ns.run("cat", f"/sys/class/net/{dev}/address").stdout.strip() for dev in ("v0", "v1")]
        ns.run("ip", "neigh", "add", "10.0.0.1", "lladdr", macs[0], "dev", "v1")
        return json.loads(ns.run(sys.executable, __file__, *(m.replace(":", "") for m in macs)).stdout)
    finally:
        ns.close()


def tuxnet_play() -> list:
    """The same on two tuxnet hosts joined by a cable: b (10.0.0.2) receives, a sends."""
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    world.run_for(msecs(1))
    macs = [h.dev("eth0").dev_addr.hex() for h in (a, b)]
    ip(b, f"neigh add 10.0.0.1 lladdr {a.dev('eth0').dev_addr.hex(':')} dev eth0")

    def receiver() -> list:
        socks = open_receiver("eth0")
        libc.sleep(0.1)
        return read_receiver(socks)

    def sender() -> list:
        libc.sleep(0.01)
        back = send("eth0", *macs)
        libc.sleep(0.1)
        return read_back(back)

    procs = [b.spawn(tux_socket.stdlib(receiver)), a.spawn(tux_socket.stdlib(sender))]
    world.run_until(lambda: not any(p.alive for p in procs), timeout=10**10)
    return json.loads(json.dumps([p.result for p in procs]))


def test_a_tagged_frame_comes_in_untagged_as_on_the_kernel() -> None:
    linux = linux_play()
    heard = linux[0][0]
    # VLAN 10: 4 bytes shorter, IPv4 after the addresses, the tag in the auxiliary data
    assert heard[0][:4] == [106, "0800", ETH_P_IP, 0] and heard[0][4][0][5:] == [5 << 13 | 10, ETH_P_8021Q]
    # only the priority-tagged and the untagged requests were answered
    assert [r[2] for r in linux[1]] == [2, 3]
    assert tuxnet_play() == linux


if __name__ == "__main__":
    import time

    socks = open_receiver("v1")
    back = send("v0", sys.argv[1], sys.argv[2])
    time.sleep(0.1)
    print(json.dumps([read_receiver(socks), read_back(back)]))
