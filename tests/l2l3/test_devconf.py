"""net.ipv4.conf.*: the settings, ICMP redirects, the reverse path filter and ARP's settings;
the first two also judged by the Linux kernel on this machine.

1. How the settings of ``all``, ``default`` and each device follow writes (``inet_forward_change``,
   ``devinet_copy_dflt_conf``): the same writes in a namespace of our own and on a tuxnet host,
   then every value read back.
2. An ICMP redirect (RFC 1122 3.2.2.2, RFC 1812 5.2.7.2): A's default gateway R1 forwards A's ping
   for B back out of the LAN to R2, and tells A so.  The first redirect only makes A ask ARP for
   R2 (``__ip_do_redirect`` heeds one naming a known neighbour); the second is heeded, and the
   third ping goes to R2 directly::

       A 10.0.1.1 --+-- R1 10.0.1.254 (A's default gateway; 10.0.3.0/24 via R2)
                    +-- R2 10.0.1.253 -- B 10.0.3.2
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess

import pytest

from tuxnet.net.socket import AF_INET, SOCK_DGRAM
from tuxnet.tapnet import Netns, netns_unavailable
from tuxnet.user import libc
from tuxnet.user.iproute import ip
from tuxnet.user.programs.ping import ping_main
from tuxnet.world import World, msecs, secs

NAMES = ("accept_local", "accept_redirects", "arp_announce", "arp_filter", "arp_ignore", "arp_notify", "forwarding",
         "medium_id", "promote_secondaries", "proxy_arp", "rp_filter", "secure_redirects", "send_redirects",
         "shared_media")
# Writes, then a device made after them (eth1): what each scope holds after each step.
WRITES = ["net.ipv4.conf.default.rp_filter=2", "net.ipv4.conf.eth0.arp_ignore=1", "net.ipv4.conf.default.proxy_arp=1",
          "net.ipv4.conf.eth0.proxy_arp=0", "net.ipv4.conf.all.medium_id=3",
          "net.ipv4.conf.default.arp_ignore=2", "net.ipv4.ip_forward=1", "net.ipv4.conf.default.send_redirects=0",
          "net.ipv4.conf.eth0.forwarding=0", "net.ipv4.conf.all.forwarding=0", "net.ipv4.conf.default.forwarding=1",
          "net.ipv4.neigh.eth0.ucast_solicit=5", "net.ipv4.neigh.eth0.retrans_time_ms=500",
          "net.ipv4.neigh.lo.gc_stale_time=120"]


def needs_root() -> None:
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)


# (A namespace has no net.ipv4.neigh.default: only the first, a machine's own, does.)
NEIGH_NAMES = ("base_reachable_time_ms", "retrans_time_ms", "delay_first_probe_time", "gc_stale_time",
               "mcast_solicit", "ucast_solicit", "app_solicit", "unres_qlen_bytes", "proxy_delay", "proxy_qlen")


def keys(devs: tuple[str, ...]) -> list[str]:
    return ["net.ipv4.ip_forward"] + [f"net.ipv4.conf.{scope}.{name}" for scope in ("all", "default", *devs)
                                      for name in NAMES] + [
        f"net.ipv4.neigh.{scope}.{name}" for scope in devs for name in NEIGH_NAMES]


@pytest.mark.root
def test_settings_follow_writes_as_on_linux():
    needs_root()
    ns = Netns(f"tuxnet-devconf-{os.getpid()}")
    linux = []
    try:
        ns.run("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "p0")
        for w in WRITES:
            ns.run("sysctl", "-qw", w)
            linux.append(ns.run("sysctl", "-n", *keys(("lo", "eth0"))).stdout.split())
        ns.run("ip", "link", "add", "eth1", "type", "veth", "peer", "name", "p1")
        linux.append(ns.run("sysctl", "-n", *keys(("lo", "eth0", "eth1"))).stdout.split())
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"cannot make veth devices in a namespace here: {e}")
    finally:
        ns.close()
    world = World()
    h = world.add_host("h")
    world.connect(h, world.add_host("p0"))  # h's eth0
    ours = []
    for w in WRITES:
        h.sysctl.set(*w.split("="))
        ours.append([str(h.sysctl[k]) for k in keys(("lo", "eth0"))])
    world.connect(h, world.add_host("p1"))  # eth1
    ours.append([str(h.sysctl[k]) for k in keys(("lo", "eth0", "eth1"))])
    assert len(linux) == len(ours)
    for step, (theirs, mine) in enumerate(zip(linux, ours, strict=True)):
        names = keys(("lo", "eth0", "eth1"))
        step_name = (WRITES + ["eth1 made"])[step]
        assert dict(zip(names, mine, strict=False)) == dict(zip(names, theirs, strict=False)), step_name


def masked(text: str) -> str:
    text = re.sub(r"time=[\d.]+ ms", "time=T ms", text)
    text = re.sub(r"time \d+ms", "time Tms", text)
    return re.sub(r"rtt min/avg/max/mdev = \S+ ms", "rtt min/avg/max/mdev = T ms", text)


PING = ["-c", "3", "-i", "0.2", "10.0.3.2"]


def linux_redirect() -> tuple[str, str, str]:
    names = {n: f"tuxnet-redir-{os.getpid()}-{n}" for n in ("a", "r1", "r2", "b", "lan")}
    spaces: dict[str, Netns] = {}
    try:
        for n, name in names.items():
            spaces[n] = Netns(name)
        lan = spaces["lan"]
        lan.run("ip", "link", "add", "br0", "type", "bridge")
        lan.run("ip", "link", "set", "br0", "up")
        for n, addr in (("a", "10.0.1.1/24"), ("r1", "10.0.1.254/24"), ("r2", "10.0.1.253/24")):
            subprocess.run(["ip", "link", "add", "eth0", "netns", names[n], "type", "veth", "peer", "name",
                            f"p{n}", "netns", names["lan"]], check=True, capture_output=True)
            lan.run("ip", "link", "set", f"p{n}", "master", "br0", "up")
            spaces[n].run("ip", "addr", "add", addr, "dev", "eth0")
            spaces[n].run("ip", "link", "set", "eth0", "up")
        subprocess.run(["ip", "link", "add", "eth1", "netns", names["r2"], "type", "veth", "peer", "name", "eth0",
                        "netns", names["b"]], check=True, capture_output=True)
        spaces["r2"].run("ip", "addr", "add", "10.0.3.254/24", "dev", "eth1")
        spaces["r2"].run("ip", "link", "set", "eth1", "up")
        spaces["b"].run("ip", "addr", "add", "10.0.3.2/24", "dev", "eth0")
        spaces["b"].run("ip", "link", "set", "eth0", "up")
        spaces["a"].run("ip", "route", "add", "default", "via", "10.0.1.254")
        spaces["r1"].run("ip", "route", "add", "10.0.3.0/24", "via", "10.0.1.253")
        spaces["b"].run("ip", "route", "add", "default", "via", "10.0.3.254")
        for r in ("r1", "r2"):
            spaces[r].run("sysctl", "-qw", "net.ipv4.ip_forward=1")
        out = spaces["a"].run("ping", *PING, check=False).stdout
        route = spaces["a"].run("ip", "route", "get", "10.0.3.2").stdout
        counters = (spaces["a"].run("nstat", "-az", "IcmpInRedirects").stdout.split()[-2] + " " +
                    spaces["r1"].run("nstat", "-az", "IcmpOutRedirects").stdout.split()[-2])
        return out, route, counters
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"cannot build the namespaces' network here: {e}")
    finally:
        for ns in spaces.values():
            ns.close()


def redirect_world() -> tuple[World, dict]:
    world = World(seed=1)
    a, r1, r2, b = world.add_host("a"), world.add_router("r1"), world.add_router("r2"), world.add_host("b")
    sw = world.add_switch("sw0")
    world.connect(a, sw, a_addr="10.0.1.1/24")
    world.connect(r1, sw, a_addr="10.0.1.254/24")
    world.connect(r2, sw, a_addr="10.0.1.253/24")
    world.connect(r2, b, a_addr="10.0.3.254/24", b_addr="10.0.3.2/24")
    ip(a, "route add default via 10.0.1.254")
    ip(r1, "route add 10.0.3.0/24 via 10.0.1.253")
    ip(b, "route add default via 10.0.3.254")
    world.run_for(msecs(10))
    return world, {"a": a, "r1": r1, "r2": r2, "b": b}


@pytest.mark.root
def test_icmp_redirect_as_on_linux():
    needs_root()
    for tool in ("ping", "nstat"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is needed (apt-get install iputils-ping iproute2)")
    linux_out, linux_route, linux_counters = linux_redirect()
    world, n = redirect_world()
    proc = n["a"].spawn(ping_main, PING)
    world.run_until(lambda: not proc.alive)
    assert "Redirect Host(New nexthop: 10.0.1.253)" in linux_out
    assert masked(n["a"].output()) == masked(linux_out)
    assert ip(n["a"], "route get 10.0.3.2") == linux_route == (
        "10.0.3.2 via 10.0.1.253 dev eth0 src 10.0.1.1 uid 0 \n    cache <redirected> expires 299sec \n")
    assert f"{n['a'].mib.Icmp['InRedirects']} {n['r1'].mib.Icmp['OutRedirects']}" == linux_counters == "2 2"


def _ping(world: World, host, *args: str) -> str:
    proc = host.spawn(ping_main, list(args))
    world.run_until(lambda: not proc.alive)
    return host.output()


def test_redirects_are_spaced_and_stop_after_nine_unheeded():
    """ip_rt_send_redirect's token scheme: 20 ms after the first, then 40, 80 ... ms; after nine
    that went unheeded (A does not accept redirects) no more, while the traffic keeps coming."""
    from netlab import capture

    world, n = redirect_world()
    a, r1 = n["a"], n["r1"]
    for scope in ("all", "eth0"):
        a.sysctl.set(f"net.ipv4.conf.{scope}.accept_redirects", 0)
    cap = capture(a, "eth0", promisc=False)
    _ping(world, a, "-c", "300", "-i", "0.1", "-q", "10.0.3.2")
    sent = [t for t, f, _ in cap.frames if f[12:14] == b"\x08\x00" and f[23] == 1 and f[34] == 5]
    assert len(sent) == r1.mib.Icmp["OutRedirects"] == 9
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    assert all(gap >= msecs(20) << k for k, gap in enumerate(gaps, 1))
    assert ip(a, "route get 10.0.3.2").startswith("10.0.3.2 via 10.0.1.254 ")  # never heeded
    assert a.mib.Icmp["InRedirects"] == 9


def test_no_redirect_without_send_redirects_and_a_router_ignores_them():
    world, n = redirect_world()
    for scope in ("all", "eth0"):
        n["r1"].sysctl.set(f"net.ipv4.conf.{scope}.send_redirects", 0)
    _ping(world, n["a"], "-c", "3", "-i", "0.2", "10.0.3.2")
    assert n["r1"].mib.Icmp["OutRedirects"] == 0
    world, n = redirect_world()
    n["a"].sysctl.set("net.ipv4.ip_forward", 1)  # a router: all.accept_redirects becomes 0
    assert n["a"].sysctl["net.ipv4.conf.all.accept_redirects"] == 0
    _ping(world, n["a"], "-c", "3", "-i", "0.2", "10.0.3.2")
    assert n["a"].mib.Icmp["InRedirects"] == 3
    assert "redirected" not in ip(n["a"], "route get 10.0.3.2")


def test_secure_redirects_on_a_private_medium_allow_only_a_default_gateway():
    """With shared_media off, a redirect must name a neighbour on the old gateway's subnet and,
    with secure_redirects, one of the default gateways."""
    world, n = redirect_world()
    a = n["a"]
    for scope in ("all", "eth0"):
        a.sysctl.set(f"net.ipv4.conf.{scope}.shared_media", 0)
    _ping(world, a, "-c", "3", "-i", "0.2", "10.0.3.2")
    assert "redirected" not in ip(a, "route get 10.0.3.2")  # R2 is no default gateway
    ip(a, "route add default via 10.0.1.253 metric 100")
    world.run_for(secs(30))  # R1's redirects: quiet long enough to start over
    _ping(world, a, "-c", "3", "-i", "0.2", "10.0.3.2")
    assert ip(a, "route get 10.0.3.2").startswith("10.0.3.2 via 10.0.1.253 ")


def test_a_tcp_connection_moves_to_the_better_gateway():
    """tcp_v4_err → do_redirect: the connection's next segments go to R2 directly."""
    from netlab import capture

    from tuxnet.benchmarks import tcp_sink, tcp_source

    world, n = redirect_world()
    a, b = n["a"], n["b"]
    r2_mac = n["r2"].dev("eth0").dev_addr
    cap = capture(a, "eth0", promisc=False)
    got: list[int] = []
    b.spawn(tcp_sink, "10.0.3.2", 5001, got)
    proc = a.spawn(tcp_source, "10.0.3.2", 5001, bytes(1 << 16), 1 << 20)
    world.run_until(lambda: not proc.alive)
    world.run_for(secs(1))
    assert got == [1 << 20]
    to = [f[0:6] == r2_mac for _, f, _ in cap.frames if f[12:14] == b"\x08\x00" and f[26:30] == bytes([10, 0, 1, 1])]
    assert to[0] is False and to[-1] is True and sum(to) > len(to) // 2
    assert a.mib.Icmp["InRedirects"] >= 1


