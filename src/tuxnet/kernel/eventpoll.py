"""epoll (fs/eventpoll.c): ``epoll_create``, ``epoll_ctl`` and ``epoll_wait``.

An ``EventPoll`` is the object behind an epoll descriptor.  Each watched descriptor is an
``EpItem`` hooked on the socket's wait queue (what ``ep_ptable_queue_proc`` does): a wake-up of
that queue runs ``ep_poll_callback``, which puts the item on the ready list and wakes the
``epoll_wait`` sleepers.  ``ep_send_events`` polls each ready item for its current events; a
level-triggered item that is still ready goes back on the ready list, an edge-triggered
(``EPOLLET``) one waits for the next wake-up.

tuxnet's wait queues take any object with a ``wake()`` method and forget it once woken, so an
item hooks itself on again when ``epoll_wait`` has dealt with it.
"""

from __future__ import annotations

from typing import Any

from tuxnet.kernel.errno import EBADF, EEXIST, EINTR, EINVAL, ENOENT, EPERM
from tuxnet.kernel.fs import O_RDWR, File
from tuxnet.kernel.sched import MAX_SCHEDULE_TIMEOUT, WaitQueue, current
from tuxnet.kernel.signal import signal_pending

# include/uapi/linux/eventpoll.h
EPOLLIN = 0x001
EPOLLPRI = 0x002
EPOLLOUT = 0x004
EPOLLERR = 0x008
EPOLLHUP = 0x010
EPOLLRDNORM = 0x040
EPOLLRDBAND = 0x080
EPOLLWRNORM = 0x100
EPOLLWRBAND = 0x200
EPOLLRDHUP = 0x2000
EPOLLEXCLUSIVE = 1 << 28
EPOLLWAKEUP = 1 << 29
EPOLLONESHOT = 1 << 30
EPOLLET = 1 << 31

EPOLL_CTL_ADD = 1
EPOLL_CTL_DEL = 2
EPOLL_CTL_MOD = 3

EP_PRIVATE_BITS = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE
EP_MAX_EVENTS = 0x7FFFFFFF // 12


class EpItem:
    """``struct epitem``: one watched descriptor."""

    __slots__ = ("ep", "file", "fd", "events", "data", "ready", "hooked")

    def __init__(self, ep: EventPoll, file: File, fd: int, events: int, data: int) -> None:
        self.ep = ep
        self.file = file
        self.fd = fd
        self.events = events
        self.data = data
        self.ready = False
        self.hooked = False

    def poll(self) -> int:
        """``ep_item_poll``: the file's current events that the item asks for."""
        sock = self.file.private_data
        mask = sock.ops.poll(sock) if sock.ops is not None else EPOLLHUP | EPOLLERR
        return mask & (self.events | EPOLLERR | EPOLLHUP)

    def hook(self) -> None:
        """``ep_ptable_queue_proc``: wait on the socket's wait queue."""
        sock = self.file.private_data
        if not self.hooked and sock.sk is not None:
            sock.sk.sk_wq.waiters.append(self)
            self.hooked = True

    def unhook(self) -> None:
        sock = self.file.private_data
        if self.hooked and sock.sk is not None and self in sock.sk.sk_wq.waiters:
            sock.sk.sk_wq.waiters.remove(self)
        self.hooked = False

    def wake(self) -> None:
        """``ep_poll_callback``: the socket woke its waiters; this item may be ready."""
        self.hooked = False
        if not self.ready:
            self.ready = True
            self.ep.rdllist.append(self)
        self.ep.wq.wake_up()


def wake_up_interruptible_poll(wq: WaitQueue, key: int) -> None:
    """``wake_up_interruptible_poll``: a wake-up that says which events happened.  Sleeping
    processes are all woken; an epoll item is only when it watches one of the events
    (``ep_poll_callback``), and otherwise stays hooked."""
    if not wq.waiters:
        return
    waiters = wq.waiters
    wq.waiters = []
    for waiter in waiters:
        if isinstance(waiter, EpItem) and not key & waiter.events:
            wq.waiters.append(waiter)
        else:
            waiter.wake()


