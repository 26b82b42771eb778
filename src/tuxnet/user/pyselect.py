"""Python's ``select``, ``selectors`` and ``time`` for a tuxnet process: waiting goes through the
host's ``poll(2)`` and the clocks are the world's, so standard-library code that waits on sockets
or sleeps runs in virtual time.

``select()`` maps its three lists to POLLIN, POLLOUT and POLLPRI and reports readiness with the
kernel's ``POLLIN_SET``/``POLLOUT_SET``/``POLLEX_SET`` (fs/select.c); ``poll`` is ``select.poll``;
``PollSelector`` is ``selectors.PollSelector`` over that ``poll``.
"""

from __future__ import annotations

import math
import operator
import selectors
from collections.abc import Iterable, Sequence
from typing import Any

from tuxnet.kernel.errno import EBADF, ENOENT, strerror
from tuxnet.kernel.sched import current
from tuxnet.net.socket import (
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLNVAL,
    POLLOUT,
    POLLPRI,
    POLLRDBAND,
    POLLRDNORM,
    POLLWRNORM,
)
from tuxnet.user import libc

error = OSError
PIPE_BUF = 4096  # (<linux/limits.h>)
FD_SETSIZE = 1024

POLLIN_SET = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR
POLLOUT_SET = POLLWRNORM | POLLOUT | POLLERR
POLLEX_SET = POLLPRI


def _c_int(value: int) -> int:
    if not -0x80000000 <= value <= 0x7FFFFFFF:
        raise OverflowError("Python int too large to convert to C int")
    return value


def _fileno(obj: Any) -> int:
    """An fd, or the ``fileno()`` of an object, as ``PyObject_AsFileDescriptor``."""
    if isinstance(obj, int):
        fd = _c_int(obj)
    else:
        method = getattr(obj, "fileno", None)
        if method is None:
            raise TypeError("argument must be an int, or have a fileno() method.")
        fd = method()
        if not isinstance(fd, int):
            raise TypeError("fileno() returned a non-integer")
        fd = _c_int(fd)
    if fd < 0:
        raise ValueError(f"file descriptor cannot be a negative integer ({fd})")
    return fd


def pytime_from_object(value: Any, unit_ns: int, type_error: str | None = None) -> int:
    """CPython's ``_PyTime_FromSecondsObject`` (``unit_ns`` 10**9) or
    ``_PyTime_FromMillisecondsObject`` (10**6) with _PyTime_ROUND_TIMEOUT: a float, or an int
    through ``__index__``, in whole nanoseconds rounded away from zero, within a signed 64-bit
    ``_PyTime_t``.  ``type_error`` replaces the TypeError of a value of another type."""
    if isinstance(value, float):
        if math.isnan(value):
            raise ValueError("Invalid value NaN (not a number)")
        ns_float = value * unit_ns
        if not -2.0**63 <= ns_float < 2.0**63:
            raise OverflowError("timestamp out of range for platform time_t")
        return math.ceil(ns_float) if ns_float >= 0 else math.floor(ns_float)
    try:
        ns = operator.index(value) * unit_ns
    except TypeError:
        if type_error is None:
            raise
        raise TypeError(type_error) from None
    if not -(1 << 63) <= ns < 1 << 63:
        raise OverflowError("timestamp too large to convert to C _PyTime_t")
    return ns


def _fd_list(objs: Any) -> list[Any]:
    """``seq2set``'s ``PySequence_Fast``: the objects of any iterable."""
    try:
        return list(objs)
    except TypeError:
        raise TypeError("arguments 1-3 must be sequences") from None


def select(rlist: Iterable[Any], wlist: Iterable[Any], xlist: Iterable[Any],
           timeout: float | None = None) -> tuple[list[Any], list[Any], list[Any]]:
    """``select.select`` over ``poll(2)``, with ``select_select_impl``'s checks of the timeout
    and of every descriptor (below FD_SETSIZE)."""
    ns = None
    if timeout is not None:
        ns = pytime_from_object(timeout, 1_000_000_000, "timeout must be a float or None")
        if ns < 0:
            raise ValueError("timeout must be non-negative")
    sets = [_fd_list(rlist), _fd_list(wlist), _fd_list(xlist)]
    wanted = (POLLIN, POLLOUT, POLLPRI)
    events: dict[int, int] = {}
    for objs, ev in zip(sets, wanted, strict=True):
        for obj in objs:
            fd = _fileno(obj)
            if fd >= FD_SETSIZE:
                raise ValueError("filedescriptor out of range in select()")
            events[fd] = events.get(fd, 0) | ev
    fds = list(events.items())
    ms = -1 if ns is None else -(-ns // 1_000_000)
    revents = dict(zip(events, libc.poll(fds, ms), strict=True))
    if any(r & POLLNVAL for r in revents.values()):
        raise OSError(EBADF, strerror(EBADF))
    masks = (POLLIN_SET, POLLOUT_SET, POLLEX_SET)
    return tuple([o for o in objs if revents[_fileno(o)] & mask]  # type: ignore[return-value]
                 for objs, mask in zip(sets, masks, strict=True))


class poll:  # noqa: N801 - the name of select.poll
    """``select.poll()``: a set of descriptors to wait on."""

    def __init__(self) -> None:
        self._fds: dict[int, int] = {}

    def register(self, fd: Any, eventmask: int = POLLIN | POLLPRI | POLLOUT) -> None:
        self._fds[_fileno(fd)] = _events(eventmask)

    def modify(self, fd: Any, eventmask: int) -> None:
        n = _fileno(fd)
        mask = _events(eventmask)
        if n not in self._fds:
            raise FileNotFoundError(ENOENT, strerror(ENOENT))
        self._fds[n] = mask

    def unregister(self, fd: Any) -> None:
        del self._fds[_fileno(fd)]

    def poll(self, timeout: float | None = None) -> list[tuple[int, int]]:
        """Wait up to ``timeout`` ms (None or negative: no limit); the ready (fd, revents).  The
        timeout is converted as ``select_poll_poll_impl`` does, and must fit a C int."""
        ms = -1
        if timeout is not None:
            ns = pytime_from_object(timeout, 1_000_000, "timeout must be an integer or None")
            ms = -(-ns // 1_000_000) if ns >= 0 else -1
            if ms > 0x7FFFFFFF:
                raise OverflowError("timeout is too large")
        fds: Sequence[tuple[int, int]] = list(self._fds.items())
        revents = libc.poll(list(fds), ms)
        return [(fd, r) for (fd, _), r in zip(fds, revents, strict=True) if r]


def _events(eventmask: Any) -> int:
    """An event mask as CPython's ``_PyLong_UnsignedShort_Converter`` takes it."""
    mask = operator.index(eventmask)
    if mask < 0:
        raise ValueError("value must be positive")
    if mask > 0xFFFF:
        raise OverflowError("Python int too large for C unsigned short")
    return mask


class PollSelector(selectors._PollLikeSelector):
    """``selectors.PollSelector`` over the host's ``poll``."""

    _selector_cls = poll
    _EVENT_READ = POLLIN
    _EVENT_WRITE = POLLOUT


def time() -> float:
    """``time.time``: the host's ``CLOCK_REALTIME``."""
    return libc.time()


def time_ns() -> int:
    return libc.time_ns()


def monotonic() -> float:
    """``time.monotonic``: the world's clock."""
    return libc.clock_monotonic()


def monotonic_ns() -> int:
    return current().host.world.now


def sleep(secs: float) -> None:
    """``time.sleep``: the process sleeps in world time."""
    if secs < 0:
        raise ValueError("sleep length must be non-negative")
    libc.sleep(secs)
