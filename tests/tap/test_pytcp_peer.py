"""PyTCP 3.0.9 beside tuxnet over TAP (``tuxnet.pytcp_peer``).

PyTCP needs Python 3.14; it runs where ``bench/pytcp-root.sh`` has built a root for it (the
default one, or the one ``TUXNET_PYTCP_ROOT`` names), and the tests that need it skip, saying so,
elsewhere.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tuxnet import pytcp_peer
from tuxnet.benchmarks import _ECHO_SERVER, _LINUX_RR_CLIENT, bench_pytcp_ping, run, side_by_side
from tuxnet.pytcp_peer import PYTCP_IP, PYTCP_ROOT_ENV, PyTcpPeer, pytcp_unavailable


def test_without_a_root_the_benchmarks_skip_saying_how_to_build_one(monkeypatch, tmp_path):
    monkeypatch.delenv(PYTCP_ROOT_ENV, raising=False)
    monkeypatch.setattr(pytcp_peer, "DEFAULT_ROOT", str(tmp_path / "absent"))
    report = run(["pytcp_tap_ping_rtt"], repeat=1, scale=0.05)
    result = report["results"]["pytcp_tap_ping_rtt"]
    assert result["median"] is None
    assert "Python 3.14" in result["skipped"] and "bash bench/pytcp-root.sh" in result["skipped"]
    assert "quoted by the issue" in side_by_side(report["results"])[0]


def test_a_root_without_pytcp_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv(PYTCP_ROOT_ENV, str(tmp_path))
    assert pytcp_unavailable() == f"{tmp_path} holds no PyTCP venv: run `bash bench/pytcp-root.sh {tmp_path}`"


def test_side_by_side_ratios_favour_the_faster_stack():
    results = {"tap_ping_rtt": {"median": 0.05, "unit": "ms"}, "pytcp_tap_ping_rtt": {"median": 0.5, "unit": "ms"},
               "tap_tcp_rr": {"median": 400.0, "unit": "req/s"}, "pytcp_tap_tcp_rr": {"median": 800.0, "unit": "req/s"},
               "tap_linux_to_tuxnet": {"median": 60.0, "unit": "MB/s"},
               "pytcp_tap_linux_to_pytcp": {"median": None, "unit": "", "skipped": "failed"}}
    lines = side_by_side(results)
    assert len(lines) == 3  # only pairs with both figures
    assert lines[1].split()[0] == "tap_ping_rtt" and lines[1].endswith("tuxnet 10.0x")  # lower RTT is better
    assert lines[2].split()[0] == "tap_tcp_rr" and lines[2].endswith("tuxnet 0.5x")


@pytest.fixture
def root_dir():
    reason = pytcp_unavailable()
    if reason:
        pytest.skip(reason)
    return pytcp_peer.pytcp_root()


def _namespaces() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


@pytest.mark.root
@pytest.mark.slow
def test_pytcp_echoes_a_linux_client_over_tap_and_cleans_up(root_dir):
    peer = PyTcpPeer(root_dir)
    try:
        echo = peer.popen(_ECHO_SERVER, PYTCP_IP, "7")
        assert echo.stdout.readline().strip() == "listening"
        out = peer.ns.run("python3", "-c", _LINUX_RR_CLIENT, PYTCP_IP, "7", "50", timeout=120).stdout
        assert float(out) > 0  # 50 one-byte round trips, each answered by PyTCP
        echo.communicate(timeout=30)
        assert echo.returncode == 0
    finally:
        peer.close()
    assert peer.ns.name not in _namespaces()
    assert not os.path.exists(os.path.join(root_dir, peer.control.lstrip("/")))


@pytest.mark.root
@pytest.mark.slow
def test_pytcp_ping_benchmark_measures_a_round_trip(root_dir):
    result = bench_pytcp_ping(0.05)
    assert 0 < result["min_ms"] <= result["value"] <= result["max_ms"]