def test_rp_filter_strict_and_loose():
    """RFC 3704 on a router: a packet from 10.0.3.2 arriving on the LAN side, where no route
    back to 10.0.3.0/24 leaves, is dropped with rp_filter 1 (IPReversePathFilter), passes with 2
    (a route back exists), and a source nothing routes to is dropped with 2 as well."""
    from tuxnet.net.ipv4.route import ip_route_input_noref

    world, n = redirect_world()
    r2 = n["r2"]
    lan = r2.dev("eth0")

    def input_route(saddr: str, daddr: str) -> int:
        from tuxnet.net.core.skbuff import alloc_skb
        from tuxnet.net.core.utils import in_aton

        return ip_route_input_noref(r2, alloc_skb(0, 0), in_aton(daddr), in_aton(saddr), lan)

    assert input_route("10.0.3.2", "10.0.1.1") == 0  # rp_filter 0: anything goes
    r2.sysctl.set("net.ipv4.conf.eth0.rp_filter", 1)
    assert input_route("10.0.3.2", "10.0.1.1") == -errno.EXDEV
    assert input_route("10.0.1.1", "10.0.3.2") == 0
    r2.sysctl.set("net.ipv4.conf.all.rp_filter", 2)  # the larger of all and the device: loose
    assert input_route("10.0.3.2", "10.0.1.1") == 0
    assert input_route("192.0.2.9", "10.0.1.1") == -errno.EXDEV  # no route back at all
    # On the wire: a datagram to R2 from A with a source of B's side is dropped and counted.
    r2.sysctl.set("net.ipv4.conf.all.rp_filter", 1)
    ip(n["a"], "addr add 10.0.3.99/32 dev eth0")

    def spoof() -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(fd, ("10.0.3.99", 0))
        libc.sendto(fd, b"x", 0, ("10.0.1.253", 9))

    _ping(world, n["a"], "-c", "1", "10.0.1.253")  # A knows R2's MAC (R2 filters A's ARP with it)
    before = r2.mib.Udp["NoPorts"]
    proc = n["a"].spawn(spoof)
    world.run_until(lambda: not proc.alive)
    world.run_for(msecs(10))
    assert r2.mib.TcpExt["IPReversePathFilter"] == 1 and r2.mib.Udp["NoPorts"] == before


