"""The C library of a tuxnet host: the calls a program makes, as glibc makes them.

On i386 glibc's ``send()`` is ``socketcall(SYS_SEND, args)``, and so it is here: every socket call
goes through ``sys_socketcall``, the entry the seed article traces.  A negative result becomes an
``OSError`` with that errno, as glibc sets ``errno`` and returns -1.
"""

from __future__ import annotations

from typing import Any

from tuxnet.kernel.errno import strerror
from tuxnet.kernel.sched import current
from tuxnet.net import socket as net
from tuxnet.net.socket import (
    SYS_ACCEPT4,
    SYS_BIND,
    SYS_CONNECT,
    SYS_GETPEERNAME,
    SYS_GETSOCKNAME,
    SYS_GETSOCKOPT,
    SYS_LISTEN,
    SYS_RECV,
    SYS_RECVFROM,
    SYS_RECVMSG,
    SYS_SEND,
    SYS_SENDMSG,
    SYS_SENDTO,
    SYS_SETSOCKOPT,
    SYS_SHUTDOWN,
    SYS_SOCKET,
    Msghdr,
    sys_socketcall,
)


def _check(ret: Any) -> Any:
    if isinstance(ret, int) and ret < 0:
        raise OSError(-ret, strerror(-ret))
    return ret


def socketcall(call: int, args: tuple[Any, ...]) -> Any:
    """``socketcall(2)``: i386 system call 102."""
    return _check(sys_socketcall(call, args))


def socket(family: int, type: int, protocol: int = 0) -> int:
    return socketcall(SYS_SOCKET, (family, type, protocol))


def bind(fd: int, addr: tuple[str, int]) -> None:
    socketcall(SYS_BIND, (fd, addr))


def connect(fd: int, addr: tuple[str, int] | None) -> None:
    socketcall(SYS_CONNECT, (fd, addr))


def listen(fd: int, backlog: int) -> None:
    socketcall(SYS_LISTEN, (fd, backlog))


def accept(fd: int) -> tuple[int, tuple[str, int]]:
    return socketcall(SYS_ACCEPT4, (fd, 0))


def accept4(fd: int, flags: int) -> tuple[int, tuple[str, int]]:
    return socketcall(SYS_ACCEPT4, (fd, flags))


def getsockname(fd: int) -> tuple[str, int]:
    return socketcall(SYS_GETSOCKNAME, (fd,))


def getpeername(fd: int) -> tuple[str, int]:
    return socketcall(SYS_GETPEERNAME, (fd,))


def send(fd: int, data: bytes | bytearray | memoryview, flags: int = 0) -> int:
    return socketcall(SYS_SEND, (fd, data, flags))


def sendto(fd: int, data: bytes | bytearray | memoryview, flags: int, addr: tuple[str, int]) -> int:
    return socketcall(SYS_SENDTO, (fd, data, flags, addr))


def sendmsg(fd: int, msg: Msghdr, flags: int = 0) -> int:
    return socketcall(SYS_SENDMSG, (fd, msg, flags))


def recv(fd: int, size: int, flags: int = 0) -> bytes:
    return socketcall(SYS_RECV, (fd, size, flags))


def recvfrom(fd: int, size: int, flags: int = 0) -> tuple[bytes, Any]:
    return socketcall(SYS_RECVFROM, (fd, size, flags))


def recvmsg(fd: int, msg: Msghdr, size: int, flags: int = 0) -> bytes:
    return socketcall(SYS_RECVMSG, (fd, msg, size, flags))


def shutdown(fd: int, how: int) -> None:
    socketcall(SYS_SHUTDOWN, (fd, how))


def setsockopt(fd: int, level: int, optname: int, optval: Any) -> None:
    socketcall(SYS_SETSOCKOPT, (fd, level, optname, optval))


def getsockopt(fd: int, level: int, optname: int) -> Any:
    return socketcall(SYS_GETSOCKOPT, (fd, level, optname))


def close(fd: int) -> None:
    _check(net.sys_close(fd))


def fcntl(fd: int, cmd: int, arg: int = 0) -> int:
    return _check(net.sys_fcntl(fd, cmd, arg))


def ioctl(fd: int, cmd: int, arg: Any = None) -> int:
    return _check(net.sys_ioctl(fd, cmd, arg))


def read(fd: int, size: int) -> bytes:
    return _check(net.sys_read(fd, size))


def write(fd: int, data: bytes | bytearray | memoryview) -> int:
    return _check(net.sys_write(fd, data))


def poll(fds: list[tuple[int, int]], timeout_ms: int) -> list[int]:
    return _check(net.sys_poll(fds, timeout_ms))


def printf(fmt: str, *args: Any) -> None:
    """Write to the program's standard output (the host's console)."""
    proc = current()
    proc.host.console_write(proc, fmt % args if args else fmt)


def sleep(seconds: float) -> None:
    """``sleep(3)``/``nanosleep(2)`` in the world's time."""
    current().sleep(int(seconds * 1_000_000_000))


def getpid() -> int:
    return current().pid
