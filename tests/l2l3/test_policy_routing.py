"""Policy routing (net/core/fib_rules.c, net/ipv4/fib_rules.c): ``ip rule`` and the tables beyond
local and main.

1. The same ``ip rule`` and ``ip route ... table`` commands on this machine's kernel (a namespace
   of our own) and on a tuxnet host print the same bytes and fail with the same messages: the
   rules' priorities as Linux gives them, their listing, routes in numbered tables, ``ip route
   get`` through the rules, flushing and deleting.
2. Real packets follow the rules: a host with two uplinks sends what comes from its second
   address out of the second one (source routing); a router forwards by the device a packet came
   in by; blackhole, unreachable and prohibit rules fail a send as Linux does (EINVAL,
   ENETUNREACH, EACCES).
"""

from __future__ import annotations

import pytest
from netlab import capture, run
from test_iproute import assert_prints_as_linux

from tuxnet.kernel.errno import EACCES, EINVAL, ENETUNREACH
from tuxnet.net.ipv4.af_inet import IPPROTO_IP
from tuxnet.net.ipv4.ip_sockglue import IP_TOS
from tuxnet.net.socket import AF_INET, SO_MARK, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET
from tuxnet.user import libc
from tuxnet.user.etc import install_base_files
from tuxnet.user.iproute import IpError, ip
from tuxnet.world import World, msecs