def _arp_world():
    """h1 (eth0 10.0.0.1/24, and 10.9.9.9/32 on a second device) and h2 on one switch."""
    from netlab import lan

    world, (h1, h2), _ = lan(2)
    world.connect(h1, world.add_host("other"), a_addr="10.9.9.9/32")
    return world, h1, h2


def _arping(world: World, asker, target: str) -> bool:
    """Whether ``target`` answers asker's ARP request on eth0 (the neighbour entry resolves)."""
    from tuxnet.net.core.neighbour import NUD_VALID, __neigh_create, neigh_event_send
    from tuxnet.net.core.utils import in_aton

    n = __neigh_create(asker.arp_tbl, in_aton(target), asker.dev("eth0"))
    neigh_event_send(n, None)
    world.run_for(msecs(10))
    return bool(n.nud_state & NUD_VALID)


@pytest.mark.parametrize("mode,answers", [(0, (True, True)), (1, (True, False)), (8, (False, False))])
def test_arp_ignore(mode, answers):
    """arp_ignore 0 answers for any local address, 1 only for one on the receiving device, 8 for
    none."""
    world, h1, h2 = _arp_world()
    h1.sysctl.set("net.ipv4.conf.all.arp_ignore", mode)
    assert (_arping(world, h2, "10.0.0.1"), _arping(world, h2, "10.9.9.9")) == answers



