"""A UDP socket's buffers judged by this machine's kernel: the datagrams a qdisc holds stay
charged to their socket (``sk_wmem_alloc``, read with SIOCOUTQ) until they leave, and a send
finding the buffer full is refused (EAGAIN) or waits; a receiver's unread datagrams are charged
their truesize against SO_RCVBUF.

Behind ``tbf rate 8kbit`` with a burst of one frame, the first frame leaves at once and the next
only a second or so later, so a program sending non-blocking datagrams until EAGAIN sees what
stays held.  (One frame: a veth sends at once what a tuxnet cable takes time to put on the wire,
so a second frame the burst let through would be held by one and not the other.)  The same program
runs on a veth pair between two namespaces of our own and on two tuxnet hosts joined by a cable:
it must accept as many datagrams, read the same SIOCOUTQ after each, and find the socket not
writable at the end.

The sizes are those whose buffers the kernel takes from kmalloc (a linear head, or one per
fragment) and not from its small-head cache, whose size depends on the kernel's build
(MAX_TCP_HEADER: 256 on this machine's, 320 on Debian's, which tuxnet models)."""

from __future__ import annotations

import ast
import os
from typing import Any

import pytest

from tuxnet.kernel.errno import EAGAIN, ENOBUFS
from tuxnet.net.core.sock import SO_RCVBUF, SO_SNDBUF, SOL_SOCKET
from tuxnet.net.ipv4.af_inet import IP_RECVERR, IPPROTO_IP
from tuxnet.net.socket import AF_INET, MSG_DONTWAIT, POLLOUT, SIOCOUTQ, SOCK_DGRAM
from tuxnet.tapnet import netns_pair, netns_unavailable
from tuxnet.user import libc
from tuxnet.user.iproute import ip
from tuxnet.user.tc import tc
from tuxnet.world import World

pytestmark = pytest.mark.root

SHAPER = "qdisc add dev eth0 root tbf rate 8kbit burst {burst} limit 10000000"
# a shaper that lets one frame through and holds two more (3,000 bytes)
DROPPER = "qdisc add dev eth0 root tbf rate 8kbit burst 1600 limit 3000"
# (datagram size, SO_SNDBUF or 0, the shaper's burst): a full frame, one of a 1 KB head, fragments,
# a smaller buffer
CASES = [(1400, 0, 1600), (500, 0, 600), (8000, 0, 1600), (30000, 0, 1600), (1400, 20000, 1600)]

# b's reader: no datagram is refused with an ICMP port unreachable, whose error a's socket would
# report on its next send (it reaches a at once on a veth, later over a tuxnet cable)
LINUX_SINK = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.9.0.2", 9000))
print("bound", flush=True)
while True:
    s.recv(65536)
"""


def tuxnet_sink() -> None:
    """``LINUX_SINK`` on tuxnet."""
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.bind(fd, ("10.9.0.2", 9000))
    while True:
        libc.recv(fd, 65536)


LINUX_FILL = """
import fcntl, select, socket, struct, sys
size, sndbuf = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if sndbuf:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
outq = []
while len(outq) < 1000:
    try:
        s.sendto(b"x" * size, socket.MSG_DONTWAIT, ("10.9.0.2", 9000))
    except BlockingIOError:
        break
    outq.append(struct.unpack("i", fcntl.ioctl(s, 0x5411, bytes(4)))[0])  # SIOCOUTQ
p = select.poll()
p.register(s, select.POLLOUT)
print(repr((outq, s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF), sum(ev for _, ev in p.poll(0)))))
"""


LINUX_DROPS = """
import socket, sys
def counters():
    lines = [line.split() for line in open("/proc/net/snmp")]
    values = {}
    for names, numbers in zip(lines[::2], lines[1::2]):
        values.update({names[0] + name: int(n) for name, n in zip(names[1:], numbers[1:])})
    return values["Udp:SndbufErrors"], values["Ip:OutDiscards"], values["Udp:OutDatagrams"]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 11, int(sys.argv[1]))  # IP_RECVERR
before = counters()
results = []
for _ in range(8):
    try:
        results.append(s.sendto(b"x" * 1400, ("10.9.0.2", 9000)))
    except OSError as e:
        results.append(-e.errno)
