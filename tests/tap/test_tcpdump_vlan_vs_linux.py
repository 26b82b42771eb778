"""tcpdump's ``vlan`` filters on a live capture, judged by this machine's tcpdump and kernel over a
veth pair: one end sends tagged and untagged frames from a packet socket, and tcpdump listens on
the receiving end (whose kernel took each tag out of the frame: the filter finds it in the
kernel's ``vlanp`` and ``vlan_tci``) or on the sending end (the tag still in the bytes: the filter
reads it there, and every offset after it moves on at run time).  tuxnet does the same on two
hosts joined by a cable.  What each tcpdump prints must be the same, lines and counts: the
kernel's filter passes only the frames the expression matches ("received by filter")."""

from __future__ import annotations

import os
import re
import shutil
import socket
import struct
import sys
import time

import pytest

import tuxnet.socket as tux_socket
from tuxnet.kernel.signal import SIGINT, send_sig
from tuxnet.tapnet import Netns, netns_unavailable
from tuxnet.user import libc
from tuxnet.user.programs.tcpdump import tcpdump_main
from tuxnet.world import World, msecs

pytestmark = [pytest.mark.root, pytest.mark.skipif(shutil.which("tcpdump") is None,
                                                    reason="no tcpdump: apt-get install tcpdump")]

ETH_P_IP, ETH_P_ARP, ETH_P_8021Q, ETH_P_8021AD = 0x0800, 0x0806, 0x8100, 0x88A8
TIME = re.compile(r"^\d\d:\d\d:\d\d\.\d{6} ", re.M)


def _csum(data: bytes) -> int:
    data += b"\0" * (len(data) % 2)
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    return ~(s + (s >> 16)) & 0xFFFF


def _ipv4(proto: int, payload: bytes, ident: int) -> bytes:
    """An IPv4 packet from 10.0.0.1 to 10.0.0.99 (no host's address: nothing answers it)."""
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0,
                      socket.inet_aton("10.0.0.1"), socket.inet_aton("10.0.0.99"))
    return hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:] + payload


def _echo(seq: int) -> bytes:
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x4242, seq) + bytes(range(32))
    return struct.pack("!H", ETH_P_IP) + _ipv4(1, icmp[:2] + struct.pack("!H", _csum(icmp)) + icmp[4:], seq)


def _udp(seq: int) -> bytes:
    udp = struct.pack("!HHHH", 5000, 9, 8 + 12, 0) + b"hello, vlan!"
    return struct.pack("!H", ETH_P_IP) + _ipv4(17, udp, seq)


def _arp(src_mac: bytes) -> bytes:
    return struct.pack("!HHHBBH6s4s6s4s", ETH_P_ARP, 1, ETH_P_IP, 6, 4, 1, src_mac, socket.inet_aton("10.0.0.1"),
                       b"\0" * 6, socket.inet_aton("10.0.0.99"))


def _tag(tpid: int, prio: int, vid: int) -> bytes:
    return struct.pack("!HH", tpid, prio << 13 | vid)


def frames(dst: bytes, src: bytes) -> list[bytes]:
    """802.1Q VLAN 10 (priority 5), VLAN 20, untagged, 802.1ad 20 over 802.1Q 30, a UDP datagram
    and an ARP request in VLAN 10, and a frame tagged for its priority alone (VLAN 0); each padded
    to 64 octets, since a veth sends a shorter frame as it is and a cable pads it to 60."""
    body = [_tag(ETH_P_8021Q, 5, 10) + _echo(1), _tag(ETH_P_8021Q, 0, 20) + _echo(2), _echo(3),
            _tag(ETH_P_8021AD, 0, 20) + _tag(ETH_P_8021Q, 1, 30) + _echo(4), _tag(ETH_P_8021Q, 0, 10) + _udp(5),
            _tag(ETH_P_8021Q, 0, 10) + _arp(src), _tag(ETH_P_8021Q, 3, 0) + _echo(7)]
    return [(dst + src + b).ljust(64, b"\0") for b in body]


def send(dev: str, dst: str, src: str) -> None:
    out = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    out.bind((dev, 0))
    for frame in frames(bytes.fromhex(dst), bytes.fromhex(src)):
        out.send(frame)
    out.close()


