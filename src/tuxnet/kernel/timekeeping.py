"""The wall clock, ``CLOCK_REALTIME`` (kernel/time/timekeeping.c).

A simulated world's machines share one wall clock that starts at 2015-02-06 00:00:00 UTC, the
release of Linux 3.18.6, the course's kernel, and moves with the world's virtual time; a world in
real time (attached to a TAP device) reads the real clock.  Programs read it with ``time(2)`` and
``gettimeofday(2)``, and the kernel with ``ktime_get_real`` to stamp received packets.
"""

from __future__ import annotations

from time import time_ns as _real_time_ns
from typing import TYPE_CHECKING

from tuxnet.world import NSEC_PER_SEC

if TYPE_CHECKING:
    from tuxnet.world import World

EPOCH = 1_423_180_800


def ktime_get_real(world: World) -> int:
    """``ktime_get_real``: nanoseconds since the Unix epoch."""
    if world.realtime:
        return _real_time_ns()
    return EPOCH * NSEC_PER_SEC + world.now