print(repr((results, [a - b for a, b in zip(counters(), before)])))
"""


def tuxnet_drops(recverr: int) -> tuple[list[int], list[int]]:
    """``LINUX_DROPS`` on tuxnet."""
    world, a = tuxnet_pair(DROPPER)

    def send() -> tuple[list[int], list[int]]:
        def counters() -> tuple[int, int, int]:
            return a.mib.Udp["SndbufErrors"], a.mib.Ip["OutDiscards"], a.mib.Udp["OutDatagrams"]

        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.setsockopt(fd, IPPROTO_IP, IP_RECVERR, recverr)
        before = counters()
        results = []
        for _ in range(8):
            try:
                results.append(libc.sendto(fd, b"x" * 1400, 0, ("10.9.0.2", 9000)))
            except OSError as e:
                results.append(-e.errno)
        return results, [x - y for x, y in zip(counters(), before, strict=True)]

    proc = a.spawn(send)
    world.run_until(lambda: not proc.alive)
    return proc.result


def tuxnet_pair(shaper: str) -> tuple[World, Any]:
    """10.9.0.1 (a, returned with the world) and 10.9.0.2 on a cable, b's address known to a, and
    ``shaper`` as a's root qdisc."""
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, a_addr="10.9.0.1/24", b_addr="10.9.0.2/24")
    ip(a, f"neigh add 10.9.0.2 lladdr {b.dev('eth0').dev_addr.hex(':')} dev eth0 nud permanent")
    tc(a, shaper)
    b.spawn(tuxnet_sink)
    return world, a


def tuxnet_fill(size: int, sndbuf: int, burst: int) -> tuple[list[int], int, int]:
    """``LINUX_FILL`` on tuxnet: 10.9.0.1 sends to 10.9.0.2 across a cable, behind the shaper."""
    world, a = tuxnet_pair(SHAPER.format(burst=burst))

    def fill() -> tuple[list[int], int, int]:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        if sndbuf:
            libc.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, sndbuf)
        outq = []
        while len(outq) < 1000:  # (a send buffer that never fills would not stop it)
            try:
                libc.sendto(fd, b"x" * size, MSG_DONTWAIT, ("10.9.0.2", 9000))
            except OSError as e:
                assert e.errno == EAGAIN
                break
            outq.append(libc.ioctl(fd, SIOCOUTQ))
        return outq, libc.getsockopt(fd, SOL_SOCKET, SO_SNDBUF), sum(libc.poll([(fd, POLLOUT)], 0))

    proc = a.spawn(fill)
    world.run_until(lambda: not proc.alive)
    return proc.result


def linux_runs(runs: list[tuple[str, str, list[str]]]) -> list[Any]:
    """Each (shaper, script, arguments) of ``runs`` on 10.9.0.1 of a veth pair between two
    namespaces of our own, behind a fresh shaper (full bucket, empty queue): what it printed."""
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    a, b = netns_pair(f"tuxnet-udpbuf-{os.getpid()}", "10.9.0.1/24", "10.9.0.2/24")
    sink = None
    try:
        for ns in (a, b):  # no IPv6: its solicitations and reports would spend the shaper's burst
            ns.run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        mac = b.run("cat", "/sys/class/net/eth0/address").stdout.strip()
        a.run("ip", "neigh", "add", "10.9.0.2", "lladdr", mac, "dev", "eth0", "nud", "permanent")
        sink = b.popen("python3", "-c", LINUX_SINK)
        assert sink.stdout is not None and sink.stdout.readline() == "bound\n"
        results = []
        for shaper, script, args in runs:
            a.run("tc", "qdisc", "del", "dev", "eth0", "root", check=False)
            a.run("tc", *shaper.split())
            results.append(ast.literal_eval(a.run("python3", "-c", script, *args).stdout.strip()))
        return results
    finally:
        if sink is not None:
            sink.kill()
            sink.communicate()
        a.close()
        b.close()


def test_held_datagrams_fill_the_send_buffer_as_on_the_kernel():
    linux = linux_runs([(SHAPER.format(burst=burst), LINUX_FILL, [str(size), str(sndbuf)])
                        for size, sndbuf, burst in CASES])
    ours = [tuxnet_fill(*case) for case in CASES]
    for (size, sndbuf, _), theirs, mine in zip(CASES, linux, ours, strict=True):
        assert mine == theirs, f"{size}-byte datagrams, SO_SNDBUF {sndbuf}: tuxnet {mine}, Linux {theirs}"
    outq, sndbuf, events = ours[0]
    # the first frame left at once, then 93 of 2,304 bytes each (a 2 KB head and its sk_buff)
    assert (len(outq), outq[:2], outq[-1], sndbuf, events) == (94, [0, 2304], 93 * 2304, 212992, 0)


