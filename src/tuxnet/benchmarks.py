"""``tuxnet bench``: wall-clock benchmarks of the stack, each figure the median of several runs.

Every benchmark builds its own world, runs a workload in virtual time, and reports how much real
(wall-clock) time the simulation took: payload MB per wall second, exchanges per wall second,
and so on.  Ratios are computed from figures measured in the same run.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from tuxnet.net.core.sock import SO_RCVBUF, SOL_SOCKET
from tuxnet.net.socket import AF_INET, SOCK_DGRAM, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.programs.inetd import DISCARD_PORT, start_services
from tuxnet.world import World

# A benchmark's result: ``value`` in ``unit``, and whatever else it measured.  Those whose figure is
# a rate say how much they did in ``work`` (exchanges, requests, MB), so that bench/instructions.py
# can count the machine instructions a unit of it takes.
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


SPEED_CHECK_LOOPS = 1_000_000
SPEED_CHECK_LOOPS_JIT = 50_000_000


class _Counter:
    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


def _bump(c: _Counter, i: int) -> None:
    c.n += i & 7


def speed_check(loops: int = 0, tries: int = 5) -> float:
    """Milliseconds a fixed piece of pure Python takes (calls and attribute updates, as the stack's
    code is), the best of ``tries``.  Taken before and after the benchmarks, it says how fast the
    machine was running: on a shared virtual machine the same code can take half as long again
    from one hour to the next, and a figure is only comparable with one taken at the same speed.
    It is a reading of a moment (it can move by a third within seconds), not a correction.  PyPy's
    JIT runs the loop ~60 times as fast, so there it runs SPEED_CHECK_LOOPS_JIT times (readings
    compare within one interpreter, not across)."""
    loops = loops or (SPEED_CHECK_LOOPS_JIT if sys.implementation.name == "pypy" else SPEED_CHECK_LOOPS)
    best = float("inf")
    for _ in range(tries):
        c = _Counter()
        start = time.perf_counter()
        for i in range(loops):
            _bump(c, i)
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def lo_world(seed: int = 1, name: str = "bench") -> tuple[World, Any]:
    """A world of one host, ``name``, with lo up (127.0.0.1/8: all of 127.0.0.0/8 is local)."""
    world = World(seed=seed)
    host = world.add_host(name)
    host.dev_open("lo")
    host.ip_addr_add("lo", "127.0.0.1/8")
    return world, host


def _run_to_exit(world: World, procs: list[Any]) -> None:
    world.run_until(lambda: all(not p.alive for p in procs))


# -- loopback ------------------------------------------------------------------------------

def tcp_source(addr: str, port: int, payload: bytes, total: int) -> None:
    """Send ``total`` bytes, ``payload`` at a time (the last send takes what is left of it)."""
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.connect(fd, (addr, port))
    view = memoryview(payload)
    sent = 0
    while sent < total:
        sent += libc.send(fd, view[:total - sent])
    libc.close(fd)


def tcp_sink(addr: str, port: int, result: list[int], rcvbuf: int = 0) -> None:
    """A receiver like ``iperf -s``: accept one connection, read to EOF into one buffer it
    reuses (``recv_into``: the kernel's copy is the only one), count the bytes.  A ``rcvbuf`` is
    asked for with SO_RCVBUF on the listener, as ``iperf3 -s -w`` does."""
    lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
    if rcvbuf:
        libc.setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, rcvbuf)
    libc.bind(lfd, (addr, port))
    libc.listen(lfd, 1)
    fd, _ = libc.accept(lfd)
    buf = bytearray(1 << 20)
    n = 0
    while got := libc.recv_into(fd, buf):
        n += got
    libc.close(fd)
    libc.close(lfd)
    result.append(n)


# What the loopback sink asks for, as ``iperf3 -w 4M``; Linux grants twice net.core.rmem_max
# (416 KB).  Autotuning would grow the buffer on a real loopback, but it measures the receiver's
# round trip, and a simulated loopback transfer takes no virtual time.
LOOPBACK_SINK_RCVBUF = 4 << 20


def _loopback_bulk(scale: float, rcvbuf: int) -> Result:
    # 1 GB, about a second: long enough that connection set-up and the first growth of the
    # process's heap do not weigh in the figure (iperf measures for ten seconds)
    total = int(1024 * 1024 * 1024 * scale)
    payload = bytes(range(256)) * 4096
    world, host = lo_world()
    result: list[int] = []
    host.spawn(tcp_sink, "127.0.0.1", 5001, result, rcvbuf)
    start = time.perf_counter()
    host.spawn(tcp_source, "127.0.0.1", 5001, payload, total)
    world.run_until(lambda: bool(result))
    wall = time.perf_counter() - start
    received = result[0]
    assert received == total
    return {"value": received / wall / 1e6, "unit": "MB/s", "wall_s": wall, "virtual_s": world.now / 1e9,
            "work": received / 1e6}


@benchmark("loopback_bulk")
def bench_loopback_bulk(scale: float) -> Result:
    """One host, one TCP connection over ``lo``: payload MB per wall second (an iperf-like sink
    that counts what it reads, with ``iperf3 -w 4M``'s receive buffer)."""
    return _loopback_bulk(scale, LOOPBACK_SINK_RCVBUF)


@benchmark("loopback_bulk_rmem_default")
def bench_loopback_bulk_rmem_default(scale: float) -> Result:
    """The same with the default receive buffer (tcp_rmem[1], 128 KB), never autotuned here."""
    return _loopback_bulk(scale, 0)


# The receive interrupt moderation a 10 Gb/s NIC ships with (i40e's default is rx-usecs 50); it
# also ships with transmit checksumming and TCP segmentation offload on.
NIC_10G_RX_USECS = 50


def _cable_bulk(scale: float, rx_usecs: int, capture: list[str] | None = None) -> Result:
    """The cable transfer; with ``capture``, tcpdump with those arguments runs on the receiver
    throughout."""
    from tuxnet.user.ethtool import ethtool
    from tuxnet.user.programs.tcpdump import tcpdump_main

    total = int(50 * 1024 * 1024 * scale)
    payload = bytes(range(256)) * 4096
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="10gbit", delay="10us", mtu=1500, a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    for host in (a, b):
        ethtool(host, f"-C eth0 rx-usecs {rx_usecs}")
        ethtool(host, "-K eth0 tx on tso on")
    if capture is not None:
        b.spawn(tcpdump_main, capture)
        world.run_for(1000)
    result: list[int] = []
    b.spawn(tcp_sink, "10.0.0.2", 5001, result)
    start = time.perf_counter()
    a.spawn(tcp_source, "10.0.0.2", 5001, payload, total)
    world.run_until(lambda: bool(result))
    wall = time.perf_counter() - start
    received = result[0]
    assert received == total
    return {"value": received / wall / 1e6, "unit": "MB/s", "wall_s": wall, "virtual_s": world.now / 1e9,
            "virtual_MBps": received / (world.now / 1e9) / 1e6, "work": received / 1e6}


@benchmark("cable_bulk_10g")
def bench_cable_bulk(scale: float) -> Result:
    """Two hosts over a 10 Gb/s cable (MTU 1500, 10 us), NICs set as a 10 Gb/s NIC ships:
    interrupt moderation (so GRO merges what each interrupt brings), transmit checksumming and
    TSO (the NIC cuts the sender's GSO packets into frames): payload MB per wall second."""
    return _cable_bulk(scale, NIC_10G_RX_USECS)


@benchmark("cable_bulk_10g_no_moderation")
def bench_cable_bulk_no_moderation(scale: float) -> Result:
    """The same with rx-usecs 0: every frame interrupts and goes up the stack alone."""
    return _cable_bulk(scale, 0)


def build_scale_network(n: int, per_lan: int = 25, seed: int = 1) -> tuple[World, list[Any]]:
    """``n`` client hosts, ``per_lan`` to a switch and a /24, all behind one router whose last LAN
    holds a name server and a web server (the final project's servers)."""
    from tuxnet.user.etc import install_base_files
    from tuxnet.user.programs.dns import named
    from tuxnet.user.programs.final_project import EXAMPLE_ZONE, INDEX_HTML
    from tuxnet.user.programs.http import httpd

    world = World(seed=seed)
    router = world.add_router("gw")
    # The router has a neighbour entry for every client; Linux's default table holds 1024
    # (gc_thresh3), so an administrator raises the limits for a LAN this size.
    for name, value in (("gc_thresh1", n * 2), ("gc_thresh2", n * 4), ("gc_thresh3", n * 8)):
        router.sysctl.set(f"net.ipv4.neigh.default.{name}", max(value, 1024))
    servers = world.add_switch("swS")
    world.connect(router, servers, a_addr="10.0.3.1/24")
    ns1, www = world.add_host("ns1"), world.add_host("www")
    world.connect(ns1, servers, a_addr="10.0.3.53/24")
    world.connect(www, servers, a_addr="10.0.3.80/24")
    for srv in (ns1, www):
        srv.ip_route_add("default", via="10.0.3.1")
        install_base_files(srv)
    ns1.files["/etc/bind/db.example.com"] = EXAMPLE_ZONE
    www.files["/var/www/index.html"] = INDEX_HTML
    ns1.spawn(named, {"example.com.": "/etc/bind/db.example.com"}, name="named")
    www.spawn(httpd, "/var/www", name="httpd")
    clients = []
    for i in range(n):
        lan, idx = divmod(i, per_lan)
        if idx == 0:
            sw = world.add_switch(f"sw{lan}")
            world.connect(router, sw, a_addr=f"10.{100 + lan // 250}.{lan % 250}.1/24")
        h = world.add_host(f"h{i}")
        world.connect(h, sw, a_addr=f"10.{100 + lan // 250}.{lan % 250}.{idx + 2}/24")
        h.ip_route_add("default", via=f"10.{100 + lan // 250}.{lan % 250}.1")
        install_base_files(h, nameservers=["10.0.3.53"])
        clients.append(h)
    return world, clients


def _resolve_and_fetch(result: list[int], start_within: float) -> None:
    """After a random pause (users do not all press Enter in the same nanosecond), resolve and
    fetch; result[0] counts successful fetches, result[1] finished clients."""
    from tuxnet.kernel.sched import current
    from tuxnet.user.programs.http import http_request

    libc.sleep(current().host.rng.uniform(0, start_within))
    try:
        addr = libc.gethostbyname("www.example.com").h_addr_list[0]
        response = http_request(f"http://{addr}/")
        if response.status == 200:
            result[0] += 1
    finally:
        result[1] += 1


def reset_peak_rss() -> int | None:
    """Start the process's peak RSS (VmHWM, ``getrusage``'s ru_maxrss) again from its present size,
    so that it measures what comes next (writing 5 to /proc/self/clear_refs, Linux 4.0 and later).
    Returns that size in bytes, or None where the peak cannot be reset and stays the process's."""
    import resource

    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def scale_run(n: int) -> Result:
    """Build the network, then every client looks up www.example.com and fetches its page, the
    clients starting at random over n/200 virtual seconds (200 new users a second).  ``peak_MB``
    is the process's largest resident size during this run and ``rss_start_MB`` its size when the
    run began (``peak_scope`` "run"); where the peak cannot be reset it is the largest since the
    process started ("process")."""
    import gc
    import resource

    rss_start = reset_peak_rss()
    start = time.perf_counter()
    world, clients = build_scale_network(n)
    built = time.perf_counter() - start
    ok = [0, 0]
    for client in clients:
        client.spawn(_resolve_and_fetch, ok, n / 200)
    events0 = world.events_run
    world.run_until(lambda: ok[1] == n)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    events = world.events_run - events0
    virtual_s = world.now / 1e9
    closing = time.perf_counter()
    world.close()  # the servers never return: kill them so the next run starts from free memory
    del world, clients, client
    gc.collect()  # and free it now rather than during the next world's build
    closed = time.perf_counter() - closing
    assert ok[0] == n, f"only {ok[0]} of {n} fetches succeeded"
    return {"value": wall, "unit": "s wall", "hosts": n, "build_s": built, "events": events,
            "events_per_s": events / max(wall - built, 1e-9), "peak_MB": peak / 1e6,
            "rss_start_MB": None if rss_start is None else rss_start / 1e6,
            "peak_scope": "process" if rss_start is None else "run", "virtual_s": virtual_s, "close_s": closed,
            "work": n}


@benchmark("scale_dns_http")
def bench_scale(scale: float) -> Result:
    """N hosts behind a router each resolve a name and fetch a page; N from 10 up (the figure is
    the wall time of the largest N; every N's wall time, events/s and peak memory are kept)."""
    sizes = [n for n in (10, 100, 1000, 10000) if n <= max(10, int(10000 * scale))]
    runs = {n: scale_run(n) for n in sizes}
    largest = runs[sizes[-1]]
    return {"value": largest["value"], "unit": f"s wall for {sizes[-1]} hosts", "by_hosts": runs,
            "work": sum(sizes), "work_unit": "hosts"}


def hello_replyhi_run(n: int, watch: Callable[[World], contextlib.AbstractContextManager[Any]] | None = None) -> float:
    """``n`` of the course's exchanges over ``lo`` (``replyhi`` serving, ``hello`` in a loop);
    returns the wall seconds from the client's start until both programs have exited.  ``watch``
    makes what watches the world (a tracer, a counter): it is entered as the client starts and
    left when both are done."""
    from tuxnet.user.programs.hello import hello, replyhi

    world, host = lo_world()
    server = host.spawn(replyhi, count=n)

    def clients() -> None:
        for _ in range(n):
            hello()

    start = time.perf_counter()
    with watch(world) if watch else contextlib.nullcontext():
        client = host.spawn(clients)
        _run_to_exit(world, [server, client])
    return time.perf_counter() - start


@benchmark("hello_replyhi")
def bench_hello_replyhi(scale: float) -> Result:
    """The course's exchange (connect, hello, hi, close, TIME_WAIT) per wall second."""
    n = max(100, int(2000 * scale))
    wall = hello_replyhi_run(n)
    return {"value": n / wall, "unit": "exchanges/s", "wall_s": wall, "work": n}


# The course's two programs in C, as one process that forks replyhi and runs hello in a loop: what
# Linux itself does per exchange, with as little user-space work around the system calls as can be.
_LINUX_HELLO_REPLYHI_C = r"""
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int n = atoi(argv[1]), one = 1;
    char buf[64];
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(5001)};
    struct timespec t0, t1;

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(l, (struct sockaddr *)&addr, sizeof(addr)) || listen(l, 16)) {
        perror("replyhi");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t replyhi = fork();
    if (replyhi == 0) {
        for (int i = 0; i < n; i++) {
            int c = accept(l, NULL, NULL);
            recv(c, buf, sizeof(buf), 0);
            send(c, "hi", 2, 0);
            close(c);
        }
        _exit(0);
    }
    for (int i = 0; i < n; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&addr, sizeof(addr))) {
            perror("hello");
            return 1;
        }
        send(s, "hello", 5, 0);
        if (recv(s, buf, sizeof(buf), 0) != 2)
            return 1;
        close(s);
    }
    waitpid(replyhi, NULL, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%f\n", n / (t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9));
    return 0;
}
"""


@benchmark("linux_hello_replyhi")
def bench_linux_hello_replyhi(scale: float) -> Result:
    """The ceiling for ``hello_replyhi``: the same exchange by this machine's kernel, over ``lo`` in
    a namespace of its own, the programs in C (compiled with ``cc``)."""
    import shutil
    import subprocess

    from tuxnet.tapnet import Netns, netns_unavailable

    reason = netns_unavailable() or ("" if shutil.which("cc") else "no C compiler (cc) to build the programs")
    if reason:
        raise RuntimeError(reason)
    n = max(1000, int(20000 * scale))
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "hello_replyhi.c"), os.path.join(d, "hello_replyhi")
        with open(src, "w") as f:
            f.write(_LINUX_HELLO_REPLYHI_C)
        subprocess.run(["cc", "-O2", "-o", exe, src], check=True, capture_output=True)
        ns = Netns(f"tuxnet-hello-{os.getpid()}")
        try:
            rate = float(ns.run(exe, str(n), timeout=120).stdout)
        finally:
            ns.close()
    return {"value": rate, "unit": "exchanges/s"}


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
    return {"value": n / wall, "unit": "req/s", "wall_s": wall, "work": n}


@benchmark("tracer_overhead")
def bench_tracer(scale: float) -> Result:
    """hello/replyhi with the function tracer running, as a fraction of the untraced rate.
    (With tracing off no hook is installed at all.)"""
    from tuxnet.trace.ftrace import FunctionTracer

    n = max(50, int(300 * scale))
    rates = [n / hello_replyhi_run(n), n / hello_replyhi_run(n, FunctionTracer)]
    return {"value": rates[1] / rates[0], "unit": "x untraced", "untraced": rates[0], "traced": rates[1]}


@benchmark("capture_overhead")
def bench_capture(scale: float) -> Result:
    """cable_bulk_10g_no_moderation with ``tcpdump -n icmp`` on the receiver, as a fraction of
    the rate without it: libpcap's program runs in the kernel on each of the transfer's frames
    and passes none, so none is copied to the packet socket or wakes tcpdump."""
    plain = _cable_bulk(scale / 2, 0)["value"]
    captured = _cable_bulk(scale / 2, 0, ["-n", "-i", "eth0", "icmp"])["value"]
    return {"value": captured / plain, "unit": "x uncaptured", "uncaptured_MBps": plain, "captured_MBps": captured}


# -- running -------------------------------------------------------------------------------

# The figures the issue quotes for PyTCP 3.0.9 on this kind of machine, shown when PyTCP could not
# run beside tuxnet (it needs Python 3.14: see tuxnet.pytcp_peer).
PYTCP_QUOTED = {"tap_linux_to_tuxnet": "3.5 MB/s", "tap_tuxnet_to_linux": "0.035 MB/s", "tap_ping_rtt": "1.06 ms",
                "tap_tcp_rr": "508 req/s"}
# Each tuxnet-over-TAP benchmark and the PyTCP benchmark that does the same with PyTCP in tuxnet's
# place; "higher" says whether a larger figure is better.
SIDE_BY_SIDE = [("tap_linux_to_tuxnet", "pytcp_tap_linux_to_pytcp", True),
                ("tap_tuxnet_to_linux", "pytcp_tap_pytcp_to_linux", True),
                ("tap_ping_rtt", "pytcp_tap_ping_rtt", False),
                ("tap_tcp_rr", "pytcp_tap_tcp_rr", True)]
# Each tuxnet benchmark and its ceiling: the same work done by this machine's kernel.
CEILINGS = [("hello_replyhi", "linux_hello_replyhi", True),
            ("tap_linux_to_tuxnet_offload", "veth_linux_to_linux", True),
            ("tap_ping_rtt", "veth_ping_rtt", False),
            ("tap_ping_rtt_spaced", "veth_ping_rtt_spaced", False)]
# The targets for this kind of machine (2 cores, wall clock), which hold for the full
# workloads (``--scale 1``): a benchmark, whether its median must reach the bound (">=") or stay
# under it ("<"), and the bound in the benchmark's unit.  The scale benchmark's 10,000 hosts must
# also stay under 4 GB resident.
TARGETS: list[tuple[str, str, float]] = [("loopback_bulk", ">=", 1_000.0), ("cable_bulk_10g", ">=", 50.0),
                                         ("hello_replyhi", ">=", 5_000.0), ("scale_dns_http", "<", 60.0)]
SCALE_PEAK_TARGET_MB = 4_000.0
# The speed checks before and after a run that differ by more than this factor say the machine's
# speed changed while it ran (this machine's spells move it by a third and more).
SPEED_DRIFT = 1.2


def run(names: list[str] | None = None, repeat: int = 3, scale: float = 1.0,
        progress: Callable[[str], None] | None = None, warmup: int = 0) -> dict[str, Any]:
    """Run the benchmarks, ``repeat`` times each after ``warmup`` runs that are not counted (a JIT
    such as PyPy's compiles the hot path during its first runs); the figure is the median."""
    report: dict[str, Any] = {"machine": machine(), "repeat": repeat, "warmup": warmup, "scale": scale,
                              "results": {}}
    before = speed_check()
    for name in names or list(BENCHMARKS):
        fn = BENCHMARKS[name]
        runs = []
        try:
            for i in range(warmup + repeat):
                if progress:
                    progress(f"{name} warm-up {i + 1}/{warmup}" if i < warmup
                             else f"{name} run {i - warmup + 1}/{repeat}")
                result = fn(scale)
                if i >= warmup:
                    runs.append(result)
        except RuntimeError as e:
            report["results"][name] = {"median": None, "unit": "", "skipped": str(e)}
            continue
        except (AssertionError, KeyError, OSError, ValueError) as e:
            report["results"][name] = {"median": None, "unit": "", "skipped": f"failed: {e!r}", "runs": runs}
            continue
        median = statistics.median(r["value"] for r in runs)
        report["results"][name] = {"median": median, "unit": runs[0]["unit"], "runs": runs}
    report["machine"]["speed_check_ms"] = [before, speed_check()]
    report["targets"] = check_targets(report["results"], scale)
    return report


def check_targets(results: dict[str, Any], scale: float) -> dict[str, dict[str, Any]]:
    """Each target whose benchmark ran at full scale: its bound and whether the median met it
    (for the scale benchmark, also the peak memory of its largest size)."""
    if scale != 1.0:
        return {}
    checked = {}
    for name, op, bound in TARGETS:
        median = results.get(name, {}).get("median")
        if median is None:
            continue
        met = median >= bound if op == ">=" else median < bound
        target: dict[str, Any] = {"op": op, "bound": bound, "met": met}
        if name == "scale_dns_http":
            peak = max(run["by_hosts"][max(run["by_hosts"])]["peak_MB"] for run in results[name]["runs"])
            target.update(peak_MB=peak, peak_bound_MB=SCALE_PEAK_TARGET_MB, met=met and peak < SCALE_PEAK_TARGET_MB)
        checked[name] = target
    return checked


def format_table(report: dict[str, Any]) -> str:
    m = report["machine"]
    warmup = f", after {report['warmup']} warm-up" if report.get("warmup") else ""
    lines = [f"machine: {m['cpu']}, {m['cores']} cores, {m['implementation']} {m['python']}"]
    if "speed_check_ms" in m:
        before, after = m["speed_check_ms"]
        lines.append(f"speed check (a fixed pure-Python loop; more is slower): {before:.0f} ms before, "
                     f"{after:.0f} ms after")
        drift = max(before, after) / min(before, after)
        if drift > SPEED_DRIFT:
            lines.append(f"  the machine's speed changed by {100 * (drift - 1):.0f} % during the run: its figures "
                         "compare only with runs at the same speed")
    lines += [f"{'benchmark':28} {'median':>14}  unit          (runs: {report['repeat']}{warmup})"]
    for name, r in report["results"].items():
        if r["median"] is None:
            lines.append(f"{name:28} {'skipped':>14}  {r['skipped']}")
        else:
            digits = 3 if r["unit"] == "ms" or r["median"] < 1 else 2
            lines.append(f"{name:28} {r['median']:>14,.{digits}f}  {r['unit']}")
            lines.extend(_by_hosts(r["runs"]))
    lines.extend(against_linux(report["results"]))
    lines.extend(side_by_side(report["results"]))
    lines.extend(targets_lines(report["results"], report.get("targets", {})))
    return "\n".join(lines)


def targets_lines(results: dict[str, Any], targets: dict[str, dict[str, Any]]) -> list[str]:
    """The issue's targets that were checked, each with the median it was checked against."""
    if not targets:
        return []
    lines = ["the issue's targets (2 cores, wall clock, full workloads):"]
    for name, t in targets.items():
        unit = results[name]["unit"]
        text = f"{results[name]['median']:>10,.2f} {unit} {t['op']} {t['bound']:,.0f}"
        if "peak_MB" in t:
            text += f", peak RSS {t['peak_MB']:,.0f} MB < {t['peak_bound_MB']:,.0f} MB"
        lines.append(f"  {name:24} {text}: {'met' if t['met'] else 'missed'}")
    return lines


def _by_hosts(runs: list[Result]) -> list[str]:
    """The scale benchmark's lines for each N: medians of wall time, events per second and peak
    resident memory over the runs."""
    if "by_hosts" not in runs[0]:
        return []
    lines = []
    for n in runs[0]["by_hosts"]:
        each = [r["by_hosts"][n] for r in runs]
        wall, rate, peak = (statistics.median(e[key] for e in each) for key in ("value", "events_per_s", "peak_MB"))
        if each[0].get("peak_scope") == "run":
            start = statistics.median(e["rss_start_MB"] for e in each)
            memory = f"peak RSS {peak:,.0f} MB ({start:,.0f} MB when it started)"
        else:
            memory = f"peak RSS {peak:,.0f} MB (the process's)"
        lines.append(f"  {n:>6,} hosts {wall:>10,.2f} s wall, {rate:>8,.0f} events/s, {memory}")
    return lines


def _ratios(results: dict[str, Any], table: list[tuple[str, str, bool]]) -> list[tuple[str, float, float, str, float]]:
    """(name, tuxnet's median, the other's median, its unit, tuxnet's advantage) for each pair of
    ``table`` that ran: above 1, tuxnet is the faster."""
    out = []
    for t, other, higher in table:
        a, b = results.get(t, {}).get("median"), results.get(other, {}).get("median")
        if a and b:
            out.append((t, a, b, results[other]["unit"], a / b if higher else b / a))
    return out


def against_linux(results: dict[str, Any]) -> list[str]:
    """tuxnet's figures as a fraction of the kernel's for the same work, from the same run (1 would
    be as fast as Linux)."""
    rows = _ratios(results, CEILINGS)
    if not rows:
        return []
    return ["tuxnet against this machine's Linux doing the same, measured in this run:"] + [
        f"  {t:28} {a:>10,.3f}  Linux {b:>10,.3f} {unit:12} {ratio:.3f} of Linux" for t, a, b, unit, ratio in rows]


def side_by_side(results: dict[str, Any]) -> list[str]:
    """tuxnet against PyTCP, each ratio from figures of the same run (tuxnet's advantage: above 1
    means tuxnet is faster); the issue's quoted PyTCP figures when PyTCP did not run."""
    rows = _ratios(results, SIDE_BY_SIDE)
    if not rows:
        quoted = ", ".join(f"{k} {v}" for k, v in PYTCP_QUOTED.items())
        return [f"PyTCP 3.0.9, quoted by the issue (not run: see the pytcp_* rows): {quoted}"]
    return ["tuxnet against PyTCP 3.0.9, measured in this run:"] + [
        f"  {t:24} {a:>10,.3f}  PyTCP {b:>10,.3f} {unit:12} tuxnet {ratio:,.1f}x" for t, a, b, unit, ratio in rows]


def profile(name: str, scale: float, out: BinaryIO, top: int = 25) -> str:
    """Run one benchmark under cProfile; write the statistics to ``out`` (a file, closed then, in
    the format of ``Profile.dump_stats``) and return its figure
    and the ``top`` functions by their own time (cProfile slows Python calls several times over,
    so the figure is not comparable with an unprofiled run).  A small run first imports what the
    benchmark uses, so that compiling modules is not in the profile."""
    import cProfile
    import io
    import marshal
    import pstats

    BENCHMARKS[name](min(scale, 0.01))
    profiler = cProfile.Profile()
    result = profiler.runcall(BENCHMARKS[name], scale)
    profiler.create_stats()
    with out:
        marshal.dump(profiler.stats, out)
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
    return (f"{name}: {result['value']:,.2f} {result['unit']} under cProfile; statistics in {out.name}\n"
            f"{text.getvalue().strip()}")


def count_bytecodes(name: str, scale: float, top: int = 30) -> str:
    """Run one benchmark with every bytecode the interpreter executes counted against the function
    it belongs to (``sys.settrace`` with ``f_trace_opcodes``, CPython): the count per unit of the
    benchmark's work, by file and by function (each function's own bytecodes, not its callees').
    A deterministic simulation executes the same bytecodes every run, so on a machine whose speed
    wanders these compare two versions of the code where seconds cannot.  The run is tens of times
    slower than untraced: give it a small ``--scale``."""
    import collections

    BENCHMARKS[name](min(scale, 0.01))
    counts: collections.Counter[Any] = collections.Counter()

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if event == "opcode":
            counts[frame.f_code] += 1
        elif event == "call":
            frame.f_trace_opcodes = True
        return tracer

    sys.settrace(tracer)
    try:
        result = BENCHMARKS[name](scale)
    finally:
        sys.settrace(None)
    work = result.get("work") or 1
    unit = result.get("work_unit") or result["unit"].removesuffix("/s") if result.get("work") else "run"
    total = sum(counts.values())
    pkg = os.path.dirname(os.path.abspath(__file__)) + os.sep

    def where(code: Any) -> str:
        path = code.co_filename
        return path[len(pkg):] if path.startswith(pkg) else os.path.basename(path)

    by_file: collections.Counter[str] = collections.Counter()
    for code, n in counts.items():
        by_file[where(code)] += n
    lines = [f"{name}: {total / work:,.0f} bytecodes per unit of work ({total:,} bytecodes, {work:,} {unit})",
             "", "share    per unit  file"]
    lines += [f"{100 * n / total:5.1f}%  {n / work:10,.1f}  {f}" for f, n in by_file.most_common(top // 2)]
    lines += ["", "share    per unit  function (its own bytecodes, not its callees')"]
    lines += [f"{100 * n / total:5.1f}%  {n / work:10,.1f}  {code.co_name} ({where(code)}:{code.co_firstlineno})"
              for code, n in counts.most_common(top)]
    return "\n".join(lines)


def bench_main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="tuxnet bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=0,
                        help="runs of each benchmark before the counted ones, not counted (for PyPy's JIT)")
    parser.add_argument("--scale", type=float, default=1.0, help="workload size factor (0.1 for a quick look)")
    # (output files are opened before anything runs: a path that cannot be written is an error at
    # once, not after a run of many minutes)
    parser.add_argument("--json", type=argparse.FileType("w"), help="write the full report here")
    parser.add_argument("--profile", metavar="FILE", type=argparse.FileType("wb"),
                        help="run the one benchmark named once under cProfile: write its statistics to FILE "
                             "(for pstats or snakeviz) and print the functions that took the most time")
    parser.add_argument("--bytecodes", action="store_true",
                        help="run the one benchmark named once, counting the bytecodes each function "
                             "executes (deterministic, unlike time; tens of times slower: use --scale)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1 (a median needs a run)")
    if args.warmup < 0:
        parser.error("--warmup must be 0 or more")
    if not args.scale > 0:
        parser.error("--scale must be more than 0")
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    if args.profile or args.bytecodes:
        if len(args.names) != 1:
            parser.error(f"{'--profile' if args.profile else '--bytecodes'} takes exactly one benchmark")
        if args.profile:
            print(profile(args.names[0], args.scale, args.profile))
        else:
            print(count_bytecodes(args.names[0], args.scale))
        return 0
    report = run(args.names or None, args.repeat, args.scale,
                 progress=lambda s: print(f"  ... {s}", file=sys.stderr, flush=True), warmup=args.warmup)
    report["pytcp_quoted"] = PYTCP_QUOTED
    print(format_table(report))
    if args.json:
        with args.json as f:
            json.dump(report, f, indent=2)
    return 0


# -- over a TAP device, against the Linux kernel -------------------------------------------

_LINUX_SOURCE = """
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
with open(sys.argv[3], "rb") as f:
    s.sendfile(f)
s.close()
"""

_LINUX_SINK = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); print("listening", flush=True)
c, _ = s.accept(); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    n += len(b)
print(n, flush=True)
"""

_LINUX_RR_CLIENT = """
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
n = int(sys.argv[3]); t = time.perf_counter()
for _ in range(n):
    s.sendall(b"x"); s.recv(1)
print(n / (time.perf_counter() - t), flush=True)
"""


@contextlib.contextmanager
def _random_file(size: int) -> Iterator[str]:
    """A temporary file of ``size`` random bytes, for the Linux source's ``sendfile``."""
    with tempfile.NamedTemporaryFile() as f:
        f.write(os.urandom(size))
        f.flush()
        yield f.name


def _tap_pair(offload: bool, busy_poll_us: int = 0) -> Any:
    from tuxnet.tapnet import Netns, make_pair, netns_unavailable

    reason = netns_unavailable()
    if reason:
        raise RuntimeError(reason)
    ns = Netns(f"tuxnet-bench-{os.getpid()}")
    try:
        return make_pair(ns, offload=offload, busy_poll_us=busy_poll_us)
    except BaseException:
        ns.close()
        raise


def _close_pair(pair: Any) -> None:
    pair.close()
    pair.ns.close()


def _tap_throughput(scale: float, offload: bool, direction: str) -> Result:
    size = int(100 * 1024 * 1024 * scale)
    pair = _tap_pair(offload)
    try:
        if direction == "linux_to_tuxnet":
            stats = start_services(pair.host, ["discard"])
            with _random_file(size) as name:
                start = time.perf_counter()
                proc = pair.ns.popen("python3", "-c", _LINUX_SOURCE, pair.tux_ip, str(DISCARD_PORT), name)
                pair.run_until_exit(proc, timeout=300)
                pair.world.run_until(lambda: bool(stats.get("discarded")), timeout=int(30e9))
                wall = time.perf_counter() - start
            received = stats["discarded"][0]["bytes"]
        else:
            proc = pair.ns.popen("python3", "-c", _LINUX_SINK, pair.linux_ip, "5555")
            assert proc.stdout.readline().strip() == "listening"
            payload = os.urandom(1 << 20)
            start = time.perf_counter()
            pair.host.spawn(tcp_source, pair.linux_ip, 5555, payload, size)
            out, _ = pair.run_until_exit(proc, timeout=300)
            wall = time.perf_counter() - start
            received = int(out.split()[0])
        assert received >= size
        return {"value": received / wall / 1e6, "unit": "MB/s", "wall_s": wall}
    finally:
        _close_pair(pair)


@benchmark("tap_linux_to_tuxnet_offload")
def bench_tap_l2t_offload(scale: float) -> Result:
    """Linux sends to tuxnet's discard service over TAP with checksum and TSO offloads."""
    return _tap_throughput(scale, True, "linux_to_tuxnet")


@benchmark("tap_tuxnet_to_linux_offload")
def bench_tap_t2l_offload(scale: float) -> Result:
    """tuxnet sends to a Linux sink over TAP with offloads."""
    return _tap_throughput(scale, True, "tuxnet_to_linux")


@benchmark("tap_linux_to_tuxnet")
def bench_tap_l2t(scale: float) -> Result:
    """As above, without the virtio header: 1500-byte frames, full checksums."""
    return _tap_throughput(scale, False, "linux_to_tuxnet")


@benchmark("tap_tuxnet_to_linux")
def bench_tap_t2l(scale: float) -> Result:
    return _tap_throughput(scale, False, "tuxnet_to_linux")


PING_RTT = re.compile(r"= ([\d.]+)/([\d.]+)/([\d.]+)")
# Two ways to ping: adaptive (-A: the next request leaves as the reply arrives, so the figure is the
# stacks' latency) and spaced (-i 0.01: both sides sleep between requests, so the figure also holds
# the machine's wake-up latency from idle, large on a virtual machine).
PING_MODES = {"adaptive": ["-A"], "spaced": ["-i", "0.01"]}


def _ping_result(out: str) -> tuple[float, float, float]:
    m = PING_RTT.search(out)
    assert m, out
    return float(m.group(2)), float(m.group(1)), float(m.group(3))


def _tap_ping(scale: float, mode: str, busy_poll_us: int = 0) -> Result:
    count = max(10, int(200 * scale))
    pair = _tap_pair(True, busy_poll_us)
    try:
        # one ping first so that ARP is not in the figure
        pair.run_until_exit(pair.ns.popen("ping", "-c", "1", pair.tux_ip), timeout=10)
        proc = pair.ns.popen("ping", "-q", "-c", str(count), *PING_MODES[mode], pair.tux_ip)
        out, _ = pair.run_until_exit(proc, timeout=60)
        avg, lo, hi = _ping_result(out)
        return {"value": avg, "unit": "ms", "min_ms": lo, "max_ms": hi}
    finally:
        _close_pair(pair)


@benchmark("tap_ping_rtt")
def bench_tap_ping(scale: float) -> Result:
    """Linux ``ping -A`` to tuxnet over TAP: the average round-trip time."""
    return _tap_ping(scale, "adaptive")


@benchmark("tap_ping_rtt_spaced")
def bench_tap_ping_spaced(scale: float) -> Result:
    """Linux ``ping -i 0.01`` to tuxnet: the average round-trip time, wake-ups from idle included."""
    return _tap_ping(scale, "spaced")


@benchmark("tap_ping_rtt_spaced_busy_poll")
def bench_tap_ping_busy(scale: float) -> Result:
    """The same with tuxnet busy-polling the device for 20 ms before it sleeps (``--busy-poll``)."""
    return _tap_ping(scale, "spaced", 20000)


@benchmark("tap_tcp_rr")
def bench_tap_rr(scale: float) -> Result:
    """A Linux client and tuxnet's echo service exchange one byte at a time: round trips per second."""
    n = max(200, int(5000 * scale))
    pair = _tap_pair(True)
    try:
        start_services(pair.host, ["echo"])
        proc = pair.ns.popen("python3", "-c", _LINUX_RR_CLIENT, pair.tux_ip, "7", str(n))
        out, err = pair.run_until_exit(proc, timeout=120)
        return {"value": float(out.split()[0]), "unit": "req/s"}
    finally:
        _close_pair(pair)


def _veth_pair() -> tuple[Any, Any]:
    """Two namespaces joined by a veth pair, 10.251.0.1 and 10.251.0.2."""
    from tuxnet.tapnet import netns_pair, netns_unavailable

    reason = netns_unavailable()
    if reason:
        raise RuntimeError(reason)
    return netns_pair(f"tuxnet-veth-{os.getpid()}", "10.251.0.1/24", "10.251.0.2/24")


@benchmark("veth_linux_to_linux")
def bench_veth(scale: float) -> Result:
    """The ceiling: the same Python sender and sink, Linux to Linux over a veth pair."""
    size = int(100 * 1024 * 1024 * scale)
    a, b = _veth_pair()
    try:
        sink = b.popen("python3", "-c", _LINUX_SINK, "10.251.0.2", "5555")
        assert sink.stdout.readline().strip() == "listening"
        with _random_file(size) as name:
            start = time.perf_counter()
            a.run("python3", "-c", _LINUX_SOURCE, "10.251.0.2", "5555", name)
            out, _ = sink.communicate(timeout=120)
            wall = time.perf_counter() - start
        return {"value": int(out.split()[0]) / wall / 1e6, "unit": "MB/s", "wall_s": wall}
    finally:
        a.close()
        b.close()


def _veth_ping(scale: float, mode: str) -> Result:
    a, b = _veth_pair()
    try:
        a.run("ping", "-c", "1", "10.251.0.2")
        out = a.run("ping", "-q", "-c", str(max(10, int(200 * scale))), *PING_MODES[mode], "10.251.0.2").stdout
        avg, lo, hi = _ping_result(out)
        return {"value": avg, "unit": "ms", "min_ms": lo, "max_ms": hi}
    finally:
        a.close()
        b.close()


@benchmark("veth_ping_rtt")
def bench_veth_ping(scale: float) -> Result:
    """The ceiling for ``tap_ping_rtt``: Linux ``ping -A`` to Linux over a veth pair."""
    return _veth_ping(scale, "adaptive")


@benchmark("veth_ping_rtt_spaced")
def bench_veth_ping_spaced(scale: float) -> Result:
    """The ceiling for ``tap_ping_rtt_spaced``: Linux ``ping -i 0.01`` to Linux over veth."""
    return _veth_ping(scale, "spaced")


# -- PyTCP 3.0.9 over a TAP device, in tuxnet's place -------------------------------------

_SENDALL_SOURCE = """
import os, socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
total, chunk, sent = int(sys.argv[3]), os.urandom(1 << 20), 0
while sent < total:
    n = min(len(chunk), total - sent)
    s.sendall(chunk[:n])
    sent += n
s.close()
"""

_ECHO_SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); print("listening", flush=True)
c, _ = s.accept()
while True:
    b = c.recv(65536)
    if not b: break
    c.sendall(b)