RULE_SCRIPT = [
    "rule",
    "rule add from 10.0.0.0/24 table 100",  # no priority: just before main's 32766
    "rule add not to 10.1.0.0/16 iif eth0 oif nosuch prohibit pref 10",
    "rule add from all to 192.0.2.0/24 unreachable",  # 9: one below the second rule
    "rule add to 198.51.100.0/24 blackhole",
    "rule add iif lo table 5 pref 20",
    "rule add from 10.0.0.1/24 lookup main",  # the address is kept as written
    "rule add to 10.7.0.0/16 blackhole lookup 9 pref 30",
    "rule add table default to 10.6.0.0/16 pref 30",  # after the other 30
    "rule",
    "rule show table 100",
    "rule list pref 30",
    "route get 10.0.0.7",  # prohibited: not (to 10.1.0.0/16 from eth0 to nosuch)
    "rule del pref 10",
    "-4 route show table all",
    "route add default via 10.0.0.254 table 100",
    "route add 203.0.113.0/24 dev eth0 table 100 metric 5",
    "route show table 100",
    "-4 route show table all",
    "route get 8.8.8.8",
    "route get 8.8.8.8 from 10.0.0.1",
    "route get 203.0.113.9 from 10.0.0.1",
    "route get 192.0.2.1",
    "route get 198.51.100.1",
    "route get 127.0.0.1",
    "route get 10.0.0.255",
    "route get 10.0.0.1 from 10.0.0.1",
    "route get 10.0.0.7 oif eth0",
    # what a packet coming in by eth0 would take (forwarding off, then on)
    "route get 10.0.0.1 from 10.0.0.7 iif eth0",
    "route get 203.0.113.9 from 10.0.0.7 iif eth0",
    "sysctl net.ipv4.ip_forward=1",
    "route add 198.18.0.0/24 via 10.0.0.254 table 7",
    "rule add iif eth0 table 7 pref 40",
    "route get 198.18.0.9 from 10.0.0.7 iif eth0",
    "route get 10.0.0.9 from 10.0.0.7 iif eth0",
    "route get 10.0.0.255 from 10.0.0.7 iif eth0",
    "route get 8.8.8.8 from 10.0.0.7 iif eth0",
    "route get 198.18.0.9 iif eth0",
    "route get 198.18.0.9 from 127.0.0.1 iif eth0",
    "route get 198.18.0.9 from 10.0.0.7 iif nosuch",
    "route get 198.51.100.1 from 10.0.0.7 iif eth0",
    "route get 192.0.2.1 from 10.0.0.7 iif eth0",
    "sysctl net.ipv4.ip_forward=0",
    "route del default table 100",
    "route del default table 100",
    "route del 10.1.0.0/24 table 55",
    "route show table 100",
    "route flush table 100",
    "route show table 100",
    "route flush table 55",
    "route flush",
    "route add 10.8.0.0/24 dev eth0 table default",
    "route show table default",
    "route add 10.9.0.0/24 dev eth0 table 0",
    "route show",
    "route add 10.9.1.0/24 dev eth0 table frob",
    "rule del pref 77",
    "rule del table 5",
    "rule del unreachable",
    "rule del from 10.0.0.0/24",
    "rule",
    "rule add from 10.0.0.0/33 table 5",
    "rule add from foo table 5",
    "rule add frob",
    "rule add pref 99999999999 table 3",
    "rule add pref 0x20 table 3",
    "rule add type unicast table 8",
    "rule add table main from 10.2.0.0/24",
    "rule add table local to 10.5.0.0/16",
    "rule",
    "rule add fwmark 5 table 3",
    "rule add fwmark 0x5/0xff table 3",
    "rule add fwmark 0x10/0xffffffff table 4",
    "rule add tos 0x10 table 5",
    "rule add dsfield 04 table 5",
    "rule add tos 0x11 table 6",
    "rule add tos 16 table 6",
    "rule add tos 0x20 table 6",
    "rule add tos 0x100 table 6",
    "rule add tos lowdelay table 6",
    "rule add fwmark foo table 3",
    "rule add fwmark 1/foo table 3",
    "rule",
    "route add default via 10.0.0.254 table 3",
    "route get 8.8.8.8 mark 5",
    "route get 8.8.8.8 mark 0x105",
    "route get 8.8.8.8 mark 0x10",
    "route get 8.8.8.8 mark 6",
    "route get 8.8.8.8 from 10.0.0.1 mark 5",
    "route get 10.0.0.1 mark 5",
    "route get 8.8.8.8 mark foo",
    "route get 8.8.8.8 mark -1",
    "route get 8.8.8.8 tos 0x30",
    "route get 8.8.8.8 tos 0x14",
    "route get 8.8.8.8 tos foo",
    "rule add not fwmark 7 to 10.0.0.0/8 tos 0x08 iif lo prohibit",
    "rule",
    "route get 10.0.0.7",
    "rule del fwmark 5",
    "rule del tos 0x10",
    "rule",
    "rule del pref 0",
    "rule flush",
    "rule",
    # a clean slate, then wg-quick's pair: all but the tunnel's own marked packets to its table,
    # main's routes but its default before that
    "rule del tos 0x04",
    "rule del not fwmark 7 to 10.0.0.0/8 tos 0x08 iif lo prohibit",
    "rule add pref 0 lookup local",
    "rule add pref 32766 lookup main",
    "route add default via 10.0.0.254",
    "route add default via 10.0.0.253 table 51820",
    "rule add not fwmark 51820 table 51820",
    "rule add table main suppress_prefixlength 0",
    "rule",
    "route get 8.8.8.8",
    "route get 10.0.0.7",
    "route get 8.8.8.8 mark 51820",
    "rule add table 7 suppress_prefixlength 24 pref 100",
    "rule add table 7 sup_pl 5 pref 101",
    "rule add lookup main suppress_prefixlength -1 pref 102",
    "rule add lookup main suppress_prefixlength x",
    "rule add lookup main suppress_prefixlength 33 pref 103",
    "rule add blackhole suppress_prefixlength 3 pref 104",
    "rule",
    "rule del suppress_prefixlength 0",
    "rule del table 7 suppress_prefixlength 5",
    "rule",
    # goto and nop: a jump forward to the rule of that priority, matched in its turn
    "rule del pref 100",
    "rule del pref 103",
    "rule del pref 104",
    "route add default via 10.0.0.253 table 9",
    "rule add to 8.8.0.0/16 goto 200 pref 110",
    "rule add pref 150 prohibit",
    "rule add pref 200 lookup 9",
    "rule add nop pref 120",
    "rule add goto 300 pref 130",
    "rule add goto 50 pref 140",
    "rule add goto 140 pref 140",
    "rule add goto x pref 141",
    "rule add goto 150 table 5 pref 142",
    "rule",
    "route get 8.8.8.8",
    "route get 9.9.9.9",
    "rule del pref 200",
    "rule",
    "route get 8.8.8.8",
    "rule add pref 300 lookup 9",
    "rule",
    "rule del goto 300",
    "rule del nop",
    "rule",
    "rule",
]


