"""TCP Fast Open (RFC 7413) judged by this machine's kernel: one program over loopback, played by
the kernel in a network namespace of our own and by tuxnet; then the kernel and tuxnet as each
other's Fast Open client and server, across a TAP device.

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

from tuxnet.net.core.utils import in_aton
from tuxnet.net.ipv4.tcp_fastopen import __tcp_fastopen_cookie_gen_cipher
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


# -- across the TAP device: the kernel and tuxnet as each other's Fast Open peer ------------------

LINUX_CLIENT = """
import socket, subprocess, sys
addr = (sys.argv[1], int(sys.argv[2]))
for i in range(2):
    s = socket.socket()
    s.sendto(b"hello %d" % i, 0x20000000, addr)  # MSG_FASTOPEN
    reply = s.recv(100)
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    print(reply.decode(), bool(info[5] & 32), flush=True)
    s.close()
print(subprocess.run(["ip", "tcp_metrics", "show", sys.argv[1]], capture_output=True, text=True).stdout, flush=True)
"""

LINUX_SERVER = """
import socket, sys
with open("/proc/sys/net/ipv4/tcp_fastopen", "w") as f:
    f.write("3")
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.setsockopt(socket.IPPROTO_TCP, 33, bytes.fromhex(sys.argv[3]))  # TCP_FASTOPEN_KEY
ls.setsockopt(socket.IPPROTO_TCP, 23, 8)  # TCP_FASTOPEN
ls.bind((sys.argv[1], int(sys.argv[2])))
ls.listen(8)
print("listening", flush=True)
for i in range(2):
    c, _ = ls.accept()
    c.sendall(b"ok: " + c.recv(100))
    c.close()
with open("/proc/net/netstat") as f:
    head, values = [line.split() for line in f.readlines()[:2]]
print(dict(zip(head[1:], values[1:]))["TCPFastOpenPassive"], flush=True)
"""


def test_the_kernel_opens_fast_to_tuxnet(tap_pair) -> None:
    """The kernel's client gets tuxnet's cookie, then sends its data in the SYN, which tuxnet's
    listener takes before the handshake ends."""
    p = tap_pair
    p.host.sysctl.set("net.ipv4.tcp_fastopen", "3")
    p.host.sysctl.set("net.ipv4.tcp_fastopen_key", "00112233-44556677-8899aabb-ccddeeff")
    log: list = []

    def server() -> None:
        lfd = libc.socket(2, 1, 0)
        libc.setsockopt(lfd, socket.IPPROTO_TCP, TCP_FASTOPEN, 8)
        libc.bind(lfd, (p.tux_ip, PORT))
        libc.listen(lfd, 8)
        for _ in range(2):
            fd, _ = libc.accept(lfd)
            log.append(libc.getsockopt(fd, socket.IPPROTO_TCP, socket.TCP_INFO)[0])
            libc.send(fd, b"ok: " + libc.recv(fd, 100))
            libc.close(fd)

    p.host.spawn(server)
    proc = p.ns.popen(sys.executable, "-c", LINUX_CLIENT, p.tux_ip, str(PORT))
    out, err = p.run_until_exit(proc, timeout=20)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert lines[:2] == ["ok: hello 0 False", "ok: hello 1 True"]  # TCPI_OPT_SYN_DATA on the second
    # the sysctl's words, each stored little-endian
    key = bytes.fromhex("3322110077665544bbaa9988ffeeddcc")
    cookie = __tcp_fastopen_cookie_gen_cipher(in_aton(p.linux_ip), in_aton(p.tux_ip), key)
    assert f"fo_cookie {cookie.val.hex()}" in out
    # The second child is made by the SYN and queued for accept() before the handshake's last
    # ACK: accepted in SYN_RECV, unless the kernel's ACK, in real time, was taken in before the
    # server ran (the first child only ever reaches accept() established).
    assert log[0] == 1 and log[1] in (3, 1), log
    assert p.host.mib.TcpExt["TCPFastOpenPassive"] == 1 and p.host.mib.TcpExt["TCPFastOpenCookieReqd"] == 1


def test_tuxnet_opens_fast_to_the_kernel(tap_pair) -> None:
    """tuxnet's client gets the kernel's cookie (SipHash under the listener's key, as tuxnet
    computes it), then sends its data in the SYN, which the kernel acknowledges in its SYN-ACK."""
    p = tap_pair
    proc = p.ns.popen(sys.executable, "-c", LINUX_SERVER, p.linux_ip, str(PORT), KEY.hex())
    assert proc.stdout.readline().strip() == "listening"
    out: list = []

    def client() -> None:
        for i in range(2):
            fd = libc.socket(2, 1, 0)
            libc.sendto(fd, b"hi %d" % i, MSG_FASTOPEN, (p.linux_ip, PORT))
            out.append(libc.recv(fd, 100))
            out.append(bool(libc.getsockopt(fd, socket.IPPROTO_TCP, socket.TCP_INFO)[5] & TCPI_OPT_SYN_DATA))
            libc.close(fd)

    p.host.spawn(client)
    rest, err = p.run_until_exit(proc, timeout=20)
    assert proc.returncode == 0, err
    assert out == [b"ok: hi 0", False, b"ok: hi 1", True]
    assert rest.split() == ["1"]  # the kernel's TCPFastOpenPassive
    cookie = __tcp_fastopen_cookie_gen_cipher(in_aton(p.tux_ip), in_aton(p.linux_ip), KEY)
    assert f"fo_cookie {cookie.val.hex()}" in tcp_metrics_show(p.host)
    assert p.host.mib.TcpExt["TCPFastOpenActive"] == 1
