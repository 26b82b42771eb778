"""SO_MAX_PACING_RATE judged by this machine's kernel: a CUBIC sender limited to 1 MB/s sends
300 KB over a veth pair, and tuxnet does the same over a cable, both devices set to one segment a
packet (``ip link set DEV gso_max_segs 1``, so each segment is paced on its own); both send the
first ten segments at once, then one segment every MSS / rate seconds."""

from __future__ import annotations

import os
import shutil

import pytest
from linuxnet import SINK, kernel_measurement, start_tcpdump, stop_tcpdump

from tuxnet.net.core.sock import SO_MAX_PACING_RATE
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.tapnet import netns_pair, netns_unavailable
from tuxnet.trace.capture import Capture
from tuxnet.user import libc
from tuxnet.user.iproute import ip
from tuxnet.world import World

pytestmark = pytest.mark.root

RATE = 1_000_000
SIZE = 300_000
MSS = 1448
MS = 1_000_000
SENDER = f"""
import socket
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"cubic")
s.setsockopt(socket.SOL_SOCKET, {SO_MAX_PACING_RATE}, {RATE})
s.connect(("10.9.0.2", 5001)); s.sendall(bytes({SIZE})); s.close()
"""


def paced(times_and_lengths: list[tuple[float, int]]) -> tuple[float, float]:
    """How long the first ten data segments took to leave (s), and the rate of the rest (bytes/s)."""
    t = [x[0] for x in times_and_lengths]
    rest = sum(n for _, n in times_and_lengths[10:-1])
    return t[9] - t[0], rest / (t[-1] - t[10])


def linux_segments(tmp_path) -> list[tuple[float, int]]:
    from scapy.all import TCP, rdpcap

    a, b = netns_pair(f"tuxnet-pace-{os.getpid()}", "10.9.0.1/24", "10.9.0.2/24")
    try:
        a.run("ip", "link", "set", "eth0", "gso_max_segs", "1")
        receiver = b.popen("python3", "-c", SINK)
        assert receiver.stdout is not None and receiver.stdout.readline().strip() == "listening"
        pcap = str(tmp_path / "linux.pcap")
        dump = start_tcpdump(a, "eth0", pcap, "tcp and src 10.9.0.1")
        try:
            a.run("python3", "-c", SENDER, timeout=30)
        finally:
            stop_tcpdump(dump)
            receiver.wait(timeout=10)
    finally:
        a.close()
        b.close()
    return [(float(p.time), len(p[TCP].payload)) for p in rdpcap(pcap) if len(p[TCP].payload)]


def tuxnet_segments() -> list[tuple[float, int]]:
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="10gbit", a_addr="10.9.0.1/24", b_addr="10.9.0.2/24")
    ip(a, ["link", "set", "eth0", "gso_max_segs", "1"])
    cap = Capture(a, "eth0")
    cap.keep = True

    def receiver() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(fd, ("10.9.0.2", 5001))
        libc.listen(fd, 1)
        c, _ = libc.accept(fd)
        while libc.recv(c, 1 << 16):
            pass

    def sender() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.setsockopt(fd, 1, SO_MAX_PACING_RATE, RATE)
        libc.connect(fd, ("10.9.0.2", 5001))
        libc.send(fd, bytes(SIZE))
        libc.close(fd)

    b.spawn(receiver)
    a.spawn(sender)
    world.run_for(2000 * MS)
    out = []
    for t, frame, _ in cap.frames:
        if frame[12:14] == b"\x08\x00" and frame[23] == 6 and frame[26:30] == bytes([10, 9, 0, 1]):
            ihl = (frame[14] & 0x0F) * 4
            total = int.from_bytes(frame[16:18], "big")
            doff = (frame[14 + ihl + 12] >> 4) * 4
            if total - ihl - doff:
                out.append((t / 1e9, total - ihl - doff))
    return out


def test_so_max_pacing_rate_paces_as_the_kernel_does(tmp_path):
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    if shutil.which("tcpdump") is None:
        pytest.skip("tcpdump is not installed")
    pytest.importorskip("scapy")
    kernel_measurement(lambda: linux_segments(tmp_path), wrong_pacing)
    assert wrong_pacing(tuxnet_segments()) is None


def wrong_pacing(segments: list[tuple[float, int]]) -> str | None:
    """What is wrong with a sender's segments (times, lengths): the whole transfer, the first ten
    at once, then one every MSS / RATE seconds; None if nothing is."""
    burst, rate = paced(segments)
    gaps = sorted(b[0] - a[0] for a, b in zip(segments[10:], segments[11:], strict=False))
    median = gaps[len(gaps) // 2]
    if sum(n for _, n in segments) != SIZE or burst >= 0.002 or abs(rate - RATE) / RATE >= 0.03 \
            or abs(median - MSS / RATE) >= 0.00005:
        return f"{sum(n for _, n in segments)} bytes, first ten in {burst} s, then {rate} B/s, median gap {median} s"
    return None
