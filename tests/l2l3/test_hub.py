"""CSMA/CD on a shared segment (IEEE 802.3 clause 4), and the same load on a switch."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import pytest
from netlab import capture, lan, run

from tuxnet.drivers.net.ether import IFG_BITS, bits_time, wire_time
from tuxnet.drivers.net.hub import ATTEMPT_LIMIT, JAM_BITS
from tuxnet.net.core.pktgen import Pktgen
from tuxnet.net.socket import AF_INET, SOCK_DGRAM
from tuxnet.user import libc
from tuxnet.world import NSEC_PER_USEC, World, msecs

RATE = 10_000_000


def _stations(n: int, seed: int = 1, delay: int = 1_000, switch: bool = False) -> tuple[World, object, list]:
    world = World(seed=seed)
    center = world.add_switch("sw0") if switch else world.add_hub("hub0", rate=RATE, delay=delay)
    devs = []
    for i in range(n):
        h = world.add_host(f"s{i + 1}")
        link = world.connect(h, center, rate=RATE) if switch else world.connect(h, center)
        devs.append(link.a)
    return world, center, devs


def _saturate(world: World, devs: list, size: int, duration: int) -> list[Pktgen]:
    gens = [Pktgen(d, devs[(i + 1) % len(devs)].dev_addr, pkt_size=size) for i, d in enumerate(devs)]
    for g in gens:
        g.start()
    world.run_for(duration)
    for g in gens:
        g.stop()
    return gens


def test_saturating_stations_collide_and_the_segment_carries_less_than_its_rate():
    world, hub, devs = _stations(8)
    _saturate(world, devs, 60, msecs(100))
    stats = [st.stats for st in hub.stations]
    collisions = sum(s.collisions for s in stats)
    assert collisions > 50
    assert sum(d.stats.collisions for d in devs) == collisions
    assert sum(s.excessive_collisions for s in stats) == sum(d.stats.tx_aborted_errors for d in devs)
    # The capture effect: the last winner restarts at backoff 0 while the losers' ranges grow.
    assert max(s.frames_ok for s in stats) > 0.9 * sum(s.frames_ok for s in stats)
    sent = sum(s.frames_ok for s in stats)
    line_max = msecs(100) // (wire_time(64, RATE) + bits_time(IFG_BITS, RATE))
    assert sent < line_max
    # A frame that went through reached its addressee: station i sends to station i+1.
    for i, d in enumerate(devs):
        assert devs[(i + 1) % 8].stats.rx_packets == d.stats.tx_packets


def _chi2(observed: list[int]) -> float:
    n = sum(observed)
    expected = n / len(observed)
    return sum((o - expected) ** 2 / expected for o in observed)


def test_backoff_is_uniform_over_0_to_2_to_the_min_k_10_minus_1_slots():
    world, hub, devs = _stations(32, seed=7)
    hub.backoff_log = []
    _saturate(world, devs, 60, msecs(600))
    by_k: dict[int, Counter] = {}
    for k, r in hub.backoff_log:
        by_k.setdefault(k, Counter())[r] += 1
    assert set(by_k) == set(range(1, ATTEMPT_LIMIT)), "collisions reached every attempt up to 15"
    for k, counts in by_k.items():
        assert min(counts) >= 0 and max(counts) < 2 ** min(k, 10), f"attempt {k} drew {max(counts)}"
    high = [r for k in range(10, ATTEMPT_LIMIT) for r in by_k[k].elements()]
    assert max(high) >= 512, "from the 10th attempt on the range is the full 0..1023"
    # Pearson's chi-square against the uniform distribution, at the 0.1 % level: each of the first
    # attempts on its own, and the later ones pooled on r / 2^min(k, 10) in ten bins.
    critical = {1: 10.83, 2: 16.27, 3: 24.32, 4: 37.70}
    for k, limit in critical.items():
        cells = 2 ** k
        observed = [by_k[k].get(r, 0) for r in range(cells)]
        assert sum(observed) >= 10 * cells, f"too few samples for attempt {k}"
        assert _chi2(observed) < limit, f"attempt {k}: chi-square {_chi2(observed):.1f}"
    bins = [0] * 10
    for k in range(5, ATTEMPT_LIMIT):
        for r, c in by_k[k].items():
            bins[r * 10 // 2 ** min(k, 10)] += c
    assert sum(bins) > 500 and _chi2(bins) < 27.88


class _AlwaysZero:
    """A generator that always draws 0 (and notes each range), so two stations collide forever."""

    def __init__(self) -> None:
        self.ranges: list[int] = []

    def randrange(self, n: int) -> int:
        self.ranges.append(n)
        return 0


def test_a_frame_is_dropped_after_16_attempts_and_counted():
    world, hub, devs = _stations(2)
    rng = hub.rng = _AlwaysZero()
    start = world.now
    gens = [Pktgen(d, devs[1 - i].dev_addr, count=1) for i, d in enumerate(devs)]
    for g in gens:
        g.start()
    world.run_for(msecs(10))
    for st in hub.stations:
        assert st.stats.collisions == ATTEMPT_LIMIT and st.stats.excessive_collisions == 1
        assert st.stats.frames_ok == 0
        assert st.dev.stats.tx_aborted_errors == 1 and st.dev.stats.tx_packets == 0
    assert [d.stats.rx_packets for d in devs] == [0, 0]
    # Each station drew a backoff after each of its first 15 collisions: range 2^min(k, 10).
    assert rng.ranges == [2 ** min(k, 10) for k in range(1, ATTEMPT_LIMIT) for _ in range(2)]
    # Each round: both start together, hear each other after the propagation delay, jam, wait the gap.
    cycle = hub.delay + bits_time(JAM_BITS, RATE) + bits_time(IFG_BITS, RATE)
    assert hub.stations[0].idle_since - start == ATTEMPT_LIMIT * cycle - bits_time(IFG_BITS, RATE)


def test_a_station_defers_to_a_frame_on_the_wire():
    world, hub, devs = _stations(2)
    Pktgen(devs[0], devs[1].dev_addr, pkt_size=1514, count=1).start()
    world.call_at(world.now + 100 * NSEC_PER_USEC, lambda: Pktgen(devs[1], devs[0].dev_addr, count=1).start())
    world.run_for(msecs(10))
    a, b = (st.stats for st in hub.stations)
    assert (a.deferred, b.deferred) == (0, 1)
    assert a.collisions == b.collisions == 0 and a.frames_ok == b.frames_ok == 1


def test_a_collision_after_the_first_slot_is_late():
    world, hub, devs = _stations(2, delay=40_000)  # out of spec: a round trip longer than the slot
    Pktgen(devs[0], devs[1].dev_addr, pkt_size=1514, count=1).start()
    world.call_at(world.now + 39 * NSEC_PER_USEC, lambda: Pktgen(devs[1], devs[0].dev_addr, count=1).start())
    world.run_for(msecs(20))
    first = hub.stations[0]
    assert first.stats.late_collisions == 1 and first.dev.stats.tx_window_errors == 1
    assert hub.stations[1].stats.late_collisions == 0


def test_the_same_load_on_a_switch_has_no_collisions():
    world, sw, devs = _stations(8, switch=True)
    _saturate(world, devs, 60, msecs(50))
    assert sum(d.stats.collisions for d in devs) == 0
    assert not any(d.stats.tx_aborted_errors for d in devs)
    per_link = msecs(50) // (wire_time(64, RATE) + bits_time(IFG_BITS, RATE))
    assert all(d.stats.tx_packets >= per_link - 2 for d in devs), "every station gets the whole line"


def test_a_hub_repeats_every_frame_to_every_station():
    world, (h1, h2, h3), hub = lan(3, hub=True, rate="10mbit")
    cap_quiet = capture(h3, "eth0", promisc=False)
    run(world, h1, lambda: libc.sendto(libc.socket(AF_INET, SOCK_DGRAM, 0), b"x", 0, ("10.0.0.2", 9)))
    world.run_for(msecs(10))
    unicast = [f for _, f, _ in cap_quiet.frames if f[:6] == h2.dev("eth0").dev_addr]
    assert unicast == [], "a NIC filters frames for others"
    cap_quiet.close()
    cap = capture(h3, "eth0")  # promiscuous, as tcpdump
    run(world, h1, lambda: libc.sendto(libc.socket(AF_INET, SOCK_DGRAM, 0), b"y", 0, ("10.0.0.2", 9)))
    world.run_for(msecs(10))
    seen = [f for _, f, _ in cap.frames if f[:6] == h2.dev("eth0").dev_addr and f[12:14] == b"\x08\x00"]
    assert len(seen) == 1, "the hub repeated h1's frame for h2 to h3 too"
    assert h3.mib.Ip["InReceives"] == 0, "and IP ignored it (PACKET_OTHERHOST)"


def _bench():
    path = Path(__file__).resolve().parents[2] / "bench" / "csmacd_efficiency.py"
    spec = importlib.util.spec_from_file_location("csmacd_efficiency", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_efficiency_table_falls_as_stations_are_added():
    bench = _bench()
    rows = bench.table([2, 8, 32], 60, 0.05, 10_000, 1)
    per_frame = [r["collisions"] / r["frames"] for r in rows]
    assert per_frame[0] < per_frame[1] < per_frame[2]
    assert rows[0]["utilisation"] > rows[1]["utilisation"] > rows[2]["utilisation"]
    assert all(r["utilisation"] < 0.762 for r in rows), "64-octet frames: preamble and gap cost 24 %"
    text = bench.format_rows(rows, 60)
    assert text.splitlines()[1].split() == ["N", "frames/s", "Mb/s", "util", "model", "coll/frame", "excessive"]
    assert bench.metcalfe_boggs(2, 60) == pytest.approx(0.5)


@pytest.mark.slow
def test_efficiency_table_for_2_to_32_stations(capsys):
    bench = _bench()
    assert bench.main(["--duration", "0.1", "--sizes", "60"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines[2:33]]
    assert [int(r[0]) for r in rows] == list(range(2, 33))
    assert float(rows[0][3]) > float(rows[-1][3])
    assert "0 collisions" in lines[33]


def test_the_same_seed_gives_the_same_collisions_and_pcap(tmp_path):
    def once(seed: int, name: str) -> tuple[bytes, list[int]]:
        world, hub, devs = _stations(4, seed=seed)
        host = devs[1].nd_net
        cap = capture(host, "eth0", tmp_path / name)
        _saturate(world, devs, 60, msecs(20))
        cap.close()
        return (tmp_path / name).read_bytes(), [st.stats.collisions for st in hub.stations]

    first = once(3, "a.pcap")
    assert first == once(3, "b.pcap")
    assert first != once(4, "c.pcap")
