"""``ss`` against this machine's: the same sockets (two listeners, one connection with unread
bytes) in a namespace of our own and on a tuxnet host, and the same table for each option."""

from __future__ import annotations

import os
import re

import pytest

from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.etc import install_base_files
from tuxnet.user.ss import ss_main
from tuxnet.world import World

pytestmark = pytest.mark.root

COMMANDS = [["-tan"], ["-tn"], ["-tln"], ["-t"], ["-tna", "state", "established"], ["-ta"], ["-tnl", "-H"]]
SOCKETS = """
import socket, subprocess, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(("0.0.0.0", 80)); l.listen(5)
l2 = socket.socket(); l2.bind(("127.0.0.1", 5001)); l2.listen(128)
c = socket.create_connection(("127.0.0.1", 80)); s, _ = l.accept(); c.send(b"x" * 10)
import time; time.sleep(0.1)
for args in %r:
    print(repr((c.getsockname()[1], subprocess.run(["ss", *args], capture_output=True, text=True).stdout)))
"""


def masked(port: int, table: str, header: bool) -> list[str]:
    """The header, then the other lines sorted (the kernel's hash order is not ours), the client's
    ephemeral port (five digits on both) written as EPHEM."""
    lines = re.sub(rf"\b{port}\b", "EPHEM", table).splitlines()
    return lines[:1] + sorted(lines[1:]) if header else sorted(lines)


def test_ss_prints_the_table_as_iproute2_does():
    from tuxnet.tapnet import Netns, netns_unavailable

    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    ns = Netns(f"tuxnet-ss-{os.getpid()}")
    try:
        out = ns.run("python3", "-c", SOCKETS % (COMMANDS,)).stdout
    finally:
        ns.close()
    linux = [eval(line) for line in out.splitlines()]
    world = World(seed=1)
    h = world.add_host("h")
    h.dev_open("lo")
    h.ip_addr_add("lo", "127.0.0.1/8")
    install_base_files(h)  # /etc/services, for the names ss shows without -n
    ours = []

    def prog() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("0.0.0.0", 80))
        libc.listen(lfd, 5)
        l2 = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(l2, ("127.0.0.1", 5001))
        libc.listen(l2, 128)
        c = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(c, ("127.0.0.1", 80))
        libc.accept(lfd)
        libc.send(c, b"x" * 10)
        libc.sleep(0.1)
        port = libc.getsockname(c)[1]
        for args in COMMANDS:
            before = len(h.console)
            libc.waitpid(libc.fork(ss_main, args, name="ss"))
            ours.append((port, "".join(h.console[before:])))
        libc.sleep(1)

    h.spawn(prog)
    world.run_until(lambda: len(ours) == len(COMMANDS), timeout=10 * 10**9)
    for args, (lport, theirs), (port, mine) in zip(COMMANDS, linux, ours, strict=True):
        header = "-H" not in args
        assert masked(port, mine, header) == masked(lport, theirs, header), args
