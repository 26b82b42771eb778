"""Urgent data with the Linux kernel as the peer, through a TAP device: each side writes "abc",
one byte out of band, "def", and the other reads the stream up to the mark, the byte with
``recv(MSG_OOB)``, then the rest, so tuxnet's URG flag and urgent pointer mean to Linux what
Linux's mean to tuxnet."""

from __future__ import annotations

import textwrap

import pytest

from tuxnet.net.socket import AF_INET, MSG_OOB, SIOCATMARK, SOCK_STREAM
from tuxnet.user import libc

pytestmark = pytest.mark.root

LINUX_READER = textwrap.dedent("""
    import socket, sys, time
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], 5556)); s.listen(1); print("listening", flush=True)
    c, _ = s.accept()
    time.sleep(0.5)
    first = c.recv(100)
    oob = c.recv(1, socket.MSG_OOB)
    rest = b""
    while True:
        b = c.recv(100)
        if not b: break
        rest += b
    print(first.decode(), oob.decode(), rest.decode(), flush=True)
""")

LINUX_WRITER = textwrap.dedent("""
    import socket, sys, time
    c = socket.create_connection((sys.argv[1], 5557), timeout=30)
    c.send(b"abc"); c.send(b"!", socket.MSG_OOB); c.send(b"def")
    time.sleep(1)
    c.close()
""")


def test_linux_reads_tuxnets_urgent_byte(tap_pair):
    p = tap_pair
    proc = p.ns.popen("python3", "-c", LINUX_READER, p.linux_ip)
    assert proc.stdout.readline().strip() == "listening"

    def writer() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (p.linux_ip, 5556))
        libc.send(fd, b"abc")
        libc.send(fd, b"!", MSG_OOB)
        libc.send(fd, b"def")
        libc.sleep(1)
        libc.close(fd)

    p.host.spawn(writer)
    out, err = p.run_until_exit(proc, timeout=30)
    assert proc.returncode == 0, err
    assert out.split() == ["abc", "!", "def"]


def test_tuxnet_reads_linuxs_urgent_byte(tap_pair):
    p = tap_pair
    seen: list[object] = []

    def reader() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, (p.tux_ip, 5557))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        libc.sleep(0.5)
        seen.append(libc.recv(fd, 100))
        seen.append(libc.ioctl(fd, SIOCATMARK))
        seen.append(libc.recv(fd, 1, MSG_OOB))
        rest = b""
        while data := libc.recv(fd, 100):
            rest += data
        seen.append(rest)

    proc_reader = p.host.spawn(reader)
    p.world.run_for(int(0.1e9))
    proc = p.ns.popen("python3", "-c", LINUX_WRITER, p.tux_ip)
    out, err = p.run_until_exit(proc, timeout=30)
    assert proc.returncode == 0, err
    p.world.run_until(lambda: not proc_reader.alive, timeout=int(10e9))
    assert seen == [b"abc", 1, b"!", b"def"]
