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
