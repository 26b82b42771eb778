"""The small TCP services of inetd: echo (RFC 862), discard (RFC 863), chargen (RFC 864).

Each listener accepts forever and serves every connection in a process of its own, as inetd's
``nowait`` services do.  ``stats`` (if given) collects bytes and a SHA-256 of what discard saw.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from tuxnet.kernel.sched import current
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc

ECHO_PORT = 7
DISCARD_PORT = 9
CHARGEN_PORT = 19
SOL_SOCKET = 1
SO_REUSEADDR = 2


def _serve(port: int, handler: Callable[[int, tuple[str, int], dict], None], addr: str, stats: dict) -> None:
    lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, 1)
    libc.bind(lfd, (addr, port))
    libc.listen(lfd, 128)
    host = current().host
    while True:
        fd, peer = libc.accept(lfd)
        stats["connections"] = stats.get("connections", 0) + 1
        host.spawn(_connection, fd, peer, handler, stats, name=handler.__name__, fds=[fd])
        libc.close(fd)


def _connection(fd: int, peer: tuple[str, int], handler: Callable[[int, tuple[str, int], dict], None],
                stats: dict) -> None:
    try:
        handler(fd, peer, stats)
    except OSError as e:
        stats.setdefault("errors", []).append(e.errno)
    finally:
        libc.close(fd)


def echo(fd: int, peer: tuple[str, int], stats: dict) -> None:
    """RFC 862: send back whatever arrives, until the peer closes."""
    while True:
        data = libc.recv(fd, 65536)
        if not data:
            return
        stats["echo_bytes"] = stats.get("echo_bytes", 0) + len(data)
        view = memoryview(data)
        while view:
            n = libc.send(fd, view)
            view = view[n:]


def discard(fd: int, peer: tuple[str, int], stats: dict) -> None:
    """RFC 863: read and throw away; remember how much and its digest."""
    h = hashlib.sha256()
    n = 0
    while True:
        data = libc.recv(fd, 1 << 20)
        if not data:
            break
        h.update(data)
        n += len(data)
    stats.setdefault("discarded", []).append({"peer": peer, "bytes": n, "sha256": h.hexdigest()})


def chargen_line(i: int) -> bytes:
    """The ``i``-th line of RFC 864's rotating 72-character pattern."""
    chars = bytes(range(33, 127))
    start = i % len(chars)
    rot = chars[start:] + chars[:start]
    return rot[:72] + b"\r\n"


def chargen(fd: int, peer: tuple[str, int], stats: dict) -> None:
    """RFC 864: send the character pattern until the peer closes or ``chargen_bytes`` are sent."""
    limit = stats.get("chargen_limit")
    block = b"".join(chargen_line(i) for i in range(95))
    sent = 0
    while limit is None or sent < limit:
        chunk = block if limit is None else block[:limit - sent]
        sent += libc.send(fd, chunk)
    libc.shutdown(fd, 1)
    while libc.recv(fd, 65536):
        pass


SERVICES: dict[str, tuple[int, Callable[[int, tuple[str, int], dict], None]]] = {
    "echo": (ECHO_PORT, echo),
    "discard": (DISCARD_PORT, discard),
    "chargen": (CHARGEN_PORT, chargen),
}


def start_services(host: Any, names: list[str], addr: str = "0.0.0.0", stats: dict | None = None) -> dict:
    """Start the named inetd services on ``host``; returns the shared statistics dict."""
    stats = {} if stats is None else stats
    for name in names:
        if name not in SERVICES:
            raise ValueError(f"unknown service {name!r} (known: {', '.join(SERVICES)})")
        port, handler = SERVICES[name]
        host.spawn(_serve, port, handler, addr, stats, name=f"inetd-{name}")
    return stats
