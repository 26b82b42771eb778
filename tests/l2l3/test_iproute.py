"""The ``ip`` command's displays and verbs, as iproute2 prints them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from netlab import lan

from tuxnet.net.core.dev import dev_queue_xmit
from tuxnet.net.core.skbuff import alloc_skb
from tuxnet.net.ethernet.eth import eth_header
from tuxnet.user.iproute import IpError, ip, ip_main
from tuxnet.user.json_print import json_dumps
from tuxnet.world import msecs


def test_ip_addr_show():
    world, (h1, _), _ = lan(2)
    assert ip(h1, "addr show") == (
        "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n"
        "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
        "    inet 127.0.0.1/8 scope host lo\n"
        "       valid_lft forever preferred_lft forever\n"
        "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast state UP group default qlen 1000\n"
        "    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff\n"
        "    inet 10.0.0.1/24 brd 10.0.0.255 scope global eth0\n"
        "       valid_lft forever preferred_lft forever\n")
    assert ip(h1, "a s dev eth0").startswith("2: eth0:")


def test_ip_brief_prints_a_line_a_device_or_neighbour():
    """``ip -br``: the columns iproute2 6.1 prints (this machine's ``ip -br`` on a veth pair and
    a neighbour it was given): name in 16, state in 14, then the link address and flags, or the
    addresses each followed by a space; a neighbour's address in 39, its device in 16, its link
    address if it has one."""
    world, (h1, h2), _ = lan(2)
    ip(h1, "addr add 10.0.0.9/24 dev eth0")
    assert ip(h1, "-br link") == (
        "lo               UNKNOWN        00:00:00:00:00:00 <LOOPBACK,UP,LOWER_UP> \n"
        "eth0             UP             02:00:00:00:00:01 <BROADCAST,MULTICAST,UP,LOWER_UP> \n")
    assert ip(h1, "-brief addr") == ("lo               UNKNOWN        127.0.0.1/8 \n"
                                     "eth0             UP             10.0.0.1/24 10.0.0.9/24 \n")
    ip(h2, "link set dev eth0 down")
    assert ip(h2, "-br -s addr show eth0") == "eth0             DOWN           10.0.0.2/24 \n"
    ip(h1, "neigh add 10.0.0.7 lladdr 02:00:00:00:00:77 dev eth0")
    ip(h1, "neigh add 10.0.0.8 lladdr 02:00:00:00:00:88 dev eth0 nud stale")
    assert ip(h1, "-br neigh") == ("10.0.0.7                                eth0             02:00:00:00:00:77\n"
                                   "10.0.0.8                                eth0             02:00:00:00:00:88\n")
    with pytest.raises(IpError, match='Option "-b" is unknown'):
        ip(h1, "-b addr")


def test_ip_link_down_and_no_carrier():
    world, (h1, h2), _ = lan(2)
    ip(h2, "link set dev eth0 down")
    assert "<BROADCAST,MULTICAST> mtu 1500 qdisc pfifo_fast state DOWN" in ip(h2, "link show eth0")
    ip(h2, "link set eth0 up mtu 1400")
    assert "<BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400" in ip(h2, "link show eth0")
    h1.dev("eth0").priv = None
    h1.dev("eth0").netif_carrier_off()
    assert "<NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc pfifo_fast state DOWN" in ip(h1, "link")


def _raw_frames(src, dst, n: int) -> None:
    dev = src.dev("eth0")
    for _ in range(n):
        skb = alloc_skb(46, 14)
        skb.put_data(bytes(46))
        eth_header(skb, dev, 0x88B5, dst.dev("eth0").dev_addr, None)
        skb.dev = dev
        dev_queue_xmit(skb)


def test_ip_s_s_link_counts_packets_errors_and_collisions():
    world, (h1, h2), hub = lan(2, hub=True, rate="10mbit")
    dev = h1.dev("eth0")
    # Both stations start sending at the same instant: their first frames collide.
    _raw_frames(h1, h2, 3)
    _raw_frames(h2, h1, 1)
    world.run_for(msecs(10))
    lines = ip(h1, "-s -s link show eth0").splitlines()
    assert lines[2:] == [
        "    RX:  bytes packets errors dropped  missed   mcast           ",
        f"    {h1.dev('eth0').stats.rx_bytes:>10}{h1.dev('eth0').stats.rx_packets:>8}      0"
        f"{h1.dev('eth0').stats.rx_dropped:>8}       0       0 ",
        "    RX errors:  length    crc   frame    fifo overrun",
        "                     0      0       0       0       0 ",
        "    TX:  bytes packets errors dropped carrier collsns           ",
        f"    {dev.stats.tx_bytes:>10}{dev.stats.tx_packets:>8}      0       0       0{dev.stats.collisions:>8} ",
        "    TX errors: aborted   fifo  window heartbt transns",
        "                     0      0       0       0       0 ",
    ]
    assert dev.stats.tx_packets == 3 and dev.stats.tx_bytes == 3 * 60
    assert dev.stats.collisions >= 1 and h2.dev("eth0").stats.collisions >= 1, "both hosts sent at once"


def test_ip_neigh_and_errors():
    world, (h1, h2), _ = lan(2)
    ip(h1, "neigh add 10.0.0.9 lladdr 02:00:00:00:00:99 dev eth0")
    assert ip(h1, "neigh show") == "10.0.0.9 dev eth0 lladdr 02:00:00:00:00:99 PERMANENT \n"
    assert ip(h1, "neigh show dev eth0") == "10.0.0.9 lladdr 02:00:00:00:00:99 PERMANENT \n"
    ip(h1, "neigh add 10.0.0.8 lladdr 02:00:00:00:00:88 dev eth0 nud stale")
    assert ip(h1, "neigh").splitlines()[1] == "10.0.0.8 dev eth0 lladdr 02:00:00:00:00:88 STALE "
    ip(h1, "neigh flush dev eth0")
    assert ip(h1, "neigh") == "10.0.0.9 dev eth0 lladdr 02:00:00:00:00:99 PERMANENT \n", "flush keeps permanent"
    with pytest.raises(IpError, match='Device "eth9" does not exist.'):
        ip(h1, "link show eth9")
    with pytest.raises(IpError, match='Object "frob" is unknown'):
        ip(h1, "frob")
    with pytest.raises(IpError, match="File exists"):
        ip(h1, "route add 10.0.0.0/24 dev eth0")


def test_ip_as_a_program_prints_to_the_console():
    world, (h1, _), _ = lan(2)
    proc = h1.spawn(ip_main, ["route"])
    world.run_until(lambda: not proc.alive)
    assert proc.result == 0 and h1.output() == "10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.1 \n"
    proc = h1.spawn(ip_main, ["route", "get"])
    world.run_until(lambda: not proc.alive)
    assert proc.result == 1 and h1.output().endswith("need at least a destination address\n")


def test_ip_route_metrics_change_and_replace():
    world, (h1, _), _ = lan(2)
    ip(h1, "route add 192.0.2.0/24 via 10.0.0.2 dev eth0")
    with pytest.raises(IpError, match="^RTNETLINK answers: No such file or directory$"):
        ip(h1, "route change 192.0.2.1 via 10.0.0.2 dev eth0 advmss 600")  # no 192.0.2.1/32 yet
    ip(h1, "route replace 192.0.2.1 via 10.0.0.2 dev eth0 advmss 600 mtu lock 640 initcwnd 11 initrwnd 20")
    assert "192.0.2.1 via 10.0.0.2 dev eth0 mtu lock 640 advmss 600 initcwnd 11 initrwnd 20 \n" in ip(h1, "route")
    assert ip(h1, "route get 192.0.2.1") == ("192.0.2.1 via 10.0.0.2 dev eth0 src 10.0.0.1 uid 0 \n"
                                             "    cache mtu lock 640 advmss 600 initcwnd 11 initrwnd 20 \n")
    ip(h1, "route change 192.0.2.1 via 10.0.0.2 dev eth0 mtu 1400")  # the metrics are replaced too
    assert "192.0.2.1 via 10.0.0.2 dev eth0 mtu 1400 \n" in ip(h1, "route")
    ip(h1, "route add 192.0.2.7 via 10.0.0.2 mtu 70000 advmss 70000")  # clamped as Linux does
    assert "192.0.2.7 via 10.0.0.2 dev eth0 mtu 65520 advmss 65495 \n" in ip(h1, "route")
    with pytest.raises(IpError, match='^Error: argument "abc" is wrong: "mss" value is invalid$'):
        ip(h1, "route add 192.0.2.8 via 10.0.0.2 advmss abc")
    with pytest.raises(IpError, match='^Command line is not complete. Try option "help"$'):
        ip(h1, "route add 192.0.2.9 via 10.0.0.2 initcwnd")
    with pytest.raises(IpError, match="^RTNETLINK answers: No such file or directory$"):
        ip(h1, "route change 192.0.2.1 via 10.0.0.2 metric 5")  # a route is its prefix and metric


IP_SCRIPT = [
    "route add 192.0.2.0/24 via 10.0.0.2 dev eth0",
    "route change 192.0.2.1 via 10.0.0.2 dev eth0 advmss 600",
    "route replace 192.0.2.1 via 10.0.0.2 dev eth0 advmss 600 mtu lock 640 initcwnd 11 initrwnd 20",
    "route show",
    "route get 192.0.2.1",
    "route change 192.0.2.1 via 10.0.0.2 dev eth0 mtu 1400",
    "route add 192.0.2.7 via 10.0.0.2 mtu 70000 advmss 70000 initcwnd 3",
    "route add 192.0.2.8 via 10.0.0.2 advmss abc",
    "route show",
    "route get 192.0.2.7",
    "route show table local",
    "route get 10.0.0.1",
    "route get 127.0.0.1",
    "route get 10.0.0.5",
    "neigh add 10.0.0.9 lladdr 02:00:00:00:00:99 dev eth0",
    "neigh show",
    "neigh show dev eth0",
    "neigh add proxy 10.0.5.2 dev eth0",
    "neigh add proxy 10.0.5.3",
    "neigh add proxy 10.0.5.2 dev eth0",
    "neigh show proxy",
    "neigh show",
    "neigh del proxy 10.0.5.3",
    "neigh show proxy",
    "-4 route show table all",
    "addr add 10.0.0.7/24 dev eth0",
    "addr add 10.2.0.1/24 broadcast 10.2.0.9 dev eth0",
    "addr add 10.3.0.1/32 dev eth0",
    "addr add 10.5.0.1/24 brd - dev eth0",
    "addr add 10.6.0.1/24 brd bogus dev eth0",
    "addr add 10.0.0.7/24 dev eth0",
    "addr show dev eth0",
    "addr show dev lo",
    "route show table local",
    "route show",
    "route get 10.2.0.9",
    "route add 10.5.0.0/16 dev eth0 scope host",
    "route add 10.6.0.0/16 via 10.0.0.2 scope link",
    "route add 10.7.0.0/16 dev eth0 scope nowhere",
    "route add 10.8.0.0/16 dev eth0 scope 200",
    "route add 10.9.0.0/16 dev eth0 scope bogus",
    "route add 10.10.0.0/16 via 10.0.0.2 scope host",
    "route add 10.11.0.0/16 dev eth0 proto 99",
    "route add 10.12.0.0/16 dev eth0 proto 77",
    "route add 10.13.0.0/16 dev eth0 proto bogus",
    "route add 10.14.0.0/16 dev eth0 proto 256",
    "route add 10.15.0.0/16 dev eth0 proto kernel",
    "route add 10.16.0.0/16 dev eth0 proto 0x10",
    "route add 10.17.0.0/16 dev eth0 scope global",
    "route add 10.18.0.0/16 dev eth0 scope 254",
    "route add blackhole 10.19.0.0/16 scope link",
    "route add blackhole 10.23.0.0/16",
    "route add 10.20.0.0/16 via 10.0.0.2 proto boot",
    "route add 10.21.0.0/16 dev eth0 scope 256",
    "route add 10.22.0.0/16 via 10.5.0.1",
    "route add 10.24.0.0/16 via 10.0.0.2 proto static metric 7",
    "route add 0.0.0.0/8 dev eth0",
    "route add default via 10.0.0.2",
    "route add 10.0.0.0/8 dev eth0",
    "route add 10.0.0.0/25 dev eth0",
    "route show",
    "link set lo up",
    "-s link show dev lo",
    "-s -s link show dev lo",
    "link show dev lo",
    "-d link show dev lo",
    "link set lo mtu 100000",
    "link show dev lo",
]


# What a veth in a namespace has and a tuxnet host's eth0 has not: its index (after its peer's), its
# peer, its MAC, its qdisc, its queues, its kind, IPv6's address generation.
_VETH_KEYS = ("ifindex", "link", "address", "qdisc", "linkinfo", "inet6_addr_gen_mode", "num_tx_queues",
              "num_rx_queues")


def _json_devices(out: str, pretty: bool) -> str:
    """Of ``ip -json link|addr|maddr``, the objects of lo and eth0 without what is the veth's own
    (``_VETH_KEYS``), printed again as iproute2 prints them."""
    objs = []
    for obj in json.loads(out):
        if obj["ifname"] not in ("lo", "eth0"):
            continue
        obj.pop("inet6_addr_gen_mode", None)
        for key in _VETH_KEYS if obj["ifname"] == "eth0" else ():
            obj.pop(key, None)
        if "addr_info" in obj:
            obj["addr_info"] = [a for a in obj["addr_info"] if a.get("family") != "inet6" and ":" not in a["local"]]
        if "maddr" in obj:
            obj["maddr"] = [m for m in obj["maddr"]
                            if m.get("family") != "inet6" and not m.get("link", "").startswith("33:33")]
            if not obj["maddr"]:  # (only IPv6's groups: a device ip maddr would not list without them)
                continue
        objs.append(obj)
    return json_dumps(objs, pretty)


def _inet_lines(command: str, out: str) -> str:
    """Of ``ip addr show``, the lines of the addresses: a veth's MAC, qdisc and IPv6 addresses are
    not a tuxnet host's.  Of ``ip -d link``, all but IPv6's ``addrgenmode``: tuxnet has no IPv6.
    Of ``ip -json`` for devices, what ``_json_devices`` keeps."""
    words = command.split()
    obj = next((w for w in words if not w.startswith("-")), "")
    if "-j" in words and obj in ("addr", "link", "maddr"):
        return _json_devices(out, "-p" in words)
    if obj == "route" and not out.startswith("["):  # (no IPv6 here)
        out = "".join(line + "\n" for line in out.splitlines() if ":" not in line.split(" ")[0] or "Error" in line)
    if "-j" in words and obj == "route" and out.startswith("[") and "get" not in words:  # (no IPv6 here)
        return json_dumps([r for r in json.loads(out) if ":" not in r["dst"]], "-p" in words)
    if "-j" in words and obj == "neigh" and out.startswith("["):  # (the kernel's hash order; no IPv6)
        return json_dumps(sorted((n for n in json.loads(out) if ":" not in n["dst"]), key=lambda n: n["dst"]),
                          "-p" in words)
    if obj == "neigh":  # (no IPv6 here; the kernel's hash order)
        return "".join(sorted(line + "\n" for line in out.splitlines() if ":" not in line.split(" ", 1)[0]))
    if any(w.startswith("-o") for w in words):  # (no IPv6 here; the veth's index is after its peer's)
        out = "".join(re.sub(r"^\d+: eth0", "N: eth0", line) + "\n" for line in out.splitlines()
                      if "    inet6 " not in line)
    if "-d" in words and obj == "link":
        return out.replace("addrgenmode eui64 ", "")
    if not command.startswith("addr show"):
        return out
    return "".join(line + "\n" for line in out.splitlines() if line.startswith("    inet "))


def _on_linux_and_tuxnet(script: list[str]) -> tuple[list[str], list[str]]:
    """What each command prints (or its error), on this machine's kernel (a namespace of our own,
    with a veth named eth0 addressed as the tuxnet host's) and on a tuxnet host.  ``sysctl N=V``
    lines set a sysctl on both."""
    import os
    import subprocess

    from tuxnet.tapnet import Netns, netns_unavailable
    from tuxnet.user.etc import install_base_files

    def result(command: str, run: Callable[[], str]) -> str:
        try:
            return _inet_lines(command, run())
        except (IpError, subprocess.CalledProcessError) as e:
            return f"{e.stderr.strip() if isinstance(e, subprocess.CalledProcessError) else e}\n"

    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    ns = Netns(f"tuxnet-iproute-{os.getpid()}")
    try:
        ns.run("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
        for dev in ("eth0", "eth1"):
            ns.run("ip", "link", "set", dev, "up")
        ns.run("ip", "addr", "add", "10.0.0.1/24", "brd", "+", "dev", "eth0")  # as a configured host
        linux = [result(c, lambda c=c: ns.run(*(["sysctl", "-qw", c[7:]] if c.startswith("sysctl ")
                                                  else ["ip", *c.split()])).stdout)
                 for c in script]
    except OSError as e:
        pytest.skip(f"cannot set up a veth pair in a namespace: {e}")
    finally:
        ns.close()
    world, (h1, _), _ = lan(2)
    install_base_files(h1)  # (/etc/protocols, for ipproto's names, as this machine has it)
    ours = [result(c, lambda c=c: h1.sysctl.set(*c[7:].split("=")) or "" if c.startswith("sysctl ") else ip(h1, c))
            for c in script]
    return linux, ours


def assert_prints_as_linux(script: list[str]) -> None:
    """Each command of ``script`` prints (or fails with) on tuxnet what it does on the kernel."""
    linux, ours = _on_linux_and_tuxnet(script)
    for c, theirs, mine in zip(script, linux, ours, strict=True):
        assert mine == theirs, c


def test_ip_as_linux_prints_it():
    """The same ``ip route``, ``ip neigh`` and ``ip addr`` commands print the same bytes on the
    kernel and on tuxnet (each route line ends with a space, as iproute2 ends it) and fail with the
    same messages: metrics, secondary addresses, broadcast addresses and the routes they make."""
    linux, ours = _on_linux_and_tuxnet(IP_SCRIPT)
    assert ours == linux


# Route types beyond unicast and the errors: local (the whole prefix is this host's: AnyIP, and
# by default in the local table, scope host, a device needed), broadcast (local table, scope link)
# and throw (no route here: the rules go on, or there is none); the kernel's refusals of a scope
# too wide, of a next hop for a route that has none; listings, ``route get`` through them, deletes.
TYPE_SCRIPT = [
    "route add local 192.0.2.0/24 dev lo", "route add local 198.51.100.7 dev eth0", "route add throw 203.0.113.0/24",
    "route add throw 10.9.0.0/16 table 100", "route add broadcast 10.0.0.77 dev eth0",
    "route add local 10.7.0.0/16 dev eth0 table 100", "route add throw default table 7",
    "route add local default dev lo table 9", "route add local 10.8.0.0/16",
    "route add local 10.8.0.0/16 dev lo scope link",
    "route add local 10.8.0.0/16 via 10.0.0.5 dev eth0", "route add broadcast 10.0.0.78 dev eth0 scope global",
    "route add throw 10.10.0.0/16 dev eth0", "route add throw 10.11.0.0/16 via 10.0.0.5",
    "route add blackhole 10.12.0.0/16 dev eth0", "route add unreachable 10.13.0.0/16 via 10.0.0.5",
    "route show table local", "route", "route show table 100", "-4 route show table all",
    "-json route show table local",
    "route get 192.0.2.9", "route get 198.51.100.7", "route get 203.0.113.5", "route get 10.0.0.77",
    "route get 192.0.2.9 from 10.0.0.7 iif eth0", "route get 203.0.113.5 from 10.0.0.7 iif eth0",
    "rule add from all lookup 100 pref 100", "route get 10.9.1.1", "route get 10.7.1.1",
    "route add default via 10.0.0.9", "route get 10.9.1.1", "route get 8.8.8.8",
    "route del local 192.0.2.0/24 dev lo", "route del throw 203.0.113.0/24", "route del local 198.51.100.7",
    "route show table local", "route add local 192.0.2.0/24 dev lo proto static", "route add local 192.0.2.0/24 dev lo",
    "route replace local 192.0.2.0/24 dev lo metric 5", "route show table local", "route del throw 10.9.0.0/16",
    "route del throw 10.9.0.0/16 table 100", "route show table 100",
]


def test_route_types_as_linux_prints_them():
    assert_prints_as_linux(TYPE_SCRIPT)


def test_a_local_route_makes_a_whole_prefix_this_hosts():
    """AnyIP: with ``local 192.0.2.0/24 dev lo``, h2 answers a ping and a connection to any
    address of the prefix, from that address; h1 reaches the prefix through h2."""
    from tuxnet.net.socket import AF_INET, SOCK_STREAM
    from tuxnet.user import libc
    from tuxnet.user.programs.ping import ping_main

    world, (h1, h2), _ = lan(2)
    ip(h1, "route add 192.0.2.0/24 via 10.0.0.2")
    ip(h2, "route add local 192.0.2.0/24 dev lo")

    def server() -> tuple:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(fd, ("0.0.0.0", 80))
        libc.listen(fd, 5)
        conn, peer = libc.accept(fd)
        return libc.getsockname(conn), peer[0], libc.recv(conn, 10)

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("192.0.2.200", 80))
        libc.send(fd, b"anyip")

    srv = h2.spawn(server)
    h1.spawn(client)
    world.run_until(lambda: not srv.alive, timeout=10**10)
    assert srv.result == (("192.0.2.200", 80), "10.0.0.1", b"anyip")
    ping = h1.spawn(ping_main, ["-c", "1", "192.0.2.77"], name="ping")
    world.run_until(lambda: not ping.alive, timeout=10**10)
    assert "64 bytes from 192.0.2.77: icmp_seq=1 ttl=64" in h1.output()


def test_route_types_tuxnet_lacks_are_refused_clearly():
    world, (h1, _), _ = lan(2)
    for kind in ("anycast", "multicast", "nat"):
        with pytest.raises(IpError, match=f'has no "{kind}" routes'):
            ip(h1, f"route add {kind} 10.0.0.88 dev eth0")


DEL_SCRIPT = [
    "addr add 10.0.0.7/24 dev eth0",
    "addr add 10.0.0.8/24 dev eth0",
    "addr add 10.1.0.1/16 dev eth0",
    "route add 192.0.2.0/24 via 10.0.0.2",
    "route add 198.51.100.0/24 via 10.1.0.2 src 10.1.0.1",
    "addr del 10.9.9.9/24 dev eth0",
    "addr del 10.0.0.1/16 dev eth0",
    "addr del 10.0.0.1/24 dev eth0",  # its secondaries go with it
    "addr show dev eth0",
    "route show table local",
    "route show",
    "sysctl net.ipv4.conf.all.promote_secondaries=1",
    "addr add 10.0.0.1/24 brd + dev eth0",
    "addr add 10.0.0.7/24 dev eth0",
    "addr add 10.0.0.8/24 dev eth0",
    "addr del 10.0.0.1/24 dev eth0",  # 10.0.0.7 becomes the primary
    "addr show dev eth0",
    "route show table local",
    "route show",
    "addr del 10.1.0.1 dev eth0",  # wildcard: and the route that named it as source
    "route show",
    "addr del 10.0.0.7/24 dev eth0",
    "addr del 10.0.0.8/24 dev eth0",  # the last: every route through eth0 goes
    "addr show dev eth0",
    "route show",
    "route show table local",
]


JSON_SETUP = [
    "link set lo up",
    "addr add 10.0.0.9/24 dev eth0",
    "addr add 10.1.0.1/16 brd + dev eth0",
    "neigh add 10.0.0.7 lladdr 02:00:00:00:00:77 dev eth0",
    "neigh add 10.0.0.8 lladdr 02:00:00:00:00:88 dev eth0 nud stale",
    "neigh add proxy 10.0.5.2 dev eth0",
    "neigh add proxy 10.0.5.3",
    "route add 192.0.2.0/24 via 10.0.0.2 metric 5 src 10.0.0.1 mtu lock 1400 advmss 1300 initcwnd 10",
    "route add 192.0.2.128/25 via 10.0.0.2 mtu 1280 initrwnd 30",
    "route add blackhole 198.51.100.0/24",
    "route add unreachable 203.0.113.0/24 table 100",
    "route add default via 10.0.0.254 proto static",
    "rule add from 10.0.0.0/24 to 1.2.3.4 tos 0x10 fwmark 0x5/0xff iif eth0 lookup 100 pref 100",
    "rule add not from 10.9.9.9 to 10.8.0.0/16 oif lo lookup main suppress_prefixlength 0",
    "rule add goto 32766 pref 50",
    "rule add goto 777 pref 51",
    "rule add nop pref 52",
    "rule add prohibit pref 60",
    "rule add fwmark 3 blackhole",
    "rule add iif dummy9 lookup 100 pref 10",
]
JSON_SHOW = [
    "addr", "addr show dev eth0", "-s -s addr show dev lo", "link", "link show dev lo", "-d link show dev lo",
    "-s link show dev lo", "-s -s link show dev lo", "-br addr", "-br link", "maddr", "maddr show dev lo",
    "route", "route show table all", "route show table 100", "route show table local",
    "neigh", "neigh show dev eth0", "neigh show proxy", "-br neigh", "rule", "rule show pref 100",
    "route get 192.0.2.9", "route get 192.0.2.200", "route get 10.0.0.1", "route get 10.0.0.255",
    "route get 8.8.8.8 mark 5", "route get 10.0.0.3 from 10.0.0.1", "route get 10.0.0.3 oif eth0",
    "route get 1.2.3.4 from 10.0.0.5 iif eth0", "route get 10.0.0.1 from 10.0.0.5 iif eth0",
    "route get 10.0.0.255 from 10.0.0.5 iif eth0", "route get 10.0.0.7 from 10.0.0.5 iif eth0",
    "route get 1.2.3.4 from 10.0.0.5 iif eth0 mark 5 tos 0x10",
]
ONELINE = ["-o addr show dev eth0", "-oneline addr show dev lo", "-o link show dev lo", "-o -s link show dev lo",
           "-o -s -s link show dev lo", "-o -d link show dev lo", "-o route", "-o rule", "-o neigh show dev eth0"]


def test_ip_json_as_linux_prints_it():
    """``ip -json`` and ``ip -json -pretty`` print what this machine's iproute2 prints for the
    same devices, addresses, neighbours, routes (their types, tables, metrics) and rules (every
    selector and action, a detached device and an unresolved goto among them), and ``route get``'s
    answers, input routes (a redirect too) included: the same bytes, but for what is the veth's
    own; and the same errors.  A device going down leaves 224.0.0.1 (``ip_mc_down``).  And
    ``-oneline``'s lines, a device's joined by backslashes, an address's after its device."""
    script = [*JSON_SETUP, "sysctl net.ipv4.ip_forward=0", *[f"{opts} {c}" for c in JSON_SHOW for opts in
                                                             ("-j", "-j -p")],
              "sysctl net.ipv4.ip_forward=1", "-j route get 10.0.0.7 from 10.0.0.5 iif eth0",
              "-j -p route get 10.0.0.7 from 10.0.0.5 iif eth0 mark 20",
              "link set eth0 down", "-j maddr show dev eth0", "link set eth0 up", "-j maddr show dev eth0", *ONELINE]
    linux, ours = _on_linux_and_tuxnet(script)
    assert [(c, o) for c, o in zip(script, ours, strict=True)] == [(c, o) for c, o in zip(script, linux, strict=True)]