def test_ip_rule_as_linux_prints_it():
    assert_prints_as_linux(RULE_SCRIPT)


# The selectors of a flow's transport and sender: a protocol by name, alias or number, port ranges
# as sscanf reads them ("%hu-%hu": a sign, a tail, 16 bits), the uid; the kernel's checks of the
# ranges; the rules' listing (and -json), ``ip rule show``'s and ``del``'s choice by them;
# ``ip route get`` through them, for a socket's flow and for a packet coming in by eth0.
FLOW_RULE_SCRIPT = [
    "route add default via 10.0.0.2 table 9",
    "route add default via 10.0.0.3 table 100",
    "rule add ipproto tcp dport 53 table 100",
    "rule add ipproto udp sport 1000-2000 lookup 5 pref 40",
    "rule add dport 80 prohibit",
    "rule add ipproto 17 table 7",
    "rule add ipproto icmp table 8",
    "rule add ipproto TCP table 7",
    "rule add ipproto 200 table 7",
    "rule add ipproto 0 table 12",
    "rule add not ipproto tcp table 11",
    "rule add ipproto foo table 8",
    "rule add ipproto 0x11 table 7",
    "rule add ipproto ipproto-6 table 7",
    "rule add ipproto 256 table 12",
    "rule add sport -5 table 9",
    "rule add sport +5 table 9",
    "rule add sport 5-6-7 table 9",
    "rule add sport 5x table 9",
    "rule add sport 70000 table 9",
    "rule add dport 1-65534 table 9",
    "rule add sport abc table 9",
    "rule add sport 0 table 9",
    "rule add sport 2000-1000 table 9",
    "rule add sport 65535 table 9",
    "rule add sport 0x10 table 9",
    "rule add dport 1-65535 table 9",
    "rule add uidrange 100-200 table 13",
    "rule add uidrange 1-2x table 9",
    "rule add uidrange 0-4294967295 table 9",
    "rule add uidrange 5 table 9",
    "rule add uidrange 5-4 table 9",
    "rule",
    "-json rule",
    "rule show ipproto tcp",
    "rule show dport 53",
    "rule show uidrange 100-200",
    "route get 8.8.8.8 ipproto tcp dport 53",
    "route get 8.8.8.8 dport 80",
    "route get 8.8.8.8 ipproto tcp dport 80",
    "route get 8.8.8.8 sport 1500",
    "route get 8.8.8.8 ipproto icmp",
    "route get 8.8.8.8 ipproto igmp",
    "route get 8.8.8.8 ipproto 300",
    "route get 8.8.8.8 sport abc",
    "route get 8.8.8.8 dport 70000",
    "route get 8.8.8.8 dport 0x35",
    "route get 8.8.8.8 uid 150",
    "-json route get 8.8.8.8 uid 150 dport 53 ipproto tcp",
    "route get 8.8.8.8 uid abc",
    "sysctl net.ipv4.ip_forward=1",
    "route get 8.8.8.8 from 10.0.0.7 iif eth0",
    "route get 8.8.8.8 from 10.0.0.7 iif eth0 ipproto tcp dport 53",
    "route get 8.8.8.8 from 10.0.0.7 iif eth0 dport 80",
    "route get 8.8.8.8 from 10.0.0.7 iif eth0 uid 150",
    "rule del ipproto udp",
    "rule del dport 53",
    "rule del uidrange 100-200",
    "rule del sport 4464",
    "rule",
    "rule flush",
    "rule add uidrange 0-0 table 9 pref 10",
    "route get 8.8.8.8",
    "route get 8.8.8.8 uid 5",
    "rule add ipproto udp table 100 pref 5",
    "route get 8.8.8.8",
    "route get 8.8.8.8 ipproto udp",
    "route get 8.8.8.8 from 10.0.0.7 iif eth0",
    "route get 8.8.8.8 from 10.0.0.7 iif eth0 ipproto udp",
    "rule add ipproto tcp sport 7 table 100 pref 4",
    "route get 8.8.8.8 ipproto tcp sport 7",
    "route get 8.8.8.8 from 10.0.0.7 iif eth0 ipproto tcp sport 7",
    "route get 8.8.8.8 from 10.0.0.7 iif eth0 ipproto icmp sport 7",
    "rule",
]