@pytest.mark.parametrize("mode,sender", [(0, "10.9.9.9"), (1, "10.0.0.1"), (2, "10.0.0.1")])
def test_arp_announce_picks_the_requests_sender_address(mode, sender):
    """A datagram from 10.9.9.9 (an address of another device) to 10.0.0.2: arp_announce 0 puts
    that source in the ARP request; 1 and 2 the address of eth0's subnet."""
    from netlab import capture

    world, h1, h2 = _arp_world()
    h1.sysctl.set("net.ipv4.conf.eth0.arp_announce", mode)
    cap = capture(h1, "eth0", promisc=False)

    def send() -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(fd, ("10.9.9.9", 0))
        libc.sendto(fd, b"x", 0, ("10.0.0.2", 9))

    proc = h1.spawn(send)
    world.run_until(lambda: not proc.alive)
    world.run_for(msecs(10))
    requests = [f for _, f, _ in cap.frames if f[12:14] == b"\x08\x06" and f[21] == 1]
    assert [".".join(str(x) for x in f[28:32]) for f in requests] == [sender]


def proxy_world(proxy: bool):
    """a 10.0.0.1/16, which takes all of 10.0.0.0/16 for its own link; r between 10.0.0.0/24 and
    10.0.5.0/24 (b 10.0.5.2), answering ARP for the far side with ``proxy_arp`` on its eth0."""
    world = World(seed=3)
    a, r, b = world.add_host("a"), world.add_router("r"), world.add_host("b")
    world.connect(a, r, a_addr="10.0.0.1/16", b_addr="10.0.0.254/24")
    world.connect(r, b, a_addr="10.0.5.254/24", b_addr="10.0.5.2/24")
    ip(b, "route add default via 10.0.5.254")
    if proxy:
        r.sysctl.set("net.ipv4.conf.eth0.proxy_arp", 1)
    world.run_for(msecs(10))
    return world, a, r, b


