"""/proc/net/route, arp, dev, igmp and dev_mcast, /proc/sys/net read with cat, ``sysctl`` of a
directory and net-tools' ``route`` and ``netstat -r``, each against this machine's kernel and
tools: the same addresses, routes, neighbours, traffic and groups in network namespaces of our
own (a veth pair, each end an ``eth0`` in a namespace of its own, as h1 and h2 of a tuxnet
``lan``) and on a tuxnet host, the outputs compared byte for byte."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

import tuxnet.socket as tux_socket
from tuxnet.user import libc
from tuxnet.user.etc import install_base_files
from tuxnet.user.iproute import ip
from tuxnet.user.programs.cat import cat_main
from tuxnet.user.programs.nettools import netstat, route
from tuxnet.user.sysctl import sysctl_main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "l2l3"))
from netlab import lan  # noqa: E402

pytestmark = pytest.mark.root

SETUP = [
    "route add default via 10.0.0.254",
    "route add 192.0.2.0/24 via 10.0.0.2 metric 5",
    "route add 10.0.0.0/16 via 10.0.0.3",
    "route add 10.9.9.9 dev eth0",
    "route add 10.7.0.0/24 dev eth0 mtu 1400 advmss 1300",
    "route add 127.0.0.0/8 via 10.0.0.3",
    "route add 169.254.0.0/16 dev eth0",
    "route add blackhole 198.51.100.0/24",
    "route add unreachable 203.0.113.0/24",
    "route add prohibit 203.0.114.0/24",
    "route add 203.0.115.0/24 via 10.0.0.77",
    "neigh add 10.0.0.7 lladdr 02:00:00:00:00:77 dev eth0",
    "neigh add 10.0.0.8 lladdr 02:00:00:00:00:88 dev eth0 nud stale",
    "neigh add 10.0.0.9 lladdr 02:00:00:00:00:99 dev eth0 nud noarp",
    "neigh add proxy 10.0.5.2 dev eth0",
    "neigh add proxy 10.0.5.3",
]

PLAY = r'''
import json, socket, time


def play(sleep, read):
    """A datagram to a closed port of 10.0.0.2 (an ARP exchange, and an ICMP error back), the
    files of the routes, neighbours and counters; then groups joined (one twice) and the files of
    the groups."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b"x" * 10, ("10.0.0.2", 9))
    sleep()
    files = [read("/proc/net/" + name) for name in ("route", "arp", "dev")]
    members = []
    for group in ("239.1.2.3", "239.1.2.3", "224.0.0.251"):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        mreq = socket.inet_aton(group) + socket.inet_aton("10.0.0.1")
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        members.append(s)
    return files + [read("/proc/net/" + name) for name in ("igmp", "dev_mcast")]


if __name__ == "__main__":
    print(json.dumps(play(lambda: time.sleep(0.2), lambda path: open(path).read())))
