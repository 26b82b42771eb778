"""Networks of Linux namespaces for the tests that set tuxnet beside this machine's kernel."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tuxnet.benchmarks import tcp_sink, tcp_source
from tuxnet.tapnet import Netns, netns_pair
from tuxnet.user.ethtool import ethtool
from tuxnet.user.tc import tc
from tuxnet.world import World


def a_r_b(prefix: str, far_mtu: int, spaces: list[Netns]) -> tuple[Netns, Netns, Netns]:
    """A 10.0.1.1 (va) -- R (ra 10.0.1.254, rb 10.0.3.254) -- B 10.0.3.2 (vb), of veth pairs: R
    forwards, its link to B has an MTU of ``far_mtu``, A and B route through R.  Each namespace is
    appended to ``spaces`` as it is made, for the caller to close, whatever happens."""
    for n in "arb":
        spaces.append(Netns(f"{prefix}-{n}"))
    a, r, b = spaces[-3:]
    for peer, here, there in ((a, "va", "ra"), (b, "vb", "rb")):
        subprocess.run(["ip", "link", "add", here, "netns", peer.name, "type", "veth", "peer", "name", there,
                        "netns", r.name], check=True, capture_output=True)
    for ns, dev, addr, mtu in ((a, "va", "10.0.1.1/24", 1500), (r, "ra", "10.0.1.254/24", 1500),
                               (r, "rb", "10.0.3.254/24", far_mtu), (b, "vb", "10.0.3.2/24", far_mtu)):
        ns.run("ip", "addr", "add", addr, "dev", dev)
        ns.run("ip", "link", "set", dev, "mtu", str(mtu), "up")
    a.run("ip", "route", "add", "default", "via", "10.0.1.254")
    r.run("sysctl", "-qw", "net.ipv4.ip_forward=1")
    return a, r, b


def start_tcpdump(ns: Netns, dev: str, pcap: str, *expr: str) -> subprocess.Popen:
    """tcpdump writing each packet to ``pcap`` as it comes (-U, --immediate-mode), so that none is
    left in its ring when it is stopped on a busy machine; returns once it listens."""
    dump = ns.popen("tcpdump", "-i", dev, "-n", "-s", "262144", "-B", "16384", "--immediate-mode", "-U",
                    "-Z", "root", "-w", pcap, *expr)
    assert dump.stderr is not None
    while f"listening on {dev}" not in dump.stderr.readline():
        assert dump.poll() is None, "tcpdump did not start"
    return dump


def stop_tcpdump(dump: subprocess.Popen) -> None:
    time.sleep(1)  # what is still in its ring
    dump.terminate()
    dump.communicate(timeout=10)


# A receiver reading to the end, on b of a pair addressed 10.9.0.1 (a) and 10.9.0.2 (b).
SINK = """
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(("10.9.0.2", 5001)); l.listen()
print("listening", flush=True)
c, _ = l.accept()
while c.recv(1 << 16):
    pass
"""


@contextmanager
def shaped_transfer(prefix: str, shaper: str, cc: str, size: int) -> Iterator[Netns]:
    """a sends ``size`` bytes to b's sink with congestion control ``cc``, through ``tc SHAPER``
    on a's eth0; yields a while the transfer runs, and ends it and both namespaces after."""
    a, b = netns_pair(prefix, "10.9.0.1/24", "10.9.0.2/24")
    try:
        a.run("tc", *shaper.split())
        receiver = b.popen("python3", "-c", SINK)
        assert receiver.stdout is not None and receiver.stdout.readline().strip() == "listening"
        sender = a.popen("python3", "-c", "import socket\ns = socket.socket()\n"
                         f"s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, {cc.encode()!r})\n"
                         f's.connect(("10.9.0.2", 5001)); s.sendall(bytes({size})); s.close()')
        try:
            yield a
        finally:
            for proc in (sender, receiver):
                proc.kill()
                proc.communicate(timeout=10)
    finally:
        a.close()
        b.close()


def tuxnet_shaped_transfer(shaper: str, cc: str, size: int, tso: bool = False) -> tuple[World, Any]:
    """The same in tuxnet, over a 1 Gb/s cable (with TSO, as a veth's): the world and a, the
    transfer started."""
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="1gbit", a_addr="10.9.0.1/24", b_addr="10.9.0.2/24")
    if tso:
        ethtool(a, "-K eth0 tx on tso on")
    tc(a, shaper)
    a.sysctl.set("net.ipv4.tcp_congestion_control", cc)
    b.spawn(tcp_sink, "10.9.0.2", 5001, [])
    a.spawn(tcp_source, "10.9.0.2", 5001, bytes(1 << 16), size)
    return world, a
