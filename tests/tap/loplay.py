"""A program of socket calls on loopback, played twice: by this machine's kernel, as a script in a
network namespace of our own (``python SCRIPT NAME``, printing its outcomes as JSON), and by
tuxnet, imported and run with ``tuxnet.socket.stdlib`` on a host of its own; both with loopback's
MTU ``mtu`` when given, each program given a ``sleep`` of 50 ms to let packets arrive."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import pytest

import tuxnet.socket as tux_socket
from tuxnet.tapnet import Netns, netns_unavailable
from tuxnet.user import libc
from tuxnet.user.iproute import ip
from tuxnet.world import World


def play_on_both(script: str, name: str, program: Callable[..., Any], mtu: int = 0) -> tuple[list, list]:
    """(the kernel's outcomes, tuxnet's) of ``program``, which ``script`` runs as ``name``."""
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    ns = Netns(f"tuxnet-{os.path.basename(script).split('.')[0]}-{name}-{os.getpid()}")
    try:
        if mtu:
            ns.run("ip", "link", "set", "lo", "mtu", str(mtu))
        linux = json.loads(ns.run(sys.executable, os.path.join(os.path.dirname(__file__), script), name).stdout)
    finally:
        ns.close()
    world = World(seed=1)
    host = world.add_host("h")
    host.dev_open("lo")
    host.ip_addr_add("lo", "127.0.0.1/8")
    if mtu:
        ip(host, f"link set lo mtu {mtu}")
    proc = host.spawn(tux_socket.stdlib(program), lambda: libc.sleep(0.05))
    world.run_until(lambda: not proc.alive, timeout=10**11)
    return linux, json.loads(json.dumps(proc.result))