def test_ip_rule_flow_selectors_as_linux_prints_them():
    assert_prints_as_linux(FLOW_RULE_SCRIPT)


def multihomed() -> tuple[World, dict]:
    """h has two uplinks: eth0 10.0.1.1 to r1 (10.0.1.254) and eth1 10.0.2.1 to r2 (10.0.2.254);
    both routers reach s (192.0.2.9) on 192.0.2.0/24; h's default route is r1."""
    world = World(seed=1)
    h, s = world.add_host("h"), world.add_host("s")
    r1, r2 = world.add_router("r1"), world.add_router("r2")
    sw = world.add_switch("sw")
    world.connect(h, r1, a_addr="10.0.1.1/24", b_addr="10.0.1.254/24")
    world.connect(h, r2, a_addr="10.0.2.1/24", b_addr="10.0.2.254/24")
    world.connect(r1, sw, a_addr="192.0.2.1/24")
    world.connect(r2, sw, a_addr="192.0.2.2/24")
    world.connect(s, sw, a_addr="192.0.2.9/24")
    ip(h, "route add default via 10.0.1.254")
    ip(s, "route add 10.0.1.0/24 via 192.0.2.1")
    ip(s, "route add 10.0.2.0/24 via 192.0.2.2")
    for node in (h, s, r1, r2):
        install_base_files(node)  # (/etc/protocols: ipproto's names)
    world.run_for(msecs(10))
    return world, {"h": h, "s": s, "r1": r1, "r2": r2}


def _send(src: str | None, dst: str = "192.0.2.9") -> int:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    if src:
        libc.bind(fd, (src, 0))
    try:
        libc.sendto(fd, b"which way?", 0, (dst, 9))
    except OSError as e:
        return e.errno
    return 0


def test_what_comes_from_the_second_address_leaves_by_the_second_uplink():
    world, n = multihomed()
    ip(n["h"], "route add default via 10.0.2.254 table 100")
    ip(n["h"], "rule add from 10.0.2.1 table 100")
    caps = {r: capture(n[r], "eth0") for r in ("r1", "r2")}
    for src in (None, "10.0.1.1", "10.0.2.1"):
        assert run(world, n["h"], _send, src) == 0
        world.run_for(msecs(20))
    udp = {r: [f for _, f, _ in c.frames if f[12:14] == b"\x08\x00" and f[23] == 17] for r, c in caps.items()}
    # unbound and 10.0.1.1 by main's default route (r1); 10.0.2.1 by table 100's (r2)
    assert [f[26:30] for f in udp["r1"]] == [bytes([10, 0, 1, 1])] * 2
    assert [f[26:30] for f in udp["r2"]] == [bytes([10, 0, 2, 1])]
    assert ip(n["h"], "route get 192.0.2.9 from 10.0.2.1") == (
        "192.0.2.9 from 10.0.2.1 via 10.0.2.254 dev eth1 table 100 uid 0 \n    cache \n")


