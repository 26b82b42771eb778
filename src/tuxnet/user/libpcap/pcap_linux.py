"""What libpcap's pcap-linux.c does with a compiled filter on a live capture: it hands it to the
kernel (``SO_ATTACH_FILTER``), which runs it on each frame in ``packet_rcv`` before any copy
reaches the socket, so frames the filter rejects cost the capture nothing.

tuxnet's packet sockets have no TPACKET ring (``PACKET_RX_RING``): frames come one by one through
``recvmsg``, as in libpcap's path without a ring, so ``fix_program`` makes each non-zero constant
return the largest snapshot: the kernel would otherwise cut the frame to the snapshot length and
lose its length on the wire, which libpcap cuts and records itself.

The "any" device is captured cooked (a SOCK_DGRAM socket: each packet from its network header,
the link layer described by its ``sockaddr_ll``); libpcap puts a DLT_LINUX_SLL2 header before
each (``sll2_header``), and the filter compiled for that header is moved for the kernel, which
has none: loads past it are made relative to the network header, loads of its protocol,
interface and packet type fields become the kernel's ancillary loads (``fix_offset``)."""

from __future__ import annotations

import struct

from tuxnet.net.core.filter import SKF_AD_IFINDEX, SKF_AD_OFF, SKF_AD_PKTTYPE, SKF_AD_PROTOCOL, Insn
from tuxnet.net.core.sock import SO_ATTACH_FILTER, SO_DETACH_FILTER, SOL_SOCKET
from tuxnet.net.socket import MSG_DONTWAIT
from tuxnet.trace.pcap import MAXIMUM_SNAPLEN
from tuxnet.user import libc

from .gencode import SLL2_HDR_LEN

BPF_LD, BPF_LDX, BPF_RET, BPF_K = 0x00, 0x01, 0x06, 0x00
BPF_ABS, BPF_IND, BPF_MSH = 0x20, 0x40, 0xA0
_SOCK_FILTER = struct.Struct("=HBBI")
# total_fcode: the program that drops everything, attached while the socket is drained
TOTAL_INSN: list[Insn] = [(BPF_RET | BPF_K, 0, 0, 0)]
# struct sll2_header: protocol, reserved, ifindex, hatype, pkttype, halen, address (8 octets)
_SLL2_HEADER = struct.Struct("!HHIHBB8s")
# fix_offset: the cooked header's fields the kernel has as ancillary data
_SLL2_FIELDS = {0: SKF_AD_PROTOCOL, 4: SKF_AD_IFINDEX, 10: SKF_AD_PKTTYPE}


def sll2_header(protocol: int, ifindex: int, hatype: int, pkttype: int, addr: bytes) -> bytes:
    """``pcap_handle_packet_mmap``'s cooked header for DLT_LINUX_SLL2, from the packet's
    ``sockaddr_ll`` (its link-layer address, at most 8 octets, and that length)."""
    return _SLL2_HEADER.pack(protocol, 0, ifindex, hatype, pkttype, len(addr[:8]), addr[:8])


def fix_offset(k: int) -> int | None:
    """``fix_offset`` for DLT_LINUX_SLL2: the offset as the kernel's filter must read it, or None
    for a field of the cooked header the kernel does not have (the filter is run in user space)."""
    if k >= SKF_AD_OFF & 0xFFFFFFFF:
        return k  # already ancillary data
    if k >= SLL2_HDR_LEN:
        return k - SLL2_HDR_LEN
    if k in _SLL2_FIELDS:
        return (SKF_AD_OFF + _SLL2_FIELDS[k]) & 0xFFFFFFFF
    return None


def fix_program(insns: list[Insn], cooked: bool = False) -> list[Insn] | None:
    """``fix_program``: the program as the kernel gets it, each ``ret #k`` with k non-zero made
    ``ret #MAXIMUM_SNAPLEN`` (the frame truncated by recvmsg's buffer, not by the filter), and,
    cooked, each load from the packet moved by ``fix_offset``; None when one cannot be."""
    fixed = []
    for code, jt, jf, k in insns:
        if code == BPF_RET | BPF_K and k:
            k = MAXIMUM_SNAPLEN
        elif cooked and code & 0x07 in (BPF_LD, BPF_LDX) and code & 0xE0 in (BPF_ABS, BPF_IND, BPF_MSH):
            moved = fix_offset(k)
            if moved is None:
                return None
            k = moved
        fixed.append((code, jt, jf, k))
    return fixed


def _attach(fd: int, insns: list[Insn]) -> None:
    libc.setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, b"".join(_SOCK_FILTER.pack(*insn) for insn in insns))


def set_kernel_filter(fd: int, insns: list[Insn], cooked: bool = False) -> bool:
    """``pcap_setfilter_linux``'s way into the kernel: first a filter that drops everything, then
    the socket drained of what queued before it (frames the new filter might reject), then the
    program itself (``set_kernel_filter``, ``reset_kernel_filter``).  False when the program
    cannot run in the kernel (``fix_program`` refused it): the socket then has no filter, and
    the capture filters in user space."""
    fixed = fix_program(insns, cooked)
    if fixed is None:
        try:
            libc.setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, 0)
        except FileNotFoundError:
            pass  # (ENOENT: there was none)
        return False
    _attach(fd, TOTAL_INSN)
    while True:
        try:
            libc.recv(fd, 1, MSG_DONTWAIT)
        except BlockingIOError:
            break
    _attach(fd, fixed)
    return True
