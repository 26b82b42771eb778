"""Socket filters (net/core/filter.c): classic BPF, the programs ``setsockopt(SO_ATTACH_FILTER)``
gives a socket and ``tcpdump -dd`` prints.

A program is up to 4,096 instructions of ``struct sock_filter`` (code u16, jt u8, jf u8, k u32,
in the machine's byte order; tuxnet's setsockopt takes the array's bytes, where Linux takes a
``struct sock_fprog`` pointing at them).  ``bpf_check_classic`` refuses, with EINVAL, an opcode it
does not know, a jump out of the program, a division by a constant 0, a scratch word out of
M[0..15] or read before every path has written it, and a program that does not end in a return.
The machine has the accumulator A, the index X and the scratch words; loads read the packet as
the socket's receive path has it (a UDP socket's from its UDP header, a TCP socket's from its TCP
header, a packet socket's from its link-layer header), big-endian; an offset below SKF_NET_OFF or
SKF_LL_OFF reads from the network or link-layer header, one below SKF_AD_OFF a property of the
packet (its protocol, type, device, mark, length ...).  A load outside the packet, or a division
by X = 0, ends the program with 0.  The result is how many bytes of the packet to keep: 0 drops
it (``sk_filter_trim_cap``), less than its length cuts it (a packet socket's capture length).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import EINVAL, ENOENT, EPERM

if TYPE_CHECKING:
    from tuxnet.net.core.skbuff import SkBuff

BPF_MAXINSNS = 4096
BPF_MEMWORDS = 16
SOCK_FILTER_LOCKED = 1 << 21  # (sock_flags: SO_LOCK_FILTER)
SKF_AD_OFF = -0x1000
SKF_NET_OFF = -0x100000
SKF_LL_OFF = -0x200000
# ancillary loads (SKF_AD_OFF + these)
SKF_AD_PROTOCOL, SKF_AD_PKTTYPE, SKF_AD_IFINDEX, SKF_AD_MARK = 0, 4, 8, 20
SKF_AD_QUEUE, SKF_AD_HATYPE, SKF_AD_RXHASH, SKF_AD_CPU = 24, 28, 32, 36
SKF_AD_VLAN_TAG, SKF_AD_VLAN_TAG_PRESENT, SKF_AD_PAY_OFFSET, SKF_AD_RANDOM = 44, 48, 52, 56
SKF_AD_VLAN_TPID = 60
SKF_AD_MAX = 64

_INSN = struct.Struct("=HBBI")
# the opcodes a classic program may hold (chk_code_allowed), by class: loads, stores, ALU, jumps,
# returns (of K or A), tax and txa
CLASSIC_CODES = ({0x00, 0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x60, 0x80} | {0x01, 0x61, 0x81, 0xb1} | {0x02, 0x03}
          | {0x04 | op | src for op in range(0x00, 0xb0, 0x10) if op != 0x80 for src in (0x00, 0x08)} | {0x84}
          | {0x05} | {0x05 | op | src for op in (0x10, 0x20, 0x30, 0x40) for src in (0x00, 0x08)}
          | {0x06, 0x16, 0x07, 0x87})
_SIZES = {0x00: 4, 0x08: 2, 0x10: 1}  # BPF_W, BPF_H, BPF_B
_ANCILLARY = set(range(0, SKF_AD_MAX, 4))

Insn = tuple[int, int, int, int]


def bpf_tell_extensions() -> int:
    """``bpf_tell_extensions`` (getsockopt SO_BPF_EXTENSIONS): the ancillary loads this kernel
    knows end below SKF_AD_MAX; libpcap reads it to compile ``vlan`` with them."""
    return SKF_AD_MAX


def bpf_check_classic(insns: list[Insn]) -> bool:
    """``bpf_check_classic``: whether the program may run."""
    n = len(insns)
    if not 0 < n <= BPF_MAXINSNS:
        return False
    for pc, (code, jt, jf, k) in enumerate(insns):
        if code not in CLASSIC_CODES:
            return False
        if code in (0x34, 0x94) and k == 0:  # a division or remainder by a constant 0
            return False
        if code in (0x64, 0x74) and k >= 32:  # a shift by 32 or more
            return False
        if code in (0x60, 0x61, 0x02, 0x03) and k >= BPF_MEMWORDS:
            return False
        if code == 0x05 and k >= n - pc - 1:
            return False
        if code & 0x07 == 0x05 and code != 0x05 and (pc + jt + 1 >= n or pc + jf + 1 >= n):
            return False
        if code in (0x20, 0x28, 0x30) and k >= SKF_AD_OFF & 0xFFFFFFFF and k - (SKF_AD_OFF & 0xFFFFFFFF) \
                not in _ANCILLARY:
            return False  # an ancillary load it does not know
    return insns[-1][0] in (0x06, 0x16) and _stores_before_loads(insns)


def _stores_before_loads(insns: list[Insn]) -> bool:
    """``check_load_and_stores``: each M[k] a program reads is written on every path to it (the
    valid words flow forward, a jump's to its targets)."""
    masks = [0xFFFF] * len(insns)
    valid = 0
    for pc, (code, jt, jf, k) in enumerate(insns):
        valid &= masks[pc]
        if code in (0x02, 0x03):
            valid |= 1 << k
        elif code in (0x60, 0x61):
            if not valid >> k & 1:
                return False
        elif code == 0x05:
            masks[pc + 1 + k] &= valid
            valid = 0xFFFF
        elif code & 0x07 == 0x05:
            masks[pc + 1 + jt] &= valid
            masks[pc + 1 + jf] &= valid
            valid = 0xFFFF
    return True


def _load(skb: SkBuff | None, view: memoryview, start: int, k: int, size: int) -> int | None:
    """``bpf_skb_load_helper``: ``size`` bytes at ``k`` from where the program's packet starts,
    or below SKF_NET_OFF/SKF_LL_OFF from the network or link-layer header; None outside it (and
    for every negative offset where there is no skb: libpcap's ``bpf_filter`` in user space)."""
    if k >= 0:
        pos = start + k
    elif skb is None:
        return None
    elif SKF_NET_OFF <= k < SKF_AD_OFF:
        pos = skb.network_header + k - SKF_NET_OFF
    elif SKF_LL_OFF <= k < SKF_NET_OFF:
        pos = (skb.mac_header if skb.mac_header >= 0 else start) + k - SKF_LL_OFF
    else:
        return None
    if pos < 0 or pos + size > len(view):
        return None
    return int.from_bytes(view[pos:pos + size], "big")


def _ancillary(skb: SkBuff, k: int) -> int:
    """The packet's properties SKF_AD_OFF loads read (``convert_skb_access``); the VLAN tag's
    are the one the buffer carries beside its bytes (``skb_vlan_tag_get``,
    ``skb_vlan_tag_present``, ``vlan_proto``), a tag still in the bytes is not one."""
    offset = k - SKF_AD_OFF
    dev = skb.dev
    values = {SKF_AD_PROTOCOL: skb.protocol, SKF_AD_PKTTYPE: skb.pkt_type,
              SKF_AD_IFINDEX: dev.ifindex if dev is not None else 0, SKF_AD_MARK: skb.mark, SKF_AD_QUEUE: 0,
              SKF_AD_HATYPE: dev.type if dev is not None else 0, SKF_AD_RXHASH: 0, SKF_AD_CPU: 0,
              SKF_AD_VLAN_TAG: skb.vlan_tci, SKF_AD_VLAN_TAG_PRESENT: int(bool(skb.vlan_proto)),
              SKF_AD_RANDOM: 4, SKF_AD_VLAN_TPID: skb.vlan_proto}
    if offset == SKF_AD_PAY_OFFSET:
        return skb.transport_header - skb.data if skb.transport_header >= 0 else 0
    return values.get(offset, 0) & 0xFFFFFFFF


def bpf_prog_run(insns: list[Insn], skb: SkBuff, start: int, end: int) -> int:
    """Run the program on the packet's bytes ``start`` to ``end`` of its buffer; its result."""
    return bpf_run(insns, memoryview(skb.buf)[:end], start, end - start, skb)


def bpf_run(insns: list[Insn], view: memoryview, start: int, length: int, skb: SkBuff | None) -> int:
    """The classic BPF machine (``___bpf_prog_run`` over the program ``bpf_migrate_filter`` makes):
    the packet is ``view`` from ``start``, ``length`` what ``ld #len`` reads (the skb's length;
    the length on the wire for libpcap's ``bpf_filter``); without an skb, ancillary and
    negative-offset loads end the program with 0, as in user space."""
    a = x = 0
    mem = [0] * BPF_MEMWORDS
    pc = 0
    while True:
        code, jt, jf, k = insns[pc]
        pc += 1
        cls = code & 0x07
        if cls == 0x00:  # ld
            mode = code & 0xe0
            if mode == 0x00:
                a = k
            elif mode == 0x60:
                a = mem[k]
            elif mode == 0x80:
                a = length
            else:
                size = _SIZES[code & 0x18]
                off = k if mode == 0x20 else (x + k) & 0xFFFFFFFF
                if off >= 0x80000000:
                    off -= 1 << 32
                if mode == 0x20 and SKF_AD_OFF <= off < 0 and skb is not None:
                    a = a ^ x if off - SKF_AD_OFF == 40 else _ancillary(skb, off)  # (40: SKF_AD_ALU_XOR_X)
                    continue
                value = _load(skb, view, start, off, size)
                if value is None:
                    return 0
                a = value
        elif cls == 0x01:  # ldx
            mode = code & 0xe0
            if mode == 0x00:
                x = k
            elif mode == 0x60:
                x = mem[k]
            elif mode == 0x80:
                x = length
            else:  # msh: 4 * (P[k] & 0xf), the IPv4 header's length
                value = _load(skb, view, start, k, 1)
                if value is None:
                    return 0
                x = (value & 0x0F) << 2
        elif cls == 0x02:
            mem[k] = a
        elif cls == 0x03:
            mem[k] = x
        elif cls == 0x04:  # alu
            op = code & 0xf0
            operand = x if code & 0x08 else k
            if op == 0x00:
                a = (a + operand) & 0xFFFFFFFF
            elif op == 0x10:
                a = (a - operand) & 0xFFFFFFFF
            elif op == 0x20:
                a = (a * operand) & 0xFFFFFFFF
            elif op in (0x30, 0x90):
                if operand == 0:
                    return 0
                a = a // operand if op == 0x30 else a % operand
            elif op == 0x40:
                a |= operand
            elif op == 0x50:
                a &= operand
            elif op == 0x60:
                a = (a << operand) & 0xFFFFFFFF if operand < 32 else 0
            elif op == 0x70:
                a = a >> operand if operand < 32 else 0
            elif op == 0x80:
                a = -a & 0xFFFFFFFF
            elif op == 0xa0:
                a ^= operand
        elif cls == 0x05:  # jmp
            op = code & 0xf0
            if op == 0x00:
                pc += k
                continue
            operand = x if code & 0x08 else k
            taken = (a == operand if op == 0x10 else a > operand if op == 0x20 else a >= operand if op == 0x30
                     else bool(a & operand))
            pc += jt if taken else jf
        elif cls == 0x06:  # ret
            return a if code & 0x10 else k
        else:  # misc: tax, txa
            if code & 0x80:
                a = x
            else:
                x = a


def __get_filter(sk: Any, program: Any) -> list[Insn] | int:
    """``__get_filter``: a classic BPF program for ``sk`` from its instructions (as bytes): -EPERM
    once SO_LOCK_FILTER is set, -EINVAL for one that may not run."""
    if sk.sk_flags & SOCK_FILTER_LOCKED:
        return -EPERM
    if not isinstance(program, bytes | bytearray) or not program or len(program) % _INSN.size:
        return -EINVAL
    insns = [_INSN.unpack_from(program, i) for i in range(0, len(program), _INSN.size)]
    return insns if bpf_check_classic(insns) else -EINVAL


def sk_attach_filter(sk: Any, program: Any) -> int:
    """``sk_attach_filter``: the program replaces the socket's."""
    insns = __get_filter(sk, program)
    if isinstance(insns, int):
        return insns
    sk.sk_filter = insns
    return 0


def sk_detach_filter(sk: Any) -> int:
    """``sk_detach_filter``: ENOENT without one, EPERM when locked."""
    if sk.sk_flags & SOCK_FILTER_LOCKED:
        return -EPERM
    if sk.sk_filter is None:
        return -ENOENT
    sk.sk_filter = None
    return 0


def sk_get_filter(sk: Any) -> bytes:
    """``sk_get_filter`` (getsockopt SO_GET_FILTER): the program's instructions, as attached."""
    return b"".join(_INSN.pack(*insn) for insn in sk.sk_filter or [])


def sk_filter_trim_cap(sk: Any, skb: SkBuff, cap: int = 1, start: int | None = None) -> bool:
    """``sk_filter_trim_cap``: True when the socket's filter drops the packet, run on its bytes
    from ``start`` (``skb.data`` by default); a result shorter than the packet, but not than
    ``cap``, trims it."""
    insns = sk.sk_filter
    if insns is None:
        return False
    if start is None:
        start = skb.data
    keep = bpf_prog_run(insns, skb, start, skb.tail)
    if not keep:
        return True
    if keep < skb.tail - start:
        skb.tail = start + max(keep, cap)
    return False
