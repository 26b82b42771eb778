"""/proc/net/tcp, udp, raw and sockstat (``tcp4_seq_show``, ``udp4_seq_show``, ``raw_seq_show``,
``sockstat_seq_show``) against this machine's kernel's: the same sockets (a listener, a
connection with ten unread bytes, one with SO_KEEPALIVE, one in TIME-WAIT, a UDP socket with an
unread datagram and one connected to it, a raw ICMP socket) in a network namespace of our own and
on a tuxnet host; then netstat -o and ss -o reading the timers of them, and ss -s its summary."""

from __future__ import annotations

import json
import os
import re
import sys

import pytest

import tuxnet.socket as tux_socket
from tuxnet.user import libc
from tuxnet.user.programs.nettools import netstat
from tuxnet.user.ss import ss_main
from tuxnet.world import World

PLAY = r'''
import json, socket, subprocess, time


def connected():
    """A connection to the listener, with CUBIC, tuxnet's default (this machine's is BBR)."""
    c = socket.socket()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"cubic")
    c.connect(("127.0.0.1", 5001))
    return c


def play(sleep, read, tool):
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", 5001)); l.listen(5)
    c = connected(); s, _ = l.accept()
    k = connected(); k2, _ = l.accept()
    k.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    c.send(b"x" * 10)
    t = connected(); a, _ = l.accept()
    ports = [c.getsockname()[1], k.getsockname()[1], t.getsockname()[1]]
    t.close(); a.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 53))
    uc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); uc.connect(("127.0.0.1", 53)); uc.send(b"q" * 1400)
    ports.append(uc.getsockname()[1])
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sleep()
    files = [read("/proc/net/" + name) for name in ("tcp", "udp", "raw", "sockstat")]
    return ports, files, [tool(name, args) for name, args in (("netstat", ["-tuano"]), ("ss", ["-tano"]),
                                                              ("ss", ["-s"]))]


if __name__ == "__main__":
    def tool(name, args):
        return subprocess.run([name, *args], capture_output=True, text=True).stdout
    print(json.dumps(play(lambda: time.sleep(0.3), lambda path: open(path).read(), tool)))
'''
# the columns each kernel fills its own way: a UDP or raw socket's slot (its port's or
# protocol's hash, mixed with a secret of the namespace), the inode, the reference count (which
# counts timers Linux leaves armed after they are cancelled) and the hashed pointer; the time
# left on a timer, which passes on this machine as the tables are read
MASKS = ((re.compile(r"^ *\d+:", re.M), "SL:"), (re.compile(r"(?<= {8}0 )\d+ \d+ [0-9a-f]{16}"), "INO REF PTR"),
         (re.compile(r"(?<= \d{2}:)[0-9A-F]{8}(?= )"), "WHEN"))


def masked(ports: list[int], text: str) -> list[str]:
    """The heading, then the lines sorted, with the ephemeral ports as EPHEM1, EPHEM2, ..., the
    columns of MASKS masked and the padding at the ends of lines (which the masks change) gone."""
    for i, port in enumerate(ports):
        text = text.replace(f":{port:04X} ", f":EPHEM{i + 1} ").replace(f":{port} ", f":EPHEM{i + 1} ")
    for pattern, mask in MASKS:
        text = pattern.sub(mask, text)
    lines = [line.rstrip() for line in text.splitlines()]
    return lines[:1] + sorted(lines[1:])


def play_here() -> tuple[list[int], list[str], list[str]]:
    world = World(seed=1)
    h = world.add_host("h")
    h.dev_open("lo")
    h.ip_addr_add("lo", "127.0.0.1/8")
    namespace: dict = {}
    exec(PLAY, namespace)  # noqa: S102  (the same play as the namespace's, on tuxnet's socket module)

    def tool(name: str, args: list[str]) -> str:
        before = len(h.console)
        libc.waitpid(h.spawn({"netstat": netstat, "ss": ss_main}[name], args, name=name).pid)
        return "".join(h.console[before:])

    proc = h.spawn(tux_socket.stdlib(namespace["play"]), lambda: libc.sleep(0.3), libc.read_file, tool)
    world.run_until(lambda: not proc.alive, timeout=10**11)
    return proc.result