class EventPoll:
    """``struct eventpoll``."""

    def __init__(self) -> None:
        self.items: dict[tuple[int, int], EpItem] = {}
        self.rdllist: list[EpItem] = []
        self.wq = WaitQueue()

    def remove(self, item: EpItem) -> None:
        item.unhook()
        if item.ready:
            self.rdllist.remove(item)
            item.ready = False
        self.items.pop((id(item.file), item.fd), None)


class _EventpollFileOps:
    """``eventpoll_fops``: closing the epoll descriptor drops every item."""

    @staticmethod
    def release(f: File, proc: Any) -> None:
        ep: EventPoll = f.private_data
        for item in list(ep.items.values()):
            ep.remove(item)


eventpoll_fops = _EventpollFileOps()


def sys_epoll_create(size: int) -> int:
    """``epoll_create(2)``: a new epoll descriptor (``size`` only has to be positive)."""
    if size <= 0:
        return -EINVAL
    return current().files.install(File(eventpoll_fops, EventPoll(), O_RDWR))


def _epoll_file(epfd: int) -> EventPoll | int:
    f = current().files.get(epfd)
    if f is None:
        return -EBADF
    if f.f_op is not eventpoll_fops:
        return -EINVAL
    return f.private_data


def sys_epoll_ctl(epfd: int, op: int, fd: int, events: int, data: int) -> int:
    """``epoll_ctl(2)``: add, modify or delete the watch on ``fd``."""
    from tuxnet.net.socket import socket_file_ops

    ep = _epoll_file(epfd)
    if isinstance(ep, int):
        return ep
    f = current().files.get(fd)
    if f is None:
        return -EBADF
    if f.f_op is not socket_file_ops:
        return -EPERM
    key = (id(f), fd)
    item = ep.items.get(key)
    if op == EPOLL_CTL_ADD:
        if item is not None:
            return -EEXIST
        item = EpItem(ep, f, fd, events | EPOLLERR | EPOLLHUP, data)
        ep.items[key] = item
        item.hook()
        if item.poll():
            item.ready = True
            ep.rdllist.append(item)
            ep.wq.wake_up()
        return 0
    if item is None:
        return -ENOENT
    if op == EPOLL_CTL_DEL:
        ep.remove(item)
        return 0
    if op == EPOLL_CTL_MOD:
        item.events = events | EPOLLERR | EPOLLHUP
        item.data = data
        item.hook()
        if item.poll() and not item.ready:
            item.ready = True
            ep.rdllist.append(item)
            ep.wq.wake_up()
        return 0
    return -EINVAL


def ep_send_events(ep: EventPoll, maxevents: int) -> list[tuple[int, int]]:
    """``ep_send_events``: the events of ready items, level-triggered ones staying ready."""
    out: list[tuple[int, int]] = []
    requeue: list[EpItem] = []
    while ep.rdllist and len(out) < maxevents:
        item = ep.rdllist.pop(0)
        item.ready = False
        if item.file.f_count <= 0:
            ep.remove(item)
            continue
        item.hook()
        revents = item.poll()
        if not revents:
            continue
        out.append((revents, item.data))
        if item.events & EPOLLONESHOT:
            item.events &= EP_PRIVATE_BITS
        elif not item.events & EPOLLET:
            item.ready = True
            requeue.append(item)
    ep.rdllist.extend(requeue)
    return out


def sys_epoll_wait(epfd: int, maxevents: int, timeout_ms: int) -> list[tuple[int, int]] | int:
    """``epoll_wait(2)``: up to ``maxevents`` (events, data) pairs, waiting up to ``timeout_ms``
    (-1: for ever) for the first."""
    ep = _epoll_file(epfd)
    if isinstance(ep, int):
        return ep
    if maxevents <= 0 or maxevents > EP_MAX_EVENTS:
        return -EINVAL
    proc = current()
    timeout = MAX_SCHEDULE_TIMEOUT if timeout_ms < 0 else timeout_ms * 1_000_000
    while True:
        events = ep_send_events(ep, maxevents)
        if events or timeout == 0:
            return events
        if signal_pending(proc):  # ep_poll
            return -EINTR
        left = proc.sleep_on(ep.wq, timeout)
        if timeout != MAX_SCHEDULE_TIMEOUT:
            timeout = left
