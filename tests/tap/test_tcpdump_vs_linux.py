"""tcpdump on both ends of a TAP device: this machine's tcpdump on its side, tuxnet's (a packet
socket, SO_TIMESTAMPNS, its printer) on the tuxnet host's eth0, both hearing the same frames while
Linux pings and fetches a page from the tuxnet host.  What they print must be the same, lines and
banner and counts, the times and the device's name aside.

Then tcpdump on ``lo``, this machine's in a namespace of our own and tuxnet's on a host of its own,
while each pings itself: the filter runs in the kernel on each copy of a frame a packet socket
hears, and the counts are the kernel's (``PACKET_STATISTICS``), so on ``lo`` each frame passes it
twice, going out and coming in, though libpcap prints it once; Ctrl-C ends the line first."""

from __future__ import annotations

import re
import shutil
import signal
import time

import pytest

from procs import run_program
from tuxnet.kernel.signal import SIGINT, send_sig
from tuxnet.tapnet import start_tap_services
from tuxnet.user.programs.ping import ping_main
from tuxnet.user.programs.tcpdump import tcpdump_main

pytestmark = [pytest.mark.root, pytest.mark.skipif(shutil.which("tcpdump") is None,
                                                    reason="no tcpdump: apt-get install tcpdump")]

TIME = re.compile(r"^\d\d:\d\d:\d\d\.\d{6} ", re.M)


def masked(text: str, dev: str) -> list[str]:
    return TIME.sub("T ", text).replace(f"listening on {dev},", "listening on DEV,").splitlines()


@pytest.mark.parametrize("options, command", [
    (["-n", "-c", "4", "icmp"], ["ping", "-c", "2", "-i", "0.2", "TUX"]),
    (["-n", "-e", "-c", "2", "icmp", "and", "dst", "host", "TUX"], ["ping", "-c", "2", "-i", "0.2", "TUX"]),
    (["-n", "-v", "-c", "4", "icmp"], ["ping", "-c", "2", "-i", "0.2", "TUX"]),
    (["-n", "-q", "-e", "-c", "8", "tcp", "port", "80"], ["curl", "-sS", "--max-time", "10", "http://TUX/"]),
    (["-n", "-vv", "-c", "8", "tcp", "port", "80"], ["curl", "-sS", "--max-time", "10", "http://TUX/"]),
    (["-n", "-vvv", "-c", "2", "udp", "port", "53"], ["dig", "@TUX", "www.tuxnet.test", "A", "+tries=1", "+time=5"]),
    (["-n", "-t", "-c", "4", "icmp"], ["ping", "-c", "2", "-i", "0.2", "TUX"]),
    (["-n", "-x", "-c", "4", "icmp"], ["ping", "-c", "2", "-i", "0.2", "TUX"]),
    (["-n", "-XX", "-c", "4", "icmp"], ["ping", "-c", "2", "-i", "0.2", "-s", "10", "TUX"]),
    (["-n", "-X", "-c", "8", "tcp", "port", "80"], ["curl", "-sS", "--max-time", "10", "http://TUX/"]),
    (["-n", "-l", "-s", "80", "-c", "8", "tcp", "port", "80"], ["curl", "-sS", "--max-time", "10", "http://TUX/"]),
    (["-n", "-A", "-c", "8", "tcp", "port", "80"], ["curl", "-sS", "--max-time", "10", "http://TUX/"]),
    (["-n", "-c", "8", "tcp", "port", "80"], ["curl", "-sS", "--max-time", "10", "http://TUX/"]),
    # SYN and FIN segments, and those with PSH and ACK alone (the request, and the response in
    # one segment); then those that carry data
    (["-n", "-S", "-c", "6", "tcp[tcpflags]", "&", "(tcp-syn|tcp-fin)", "!=", "0", "or", "tcp[13]", "=", "0x18"],
     ["curl", "-sS", "--max-time", "10", "http://TUX/"]),
    (["-n", "-c", "2", "ip[2:2]", "-", "((ip[0]&0xf)<<2)", "-", "((tcp[12]&0xf0)>>2)", "!=", "0"],
     ["curl", "-sS", "--max-time", "10", "http://TUX/"]),
])
def test_the_same_capture_on_both_sides(tap_pair, options, command):
    p = tap_pair
    options = [p.tux_ip if word == "TUX" else word for word in options]
    start_tap_services(p.host, ["http", "dns"], p.tux_ip)
    p.world.run_for(int(2e8))
    before = len(p.host.output())
    linux = p.ns.popen("tcpdump", "-l", "--immediate-mode", "-i", p.ifname, *options)
    assert linux.stderr is not None
    banner = [linux.stderr.readline() for _ in range(1 if any(o.startswith("-v") for o in options) else 2)]
    assert f"listening on {p.ifname}" in banner[-1], banner
    ours = p.host.spawn(tcpdump_main, options)
    p.world.run_for(int(1e6))
    load = p.ns.popen(*[word.replace("TUX", p.tux_ip) for word in command])
    _, err = p.run_until_exit(load, timeout=20)
    assert load.returncode == 0, err
    theirs, rest = p.run_until_exit(linux, timeout=10)
    p.world.run_until(lambda: not ours.alive, timeout=int(5e9))
    assert ours.result == 0 == linux.returncode, p.host.output()
    ours_lines = masked(p.host.output()[before:], "eth0")
    their_lines = masked("".join(banner) + theirs + rest, p.ifname)
    if "curl" in command:
        # how many of the connection's frames came after the count, before tcpdump closed, is
        # a race on this machine; what the filter passed is at least what was captured
        for lines in (ours_lines, their_lines):
            assert int(lines[-2].split()[0]) >= int(options[options.index("-c") + 1])
            del lines[-2]
    assert ours_lines == their_lines


