"""The World: one clock, one event queue, the hosts and the wires between them.

Time is an integer count of nanoseconds (``world.now``).  In virtual time (the default) the
clock jumps from event to event, so a 60 s TIME_WAIT costs nothing; in real time (``realtime=True``)
the loop sleeps until the next event is due and waits on the file descriptors of real devices
(TAP) meanwhile.  Runs with the same seed are identical, event for event: the queue breaks ties by
insertion order and every random choice comes from the world's seeded generator.
"""

from __future__ import annotations

import gc
import heapq
import random
import selectors
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from greenlet import greenlet

from tuxnet.kernel.minmax import max, min
from tuxnet.kernel.mm import keep_freed_memory

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

HZ = 1000  # the kernel's tick rate as tuxnet models it: a jiffy is a millisecond
NSEC_PER_USEC = 1_000
NSEC_PER_MSEC = 1_000_000
NSEC_PER_SEC = 1_000_000_000
USEC_PER_MSEC = 1_000
USEC_PER_SEC = 1_000_000
MSEC_PER_SEC = 1_000
GC_THRESHOLD = 50_000
# The queue drops its dead timer entries once there are more than this many and they are over half
# of it (World._compact): rare enough to cost nothing, often enough to free closed sockets.
COMPACT_MIN_DEAD = 1024
# A world of this many hosts moves its objects out of the cyclic collector's way (World._gc_freeze).
GC_FREEZE_HOSTS = 100
# ... and collects in full before a run's freeze once it has run this many events since its last
# full collection, so that garbage made in earlier runs is not frozen run after run.
GC_COLLECT_EVENTS = 1_000_000
# The tuning above is for CPython's cyclic collector; PyPy's generational GC has no thresholds to
# raise nor a permanent generation, and needs neither.
CPYTHON_GC = hasattr(gc, "freeze")
# How many World.run calls are active (a run may start another world's run), and whether objects
# were frozen: the outermost run gives them back to the collector.
_runs_active = 0
_frozen = False


def msecs(n: float) -> int:
    """Milliseconds to the world's unit (nanoseconds)."""
    return int(n * NSEC_PER_MSEC)


def secs(n: float) -> int:
    """Seconds to the world's unit (nanoseconds)."""
    return int(n * NSEC_PER_SEC)


class Timer:
    """A kernel-style timer (``struct timer_list``): ``mod`` arms or re-arms it, ``delete`` stops it.

    Expiry times are absolute, in nanoseconds.  Re-arming is lazy (in the spirit of ``mod_timer``
    on the timer wheel, which only updates ``expires`` when the bucket does not change): a timer
    pushed back (an RTO or delayed ACK re-armed per packet) keeps its entry in the queue, and when
    that entry comes up it is queued again under the new expiry with the sequence number of the
    re-arming ``mod``, so events run in exactly the order an eager requeue would give.  Only a
    timer brought forward, or armed again after ``delete``, gets a new entry (the old one is
    skipped when it comes up), so an idle timer costs nothing.

    ``del_timer`` detaches a timer from the wheel at once, and a closed socket is freed.  So a
    queue entry does not hold its timer directly but through a one-item list, its cell, which
    ``delete`` (or bringing the timer forward) empties: the dead entry then holds nothing, and a
    socket whose timers were stopped is freed at once rather than when a 60 s TIME_WAIT or a 2 h
    keepalive would have come up.  The world counts dead entries and, when they are most of the
    queue, drops them all in one pass (``World._compact``).
    """

    __slots__ = ("world", "function", "arg", "expires", "_key", "_queued", "_cell")

    def __init__(self, world: World, function: Callable[[Any], None], arg: Any = None) -> None:
        self.world = world
        self.function: Callable[[Any], None] | None = function
        self.arg = arg
        self.expires = -1
        self._key = 0  # the queue sequence number of the latest mod
        self._queued = -1  # expiry of this timer's live queue entry; -1: none
        self._cell: list[Timer | None] | None = None  # the live entry's cell: [self]

    def pending(self) -> bool:
        """``timer_pending()``: armed and not yet fired."""
        return self.expires >= 0

    def mod(self, expires: int) -> None:
        """``mod_timer()``: (re)arm to fire at absolute time ``expires`` (ns)."""
        w = self.world
        w._seq += 1
        self.expires = expires
        self._key = w._seq
        queued = self._queued
        if 0 <= queued <= expires:
            return  # the live entry comes up first and requeues the timer (World._run)
        if queued >= 0:
            self._kill_entry()  # brought forward: the old entry is dead
        elif self.function is None:
            self.expires = -1  # shut down: re-arming is ignored
            return
        cell: list[Timer | None] = [self]
        self._cell = cell
        self._queued = expires
        heapq.heappush(w._queue, (expires, w._seq, cell, None))

    def add_in(self, delay: int) -> None:
        """Arm to fire ``delay`` nanoseconds from now."""
        self.mod(self.world.now + delay)

    def delete(self) -> None:
        """``del_timer()``: disarm (a no-op when not pending)."""
        self.expires = -1
        if self._queued >= 0:
            self._queued = -1
            self._kill_entry()

    def shutdown(self) -> None:
        """``timer_shutdown()``: stop the timer for good, as its owner is about to be freed; arming
        it again is ignored, as the kernel ignores it.  It lets go of its handler and argument:
        an object and the timer embedded in it refer to each other, and without this the pair
        would wait for the cycle collector instead of being freed by its last reference."""
        self.delete()
        self.function = None
        self.arg = None

    def _kill_entry(self) -> None:
        """Empty the live entry's cell: it is skipped, and holds nothing, from now on."""
        cell = self._cell
        if cell is not None:
            cell[0] = None
            self._cell = None
            self.world._entry_died()


