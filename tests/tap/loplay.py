"""A program of socket calls on loopback, played twice: by this machine's kernel, as a script in a
network namespace of our own (``python SCRIPT NAME``, printing its outcomes as JSON), and by
tuxnet, imported and run with ``tuxnet.socket.stdlib`` on a host of its own; both with loopback's
MTU ``mtu`` when given, each program given a ``sleep`` of 50 ms to let packets arrive."""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

import pytest

import tuxnet.socket as tux_socket
from tuxnet import benchmarks
from tuxnet.tapnet import Netns, netns_unavailable
from tuxnet.user import libc
from tuxnet.user.iproute import ip
from tuxnet.world import World


def lo_pair(port: int) -> tuple[Any, Any, Any]:
    """(listener, client, accepted): a TCP connection over 127.0.0.1 on ``port``, made with the
    ``socket`` module the program runs under (the kernel's, or ``tuxnet.socket.stdlib``'s)."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen()
    c = socket.socket()
    c.connect(("127.0.0.1", port))
    a, _ = ls.accept()
    return ls, c, a


def outcome(fn: Callable[..., Any], *args: Any) -> Any:
    """What ``fn(*args)`` returns (bytes as hex), or the name of the errno it fails with."""
    try:
        value = fn(*args)
    except OSError as e:
        return errno.errorcode[e.errno]
    return value.hex() if isinstance(value, bytes) else value


def kernel_outcomes(script: str, name: str, mtu: int = 0, sysctls: dict[str, str] | None = None) -> list:
    """What ``script`` (beside this module) prints as JSON, run as ``python SCRIPT NAME`` by this
    machine's kernel in a network namespace of our own (its ``sysctls`` set first)."""
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    ns = Netns(f"tuxnet-{os.path.basename(script).split('.')[0]}-{name}-{os.getpid()}")
    try:
        if mtu:
            ns.run("ip", "link", "set", "lo", "mtu", str(mtu))
        for key, value in (sysctls or {}).items():
            ns.run("sysctl", "-qw", f"{key}={value}")
        return json.loads(ns.run(sys.executable, os.path.join(os.path.dirname(__file__), script), name).stdout)
    finally:
        ns.close()


def lo_world(mtu: int = 0) -> tuple[World, Any]:
    """A world of one host with lo up (127.0.0.1/8), of MTU ``mtu`` when given, its congestion
    control the one a new namespace of this machine's kernel starts with: a namespace takes the
    machine's default (BBR on some machines), and the two must send alike."""
    world, host = benchmarks.lo_world(1, "h")
    with open("/proc/sys/net/ipv4/tcp_congestion_control") as f:
        host.sysctl.set("net.ipv4.tcp_congestion_control", f.read().strip())
    if mtu:
        ip(host, f"link set lo mtu {mtu}")
    return world, host


def tuxnet_outcomes(world: World, host: Any, program: Callable[..., Any], *args: Any) -> list:
    """What ``program(*args)`` returns, run with ``tuxnet.socket.stdlib`` on ``host``, as JSON
    would give it back."""
    proc = host.spawn(tux_socket.stdlib(program), *args)
    world.run_until(lambda: not proc.alive, timeout=10**11)
    return json.loads(json.dumps(proc.result))


def play_on_both(script: str, name: str, program: Callable[..., Any], mtu: int = 0) -> tuple[list, list]:
    """(the kernel's outcomes, tuxnet's) of ``program``, which ``script`` runs as ``name``."""
    linux = kernel_outcomes(script, name, mtu)
    world, host = lo_world(mtu)
    return linux, tuxnet_outcomes(world, host, program, lambda: libc.sleep(0.05))
