"""cwnd traces of Reno and CUBIC through a drop-tail bottleneck.

    a ==1 Gb/s, 1 ms== r --RATE, RTT/2 - 1 ms, pfifo of QUEUE packets--> b

One bulk flow a → b per congestion control; the sender's cwnd and ssthresh are sampled every
millisecond of virtual time (``tuxnet.trace.cwnd``) and written as ``cwnd_<cc>.csv`` and, when
matplotlib is installed (the ``plot`` extra), ``cwnd.png`` with both traces.  The traces show
slow start, the multiplicative decrease at each loss (Reno halves, CUBIC keeps 0.7) and the
growth between losses: linear for Reno, concave then convex around W_max for CUBIC.

Usage: ``python bench/cwnd_plot.py [--rate 100mbit] [--rtt 50] [--queue 100] [--duration 30]
[--out DIR] [--cc reno,cubic] [--flows 1]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.trace.cwnd import CwndTracer, decreases, find_connection, plot_png, write_csv
from tuxnet.user import libc
from tuxnet.world import World

PORT = 5001
IPPROTO_TCP = 6
TCP_CONGESTION = 13


def bottleneck(seed: int, rate: str, rtt_ms: float, queue: int, senders: int = 1) -> tuple[World, list, Any, Any]:
    """Senders s0..sN-1 on fast cables to router r, and r's slow cable to b with a short pfifo."""
    world = World(seed=seed)
    r = world.add_router("r")
    b = world.add_host("b")
    hosts = []
    for i in range(senders):
        h = world.add_host(f"s{i}")
        world.connect(h, r, rate="1gbit", delay="1ms", a_addr=f"10.0.{i + 1}.1/24", b_addr=f"10.0.{i + 1}.2/24")
        h.ip_route_add("10.9.0.0/24", via=f"10.0.{i + 1}.2")
        hosts.append(h)
    cable = world.connect(r, b, rate=rate, delay=f"{rtt_ms / 2 - 1}ms", a_addr="10.9.0.1/24", b_addr="10.9.0.2/24")
    b.ip_route_add("10.0.0.0/16", via="10.9.0.1")
    cable.a.qdisc.limit = queue
    return world, hosts, b, cable.a


def sink(port: int, counts: dict[int, list[tuple[int, int]]], world: World) -> None:
    """Accept connections and read each to EOF, logging (time, bytes) per connection."""
    lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.bind(lfd, ("0.0.0.0", port))
    libc.listen(lfd, 16)
    from tuxnet.kernel.sched import current

    host = current().host
    while True:
        fd, peer = libc.accept(lfd)
        log: list[tuple[int, int]] = []
        counts[peer[1]] = log
        host.spawn(_drain, fd, log, world, fds=[fd])
        libc.close(fd)


def _drain(fd: int, log: list[tuple[int, int]], world: World) -> None:
    total = 0
    while True:
        data = libc.recv(fd, 1 << 20)
        if not data:
            break
        total += len(data)
        log.append((world.now, total))
    libc.close(fd)


def bulk(cc: str, sport: int, stop: list[bool]) -> None:
    """Send as fast as the socket lets us until ``stop[0]``."""
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc)
    libc.bind(fd, ("0.0.0.0", sport))
    libc.connect(fd, ("10.9.0.2", PORT))
    block = bytes(1 << 20)
    while not stop[0]:
        libc.send(fd, block)
    libc.close(fd)


def run_trace(cc: str, rate: str = "100mbit", rtt_ms: float = 50, queue: int = 100, duration: float = 30,
              seed: int = 1) -> dict[str, Any]:
    """One flow for ``duration`` seconds; its samples and the bottleneck's drop count."""
    world, (a,), b, dev = bottleneck(seed, rate, rtt_ms, queue)
    counts: dict[int, list[tuple[int, int]]] = {}
    stop = [False]
    b.spawn(sink, PORT, counts, world)
    world.run_for(1_000_000)
    a.spawn(bulk, cc, 40000, stop)
    tracer = CwndTracer(world, lambda: find_connection(a, PORT)).start()
    world.run_for(int(duration * 1e9))
    tracer.stop()
    stop[0] = True
    return {"samples": tracer.samples, "drops": dev.qdisc.drops, "delivered": max(counts[40000])[1]}


def run_flows(ccs: list[str], rate: str = "100mbit", rtt_ms: float = 50, queue: int = 100, duration: float = 30,
              seed: int = 1, stagger: float = 1.0) -> dict[str, Any]:
    """One bulk flow per entry of ``ccs``, from its own sender, the i-th starting ``i * stagger``
    seconds after the first; each flow's (time, bytes delivered) log and cwnd samples."""
    world, senders, b, dev = bottleneck(seed, rate, rtt_ms, queue, len(ccs))
    counts: dict[int, list[tuple[int, int]]] = {}
    stop = [False]
    b.spawn(sink, PORT, counts, world)
    world.run_for(1_000_000)
    tracers = []
    for i, (h, cc) in enumerate(zip(senders, ccs, strict=True)):
        world.call_later(int(i * stagger * 1e9), h.spawn, bulk, cc, 40000 + i, stop)
        tracers.append(CwndTracer(world, lambda h=h: find_connection(h, PORT), 10_000_000).start())
    world.run_for(int(duration * 1e9))
    stop[0] = True
    return {"logs": [counts.get(40000 + i, []) for i in range(len(ccs))], "t0": world.now - int(duration * 1e9),
            "end": world.now, "samples": [t.samples for t in tracers], "drops": dev.qdisc.drops}


def delivered_between(log: list[tuple[int, int]], t0: int, t1: int) -> int:
    """Bytes a flow's reader got between virtual times ``t0`` and ``t1``."""
    before = max((n for t, n in log if t <= t0), default=0)
    upto = max((n for t, n in log if t <= t1), default=0)
    return upto - before


def jain(xs: list[float]) -> float:
    """Jain's fairness index: (sum x)^2 / (n sum x^2); 1 when all shares are equal."""
    return sum(xs) ** 2 / (len(xs) * sum(x * x for x in xs)) if any(xs) else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", default="100mbit")
    ap.add_argument("--rtt", type=float, default=50.0, help="ms")
    ap.add_argument("--queue", type=int, default=100, help="bottleneck pfifo limit, packets")
    ap.add_argument("--duration", type=float, default=30.0, help="virtual seconds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cc", default="reno,cubic")
    ap.add_argument("--out", default=".")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    traces = {}
    for cc in args.cc.split(","):
        wall = time.perf_counter()
        r = run_trace(cc, args.rate, args.rtt, args.queue, args.duration, args.seed)
        s = r["samples"]
        traces[cc] = s
        path = write_csv(s, out / f"cwnd_{cc}.csv")
        ratios = [ratio for _, ratio in decreases(s)]
        print(f"{cc:6} {path}: {len(s)} samples, peak cwnd {max(x.cwnd for x in s)}, "
              f"{len(ratios)} decreases (ssthresh/cwnd: {', '.join(f'{x:.2f}' for x in ratios[:8])}), "
              f"{r['drops']} bottleneck drops, {r['delivered'] * 8 / args.duration / 1e6:.1f} Mb/s, "
              f"wall {time.perf_counter() - wall:.1f}s")
    png = plot_png(traces, out / "cwnd.png", f"{args.rate}, RTT {args.rtt:g} ms, drop-tail queue {args.queue}")
    print(png if png else "matplotlib not installed (pip install tuxnet[plot]): CSV only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