class World:
    """A simulated universe of hosts and wires driven by one event loop."""

    def __init__(self, seed: int = 0, realtime: bool = False, busy_poll_us: int = 0) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.realtime = realtime
        # Real-time mode: poll the devices without sleeping for this long before blocking in
        # select(), as net.core.busy_poll does for a socket (trading a CPU for wake-up latency).
        self.busy_poll_us = busy_poll_us
        self.now = 0
        # Entries are (when, seq, cell, None) for timers (Timer: the cell is [timer], or [None]
        # once the entry is dead) and (when, seq, fn, args) for one-shot calls; seq breaks ties in
        # insertion order.
        self._queue: list[tuple[int, int, Any, Any]] = []
        self._seq = 0
        self._dead = 0  # timer entries in _queue that will be skipped (Timer)
        self.hosts: dict[str, Host] = {}
        self.links: list[Any] = []
        self.next_mac = 1  # the next locally administered MAC address (drivers/net/ether.py)
        self.loop_greenlet: greenlet | None = None
        self.tracer: Any = None
        self.events_run = 0
        self._selector: selectors.BaseSelector | None = None
        self._real_t0 = 0.0
        self._stopped = False
        self._failures: list[BaseException] = []
        self._gc_frozen = False  # has this world frozen objects yet (_gc_freeze)
        self._gc_events = 0  # events_run at this world's last full collection
        keep_freed_memory()

    # -- hosts and wires -------------------------------------------------------------------------
    def add_host(self, name: str, **kwargs: Any) -> Host:
        """Create a host: a network namespace with its own kernel and ``lo``, which is down, as in a
        new Linux namespace (``host.dev_open("lo")`` brings it up)."""
        from tuxnet.kernel.host import Host

        if name in self.hosts:
            raise ValueError(f"host {name!r} exists already")
        host = Host(self, name, **kwargs)
        self.hosts[name] = host
        self._gc_freeze()
        return host

    def _gc_freeze(self) -> None:
        """Move every object the collector tracks into its permanent generation (``gc.freeze``),
        in a world of ``GC_FREEZE_HOSTS`` hosts or more.

        A big world's hosts, devices, tables and sockets live as long as it does, and every full
        collection would walk them all again: building 10,000 hosts took 5.5 s instead of 2.3 s,
        and their run 9 % longer.  Such a world freezes what exists as hosts are added and when a
        run starts; the outermost run gives it all back (``gc.unfreeze``) when it returns.  A freeze
        takes garbage along, so the world's first one follows a full collection (what earlier
        worlds left is freed, not kept), and so does one after ``GC_COLLECT_EVENTS`` events (what
        earlier runs left is freed: a world run in many short steps does not keep it).  Small
        worlds, whose collections cost little, leave the collector alone."""
        global _frozen
        if not CPYTHON_GC or len(self.hosts) < GC_FREEZE_HOSTS:
            return
        if not self._gc_frozen or self.events_run - self._gc_events >= GC_COLLECT_EVENTS:
            self._gc_frozen = True
            self._gc_events = self.events_run
            gc.collect()
        gc.freeze()
        _frozen = True

    def host_rng(self, name: str) -> random.Random:
        """A generator for one host, derived from the world seed and the host's name."""
        return random.Random(f"{self.seed}/{name}")

    def add_router(self, name: str) -> Host:
        """A host that forwards (``tuxnet.topology.add_router``)."""
        from tuxnet.topology import add_router

        return add_router(self, name)

    def add_switch(self, name: str, **kwargs: Any) -> Any:
        """A learning switch (``tuxnet.topology.add_switch``)."""
        from tuxnet.topology import add_switch

        return add_switch(self, name, **kwargs)

    def add_hub(self, name: str, **kwargs: Any) -> Any:
        """A shared CSMA/CD segment (``tuxnet.topology.add_hub``)."""
        from tuxnet.topology import add_hub

        return add_hub(self, name, **kwargs)

    def connect(self, a: Any, b: Any, **kwargs: Any) -> Any:
        """A cable between two nodes, or a station on a hub (``tuxnet.topology.connect``)."""
        from tuxnet.topology import connect

        return connect(a, b, **kwargs)

    # -- scheduling ------------------------------------------------------------------------------
    def call_at(self, when: int, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` at absolute time ``when`` (ns)."""
        self._seq += 1
        heapq.heappush(self._queue, (when, self._seq, fn, args))

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` at the current time, after the events already due now."""
        self._seq += 1
        heapq.heappush(self._queue, (self.now, self._seq, fn, args))

    def call_later(self, delay: int, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` ``delay`` ns from now."""
        self._seq += 1
        heapq.heappush(self._queue, (self.now + delay, self._seq, fn, args))

    def timer(self, function: Callable[[Any], None], arg: Any = None) -> Timer:
        """A new, unarmed timer (``timer_setup``)."""
        return Timer(self, function, arg)

    def _entry_died(self) -> None:
        """A timer entry in the queue became dead: drop all of them once they are most of it."""
        self._dead += 1
        if self._dead > COMPACT_MIN_DEAD and self._dead * 2 > len(self._queue):
            self._compact()

    def _compact(self) -> None:
        """Rebuild the queue without its dead timer entries.  Every entry's key (expiry, sequence
        number) is unique, so the events that remain run in the same order."""
        queue = self._queue
        queue[:] = [e for e in queue if e[3] is not None or e[2][0] is not None]
        heapq.heapify(queue)
        self._dead = 0

    def fail(self, exc: BaseException) -> None:
        """Record an error raised by a process so that ``run`` re-raises it."""
        self._failures.append(exc)

    # -- real devices ----------------------------------------------------------------------------
    def add_reader(self, fd: int, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever ``fd`` is readable (real-time mode only)."""
        if not self.realtime:
            raise RuntimeError("real devices need World(realtime=True)")
        if self._selector is None:
            self._selector = selectors.DefaultSelector()
        self._selector.register(fd, selectors.EVENT_READ, callback)

    def remove_reader(self, fd: int) -> None:
        """Stop watching ``fd``; with no descriptor left the loop ends when its queue does."""
        if self._selector is not None:
            self._selector.unregister(fd)
            if not self._selector.get_map():
                self._selector.close()
                self._selector = None

    def close(self) -> None:
        """Power the world off: kill every process (their sockets close as at exit), then drop
        what is queued and stop watching device descriptors (their drivers close them).  A process
        asleep in its greenlet holds its host and world in a cycle the garbage collector cannot see
        through, so a world left with live processes (a server that never returns) is kept in
        memory until it is closed."""
        self.loop_greenlet = greenlet.getcurrent()
        for host in list(self.hosts.values()):
            for proc in list(host.processes.values()):
                proc.kill()
        self._queue.clear()
        self._dead = 0
        if self._selector is not None:
            self._selector.close()
            self._selector = None

    # -- the loop --------------------------------------------------------------------------------
    def stop(self) -> None:
        """Make the running ``run*`` call return after the current event."""
        self._stopped = True

    def run(self, until: int | None = None, condition: Callable[[], bool] | None = None) -> int:
        """Run events until the queue is empty, time ``until`` (ns) is reached, or ``condition()``
        turns true (checked after each event).  Returns the current time."""
        global _runs_active, _frozen
        self.loop_greenlet = greenlet.getcurrent()
        self._stopped = False
        # A simulation allocates many short-lived objects: collect cycles less often while it runs,
        # and (in a big world) never walk what existed before it (_gc_freeze).
        if not CPYTHON_GC:
            return self._run(until, condition)
        gc_threshold = gc.get_threshold()
        gc.set_threshold(max(gc_threshold[0], GC_THRESHOLD), *gc_threshold[1:])
        self._gc_freeze()
        _runs_active += 1
        try:
            return self._run(until, condition)
        finally:
            _runs_active -= 1
            if not _runs_active and _frozen:
                gc.unfreeze()
                _frozen = False
            gc.set_threshold(*gc_threshold)

    def _run(self, until: int | None, condition: Callable[[], bool] | None) -> int:
        realtime = self.realtime
        if realtime and self._real_t0 == 0.0:
            self._real_t0 = time.monotonic() - self.now / NSEC_PER_SEC
        queue = self._queue
        pop = heapq.heappop
        push = heapq.heappush
        failures = self._failures
        limit = until if until is not None else float("inf")
        while not self._stopped:
            if condition is not None and condition():
                break
            if realtime:
                self._wait_real(until)
            if not queue:
                if realtime and self._selector is not None and (until is None or self.now < until):
                    continue
                break
            when = queue[0][0]
            if when > limit:
                break
            _, seq, item, arg = pop(queue)
            if arg is not None:
                if when > self.now:
                    self.now = when
                self.events_run += 1
                item(*arg)
            else:
                timer = item[0]
                if timer is None:
                    self._dead -= 1
                    continue  # deleted or brought forward since: not an event
                expires = timer.expires
                if seq != timer._key:
                    # Re-armed since: queue it where an eager re-arm would have put it.
                    timer._queued = expires
                    push(queue, (expires, timer._key, item, None))
                    continue
                if when > self.now:
                    self.now = when
                self.events_run += 1
                timer._queued = -1
                timer._cell = None
                timer.expires = -1
                timer.function(timer.arg)
            if failures:
                raise failures.pop(0)
        if until is not None and self.now < until and not self._stopped and (
            condition is None or not condition()
        ):
            self.now = until
        return self.now

    def run_for(self, duration: int, condition: Callable[[], bool] | None = None) -> int:
        """Run for ``duration`` nanoseconds of world time."""
        return self.run(until=self.now + duration, condition=condition)

    def run_until(self, condition: Callable[[], bool], timeout: int | None = None) -> bool:
        """Run until ``condition()`` holds; returns whether it does (False on timeout or idle)."""
        self.run(until=None if timeout is None else self.now + timeout, condition=condition)
        return condition()

    def _busy_poll(self, timeout: float | None) -> list[Any]:
        """Spin on a zero-timeout select() for up to ``busy_poll_us`` (never past ``timeout``),
        then block for what is left."""
        select = self._selector.select
        spin = self.busy_poll_us / 1e6 if timeout is None else min(self.busy_poll_us / 1e6, timeout)
        start = time.monotonic()
        while time.monotonic() - start < spin:
            ready = select(0)
            if ready:
                return ready
        left = None if timeout is None else max(0.0, timeout - (time.monotonic() - start))
        return select(left)

    def _wait_real(self, until: int | None) -> None:
        """Real-time mode: sleep until the next event is due, serving device fds meanwhile."""
        while True:
            real_now = int((time.monotonic() - self._real_t0) * NSEC_PER_SEC)
            if real_now > self.now:
                self.now = real_now
            due = self._queue[0][0] if self._queue else None
            if until is not None and (due is None or due > until):
                due = until
            timeout = None if due is None else max(0.0, (due - self.now) / NSEC_PER_SEC)
            if self._selector is None:
                if timeout is None or timeout <= 0:
                    return
                time.sleep(timeout)
                continue
            if self.busy_poll_us and timeout != 0:
                ready = self._busy_poll(timeout)
            else:
                ready = self._selector.select(timeout)
            for key, _ in ready:
                key.data()
            if not ready or timeout == 0:
                real_now = int((time.monotonic() - self._real_t0) * NSEC_PER_SEC)
                self.now = max(self.now, real_now)
                return
            if self._queue and self._queue[0][0] <= self.now:
                return
