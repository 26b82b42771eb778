"""tuxnet's iperf and this machine's (iperf 2.1.8, Debian's), across a TAP device: each one's
client against the other's server, TCP and UDP, the same bytes counted on both sides, and the same
report lines but for the figures."""

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
           (r"icwnd/mss/irtt=\d+/\d+/\d+", "icwnd/mss/irtt=C/M/R"), (r"\d+\.\d+\.\d+\.\d+", "A"),
           (r"IPG target: [\d.]+ us", "IPG target: G us"), (r" +[\d.]+ ms \d+/\d+ \([^)]*%\)", " J ms L/T (P%)"),
           (r"Sent \d+ datagrams", "Sent N datagrams")]
UDP_BANNER = ["-" * 60, "Server listening on UDP port 5001", "UDP buffer size: N KByte (default)", "-" * 60]
UDP_HEAD = "[ ID] Interval       Transfer     Bandwidth        Jitter   Lost/Total Datagrams"
UDP_LINE = "[  1] T-T sec N KBytes N bits/sec J ms L/T (P%)"
# A UDP report line, its figures: seconds, bytes, jitter, lost and total datagrams.
UDP_FIGURES = r"\[  1\] [\d.]+-([\d.]+) sec +([\d.]+ \w?Bytes) +[\d.]+ \w?bits/sec +([\d.]+) ms (\d+)/(\d+) "


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
    # (the two servers' banners, TCP's and UDP's, then the TCP server's report)
    assert layout(server) == [
        "-" * 60, "Server listening on TCP port 5001", "TCP window size: N KByte (default)", "-" * 60,
        *UDP_BANNER, "[  1] local A port 5001 connected with A port P (icwnd/mss/irtt=C/M/R)",
        "[ ID] Interval       Transfer     Bandwidth", "[  1] T-T sec N MBytes N bits/sec"]
    assert "4.00 MBytes" in server
    assert re.search(r"sec  4096 KBytes  +[\d.]+ Kbits/sec", out), out  # Linux's client, -f k


def against_linux_server(p, server: list[str], client: list[str]) -> tuple[str, str]:
    """(our client's output, Linux's server's) of a run of tuxnet's iperf with ``client`` against
    this machine's started with ``server``, bound to its side of the TAP pair."""
    linux_server = p.ns.popen("iperf", *server, "-B", p.linux_ip)
    try:
        p.world.run_for(int(0.5e9))  # (iperf's socket is up)
        proc = p.host.spawn(iperf_main, client, name="iperf")
        p.world.run_until(lambda: not proc.alive, timeout=int(30e9))
        assert not proc.alive and proc.exit_code == 0
        p.world.run_for(int(0.5e9))
    finally:
        linux_server.terminate()
        linux, _ = linux_server.communicate(timeout=10)
    return p.host.output(), linux


def test_tuxnets_iperf_client_against_linux_server(tap_pair):
    p = tap_pair
    client, linux = against_linux_server(p, ["-s"], ["-c", p.linux_ip, "-n", "4M", "-i", "1"])
    assert "4.00 MBytes" in client and "4.00 MBytes" in linux, client + linux
    # The client's lines are Linux's iperf client's lines (its connecting banner and window, the
    # connection, the header, the whole), figures aside.
    mine = [line for line in layout(client) if not re.match(r"\[  1\] T-T sec", line)]
    assert mine == ["-" * 60, "Client connecting to A, TCP port 5001", "TCP window size: N KByte (default)",
                    "-" * 60, "[  1] local A port P connected with A port 5001 (icwnd/mss/irtt=C/M/R)",
                    "[ ID] Interval       Transfer     Bandwidth"]
    assert "[  1] T-T sec N MBytes N bits/sec" in layout(linux)


