"""bench/specialization.py: what CPython 3.11's specialising interpreter makes of a benchmark, per
unit of work, from the counts of an interpreter built with --enable-pystats
(bench/pystats-python.sh builds one)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = str(ROOT / "bench" / "specialization.py")
PYSTATS_PYTHON = os.environ.get("TUXNET_PYSTATS_PYTHON", "/var/tmp/tuxnet-pystats/bin/python3.11")


@pytest.mark.skipif(not os.access(PYSTATS_PYTHON, os.X_OK),
                    reason=f"no CPython built with --enable-pystats at {PYSTATS_PYTHON} (bash bench/pystats-python.sh)")
def test_a_udp_round_trip_is_counted_the_same_twice_and_mostly_specialised() -> None:
    outs = [subprocess.run([sys.executable, SCRIPT, "--python", PYSTATS_PYTHON, "udp_request_response"],
                           capture_output=True, text=True, timeout=300, check=True).stdout for _ in range(2)]
    # A deterministic simulation: the same bytecodes, specialised the same way, run after run.
    assert outs[0] == outs[1]
    head = re.match(r"udp_request_response: ([\d,]+) bytecodes per request; ([\d,]+) \(([\d.]+)%\) ran generic",
                    outs[0])
    assert head, outs[0]
    total, generic = (int(g.replace(",", "")) for g in head.groups()[:2])
    rows = {m[1]: (int(m[2].replace(",", "")), int(m[3].replace(",", "")))
            for m in re.finditer(r"^  ([A-Z_]+) +([\d,]+) +([\d,]+)$", outs[0], re.M)}
    assert 1_000 < total < 50_000 and 0 < generic < total // 5
    assert sum(g for g, _ in rows.values()) == pytest.approx(generic, abs=len(rows))
    # The stack's attribute reads are of __slots__ and instance fields: nearly all specialise.
    attr_generic, attr_special = rows["LOAD_ATTR"]
    assert attr_special > 20 * attr_generic
    # Checksums, header fields and sequence numbers are bit operations on ints, which 3.11 does
    # not specialise (only +, - and *): the largest generic family.
    assert max(rows, key=lambda f: rows[f][0]) == "BINARY_OP"


def test_without_the_interpreter_it_says_how_to_build_it(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, SCRIPT, "--python", str(tmp_path / "python3.11"), "hello_replyhi"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "bash bench/pystats-python.sh" in r.stderr


def test_an_unknown_benchmark_is_refused() -> None:
    r = subprocess.run([sys.executable, SCRIPT, "tap_ping_rtt"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no workload for tap_ping_rtt" in r.stderr
