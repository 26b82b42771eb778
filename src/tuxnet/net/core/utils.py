"""Address helpers (net/core/utils.c): IPv4 addresses are host-order ints inside the stack; and
the flat byte view a system call copies user data through."""

from __future__ import annotations

import socket as _pysocket
import struct
from typing import Any

from tuxnet.kernel.compiler import notrace

_unpack_I = struct.Struct("!I").unpack
_pack_I = struct.Struct("!I").pack


def in_aton(text: str) -> int:
    """``in_aton``: dotted quad to an int; ValueError for anything else."""
    if not isinstance(text, str) or text.count(".") != 3:
        raise ValueError(f"invalid IPv4 address {text!r}")
    try:
        return _unpack_I(_pysocket.inet_aton(text))[0]
    except OSError:
        raise ValueError(f"invalid IPv4 address {text!r}") from None


@notrace
def in_ntoa(addr: int) -> str:
    """An int address as a dotted quad."""
    return f"{addr >> 24}.{(addr >> 16) & 255}.{(addr >> 8) & 255}.{addr & 255}"


def addr_to_bytes(addr: int) -> bytes:
    return _pack_I(addr)


def parse_cidr(text: str) -> tuple[int, int]:
    """``A.B.C.D/P`` (or a bare address, /32) to (address, prefix length)."""
    if "/" in text:
        a, p = text.split("/", 1)
        plen = int(p)
        if not 0 <= plen <= 32:
            raise ValueError(f"invalid prefix length in {text!r}")
    else:
        a, plen = text, 32
    return in_aton(a), plen


@notrace
def inet_make_mask(plen: int) -> int:
    """``inet_make_mask``."""
    return (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF if plen else 0


@notrace
def ipv4_is_multicast(addr: int) -> bool:
    return (addr & 0xF0000000) == 0xE0000000


def ipv4_is_local_multicast(addr: int) -> bool:
    """``ipv4_is_local_multicast``: 224.0.0.0/24, the link's own groups."""
    return (addr & 0xFFFFFF00) == 0xE0000000


@notrace
def ipv4_is_lbcast(addr: int) -> bool:
    return addr == 0xFFFFFFFF


@notrace
def ipv4_is_loopback(addr: int) -> bool:
    return (addr & 0xFF000000) == 0x7F000000


@notrace
def ipv4_is_zeronet(addr: int) -> bool:
    """``ipv4_is_zeronet``: 0.0.0.0 alone (the rest of 0.0.0.0/8 is unicast in the kernels of today)."""
    return addr == 0


@notrace
def byte_view(buf: Any) -> memoryview:
    """``buf``'s bytes as a flat view, ``memoryview(buf).cast("B")``, the unit ``copy_from_iter``
    counts in.  A view of bytes already is one and is returned as it is: PyPy copies out of a cast
    view a byte at a time (1.8 ms for 64 KB, against 7 us for the plain view)."""
    view = memoryview(buf)
    if view.format == "B" and view.ndim == 1:
        return view
    return view.cast("B")
