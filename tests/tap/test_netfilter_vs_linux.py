"""A datagram dropped by netfilter on its way out, judged by this machine's kernel: ``iptables``
drops UDP to port 9000 in the filter table's OUTPUT chain or the mangle table's POSTROUTING (the
LOCAL_OUT and POST_ROUTING hooks), and ICMP from a raw socket; the same program sends on a veth
pair between two namespaces of our own and on tuxnet, whose hooks drop the same packets.  The
sends must fail or succeed alike, and Ip OutRequests/OutDiscards and Udp OutDatagrams/
SndbufErrors move alike."""

from __future__ import annotations

import ast
import os
import shutil

import pytest

from tuxnet.net.core.netfilter import NF_ACCEPT, NF_DROP, NF_INET_LOCAL_OUT, NF_INET_POST_ROUTING, nf_register_net_hook
from tuxnet.net.socket import AF_INET, SOCK_DGRAM, SOCK_RAW
from tuxnet.tapnet import netns_pair, netns_unavailable
from tuxnet.user import libc
from tuxnet.world import World

pytestmark = pytest.mark.root

COUNTERS = ("Ip:OutRequests", "Ip:OutDiscards", "Udp:OutDatagrams", "Udp:SndbufErrors")
# (iptables rule, tuxnet hook): what each case drops
RULES = {
    "output": (["-A", "OUTPUT", "-p", "udp", "--dport", "9000", "-j", "DROP"], NF_INET_LOCAL_OUT),
    "postrouting": (["-t", "mangle", "-A", "POSTROUTING", "-p", "udp", "--dport", "9000", "-j", "DROP"],
                    NF_INET_POST_ROUTING),
    "icmp": (["-A", "OUTPUT", "-p", "icmp", "-j", "DROP"], NF_INET_LOCAL_OUT),
}

# UDP to ports 9000 and 9001, then an ICMP echo request from a raw socket: each send's result
# (the count, or -errno) and how the counters moved
LINUX_SENDS = """
import socket, sys
COUNTERS = sys.argv[1:]
def counters():
    lines = [line.split() for line in open("/proc/net/snmp")]
    values = {}
    for names, numbers in zip(lines[::2], lines[1::2]):
        values.update({names[0] + name: int(n) for name, n in zip(names[1:], numbers[1:])})
    return [values[c] for c in COUNTERS]
def send(s, data, addr):
    try:
        return s.sendto(data, addr)
    except OSError as e:
        return -e.errno
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
before = counters()
results = [send(udp, b"x" * 100, ("10.9.0.2", 9000)), send(udp, b"x" * 100, ("10.9.0.2", 9001)),
           send(raw, bytes([8, 0, 0xF7, 0xFF, 0, 0, 0, 0]), ("10.9.0.2", 0))]
print(repr((results, [a - b for a, b in zip(counters(), before)])))
"""


def _drops(case: str):
    """The tuxnet hook dropping what ``case``'s rule drops."""

    def hook(host, skb, state) -> int:
        buf, nh = skb.buf, skb.network_header
        if case == "icmp":
            return NF_DROP if buf[nh + 9] == 1 else NF_ACCEPT
        is_udp = buf[nh + 9] == 17
        return NF_DROP if is_udp and int.from_bytes(buf[nh + 22:nh + 24], "big") == 9000 else NF_ACCEPT

    return hook


def tuxnet_sends(case: str) -> tuple[list[int], list[int]]:
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, a_addr="10.9.0.1/24", b_addr="10.9.0.2/24")
    nf_register_net_hook(a, RULES[case][1], _drops(case))

    def counters() -> list[int]:
        return [getattr(a.mib, c.split(":")[0])[c.split(":")[1]] for c in COUNTERS]

    def send(fd: int, data: bytes, addr: tuple[str, int]) -> int:
        try:
            return libc.sendto(fd, data, 0, addr)
        except OSError as e:
            return -e.errno

    def program() -> tuple[list[int], list[int]]:
        udp = libc.socket(AF_INET, SOCK_DGRAM, 0)
        raw = libc.socket(AF_INET, SOCK_RAW, 1)
        before = counters()
        results = [send(udp, b"x" * 100, ("10.9.0.2", 9000)), send(udp, b"x" * 100, ("10.9.0.2", 9001)),
                   send(raw, bytes([8, 0, 0xF7, 0xFF, 0, 0, 0, 0]), ("10.9.0.2", 0))]
        return results, [x - y for x, y in zip(counters(), before, strict=True)]

    proc = a.spawn(program)
    world.run_until(lambda: not proc.alive)
    return proc.result


def linux_sends(case: str) -> tuple[list[int], list[int]]:
    a, b = netns_pair(f"tuxnet-nf-{os.getpid()}", "10.9.0.1/24", "10.9.0.2/24")
    try:
        a.run("iptables", *RULES[case][0])
        return ast.literal_eval(a.run("python3", "-c", LINUX_SENDS, *COUNTERS).stdout.strip())
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("case", list(RULES))
def test_a_send_netfilter_drops_fails_as_on_the_kernel(case):
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    if shutil.which("iptables") is None:
        pytest.skip("iptables is not installed (apt-get install iptables)")
    linux = linux_sends(case)
    ours = tuxnet_sends(case)
    assert ours == linux
    # EPERM for what was dropped, the datagram counted in OutDiscards and not in OutDatagrams
    expected = ([100, 100, -1], [3, 1, 2, 0]) if case == "icmp" else ([-1, 100, 8], [3, 1, 1, 0])
    assert ours == expected
