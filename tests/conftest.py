"""Shared fixtures: a world with one host whose loopback is up, as the seed's MenuOS boots."""

from __future__ import annotations

import hashlib
import random
import shutil
from typing import Any

import pytest

from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.world import World


def make_lo_host(seed: int = 0, name: str = "menuos"):
    world = World(seed=seed)
    host = world.add_host(name)
    host.dev_open("lo")
    host.ip_addr_add("lo", "127.0.0.1/8")
    return world, host


@pytest.fixture
def lo_host():
    return make_lo_host()


@pytest.fixture
def tshark() -> str:
    path = shutil.which("tshark")
    if path is None:
        pytest.skip("tshark is not installed (apt-get install tshark); it judges our packets")
    return path


def run_program(world, host, fn, *args, until=None, **kwargs):
    """Run ``fn`` as a process on ``host`` until it exits; returns its result (its exception is raised)."""
    proc = host.spawn(fn, *args, **kwargs)
    world.run_until(lambda: not proc.alive, timeout=until)
    assert not proc.alive, f"{proc} did not finish"
    return proc.result


def bulk_transfer(world: World, a: Any, b: Any, size: int, daddr: str = "10.0.0.2", port: int = 5001,
                  reader_pause: float = 0.0, timeout_s: int = 600) -> dict[str, Any]:
    """``size`` random bytes from a to b (``daddr``:``port``), the reader starting after
    ``reader_pause`` seconds; asserts they arrive whole and returns what the reader saw."""
    payload = random.Random(size).randbytes(size)
    seen: dict[str, Any] = {}

    def reader() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, (daddr, port))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        if reader_pause:
            libc.sleep(reader_pause)
        h, n = hashlib.sha256(), 0
        while data := libc.recv(fd, 1 << 16):
            h.update(data)
            n += len(data)
        seen["bytes"], seen["sha256"] = n, h.hexdigest()
        libc.close(fd)

    def writer() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (daddr, port))
        libc.send(fd, payload)
        libc.close(fd)

    r = b.spawn(reader)
    world.run_for(1_000_000)
    w = a.spawn(writer)
    world.run_until(lambda: not r.alive and not w.alive, timeout=timeout_s * 10**9)
    assert seen.get("bytes") == size and seen["sha256"] == hashlib.sha256(payload).hexdigest(), seen
    return seen
