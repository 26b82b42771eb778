"""The RACK reorder timer, judged by the Linux kernel on this machine.

Two scripts of the shared packetdrill suite set up the same connection (SYN at 0 with MSS 1000,
the handshake's ACK 100 ms later, a write, one SACK 100 ms after that and no reordering seen) and
expect the reorder timer's retransmission at different times: ``fast_retransmit/
fr-4pkt-fack-last-mss.pkt`` at +40 ms after the SACK, ``sack/sack-shift-sacked-7-3-4-8-9-fack.pkt``
at +27 ms.  Here the same packets are played to the kernel through a TAP device (scapy builds
them), the kernel's delay is measured, and each script is run against tuxnet with its expected
time replaced by the window the kernel showed, widened by two of the kernel's jiffies (tuxnet
keeps time at HZ=1000; the kernel rounds its timer to its own HZ).
"""

from __future__ import annotations

import gzip
import itertools
import re
import statistics
import time

import pytest
from linuxnet import KernelPeer

from tuxnet.packetdrill.cli import default_suite_dir
from tuxnet.packetdrill.parser import parse_script
from tuxnet.packetdrill.runner import run_script

pytestmark = pytest.mark.root

SUITE = default_suite_dir()
PEER_MAC = "02:00:00:00:00:99"
_ports = itertools.count(40000)  # a fresh connection each time: the last one may linger in the kernel
LINUX_IP, PEER_IP = "10.252.0.1", "10.252.0.2"
# scenario: (script, bytes written, window of the handshake ACK, SACKed range, SACK's window,
#            the script's line for the retransmission)
SCENARIOS = {
    "fr-4pkt": ("tcp/fast_retransmit/fr-4pkt-fack-last-mss.pkt", 4000, 320, (3001, 4001), 320,
                "+.040 > . 1:1001(1000) ack 1"),
    "sack-shift": ("tcp/sack/sack-shift-sacked-7-3-4-8-9-fack.pkt", 10000, 1024, (7001, 8001), 257,
                   "+.027 > . 1:1001(1000) ack 1"),
}
SERVER = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"cubic")
s.bind((sys.argv[1], 8080)); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); c.sendall(b"x" * int(sys.argv[2])); sys.stdin.read()
"""
# the sysctls of the suite's defaults.sh that a network namespace has of its own
DEFAULTS = ["net.ipv4.tcp_rmem=4096 540000 15728640", "net.ipv4.tcp_wmem=4096 262144 4194304",
            "net.ipv4.tcp_timestamps=1", "net.ipv4.tcp_sack=1", "net.ipv4.tcp_dsack=1", "net.ipv4.tcp_frto=2",
            "net.ipv4.tcp_reordering=3", "net.ipv4.tcp_slow_start_after_idle=0",
            "net.ipv4.tcp_early_retrans=4", "net.ipv4.tcp_recovery=1"]


def kernel_hz() -> int:
    """CONFIG_HZ of the running kernel (250, Debian's, when the config is not readable)."""
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            m = re.search(r"^CONFIG_HZ=(\d+)$", f.read(), re.M)
            return int(m.group(1)) if m else 250
    except OSError:
        return 250


def linux_delay_ms(netns, scenario: str) -> float:
    """Play the scenario's packets to the kernel; how long after the SACK it retransmits 1:1001."""
    from scapy.layers.inet import TCP

    _, size, win1, (sack_start, sack_end), win2, _ = SCENARIOS[scenario]
    sport = next(_ports)
    peer = KernelPeer(netns, "rackp", LINUX_IP, PEER_IP, PEER_MAC, sport, SERVER, [LINUX_IP, str(size)], DEFAULTS)
    try:
        def receive(timeout: float):
            got = peer.next_segment(timeout)
            assert got is not None, "the kernel sent nothing"
            return got

        def wait_until(t: float) -> None:
            while time.monotonic() < t:
                time.sleep(0.0005)

        t0 = time.monotonic()
        peer.send(TCP(sport=sport, dport=8080, flags="S", seq=0, window=32792,
                      options=[("MSS", 1000), ("SAckOK", b""), ("NOP", None), ("NOP", None), ("NOP", None),
                               ("WScale", 7)]))
        _, synack = receive(2)
        assert synack.flags == "SA", synack
        isn = synack.seq
        wait_until(t0 + 0.1)
        peer.send(TCP(sport=sport, dport=8080, flags="A", seq=1, ack=isn + 1, window=win1))
        got = 0
        while got < size:
            got += len(bytes(receive(2)[1].payload))
        wait_until(t0 + 0.2)
        t_sack = time.monotonic()
        peer.send(TCP(sport=sport, dport=8080, flags="A", seq=1, ack=isn + 1, window=win2,
                      options=[("SAck", (isn + sack_start, isn + sack_end)), ("NOP", None), ("NOP", None)]))
        t, rtx = receive(2)
        assert (rtx.seq - isn) & 0xFFFFFFFF == 1 and len(bytes(rtx.payload)) == 1000
        return (t - t_sack) * 1000
    finally:
        peer.close()


def test_the_reorder_timer_fires_when_the_kernels_does(netns):
    pytest.importorskip("scapy")
    if not SUITE.is_dir():
        pytest.skip(f"no packetdrill suite at {SUITE}")
    slack = 2 * 1000 / kernel_hz()
    delays = {s: [linux_delay_ms(netns, s) for _ in range(3)] for s in SCENARIOS}
    # The kernel arms one and the same timer in both scenarios ...
    assert abs(statistics.median(delays["fr-4pkt"]) - statistics.median(delays["sack-shift"])) < slack + 4, delays
    # ... and tuxnet retransmits within what the kernel did, in each script.
    for scenario, (script, *_, line) in SCENARIOS.items():
        lo = max(0.0, min(delays[scenario]) - slack - 1)
        hi = max(delays[scenario]) + 4
        path = SUITE / script
        text = path.read_text()
        assert line in text, f"{script} changed: no {line!r}"
        text = text.replace(line, f"+{lo / 1000:.4f}~+{hi / 1000:.4f} > . 1:1001(1000) ack 1")
        result = run_script(parse_script(text, str(path)), script_dir=path.parent)
        assert result.passed, (scenario, delays[scenario], result.message)
