"""include/linux/minmax.h's min/max/min3/max3 give what Python's built-ins give for two (or three)
values, ties included: the first of equal values, as the built-ins return it."""

from __future__ import annotations

import builtins
import itertools

from tuxnet.kernel.minmax import max, max3, min, min3


class Tagged(int):
    """An int that remembers which argument it was, to tell equal values apart."""

    def __new__(cls, value: int, tag: str) -> Tagged:
        obj = super().__new__(cls, value)
        obj.tag = tag
        return obj


def test_two_and_three_values_as_the_builtins() -> None:
    values = [-2, 0, 0, 1, 2.5, 2**40]
    for x, y in itertools.product(values, repeat=2):
        a, b = Tagged(x, "a") if isinstance(x, int) else x, Tagged(y, "b") if isinstance(y, int) else y
        assert min(a, b) is builtins.min(a, b)
        assert max(a, b) is builtins.max(a, b)
    for x, y, z in itertools.product([-1, 0, 3], repeat=3):
        assert min3(x, y, z) == builtins.min(x, y, z)
        assert max3(x, y, z) == builtins.max(x, y, z)
    a, b = Tagged(7, "a"), Tagged(7, "b")
    assert min(a, b).tag == "a" and max(a, b).tag == "a"