def test_proxy_arp_answers_for_the_far_side_after_a_random_wait():
    """arp_fwd_proxy: r answers a's broadcast request for 10.0.5.2 with its own address, within
    proxy_delay (0.8 s); without proxy_arp nobody answers."""
    from netlab import capture

    world, a, r, _ = proxy_world(True)
    cap = capture(a, "eth0", promisc=False)
    out = _ping(world, a, "-c", "2", "-i", "1", "10.0.5.2")
    assert "2 packets transmitted, 2 received" in out
    assert f"10.0.5.2 dev eth0 lladdr {':'.join(f'{x:02x}' for x in r.dev('eth0').dev_addr)} " in ip(a, "neigh")
    arp = [(t, f[21]) for t, f, _ in cap.frames if f[12:14] == b"\x08\x06"]
    (asked, _), (answered, op) = arp[0], arp[1]
    assert op == 2 and 0 <= answered - asked < msecs(800) + msecs(1)
    world, a, r, _ = proxy_world(False)
    assert "100% packet loss" in _ping(world, a, "-c", "1", "-W", "1", "10.0.5.2")
    world, a, r, _ = proxy_world(False)
    r.sysctl.set("net.ipv4.neigh.default.proxy_delay", 0)
    r.sysctl.set("net.ipv4.conf.all.proxy_arp", 1)  # all or the device: either turns it on
    cap = capture(a, "eth0", promisc=False)
    assert "1 received" in _ping(world, a, "-c", "1", "10.0.5.2")
    arp = [t for t, f, _ in cap.frames if f[12:14] == b"\x08\x06"]
    assert len(arp) == 2 and arp[1] - arp[0] < msecs(1)  # no delay: answered at once