A_MAC, B_MAC = "02:00:00:00:00:0a", "02:00:00:00:00:0b"


def linux_capture(side: str, expression: str) -> list[str]:
    """tcpdump on v1 (the receiving end) or v0 (the sending end) in a namespace of our own while
    v0 sends the frames."""
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    ns = Netns(f"tuxnet-tcpdvlan-{os.getpid()}")
    try:
        for conf in ("all", "default"):  # (no IPv6 neighbour discovery on the link)
            ns.run("sysctl", "-qw", f"net.ipv6.conf.{conf}.disable_ipv6=1")
        ns.run("ip", "link", "add", "v0", "address", A_MAC, "type", "veth", "peer", "name", "v1", "address", B_MAC)
        for dev in ("v0", "v1"):
            ns.run("ip", "link", "set", dev, "up")
        dev = "v1" if side == "receiver" else "v0"
        dump = ns.popen("tcpdump", "-l", "--immediate-mode", "-n", "-e", "-i", dev, *expression.split())
        assert dump.stderr is not None
        banner = [dump.stderr.readline() for _ in range(2)]
        assert f"listening on {dev}" in banner[-1], banner
        ns.run(sys.executable, __file__, "v0", B_MAC.replace(":", ""), A_MAC.replace(":", ""))
        time.sleep(0.3)
        dump.send_signal(2)
        out, err = dump.communicate(timeout=10)
        return TIME.sub("T ", "".join(banner) + out + err).replace(f" on {dev},", " on DEV,").splitlines()
    finally:
        ns.close()


def tuxnet_capture(side: str, expression: str) -> list[str]:
    """The same on two tuxnet hosts joined by a cable: a sends, tcpdump runs on b or on a."""
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b)
    for host, mac in ((a, A_MAC), (b, B_MAC)):
        host.dev("eth0").dev_addr = bytes.fromhex(mac.replace(":", ""))
    world.run_for(msecs(1))
    host = b if side == "receiver" else a
    before = len(host.output())
    dump = host.spawn(tcpdump_main, ["-l", "-n", "-e", "-i", "eth0", *expression.split()])
    world.run_for(msecs(1))

    def sender() -> None:
        send("eth0", B_MAC.replace(":", ""), A_MAC.replace(":", ""))
        libc.sleep(0.1)

    proc = a.spawn(tux_socket.stdlib(sender))
    world.run_until(lambda: not proc.alive, timeout=10**10)
    send_sig(SIGINT, dump)
    world.run_until(lambda: not dump.alive, timeout=10**10)
    assert dump.result == 0
    return TIME.sub("T ", host.output()[before:]).replace(" on eth0,", " on DEV,").splitlines()


EXPRESSIONS = ["vlan", "vlan 10", "vlan and icmp", "vlan 10 and udp port 9", "not vlan", "vlan 20 and vlan 30",
               "icmp", "vlan and arp", "vlan 0", "vlan and host 10.0.0.99", "vlan 10 or vlan 20",
               "vlan and ip[8] = 64", "vlan and udp[8:4] = 0x68656c6c", "vlan and vlan 30 and icmp"]


@pytest.mark.parametrize("side", ["receiver", "sender"])
@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_vlan_filters_capture_what_linux_captures(side: str, expression: str) -> None:
    linux = linux_capture(side, expression)
    assert linux[-2].endswith("received by filter")
    assert tuxnet_capture(side, expression) == linux


def test_the_kernel_filter_passes_only_what_matches() -> None:
    """On the receiving end the frames come untagged, the tags beside them: ``vlan 10`` passes
    three of the seven frames (an echo request, a UDP datagram, an ARP request), and the kernel
    counts only those."""
    lines = tuxnet_capture("receiver", "vlan 10")
    assert lines[-3:] == ["3 packets captured", "3 packets received by filter", "0 packets dropped by kernel"]
    assert "vlan 10, p 5, ethertype IPv4 (0x0800), 10.0.0.1 > 10.0.0.99: ICMP echo request" in lines[2]


if __name__ == "__main__":
    send(*sys.argv[1:4])
