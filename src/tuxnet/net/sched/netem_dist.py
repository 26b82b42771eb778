"""netem's delay distribution tables, computed as iproute2's generators in ``netem/`` compute the
``normal.dist``, ``pareto.dist`` and ``paretonormal.dist`` it installs (in ``/usr/lib/tc`` or
``/usr/lib/x86_64-linux-gnu/tc``).

Each table holds 4,096 signed 16-bit entries, the inverse of the distribution's cumulative
function at evenly spaced points, scaled by NETEM_DIST_SCALE: ``tabledist`` picks one at random
and multiplies it by the jitter.  ``normal.c`` inverts the normal's function by a sweep of x from
-10 to 10 in steps of 0.00005 (``table[rint(16384 * cdf(x))] = x``), and keeps every fourth point;
``pareto.c`` takes ``(4/3)(u^(-1/3) - 1.5)`` for u from 1 down in steps of 1/4096 (a Pareto of
shape 3, its mean 1.5 taken away); ``paretonormal.c`` is a quarter of the first and three
quarters of the second.  ``experimental.dist`` comes from measured delays (``maketable.c`` over
``experimental.dat``), so it is not computed here: a host has it when its file is put there.
The generators' floating-point steps are done in the same order on the same doubles (C's
``rint``, ``erf`` and ``pow`` are Python's ``round``, ``math.erf`` and ``**``), so the tables
are equal to the installed files, value for value (``tests/l2l3/test_netem.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

NETEM_DIST_SCALE = 8192  # include/uapi/linux/pkt_sched.h: a table entry of 8192 is one sigma
NETEM_DIST_MAX = 16384  # the most entries the kernel (get_dist_table) and tc (MAX_DIST) take
TABLESIZE = 16384  # normal.c, pareto.c, paretonormal.c: the points computed; every fourth is kept
SHRT_MIN, SHRT_MAX = -32768, 32767
PARETO_SHAPE = 3.0  # pareto.c's ``a``


@cache
def _normal_inverse() -> tuple[float, ...]:
    """``normal.c``'s sweep: for each of the 16,385 points of the normal's cumulative function,
    the last x (from -10 up, in steps of 0.00005 added one to the other) whose value rounds to
    it."""
    table = [0.0] * (TABLESIZE + 1)
    root2 = math.sqrt(2.0)
    x = -10.0
    while x < 10.05:
        table[round(TABLESIZE * (0.5 + 0.5 * math.erf(x / root2)))] = x
        x += 0.00005
    return tuple(table)


def _normal_value(k: int) -> int:
    """``normal.c``: entry k, the sweep's x at point 4k, scaled."""
    return round(_normal_inverse()[4 * k] * NETEM_DIST_SCALE)


def _pareto_value(k: int) -> int:
    """``pareto.c`` (``paretovalue`` in paretonormal.c): entry k, the Pareto's inverse at
    u = (65536 - 16k) / 65536, less its mean, scaled, and at most SHRT_MAX."""
    u = (65536 - 16 * k) / 65536
    value = (1.0 / u ** (1.0 / PARETO_SHAPE) - 1.5) * ((4.0 / 3.0) * NETEM_DIST_SCALE)
    return round(min(value, 32767.0))


def _paretonormal_value(k: int) -> int:
    """``paretonormal.c``: (normal + 3 * pareto) / 4, divided as C divides ints (toward 0)."""
    total = _normal_value(k) + 3 * _pareto_value(k)
    return -(-total // 4) if total < 0 else total // 4


def _dist_table(value: Callable[[int], int]) -> list[int]:
    """The generators' shared shape: TABLESIZE / 4 entries, each clamped to a short."""
    return [max(SHRT_MIN, min(SHRT_MAX, value(k))) for k in range(TABLESIZE // 4)]


def normal_dist_table() -> list[int]:
    """``normal.dist``: the standard normal distribution."""
    return _dist_table(_normal_value)


def pareto_dist_table() -> list[int]:
    """``pareto.dist``: a Pareto distribution of shape 3, centred on its mean."""
    return _dist_table(_pareto_value)


def paretonormal_dist_table() -> list[int]:
    """``paretonormal.dist``: a quarter normal, three quarters Pareto."""
    return _dist_table(_paretonormal_value)


# the tables iproute2 generates and installs (its netem/Makefile's DISTGEN), by name
DIST_TABLES: dict[str, Callable[[], list[int]]] = {
    "normal": normal_dist_table, "pareto": pareto_dist_table, "paretonormal": paretonormal_dist_table}
