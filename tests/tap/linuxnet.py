"""Networks of Linux namespaces for the tests that set tuxnet beside this machine's kernel."""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from tuxnet.drivers.net.tap import tap_open
from tuxnet.tapnet import Netns, netns_pair, netns_unavailable

T = TypeVar("T")
KERNEL_ATTEMPTS = 3


def kernel_measurement(measure: Callable[[], T], judge: Callable[[T], str | None]) -> T:
    """The first of up to KERNEL_ATTEMPTS runs of ``measure`` (the kernel's side of a test, in
    real time) that ``judge`` finds right (it returns None, or else what is wrong).  On a loaded
    machine a real-time run can stray: a spurious RTO, a late ACK, a pacing timer that fires late.
    tuxnet's side, in virtual time, gets no second try.  When every run of the kernel strays there
    is no reference to judge tuxnet by, and the test is skipped, saying how the kernel strayed."""
    wrong = []
    for _ in range(KERNEL_ATTEMPTS):
        result = measure()
        reason = judge(result)
        if reason is None:
            return result
        wrong.append(reason)
    pytest.skip(f"this machine's kernel strayed in all {KERNEL_ATTEMPTS} runs, so there is nothing to judge "
                "tuxnet by (a loaded machine, or late timers): " + "; ".join(wrong))


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


def a_r_b_runs(prefix: str, far_mtu: int, program: str, runs: Iterable[list[str]], sysctls: Iterable[str] = (),
               pause: float = 0.0) -> list[str]:
    """What ``program`` prints run on A with each of ``runs``, in the Linux A -- R -- B of
    ``a_r_b`` with B routing back through R and each namespace given ``sysctls``, ``pause``
    seconds after each run; the test skips where namespaces cannot be made."""
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    spaces: list[Netns] = []
    try:
        a, r, b = a_r_b(prefix, far_mtu, spaces)
        b.run("ip", "route", "add", "default", "via", "10.0.3.254")
        for ns in (a, r, b):
            for setting in sysctls:
                ns.run("sysctl", "-qw", setting)
        outs = []
        for args in runs:
            outs.append(a.run(program, *args, timeout=60).stdout)
            time.sleep(pause)
        return outs
    finally:
        for ns in spaces:
            ns.close()


def tuxnet_a_r_b_runs(far_mtu: int, program: Callable[[list[str]], int], runs: Iterable[list[str]],
                      sysctls: dict[str, int] | None = None, pause: float = 0.0) -> list[str]:
    """The same on tuxnet: A -- R -- B of cables, the far one of MTU ``far_mtu``, each run of
    ``program`` on A in turn (each must exit 0), ``pause`` seconds of the world's time after each."""
    from tuxnet.user.iproute import ip
    from tuxnet.world import World, secs

    world = World(seed=1)
    host_a, router, host_b = world.add_host("a"), world.add_router("r"), world.add_host("b")
    world.connect(host_a, router, a_addr="10.0.1.1/24", b_addr="10.0.1.254/24")
    world.connect(router, host_b, mtu=far_mtu, a_addr="10.0.3.254/24", b_addr="10.0.3.2/24")
    ip(host_a, "route add default via 10.0.1.254")
    ip(host_b, "route add default via 10.0.3.254")
    for host in (host_a, router, host_b):
        for name, value in (sysctls or {}).items():
            host.sysctl.set(name, value)
    outs = []
    for args in runs:
        before = len(host_a.output())
        proc = host_a.spawn(program, args)
        world.run_until(lambda p=proc: not p.alive, timeout=secs(100))
        assert proc.result == 0, host_a.output()[before:]
        outs.append(host_a.output()[before:])
        world.run_for(int(pause * 1e9))
    return outs


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


class KernelPeer:
    """A peer that plays hand-made TCP segments (scapy) to this machine's kernel through a TAP
    device whose other end is in ``netns`` as ``linux_ip``, and reads what the kernel answers to
    ``sport``.  ``server`` is a Python program started in the namespace with ``args`` (it prints
    "ready" once it listens); ``sysctls`` are set first.  ``close`` ends it all."""

    def __init__(self, netns: Netns, prefix: str, linux_ip: str, peer_ip: str, peer_mac: str, sport: int,
                 server: str, args: list[str], sysctls: list[str] = ()) -> None:
        from scapy.layers.inet import IP

        self.netns, self.peer_mac, self.sport, self.linux_ip = netns, peer_mac, sport, linux_ip
        self.fd, self.name = tap_open(f"{prefix}%d", False)
        self.server: subprocess.Popen | None = None
        try:
            os.set_blocking(self.fd, False)
            subprocess.run(["ip", "link", "set", self.name, "netns", netns.name], check=True)
            netns.run("ip", "addr", "add", f"{linux_ip}/24", "dev", self.name)
            netns.run("ip", "link", "set", self.name, "up")
            netns.run("ip", "neigh", "replace", peer_ip, "lladdr", peer_mac, "dev", self.name)
            netns.run("tc", "qdisc", "replace", "dev", self.name, "root", "pfifo", check=False)
            for kv in sysctls:
                netns.run("sysctl", "-q", "-w", kv)
            self.linux_mac = netns.run("cat", f"/sys/class/net/{self.name}/address").stdout.strip()
            self.server = netns.popen("python3", "-c", server, *args, stdin=subprocess.PIPE)
            assert self.server.stdout.readline().strip() == "ready", self.server.stderr.read()
            self.ip = IP(src=peer_ip, dst=linux_ip)
            settle = time.monotonic() + 0.3  # the link comes up (and says so over IPv6) first
            while (left := settle - time.monotonic()) > 0:
                if select.select([self.fd], [], [], left)[0]:
                    os.read(self.fd, 65536)
        except BaseException:
            self.close()
            raise

    def frame(self, tcp: Any) -> bytes:
        """The Ethernet frame that carries ``tcp`` to the kernel."""
        from scapy.layers.l2 import Ether

        return bytes(Ether(src=self.peer_mac, dst=self.linux_mac) / self.ip / tcp)

    def send(self, tcp: Any) -> None:
        os.write(self.fd, self.frame(tcp))

    def next_segment(self, timeout: float) -> tuple[float, Any] | None:
        """The kernel's next segment to us and when it came, or None after ``timeout`` seconds."""
        from scapy.layers.inet import IP, TCP
        from scapy.layers.l2 import Ether

        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            if not select.select([self.fd], [], [], left)[0]:
                break
            frame = Ether(os.read(self.fd, 65536))
            if frame.haslayer(TCP) and frame[IP].src == self.linux_ip and frame[TCP].dport == self.sport:
                return time.monotonic(), frame[TCP]
        return None

    def segments_until_quiet(self, quiet: float) -> list[Any]:
        """The kernel's segments to us until ``quiet`` seconds pass without one."""
        segs = []
        while (got := self.next_segment(quiet)) is not None:
            segs.append(got[1])
        return segs

    def close(self) -> None:
        if self.server is not None:
            self.server.kill()
            self.server.communicate()
        os.close(self.fd)
        self.netns.run("ip", "link", "del", self.name, check=False)
