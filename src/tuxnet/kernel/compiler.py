"""``notrace`` (include/linux/compiler_types.h): keep a helper out of the function tracer.

Marking costs nothing at run time: the function is returned unchanged and its code object is
remembered in ``NOTRACE``, which only the tracer consults.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

NOTRACE: set[Any] = set()


def notrace(fn: F) -> F:
    NOTRACE.add(fn.__code__)
    return fn
