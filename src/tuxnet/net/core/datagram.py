"""Copying received bytes to the user (net/core/datagram.c ``skb_copy_datagram_msg``, and the
``copy_to_iter`` of lib/iov_iter.c it ends in).

A receive in tuxnet ends in one of two ways.  Python's ``recv`` returns a new ``bytes``: with no
iovecs in ``msg.msg_iov``, the pieces the protocol read (views of its buffers) are joined into one,
and that join is the copy to the user.  C's ``recv`` fills the caller's buffer: with iovecs
(``recv_into``, or ``recvmsg`` given buffers), each piece is copied straight into them, once, and
the call returns how many bytes went in.  ``msg.msg_iter`` counts them, as the iterator in
``struct msghdr`` keeps its place.  Only ``copy_to_iter`` has a kernel name; the helpers around it
stay out of the function tracer.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.compiler import notrace
from tuxnet.kernel.errno import EFAULT
from tuxnet.kernel.minmax import min
from tuxnet.net.core.utils import byte_view

if TYPE_CHECKING:
    from tuxnet.net.socket import Msghdr

if sys.implementation.name == "pypy":
    # A store into a bytearray's slice, or a view of it, takes PyPy 30-40 us for 64 KB (measured
    # on PyPy 8.0.1); the memmove of cffi, which PyPy ships, takes 2 us.
    from cffi import FFI

    _ffi = FFI()

    @notrace
    def _memcpy(dst: Any, pos: int, src: Any) -> None:
        _ffi.memmove(_ffi.from_buffer(dst, require_writable=True) + pos, src, len(src))
else:
    @notrace
    def _memcpy(dst: Any, pos: int, src: Any) -> None:
        # One memcpy, through a view: a bytearray's own slice assignment copies any source that
        # is not a bytearray into a new one first (bytearray_ass_subscript).
        memoryview(dst)[pos:pos + len(src)] = src


@notrace
def _user_writable(buf: Any) -> bool:
    """Memory ``copy_to_user`` may write: not NULL, not read-only."""
    if buf.__class__ is bytearray:
        return True
    try:
        return not memoryview(buf).readonly
    except TypeError:
        return False


@notrace
def msg_iov_fault(msg: Msghdr | None) -> bool:
    """An iovec the kernel cannot write (``None`` for NULL, or read-only memory): a copy into it
    faults, and the call returns -EFAULT."""
    if msg is None or not msg.msg_iov:
        return False
    return not all(_user_writable(b) for b in msg.msg_iov)


@notrace
def msg_iov_capacity(msg: Msghdr) -> int | None:
    """The bytes the iovecs hold (``iov_iter_count``), or None when one of them cannot be written."""
    if msg_iov_fault(msg):
        return None
    return sum(byte_view(b).nbytes for b in msg.msg_iov)


def copy_to_iter(data: bytes | bytearray | memoryview, msg: Msghdr) -> int:
    """``copy_to_iter``: ``data`` into the iovecs from where the last copy stopped; returns the
    bytes copied (fewer when the iovecs fill up)."""
    pos = msg.msg_iter
    n = len(data)
    done = 0
    src = memoryview(data)
    for buf in msg.msg_iov:
        dst = buf if buf.__class__ is bytearray else byte_view(buf)
        size = len(dst)
        if pos >= size:
            pos -= size
            continue
        take = min(size - pos, n - done)
        _memcpy(dst, pos, src[done:done + take] if take < n else src)
        done += take
        pos = 0
        if done == n:
            break
    msg.msg_iter += done
    return done


@notrace
def copy_to_msg(msg: Msghdr | None, pieces: list[Any]) -> bytes | int:
    """The copy to the user of what a receive read (``skb_copy_datagram_msg`` per piece): into the
    iovecs, returning the bytes this call has copied in all, or -EFAULT when an iovec cannot be
    written; without iovecs, one new ``bytes`` of the pieces."""
    if msg is None or not msg.msg_iov:
        return b"".join(pieces)
    if msg_iov_fault(msg) and any(pieces):
        return -EFAULT
    for piece in pieces:
        copy_to_iter(piece, msg)
    return msg.msg_iter