@pytest.mark.root
def test_proxy_arp_as_on_linux():
    """The same network of namespaces: the ping gets through, and a's neighbour entry for 10.0.5.2
    holds r's address, on both."""
    needs_root()
    names = {n: f"tuxnet-parp-{os.getpid()}-{n}" for n in "arb"}
    spaces: dict[str, Netns] = {}
    try:
        for n, name in names.items():
            spaces[n] = Netns(name)
        a, r, b = spaces["a"], spaces["r"], spaces["b"]
        for here, there, peer in (("a", "eth0", "eth0"), ("b", "eth0", "eth1")):
            subprocess.run(["ip", "link", "add", there, "netns", names[here], "type", "veth", "peer", "name", peer,
                            "netns", names["r"]], check=True, capture_output=True)
        for ns, dev, addr in ((a, "eth0", "10.0.0.1/16"), (r, "eth0", "10.0.0.254/24"), (r, "eth1", "10.0.5.254/24"),
                              (b, "eth0", "10.0.5.2/24")):
            ns.run("ip", "addr", "add", addr, "dev", dev)
            ns.run("ip", "link", "set", dev, "up")
        b.run("ip", "route", "add", "default", "via", "10.0.5.254")
        r.run("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.eth0.proxy_arp=1")
        linux_out = a.run("ping", "-c", "2", "-i", "1", "10.0.5.2", check=False).stdout
        mac = r.run("cat", "/sys/class/net/eth0/address").stdout.strip()
        linux_neigh = a.run("ip", "neigh", "show", "10.0.5.2").stdout.replace(mac, "R")
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"cannot build the namespaces' network here: {e}")
    finally:
        for ns in spaces.values():
            ns.close()
    world, ta, tr, _ = proxy_world(True)
    out = _ping(world, ta, "-c", "2", "-i", "1", "10.0.5.2")
    mac = ":".join(f"{x:02x}" for x in tr.dev("eth0").dev_addr)
    neigh = [line + "\n" for line in ip(ta, "neigh").splitlines() if line.startswith("10.0.5.2 ")]
    assert masked(out) == masked(linux_out)
    assert "".join(neigh).replace(mac, "R") == linux_neigh == "10.0.5.2 dev eth0 lladdr R REACHABLE \n"


