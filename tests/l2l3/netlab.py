"""Helpers for the layer 2/3 tests: small networks, running programs, and tshark as the judge."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tuxnet.net.core.dev import dev_set_promiscuity
from tuxnet.net.ethernet.eth import BROADCAST
from tuxnet.net.socket import MSG_DONTWAIT
from tuxnet.trace.capture import Capture
from tuxnet.user import libc
from tuxnet.world import World, msecs

TSHARK_PREFS = ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"]


def tshark_problems(tshark: str, pcap: Path | str) -> list[str]:
    """tshark's expert errors (bad checksums, malformed packets) for ``pcap``; [] when clean."""
    out = subprocess.run([tshark, "-n", "-r", str(pcap), *TSHARK_PREFS, "-q", "-z", "expert,error"],
                         capture_output=True, text=True, check=True).stdout
    problems = [line for line in out.splitlines() if line.strip() and not line.startswith(("=", "Errors"))
                and "Frequency" not in line]
    listing = subprocess.run([tshark, "-n", "-r", str(pcap), *TSHARK_PREFS], capture_output=True, text=True,
                             check=True).stdout
    problems += [line for line in listing.splitlines() if "Malformed" in line]
    return problems


def tshark_lines(tshark: str, pcap: Path | str, *fields: str, display_filter: str | None = None) -> list[str]:
    """One line per frame with the tab-separated ``fields``."""
    cmd = [tshark, "-n", "-r", str(pcap), *TSHARK_PREFS, "-T", "fields"]
    for f in fields:
        cmd += ["-e", f]
    if display_filter:
        cmd += ["-Y", display_filter]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()


def run(world: World, host: Any, fn: Callable[..., Any], *args: Any, timeout: int = 10**12, **kwargs: Any) -> Any:
    """Run ``fn`` as a process on ``host`` until it exits; its result (its exception is raised)."""
    proc = host.spawn(fn, *args, **kwargs)
    world.run_until(lambda: not proc.alive, timeout=timeout)
    assert not proc.alive, f"{proc} did not finish"
    return proc.result


def recvfrom_all(fd: int, size: int = 100) -> list[tuple[bytes, Any]]:
    """What a datagram socket has queued, each (data, address), read until it would block (in a
    program: ``libc``'s calls)."""
    got = []
    while True:
        try:
            got.append(libc.recvfrom(fd, size, MSG_DONTWAIT))
        except BlockingIOError:
            return got


def lan(n: int = 2, seed: int = 1, rate: str = "100mbit", delay: str = "50us", *, hub: bool = False,
        settle: bool = True) -> tuple[World, list[Any], Any]:
    """``n`` hosts 10.0.0.1.. on one switch (or hub); with ``settle`` the world runs 10 ms first."""
    world = World(seed=seed)
    hosts = [world.add_host(f"h{i + 1}") for i in range(n)]
    center = world.add_hub("hub0", rate=rate) if hub else world.add_switch("sw0")
    for i, h in enumerate(hosts):
        if hub:
            world.connect(h, center, a_addr=f"10.0.0.{i + 1}/24")
        else:
            world.connect(h, center, rate=rate, delay=delay, a_addr=f"10.0.0.{i + 1}/24")
    if settle:
        world.run_for(msecs(10))
    return world, hosts, center


def cable_pair(rate: str = "10gbit", seed: int = 1) -> tuple[World, Any, Any]:
    """Hosts a (10.0.0.1) and b (10.0.0.2) on one cable (10 us), after 1 ms of settling."""
    world = World(seed=seed)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate=rate, delay="10us", a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    world.run_for(msecs(1))
    return world, a, b


def two_routers(seed: int = 1, middle_mtu: int = 1500) -> tuple[World, dict[str, Any]]:
    """a -- r1 -- r2 -- b: 10.0.1.0/24 (100 Mb/s, 50 us), 10.0.2.0/24 (10 Mb/s, 1 ms), 10.0.3.0/24
    (100 Mb/s, 50 us), with default routes on the ends and static routes on the routers."""
    from tuxnet.user.iproute import ip

    world = World(seed=seed)
    a, b = world.add_host("a"), world.add_host("b")
    r1, r2 = world.add_router("r1"), world.add_router("r2")
    world.connect(a, r1, rate="100mbit", delay="50us", a_addr="10.0.1.1/24", b_addr="10.0.1.254/24")
    world.connect(r1, r2, rate="10mbit", delay="1ms", mtu=middle_mtu, a_addr="10.0.2.1/24", b_addr="10.0.2.2/24")
    world.connect(r2, b, rate="100mbit", delay="50us", a_addr="10.0.3.254/24", b_addr="10.0.3.2/24")
    ip(a, "route add default via 10.0.1.254")
    ip(b, "route add default via 10.0.3.254")
    ip(r1, "route add 10.0.3.0/24 via 10.0.2.2")
    ip(r2, "route add 10.0.1.0/24 via 10.0.2.1")
    world.run_for(msecs(10))
    return world, {"a": a, "b": b, "r1": r1, "r2": r2}


def capture(host: Any, dev: str | None = None, pcap: Path | str | None = None, promisc: bool = True) -> Capture:
    """A capture that keeps the frames (``cap.frames``: (time, bytes, device)); like tcpdump, it
    puts the device in promiscuous mode unless told not to."""
    if dev is not None and promisc:
        dev_set_promiscuity(host.dev(dev), 1)
    cap = Capture(host, dev, pcap=str(pcap) if pcap is not None else None)
    cap.keep = True
    return cap


def is_arp(frame: bytes, op: int | None = None) -> bool:
    return frame[12:14] == b"\x08\x06" and (op is None or frame[21] == op)


def is_broadcast(frame: bytes) -> bool:
    return frame[:6] == BROADCAST
