"""``tuxnet tap``: a tuxnet host on a real network, through a Linux TAP device, until interrupted."""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from tuxnet.world import World


def build_tap_host(dev: str, addr: str, gw: str | None = None, *, offload: bool = True, loss: float = 0.0,
                   dup: float = 0.0, reorder: float = 0.0, seed: int = 0, mtu: int = 1500,
                   name: str = "tuxnet", busy_poll_us: int = 0, echo: bool = False) -> tuple[World, Any, Any]:
    """A real-time world with one host whose ``eth0`` is the TAP interface ``dev``; with
    ``busy_poll_us`` the loop spins that long on the device before sleeping; with ``echo`` what
    its programs print goes to stdout as they print it."""
    from tuxnet.drivers.net.tap import tap_create

    world = World(seed=seed, realtime=True, busy_poll_us=busy_poll_us)
    host = world.add_host(name, echo=echo)
    host.dev_open("lo")
    host.ip_addr_add("lo", "127.0.0.1/8")
    eth = tap_create(host, dev, name="eth0", offload=offload, loss=loss, dup=dup, reorder=reorder, mtu=mtu)
    host.dev_open(eth)
    host.ip_addr_add("eth0", addr)
    if gw:
        host.ip_route_add("default", via=gw)
    return world, host, eth


TAP_ZONE = "tuxnet.test."
TAP_ZONE_FILE = "/etc/bind/db.tuxnet.test"
TAP_INDEX = """<html><head><title>tuxnet</title></head>
<body><h1>Hello from tuxnet</h1><p>This page crossed a TAP device from a Python TCP/IP stack.</p></body>
</html>
"""
SERVICE_NAMES = ("echo", "discard", "chargen", "http", "dns", "iperf")


def start_tap_services(host: Any, names: list[str], addr: str) -> dict:
    """Start the services ``tuxnet tap --serve`` names: the inetd ones, ``httpd`` serving a small
    page from /var/www, ``named`` authoritative for tuxnet.test (``tuxnet.test`` and
    ``www.tuxnet.test`` are this host's address) and iperf's servers on port 5001, ``iperf -s``
    and ``iperf -s -u`` (one iperf 2 process serves one protocol), their reports on the
    terminal."""
    from tuxnet.user.etc import install_base_files
    from tuxnet.user.programs.dns import named
    from tuxnet.user.programs.http import httpd
    from tuxnet.user.programs.inetd import start_services
    from tuxnet.user.programs.iperf import iperf_main

    unknown = [n for n in names if n not in SERVICE_NAMES]
    if unknown:
        raise ValueError(f"unknown service {unknown[0]!r} (known: {', '.join(SERVICE_NAMES)})")
    install_base_files(host)
    stats = start_services(host, [n for n in names if n in ("echo", "discard", "chargen")])
    if "http" in names:
        host.files["/var/www/index.html"] = TAP_INDEX
        host.spawn(httpd, "/var/www", name="httpd")
    if "dns" in names:
        ip = addr.split("/")[0]
        host.files[TAP_ZONE_FILE] = (
            f"$ORIGIN {TAP_ZONE}\n$TTL 300\n"
            f"@ IN SOA ns.{TAP_ZONE} hostmaster.{TAP_ZONE} 1 7200 900 1209600 300\n"
            f"@ IN NS ns.{TAP_ZONE}\n@ IN A {ip}\nns IN A {ip}\nwww IN A {ip}\n"
            f'@ IN TXT "served by tuxnet"\n')
        host.spawn(named, {TAP_ZONE: TAP_ZONE_FILE}, name="named")
    if "iperf" in names:
        host.spawn(iperf_main, ["-s"], name="iperf")
        host.spawn(iperf_main, ["-s", "-u"], name="iperf")
    return stats


def netns_unavailable() -> str | None:
    """Why a Linux peer in a network namespace cannot be made here, or None."""
    if os.geteuid() != 0:
        return "needs root (CAP_NET_ADMIN) for network namespaces and TAP devices"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing"
    if shutil.which("ip") is None:
        return "iproute2's ip command is missing (apt-get install iproute2)"
    return None


