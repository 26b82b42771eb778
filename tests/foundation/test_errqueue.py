"""The error queue (``ip_recv_error``, net/ipv4/ip_sockglue.c) as a UDP socket with IP_RECVERR
reads it: an ICMP port unreachable for a datagram it sent is one entry, read with
``recvmsg(MSG_ERRQUEUE)``; the same steps through the standard library on this machine's kernel and
through ``tuxnet.socket`` must answer alike."""

from __future__ import annotations

import socket
import time
from errno import EAGAIN, ECONNREFUSED
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
