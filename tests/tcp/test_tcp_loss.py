"""Reliability under a bad wire: bulk transfers over a 100 Mb/s, 50 ms RTT cable with seeded loss,
reordering, duplication and corruption arrive whole and in order (SHA-256), without a stall.

The default run moves a few megabytes per case; ``TUXNET_SLOW=1`` runs the issue's 100 MB cases
(bench/tcp_loss_goodput.py prints the goodput table for them)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

MB = 1_000_000
# At 20 % loss each way the RTO reaches its 120 s ceiling: RTT samples come from timestamps echoed
# for segments sent minutes before (the receiver's ts_recent stays put while a hole waits, RFC 7323
# section 4.3) and from SACKs of segments never resent that the lost ACKs reported late, and Linux
# takes both (tcp_ack_update_rtt).  (This machine's kernel, 300 KB over a veth at 20 % each way,
# had its RTO anywhere from 1.4 s to the 120 s ceiling, its srtt up to 4.3 s, from a 50 us path.)
# Seven lost round trips in a row at that RTO outlast tcp_retries2's default give-up time, 924.6 s
# (tcp_model_timeout(15, 200 ms)), as they would on Linux: 100 MB takes 7 hours of such a link,
# and seed 1 gave up after 18 MB once quick ACKs were counted as Linux 6.6 counts them.  An
# application on such a link raises the limit; the 20 % cases set tcp_retries2 to 20
# (bench.LONG_RETRIES), whose give-up time, tcp_model_timeout(20, 200 ms) = 1,524.6 s, bounds the
# longest wait.
TCP_RETRIES2_TIMEOUT_S = 1524.6


def _bench():
    path = Path(__file__).resolve().parents[2] / "bench" / "tcp_loss_goodput.py"
    spec = importlib.util.spec_from_file_location("tcp_loss_goodput", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


bench = _bench()

CASES = [
    ("loss 1%", {"loss": 0.01}, 3 * MB, 2.0),
    ("loss 5%", {"loss": 0.05}, 2 * MB, 5.0),
    ("loss 20%", {"loss": 0.20, "sysctls": bench.LONG_RETRIES}, MB // 2, TCP_RETRIES2_TIMEOUT_S),
    ("reorder 5%", {"reorder": 0.05}, 4 * MB, 1.0),
    ("duplicate 5%", {"duplicate": 0.05}, 4 * MB, 1.0),
    ("corrupt 5%", {"corrupt": 0.05}, 2 * MB, 5.0),
    ("all 1%", {"loss": 0.01, "reorder": 0.01, "duplicate": 0.01, "corrupt": 0.01}, 2 * MB, 2.0),
]


def check(result: dict, size: int, max_gap: float) -> None:
    assert result["done"] and result["error"] is None, result
    assert result["bytes"] == size
    assert result["intact"], "bytes arrived changed or out of order"
    # No stall: the reader never waited longer than the retransmission backoff allows.
    assert result["max_gap"] < max_gap, result


@pytest.mark.parametrize("name,impair,size,max_gap", CASES, ids=[c[0] for c in CASES])
def test_transfer_survives_bad_wire(name, impair, size, max_gap):
    result = bench.transfer(size, seed=1, **impair)
    check(result, size, max_gap)
    if impair.get("loss") or impair.get("corrupt"):
        assert result["retrans"] > 0


def test_goodput_falls_with_loss_rate():
    """The table's shape: goodput drops as loss rises, and near Mathis's sqrt(p) law at 1 %."""
    size = MB
    rates = {p: bench.transfer(size, seed=2, loss=p)["goodput_mbps"] for p in (0.0, 0.01, 0.05)}
    assert rates[0.0] > rates[0.01] > rates[0.05] > 0
    assert rates[0.0] > 15           # a 1 MB transfer is mostly slow start
    assert 0.3 * bench.mathis_mbps(0.01) < rates[0.01] < 5 * bench.mathis_mbps(0.01)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("TUXNET_SLOW"), reason="100 MB transfers: set TUXNET_SLOW=1")
@pytest.mark.parametrize("name,impair,size,max_gap", CASES, ids=[c[0] for c in CASES])
def test_hundred_megabytes_survive_bad_wire(name, impair, size, max_gap):
    result = bench.transfer(100 * MB, seed=1, **impair)
    check(result, 100 * MB, max_gap)
