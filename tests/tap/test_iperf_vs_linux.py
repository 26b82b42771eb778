"""tuxnet's iperf and this machine's (iperf 2.1.8, Debian's), across a TAP device: each one's
client against the other's server, the same bytes counted on both sides, and the same report lines
but for the figures."""

from __future__ import annotations

import re
import shutil

import pytest

from tuxnet.tapnet import start_tap_services
from tuxnet.user.programs.iperf import iperf_main

pytestmark = [pytest.mark.root, pytest.mark.skipif(shutil.which("iperf") is None,
                                                   reason="iperf is not installed (apt-get install iperf)")]

# A report line with its figures taken out: iperf's layout is what is compared.
FIGURES = [(r"port (?!5001\b)\d+", "port P"), (r"\d+\.\d{4}-\d+\.\d{4} sec", "T-T sec"),
           (r" +[\d.]+ \w?bits/sec", " N bits/sec"), (r" +[\d.]+ (\w?)Byte", r" N \1Byte"),
           (r"icwnd/mss/irtt=\d+/\d+/\d+", "icwnd/mss/irtt=C/M/R"), (r"\d+\.\d+\.\d+\.\d+", "A")]


def layout(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        for pattern, repl in FIGURES:
            line = re.sub(pattern, repl, line)
        lines.append(line)
    return lines


def test_linux_iperf_client_against_tuxnets_server(tap_pair):
    p = tap_pair
    start_tap_services(p.host, ["iperf"], f"{p.tux_ip}/24")  # tuxnet tap --serve iperf
    proc = p.ns.popen("iperf", "-c", p.tux_ip, "-n", "4M", "-f", "k")
    out, err = p.run_until_exit(proc, timeout=30)
    assert proc.returncode == 0, out + err
    p.world.run_until(lambda: p.host.output().count("sec") == 1, timeout=int(5e9))
    server = p.host.output()
    assert layout(server) == ["-" * 60, "Server listening on TCP port 5001", "TCP window size: N KByte (default)",
                              "-" * 60, "[  1] local A port 5001 connected with A port P (icwnd/mss/irtt=C/M/R)",
                              "[ ID] Interval       Transfer     Bandwidth", "[  1] T-T sec N MBytes N bits/sec"]
    assert "4.00 MBytes" in server
    assert re.search(r"sec  4096 KBytes  +[\d.]+ Kbits/sec", out), out  # Linux's client, -f k


def test_tuxnets_iperf_client_against_linux_server(tap_pair):
    p = tap_pair
    server = p.ns.popen("iperf", "-s", "-B", p.linux_ip)
    try:
        p.world.run_for(int(0.5e9))  # (iperf's listener is up)
        proc = p.host.spawn(iperf_main, ["-c", p.linux_ip, "-n", "4M", "-i", "1"], name="iperf")
        p.world.run_until(lambda: not proc.alive, timeout=int(30e9))
        assert not proc.alive and proc.exit_code == 0
        p.world.run_for(int(0.5e9))
    finally:
        server.terminate()
        linux, _ = server.communicate(timeout=10)
    client = p.host.output()
    assert "4.00 MBytes" in client and "4.00 MBytes" in linux, client + linux
    # The client's lines are Linux's iperf client's lines (its connecting banner and window, the
    # connection, the header, the whole), figures aside.
    mine = [line for line in layout(client) if not re.match(r"\[  1\] T-T sec", line)]
    assert mine == ["-" * 60, "Client connecting to A, TCP port 5001", "TCP window size: N KByte (default)",
                    "-" * 60, "[  1] local A port P connected with A port 5001 (icwnd/mss/irtt=C/M/R)",
                    "[ ID] Interval       Transfer     Bandwidth"]
    assert "[  1] T-T sec N MBytes N bits/sec" in layout(linux)