def _send_to_ports(ports: list[int], bind_port: int = 0) -> int:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    if bind_port:
        libc.bind(fd, ("0.0.0.0", bind_port))
    for port in ports:
        libc.sendto(fd, b"which way?", 0, ("192.0.2.9", port))
    return 0


def _uplinks(world: World, n: dict, prog, *args) -> dict[str, list[tuple[bytes, int]]]:
    """The (source address, destination port) of each UDP or TCP packet h's program sends
    through r1 and through r2."""
    caps = {r: capture(n[r], "eth0") for r in ("r1", "r2")}
    run(world, n["h"], prog, *args)
    world.run_for(msecs(50))
    return {r: [(f[26:30], int.from_bytes(f[36:38], "big")) for _, f, _ in c.frames
                if f[12:14] == b"\x08\x00" and f[23] in (6, 17) and f[26:28] == bytes([10, 0])]
            for r, c in caps.items()}


def test_a_datagrams_protocol_and_ports_choose_its_uplink():
    """``ipproto udp dport 53``: h's DNS queries leave by r2, the rest by r1 (the source the
    route gives: 10.0.2.1 and 10.0.1.1); ``sport`` picks by the socket's bound port."""
    world, n = multihomed()
    ip(n["h"], "route add default via 10.0.2.254 table 100")
    ip(n["h"], "rule add ipproto udp dport 53 table 100")
    ip(n["h"], "rule add ipproto udp sport 5000-5999 table 100")
    seen = _uplinks(world, n, _send_to_ports, [53, 9, 53])
    assert seen == {"r1": [(bytes([10, 0, 1, 1]), 9)], "r2": [(bytes([10, 0, 2, 1]), 53)] * 2}
    seen = _uplinks(world, n, _send_to_ports, [9, 10], 5353)
    assert seen == {"r1": [], "r2": [(bytes([10, 0, 2, 1]), 9), (bytes([10, 0, 2, 1]), 10)]}


def _connect(port: int, bind_port: int = 0) -> int:
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    if bind_port:
        libc.bind(fd, ("0.0.0.0", bind_port))
    try:
        libc.connect(fd, ("192.0.2.9", port))
    except OSError as e:
        return e.errno
    return 0


def test_a_connections_ports_choose_its_uplink():
    """A TCP connect routes with its destination port, and once it has its own port routes again
    with that (``ip_route_newports``): an ephemeral port in ``sport``'s range takes table 100's
    uplink, keeping the source the first route chose (10.0.1.1), as Linux does."""
    world, n = multihomed()
    ip(n["h"], "route add default via 10.0.2.254 table 100")
    ip(n["h"], "rule add ipproto tcp dport 22 table 100")
    seen = _uplinks(world, n, _connect, 22)
    assert seen["r2"][:1] == [(bytes([10, 0, 2, 1]), 22)] and not seen["r1"]
    ip(n["h"], "rule add ipproto tcp sport 1024-65534 table 100")
    seen = _uplinks(world, n, _connect, 80)
    assert seen["r2"][:1] == [(bytes([10, 0, 1, 1]), 80)] and not seen["r1"]
    ip(n["h"], "rule del ipproto tcp sport 1024-65534")
    seen = _uplinks(world, n, _connect, 80)
    assert seen["r1"][:1] == [(bytes([10, 0, 1, 1]), 80)] and not seen["r2"]


def test_a_router_forwards_by_a_packets_ports():
    """r1 sends h's datagrams to port 53 by way of r2 (``fib4_rules_early_flow_dissect``), the
    others straight to s."""
    world, n = multihomed()
    r1 = n["r1"]
    ip(r1, "route add 192.0.2.9/32 via 192.0.2.2 table 7")
    ip(r1, "rule add iif eth0 ipproto udp dport 53 table 7")
    run(world, n["h"], _send_to_ports, [53, 9, 53, 10])
    world.run_for(msecs(50))
    assert n["r2"].mib.Ip["ForwDatagrams"] == 2
    assert n["s"].mib.Udp["NoPorts"] == 4


