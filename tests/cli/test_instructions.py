"""bench/instructions.py: the instructions a unit of work takes, counted by Valgrind, are the same
from one measurement to the next (what makes them a figure to compare two versions of the code by,
where wall-clock time swings), and a plausible amount."""

from __future__ import annotations

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
    assert line.startswith("udp_request_response") and "instructions per request" in line, line
    here, base = [int(x.replace(",", "")) for x in line.split() if x.replace(",", "").isdigit()]
    # The same tree measured twice over (four runs under Valgrind): the same count to the instruction.
    assert here == base and line.endswith("1.000 of base")
    # A UDP round trip over lo: two sendto and two recvfrom, two packets down and up the stack.
    assert 100_000 < here < 2_000_000


def test_an_unknown_benchmark_is_refused() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "instructions.py"), "tap_ping_rtt"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no instruction count for tap_ping_rtt" in r.stderr