def test_ip_json_stats_widen_their_columns():
    """``ip -s link``'s columns are as wide as the widest number in them (``size_columns``), and
    ``-json`` gives the same counters under iproute2's keys."""
    world, (h1, _), _ = lan(2)
    stats = h1.dev("eth0").stats
    stats.rx_bytes, stats.tx_packets, stats.tx_aborted_errors = 12345678901, 123456789, 7
    lines = ip(h1, "-s -s link show eth0").splitlines()
    assert lines[2:] == [
        "    RX:   bytes   packets errors dropped  missed   mcast           ",
        "    12345678901         0      0       0       0       0 ",
        "    RX errors:    length    crc   frame    fifo overrun",
        "                        0      0       0       0       0 ",
        "    TX:   bytes   packets errors dropped carrier collsns           ",
        "              0 123456789      0       0       0       0 ",
        "    TX errors:   aborted   fifo  window heartbt transns",
        "                        7      0       0       0       0 ",
    ]
    counters = json.loads(ip(h1, "-j -s -s link show eth0"))[0]["stats64"]
    assert counters["rx"]["bytes"] == 12345678901 and counters["tx"]["packets"] == 123456789
    assert counters["tx"]["aborted_errors"] == 7
    with pytest.raises(IpError, match="-json tcp_metrics"):
        ip(h1, "-j tcp_metrics show")


