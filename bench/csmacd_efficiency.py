"""CSMA/CD efficiency: N stations saturating one 10 Mb/s hub, N = 2..32.

Every station keeps its queue full (``Pktgen``) of frames to the next station.  For each N the
table shows what the segment carried (frame octets per second, as a share of the 10 Mb/s line),
collisions per delivered frame, frames dropped after 16 attempts, and the efficiency Metcalfe and
Boggs (1976) predicted, ``P / (P + C (1 - A) / A)`` with ``A = (1 - 1/N)^(N-1)``, ``P`` the frame
time and ``C`` the slot time.  A last row runs the same load through a switch (full-duplex cables):
no collisions, and each station gets its own 10 Mb/s.

Usage: ``python bench/csmacd_efficiency.py [--duration S] [--delay NS] [--seed N] [--min N] [--max N]``
"""

from __future__ import annotations

import argparse
import sys
import time

from tuxnet.drivers.net.ether import PREAMBLE_LEN
from tuxnet.drivers.net.hub import SLOT_BITS
from tuxnet.net.core.pktgen import Pktgen
from tuxnet.world import World

RATE = 10_000_000
FCS = 4
IFG = 12  # octets: 96 bit times


def metcalfe_boggs(n: int, frame_octets: int) -> float:
    """The 1976 model's efficiency for ``n`` always-ready stations."""
    a = (1 - 1 / n) ** (n - 1)
    p = (frame_octets + FCS) * 8
    return p / (p + SLOT_BITS * (1 - a) / a)


def measure(n: int, frame_octets: int, duration: float, delay: int, seed: int, switch: bool = False) -> dict:
    """Saturate a hub (or a switch) with ``n`` stations for ``duration`` seconds of virtual time."""
    world = World(seed=seed)
    center = world.add_switch("sw0") if switch else world.add_hub("hub0", rate=RATE, delay=delay)
    hosts = [world.add_host(f"s{i + 1}") for i in range(n)]
    if switch:
        devs = [world.connect(h, center, rate=RATE, delay=delay).a for h in hosts]
    else:
        devs = [world.connect(h, center).a for h in hosts]
    gens = [Pktgen(dev, devs[(i + 1) % n].dev_addr, pkt_size=frame_octets) for i, dev in enumerate(devs)]
    for g in gens:
        g.start()
    world.run_for(int(duration * 1e9))
    for g in gens:
        g.stop()
    frames = sum(d.stats.tx_packets for d in devs)
    octets = sum(d.stats.tx_bytes + FCS * d.stats.tx_packets for d in devs)
    return {
        "n": n, "frames": frames, "fps": frames / duration, "mbps": octets * 8 / duration / 1e6,
        "utilisation": octets * 8 / duration / RATE,
        "collisions": sum(d.stats.collisions for d in devs),
        "excessive": sum(d.stats.tx_aborted_errors for d in devs),
        # The model counts the frame against the contention; preamble and gap cost the same again.
        "model": metcalfe_boggs(n, frame_octets) * (frame_octets + FCS) / (frame_octets + FCS + PREAMBLE_LEN + IFG),
    }


def table(ns: list[int], frame_octets: int, duration: float, delay: int, seed: int) -> list[dict]:
    return [measure(n, frame_octets, duration, delay, seed) for n in ns]


def format_rows(rows: list[dict], frame_octets: int, switch_row: dict | None = None) -> str:
    out = [f"frames of {frame_octets} octets + FCS on a 10 Mb/s hub",
           f"{'N':>3} {'frames/s':>9} {'Mb/s':>6} {'util':>6} {'model':>6} {'coll/frame':>10} {'excessive':>9}"]
    for r in rows:
        per = r["collisions"] / r["frames"] if r["frames"] else 0.0
        out.append(f"{r['n']:>3} {r['fps']:>9.0f} {r['mbps']:>6.2f} {r['utilisation']:>6.3f} "
                   f"{r['model']:>6.3f} {per:>10.3f} {r['excessive']:>9}")
    if switch_row is not None:
        r = switch_row
        out.append(f"switch, N={r['n']}: {r['mbps']:.2f} Mb/s in all, {r['collisions']} collisions")
    return "\n".join(out) + "\n"



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=0.5, help="virtual seconds per point")
    parser.add_argument("--delay", type=int, default=10_000, help="one-way propagation on the hub, ns")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min", type=int, default=2)
    parser.add_argument("--max", type=int, default=32)
    parser.add_argument("--sizes", default="60,1514", help="frame sizes without FCS, comma separated")
    args = parser.parse_args(argv)
    ns = list(range(args.min, args.max + 1))
    t0 = time.monotonic()
    for size in (int(s) for s in args.sizes.split(",")):
        rows = table(ns, size, args.duration, args.delay, args.seed)
        sw = measure(args.max, size, args.duration, args.delay, args.seed, switch=True)
        sys.stdout.write(format_rows(rows, size, sw) + "\n")
    sys.stdout.write(f"({time.monotonic() - t0:.1f} s of wall time; util = frame octets / line rate, "
                     "at most 0.762 for 64-octet frames after preamble and gap)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
