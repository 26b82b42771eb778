"""Every option number at SOL_SOCKET (1-83), IPPROTO_IP (1-55) and IPPROTO_TCP (1-40), on TCP, UDP and
raw sockets (IPPROTO_UDP's 1-5 and 99-105 on UDP sockets, SOL_PACKET's and SOL_RAW's on packet and
ICMP raw sockets), judged by this machine's kernel: each set on a fresh socket with a handful of
values (ints, structures of 8 and 16 octets, a buffer of 3), then read back as a C int and into 16
octets. What a call returns (the value, or the errno) must be the kernel's, for the options tuxnet
has and for those it has not (ENOPROTOOPT where the kernel has no such option, the kernel's own
refusal where it has one tuxnet's model lacks, as SO_ATTACH_BPF's EBADF or EINVAL for a file
descriptor that is no eBPF program).

``SKIPPED`` lists the options left out, each with why: features tuxnet has not (IPsec policies,
NAPI ids, departure-time scheduling), values each machine has its own of
(cookies, TCP's timestamp clock), and what depends on the kernel's security modules. The
namespace's buffer sysctls are given to tuxnet's host, as in test_sol_socket_values_vs_linux.py."""

from __future__ import annotations

import json
import os
import socket
import sys

import pytest
from loplay import kernel_outcomes, lo_world, outcome, tuxnet_outcomes
from test_sol_socket_values_vs_linux import sysctls

pytestmark = pytest.mark.root

SOL, IP, TCP = socket.SOL_SOCKET, socket.IPPROTO_IP, socket.IPPROTO_TCP
KINDS = {"tcp": (socket.SOCK_STREAM, 0), "udp": (socket.SOCK_DGRAM, 0), "raw": (socket.SOCK_RAW, socket.IPPROTO_ICMP)}
UDP = socket.IPPROTO_UDP
RANGES = {SOL: range(1, 84), IP: range(1, 56), TCP: range(1, 41), UDP: [*range(1, 6), *range(99, 106)]}
VALUES = [1, 0, 2, -1, 256, 65536, bytes(8), b"\x01" + bytes(15), b"lo\0"]

SKIPPED = {
    (SOL, 51): "SO_ATTACH_REUSEPORT_CBPF: no classic BPF selection in reuseport groups",
    (SOL, 56): "SO_INCOMING_NAPI_ID: tuxnet's devices have no NAPI ids",
    (SOL, 57): "SO_COOKIE: each machine counts its own cookies",
    (SOL, 59): "SO_PEERSEC: the kernel's security modules answer it",
    (IP, 16): "IP_IPSEC_POLICY: no IPsec",
    (IP, 17): "IP_XFRM_POLICY: no IPsec",
    (TCP, 24): "TCP_TIMESTAMP: each machine's clock",
    (TCP, 35): "TCP_ZEROCOPY_RECEIVE: no mmap of the receive queue",
    (TCP, 37): "TCP_TX_DELAY: no departure-time scheduling",
}


def play() -> list:
    """Each option on each kind of socket, each value on a fresh socket: [kind, level, option,
    value, what the set returned, the option read as an int, read into 16 octets]."""
    out = []
    for kind, (type_, proto) in KINDS.items():
        for level, options in RANGES.items():
            if level == TCP and kind != "tcp" or level == UDP and kind != "udp":
                continue
            for opt in options:
                if (level, opt) in SKIPPED:
                    continue
                for value in VALUES:
                    s = socket.socket(socket.AF_INET, type_, proto)
                    done = outcome(s.setsockopt, level, opt, value)
                    out.append([kind, level, opt, value.hex() if isinstance(value, bytes) else value, done,
                                outcome(s.getsockopt, level, opt), outcome(s.getsockopt, level, opt, 16)])
                    s.close()
    return out


SOL_PACKET, SOL_RAW = 263, 255
PACKET_SKIPPED = {
    5: "PACKET_RX_RING: no TPACKET rings", 13: "PACKET_TX_RING: no TPACKET rings",
    9: "PACKET_ORIGDEV: no record of the device a frame first came in by",
    11: "PACKET_HDRLEN: reads the ring version asked about from the caller's buffer",
    15: "PACKET_VNET_HDR: no virtio-net header", 24: "PACKET_VNET_HDR_SZ: no virtio-net header",
}


def play_packet() -> list:
    """The same for packet sockets (SOCK_RAW and SOCK_DGRAM) at SOL_PACKET 1-25, and for an ICMP
    raw socket at SOL_RAW 1-3 (ICMP_FILTER, which takes fewer than its four octets too)."""
    out = []
    kinds = [("packet_raw", (socket.AF_PACKET, socket.SOCK_RAW, 0), SOL_PACKET, range(1, 26)),
             ("packet_dgram", (socket.AF_PACKET, socket.SOCK_DGRAM, 0), SOL_PACKET, range(1, 26)),
             ("raw", (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP), SOL_RAW, range(1, 4))]
    for kind, args, level, options in kinds:
        for opt in options:
            if level == SOL_PACKET and opt in PACKET_SKIPPED:
                continue
            for value in VALUES:
                s = socket.socket(*args)
                done = outcome(s.setsockopt, level, opt, value)
                out.append([kind, level, opt, value.hex() if isinstance(value, bytes) else value, done,
                            outcome(s.getsockopt, level, opt), outcome(s.getsockopt, level, opt, 16)])
                s.close()
    return out


def test_every_option_number_answers_as_on_the_kernel() -> None:
    script = os.path.basename(__file__)
    linux = kernel_outcomes(script, "play")
    world, host = lo_world()
    for name, value in kernel_outcomes(script, "sysctls"):
        host.sysctl.set(name, value)
    ours = tuxnet_outcomes(world, host, play)
    assert len(ours) == len(linux)
    differ = [(theirs, mine[4:]) for theirs, mine in zip(linux, ours, strict=True) if theirs != mine]
    assert not differ, f"{len(differ)} differ, the first: {differ[:5]}"
    # what tuxnet answers now: SO_BINDTOIFINDEX binds to any index, IP_MINTTL reads back
    assert ["tcp", SOL, 62, 65536, None, 65536, "00000100"] in ours
    assert ["udp", IP, 21, 2, None, 2, "02000000"] in ours


def test_packet_and_raw_option_numbers_answer_as_on_the_kernel() -> None:
    """Memberships (PACKET_MR_MULTICAST of the wrong length is EINVAL, a drop of one not held is
    0), the ring's options kept and read back, PACKET_IGNORE_OUTGOING, ICMP_FILTER."""
    script = os.path.basename(__file__)
    linux = kernel_outcomes(script, "play_packet")
    world, host = lo_world()
    ours = tuxnet_outcomes(world, host, play_packet)
    differ = [(theirs, mine[4:]) for theirs, mine in zip(linux, ours, strict=True) if theirs != mine]
    assert not differ, f"{len(differ)} differ, the first: {differ[:5]}"
    assert ["packet_raw", SOL_PACKET, 10, 2, None, 2, "02000000"] in ours  # (PACKET_VERSION: TPACKET_V3)
    assert ["raw", SOL_RAW, 1, "6c6f00", None, 28524, "6c6f0000"] in ours


if __name__ == "__main__":
    print(json.dumps({"play": play, "play_packet": play_packet, "sysctls": sysctls}[sys.argv[1]]()))
