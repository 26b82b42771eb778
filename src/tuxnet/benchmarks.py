"""``tuxnet bench``: wall-clock benchmarks of the stack, each figure the median of several runs.

Every benchmark builds its own world, runs a workload in virtual time, and reports how much real
(wall-clock) time the simulation took: payload MB per wall second, exchanges per wall second,
and so on.  Ratios are computed from figures measured in the same run.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from tuxnet.net.socket import AF_INET, SOCK_DGRAM, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.programs.inetd import DISCARD_PORT, start_services
from tuxnet.world import World

Result = dict[str, Any]
BENCHMARKS: dict[str, Callable[[float], Result]] = {}


def benchmark(name: str) -> Callable[[Callable[[float], Result]], Callable[[float], Result]]:
    def register(fn: Callable[[float], Result]) -> Callable[[float], Result]:
        BENCHMARKS[name] = fn
        return fn
    return register


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"python": sys.version.split()[0], "implementation": platform.python_implementation(),
            "cpu": cpu, "cores": os.cpu_count(), "system": platform.platform()}


def lo_world(seed: int = 1) -> tuple[World, Any]:
    world = World(seed=seed)
    host = world.add_host("bench")
    host.dev_open("lo")
    host.ip_addr_add("lo", "127.0.0.1/8")
    return world, host


def _run_to_exit(world: World, procs: list[Any]) -> None:
    world.run_until(lambda: all(not p.alive for p in procs))


# -- loopback ------------------------------------------------------------------------------

def _tcp_source(addr: str, port: int, payload: bytes, total: int) -> None:
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.connect(fd, (addr, port))
    sent = 0
    while sent < total:
        sent += libc.send(fd, payload)
    libc.close(fd)


@benchmark("loopback_bulk")
def bench_loopback_bulk(scale: float) -> Result:
    """One host, one TCP connection over ``lo``: payload MB per wall second."""
    total = int(100 * 1024 * 1024 * scale)
    payload = bytes(range(256)) * 4096
    world, host = lo_world()
    stats = start_services(host, ["discard"])
    start = time.perf_counter()
    host.spawn(_tcp_source, "127.0.0.1", DISCARD_PORT, payload, total)
    world.run_until(lambda: bool(stats.get("discarded")))
    wall = time.perf_counter() - start
    received = stats["discarded"][0]["bytes"]
    assert received >= total
    return {"value": received / wall / 1e6, "unit": "MB/s", "wall_s": wall, "virtual_s": world.now / 1e9}


@benchmark("hello_replyhi")
def bench_hello_replyhi(scale: float) -> Result:
    """The course's exchange (connect, hello, hi, close, TIME_WAIT) per wall second."""
    from tuxnet.user.programs.hello import hello, replyhi

    n = max(100, int(2000 * scale))
    world, host = lo_world()
    server = host.spawn(replyhi, count=n)

    def clients() -> None:
        for _ in range(n):
            hello()

    start = time.perf_counter()
    client = host.spawn(clients)
    _run_to_exit(world, [server, client])
    wall = time.perf_counter() - start
    return {"value": n / wall, "unit": "exchanges/s", "wall_s": wall}


@benchmark("udp_request_response")
def bench_udp_rr(scale: float) -> Result:
    """A UDP echo over ``lo``: request/response pairs per wall second."""
    n = max(100, int(20000 * scale))
    world, host = lo_world()

    def echo() -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(fd, ("127.0.0.1", 7))
        for _ in range(n):
            data, peer = libc.recvfrom(fd, 2048)
            libc.sendto(fd, data, 0, peer)

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        for _ in range(n):
            libc.sendto(fd, b"x" * 32, 0, ("127.0.0.1", 7))
            libc.recvfrom(fd, 2048)

    server = host.spawn(echo)
    start = time.perf_counter()
    c = host.spawn(client)
    _run_to_exit(world, [server, c])
    wall = time.perf_counter() - start
    return {"value": n / wall, "unit": "req/s", "wall_s": wall}


@benchmark("tracer_overhead")
def bench_tracer(scale: float) -> Result:
    """hello/replyhi with the function tracer running, as a fraction of the untraced rate.
    (With tracing off no hook is installed at all.)"""
    from tuxnet.trace.ftrace import FunctionTracer
    from tuxnet.user.programs.hello import hello, replyhi

    n = max(50, int(300 * scale))
    rates = []
    for traced in (False, True):
        world, host = lo_world()
        server = host.spawn(replyhi, count=n)
        tracer = FunctionTracer(world) if traced else None
        start = time.perf_counter()
        if tracer:
            tracer.start()
        client = host.spawn(lambda: [hello() for _ in range(n)])
        _run_to_exit(world, [server, client])
        if tracer:
            tracer.stop()
        rates.append(n / (time.perf_counter() - start))
    return {"value": rates[1] / rates[0], "unit": "x untraced", "untraced": rates[0], "traced": rates[1]}


# -- running -------------------------------------------------------------------------------

def run(names: list[str] | None = None, repeat: int = 3, scale: float = 1.0,
        progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the benchmarks, ``repeat`` times each; the figure is the median."""
    report: dict[str, Any] = {"machine": machine(), "repeat": repeat, "scale": scale, "results": {}}
    for name in names or list(BENCHMARKS):
        fn = BENCHMARKS[name]
        runs = []
        for i in range(repeat):
            if progress:
                progress(f"{name} run {i + 1}/{repeat}")
            runs.append(fn(scale))
        median = statistics.median(r["value"] for r in runs)
        report["results"][name] = {"median": median, "unit": runs[0]["unit"], "runs": runs}
    return report


def format_table(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [f"machine: {m['cpu']}, {m['cores']} cores, {m['implementation']} {m['python']}",
             f"{'benchmark':28} {'median':>14}  unit          (runs: {report['repeat']})"]
    for name, r in report["results"].items():
        lines.append(f"{name:28} {r['median']:>14,.2f}  {r['unit']}")
    return "\n".join(lines)


def bench_main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="tuxnet bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="workload size factor (0.1 for a quick look)")
    parser.add_argument("--json", help="write the full report here")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    report = run(args.names or None, args.repeat, args.scale,
                 progress=lambda s: print(f"  ... {s}", file=sys.stderr, flush=True))
    print(format_table(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0
