"""TCP goodput against loss: one bulk transfer over a 100 Mb/s, 50 ms RTT cable per row, with
seeded loss, reordering, duplication or corruption on the wire (both directions).

Each row sends ``--size`` MB of random bytes from host a to a reader on host b, checks the
SHA-256 of what arrived, and reports the goodput, the retransmissions, and the longest time the
reader waited for new bytes (a stall would show there).  For loss rows the Mathis et al. (1997)
estimate ``MSS / RTT * sqrt(3/2) / sqrt(p)`` is shown next to the measurement.

Usage: ``python bench/tcp_loss_goodput.py [--size MB] [--seed N] [--cc cubic|reno]``
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import sys
import time
from typing import Any

from tuxnet.net.socket import AF_INET, SHUT_WR, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.world import World

PORT = 5001
RATE = "100mbit"
DELAY = "25ms"
RTT = 0.050
MSS = 1448
IPPROTO_TCP = 6
TCP_CONGESTION = 13

# At 20 % loss each way the RTO sits at its 120 s ceiling for long spells (RTT samples from old
# timestamps and late SACKs, as Linux takes them), and seven lost round trips in a row outlast
# tcp_retries2's default give-up time (924.6 s): that row raises it, as an application on such a
# link would (give-up time 1,524.6 s).
LONG_RETRIES = {"net.ipv4.tcp_retries2": "20"}
ROWS: list[tuple[str, dict[str, Any]]] = [
    ("clean", {}),
    ("loss 1%", {"loss": 0.01}),
    ("loss 5%", {"loss": 0.05}),
    ("loss 20%", {"loss": 0.20, "sysctls": LONG_RETRIES}),
    ("reorder 5%", {"reorder": 0.05}),
    ("duplicate 5%", {"duplicate": 0.05}),
    ("corrupt 5%", {"corrupt": 0.05}),
    ("all 1%", {"loss": 0.01, "reorder": 0.01, "duplicate": 0.01, "corrupt": 0.01}),
]


def transfer(size: int, seed: int = 1, cc: str = "cubic", sysctls: dict[str, str] | None = None,
             **impair: Any) -> dict[str, Any]:
    """Send ``size`` random bytes a → b over an impaired cable, both hosts with ``sysctls`` set;
    returns what the reader saw."""
    world = World(seed=seed)
    a, b = world.add_host("a"), world.add_host("b")
    for host in (a, b):
        for key, value in (sysctls or {}).items():
            host.sysctl.set(key, value)
    world.connect(a, b, rate=RATE, delay=DELAY, mtu=1500, a_addr="10.0.0.1/24", b_addr="10.0.0.2/24", **impair)
    payload = random.Random(seed).randbytes(size)
    seen: dict[str, Any] = {"bytes": 0, "max_gap": 0, "error": None}

    def reader() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("10.0.0.2", PORT))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        digest = hashlib.sha256()
        last = world.now
        while True:
            data = libc.recv(fd, 1 << 20)
            if not data:
                break
            seen["max_gap"] = max(seen["max_gap"], world.now - last)
            last = world.now
            digest.update(data)
            seen["bytes"] += len(data)
        seen["sha256"] = digest.hexdigest()
        seen["end"] = world.now
        libc.close(fd)

    def writer() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc)
        try:
            libc.connect(fd, ("10.0.0.2", PORT))
            seen["start"] = world.now
            view = memoryview(payload)
            sent = 0
            while sent < size:
                sent += libc.send(fd, view[sent:sent + (1 << 20)])
            # Wait for the reader's EOF rather than close at once: a closed socket with data in
            # flight is an orphan, and gives up after tcp_orphan_retries, not tcp_retries2.
            libc.shutdown(fd, SHUT_WR)
            while libc.recv(fd, 4096):
                pass
            libc.close(fd)
        except OSError as e:
            seen["error"] = e.errno

    rproc = b.spawn(reader)
    world.run_for(1_000_000)
    wproc = a.spawn(writer)
    wall = time.perf_counter()
    world.run_until(lambda: not (rproc.alive or wproc.alive) or seen["error"] is not None,
                    timeout=100_000 * 1_000_000_000)
    wall = time.perf_counter() - wall
    done = not rproc.alive and not wproc.alive
    seconds = (seen["end"] - seen["start"]) / 1e9 if done else float("nan")
    return {"done": done, "error": seen["error"], "bytes": seen["bytes"],
            "intact": done and seen["sha256"] == hashlib.sha256(payload).hexdigest(),
            "seconds": seconds, "goodput_mbps": size * 8 / seconds / 1e6 if done else 0.0,
            "retrans": a.mib.Tcp["RetransSegs"], "timeouts": a.mib.TcpExt["TCPTimeouts"],
            "max_gap": seen["max_gap"] / 1e9, "wall": wall}


def mathis_mbps(p: float) -> float:
    """Mathis et al.: the steady-state Reno throughput for loss probability ``p``."""
    return MSS * 8 / RTT * math.sqrt(1.5) / math.sqrt(p) / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=float, default=100.0, help="megabytes per row (default 100)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cc", default="cubic", choices=["cubic", "reno"])
    args = ap.parse_args(argv)
    size = int(args.size * 1_000_000)
    print(f"{args.size:g} MB a -> b, {RATE}, RTT {RTT * 1000:.0f} ms, {args.cc}, seed {args.seed}")
    print(f"{'wire':<14}{'intact':>7}{'time s':>10}{'goodput Mb/s':>14}{'Mathis Mb/s':>13}"
          f"{'retrans':>9}{'RTOs':>6}{'max gap s':>11}{'wall s':>8}")
    ok = True
    for name, impair in ROWS:
        r = transfer(size, args.seed, args.cc, **impair)
        ok &= r["intact"]
        model = f"{min(mathis_mbps(impair['loss']), 100):.2f}" if set(impair) - {"sysctls"} == {"loss"} else "-"
        print(f"{name:<14}{'yes' if r['intact'] else 'NO':>7}{r['seconds']:>10.1f}{r['goodput_mbps']:>14.2f}"
              f"{model:>13}{r['retrans']:>9}{r['timeouts']:>6}{r['max_gap']:>11.2f}{r['wall']:>8.1f}")
        sys.stdout.flush()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
