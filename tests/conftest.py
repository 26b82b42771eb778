"""Shared fixtures: a world with one host whose loopback is up, as the seed's MenuOS boots."""

from __future__ import annotations

import platform
import shutil
from typing import Any

import pytest

from tuxnet.benchmarks import lo_world
from tuxnet.world import World


def pytest_runtest_setup(item: pytest.Item) -> None:
    # @pytest.mark.cpython_only: what only CPython's memory management shows (reference counting
    # frees a view the moment it is dropped, the cyclic collector can freeze objects, glibc's malloc
    # serves the buffers); under PyPy such a test skips.
    if item.get_closest_marker("cpython_only") and platform.python_implementation() != "CPython":
        pytest.skip("CPython's memory management (refcounts, gc.freeze, malloc)")


def make_lo_host(seed: int = 0, name: str = "menuos") -> tuple[World, Any]:
    """``tuxnet.benchmarks.lo_world`` with the seed's MenuOS for a host."""
    return lo_world(seed, name)


@pytest.fixture
def lo_host():
    return make_lo_host()


@pytest.fixture
def tshark() -> str:
    path = shutil.which("tshark")
    if path is None:
        pytest.skip("tshark is not installed (apt-get install tshark); it judges our packets")
    return path
