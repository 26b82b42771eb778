"""Volume over loopback: many connections and a large transfer, bytes intact, in virtual time."""

from __future__ import annotations

import hashlib
import random

from conftest import make_lo_host
from procs import run_program
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.programs.hello import hello, replyhi
from tuxnet.user.programs.inetd import DISCARD_PORT, start_services


def test_thousand_sequential_hello_replyhi_exchanges():
    world, host = make_lo_host(seed=3)
    host.spawn(replyhi, count=1000)

    def clients():
        return [hello() for _ in range(1000)]

    answers = run_program(world, host, clients)
    assert answers == [b"hi"] * 1000
    assert host.mib.Tcp["ActiveOpens"] == 1000 and host.mib.Tcp["PassiveOpens"] == 1000
    assert host.mib.Tcp["EstabResets"] == 0 and host.mib.Tcp["RetransSegs"] == 0
    assert host.output().count('recv "hello" from 127.0.0.1:') == 1000


def test_ten_megabytes_arrive_intact():
    world, host = make_lo_host(seed=4)
    payload = random.Random(1).randbytes(10 * 1024 * 1024)
    stats = start_services(host, ["discard"])

    def source():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("127.0.0.1", DISCARD_PORT))
        view = memoryview(payload)
        sent = 0
        while sent < len(payload):
            sent += libc.send(fd, view[sent:sent + 100_000])
        libc.close(fd)

    run_program(world, host, source)
    world.run_until(lambda: bool(stats.get("discarded")))
    assert stats["discarded"][0]["bytes"] == len(payload)
    assert stats["discarded"][0]["sha256"] == hashlib.sha256(payload).hexdigest()
