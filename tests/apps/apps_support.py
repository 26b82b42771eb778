"""Helpers for the application-layer tests: worlds, programs run to completion, a DNS server."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tuxnet import benchmarks
from tuxnet.user.etc import install_base_files
from tuxnet.user.programs.dns import named
from tuxnet.user.programs.final_project import EXAMPLE_ZONE, REVERSE_ZONE
from tuxnet.world import World, secs

ZONES = {"example.com.": "/etc/bind/db.example.com", "3.0.10.in-addr.arpa.": "/etc/bind/db.10.0.3"}


def lo_world(seed: int = 0, name: str = "box") -> tuple[World, Any]:
    """``tuxnet.benchmarks.lo_world`` with this module's seed and host name."""
    return benchmarks.lo_world(seed, name)


def add_zones(host: Any) -> None:
    host.files["/etc/bind/db.example.com"] = EXAMPLE_ZONE
    host.files["/etc/bind/db.10.0.3"] = REVERSE_ZONE


def dns_world(seed: int = 0, **resolv: Any) -> tuple[World, Any]:
    """One host running named on 127.0.0.53 for the example zones, its resolver pointing there."""
    world, host = lo_world(seed)
    add_zones(host)
    install_base_files(host, nameservers=resolv.pop("nameservers", ["127.0.0.53"]), **resolv)
    host.spawn(named, ZONES, addr="127.0.0.53", name="named")
    world.run(until=world.now + 1_000_000)
    return world, host


def run(world: World, host: Any, fn: Callable[..., Any], *args: Any, limit: float = 600.0, **kwargs: Any) -> Any:
    """Run ``fn`` as a process on ``host`` until it exits (at most ``limit`` world seconds); its
    return value, or the OSError it raised."""
    box: dict[str, Any] = {}

    def program() -> None:
        try:
            box["result"] = fn(*args, **kwargs)
        except OSError as e:
            box["result"] = e

    proc = host.spawn(program, name=getattr(fn, "__name__", "prog"))
    world.run_until(lambda: not proc.alive, timeout=secs(limit))
    assert not proc.alive, f"{fn} still running after {limit} s"
    return box["result"]


def outcome(fn: Callable[[], Any]) -> list[Any]:
    """What a call did, as JSON (to compare a run on this machine with tuxnet's): ["ret", value]
    or ["exc", type, errno, message]."""
    try:
        value = fn()
    except Exception as e:  # noqa: BLE001 - every outcome is compared
        return ["exc", type(e).__name__, getattr(e, "errno", None), str(e)]
    return ["ret", json.loads(json.dumps(value, default=repr))]
