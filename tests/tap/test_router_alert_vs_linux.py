"""IP_ROUTER_ALERT judged by this machine's kernel, on A -- R -- B (Linux namespaces joined by veth
pairs, R forwarding; and tuxnet hosts joined by cables): a raw socket of protocol 253 on the router
joins the Router Alert chain (only a raw socket of a protocol may: EINVAL for UDP and for
IPPROTO_RAW; EADDRINUSE to join twice, ENOBUFS to leave when out), and a datagram of that protocol
from A to B that carries the Router Alert option (RFC 2113) goes to it instead of on to B, its TTL
as it came; one without the option is forwarded to B (``ip_call_ra_chain``)."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable

import pytest
from linuxnet import a_r_b

import tuxnet.socket as tux_socket
from tuxnet.tapnet import Netns, netns_unavailable
from tuxnet.user import libc
from tuxnet.user.iproute import ip
from tuxnet.world import World, secs

pytestmark = pytest.mark.root

IP_ROUTER_ALERT, PROTO = 5, 253
SCRIPT = os.path.abspath(__file__)


def _t(fn: Callable, *args: object) -> object:
    try:
        return fn(*args)
    except OSError as e:
        import errno

        return errno.errorcode[e.errno]


def _read_all(s: socket.socket, seconds: float) -> list:
    """Each datagram's payload and TTL, until nothing comes for ``seconds``."""
    s.settimeout(seconds)
    got = []
    while True:
        try:
            packet = s.recv(200)
        except OSError:
            return got
        got.append([packet[(packet[0] & 15) * 4:].decode(), packet[8], (packet[0] & 15) * 4])


def router(sleep: Callable[[float], None]) -> list:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rawraw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, PROTO)
    out = [_t(u.setsockopt, socket.IPPROTO_IP, IP_ROUTER_ALERT, 1),
           _t(rawraw.setsockopt, socket.IPPROTO_IP, IP_ROUTER_ALERT, 1),
           _t(u.getsockopt, socket.IPPROTO_IP, IP_ROUTER_ALERT),
           _t(s.setsockopt, socket.IPPROTO_IP, IP_ROUTER_ALERT, 1),
           _t(s.setsockopt, socket.IPPROTO_IP, IP_ROUTER_ALERT, 1),
           _t(s.getsockopt, socket.IPPROTO_IP, IP_ROUTER_ALERT),
           _t(s.setsockopt, socket.IPPROTO_IP, IP_ROUTER_ALERT, 0),
           _t(s.setsockopt, socket.IPPROTO_IP, IP_ROUTER_ALERT, 0),
           _t(s.setsockopt, socket.IPPROTO_IP, IP_ROUTER_ALERT, b""),
           _t(s.setsockopt, socket.IPPROTO_IP, IP_ROUTER_ALERT, 1)]
    return out + [_read_all(s, 1.5)]


def far_host(sleep: Callable[[float], None]) -> list:
    return _read_all(socket.socket(socket.AF_INET, socket.SOCK_RAW, PROTO), 1.5)


def sender(sleep: Callable[[float], None]) -> list:
    sleep(0.3)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, PROTO)
    out = [s.sendto(b"plain", ("10.0.3.2", 0))]
    s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, bytes([148, 4, 0, 0]))  # Router Alert
    out.append(s.sendto(b"alert", ("10.0.3.2", 0)))
    return out


PLAYS = {"router": router, "far_host": far_host, "sender": sender}


def linux_play() -> list:
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    spaces: list[Netns] = []
    try:
        a, r, b = a_r_b(f"tuxnet-ra-{os.getpid()}", 1500, spaces)
        b.run("ip", "route", "add", "default", "via", "10.0.3.254")
        procs = [ns.popen(sys.executable, SCRIPT, name) for ns, name in ((r, "router"), (b, "far_host"), (a, "sender"))]
        return [json.loads(p.communicate(timeout=30)[0]) for p in procs]
    finally:
        for ns in spaces:
            ns.close()


def tuxnet_play() -> list:
    world = World(seed=1)
    a, r, b = world.add_host("a"), world.add_router("r"), world.add_host("b")
    world.connect(a, r, a_addr="10.0.1.1/24", b_addr="10.0.1.254/24")
    world.connect(r, b, a_addr="10.0.3.254/24", b_addr="10.0.3.2/24")
    ip(a, "route add default via 10.0.1.254")
    ip(b, "route add default via 10.0.3.254")
    procs = [host.spawn(tux_socket.stdlib(PLAYS[name]), libc.sleep) for host, name in
             ((r, "router"), (b, "far_host"), (a, "sender"))]
    world.run_until(lambda: not any(p.alive for p in procs), timeout=secs(30))
    return [json.loads(json.dumps(p.result)) for p in procs]


def test_the_router_alert_chain_takes_what_it_would_forward():
    linux = linux_play()
    ours = tuxnet_play()
    assert ours == linux
    routed, far, _ = ours
    assert routed[:3] == ["EINVAL", "EINVAL", 0] and routed[-1] == [["alert", 64, 24]]
    assert far == [["plain", 63, 20]]


if __name__ == "__main__":
    print(json.dumps(PLAYS[sys.argv[1]](time.sleep)))
