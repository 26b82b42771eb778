"""bench/instructions.py: the instructions a unit of work takes, counted by Valgrind, are the same
from one measurement to the next (what makes them a figure to compare two versions of the code by,
where wall-clock time swings), and a plausible amount."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed (apt-get install valgrind)")
def test_instruction_counts_repeat_exactly() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "instructions.py"), "udp_request_response",
                          "--base", str(ROOT)], capture_output=True, text=True, timeout=600, check=True)
    line = run.stdout.strip()
    m = re.fullmatch(r"udp_request_response +([\d,]+) instructions per request \((\d+)% copying; ([\d,]+) without\)"
                     r" +base +([\d,]+) +(\S+) of base, (\S+) without copies", line)
    assert m, line
    here, share, without, base = (int(g.replace(",", "")) for g in m.groups()[:4])
    # The same tree measured twice over (four runs under Valgrind): the same count to the instruction.
    assert here == base and m[5] == m[6] == "1.000"
    # A UDP round trip over lo: two sendto and two recvfrom, two packets down and up the stack;
    # its few hundred bytes are copied, but a copy costs little beside the interpreter's work.
    assert 100_000 < here < 2_000_000
    assert share < 10 and 0 < here - without < here // 10


def test_an_unknown_benchmark_is_refused() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "instructions.py"), "tap_ping_rtt"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no instruction count for tap_ping_rtt" in r.stderr
