"""The values IPPROTO_IP options take and read back on UDP, TCP and raw sockets, judged by this
machine's kernel (``do_ip_setsockopt``, ``do_ip_getsockopt``): IP_TTL (-1 for the namespace's
default), IP_TOS (a stream socket keeps its own ECN bits; the TOS sets SO_PRIORITY, read with it),
IP_MULTICAST_TTL (a value of one byte taken as an unsigned char), the flags, IP_MTU_DISCOVER's
range, IP_HDRINCL and IP_NODEFRAG (raw sockets only), IP_MTU (ENOTCONN without a route),
IP_OPTIONS and IP_LOCAL_PORT_RANGE.  Each value is set on a fresh socket and read back.

The play runs as root, so IP_TRANSPARENT is allowed (CAP_NET_ADMIN).  A kernel built with
CONFIG_NETFILTER hands the options IP does not know to ``nf_setsockopt``, which answers
ENOPROTOOPT for them as IP does."""

from __future__ import annotations

import json
import os
import socket
import sys

import pytest
from loplay import kernel_outcomes, lo_world, outcome, tuxnet_outcomes

pytestmark = pytest.mark.root

IP, SOL = socket.IPPROTO_IP, socket.SOL_SOCKET
# include/uapi/linux/in.h, for the names CPython's socket module may lack
IP_TOS, IP_TTL, IP_HDRINCL, IP_OPTIONS, IP_PKTINFO = 1, 2, 3, 4, 8
IP_MTU_DISCOVER, IP_RECVERR, IP_RECVTTL, IP_RECVTOS, IP_MTU = 10, 11, 12, 13, 14
IP_FREEBIND, IP_TRANSPARENT, IP_NODEFRAG, IP_CHECKSUM, IP_BIND_ADDRESS_NO_PORT = 15, 19, 22, 23, 24
IP_MULTICAST_TTL, IP_MULTICAST_LOOP, IP_MULTICAST_ALL, IP_LOCAL_PORT_RANGE = 33, 34, 49, 51

KINDS = {"udp": (socket.SOCK_DGRAM, 0), "tcp": (socket.SOCK_STREAM, 0),
         "raw": (socket.SOCK_RAW, socket.IPPROTO_ICMP)}
FLAGS = (0, 1, 2, -1, b"\x01", b"")


def port_range(lo: int, hi: int) -> int:
    """IP_LOCAL_PORT_RANGE's u32, the low port in the low 16 bits, as the C int Python passes."""
    value = hi << 16 | lo
    return value - (1 << 32) if value >= 1 << 31 else value


CASES = (
    [(IP_TTL, v) for v in (-2, -1, 0, 1, 64, 255, 256, b"\x07", b"")]
    + [(IP_TOS, v) for v in (0, 1, 2, 3, 0x10, 0x13, 0xFC, 0xFF, 0x100, -1, b"\x1f", b"")]
    + [(IP_MULTICAST_TTL, v) for v in (-2, -1, 0, 1, 255, 256, b"\x05", b"\xff", b"")]
    + [(IP_MULTICAST_LOOP, v) for v in FLAGS]
    + [(IP_MULTICAST_ALL, v) for v in (0, 1, 2, -1, b"\x00", b"")]
    + [(IP_MTU_DISCOVER, v) for v in (-1, 0, 1, 2, 3, 4, 5, 6, b"\x02")]
    + [(o, v) for o in (IP_RECVERR, IP_PKTINFO, IP_RECVTTL, IP_RECVTOS, IP_HDRINCL, IP_FREEBIND,
                        IP_TRANSPARENT, IP_BIND_ADDRESS_NO_PORT, IP_NODEFRAG, IP_CHECKSUM) for v in FLAGS]
    + [(IP_MTU, v) for v in (0, 1500)]
    + [(IP_OPTIONS, v) for v in (b"", b"\x01", b"\x01\x01\x01\x01", b"\x00", b"\x01\x00\x01\x01")]
    + [(IP_LOCAL_PORT_RANGE, v) for v in (0, port_range(40000, 50000), port_range(50000, 40000),
                                          port_range(40000, 40000), port_range(0, 30000), port_range(30000, 0),
                                          port_range(1, 65535), -1, b"\x01\x02")]
)
# the options read back as bytes, and the buffer given
BYTES = {IP_OPTIONS: 40}
# IP_TOS after SO_PRIORITY 5: only a value other than the TOS kept (an int, before it is cut to
# the TOS's octet) sets the priority again
AFTER_PRIORITY = [(IP_TOS, v) for v in (0, 3, 0x10, 0x100, 0x110, -1)]


def play() -> list:
    """Each case on each kind of socket: the kind, the option, the value (bytes as hex), "ok" or
    the errno's name, the value read back, and SO_PRIORITY after it."""
    out = []
    for kind, (type, proto) in KINDS.items():
        for opt, value, priority in [(*c, None) for c in CASES] + [(*c, 5) for c in AFTER_PRIORITY]:
            s = socket.socket(socket.AF_INET, type, proto)
            if priority is not None:
                s.setsockopt(SOL, socket.SO_PRIORITY, priority)
            result = outcome(s.setsockopt, IP, opt, value)
            back = outcome(s.getsockopt, IP, opt, *[BYTES[opt]] if opt in BYTES else [])
            label = kind if priority is None else f"{kind} after SO_PRIORITY {priority}"
            out.append([label, opt, value.hex() if isinstance(value, bytes) else value, result or "ok", back,
                        s.getsockopt(SOL, socket.SO_PRIORITY)])
            s.close()
    return out


def test_ip_option_values_read_back_as_on_the_kernel() -> None:
    linux = kernel_outcomes(os.path.basename(__file__), "play")
    world, host = lo_world()
    ours = tuxnet_outcomes(world, host, play)
    assert [c for c in ours if c not in linux] == [], [c for c in linux if c not in ours]
    assert len(ours) == len(linux)


if __name__ == "__main__":
    print(json.dumps({"play": play}[sys.argv[1]]()))