def test_linux_iperf_udp_client_against_tuxnets_server(tap_pair):
    p = tap_pair
    p.host.spawn(iperf_main, ["-s", "-u", "-i", "0.5"], name="iperf")
    p.world.run_for(int(0.2e9))
    proc = p.ns.popen("iperf", "-c", p.tux_ip, "-u", "-t", "1", "-i", "0.5", "-b", "2M")
    out, err = p.run_until_exit(proc, timeout=30)
    assert proc.returncode == 0 and not err, out + err
    p.world.run_for(int(0.5e9))  # (the server waits for silence after its report)
    server = p.host.output()
    mine = layout(server)
    assert mine[:6] == [*UDP_BANNER, "[  1] local A port 5001 connected with A port P", UDP_HEAD], server
    assert len(mine) >= 9 and set(mine[6:]) == {UDP_LINE}, server  # two intervals (a part one), the whole
    # Linux's client printed the report our server sent, figure for figure, under its own heads
    linux = layout(out)
    assert linux[linux.index("[  1] Server Report:") + 1:] == [UDP_HEAD, UDP_LINE], out
    ours = re.findall(UDP_FIGURES, server)[-1]
    theirs = re.findall(UDP_FIGURES, out.split("Server Report:")[1])[0]
    # (the time and the jitter go in whole microseconds, so the last digit may differ)
    assert (ours[1], ours[3], ours[4]) == (theirs[1], theirs[3], theirs[4]) and ours[3] == "0", (server, out)
    assert abs(float(ours[0]) - float(theirs[0])) < 1.5e-4 and abs(float(ours[2]) - float(theirs[2])) < 1.5e-3
    sent = int(re.search(r"Sent (\d+) datagrams", out)[1])
    assert int(ours[4]) == sent - 1  # every datagram numbered, the last one too


def test_tuxnets_iperf_udp_client_against_linux_server(tap_pair):
    p = tap_pair
    client, linux = against_linux_server(p, ["-s", "-u"], ["-c", p.linux_ip, "-u", "-t", "1", "-i", "0.5", "-b", "2M"])
    # The client's lines are Linux's iperf client's (its banner, the connection, the intervals and
    # the whole, the datagrams sent, the server's report), figures aside.
    mine = [line for line in layout(client) if line != "[  1] T-T sec N KBytes N bits/sec"]
    assert mine == ["-" * 60, "Client connecting to A, UDP port 5001",
                    "Sending 1470 byte datagrams, IPG target: G us (kalman adjust)",
                    "UDP buffer size: N KByte (default)", "-" * 60, "[  1] local A port P connected with A port 5001",
                    "[ ID] Interval       Transfer     Bandwidth", "[  1] Sent N datagrams", "[  1] Server Report:",
                    UDP_HEAD, UDP_LINE], client
    assert "IPG target: 5607.60 us" in client  # 2M: 2 * 1048576 bits a second
    # Linux's server took our datagrams for iperf's: nothing lost, every one counted, and its
    # report is the one our client printed
    theirs = re.findall(UDP_FIGURES, linux)[-1]
    ours = re.findall(UDP_FIGURES, client.split("Server Report:")[1])[0]
    sent = int(re.search(r"Sent (\d+) datagrams", client)[1])
    assert theirs[3] == "0" and int(theirs[4]) == sent - 1, linux
    assert (ours[1], ours[3], ours[4]) == (theirs[1], theirs[3], theirs[4])
    # the time and the jitter go in whole microseconds, so the last digit may differ
    assert abs(float(ours[0]) - float(theirs[0])) < 1.5e-4 and abs(float(ours[2]) - float(theirs[2])) < 1.5e-3


def test_linux_iperf_udp_client_against_the_tap_service(tap_pair):
    # tuxnet tap --serve iperf answers a UDP client too
    p = tap_pair
    start_tap_services(p.host, ["iperf"], f"{p.tux_ip}/24")
    p.world.run_for(int(0.2e9))
    proc = p.ns.popen("iperf", "-c", p.tux_ip, "-u", "-t", "1", "-b", "1M")
    out, err = p.run_until_exit(proc, timeout=30)
    assert proc.returncode == 0 and not err, out + err
    linux = layout(out)
    assert linux[linux.index("[  1] Server Report:") + 1:] == [UDP_HEAD, UDP_LINE], out
    assert re.findall(UDP_FIGURES, out.split("Server Report:")[1])[0][3] == "0"  # none lost