"""


def _pytcp_peer() -> Any:
    from tuxnet.pytcp_peer import PyTcpPeer, pytcp_root, pytcp_unavailable

    reason = pytcp_unavailable()
    if reason:
        raise RuntimeError(reason)
    return PyTcpPeer(pytcp_root())


def _listening(proc: Any) -> None:
    line = proc.stdout.readline().strip()
    if line != "listening":
        proc.kill()
        raise OSError(f"the PyTCP-side server did not start: {line} {proc.communicate()[1][-500:]}")


@benchmark("pytcp_tap_linux_to_pytcp")
def bench_pytcp_l2p(scale: float) -> Result:
    """Linux sends to a PyTCP sink over TAP (1500-byte frames, as ``tap_linux_to_tuxnet``)."""
    from tuxnet.pytcp_peer import PYTCP_IP

    size = max(1 << 20, int(10 * 1024 * 1024 * scale))  # PyTCP takes in a few MB/s
    peer = _pytcp_peer()
    try:
        sink = peer.popen(_LINUX_SINK, PYTCP_IP, "5555")
        _listening(sink)
        with _random_file(size) as name:
            start = time.perf_counter()
            peer.ns.run("python3", "-c", _LINUX_SOURCE, PYTCP_IP, "5555", name, timeout=600)
            out, _ = sink.communicate(timeout=600)
            wall = time.perf_counter() - start
        received = int(out.split()[0])
        assert received == size, f"PyTCP's sink received {received} of {size} bytes"
        return {"value": received / wall / 1e6, "unit": "MB/s", "wall_s": wall}
    finally:
        peer.close()


@benchmark("pytcp_tap_pytcp_to_linux")
def bench_pytcp_p2l(scale: float) -> Result:
    """PyTCP sends to a Linux sink over TAP; the figure is what the sink received per wall second
    (``sent`` and ``received`` are both kept: PyTCP may lose the tail when it closes)."""
    from tuxnet.pytcp_peer import LINUX_IP

    size = max(256 * 1024, int(1024 * 1024 * scale))  # PyTCP sends at tens of KB/s
    peer = _pytcp_peer()
    try:
        sink = peer.ns.popen("python3", "-c", _LINUX_SINK, LINUX_IP, "5555")
        _listening(sink)
        start = time.perf_counter()
        source = peer.popen(_SENDALL_SOURCE, LINUX_IP, "5555", str(size))
        out, _ = sink.communicate(timeout=900)
        wall = time.perf_counter() - start
        source.communicate(timeout=60)
        received = int(out.split()[0])
        return {"value": received / wall / 1e6, "unit": "MB/s", "wall_s": wall, "sent": size,
                "received": received}
    finally:
        peer.close()


@benchmark("pytcp_tap_ping_rtt")
def bench_pytcp_ping(scale: float) -> Result:
    """Linux ``ping -A`` to PyTCP over TAP, as ``tap_ping_rtt``."""
    from tuxnet.pytcp_peer import PYTCP_IP

    peer = _pytcp_peer()
    try:
        out = peer.ns.run("ping", "-q", "-c", str(max(10, int(200 * scale))), "-A", PYTCP_IP).stdout
        avg, lo, hi = _ping_result(out)
        return {"value": avg, "unit": "ms", "min_ms": lo, "max_ms": hi}
    finally:
        peer.close()


@benchmark("pytcp_tap_tcp_rr")
def bench_pytcp_rr(scale: float) -> Result:
    """The Linux client of ``tap_tcp_rr`` against a PyTCP echo server."""
    from tuxnet.pytcp_peer import PYTCP_IP

    n = max(100, int(1000 * scale))
    peer = _pytcp_peer()
    try:
        echo = peer.popen(_ECHO_SERVER, PYTCP_IP, "7")
        _listening(echo)
        out = peer.ns.run("python3", "-c", _LINUX_RR_CLIENT, PYTCP_IP, "7", str(n), timeout=600).stdout
        echo.communicate(timeout=60)
        return {"value": float(out.split()[0]), "unit": "req/s"}
    finally:
        peer.close()
