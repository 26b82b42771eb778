"""Descriptors as Linux keeps them: ``dup`` and ``fcntl(F_DUPFD[_CLOEXEC])`` give one more
descriptor for the same open file, FD_CLOEXEC belongs to the descriptor, and the socket lives until
its last descriptor closes.  The same steps run against this machine's kernel give the same
answers, and ``tuxnet.socket``'s ``dup``/``get_inheritable``/``set_inheritable`` answer as the
standard library's do."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import socket
from typing import Any

import pytest

from tuxnet import socket as tsock
from tuxnet.benchmarks import lo_world
from tuxnet.net.socket import (
    AF_INET,
    F_DUPFD,
    F_DUPFD_CLOEXEC,
    F_GETFD,
    F_SETFD,
    FD_CLOEXEC,
    SOCK_CLOEXEC,
    SOCK_STREAM,
)
from tuxnet.user import libc

_libc = ctypes.CDLL(None, use_errno=True)


def linux_dup(fd: int) -> int:
    """dup(2) itself (Python's ``os.dup`` asks for F_DUPFD_CLOEXEC, PEP 446)."""
    new = _libc.dup(fd)
    if new < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return new


def steps(sock_cloexec: Any, dup: Any, fcntl_: Any) -> list[Any]:
    """The same descriptor operations, through either system: what each answers."""
    def errno_of(fn: Any, *args: Any) -> int:
        with pytest.raises(OSError) as info:
            fn(*args)
        return info.value.errno

    fd = sock_cloexec()
    plain = dup(fd)
    high = fcntl_(fd, F_DUPFD_CLOEXEC, 40)
    low = fcntl_(fd, F_DUPFD, 0)
    out = [fcntl_(fd, F_GETFD), fcntl_(plain, F_GETFD), plain != fd, high >= 40, fcntl_(high, F_GETFD),
           fcntl_(low, F_GETFD), low not in (fd, plain, high)]
    fcntl_(fd, F_SETFD, 0)
    fcntl_(plain, F_SETFD, FD_CLOEXEC)
    out += [fcntl_(fd, F_GETFD), fcntl_(plain, F_GETFD)]
    for n in (plain, high, low):
        os.close(n) if dup is linux_dup else libc.close(n)
    out += [errno_of(dup, plain), errno_of(fcntl_, fd, F_DUPFD, -1), errno_of(fcntl_, plain, F_GETFD)]
    return out


def test_descriptor_flags_answer_as_this_machines_kernel() -> None:
    linux_socks: list[socket.socket] = []

    def linux_socket() -> int:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # CPython: SOCK_CLOEXEC
        linux_socks.append(s)
        return s.fileno()

    try:
        linux = steps(linux_socket, linux_dup, fcntl.fcntl)
    finally:
        for s in linux_socks:
            s.close()

    world, host = lo_world()
    out: list[Any] = []
    host.spawn(lambda: out.append(steps(lambda: libc.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
                                        libc.dup, libc.fcntl)))
    world.run_until(lambda: bool(out))
    assert out[0] == linux
    assert linux == [FD_CLOEXEC, 0, True, True, FD_CLOEXEC, 0, True, 0, FD_CLOEXEC,
                     errno.EBADF, errno.EINVAL, errno.EBADF]


def test_a_socket_lives_until_its_last_descriptor_closes() -> None:
    world, host = lo_world()
    got: list[Any] = []

    def server() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("127.0.0.1", 7200))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        other = libc.dup(fd)
        libc.close(fd)  # the connection stays: `other` still holds the file
        libc.send(other, b"still here")
        got.append(libc.recv(other, 100))
        libc.close(other)  # now the FIN
        libc.close(lfd)

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("127.0.0.1", 7200))
        got.append(libc.recv(fd, 100))
        libc.send(fd, b"thanks")
        got.append(libc.recv(fd, 100))
        libc.close(fd)

    host.spawn(server)
    host.spawn(client)
    world.run_until(lambda: len(got) == 3)
    assert sorted(got) == sorted([b"still here", b"thanks", b""])


def test_socket_dup_and_inheritance_as_the_standard_library() -> None:
    def program(make: Any) -> list[Any]:
        s = make(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2.5)
        d = s.dup()
        out = [s.get_inheritable(), d.get_inheritable(), d.fileno() != s.fileno(), d.gettimeout(),
               d.type, d.family]
        s.set_inheritable(True)
        out += [s.get_inheritable(), d.get_inheritable()]
        s.set_inheritable(False)
        out.append(s.get_inheritable())
        s.close()
        out.append(d.getsockname()[1] == 0)  # the dup still works
        d.close()
        return out

    std = program(socket.socket)
    world, host = lo_world()
    out: list[Any] = []
    host.spawn(lambda: out.append(program(tsock.socket)))
    world.run_until(lambda: bool(out))
    assert out[0] == std
    assert std == [False, False, True, 2.5, socket.SOCK_STREAM, socket.AF_INET, True, False, False, True]
