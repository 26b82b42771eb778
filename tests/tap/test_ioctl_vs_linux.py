"""``fcntl.ioctl`` on sockets (SIOCINQ, SIOCOUTQ, SIOCOUTQNSD, SIOCATMARK, FIONBIO) judged by
this machine's kernel: ``ioctlplay.py``'s program, in a network namespace of our own and on a
tuxnet host run with ``tuxnet.socket.stdlib``, must give the same outcomes."""

from __future__ import annotations

import json
import os
import sys

import pytest
from ioctlplay import UNANSWERED, play

import tuxnet.socket as tux_socket
from tuxnet.tapnet import Netns, netns_unavailable
from tuxnet.user import libc
from tuxnet.world import World

pytestmark = pytest.mark.root


def linux_play() -> list:
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    ns = Netns(f"tuxnet-ioctl-{os.getpid()}")
    try:
        # 10.99.0.0/24 on a veth whose peer nobody reads: a SYN to UNANSWERED goes unanswered
        ns.run("ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1")
        ns.run("ip", "addr", "add", "10.99.0.2/24", "dev", "v0")
        ns.run("ip", "link", "set", "v0", "up")
        ns.run("ip", "link", "set", "v1", "up")
        script = os.path.join(os.path.dirname(__file__), "ioctlplay.py")
        return json.loads(ns.run(sys.executable, script).stdout)
    finally:
        ns.close()


def tuxnet_play() -> list:
    world = World(seed=1)
    host = world.add_host("h")
    host.dev_open("lo")
    host.ip_addr_add("lo", "127.0.0.1/8")
    far = world.add_host("far")  # up, but it has no UNANSWERED
    world.connect(host, far, a_addr="10.99.0.2/24", b_addr="10.99.0.3/24")
    proc = host.spawn(tux_socket.stdlib(play), libc.sleep)
    world.run_until(lambda: not proc.alive, timeout=10**11)
    return json.loads(json.dumps(proc.result))


def test_socket_ioctls_as_on_the_kernel():
    assert UNANSWERED.startswith("10.99.0.")
    linux = linux_play()
    ours = tuxnet_play()
    assert ours == linux
    # a few of them spelled out: five bytes before the FIN-less shutdown and after it; seven up to
    # the urgent byte; a listener's EINVAL; SYN_SENT holds no data
    assert ours[0] == ours[3] == 5
    assert ours[4] == 7
    assert "EINVAL" in ours and ours[-3:] == [0, 0, 0]
