"""netstat and ss against this machine's net-tools netstat and iproute2 ss: the same sockets on
loopback (``netstatplay``) listed by both, for each of the protocols, with and without servers; the same lines, the
ephemeral ports aside (each kernel picks its own) and the rows of a table taken in any order (the
kernels' hash tables order them by their own secrets)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys

import pytest
from loplay import lo_world
from netstatplay import RUNS, play

import tuxnet.socket as tux_socket
from tuxnet.tapnet import Netns, netns_unavailable
from tuxnet.user import libc
from tuxnet.user.programs.nettools import netstat
from tuxnet.user.ss import ss_main

pytestmark = [pytest.mark.root, pytest.mark.skipif(shutil.which("netstat") is None,
                                                    reason="no netstat: apt-get install net-tools")]
# (the rows' first cells: the kinds of socket, and ss's states)
ROW = ("tcp", "udp", "raw", "unix", "ESTAB", "UNCONN", "LISTEN", "0 ")

EPHEMERAL = re.compile(r":(3[2-9]\d{3}|[4-6]\d{4})\b")
# -p's cell: the process's pid and name (a python here, a tuxnet process there), padded to 20
PROGRAM = re.compile(r" \d+/\S+ *(?= off|$)")
# -e's inode (each kernel numbers its own), after the uid
INODE = re.compile(r"(?<= 0          )\d+ *(?= |$)")


def normal(table: str) -> list[str]:
    """The title and header lines as they are; the rows sorted, ephemeral ports, -p's programs
    and -e's inodes masked."""
    lines = [INODE.sub("INODE     ", PROGRAM.sub(" PID/NAME", EPHEMERAL.sub(":EPH", line)))
             for line in table.splitlines()]
    heads = [i for i, line in enumerate(lines) if not line.startswith(ROW)]
    out: list[str] = []
    for n, i in enumerate(heads):
        out.append(lines[i])
        out += sorted(lines[i + 1:heads[n + 1] if n + 1 < len(heads) else len(lines)])
    return out


def linux_tables() -> list[str]:
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    ns = Netns(f"tuxnet-netstat-{os.getpid()}")
    try:
        return json.loads(ns.run(sys.executable, os.path.join(os.path.dirname(__file__), "netstatplay.py")).stdout)
    finally:
        ns.close()


def tuxnet_tables() -> list[str]:
    world, host = lo_world()

    def our_tool(name: str, args: list[str]) -> str:
        before = len(host.output())
        assert {"netstat": netstat, "ss": ss_main}[name](args) == 0
        return host.output()[before:]

    proc = host.spawn(tux_socket.stdlib(play), lambda: libc.sleep(0.05), our_tool)
    world.run_until(lambda: not proc.alive, timeout=10**11)
    return proc.result


def test_netstat_tables_as_on_the_kernel():
    linux = linux_tables()
    ours = tuxnet_tables()
    for run, theirs, mine in zip(RUNS, linux, ours, strict=True):
        assert normal(mine) == normal(theirs), run
    assert "udp        0      0 0.0.0.0:5353            0.0.0.0:*                          " in ours[1]
    assert ours[5].splitlines()[2].startswith("raw        0      0 127.0.0.1:253           127.0.0.2:*")
    assert ours[11].splitlines()[1].split() == ["0", "0", "127.0.0.1:253", "127.0.0.2:*"]  # ss -wn: ESTAB alone
