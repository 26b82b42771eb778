"""TCP Fast Open (RFC 7413) judged by this machine's kernel: one program over loopback, played by
the kernel in a network namespace of our own and by tuxnet.

A listener with ``TCP_FASTOPEN`` and a key of its own (``TCP_FASTOPEN_KEY``) serves four clients:
the first asks for a cookie with ``sendto(MSG_FASTOPEN)``; the second sends its data in the SYN;
the third uses ``TCP_FASTOPEN_CONNECT``, whose ``connect()`` returns at once and whose first
``send()`` carries the SYN; the fourth sends 100,000 bytes, of which the SYN takes what fits.  The
outcomes: what each call returns (and its errors: a second MSG_FASTOPEN on a connected socket,
options on a connected socket, a key of the wrong length), ``tcpi_options``' SYN_DATA bit, the
Fast Open counters, and the cookie and MSS the client cached: SipHash of the two addresses under
the key, so the same on both when tuxnet reads the key as the kernel does.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from loplay import kernel_outcomes, lo_world, tuxnet_outcomes

from tuxnet.net.ipv4.tcp_metrics import tcp_metrics_show
from tuxnet.user import libc

pytestmark = pytest.mark.root

PORT = 7500
TCP_FASTOPEN, TCP_FASTOPEN_CONNECT, TCP_FASTOPEN_KEY, TCP_FASTOPEN_NO_COOKIE = 23, 30, 33, 34
MSG_FASTOPEN = 0x20000000
TCPI_OPT_SYN_DATA = 32
KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
COUNTERS = ("TCPFastOpenActive", "TCPFastOpenActiveFail", "TCPFastOpenPassive", "TCPFastOpenPassiveFail",
            "TCPFastOpenListenOverflow", "TCPFastOpenCookieReqd")


def errno_of(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except OSError as e:
        return e.errno


def syn_data(s: socket.socket) -> list:
    """``tcpi_options & TCPI_OPT_SYN_DATA`` (the SYN's data was acknowledged) and
    ``tcpi_fastopen_client_fail``."""
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return [bool(info[5] & TCPI_OPT_SYN_DATA), (info[7] >> 1) & 3]


def play(counters: Callable[[], list[int]], cached: Callable[[], list[str]], sleep: Callable[[float], None]) -> list:
    addr = ("127.0.0.1", PORT)
    out: list[Any] = []
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(addr)
    out.append(["key, short", errno_of(lambda: ls.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_KEY, KEY[:8]))])
    ls.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_KEY, KEY)
    ls.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN, 5)
    ls.listen(8)
    out.append(["qlen", ls.getsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN)])
    for i, size in enumerate((5, 5, 0, 100_000)):
        c = socket.socket()
        data = bytes([65 + i]) * (size or 5)
        if size:
            sent = c.sendto(data, MSG_FASTOPEN, addr)
        else:
            c.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)
            sent = [c.connect_ex(addr), c.getsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_CONNECT), c.send(data)]
        a, _ = ls.accept()
        got = b""
        while len(got) < len(data):
            got += a.recv(200_000)
        sleep(0.05)
        out.append([i, sent, got == data, syn_data(c), syn_data(a), counters(), cached()])
        if i == 1:
            out.append(["again", errno_of(lambda c=c: c.sendto(b"x", MSG_FASTOPEN, addr)),
                        errno_of(lambda c=c: c.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)),
                        errno_of(lambda c=c: c.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN, 1)),
                        errno_of(lambda c=c: c.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1))])
        a.close()
        c.close()
        sleep(0.05)
    # A listener without TCP_FASTOPEN ignores the cookie: its SYN-ACK acknowledges the SYN alone,
    # and the client sends the data again at once.
    plain = socket.socket()
    plain.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    plain.bind(("127.0.0.1", PORT + 1))
    plain.listen(8)
    c = socket.socket()
    sent = c.sendto(b"E" * 5, MSG_FASTOPEN, ("127.0.0.1", PORT + 1))
    a, _ = plain.accept()
    out.append(["plain", sent, a.recv(100).decode(), syn_data(c), counters(), cached()])
    for s in (a, c, plain, ls):
        s.close()
    return out


def kernel_counters() -> list[int]:
    with open("/proc/net/netstat") as f:
        head, values = [line.split() for line in f.readlines()[:2]]
    row = dict(zip(head[1:], values[1:], strict=True))
    return [int(row[name]) for name in COUNTERS]


def metrics_fields(text: str) -> list[str]:
    """The Fast Open part of ``ip tcp_metrics show``'s line: its MSS and cookie."""
    return re.findall(r"fo_(?:mss|cookie) \S+", text)


def kernel_cached() -> list[str]:
    return metrics_fields(subprocess.run(["ip", "tcp_metrics", "show", "127.0.0.1"], capture_output=True,
                                         text=True, check=True).stdout)


def test_fast_open_as_on_the_kernel() -> None:
    linux = kernel_outcomes(os.path.basename(__file__), "fastopen")
    world, host = lo_world()
    host.sysctl.set("net.ipv4.tcp_fastopen", "3")
    ours = tuxnet_outcomes(world, host, play, lambda: [host.mib.TcpExt[name] for name in COUNTERS],
                           lambda: metrics_fields(tcp_metrics_show(host)), libc.sleep)
    assert ours == linux
    # what the kernel showed: the first client got a cookie, the later ones sent data in the SYN
    first, second, plain = ours[2], ours[3], ours[-1]  # (1: TFO_COOKIE_UNAVAILABLE)
    assert first[3] == [False, 1] and first[5][COUNTERS.index("TCPFastOpenCookieReqd")] == 1
    assert second[3] == [True, 0] and second[4][0] is True
    assert len(first[6][1].split()[1]) == 16  # an 8-byte cookie
    assert plain[3] == [False, 2]  # TFO_DATA_NOT_ACKED
    assert plain[4][COUNTERS.index("TCPFastOpenActiveFail")] == 1


if __name__ == "__main__":
    with open("/proc/sys/net/ipv4/tcp_fastopen", "w") as f:
        f.write("3")
    print(json.dumps(play(kernel_counters, kernel_cached, time.sleep)))
    sys.exit(0)
