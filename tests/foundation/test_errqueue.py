"""The error queue (``ip_recv_error``, net/ipv4/ip_sockglue.c) as a UDP socket with IP_RECVERR
reads it: an ICMP port unreachable for a datagram it sent is one entry, read with
``recvmsg(MSG_ERRQUEUE)``; the same steps through the standard library on this machine's kernel and
through ``tuxnet.socket`` must answer alike."""

from __future__ import annotations

import socket
import time
from errno import EAGAIN, ECONNREFUSED, ENOPROTOOPT
from typing import Any

import pytest

from tuxnet import socket as tsock
from tuxnet.benchmarks import lo_world
from tuxnet.net.core.skbuff import SO_EE_ORIGIN_ICMP, SockExtendedErr
from tuxnet.user import libc


def _steps(mod: Any, sleep: Any, port: int) -> list[Any]:
    """A datagram to a closed port, then what the error queue and SO_ERROR say."""
    out: list[Any] = []
    u = mod.socket(mod.AF_INET, mod.SOCK_DGRAM)
    u.setsockopt(mod.SOL_IP, tsock.IP_RECVERR, 1)
    u.sendto(b"hello", ("127.0.0.1", port))
    sleep(0.1)
    out.append(u.recvmsg(100, 1024, mod.MSG_ERRQUEUE))
    out.append(u.getsockopt(mod.SOL_SOCKET, mod.SO_ERROR))  # the queue read, the error is gone
    try:
        u.recvmsg(100, 1024, mod.MSG_ERRQUEUE)
    except OSError as e:
        out.append(e.errno)
    u.sendto(b"hello", ("127.0.0.1", port))
    sleep(0.1)
    out.append(u.recvmsg(3, 1024, mod.MSG_ERRQUEUE))  # cut: MSG_TRUNC
    u.close()
    return out


def test_an_icmp_error_is_read_from_the_error_queue_as_this_machines_kernel_gives_it():
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # a port nobody listens on
    try:
        linux = _steps(socket, time.sleep, port)
    except OSError as e:
        pytest.skip(f"no ICMP error from this machine's loopback: {e}")
    world, host = lo_world()
    out: list[Any] = []
    host.spawn(lambda: out.append(_steps(tsock, libc.sleep, port)))
    world.run_until(lambda: bool(out), timeout=10 * 10**9)
    assert out[0] == linux
    (data, [(level, type_, cmsg)], flags, addr), so_error, empty, cut = out[0]
    assert (data, level, type_, flags, addr) == (b"hello", tsock.SOL_IP, tsock.IP_RECVERR, tsock.MSG_ERRQUEUE,
                                                 ("127.0.0.1", port))
    ee = SockExtendedErr.unpack(cmsg)
    assert (ee.ee_errno, ee.ee_origin, ee.ee_type, ee.ee_code) == (ECONNREFUSED, SO_EE_ORIGIN_ICMP, 3, 3)
    assert cmsg[16:24] == b"\x02\x00\x00\x00\x7f\x00\x00\x01"  # the offender: AF_INET, 127.0.0.1
    assert (so_error, empty) == (0, EAGAIN)
    assert cut[0] == b"hel" and cut[2] == tsock.MSG_ERRQUEUE | tsock.MSG_TRUNC


_RAW_STEPS = """
import socket, sys, time
IP_RECVERR = 11
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
r.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
r.sendto(b"hello, world", ("10.0.0.2", 0))
time.sleep(0.2)
data, anc, flags, addr = r.recvmsg(100, 1024, socket.MSG_ERRQUEUE)
err = r.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
print(repr((data, [(l, t, bytes(c)) for l, t, c in anc], flags, addr, err)))
"""


@pytest.mark.root
def test_a_raw_sockets_error_queue_as_this_machines_kernel_fills_it():
    """``raw_err`` with IP_RECVERR: a datagram of a protocol the peer does not speak comes back as
    ICMP protocol unreachable (ENOPROTOOPT, a hard error), quoted from after its IP header (at
    least 8 bytes of it, or the message is dropped: icmp_socket_deliver); the
    same on two namespaces of this machine and on two tuxnet hosts."""
    import os
    import subprocess

    from tuxnet.tapnet import netns_pair, netns_unavailable
    from tuxnet.world import World

    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    try:
        a, b = netns_pair(f"tuxnet-rawerr-{os.getpid()}", "10.0.0.1/24", "10.0.0.2/24")
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"cannot build two namespaces here: {e}")
    try:
        linux = eval(a.run("python3", "-c", _RAW_STEPS).stdout)
    finally:
        a.close()
        b.close()
    world = World(seed=1)
    ta, tb = world.add_host("a"), world.add_host("b")
    world.connect(ta, tb, a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    out: list[Any] = []

    def steps() -> None:
        r = tsock.socket(tsock.AF_INET, tsock.SOCK_RAW, 253)
        r.setsockopt(tsock.SOL_IP, tsock.IP_RECVERR, 1)
        r.sendto(b"hello, world", ("10.0.0.2", 0))
        libc.sleep(0.2)
        data, anc, flags, addr = r.recvmsg(100, 1024, tsock.MSG_ERRQUEUE)
        out.append((data, [(level, t, bytes(c)) for level, t, c in anc], flags, addr,
                    r.getsockopt(tsock.SOL_SOCKET, tsock.SO_ERROR)))

    ta.spawn(steps)
    world.run_until(lambda: bool(out), timeout=10 * 10**9)
    assert out[0] == linux
    ee = SockExtendedErr.unpack(linux[1][0][2])
    assert (ee.ee_errno, ee.ee_type, ee.ee_code, linux[0]) == (ENOPROTOOPT, 3, 2, b"hello, world")
