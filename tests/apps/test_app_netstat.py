"""netstat's routing and interface tables and its command line, in net-tools 2.10's layout (the
lines expected are this machine's netstat's for the same table; the socket tables are compared
with it in ``tests/tap/test_netstat_vs_linux.py``)."""

from __future__ import annotations

from tuxnet.user.iproute import ip
from tuxnet.user.programs.nettools import netstat
from tuxnet.world import World


def run_netstat(args: list[str]) -> tuple[int, list[str]]:
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, a_addr="10.0.1.1/24", b_addr="10.0.1.254/24")
    ip(a, "route add default via 10.0.1.254")
    ip(a, "route add 10.9.9.9 via 10.0.1.2")
    ip(a, "route add 10.8.0.0/16 via 10.0.1.3 advmss 1360")
    proc = a.spawn(netstat, args)
    world.run_until(lambda: not proc.alive)
    return proc.result, a.output().splitlines()


def test_routing_table():
    rc, lines = run_netstat(["-rn"])
    assert rc == 0 and lines == [
        "Kernel IP routing table",
        "Destination     Gateway         Genmask         Flags   MSS Window  irtt Iface",
        "0.0.0.0         10.0.1.254      0.0.0.0         UG        0 0          0 eth0",
        "10.0.1.0        0.0.0.0         255.255.255.0   U         0 0          0 eth0",
        "10.8.0.0        10.0.1.3        255.255.0.0     UG     1400 0          0 eth0",  # advmss + 40
        "10.9.9.9        10.0.1.2        255.255.255.255 UGH       0 0          0 eth0"]
    assert run_netstat(["-r"])[1][2].startswith("default         10.0.1.254")


def test_interface_table():
    rc, lines = run_netstat(["-i"])
    assert rc == 0
    assert lines[:2] == ["Kernel Interface table",
                         "Iface             MTU    RX-OK RX-ERR RX-DRP RX-OVR    TX-OK TX-ERR TX-DRP TX-OVR Flg"]
    assert lines[2].startswith("lo              65536 ") and lines[2].endswith(" LRU")
    assert lines[3].startswith("eth0             1500 ") and lines[3].endswith(" BMRU")


def test_options_it_does_not_have():
    rc, lines = run_netstat(["-z"])
    assert rc == 3 and lines[0] == "netstat: invalid option -- 'z'" and lines[1].startswith("usage: netstat")
    rc, lines = run_netstat(["-s"])
    assert rc == 1 and lines == ["netstat: -s is not implemented here; try `nstat`"]
    rc, lines = run_netstat(["10.0.0.1"])
    assert rc == 1 and lines[0] == "netstat: 10.0.0.1: only options are taken here"