def test_martian_sources_and_destinations_are_dropped():
    """ip_route_input_slow and fib_validate_source: from the wire, a loopback source or destination
    (unless route_localnet) and one of our own addresses as source (unless accept_local) are
    martian; TCP never sees them."""
    from netlab import lan

    from tuxnet.drivers.net.ether import eth_skb_pad, ether_fcs, ether_rx
    from tuxnet.net.core.checksum import csum_fold, csum_partial

    world, (h1, h2), _ = lan(2)
    dev = h2.dev("eth0")

    def syn(src: str, dst: str) -> None:
        addr = bytes(map(int, src.split("."))) + bytes(map(int, dst.split(".")))
        ip_hdr = bytearray(b"\x45\x00\x00\x28\x00\x01\x00\x00\x40\x06\x00\x00" + addr)
        ip_hdr[10:12] = csum_fold(csum_partial(bytes(ip_hdr))).to_bytes(2, "big")
        frame = eth_skb_pad(dev.dev_addr + b"\x02\x00\x00\x00\x00\x09\x08\x00" + bytes(ip_hdr) +
                            b"\x9c\x40\x15\xb3" + bytes(8) + b"\x50\x02\x03\xe8" + bytes(4))
        ether_rx(dev, frame + ether_fcs(frame))
        world.run_for(msecs(1))

    segs = h2.mib.Tcp["InSegs"] + h2.mib.Tcp["InErrs"]
    for src, dst in (("127.0.0.1", "10.0.0.2"), ("10.0.0.1", "127.0.0.1"), ("10.0.0.2", "10.0.0.2")):
        syn(src, dst)
    assert h2.mib.Tcp["InSegs"] + h2.mib.Tcp["InErrs"] == segs
    h2.sysctl.set("net.ipv4.conf.eth0.accept_local", 1)
    h2.sysctl.set("net.ipv4.conf.all.route_localnet", 1)
    for src, dst in (("127.0.0.1", "10.0.0.2"), ("10.0.0.1", "127.0.0.1"), ("10.0.0.2", "10.0.0.2")):
        syn(src, dst)
    assert h2.mib.Tcp["InSegs"] + h2.mib.Tcp["InErrs"] == segs + 3  # (its checksum is wrong: InErrs)


SYSCTL_SCRIPT = [
    "net.ipv4.ip_forward", "-n net.ipv4.ip_forward", "-N net.ipv4.conf.all.rp_filter", "net.ipv4.foo",
    "-e net.ipv4.foo", "-w net.ipv4.ip_forward=1", "net.ipv4.conf.all.forwarding",
    "net.ipv4.conf.default.rp_filter=2", "-q -w net.ipv4.conf.all.arp_ignore=1", "net/ipv4/conf/all/arp_ignore",
    "-w net.ipv4.ip_forward=abc", "-w net.ipv4.foo=1", "-w net.ipv4.ip_forward", "-q net.ipv4.tcp_sack",
    "net.ipv4.tcp_wmem", "-p /etc/tuxnet-sysctl.conf", "-e -p /etc/tuxnet-sysctl.conf", "-p /nonexistent",
    "net.ipv4.tcp_sack net.ipv4.tcp_dsack", "-w net.ipv4.tcp_congestion_control=foo",
    "-w net.ipv4.tcp_available_congestion_control=foo", "-w net.ipv4.tcp_congestion_control=reno",
    "net.ipv4.tcp_congestion_control", "",
    # numbers as proc_dointvec reads them (proc_get_long: a digit first, base 0, nothing after)
    "-w net.ipv4.tcp_max_syn_backlog=0x10", "net.ipv4.tcp_max_syn_backlog", "-w net.ipv4.tcp_max_syn_backlog=010",
    "net.ipv4.tcp_max_syn_backlog", "-w net.ipv4.tcp_max_syn_backlog=1_0", "-w net.ipv4.tcp_max_syn_backlog=+1",
    "-w net.ipv4.tcp_max_syn_backlog=1x", "-w net.ipv4.tcp_max_syn_backlog=²", "-w net.ipv4.tcp_max_syn_backlog=",
    "-w net.ipv4.tcp_max_syn_backlog=-5", "net.ipv4.tcp_max_syn_backlog",
    "-w net.ipv4.tcp_rmem=0x1000", "net.ipv4.tcp_rmem",  # the first value alone
    "-w net.ipv4.tcp_rmem=", "-w net.ipv4.tcp_rmem=x",
    "-w net.ipv4.tcp_notsent_lowat=4294967295",  # an unsigned int's (packetdrill's defaults.sh writes it)
]
SYSCTL_CONF = "net.ipv4.ip_forward = 0\n# a comment\n; another\n-net.ipv4.nosuch = 1\nnet.ipv4.tcp_sack=0\n"


