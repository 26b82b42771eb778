"""netstat's routing and interface tables, its statistics (``-s``) and its command line, in
net-tools 2.10's layout (the lines expected are this machine's netstat's for the same table, and
for ``-s`` what it prints reading the same ``/proc/net/snmp`` and ``/proc/net/netstat``; the socket
tables are compared with it in ``tests/tap/test_netstat_vs_linux.py``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tuxnet.net.core.snmp import MIB_FIELDS
from tuxnet.net.ipv4.proc import netstat_seq_show, snmp_seq_show
from tuxnet.net.socket import AF_INET, SOCK_DGRAM, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.iproute import ip
from tuxnet.user.programs.nettools import netstat
from tuxnet.user.programs.ping import ping_main
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
    # by name, as net-tools sorts its interface list (nstrcmp), not in /proc/net/dev's order
    assert lines[2].startswith("eth0             1500 ") and lines[2].endswith(" BMRU")
    assert lines[3].startswith("lo              65536 ") and lines[3].endswith(" LRU")


def test_options_it_does_not_have():
    rc, lines = run_netstat(["-z"])
    assert rc == 3 and lines[0] == "netstat: invalid option -- 'z'" and lines[1].startswith("usage: netstat")
    rc, lines = run_netstat(["-c"])
    assert rc == 1 and lines == ["netstat: -c is not implemented here; try `watch netstat`"]
    rc, lines = run_netstat(["10.0.0.1"])
    assert rc == 1 and lines[0] == "netstat: 10.0.0.1: only options are taken here"


# -- netstat -s -----------------------------------------------------------------------------------

def linux_netstat(tmp_path: Path, snmp: str, netstat_text: str, *args: str) -> str:
    """This machine's netstat reading ``snmp`` and ``netstat_text`` as its /proc/net/snmp and
    /proc/net/netstat: a directory of them mounted over /proc in a mount namespace of its own."""
    if shutil.which("netstat") is None or shutil.which("unshare") is None:
        pytest.skip("netstat (net-tools) or unshare is not installed")
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    (proc / "net" / "snmp").write_text(snmp)
    (proc / "net" / "netstat").write_text(netstat_text)
    script = f"mount --bind {proc} /proc && exec netstat {' '.join(args)}"
    result = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True)
    if result.returncode and ("unshare" in result.stderr or "mount" in result.stderr):
        pytest.skip(f"no mount namespace here: {result.stderr.strip()}")
    return result.stdout


def busy_host() -> tuple[World, object]:
    """A host that has pinged, been pinged, connected, been refused over TCP and UDP, and answered."""
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, a_addr="10.0.1.1/24", b_addr="10.0.1.2/24")

    def server() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("0.0.0.0", 80))
        libc.listen(lfd, 4)
        fd, _ = libc.accept(lfd)
        libc.send(fd, libc.recv(fd, 100))
        libc.close(fd)

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("10.0.1.2", 80))
        libc.send(fd, b"hello")
        libc.recv(fd, 100)
        libc.close(fd)
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        try:
            libc.connect(fd, ("10.0.1.2", 81))
        except ConnectionRefusedError:
            libc.close(fd)
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.sendto(fd, b"x", 0, ("10.0.1.2", 9))
        libc.close(fd)

    b.spawn(server)
    for program, args in ((ping_main, ["-c", "2", "10.0.1.2"]), (client, None)):
        proc = a.spawn(program, args) if args else a.spawn(program)
        world.run_until(lambda proc=proc: not proc.alive)
    b.spawn(ping_main, ["-c", "1", "10.0.1.1"])
    world.run_for(3 * 10**9)
    return world, a


@pytest.mark.parametrize("args", [["-s"], ["-st"], ["-su"], ["-sw"], ["-s", "-t", "-u"]])
def test_statistics_as_net_tools_prints_them(tmp_path, args):
    world, a = busy_host()
    before = len(a.output())
    proc = a.spawn(netstat, args)
    world.run_until(lambda: not proc.alive)
    ours = a.output()[before:]
    assert proc.result == 0
    assert ours == linux_netstat(tmp_path, snmp_seq_show(a.mib), netstat_seq_show(a.mib), *args)
    if args == ["-s"]:
        for line in ("    2 active connection openings", "    1 failed connection attempts", "        echo replies: 2",
                     "    1 packets sent", "IcmpMsg:"):
            assert line in ours.splitlines()


def test_every_counter_in_its_sentence(tmp_path):
    """Each counter tuxnet keeps, a different number each, printed in its sentence (or as
    ``Name: value``) as net-tools prints it."""
    world, a = busy_host()
    for group in MIB_FIELDS:
        mib = getattr(a.mib, group)
        for i, name in enumerate(list(mib) or ["InType3", "OutType0"]):
            mib[name] = 7000 + i
    before = len(a.output())
    proc = a.spawn(netstat, ["-s"])
    world.run_until(lambda: not proc.alive)
    ours = a.output()[before:]
    assert ours == linux_netstat(tmp_path, snmp_seq_show(a.mib), netstat_seq_show(a.mib), "-s")
    assert any(line.startswith("    Quick ack mode was activated 70") for line in ours.splitlines())


def test_programs_of_the_sockets():
    """-p: ``PID/name`` of the first process, by pid, holding each socket (a listener a forked
    child shares shows its parent), ``-`` for a socket none holds (TIME_WAIT), 20 columns wide."""
    world = World(seed=1)
    a = world.add_host("a")
    world.connect(a, world.add_host("b"), a_addr="10.0.1.1/24", b_addr="10.0.1.2/24")

    def child(lfd: int) -> None:
        libc.sleep(10)

    def server() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("0.0.0.0", 80))
        libc.listen(lfd, 4)
        libc.fork(child, lfd, name="worker")
        fd, _ = libc.accept(lfd)
        libc.close(fd)  # the server closes first: its end waits in TIME_WAIT
        libc.sleep(10)

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("10.0.1.1", 80))
        libc.recv(fd, 10)
        libc.close(fd)

    a.spawn(server, name="httpd")
    world.run_for(10**6)
    world.hosts["b"].spawn(client)
    world.run_for(10**9)
    before = len(a.output())
    proc = a.spawn(netstat, ["-atnp"])
    world.run_until(lambda: not proc.alive)
    lines = a.output()[before:].splitlines()
    peer = "10.0.1.2:" + lines[3].split("10.0.1.2:")[1].split()[0]
    assert lines == [
        "Active Internet connections (servers and established)",
        "Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name    ",
        "tcp        0      0 0.0.0.0:80              0.0.0.0:*               LISTEN      1/httpd             ",
        f"tcp        0      0 10.0.1.1:80             {peer:<23} TIME_WAIT   -                   "]
