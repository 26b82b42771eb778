"""traceroute's command line as traceroute 2.1's CLIF reads it: one-letter options, several to a
word, an argument in the rest of the word or the next; numbers by ``strtol`` in base 0 (0x
hexadecimal, 0 octal) kept as a C int, ``-w``'s ``MAX,HERE,NEAR`` by ``strtod``; then its checks
of the hops, probes and waits.  The judge is this machine's traceroute, run with the same options
against 127.0.0.1; ours runs on a tuxnet host against its own loopback."""

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
    proc = host.spawn(traceroute_main, [*argv, "-n", "127.0.0.1"], name="traceroute")
    world.run_until(lambda: not proc.alive, timeout=int(60e9))
    assert not proc.alive
    return TIMES.sub("T ms", host.output()), proc.result if proc.exit_code == 0 else proc.exit_code


def real(argv: list[str]) -> tuple[str, int]:
    res = subprocess.run(["traceroute", *argv, "-n", "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=60)
    return TIMES.sub("T ms", res.stdout.decode()), res.returncode


CASES = [["-m", "abc"], ["-m", "0"], ["-m", "300"], ["-m", "99999999999"], ["-m", " 5"], ["-m", "5x"], ["-m", "1_0"],
         ["-m", "0x5"], ["-m", "010"], ["-m", "²"], ["-m", ""], ["-mabc"], ["-m5"], ["-n", "-m", "abc"],
         ["-nm", "abc"], ["-q", "1", "-m", "x"], ["-q", "0"], ["-q", "11"], ["-q", " 2"], ["-f", "0"], ["-f", "40"],
         ["-f", "1e2"], ["-w", "abc"], ["-w", "-1"], ["-w", "1x"], ["-w", "0x1"], ["-w", "1,2,3"], ["-w", "1,-2"],
         ["-w", "5,abc"], ["-w", ""], ["-w", "1,2,3,4"], ["-w", ","], ["-w", "inf"], ["-w", "1e1"], ["-p", "abc"],
         ["-p", "-1"], ["-p", "99999999999"], ["-T", "-p", "-1"], ["-I", "-q", "1"], ["-Z"], ["--foo"], []]


def test_ours_refuses_as_traceroute_does() -> None:
    """Without the judge: each kind of refusal, and its status."""
    assert ours(["-m", "0x5"])[0].startswith("traceroute to 127.0.0.1 (127.0.0.1), 5 hops max")
    assert ours(["-nm", "abc"]) == ("Cannot handle `-m' option with arg `abc' (argc 2)\n", 2)
    assert ours(["-m", "300"]) == ("max hops cannot be more than 255\n", 2)
    assert ours(["-q", "11"]) == ("no more than 10 probes per hop\n", 2)
    assert ours(["-w", "1,-2"]) == ("bad wait specifications `1,-2,0' used\n", 2)
    assert ours(["-f", "40"]) == ("first hop out of range\n", 2)
    assert ours(["-Z"]) == ("Bad option `-Z' (argc 1)\n", 2)


@pytest.mark.skipif(shutil.which("traceroute") is None,
                    reason="needs this machine's traceroute (apt install traceroute)")
@pytest.mark.parametrize("argv", CASES, ids=[" ".join(c) or "none" for c in CASES])
def test_a_command_line_prints_what_traceroute_prints(argv: list[str]) -> None:
    assert ours(argv) == real(argv)