def test_a_router_forwards_by_the_device_a_packet_came_in_by():
    """r1 sends what comes in by eth0 (from h) to s through table 7's route via r2's side
    (192.0.2.2), where main would deliver it straight to s."""
    world, n = multihomed()
    r1 = n["r1"]
    ip(r1, "route add 192.0.2.9/32 via 192.0.2.2 table 7")
    ip(r1, "rule add iif eth0 table 7")
    cap = capture(n["r2"], "eth1")
    assert run(world, n["h"], _send, None) == 0
    world.run_for(msecs(20))
    udp = [f for _, f, _ in cap.frames if f[12:14] == b"\x08\x00" and f[23] == 17]
    # on r2's LAN side twice: in from r1, out to s (r2 sends it back out the way it came)
    assert [(f[6:12], f[30:34]) for f in udp] == [(r1.dev("eth1").dev_addr, bytes([192, 0, 2, 9])),
                                                  (n["r2"].dev("eth1").dev_addr, bytes([192, 0, 2, 9]))]
    assert n["r2"].mib.Ip["ForwDatagrams"] == 1


@pytest.mark.parametrize("rule, option", [("fwmark 7", (SOL_SOCKET, SO_MARK, 7)),
                                          ("fwmark 0x700/0xf00", (SOL_SOCKET, SO_MARK, 0x7FF)),
                                          ("tos 0x10", (IPPROTO_IP, IP_TOS, 0x10)),
                                          ("tos 0x10", (IPPROTO_IP, IP_TOS, 0x32))])
def test_a_sockets_mark_or_tos_chooses_its_route(rule, option):
    """A datagram from a socket with SO_MARK (under the rule's mask) or IP_TOS (its TOS bits,
    as fib_dscp_masked_match compares them) goes by table 100's default route, r2, from h's
    address there; the same datagram from a plain socket by main's, r1."""
    world, n = multihomed()
    ip(n["h"], "route add default via 10.0.2.254 table 100")
    ip(n["h"], f"rule add {rule} table 100")
    caps = {r: capture(n[r], "eth0") for r in ("r1", "r2")}

    def send(marked: bool) -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        if marked:
            libc.setsockopt(fd, *option)
        libc.sendto(fd, b"which way?", 0, ("192.0.2.9", 9))

    for marked in (False, True):
        run(world, n["h"], send, marked)
        world.run_for(msecs(20))
    udp = {r: [f[26:30] for _, f, _ in c.frames if f[12:14] == b"\x08\x00" and f[23] == 17] for r, c in caps.items()}
    assert udp == {"r1": [bytes([10, 0, 1, 1])], "r2": [bytes([10, 0, 2, 1])]}


@pytest.mark.parametrize("action, errno", [("blackhole", EINVAL), ("unreachable", ENETUNREACH),
                                           ("prohibit", EACCES)])
def test_a_failing_rule_fails_the_send(action, errno):
    world, n = multihomed()
    ip(n["h"], f"rule add to 192.0.2.0/24 {action}")
    assert run(world, n["h"], _send, None) == errno
    assert run(world, n["h"], _send, None, "10.0.1.254") == 0  # other destinations: main, as before


def test_rules_with_selectors_tuxnet_lacks_are_refused_clearly():
    world, n = multihomed()
    with pytest.raises(IpError, match='no "realms"'):
        ip(n["h"], "rule add realms 5 table 5")
    with pytest.raises(IpError, match='no "l3mdev"'):
        ip(n["h"], "rule add l3mdev")
    assert ip(n["h"], "rule") == "0:\tfrom all lookup local\n32766:\tfrom all lookup main\n" \
                                 "32767:\tfrom all lookup default\n"