def test_a_qdisc_drop_is_counted_and_reported_only_with_ip_recverr():
    """Behind a shaper that holds two frames, five of eight datagrams are dropped: the sends
    succeed, counted in Udp SndbufErrors and Ip OutDiscards, unless IP_RECVERR asks for the
    error (ENOBUFS)."""
    linux = linux_runs([(DROPPER, LINUX_DROPS, [str(recverr)]) for recverr in (0, 1)])
    ours = [tuxnet_drops(recverr) for recverr in (0, 1)]
    assert ours == linux
    # (the deltas of Udp SndbufErrors, Ip OutDiscards, Udp OutDatagrams)
    assert ours[0] == ([1400] * 8, [5, 5, 3])
    assert ours[1] == ([1400] * 3 + [-ENOBUFS] * 5, [5, 5, 3])


# A receiver that does not read: how many of ten 1,400-byte datagrams over loopback its buffer
# takes (each charged the truesize its sender gave it), and what the rest count as.
LINUX_UNREAD = """
import socket, sys
def counters():
    lines = [line.split() for line in open("/proc/net/snmp")]
    values = {}
    for names, numbers in zip(lines[::2], lines[1::2]):
        values.update({names[0] + name: int(n) for name, n in zip(names[1:], numbers[1:])})
    return values["Udp:RcvbufErrors"], values["Udp:InErrors"], values["Udp:InDatagrams"]
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(sys.argv[1]))
r.bind(("127.0.0.1", 9100))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
before = counters()
for i in range(10):
    s.sendto(bytes([65 + i]) * 1400, ("127.0.0.1", 9100))
got = []
while True:
    try:
        got.append(r.recv(2000, socket.MSG_DONTWAIT)[:1].decode())
    except BlockingIOError:
        break
print(repr((got, [a - b for a, b in zip(counters(), before)])))
"""


def tuxnet_unread(rcvbuf: int) -> tuple[list[str], list[int]]:
    """``LINUX_UNREAD`` on tuxnet."""
    world, a = tuxnet_pair(DROPPER)

    def program() -> tuple[list[str], list[int]]:
        def counters() -> list[int]:
            return [a.mib.Udp[name] for name in ("RcvbufErrors", "InErrors", "InDatagrams")]

        r = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.setsockopt(r, SOL_SOCKET, SO_RCVBUF, rcvbuf)
        libc.bind(r, ("127.0.0.1", 9100))
        s = libc.socket(AF_INET, SOCK_DGRAM, 0)
        before = counters()
        for i in range(10):
            libc.sendto(s, bytes([65 + i]) * 1400, 0, ("127.0.0.1", 9100))
        got = []
        while True:
            try:
                got.append(libc.recv(r, 2000, MSG_DONTWAIT)[:1].decode())
            except OSError as e:
                assert e.errno == EAGAIN
                break
        return got, [x - y for x, y in zip(counters(), before, strict=True)]

    proc = a.spawn(program)
    world.run_until(lambda: not proc.alive)
    return proc.result


def test_an_unread_receive_buffer_takes_datagrams_by_their_truesize_as_on_the_kernel():
    """SO_RCVBUF 4096 is 8,192 of buffer: a datagram is queued only if its 2,304 bytes fit, so
    three, and the other seven count as RcvbufErrors and InErrors; a buffer too small for one
    (SO_RCVBUF 0 is SOCK_MIN_RCVBUF) still takes the first."""
    cases = [0, 1200, 4096, 5000, 20000]
    linux = linux_runs([(DROPPER, LINUX_UNREAD, [str(rcvbuf)]) for rcvbuf in cases])
    ours = [tuxnet_unread(rcvbuf) for rcvbuf in cases]
    assert ours == linux
    assert [len(got) for got, _ in ours] == [1, 1, 3, 4, 10]
    assert ours[2] == (list("ABC"), [7, 7, 3])
