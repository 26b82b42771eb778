"""Python's ``select``, ``selectors`` and ``time`` for a tuxnet process: waiting goes through the
host's ``poll(2)`` and the clocks are the world's, so standard-library code that waits on sockets
or sleeps runs in virtual time.

``select()`` maps its three lists to POLLIN, POLLOUT and POLLPRI and reports readiness with the
kernel's ``POLLIN_SET``/``POLLOUT_SET``/``POLLEX_SET`` (fs/select.c); ``poll`` is ``select.poll``;
``PollSelector`` is ``selectors.PollSelector`` over that ``poll``.
"""

from __future__ import annotations

import math
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

POLLIN_SET = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR
POLLOUT_SET = POLLWRNORM | POLLOUT | POLLERR
POLLEX_SET = POLLPRI


def _fileno(obj: Any) -> int:
    """An fd, or the ``fileno()`` of an object, as ``PyObject_AsFileDescriptor``."""
    fd = obj if isinstance(obj, int) else obj.fileno()
    if not isinstance(fd, int):
        raise TypeError("fileno() returned a non-integer")
    if fd < 0:
        raise ValueError(f"file descriptor cannot be a negative integer ({fd})")
    return fd


def select(rlist: Iterable[Any], wlist: Iterable[Any], xlist: Iterable[Any],
           timeout: float | None = None) -> tuple[list[Any], list[Any], list[Any]]:
    """``select.select`` over ``poll(2)``."""
    if timeout is not None and timeout < 0:
        raise ValueError("timeout must be non-negative")
    sets = [list(rlist), list(wlist), list(xlist)]
    wanted = (POLLIN, POLLOUT, POLLPRI)
    events: dict[int, int] = {}
    for objs, ev in zip(sets, wanted, strict=True):
        for obj in objs:
            fd = _fileno(obj)
            events[fd] = events.get(fd, 0) | ev
    fds = list(events.items())
    ms = -1 if timeout is None else math.ceil(timeout * 1000)
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
        self._fds[_fileno(fd)] = eventmask

    def modify(self, fd: Any, eventmask: int) -> None:
        n = _fileno(fd)
        if n not in self._fds:
            raise FileNotFoundError(ENOENT, strerror(ENOENT))
        self._fds[n] = eventmask

    def unregister(self, fd: Any) -> None:
        del self._fds[_fileno(fd)]

    def poll(self, timeout: float | None = None) -> list[tuple[int, int]]:
        """Wait up to ``timeout`` ms (None or negative: no limit); the ready (fd, revents)."""
        ms = -1 if timeout is None or timeout < 0 else math.ceil(timeout)
        fds: Sequence[tuple[int, int]] = list(self._fds.items())
        revents = libc.poll(list(fds), ms)
        return [(fd, r) for (fd, _), r in zip(fds, revents, strict=True) if r]


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
