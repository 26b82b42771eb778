"""netem (net/sched/sch_netem.py) set with tc: delay (with jitter, uniform or from the normal,
pareto, paretonormal or a host's own table), loss, duplication, corruption, reordering, a rate
and slots, each seen by the programs above as on a Linux host with the same qdisc; the tables as
iproute2 installs them; and tc's lines for it, as iproute2's q_netem.c prints them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from netlab import run

from tuxnet.net.sched.netem_dist import DIST_TABLES, NETEM_DIST_SCALE, normal_dist_table, pareto_dist_table
from tuxnet.net.socket import AF_INET, SOCK_DGRAM
from tuxnet.user import libc
from tuxnet.user.programs.iperf import iperf_main
from tuxnet.user.programs.ping import ping_main
from tuxnet.user.tc import TC_LIB_DIR, TcError, tc
from tuxnet.world import World

RTT = re.compile(r"time=([\d.]+) ms")


def pair(seed: int = 1):
    """a and b on a cable of 1 Gb/s and no delay, each knowing the other's address already (a
    ping before: ARP's frames would go through the qdisc too, and the first probes wait for them)."""
    world = World(seed=seed)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="1gbit", delay="0us", a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    run(world, a, ping_main, ["-c", "1", "-q", "10.0.0.2"])
    return world, a, b


def ping(world: World, host, *args: str) -> tuple[list[float], str]:
    """Ping from ``host``: the round trip times of the replies that are no duplicates, and the
    output since the last look."""
    before = len(host.output())
    run(world, host, ping_main, ["-i", "0.01", *args])
    out = host.output()[before:]
    return [float(t) for line in out.splitlines() if "DUP" not in line for t in RTT.findall(line)], out


def test_delay_on_lo_doubles_in_the_round_trip():
    """netem on lo delays the request and the reply: 50 ms each way."""
    world = World(seed=1)
    h = world.add_host("h")
    h.dev_open("lo")
    h.ip_addr_add("lo", "127.0.0.1/8")
    tc(h, "qdisc add dev lo root netem delay 50ms")
    assert tc(h, "qdisc show dev lo") == "qdisc netem 8001: root refcnt 2 limit 1000 delay 50ms\n"
    rtts, out = ping(world, h, "-c", "3", "127.0.0.1")
    assert rtts == [100.0, 100.0, 100.0], out


