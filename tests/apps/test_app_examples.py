"""The final-project example runs as documented: dns then http succeed, with the trace between."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "final_project.py"


def test_final_project_example(capsys: pytest.CaptureFixture[str]) -> None:
    module = runpy.run_path(str(EXAMPLE))
    assert module["main"]() == 0
    out = capsys.readouterr().out
    assert "web.example.com has address 10.0.3.80" in out
    assert out.index("udp_sendmsg() {") < out.index("arp_solicit() {") < out.index("arp_process() {")
    assert "HTTP/1.1 200 OK\n<html><head><title>MenuOS final project</title>" in out
    assert out.endswith("MenuOS>>quit\nquit - Quit from MenuOS\n")


def test_pmtu_blackhole_example() -> None:
    import io

    module = runpy.run_path(str(EXAMPLE.with_name("pmtu_blackhole.py")))
    out = io.StringIO()
    assert module["main"](1, out) == 0
    lines = out.getvalue().splitlines()
    sizes = [int(line.rsplit("length ", 1)[1]) for line in lines if "length " in line]
    assert sizes[:3] == [1448, 1024, 512]  # black hole detection, then the floor halved
    assert "mss:941 pmtu:1500" in out.getvalue()  # the search ends 7 bytes short of the 1000 path
    assert lines[-1].startswith("262144 bytes delivered in ")
    out = io.StringIO()
    assert module["main"](0, out) == 1
    assert out.getvalue().endswith("after 60.0 s: stalled, nothing delivered\n")


def test_bbr_vs_cubic_example() -> None:
    """CUBIC fills the router's 100-packet queue and drops (in its 4 s: HyStart ends its slow start
    before the queue overflows, congestion avoidance fills it after 2 s); BBR keeps it to a few
    packets and its round trip near the path's 20 ms, at about the same goodput."""
    import io

    module = runpy.run_path(str(EXAMPLE.with_name("bbr_vs_cubic.py")))
    out = io.StringIO()
    cubic, bbr = module["flow"]("cubic", 4.0, out), module["flow"]("bbr", 2.0, out)
    assert cubic["median_queue"] > 50 and cubic["median_rtt_ms"] > 80 and cubic["drops"] > 0
    assert bbr["median_queue"] < 12 and bbr["median_rtt_ms"] < 35 and bbr["drops"] == 0
    assert bbr["goodput_mbps"] > 0.9 * 9.41
    assert " bbr:(bw:" in out.getvalue() and out.getvalue().count(" delivery_rate ") == 2


def test_tx_timestamps_example() -> None:
    """Ten sends offered at twice the shaper's rate: the wait in the socket grows by about 11 ms a
    send, the wait in the tbf stays under 10 ms (TCP Small Queues), and each ACK comes a round
    trip (4 ms) and a segment's wire time after its SND."""
    import io

    module = runpy.run_path(str(EXAMPLE.with_name("tx_timestamps.py")))
    out = io.StringIO()
    assert module["main"](out) == 0
    rows = [line.split() for line in out.getvalue().splitlines()[2:]]
    assert [int(row[0]) for row in rows] == [10_000 * i - 1 for i in range(1, 11)]
    in_socket, in_qdisc, to_ack = ([float(row[i]) for row in rows] for i in (1, 3, 5))
    assert all(10 < later - earlier < 12 for earlier, later in zip(in_socket[2:-1], in_socket[3:], strict=True))
    assert all(0 < wait < 10 for wait in in_qdisc)
    assert all(4 < span < 6 for span in to_ack)


def test_fast_open_example() -> None:
    """The first request waits for ARP, the handshake and its own round trip (120 ms); the next
    ones go in the SYN and are answered in one round trip (40 ms)."""
    import io

    module = runpy.run_path(str(EXAMPLE.with_name("fast_open.py")))
    out = io.StringIO()
    assert module["main"](out) == 0
    text = out.getvalue()
    assert text.count("tfo  cookiereq") == 1 and text.count("tfo  cookie ") == 3
    assert text.splitlines()[-3:] == ["request 0: the reply came 120.1 ms after the send",
                                      "request 1: the reply came 40.0 ms after the send",
                                      "request 2: the reply came 40.0 ms after the send"]
