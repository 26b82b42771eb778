"""The Internet checksum (RFC 1071; lib/checksum.c, include/net/checksum.h).

The ones' complement sum of 16-bit big-endian words equals the buffer's value as one big-endian
integer modulo 0xFFFF (because 2**16 == 1 mod 0xFFFF), so a whole buffer is summed by one C-level
``int.from_bytes`` and one ``%``.  Sums here are kept in 1..0xFFFF (0xFFFF standing for a
non-zero multiple of 0xFFFF) or 0 for an all-zero input, as the ones' complement adder gives.
"""

from __future__ import annotations

from tuxnet.kernel.compiler import notrace

_from_bytes = int.from_bytes


def csum_partial(data: bytes | bytearray | memoryview, initial: int = 0) -> int:
    """``csum_partial()``: the ones' complement sum of ``data`` added to ``initial``."""
    n = _from_bytes(data, "big")
    if len(data) & 1:
        n <<= 8
    n += initial
    if n == 0:
        return 0
    s = n % 0xFFFF
    return s if s else 0xFFFF


def csum_block_add(csum: int, csum2: int, offset: int) -> int:
    """``csum_block_add()``: the sum ``csum2`` of a block that starts ``offset`` bytes into what
    ``csum`` sums, added to it; a block at an odd offset has its bytes in the other half of each
    word, so its sum is byte-swapped first (RFC 1071 section 2(B))."""
    if offset & 1:
        csum2 = ((csum2 << 8) | (csum2 >> 8)) & 0xFFFF
    n = csum + csum2
    if n == 0:
        return 0
    s = n % 0xFFFF
    return s if s else 0xFFFF


@notrace
def csum_fold(s: int) -> int:
    """``csum_fold()``: the checksum field value for the sum ``s``."""
    return ~s & 0xFFFF


def ip_fast_csum(data: bytes | bytearray | memoryview) -> int:
    """``ip_fast_csum()``: 0 when an IPv4 header's checksum is right."""
    return csum_fold(csum_partial(data))


@notrace
def csum_tcpudp_nofold(saddr: int, daddr: int, length: int, proto: int) -> int:
    """The pseudo-header sum (RFC 793 section 3.1 / RFC 768)."""
    s = (saddr >> 16) + (saddr & 0xFFFF) + (daddr >> 16) + (daddr & 0xFFFF) + proto + length
    s = (s & 0xFFFF) + (s >> 16)
    return (s & 0xFFFF) + (s >> 16)


def csum_tcpudp_magic(saddr: int, daddr: int, length: int, proto: int, s: int) -> int:
    """``csum_tcpudp_magic()``: the TCP/UDP checksum field for payload sum ``s``."""
    total = csum_tcpudp_nofold(saddr, daddr, length, proto) + s
    total = (total & 0xFFFF) + (total >> 16)
    return ~((total & 0xFFFF) + (total >> 16)) & 0xFFFF
