"""Sequence numbers wrap at 2**32 (RFC 9293 section 3.4): a connection whose sequence space
crosses the wrap in the middle of a transfer carries on as if nothing happened."""

from __future__ import annotations

import hashlib
import random

import pytest
from tcpnet import B_ADDR, pair

from tuxnet.net.ipv4 import tcp_ipv4
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc

PORT = 5001


@pytest.mark.parametrize("isn", [2**32 - 5_000, 2**32 - 700_000])
def test_a_transfer_across_the_sequence_wrap(monkeypatch, isn):
    """The sender's initial sequence number is set just below 2**32 (any ISN is a valid one), so
    the receiver's RCV.NXT wraps while RCV.WUP has not: its window must stay the window."""
    monkeypatch.setattr(tcp_ipv4, "secure_tcp_seq", lambda host, saddr, daddr, sport, dport: isn)
    world, a, b, _ = pair()
    size = 2_000_000
    payload = random.Random(1).randbytes(size)
    seen: dict = {}

    def reader() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, (B_ADDR, PORT))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        h, n = hashlib.sha256(), 0
        while data := libc.recv(fd, 1 << 16):
            h.update(data)
            n += len(data)
        seen["bytes"], seen["sha256"] = n, h.hexdigest()

    def writer() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (B_ADDR, PORT))
        libc.send(fd, payload)
        libc.close(fd)

    r = b.spawn(reader)
    world.run_for(1_000_000)
    a.spawn(writer)
    world.run_until(lambda: not r.alive, timeout=60 * 10**9)
    assert seen.get("bytes") == size and seen["sha256"] == hashlib.sha256(payload).hexdigest()
    assert b.mib.TcpExt["TCPZeroWindowDrop"] == 0 and b.mib.TcpExt["TCPToZeroWindowAdv"] == 0
    assert world.now < 2 * 10**9, "no stall: 2 MB at 100 Mb/s take well under two seconds"