def _on_lo(lines: list[str]) -> list[str]:
    """The lines without the banner, their times and ping's id."""
    return [re.sub(r"id \d+", "id N", TIME.sub("T ", line)) for line in lines
            if not line.startswith(("tcpdump: verbose", "listening on"))]


def _linux_on_lo(netns, options: list[str], pings: int) -> list[str]:
    dump = netns.popen("tcpdump", "-Z", "root", "-l", "--immediate-mode", "-i", "lo", "-n", *options)
    assert dump.stderr is not None
    while "listening on lo" not in dump.stderr.readline():
        assert dump.poll() is None, "tcpdump did not start"
    netns.run("ping", "-c", str(pings), "-i", "0.2", "127.0.0.1")
    time.sleep(0.5)
    if dump.poll() is None:
        dump.send_signal(signal.SIGINT)
    out, err = dump.communicate(timeout=10)
    return _on_lo(out.splitlines() + err.splitlines())


def _tuxnet_on_lo(lo_host, options: list[str], pings: int) -> list[str]:
    """What tuxnet's tcpdump prints (the console's writes of its process: ping shares it)."""
    world, host = lo_host
    written: list[tuple[object, str]] = []
    console_write = host.console_write
    host.console_write = lambda proc, text: (written.append((proc, text)), console_write(proc, text))
    proc = host.spawn(tcpdump_main, ["-i", "lo", "-n", *options])
    world.run_for(1000)
    assert run_program(world, host, ping_main, ["-c", str(pings), "-i", "0.2", "127.0.0.1"]) == 0
    world.run_for(10**9)
    if proc.alive:
        send_sig(SIGINT, proc)
        world.run_for(1000)
    return _on_lo("".join(text for writer, text in written if writer is proc).splitlines())


@pytest.mark.parametrize("options, pings", [
    (["-c", "2", "icmp"], 1), (["icmp"], 2), (["udp"], 1), (["-Q", "in", "-c", "2", "icmp"], 1),
    (["-Q", "OUT", "icmp"], 1)], ids=["count", "ctrl-c", "none-passes", "in", "out"])
def test_loopback_counts_as_linux(netns, lo_host, options, pings):
    assert _tuxnet_on_lo(lo_host, options, pings) == _linux_on_lo(netns, options, pings)