NEIGH_SCRIPT = [
    "neigh add 10.0.0.7 lladdr 02:00:00:00:00:77 dev eth0",
    "neigh add 10.0.0.7 lladdr 02:00:00:00:00:70 dev eth0",
    "neigh add to 10.0.0.8 lladdr 02:00:00:00:00:88 nud stale dev eth0",
    "neigh add 10.0.0.9 lladdr 02:00:00:00:00:99 dev eth0 nud reachable",
    "neigh add 10.0.0.10 lladdr 02:00:00:00:00:10 dev eth0 nud noarp",
    "neigh add 10.1.0.11 lladdr 02:00:00:00:00:11 dev eth0 nud permanent",
    "neigh add 10.1.0.12 dev eth0", "neigh add 10.1.0.13 lladdr 02:00 dev eth0",
    "neigh add 10.1.0.14 lladdr xyz dev eth0",
    "neigh show", "neigh show nud all", "neigh show nud noarp", "neigh show nud stale nud permanent",
    "-s neigh show nud all", "-s -s neigh", "-j -s neigh show nud all",
    "neigh show 10.0.0.0/30", "neigh show to 10.0.0.8", "neigh show 10.1.0.0/16 dev eth0", "neigh show all",
    "neigh show eth0", "neigh show nud bogus", "neigh show dev eth9", "-br neigh show nud all",
    "neigh change 10.0.0.9 lladdr 02:00:00:00:00:19 dev eth0",
    "neigh change 10.0.0.99 lladdr 02:00:00:00:00:19 dev eth0",
    "neigh replace 10.0.0.9 lladdr 02:00:00:00:00:29 dev eth0 nud permanent",
    "neigh replace 10.0.0.12 lladdr 02:00:00:00:00:12 dev eth0",
    "neigh show",
    "neigh del 10.0.0.12 dev eth0", "neigh del 10.0.0.12 dev eth0", "neigh del 10.0.0.12",
    "neigh delete 10.0.0.8 dev eth0",
    "neigh show nud all",
    "neigh flush", "neigh flush eth0", "neigh flush dev eth9", "neigh flush nud bogus",
    "neigh add 10.0.0.13 lladdr 02:00:00:00:00:13 dev eth0 nud stale",
    "neigh flush all", "neigh show nud all",
    "neigh add 10.0.0.14 lladdr 02:00:00:00:00:14 dev eth0 nud stale",
    "neigh flush 10.1.0.0/16", "neigh show nud all",
    "neigh flush dev eth0 nud permanent", "neigh show nud all",
    "neigh flush to 10.0.0.0/8 nud all", "neigh show nud all",
]