@pytest.mark.root
def test_proc_net_files_and_timers_as_on_the_kernel():
    from tuxnet.tapnet import Netns, netns_unavailable

    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    ns = Netns(f"tuxnet-procnet-{os.getpid()}")
    try:
        linux_ports, linux_files, linux_tools = json.loads(ns.run(sys.executable, "-c", PLAY).stdout)
    finally:
        ns.close()
    ports, files, tools = play_here()
    # seq_pad: TCP's lines are padded to 149 characters, UDP's to 127, raw's not at all
    assert {len(line) for line in files[0].splitlines()} == {149}
    assert {len(line) for line in files[1].splitlines()} == {127}
    for mine, theirs in zip(files[:3], linux_files[:3], strict=True):
        assert masked(ports, mine) == masked(linux_ports, theirs)
    # sockstat: Linux counts orphans, TCP sockets allocated and their memory over the whole
    # machine, where other programs' sockets come and go (a tuxnet host is a machine of its own),
    # and its memory figures lag by up to a megabyte a CPU (SK_MEMORY_PCPU_RESERVE): tuxnet's are
    # the pages the sockets hold
    machine_wide = re.compile(r"orphan \d+ (tw \d+) alloc \d+ mem \d+|(?<=UDP: inuse \d) mem \d+")
    assert machine_wide.sub(r"\1", files[3]) == machine_wide.sub(r"\1", linux_files[3])
    assert files[3].splitlines()[:3] == ["sockets: used 8", "TCP: inuse 5 orphan 0 tw 1 alloc 5 mem 1",
                                         "UDP: inuse 2 mem 1"]
    # ss -s: on Linux, ss's own netlink socket is one of the Total
    summary = re.compile(r"Total: \d+|TCP: +\d+ \((estab \d+), closed \d+, orphaned \d+")
    assert summary.sub(r"\1", tools[2]) == summary.sub(r"\1", linux_tools[2])
    assert tools[2].splitlines()[:2] == ["Total: 8", "TCP:   6 (estab 4, closed 1, orphaned 0, timewait 1)"]
    # the timers: the keepalive's two hours and TIME-WAIT's minute, 0.3 s on, in clock ticks
    tcp = files[0]
    assert f":{ports[1]:04X} 0100007F:1389 01 00000000:00000000 02:000AFC62 " in tcp
    assert f":{ports[2]:04X} 0100007F:1389 06 00000000:00000000 03:00001752 " in tcp
    seconds = re.compile(r"\(\d+\.\d\d/")
    for mine, theirs in zip(tools[:2], linux_tools[:2], strict=True):
        assert masked(ports, seconds.sub("(S/", mine)) == masked(linux_ports, seconds.sub("(S/", theirs))
    assert "keepalive (7199.70/0/0)" in tools[0] and "timewait (59.70/0/0)" in tools[0]
    assert "timer:(keepalive,119min,0)" in tools[1] and "timer:(timewait,59sec,0)" in tools[1]


def test_cat_prints_each_file_and_says_which_it_cannot_read():
    from tuxnet.user.programs.cat import cat_main

    world = World(seed=1)
    h = world.add_host("h")
    h.files["/etc/hostname"] = "h\n"
    proc = h.spawn(cat_main, ["/etc/hostname", "/nope", "/proc/net/snmp"], name="cat")
    world.run_until(lambda: not proc.alive)
    lines = h.output().splitlines()
    assert proc.result == 1 and lines[:2] == ["h", "cat: /nope: No such file or directory"]
    assert lines[2].startswith("Ip: Forwarding DefaultTTL") and lines[-1].startswith("UdpLite: 0 0")
    proc = h.spawn(cat_main, [], name="cat")
    world.run_until(lambda: not proc.alive)
    assert proc.result == 1 and h.output().endswith("cat: a file to read is needed (tuxnet's programs have no "
                                                    "standard input)\n")