@pytest.mark.root
def test_sysctl_as_procps_does_it():
    """tuxnet's ``sysctl`` and this machine's procps-ng in a namespace of our own: the same lines
    (stdout and stderr together, in order) and exit statuses, step by step."""
    import tempfile

    from tuxnet.user.sysctl import sysctl_main

    needs_root()
    ns = Netns(f"tuxnet-sysctl-{os.getpid()}")
    linux = []
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".conf") as conf:
            conf.write(SYSCTL_CONF)
            conf.flush()
            for c in SYSCTL_SCRIPT:
                argv = c.replace("/etc/tuxnet-sysctl.conf", conf.name).split()
                r = ns.run("sh", "-c", " ".join(["sysctl", *argv, "2>&1"]), check=False)
                linux.append((r.returncode, r.stdout))
    except OSError as e:
        pytest.skip(f"cannot run sysctl in a namespace here: {e}")
    finally:
        ns.close()
    world = World()
    h = world.add_host("h")
    h.files["/etc/tuxnet-sysctl.conf"] = SYSCTL_CONF
    ours = []
    for c in SYSCTL_SCRIPT:
        before = len(h.console)
        proc = h.spawn(sysctl_main, c.split())
        world.run_until(lambda proc=proc: not proc.alive)
        ours.append((proc.result, "".join(h.console[before:])))
    for c, theirs, mine in zip(SYSCTL_SCRIPT, linux, ours, strict=True):
        if not c:  # no arguments: the usage, whose option list tuxnet leaves out
            theirs = (theirs[0], "".join(theirs[1].splitlines(keepends=True)[:3]))
        assert mine == theirs, c


def test_a_devices_own_arp_parameters_rule_its_neighbours():
    """net.ipv4.neigh.eth0.*: eth0 asks twice, 500 ms apart, for an absent neighbour
    (mcast_solicit, retrans_time_ms); a later write to ``default`` leaves what eth0 set alone and
    reaches what it did not."""
    from netlab import capture, is_arp, lan

    world, (h1, _), _ = lan(2)
    h1.sysctl.set("net.ipv4.neigh.eth0.mcast_solicit", 2)
    h1.sysctl.set("net.ipv4.neigh.eth0.retrans_time_ms", 500)
    h1.sysctl.set("net.ipv4.neigh.default.mcast_solicit", 5)
    h1.sysctl.set("net.ipv4.neigh.default.app_solicit", 0)
    assert h1.sysctl["net.ipv4.neigh.eth0.mcast_solicit"] == 2
    h1.sysctl.set("net.ipv4.neigh.default.ucast_solicit", 4)
    assert h1.sysctl["net.ipv4.neigh.eth0.ucast_solicit"] == 4
    cap = capture(h1, "eth0")
    _ping(world, h1, "-c", "1", "-W", "3", "10.0.0.77")
    asks = [t for t, f, _ in cap.frames if is_arp(f, 1) and f[38:42] == bytes([10, 0, 0, 77])]
    assert len(asks) == 2 and asks[1] - asks[0] == msecs(500)


def test_a_proxy_entry_answers_for_one_address_without_proxy_arp():
    """``ip neigh add proxy 10.0.5.2 dev eth0`` (pneigh_lookup): r answers for that address only."""
    world, a, r, _ = proxy_world(False)
    ip(r, "neigh add proxy 10.0.5.2 dev eth0")
    assert "1 received" in _ping(world, a, "-c", "1", "10.0.5.2")
    assert "1 packets transmitted, 0 received" in _ping(world, a, "-c", "1", "-W", "1", "10.0.5.9")  # not it
    ip(r, "neigh del proxy 10.0.5.2 dev eth0")
    assert ip(r, "neigh show proxy") == ""
