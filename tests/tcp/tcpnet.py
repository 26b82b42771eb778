"""Helpers for the TCP tests: a two-host network, socket lookup, hand-made segments, and the
segments a host put on its wire."""

from __future__ import annotations

import struct
from typing import Any, NamedTuple

from tuxnet.benchmarks import lo_world
from tuxnet.net.core.checksum import csum_partial, csum_tcpudp_magic
from tuxnet.net.core.netfilter import NF_ACCEPT, NF_DROP, NF_INET_LOCAL_IN, nf_register_net_hook
from tuxnet.net.core.utils import in_aton, in_ntoa
from tuxnet.net.ipv4.af_inet import IPPROTO_RAW
from tuxnet.net.socket import AF_INET, SOCK_RAW, SOCK_STREAM
from tuxnet.trace.capture import Capture
from tuxnet.user import libc
from tuxnet.world import World

A_ADDR = "10.0.0.1"
B_ADDR = "10.0.0.2"
SOL_SOCKET = 1
SO_KEEPALIVE = 9
SO_LINGER = 13
SO_RCVBUF = 8
IPPROTO_TCP = 6
TCP_NODELAY = 1
TCP_CORK = 3
TCP_KEEPIDLE = 4
TCP_KEEPINTVL = 5
TCP_KEEPCNT = 6
TCP_QUICKACK = 12
TCP_USER_TIMEOUT = 18
MSG_MORE = 0x8000
MS = 1_000_000
SEC = 1_000_000_000
TH_SYN, TH_RST, TH_ACK = 0x02, 0x04, 0x10


def pair(seed: int = 1, **link: Any) -> tuple[World, Any, Any, Any]:
    """Hosts a (10.0.0.1) and b (10.0.0.2) on one cable (100 Mb/s, 10 ms each way by default)."""
    world = World(seed=seed)
    a, b = world.add_host("a"), world.add_host("b")
    link.setdefault("rate", "100mbit")
    link.setdefault("delay", "10ms")
    cable = world.connect(a, b, a_addr=f"{A_ADDR}/24", b_addr=f"{B_ADDR}/24", **link)
    return world, a, b, cable


def lo_host(seed: int = 1) -> tuple[World, Any]:
    """One host, h, with lo up as 127.0.0.1/8 (``tuxnet.benchmarks.lo_world``)."""
    return lo_world(seed, "h")


def connection(host: Any, port: int) -> Any:
    """The host's connection socket with local or remote port ``port`` (not a listener)."""
    for sk in host.tcp_hashinfo.ehash.values():
        if hasattr(sk, "snd_una") and port in (sk.inet_num, sk.inet_dport):
            return sk
    return None


def blackhole_tcp(host: Any) -> None:
    """Drop every TCP segment arriving at ``host`` (``iptables -A INPUT -p tcp -j DROP``): the
    peer goes silent while ARP keeps working."""
    def drop_tcp(_host: Any, skb: Any, _state: Any) -> int:
        return NF_DROP if skb.buf[skb.network_header + 9] == 6 else NF_ACCEPT

    nf_register_net_hook(host, NF_INET_LOCAL_IN, drop_tcp)


def listen_socket(addr: str, port: int, backlog: int = 8, rcvbuf: int = 0) -> int:
    """A listener on (addr, port), SO_REUSEADDR, with SO_RCVBUF ``rcvbuf`` when given."""
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.setsockopt(fd, SOL_SOCKET, 2, 1)
    if rcvbuf:
        libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf)
    libc.bind(fd, (addr, port))
    libc.listen(fd, backlog)
    return fd


def tcp_segment(saddr: str, daddr: str, sport: int, dport: int, seq: int, ack: int, flags: int,
                window: int = 1000, payload: bytes = b"") -> bytes:
    """An IPv4 datagram carrying one TCP segment, checksums filled in."""
    s, d = in_aton(saddr), in_aton(daddr)
    tcp = bytearray(struct.pack("!HHIIHHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                                (20 << 10) | flags, window, 0, 0) + payload)
    tcp[16:18] = csum_tcpudp_magic(s, d, len(tcp), 6, csum_partial(bytes(tcp))).to_bytes(2, "big")
    return struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, s, d) + bytes(tcp)


def inject(segment: bytes, daddr: str) -> None:
    """Send a hand-made datagram through a raw socket (IP_HDRINCL), as an attacker's tool does."""
    fd = libc.socket(AF_INET, SOCK_RAW, IPPROTO_RAW)
    libc.sendto(fd, segment, 0, (daddr, 0))
    libc.close(fd)


class Segment(NamedTuple):
    t: int
    src: str
    flags: int
    seq: int
    ack: int
    length: int
    window: int


def sniff(host: Any, dev: str) -> Capture:
    """Start keeping every frame seen on ``host``'s device ``dev``."""
    cap = Capture(host, dev)
    cap.keep = True
    return cap


def tcp_segments(cap: Capture, src: str | None = None) -> list[Segment]:
    """The TCP segments of a capture (Ethernet frames), optionally only those from ``src``."""
    out = []
    for t, frame, _ in cap.frames:
        if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
            continue
        ihl = (frame[14] & 0x0F) * 4
        total = struct.unpack_from("!H", frame, 16)[0]
        ip_src = in_ntoa(struct.unpack_from("!I", frame, 26)[0])
        if src is not None and ip_src != src:
            continue
        th = 14 + ihl
        _, _, seq, ack, off_flags, win = struct.unpack_from("!HHIIHH", frame, th)
        doff = (off_flags >> 12) * 4
        out.append(Segment(t, ip_src, off_flags & 0x3F, seq, ack, total - ihl - doff, win))
    return out