def test_ip_neigh_as_linux_does_it():
    """``ip neigh add|change|replace|del|flush|show`` select, change and remove entries as the
    kernel's neigh_add/neigh_delete and iproute2's filters do: the same output and errors."""
    linux, ours = _on_linux_and_tuxnet(NEIGH_SCRIPT)
    assert list(zip(NEIGH_SCRIPT, ours, strict=True)) == list(zip(NEIGH_SCRIPT, linux, strict=True))


ROUTE_SELECT_SCRIPT = [
    "link set lo up",
    "addr add 10.1.0.1/24 dev eth0",
    "route add 192.0.2.0/24 via 10.0.0.2 proto static metric 5",
    "route add 192.0.2.128/25 via 10.1.0.2",
    "route add default via 10.0.0.254",
    "route add blackhole 198.51.100.0/24",
    "route add 203.0.113.0/24 dev eth0 table 100",
    *[f"{json}route show {selector}" for json in ("", "-j ") for selector in (
        "dev eth0", "10.0.0.0/24", "192.0.2.0/24", "root 192.0.2.0/24", "match 192.0.2.200", "exact 192.0.2.0/24",
        "to 192.0.2.0/24", "to root 192.0.2.0/24", "proto kernel", "proto static", "scope link", "type blackhole",
        "via 10.0.0.2", "src 10.1.0.1", "dev eth0 proto kernel", "table main dev eth0", "dev eth9", "bogus",
        "match 0/0", "table local dev lo", "scope host table all", "type local table local", "default", "metric 5",
        "exact default", "all", "table 100", "table all dev eth0 scope link", "type bogus", "proto", "scope 300")],
    "route flush cache",
    "route flush table 7",
    "route flush proto static",
    "route show",
    "route flush via 10.1.0.2",
    "route flush table 100 203.0.113.0/24",
    "route show table all type unicast",
    "route add 0/0 via 10.0.0.254 metric 9", "route add 10.7/16 dev eth0", "route add 10.8.0.0/255.255.0.0 dev eth0",
    "route add 10.9.0.0/255.0.255.0 dev eth0", "route add 0x0a.0x0a.0.0/16 via 012.0.0.2", "route show",
    "route del 10.7/16", "route del 0/0 metric 9", "route show match 10.8.1.1", "route show root 10/8",
]


