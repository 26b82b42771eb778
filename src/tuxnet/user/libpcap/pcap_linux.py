"""What libpcap's pcap-linux.c does with a compiled filter on a live capture: it hands it to the
kernel (``SO_ATTACH_FILTER``), which runs it on each frame in ``packet_rcv`` before any copy
reaches the socket, so frames the filter rejects cost the capture nothing.

tuxnet's packet sockets have no TPACKET ring (``PACKET_RX_RING``): frames come one by one through
``recvmsg``, as in libpcap's path without a ring, so ``fix_program`` makes each non-zero constant
return the largest snapshot: the kernel would otherwise cut the frame to the snapshot length and
lose its length on the wire, which libpcap cuts and records itself."""

from __future__ import annotations

import struct

from tuxnet.net.core.filter import Insn
from tuxnet.net.core.sock import SO_ATTACH_FILTER, SOL_SOCKET
from tuxnet.net.socket import MSG_DONTWAIT
from tuxnet.trace.pcap import MAXIMUM_SNAPLEN
from tuxnet.user import libc

BPF_RET, BPF_K = 0x06, 0x00
_SOCK_FILTER = struct.Struct("=HBBI")
# total_fcode: the program that drops everything, attached while the socket is drained
TOTAL_INSN: list[Insn] = [(BPF_RET | BPF_K, 0, 0, 0)]


def fix_program(insns: list[Insn]) -> list[Insn]:
    """``fix_program``: the program as the kernel gets it, each ``ret #k`` with k non-zero made
    ``ret #MAXIMUM_SNAPLEN`` (the frame truncated by recvmsg's buffer, not by the filter)."""
    return [(code, jt, jf, MAXIMUM_SNAPLEN if code == BPF_RET | BPF_K and k else k) for code, jt, jf, k in insns]


def _attach(fd: int, insns: list[Insn]) -> None:
    libc.setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, b"".join(_SOCK_FILTER.pack(*insn) for insn in insns))


def set_kernel_filter(fd: int, insns: list[Insn]) -> None:
    """``pcap_setfilter_linux``'s way into the kernel: first a filter that drops everything, then
    the socket drained of what queued before it (frames the new filter might reject), then the
    program itself (``set_kernel_filter``, ``reset_kernel_filter``)."""
    _attach(fd, TOTAL_INSN)
    while True:
        try:
            libc.recv(fd, 1, MSG_DONTWAIT)
        except BlockingIOError:
            break
    _attach(fd, fix_program(insns))
