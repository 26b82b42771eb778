"""CUBIC and BBR through the same bottleneck: what each does to the queue.

    a 10.0.1.1 --1 Gb/s, 1 ms-- r ==10 Mb/s, 9 ms, a 100-packet queue== b 10.0.2.2

a sends to b as fast as TCP lets it, first with CUBIC (Linux's default), then with BBR
(``net.ipv4.tcp_congestion_control = bbr``).  CUBIC grows its window until the router's queue
overflows, so its round trip grows from 20 ms to the queue's 120 ms and packets are dropped; BBR
measures the bottleneck's rate and the round trip's minimum and sends at that rate, with about
one bandwidth-delay product in flight, so the queue stays short and so does the round trip.

    python examples/bbr_vs_cubic.py          # 4 s of each
    python examples/bbr_vs_cubic.py 12       # long enough for BBR's PROBE_RTT, at 10 s

Every half second it prints the sender's cwnd, smoothed RTT and what waits in the router's
queue; then ``ss -ti``'s line for the connection, the router's ``tc -s qdisc`` and a summary.
"""

from __future__ import annotations

import statistics
import sys
from typing import Any, TextIO

from tuxnet.benchmarks import tcp_sink, tcp_source
from tuxnet.user.ss import format_ss
from tuxnet.user.ssfilter import SS_CONN
from tuxnet.user.tc import tc
from tuxnet.world import World

MS = 1_000_000
SERVER = "10.0.2.2"


def flow(cc: str, seconds: float, out: TextIO) -> dict[str, Any]:
    """Run one transfer with congestion control ``cc``; print as it goes, return the summary."""
    world = World(seed=1)
    a, b, r = world.add_host("a"), world.add_host("b"), world.add_router("r")
    world.connect(a, r, rate="1gbit", delay="1ms", a_addr="10.0.1.1/24", b_addr="10.0.1.254/24")
    world.connect(r, b, rate="10mbit", delay="9ms", a_addr="10.0.2.254/24", b_addr=f"{SERVER}/24")
    tc(r, "qdisc replace dev eth1 root pfifo limit 100")  # the router's queue towards b
    queue = r.devices["eth1"].qdisc
    a.ip_route_add("0.0.0.0/0", via="10.0.1.254")
    b.ip_route_add("0.0.0.0/0", via="10.0.2.254")
    a.sysctl.set("net.ipv4.tcp_congestion_control", cc)
    b.spawn(tcp_sink, SERVER, 5001, [])
    a.spawn(tcp_source, SERVER, 5001, bytes(1 << 16), 1 << 40)  # more than it can send
    print(f"--- {cc}", file=out)
    print(f"{'time':>6} {'cwnd':>5} {'srtt ms':>8} {'queue':>6}", file=out)
    rtts, queued = [], []
    steps = int(seconds * 1000 / 50)
    for i in range(1, steps + 1):
        world.run_for(50 * MS)
        sk = next(s for s in a.tcp_hashinfo.ehash.values() if getattr(s, "inet_dport", 0) == 5001)
        rtts.append((sk.srtt_us >> 3) / 1000)
        queued.append(len(queue.q))
        if i % 10 == 0:
            print(f"{world.now / 1e9:>5.1f}s {sk.snd_cwnd:>5} {rtts[-1]:>8.1f} {queued[-1]:>6}", file=out)
    done: list[str] = []
    a.spawn(lambda: done.append(format_ss(a, info=True, states=SS_CONN)))
    world.run_for(1 * MS)
    print(done[0].splitlines()[-1].strip(), file=out)
    print("r# tc -s qdisc show dev eth1", file=out)
    print(tc(r, "-s qdisc show dev eth1"), end="", file=out)
    later = slice(len(rtts) // 4, None)  # after the start-up
    summary = {"cc": cc, "goodput_mbps": sk.bytes_acked * 8 / world.now * 1000, "drops": queue.drops,
               "median_rtt_ms": statistics.median(rtts[later]), "median_queue": statistics.median(queued[later])}
    print(f"{cc}: {summary['goodput_mbps']:.2f} Mb/s, median RTT {summary['median_rtt_ms']:.1f} ms, "
          f"median queue {summary['median_queue']:.0f} packets, {summary['drops']} dropped", file=out)
    return summary


def main(seconds: float = 4.0, out: TextIO = sys.stdout) -> int:
    cubic, bbr = flow("cubic", seconds, out), flow("bbr", seconds, out)
    print(f"BBR's median RTT is {cubic['median_rtt_ms'] / bbr['median_rtt_ms']:.1f} times shorter than CUBIC's",
          file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]) if len(sys.argv) > 1 else 4.0))