def test_ip_route_selectors_as_linux_takes_them():
    """``ip route show|flush`` selectors (a destination as root, match or exact; table, device,
    gateway, source, protocol, scope, type, metric) pick the routes the kernel's dump and
    iproute2's filter pick, and leave out the words they fixed, as iproute2 does."""
    linux, ours = _on_linux_and_tuxnet(ROUTE_SELECT_SCRIPT)
    assert list(zip(ROUTE_SELECT_SCRIPT, ours, strict=True)) == list(zip(ROUTE_SELECT_SCRIPT, linux, strict=True))


ADDR_OPTIONS_SCRIPT = [
    "addr add 10.0.0.5/24 dev eth0 label eth0:1", "addr add 10.0.0.6/24 label eth0:2 dev eth0",
    "addr add 10.0.0.7/24 dev eth0 label foo", "addr add 10.0.0.8/24 dev eth0 label eth0:verylongname1",
    "addr add 10.2.0.1/24 dev eth0 scope link", "addr add 10.3.0.1/24 dev eth0 noprefixroute",
    "addr add 10.4.0.1/24 dev eth0 scope host", "addr add 10.5.0.1/24 dev eth0 scope bogus",
    "addr add 10.6.0.1/24 dev eth0 label eth0:x scope 5",
    "addr show dev eth0", "-j addr show dev eth0", "-o addr show dev eth0", "route", "route show table local",
    "route get 10.9.9.9 oif eth0",
    "addr del 10.0.0.5/24 dev eth0 label eth0:2", "addr del 10.0.0.5/24 dev eth0 label eth0:1",
    "addr del 10.3.0.1/24 dev eth0", "addr show dev eth0", "route", "route show table local",
]