def test_jitter_spreads_the_delay_uniformly_or_normally():
    world, a, _ = pair()
    tc(a, "qdisc add dev eth0 root netem delay 10ms 4ms")
    rtts, _ = ping(world, a, "-c", "400", "10.0.0.2")
    assert len(rtts) == 400 and 6 <= min(rtts) < 6.2 and 13.8 < max(rtts) < 14.1
    assert 9.5 < sum(rtts) / len(rtts) < 10.5
    world, a, _ = pair()
    tc(a, "qdisc add dev eth0 root netem delay 10ms 2ms distribution normal")
    rtts, _ = ping(world, a, "-c", "400", "10.0.0.2")
    mean = sum(rtts) / len(rtts)
    sd = (sum((r - mean) ** 2 for r in rtts) / len(rtts)) ** 0.5
    assert 9.7 < mean < 10.3 and 1.7 < sd < 2.3, (mean, sd)
    # the table: the standard normal's quantiles, in 1/8192, the lowest -4 sigma (a short's least)
    table = normal_dist_table()
    assert table[len(table) // 2] == 0 and abs(table[int(0.8413 * len(table))] - NETEM_DIST_SCALE) < 10
    assert table[0] == -32768 and table == sorted(table)


def test_loss_duplicate_and_corrupt_come_at_their_rates():
    world, a, b = pair()
    tc(a, "qdisc add dev eth0 root netem loss 10%")
    rtts, out = ping(world, a, "-c", "1000", "10.0.0.2")
    lost = 1000 - len(rtts)
    assert 70 < lost < 130 and f" received, {lost / 10:g}% packet loss" in out
    assert f"dropped {lost}," in tc(a, "-s qdisc show dev eth0")
    world, a, b = pair()
    tc(a, "qdisc add dev eth0 root netem duplicate 10%")
    _, out = ping(world, a, "-c", "1000", "10.0.0.2")
    dups = int(re.search(r"\+(\d+) duplicates", out).group(1))
    assert 70 < dups < 130 and "1000 received" in out
    world, a, b = pair()
    tc(a, "qdisc add dev eth0 root netem corrupt 10%")
    rtts, out = ping(world, a, "-c", "1000", "10.0.0.2")
    # one bit flipped somewhere in the frame: the Ethernet header (another's address), the IP
    # header or the ICMP message, each caught on b by its own check
    caught = (b.mib.Ip["InHdrErrors"] + b.mib.Icmp["InCsumErrors"] + b.mib.Icmp["InErrors"]
              + b.dev("eth0").stats.rx_dropped + b.mib.Ip["InAddrErrors"])
    assert 70 < 1000 - len(rtts) < 130 and caught > 0, out


def test_reordering_sends_some_packets_at_once():
    """reorder 50% with a 20 ms delay: about half the probes go at once (round trip 0 ms) and the
    others wait; the qdisc counts the first as requeues."""
    world, a, _ = pair()
    tc(a, "qdisc add dev eth0 root netem delay 20ms reorder 50%")
    assert "reorder 50% gap 1" in tc(a, "qdisc show dev eth0")
    rtts, _ = ping(world, a, "-c", "200", "10.0.0.2")
    fast = sum(1 for r in rtts if r < 1)
    assert len(rtts) == 200 and 70 < fast < 130 and all(r < 1 or 19.9 < r < 20.2 for r in rtts)
    assert f"requeues {fast})" in tc(a, "-s qdisc show dev eth0")


def test_rate_adds_each_packets_time_on_the_line():
    """rate 1mbit: a 1,042-byte frame (ping -s 1000) takes 8.336 ms to leave, on top of the delay."""
    world, a, _ = pair()
    tc(a, "qdisc add dev eth0 root netem delay 1ms rate 1mbit")
    assert tc(a, "qdisc show dev eth0").endswith("limit 1000 delay 1ms rate 1Mbit\n")
    rtts, _ = ping(world, a, "-c", "3", "-s", "1000", "10.0.0.2")
    assert all(9.33 < r < 9.45 for r in rtts), rtts


def test_tcp_gets_through_loss_reordering_and_corruption_intact():
    """iperf across netem that loses, reorders, duplicates and corrupts: every byte arrives, TCP
    repairing; the corrupted segments are caught by their checksums (the damage is done after the
    checksum is complete, so that no driver vouches for the bytes)."""
    world, a, b = pair()
    tc(a, "qdisc add dev eth0 root netem delay 5ms reorder 10% loss 1% duplicate 1% corrupt 2%")
    server = b.spawn(iperf_main, ["-s", "-1"], name="iperf")
    run(world, a, iperf_main, ["-c", "10.0.0.2", "-n", "2M"])
    world.run_until(lambda: not server.alive, timeout=10**11)
    assert "2.00 MBytes" in b.output() and a.mib.Tcp["RetransSegs"] > 0
    assert b.mib.Tcp["InCsumErrors"] > 0


def test_tc_prints_netem_as_iproute2_and_refuses_what_it_cannot_make():
    world, a, _ = pair()
    tc(a, "qdisc add dev eth0 root netem limit 500 delay 100ms 10ms 25% loss 1% 30% duplicate 2% "
          "corrupt 0.1% reorder 25% 50% gap 5 rate 10mbit 20 100 -5")
    assert tc(a, "qdisc show dev eth0") == (
        "qdisc netem 8001: root refcnt 2 limit 500 delay 100ms  10ms 25% loss 1% 30% duplicate 2% reorder 25% 50% "
        "corrupt 0.1% rate 10Mbit packetoverhead 20 cellsize 100 celloverhead -5 gap 5\n")
    tc(a, "qdisc change dev eth0 root netem delay 1.5s loss random 0.5")
    assert tc(a, "qdisc show dev eth0") == "qdisc netem 8001: root refcnt 2 limit 1000 delay 1.5s loss 0.5%\n"
    for command, message in (("delay abc", 'Illegal "latency"'), ("loss 200%", 'Illegal "loss percent"'),
                             ("reorder 5%", "reordering not possible without specifying some delay"),
                             ("delay 1ms gap 3", "gap specified without reorder probability"),
                             ("delay 1ms distribution normal", "distribution specified but no latency and jitter"),
                             ("delay 1ms 1ms distribution experimental", "No distribution data for experimental"),
                             ("frob", 'What is "frob"?'), ("slot 2ms 1ms", 'Illegal "slot max_delay"'),
                             ("slot 1ms packets -1", "Error: negative slot limit.")):
        with pytest.raises(TcError, match=re.escape(message)):
            tc(a, f"qdisc replace dev eth0 root netem {command}")
    tc(a, "qdisc del dev eth0 root")
    assert tc(a, "qdisc show dev eth0").startswith("qdisc pfifo_fast 0: root")


def test_ecn_marks_what_it_would_lose_when_the_packet_can_take_it():
    """loss 50% ecn: datagrams sent ECT(0) arrive all, half of them CE (IpExt InCEPkts on the
    receiver, counted as dropped by the qdisc); a ping, not ECN-capable, loses half."""
    from tuxnet.net.ipv4.ip_sockglue import IP_TOS, SOL_IP
    from tuxnet.net.socket import AF_INET, SOCK_DGRAM
    from tuxnet.user import libc

    world, a, b = pair()
    tc(a, "qdisc add dev eth0 root netem loss 50% ecn")
    assert tc(a, "qdisc show dev eth0") == "qdisc netem 8001: root refcnt 2 limit 1000 loss 50% ecn \n"

    def send() -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.setsockopt(fd, SOL_IP, IP_TOS, 0x02)  # ECT(0)
        for _ in range(400):
            libc.sendto(fd, b"x", 0, ("10.0.0.2", 9))
            libc.sleep(0.001)

    run(world, a, send)
    marked = b.mib.IpExt["InCEPkts"]
    assert b.mib.IpExt["InECT0Pkts"] + marked == 400 and 160 < marked < 240
    assert f"dropped {marked}," in tc(a, "-s qdisc show dev eth0")
    rtts, _ = ping(world, a, "-c", "200", "10.0.0.2")
    assert 70 < 200 - len(rtts) < 130


def test_the_loss_models_lose_in_bursts():
    """A Gilbert-Elliott channel (to bad with 1 %, back with 10 %, all lost while bad) and a
    four-state one lose about what their chains say, in runs longer than a random loss gives."""
    def runs(command: str) -> int:
        """The probes of 3,000 that lost their request, which the qdisc counts as dropped."""
        world, a, _ = pair()
        tc(a, f"qdisc add dev eth0 root netem {command}")
        before = len(a.output())
        run(world, a, ping_main, ["-c", "3000", "-i", "0.001", "-q", "10.0.0.2"])
        lost = 3000 - int(re.search(r"(\d+) received", a.output()[before:])[1])
        assert f"dropped {lost}," in tc(a, "-s qdisc show dev eth0")
        return lost

    world, a, _ = pair()
    tc(a, "qdisc add dev eth0 root netem loss gemodel 1% 10%")
    assert tc(a, "qdisc show dev eth0").endswith("limit 1000 loss gemodel p 1% r 10% 1-h 100% 1-k 0%\n")
    tc(a, "qdisc change dev eth0 root netem loss gemodel 1% 10% 70% 0.1%")
    assert tc(a, "qdisc show dev eth0").endswith("limit 1000 loss gemodel p 1% r 10% 1-h 70% 1-k 0.1%\n")
    tc(a, "qdisc change dev eth0 root netem loss state 1% 30%")
    assert tc(a, "qdisc show dev eth0").endswith(
        "limit 1000 loss state p13 1% p31 30% p32 0% p23 100% p14 0%\n")
    lost = runs("loss gemodel 1% 10%")
    assert 3000 * 0.05 < lost < 3000 * 0.15  # the bad state's share: p / (p + r) = 9 %
    lost = runs("loss state 1% 30%")
    assert 3000 * 0.015 < lost < 3000 * 0.06  # bursts of 1/p31 = 3.3 from 1 % of the gap's packets


def test_a_burst_of_losses_is_a_burst():
    """The longest run of lost replies: several in a row under Gilbert-Elliott, one or two under
    random loss of the same rate."""
    def longest(command: str) -> int:
        world, a, _ = pair()
        tc(a, f"qdisc add dev eth0 root netem {command}")
        before = len(a.output())
        run(world, a, ping_main, ["-c", "2000", "-i", "0.001", "10.0.0.2"])
        seqs = [int(s) for s in re.findall(r"icmp_seq=(\d+)", a.output()[before:])]
        gaps = [b - a_ - 1 for a_, b in zip(seqs, seqs[1:], strict=False)]
        return max(gaps)

    assert longest("loss gemodel 1% 10%") >= 8 and longest("loss 9%") <= 4


@pytest.mark.parametrize("name", sorted(DIST_TABLES))
def test_the_tables_are_the_ones_iproute2_installs(name):
    """normal, pareto and paretonormal, computed as iproute2's netem/*.c compute them: equal to
    this machine's files, value for value."""
    path = Path(TC_LIB_DIR) / f"{name}.dist"
    if not path.exists():
        pytest.skip(f"this machine has no {path} (iproute2 is not installed here)")
    installed = [int(word) for line in path.read_text().splitlines() if not line.startswith("#")
                 for word in line.split()]
    assert DIST_TABLES[name]() == installed


def udp_times(world: World, a, b, count: int, size: int, pace: float = 0.0) -> tuple[list[int], list[int]]:
    """a sends ``count`` numbered datagrams of ``size`` bytes to b, ``pace`` seconds apart (all at
    once without); the times each was sent and arrived, in ns, by number."""
    sent: list[int] = []
    arrived = [0] * count

    def receive() -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(fd, ("0.0.0.0", 9))
        for _ in range(count):
            data, _ = libc.recvfrom(fd, 65536)
            arrived[int.from_bytes(data[:4], "big")] = world.now

    def send() -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        for i in range(count):
            sent.append(world.now)
            libc.sendto(fd, i.to_bytes(4, "big") + bytes(size - 4), 0, ("10.0.0.2", 9))
            if pace:
                libc.sleep(pace)

    receiver = b.spawn(receive, name="rx")
    world.run_for(1_000_000)
    run(world, a, send)
    world.run_until(lambda: not receiver.alive, timeout=10**11)
    return sent, arrived


def bursts(times: list[int]) -> list[tuple[int, int]]:
    """Arrival times grouped into bursts (less than 1 ms between one and the next): each
    burst's first time and size."""
    out: list[tuple[int, int]] = []
    last = None
    for t in sorted(times):
        if last is None or t - last >= 1_000_000:
            out.append((t, 0))
        out[-1] = (out[-1][0], out[-1][1] + 1)
        last = t
    return out


def test_slots_send_in_bursts_of_at_most_n_packets_or_bytes():
    """slot 10ms: 40 datagrams queued at once leave in slots, the first 10 ms after they came (the
    slot open when they came opened before their time, so a new one was drawn); ``packets 5`` lets
    5 go in each, and the next slot opens 10 ms after the fifth left, which the device took 4
    frames' time (33 us at 1 Gb/s) to take after the first; ``bytes 3000`` lets 1,042-byte frames
    go until it is used up, the last one overrunning it: 3 a slot."""
    world, a, b = pair()
    tc(a, "qdisc add dev eth0 root netem slot 10ms packets 5")
    assert tc(a, "qdisc show dev eth0").endswith("limit 1000 slot 10ms 10ms packets 5\n")
    sent, arrived = udp_times(world, a, b, 40, 1000)
    start = sent[0]
    got = bursts(arrived)
    assert [n for _, n in got] == [5] * 8
    assert 10.0 <= (got[0][0] - start) / 1e6 < 10.01
    assert all(10.033 <= (t2 - t1) / 1e6 < 10.04 for (t1, _), (t2, _) in zip(got, got[1:], strict=False))
    world, a, b = pair()
    tc(a, "qdisc add dev eth0 root netem slot 10ms bytes 3000")
    _, arrived = udp_times(world, a, b, 30, 1000)
    assert [n for _, n in bursts(arrived)] == [3] * 10


def test_slot_delays_lie_between_their_bounds():
    """slot 5ms 15ms packets 1: one datagram a slot, the slots uniformly 5 to 15 ms apart."""
    world, a, b = pair()
    tc(a, "qdisc add dev eth0 root netem slot 5ms 15ms packets 1")
    _, arrived = udp_times(world, a, b, 100, 100)
    times = sorted(arrived)
    gaps = [(t2 - t1) / 1e6 for t1, t2 in zip(times, times[1:], strict=False)]
    assert 5 <= min(gaps) < 5.5 and 14.5 < max(gaps) < 15
    assert 9.3 < sum(gaps) / len(gaps) < 10.7, sum(gaps) / len(gaps)


def test_a_slot_distribution_draws_the_slots_from_its_table():
    """slot distribution pareto 10ms 5ms packets 1: slots apart by 10 ms give or take 5 ms times
    the pareto table: never less than its least entry allows (10 - 5 * 5461/8192 = 6.67 ms),
    mostly below 10 ms (the median: 8.4 ms), a few far beyond."""
    world, a, b = pair()
    tc(a, "qdisc add dev eth0 root netem slot distribution pareto 10ms 5ms packets 1")
    _, arrived = udp_times(world, a, b, 200, 100)
    times = sorted(arrived)
    gaps = sorted((t2 - t1) / 1e6 for t1, t2 in zip(times, times[1:], strict=False))
    assert 6.66 <= gaps[0] < 7 and 7.9 < gaps[len(gaps) // 2] < 8.9 and gaps[-1] > 15, (gaps[0], gaps[-1])


def test_pareto_delays_follow_the_table():
    """delay 50ms 20ms distribution pareto: 2,000 datagrams' one-way delays have the table's
    quantiles (p of them at most 50 ms + 20 ms * entry p / 8192, to within 3 points); none is
    shorter than the least entry allows, 36.67 ms, the median is well below the mean (43.6 ms),
    and the tail is long (some beyond 2.5 sigma, 100 ms)."""
    world, a, b = pair()
    tc(a, "qdisc add dev eth0 root netem delay 50ms 20ms distribution pareto")
    sent, arrived = udp_times(world, a, b, 2000, 64, pace=0.001)
    delays = sorted((t2 - t1) / 1e6 for t1, t2 in zip(sent, arrived, strict=True))
    table = pareto_dist_table()
    for p in (0.05, 0.25, 0.5, 0.75, 0.9, 0.95):
        quantile = 50 + 20 * table[int(p * len(table))] / NETEM_DIST_SCALE
        share = sum(1 for d in delays if d <= quantile) / len(delays)
        assert abs(share - p) < 0.03, (p, quantile, share)
    assert delays[0] >= 50 - 20 * 5461 / 8192 and 43 < delays[len(delays) // 2] < 44.3 and delays[-1] > 100


def test_a_distribution_of_the_hosts_own_is_read_from_tcs_directory():
    """A table that is no iproute2 generator's (experimental.dist's measured delays, or one's
    own) is read from the host's file in tc's directory, as tc reads it (comments skipped,
    hexadecimal too), and tabledist draws from a table of any size: four entries, four delays."""
    world, a, _ = pair()
    with pytest.raises(TcError, match=re.escape(
            f"No distribution data for mine ({TC_LIB_DIR}/mine.dist: No such file or directory)")):
        tc(a, "qdisc add dev eth0 root netem delay 10ms 4ms distribution mine")
    # a line's numbers end at the first word that is none (get_distribution's strtol loop)
    a.files[f"{TC_LIB_DIR}mine.dist"] = "# four delays\n0 8192 x 99\n-8192 0x1000\n"
    tc(a, "qdisc add dev eth0 root netem delay 10ms 4ms distribution mine")
    assert a.devices["eth0"].qdisc.delay_dist == [0, 8192, -8192, 4096]
    rtts, _ = ping(world, a, "-c", "200", "10.0.0.2")
    assert {round(r) for r in rtts} == {6, 10, 12, 14}
