"""BBR judged by this machine's kernel, which runs BBR itself: a bulk transfer behind ``tbf rate
10mbit burst 5kb limit 150kb`` over a veth pair (Linux to Linux) and over a tuxnet cable with TSO
(tuxnet to tuxnet).  After two seconds both senders are in PROBE_BW with a cwnd gain of 2, and
both bandwidth estimates are the shaper's rate of payload, 10 Mb/s x 1448/1514 (the kernel's a few
per cent above it: its delivery rate samples see real time's jitter, ACK compression included)."""

from __future__ import annotations

import os
import re
import shutil
import time

import pytest

from tuxnet.benchmarks import tcp_sink, tcp_source
from tuxnet.tapnet import netns_pair, netns_unavailable
from tuxnet.user.ethtool import ethtool
from tuxnet.user.ss import format_ss
from tuxnet.user.tc import tc
from tuxnet.world import World

pytestmark = pytest.mark.root

SHAPER = "qdisc replace dev eth0 root tbf rate 10mbit burst 5kb limit 150kb"
PAYLOAD_BPS = 10e6 * 1448 / 1514
RECEIVER = """
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(("10.9.0.2", 5001)); l.listen()
print("listening", flush=True)
c, _ = l.accept()
while c.recv(1 << 16):
    pass
"""
SENDER = """
import socket
s = socket.socket(); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"bbr")
s.connect(("10.9.0.2", 5001)); s.sendall(bytes(6_000_000)); s.close()
"""
BBR = re.compile(r" bbr:\(bw:(\d+)bps,mrtt:[\d.]+,pacing_gain:([\d.]+),cwnd_gain:([\d.]+)\) ")


def linux_line() -> str:
    """``ss -tin`` of the kernel's BBR sender, two seconds into the transfer."""
    a, b = netns_pair(f"tuxnet-bbr-{os.getpid()}", "10.9.0.1/24", "10.9.0.2/24")
    try:
        a.run("tc", *SHAPER.split())
        receiver = b.popen("python3", "-c", RECEIVER)
        assert receiver.stdout is not None and receiver.stdout.readline().strip() == "listening"
        sender = a.popen("python3", "-c", SENDER)
        time.sleep(2)
        out = a.run("ss", "-tin", "dst", "10.9.0.2").stdout
        sender.kill()
        receiver.kill()
        return out
    finally:
        a.close()
        b.close()


def tuxnet_line() -> str:
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="1gbit", a_addr="10.9.0.1/24", b_addr="10.9.0.2/24")
    ethtool(a, "-K eth0 tx on tso on")  # a veth segments nothing either
    tc(a, SHAPER)
    a.sysctl.set("net.ipv4.tcp_congestion_control", "bbr")
    b.spawn(tcp_sink, "10.9.0.2", 5001, [])
    a.spawn(tcp_source, "10.9.0.2", 5001, bytes(1 << 16), 6_000_000)
    world.run_for(2_000_000_000)
    out: list[str] = []
    a.spawn(lambda: out.append(format_ss(a, info=True, listening=False)))
    world.run_for(1_000_000)
    return out[0]


def test_bbr_estimates_the_bottleneck_as_the_kernels_does():
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    if shutil.which("tc") is None or shutil.which("ss") is None:
        pytest.skip("tc or ss (iproute2) is not installed")
    linux, ours = BBR.search(linux_line()), BBR.search(tuxnet_line())
    assert linux and ours
    for m, tolerance in ((linux, 0.05), (ours, 0.005)):
        assert abs(int(m[1]) - PAYLOAD_BPS) / PAYLOAD_BPS < tolerance, m[0]
        assert m[2] in ("1", "1.25", "0.75") and m[3] == "2", m[0]  # PROBE_BW
