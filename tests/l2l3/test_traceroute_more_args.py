"""traceroute's positional packet length (a C int as the options' numbers, at least the
headers' 28 octets, at most 65000), its extra arguments, ``--mtu``, ``-F``, ``-N``, ``-s`` (a
name resolved, a bind that fails after the header) and ``-i`` (SO_BINDTODEVICE), as traceroute
2.1.2 reads them.  The judge is this machine's traceroute against 127.0.0.1; ours runs on a
tuxnet host against its own loopback."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tuxnet.topology import add_router
from tuxnet.user.programs.traceroute import traceroute_main
from tuxnet.world import World

TIMES = re.compile(r"\d+\.\d{3} ms")


def ours(argv: list[str]) -> tuple[str, int | None]:
    world = World(seed=1)
    host = add_router(world, "h")
    proc = host.spawn(traceroute_main, ["-n", *argv], name="traceroute")
    world.run_until(lambda: not proc.alive, timeout=int(60e9))
    assert not proc.alive
    return TIMES.sub("T ms", host.output()), proc.result if proc.exit_code == 0 else proc.exit_code


def real(argv: list[str]) -> tuple[str, int]:
    res = subprocess.run(["traceroute", "-n", *argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return TIMES.sub("T ms", res.stdout.decode()), res.returncode


HOST = "127.0.0.1"
CASES = [[HOST, "1400"], [HOST, "10"], [HOST, "27"], [HOST, "28"], [HOST, "0"], [HOST, "0x100"], [HOST, "010"],
         [HOST, "70000"], [HOST, "65000"], [HOST, "65001"], [HOST, "-1"], [HOST, "abc"], [HOST, "1e3"], [HOST, ""],
         [HOST, "100", "5"], ["-I", HOST, "20"], ["-I", HOST, "1400"], ["-T", HOST, "30"], ["-T", HOST, "1400"],
         ["--mtu", HOST], ["--mtu", HOST, "2000"], ["--mtu", "-T", HOST], ["-F", HOST, "2000"], ["-F", HOST],
         ["--mt", HOST], ["--mtu=5", HOST], ["--foo=", HOST], ["-N", "1", HOST], ["-N", "0", HOST], ["-N", "-1", HOST],
         ["-N", "abc", HOST], ["-s", "127.0.0.2", HOST], ["-s", "10.9.9.9", HOST], ["-s", "abc.invalid", HOST],
         ["-I", "-s", "10.9.9.9", HOST], ["-T", "-s", "10.9.9.9", HOST], ["-i", "lo", HOST], ["-i", "nosuch0", HOST],
         ["-I", "-i", "nosuch0", HOST], ["-i", HOST],
         ["-f", "2", "-m", "1", HOST], ["-m", "1", "-f", "1", HOST], ["-nFm", "3", HOST, "100"]]


def test_ours_reads_the_length_as_traceroute_does() -> None:
    """Without the judge: the length's words, and its bounds."""
    assert ours([HOST, "1400"])[0].startswith("traceroute to 127.0.0.1 (127.0.0.1), 30 hops max, 1400 byte packets")
    assert ours([HOST, "10"])[0].startswith("traceroute to 127.0.0.1 (127.0.0.1), 30 hops max, 28 byte packets")
    assert ours(["-T", HOST, "1400"])[0].startswith("traceroute to 127.0.0.1 (127.0.0.1), 30 hops max, 60 byte")
    assert ours(["--mtu", HOST])[0].startswith("traceroute to 127.0.0.1 (127.0.0.1), 30 hops max, 65000 byte")
    assert ours([HOST, "70000"]) == ("too big packetlen 70000 specified\n", 2)
    assert ours([HOST, "abc"]) == ("Cannot handle \"packetlen\" cmdline arg `abc' on position 2 (argc 3)\n", 2)
    assert ours([HOST, "100", "5"]) == ("Extra arg `5' (position 3, argc 4)\n", 2)
    assert ours(["-s", "10.9.9.9", HOST])[0].endswith("bind: Cannot assign requested address\n")


@pytest.mark.skipif(shutil.which("traceroute") is None,
                    reason="needs this machine's traceroute (apt install traceroute)")
@pytest.mark.parametrize("argv", CASES, ids=[" ".join(c) or "none" for c in CASES])
def test_a_command_line_prints_what_traceroute_prints(argv: list[str]) -> None:
    assert ours(argv) == real(argv)