def test_ip_addr_labels_scopes_and_noprefixroute_as_linux_has_them():
    """``ip addr add`` with ``label``, ``scope`` and ``noprefixroute``: the kernel's order of the
    addresses (primaries by scope, secondaries after), its routes (none for a noprefixroute
    prefix), its source choice, and a label's length and match on deletion."""
    linux, ours = _on_linux_and_tuxnet(ADDR_OPTIONS_SCRIPT)
    assert list(zip(ADDR_OPTIONS_SCRIPT, ours, strict=True)) == list(zip(ADDR_OPTIONS_SCRIPT, linux, strict=True))


def test_ip_addr_del_as_linux_does_it():
    linux, ours = _on_linux_and_tuxnet(DEL_SCRIPT)
    assert ours == linux


def test_ip_route_says_linkdown_without_carrier():
    world, (h1, _), _ = lan(2)
    ip(h1, "route add 10.9.0.0/16 via 10.0.0.2 metric 7 src 10.0.0.1")
    h1.dev("eth0").netif_carrier_off()
    # As Linux 6.1's iproute2 printed it for a veth whose peer was down (RTNH_F_LINKDOWN).
    assert ip(h1, "route") == ("10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.1 linkdown \n"
                               "10.9.0.0/16 via 10.0.0.2 dev eth0 src 10.0.0.1 metric 7 linkdown \n")
    assert " linkdown" not in ip(h1, "route show table local").split("\n")[0]  # a local route has none