'''

# The files of our namespace's /etc (``ip netns exec`` mounts /etc/netns/NAME/FILE over
# /etc/FILE) and of the tuxnet host's: names for two gateways (one longer than route's 15
# characters), the networks netbase names, and a resolver on the namespace's own loopback, which
# refuses at once (so no lookup leaves the namespace, nor waits).
HOSTS = {"10.0.0.254": ["router.lab"], "10.0.0.3": ["a-very-long-gateway.lab"]}
NETWORKS = "default\t\t0.0.0.0\nloopback\t127.0.0.0\nlink-local\t169.254.0.0\n"
RESOLV_CONF = "nameserver 127.0.0.1\n"


@contextmanager
def linux_pair() -> Iterator[Any]:
    """Namespaces ``a`` (10.0.0.1, 02:00:00:00:00:01) and ``b`` (10.0.0.2, 02:00:00:00:00:03),
    each with an ``eth0`` of one veth pair, IPv6 off (tuxnet has none, and its router and
    listener reports would count in /proc/net/dev), and ``a``'s /etc files; all gone after."""
    from tuxnet.tapnet import Netns, netns_unavailable

    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    made: list[Netns] = []
    etc = Path(f"/etc/netns/tuxnet-procfiles-{os.getpid()}-a")
    made_netns_dir = not etc.parent.exists()
    try:
        try:
            for side in "ab":
                ns = Netns(f"tuxnet-procfiles-{os.getpid()}-{side}")
                made.append(ns)
                ns.run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
            a, b = made
            a.run("ip", "link", "add", "eth0", "address", "02:00:00:00:00:01", "type", "veth", "peer", "name", "eth0",
                  "netns", b.name, "address", "02:00:00:00:00:03")
            for ns, addr in ((a, "10.0.0.1/24"), (b, "10.0.0.2/24")):
                ns.run("ip", "addr", "add", addr, "dev", "eth0")
                ns.run("ip", "link", "set", "eth0", "up")
            etc.mkdir(parents=True)
            lines = ["127.0.0.1\tlocalhost\n"] + [f"{addr}\t{' '.join(names)}\n" for addr, names in HOSTS.items()]
            (etc / "hosts").write_text("".join(lines))
            (etc / "networks").write_text(NETWORKS)
            (etc / "resolv.conf").write_text(RESOLV_CONF)
        except (OSError, subprocess.CalledProcessError) as e:
            pytest.skip(f"cannot set up a veth pair in namespaces: {e}")
        yield a
    finally:
        shutil.rmtree(etc, ignore_errors=True)
        if made_netns_dir:
            with suppress(OSError):  # (another's namespace may have files there by now)
                etc.parent.rmdir()
        for ns in made:
            ns.close()


def tuxnet_lan() -> tuple[Any, Any]:
    """h1 of a tuxnet ``lan`` (10.0.0.1, 02:00:00:00:00:01; h2 is 10.0.0.2, 02:00:00:00:00:03),
    with the namespace's /etc files."""
    world, (h1, _), _ = lan(2)
    install_base_files(h1, nameservers=["127.0.0.1"], hosts=HOSTS)
    h1.files["/etc/networks"] = NETWORKS
    return world, h1


def run_program(world: Any, host: Any, fn: Callable[[list[str]], int], args: list[str]) -> tuple[int, str]:
    """A program's exit status and what it printed."""
    before = len(host.console)
    proc = host.spawn(fn, args)
    world.run_until(lambda: not proc.alive, timeout=10**11)
    return proc.result, "".join(host.console[before:])


def test_proc_net_files_as_the_kernel_prints_them():
    with linux_pair() as ns:
        for command in SETUP:
            ns.run("ip", *command.split())
        linux = json.loads(ns.run(sys.executable, "-c", PLAY).stdout)
    world, h1 = tuxnet_lan()
    for command in SETUP:
        ip(h1, command)
    namespace: dict[str, Any] = {}
    exec(PLAY, namespace)  # noqa: S102  (the same play, on tuxnet's socket module)
    proc = h1.spawn(tux_socket.stdlib(namespace["play"]), lambda: libc.sleep(0.2), libc.read_file)
    world.run_until(lambda: not proc.alive, timeout=10**11)
    route_file, arp_file, dev_file, igmp_file, mcast_file = proc.result
    assert route_file == linux[0]
    assert {len(line) for line in route_file.splitlines()} == {127}
    # the neighbour table's buckets are a hash with a random seed of each boot's: the entries in
    # order, after the heading (the proxied addresses in order of pneigh_hash, which has none)
    neighbours = arp_file.splitlines()
    assert neighbours[:1] + sorted(neighbours[1:5]) + neighbours[5:] == \
        linux[1].splitlines()[:1] + sorted(linux[1].splitlines()[1:5]) + linux[1].splitlines()[5:]
    assert "10.0.0.2         0x1         0x2         02:00:00:00:00:03     *        eth0" in neighbours
    # a veth counts a frame's bytes as given; tuxnet's Ethernet pads a frame to 60 octets, as a
    # NIC puts it on the wire (the ARP request and the datagram out, the ARP reply in: 60 each;
    # the ICMP error in is 80 either way): the byte counts as each counts them, the rest as is
    assert "  eth0:     140       2    0    0    0     0          0         0      120       2 " in dev_file
    veth_bytes = {"  eth0:     122 ": "  eth0:     140 ", "0       94       2 ": "0      120       2 "}
    for veth, ethernet in veth_bytes.items():
        linux[2] = linux[2].replace(veth, ethernet)
    assert dev_file == linux[2]
    assert igmp_file == linux[3]
    # the veth has IPv6's all-nodes link address, which IPv6 gives a device as it registers
    # (disable_ipv6 only stops its addresses); a tuxnet host has no IPv6
    assert mcast_file == "".join(line + "\n" for line in linux[4].splitlines() if not line.endswith("333300000001"))


def test_cat_of_proc_sys_as_on_the_kernel():
    paths = ["/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv4/tcp_rmem", "/proc/sys/net/ipv4/no_such_thing",
             "/proc/sys/net/ipv4/conf/eth0/rp_filter", "/proc/sys/net/ipv4", "/proc/sys/net/ipv4/ip_forward/",
             "/proc/sys/net/ipv4/neigh/eth0/retrans_time_ms"]
    with linux_pair() as ns:
        linux = ns.run("cat", *paths, check=False)
    world, h1 = tuxnet_lan()
    status, out = run_program(world, h1, cat_main, paths)
    # cat writes its complaints to stderr, a tuxnet program everything to its console
    lines = out.splitlines(keepends=True)
    assert "".join(line for line in lines if not line.startswith("cat: ")) == linux.stdout
    assert "".join(line for line in lines if line.startswith("cat: ")) == linux.stderr
    assert status == linux.returncode == 1


# The limits this machine's kernel sizes by its memory, set in our namespace to tuxnet's defaults
TUXNET_DEFAULTS = ["net.ipv4.tcp_max_syn_backlog=1024", "net.ipv4.tcp_max_tw_buckets=262144"]


def test_sysctl_of_a_directory_as_procps_lists_it():
    commands = [["net.ipv4"], ["net.ipv4.route"], ["net/ipv4/conf/eth0"], ["-N", "net.ipv4.neigh.eth0"],
                ["net.ipv4.ip_forward", "net.ipv4.route", "net.ipv4.nope"]]
    with linux_pair() as ns:
        ns.run("sysctl", "-qw", *TUXNET_DEFAULTS)
        # a namespace takes the machine's congestion control (BBR here) and may not change it: the
        # tuxnet host is given the same
        congestion = ns.run("sysctl", "-n", "net.ipv4.tcp_congestion_control").stdout.strip()
        linux = [ns.run("sysctl", *args, check=False) for args in commands]
    world, h1 = tuxnet_lan()
    h1.sysctl.set("net.ipv4.tcp_congestion_control", congestion)
    ours = [run_program(world, h1, sysctl_main, args) for args in commands]
    # tuxnet has fewer settings than Linux; and a host's table is init_net's, where a namespace
    # has no neigh.default, tcp_mem or tcp_max_orphans; and the congestion controls available are
    # listed as they registered (bbr before cubic in this kernel): each listing is compared on the
    # names both have, in the order each prints them
    def names(text: str) -> list[str]:
        return [line.split(" = ")[0] for line in text.splitlines()]

    for args, (status, out), theirs in zip(commands, ours, linux, strict=True):
        both = set(names(out)) & set(names(theirs.stdout)) - {"net.ipv4.tcp_available_congestion_control"}
        mine = [line for line in out.splitlines() if line.split(" = ")[0] in both or line.startswith("sysctl: ")]
        assert mine == [line for line in theirs.stdout.splitlines() + theirs.stderr.splitlines()
                        if line.split(" = ")[0] in both or line.startswith("sysctl: ")], args
        assert (status != 0) == (theirs.returncode != 0)
    assert len(names(ours[0][1])) > 150 and len(names(ours[1][1])) == 2
    # -n: the values alone, in the same order
    values = run_program(world, h1, sysctl_main, ["-n", "net.ipv4.conf.all"])[1]
    listing = run_program(world, h1, sysctl_main, ["net.ipv4.conf.all"])[1]
    assert values.splitlines() == [line.split(" = ")[1] for line in listing.splitlines()]


ROUTE_COMMANDS = [(route, []), (route, ["-n"]), (route, ["-e"]), (route, ["-ne"]), (route, ["-ee"]),
                  (route, ["-nee"]), (netstat, ["-r"]), (netstat, ["-rn"]), (netstat, ["-rne"]), (netstat, ["-rnee"])]


def test_route_and_netstat_r_as_net_tools_prints_them():
    """The routing table in each of net-tools 2.10's layouts: 0.0.0.0/0 as ``default`` and a
    gateway of 0.0.0.0 as itself, networks by their /etc/networks names and gateways by their
    /etc/hosts names (cut to 15 characters) unless ``-n``, rejecting routes with dashes."""
    setup = [c for c in SETUP if c.startswith("route ")]
    with linux_pair() as ns:
        for command in setup:
            ns.run("ip", *command.split())
        linux = [ns.run(fn.__name__, *args) for fn, args in ROUTE_COMMANDS]
    world, h1 = tuxnet_lan()
    for command in setup:
        ip(h1, command)
    ours = [run_program(world, h1, fn, args) for fn, args in ROUTE_COMMANDS]
    assert [(args, out) for (_, args), (_, out) in zip(ROUTE_COMMANDS, ours, strict=True)] == \
        [(args, theirs.stdout) for (_, args), theirs in zip(ROUTE_COMMANDS, linux, strict=True)]
    assert all(status == 0 for status, _ in ours)
    table = ours[0][1].splitlines()
    assert table[1] == "Destination     Gateway         Genmask         Flags Metric Ref    Use Iface"
    assert table[2] == "default         router.lab      0.0.0.0         UG    0      0        0 eth0"
    assert "loopback        a-very-long-gat 255.0.0.0       UG    0      0        0 eth0" in table
