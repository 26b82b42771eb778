"""``min()`` and ``max()`` of include/linux/minmax.h: the smaller or larger of two values.

The stack's code compares two values at a time, as the kernel's macros do; Python's built-in
``min``/``max`` take any number of arguments and keywords, and CPython 3.11 parses those on every
call, which costs several times the comparison.  A module that imports these gets the kernel's
two-argument versions under the kernel's names.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T", bound=Any)

INT_MAX = 0x7FFFFFFF  # include/vdso/limits.h: the largest C int
U32_MAX = 0xFFFFFFFF  # and the largest u32
ULONG_MAX = (1 << 64) - 1  # and unsigned long, x86-64's
LONG_MIN, LONG_MAX = -(1 << 63), (1 << 63) - 1  # and a long's range


def c_int(value: int) -> int:
    """A C ``(int)`` cast: the low 32 bits, as a signed number."""
    return (value + (1 << 31)) % (1 << 32) - (1 << 31)


def min(x: T, y: T) -> T:  # noqa: A001 - the kernel's name
    """``min(x, y)``: the smaller; ``x`` when they are equal."""
    return y if y < x else x


def max(x: T, y: T) -> T:  # noqa: A001 - the kernel's name
    """``max(x, y)``: the larger; ``x`` when they are equal."""
    return y if y > x else x


def min3(x: T, y: T, z: T) -> T:
    """``min3(x, y, z)``."""
    return min(min(x, y), z)


def max3(x: T, y: T, z: T) -> T:
    """``max3(x, y, z)``."""
    return max(max(x, y), z)