class Netns:
    """A Linux network namespace of our own, deleted on ``close``."""

    def __init__(self, name: str) -> None:
        self.name = name
        made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
        if made.returncode != 0:
            raise OSError(f"cannot create network namespace {name}: {made.stderr.strip()}")
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)

    def cmd(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]

    def run(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(self.cmd(*args), capture_output=True, text=True, check=check, timeout=timeout)

    def popen(self, *args: str, **kw: Any) -> subprocess.Popen:
        return subprocess.Popen(self.cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)

    def tcp_ext(self) -> dict[str, int]:
        """The namespace's TcpExt counters (``/proc/net/netstat``: a line of names, then a line
        of values)."""
        lines = [line.split() for line in self.run("cat", "/proc/net/netstat").stdout.splitlines()]
        for names, values in zip(lines, lines[1:], strict=False):
            if names[0] == "TcpExt:" and values[0] == "TcpExt:":
                return dict(zip(names[1:], map(int, values[1:]), strict=True))
        raise OSError(f"no TcpExt counters in {self.name}'s /proc/net/netstat")

    def close(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


def netns_pair(prefix: str, a_addr: str, b_addr: str) -> tuple[Netns, Netns]:
    """Two namespaces of our own, ``PREFIX-a`` and ``PREFIX-b``, joined by a veth pair whose ends
    are each one's ``eth0``, addressed ``a_addr`` and ``b_addr`` (CIDR) and up.  On failure both
    are gone again."""
    a, b = Netns(f"{prefix}-a"), Netns(f"{prefix}-b")
    try:
        subprocess.run(["ip", "link", "add", "eth0", "netns", a.name, "type", "veth", "peer", "name", "eth0",
                        "netns", b.name], check=True, capture_output=True)
        for ns, addr in ((a, a_addr), (b, b_addr)):
            ns.run("ip", "addr", "add", addr, "dev", "eth0")
            ns.run("ip", "link", "set", "eth0", "up")
    except BaseException:
        a.close()
        b.close()
        raise
    return a, b


_pair_counter = itertools.count(1)


@dataclass
class TapPair:
    """A tuxnet host whose ``eth0`` is a TAP interface living in the Linux namespace ``ns``."""

    world: World
    host: Any
    eth: Any
    ns: Netns
    ifname: str
    linux_ip: str
    tux_ip: str

    def run_until_exit(self, proc: subprocess.Popen, timeout: float) -> tuple[str, str]:
        """Run the tuxnet world in real time until the Linux-side command ends (looked at every
        50 ms too: an idle world has no event to look at it after)."""
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            self.world.run_until(lambda: proc.poll() is not None, timeout=int(min(0.05, timeout) * 1e9))
        if proc.poll() is None:
            proc.kill()
        return proc.communicate(timeout=10)

    def close(self) -> None:
        from tuxnet.drivers.net.tap import tap_close

        tap_close(self.eth)
        self.world.close()


def make_pair(ns: Netns, offload: bool = True, loss: float = 0.0, seed: int = 0,
              busy_poll_us: int = 0) -> TapPair:
    """A TAP pair on a fresh /24 (10.250.N.0/24): Linux is .1, tuxnet .2."""
    n = next(_pair_counter) % 250 + 1
    ifname = f"tx{os.getpid() % 100000}n{n}"
    linux_ip, tux_ip = f"10.250.{n}.1", f"10.250.{n}.2"
    world, host, eth = build_tap_host(ifname, f"{tux_ip}/24", offload=offload, loss=loss, seed=seed,
                                      busy_poll_us=busy_poll_us)
    subprocess.run(["ip", "link", "set", eth.priv.ifname, "netns", ns.name], check=True)
    subprocess.run(["ip", "-n", ns.name, "addr", "add", f"{linux_ip}/24", "dev", eth.priv.ifname], check=True)
    subprocess.run(["ip", "-n", ns.name, "link", "set", eth.priv.ifname, "up"], check=True)
    eth.netif_carrier_on()
    return TapPair(world, host, eth, ns, eth.priv.ifname, linux_ip, tux_ip)


def summary(host: Any, stats: dict) -> str:
    eth = host.dev("eth0")
    s = eth.stats
    lines = [f"eth0 ({eth.priv.ifname}): rx {s.rx_packets} packets {s.rx_bytes} bytes, "
             f"tx {s.tx_packets} packets {s.tx_bytes} bytes, dropped rx {s.rx_dropped} tx {s.tx_dropped}"]
    faults = eth.priv.faults
    if any(faults.values()):
        lines.append("injected faults: " + ", ".join(f"{k} {v}" for k, v in faults.items()))
    tcp = host.mib.Tcp
    lines.append(f"tcp: {tcp['ActiveOpens']} active opens, {tcp['PassiveOpens']} passive opens, "
                 f"{tcp['InSegs']} segments in, {tcp['OutSegs']} out, {tcp['RetransSegs']} retransmitted")
    icmp = host.mib.Icmp
    lines.append(f"icmp: {icmp['InEchos']} echo requests answered")
    if stats.get("connections"):
        lines.append(f"services: {stats['connections']} connections")
    for d in stats.get("discarded", []):
        lines.append(f"discard: {d['bytes']} bytes from {d['peer'][0]}:{d['peer'][1]} sha256 {d['sha256']}")
    return "\n".join(lines)


def tap_main(argv: list[str]) -> int:
    from tuxnet.trace.capture import Capture
    from tuxnet.trace.ftrace import FunctionTracer

    parser = argparse.ArgumentParser(prog="tuxnet tap", description=__doc__)
    parser.add_argument("--dev", default="tuxtap0", help="TAP interface name (created if absent)")
    parser.add_argument("--addr", required=True, help="tuxnet's address, A.B.C.D/P")
    parser.add_argument("--gw", help="default gateway")
    parser.add_argument("--serve", default="", help=f"comma-separated services: {', '.join(SERVICE_NAMES)}")
    parser.add_argument("--pcap", type=argparse.FileType("wb"), help="capture eth0 to this file")
    parser.add_argument("--trace", action="store_true", help="print the kernel function trace")
    parser.add_argument("--no-offload", action="store_true", help="no virtio header, checksum or TSO offload")
    parser.add_argument("--loss", type=float, default=0.0)
    parser.add_argument("--dup", type=float, default=0.0)
    parser.add_argument("--reorder", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--busy-poll", type=int, default=0, metavar="US",
                        help="spin on the device this many microseconds before sleeping (as net.core.busy_poll): "
                             "lower latency for a busy CPU")
    args = parser.parse_args(argv)
    if args.busy_poll < 0:
        parser.error("--busy-poll must be >= 0")
    try:
        world, host, eth = build_tap_host(args.dev, args.addr, args.gw, offload=not args.no_offload,
                                          loss=args.loss, dup=args.dup, reorder=args.reorder, seed=args.seed,
                                          busy_poll_us=args.busy_poll, echo=True)
    except PermissionError:
        print("tuxnet tap: opening /dev/net/tun needs root or CAP_NET_ADMIN", file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:
        print(f"tuxnet tap: {e}", file=sys.stderr)
        return 1
    names = [n for n in args.serve.split(",") if n]
    try:
        stats = start_tap_services(host, names, args.addr)
    except ValueError as e:
        print(f"tuxnet tap: {e}", file=sys.stderr)
        return 2
    cap = Capture(host, "eth0", pcap=args.pcap) if args.pcap else None
    tracer = FunctionTracer(world, out=sys.stdout).start() if args.trace else None
    print(f"tuxnet: eth0 is {eth.priv.ifname}, {args.addr}, MAC "
          f"{':'.join(f'{b:02x}' for b in eth.dev_addr)}; serving {', '.join(names) or 'nothing'}; Ctrl-C to stop",
          flush=True)
    try:
        world.run()
    except KeyboardInterrupt:
        pass
    finally:
        if tracer is not None:
            tracer.stop()
        if cap is not None:
            cap.close()
            args.pcap.close()
    print(summary(host, stats), flush=True)
    # Kill the services now, while the world is whole, rather than leave their greenlets to the
    # interpreter's shutdown, which would run their clean-up with no loop to come back to.
    world.close()
    return 0