# Commands that fail, each in its own way: what iproute2 itself rejects (exit status 1), a command
# line it cannot parse (255), and what the kernel refuses (2).
IP_ERRORS = [
    "link show dev nosuch", "addr show dev nosuch", "addr add 10.0.0.5/24 dev eth0 frob", "addr add 10.0.0.5/24",
    "addr add 10.0.0.5/24 brd xyz dev eth0", "addr del 10.0.0.5/24", "addr del 1.2.3.4/24 dev eth0",
    "addr add 1.2.3.4/24 dev nosuch", "addr add 10.0.0.5/33 dev eth0", "addr add 10.0.0.x/24 dev eth0",
    "addr del 10.0.0.5/33 dev eth0", "addr add 10.0.0.1/24 dev eth0",
    "route get 192.0.2.1", "route get", "route get 10.0.0.x", "route add", "route del", "route frob",
    "route add 10.1.0.0/24 via 10.0.0.2 10.2.0.0/24", "route add 10.1.0.0/24 via 10.0.0.2 mtu",
    "route add 10.1.0.0/24 via 10.0.0.2 mtu abc", "route add 10.1.0.0/24 via 10.0.0.2 frob",
    "route add 10.1.0.0/24 via 10.9.9.9", "route add 10.0.0.0/33 dev eth0", "route add 10.0.x.0/24 dev eth0",
    "route add 10.1.0.0/24 dev nosuch", "route add 10.1.0.0/24 via 10.0.0.2 dev nosuch",
    "route add 10.1.0.0/24 dev eth0 metric x", "route add 10.1.0.0/24 via x", "route add 10.0.0.1/24 dev eth0",
    "route add 10.1.0.0/24 dev eth0 src 1.2.3.4", "route change 10.9.0.0/24 dev eth0",
    "route add 10.1.0.0/24 dev eth0", "route add 10.1.0.0/24 dev eth0", "route del 10.7.0.0/24",
    "route show table 200", "route show table frob", "route show table",
    "neigh add 10.0.0.9 lladdr 02:00:00:00:00:09", "neigh add 10.0.0.9 lladdr 02:00:00:00:00:09 dev eth0 nud frob",
    "neigh add 10.0.0.9 lladdr 02:00:00:00:00:09 dev eth0 frob", "neigh add", "neigh show dev nosuch",
    "neigh add 10.0.0.x lladdr 02:00:00:00:00:09 dev eth0", "neigh add 10.0.0.9 lladdr zz dev eth0",
    "neigh flush dev nosuch", "-frob route", "frob", "link set eth0 mtu 10", "link set eth0 mtu 70000",
    "link set eth0 mtu abc", "link set eth0 frob", "link set nosuch up", "link set eth0 mtu",
    "link set eth0 gso_max_size 100", "link set eth0 gso_max_size 1000000", "link set eth0 gso_max_size",
    "link set eth0 gso_max_segs 70000", "link set eth0 gso_max_segs x",
    "tcp_metrics delete", "tcp_metrics delete 10.0.0.x", "tcp_metrics frob", "tcp_metrics flush 10.0.0.9",
    "tcp_metrics delete address 10.0.0.9", "tcp_metrics show 10.0.0.9",
    "neigh del proxy 10.0.5.2 dev eth0", "neigh add proxy", "neigh add proxy 10.0.5.x dev eth0",
    "neigh add proxy 10.0.5.2 dev nosuch",
    # numbers by get_u32/get_unsigned (strtoul in base 0: 0x hexadecimal, 0 octal, nothing after)
    "route add 10.3.0.0/24 dev eth0 metric ²", "route add 10.3.0.0/24 dev eth0 metric 0x10",
    "route add 10.4.0.0/24 dev eth0 metric -1", "route add 10.5.0.0/24 dev eth0 metric 99999999999",
    "route add 10.6.0.0/24 dev eth0 metric 010",
    "link set eth0 mtu 0x5dc", "link set eth0 mtu ²", "link set eth0 mtu -1",
    "route add 10.1.0.0/24 via 10.0.0.2 mtu 0x500", "route show table 0x20",
]


