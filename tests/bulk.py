"""A bulk TCP transfer between two hosts of a world, checked end to end (shared by the TCP and
GRO tests)."""

from __future__ import annotations

import hashlib
import random
from typing import Any

from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.world import World


def bulk_transfer(world: World, a: Any, b: Any, size: int, daddr: str = "10.0.0.2", port: int = 5001,
                  reader_pause: float = 0.0, timeout_s: int = 600, read_gap: float = 0.0) -> dict[str, Any]:
    """``size`` random bytes from a to b (``daddr``:``port``), the reader starting after
    ``reader_pause`` seconds and sleeping ``read_gap`` seconds after each read; asserts they
    arrive whole and returns what the reader saw."""
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
            if read_gap:
                libc.sleep(read_gap)
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