def test_ip_fails_as_iproute2_does():
    """The same failing commands on the kernel (with iproute2) and on tuxnet: the same message
    (the first line iproute2 writes to stderr) and the same exit status."""
    import os

    from tuxnet.tapnet import Netns, netns_unavailable

    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    ns = Netns(f"tuxnet-iperr-{os.getpid()}")
    linux = []
    try:
        ns.run("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
        for dev in ("eth0", "eth1"):
            ns.run("ip", "link", "set", dev, "up")
        ns.run("ip", "addr", "add", "10.0.0.1/24", "brd", "+", "dev", "eth0")
        for c in IP_ERRORS:
            r = ns.run("ip", *c.split(), check=False)
            linux.append((r.returncode, (r.stderr.splitlines() or [""])[0]))
    except OSError as e:
        pytest.skip(f"cannot set up a veth pair in a namespace: {e}")
    finally:
        ns.close()
    world, (h1, _), _ = lan(2)
    ours = []
    for c in IP_ERRORS:
        before = len(h1.console)
        proc = h1.spawn(ip_main, c.split())
        world.run_until(lambda proc=proc: not proc.alive)
        ours.append((proc.result, ("".join(h1.console[before:]).splitlines() or [""])[0]))
    assert {status for status, _ in linux} == {0, 1, 2, 255}  # 0: the first of the two same adds
    for c, theirs, mine in zip(IP_ERRORS, linux, ours, strict=True):
        assert mine == theirs, c
