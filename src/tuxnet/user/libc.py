"""The C library of a tuxnet host: the calls a program makes, as glibc makes them.

On i386 glibc's ``send()`` is ``socketcall(SYS_SEND, args)``, and so it is here: every socket call
goes through ``sys_socketcall``, the entry the seed article traces.  A negative result becomes an
``OSError`` with that errno, as glibc sets ``errno`` and returns -1.
"""

from __future__ import annotations

import math
import string
import sys
from collections.abc import Callable, Iterator
from typing import Any

from tuxnet.kernel import signal as _signal
from tuxnet.kernel.errno import EISDIR, ENOENT, ENOTDIR, ERANGE, strerror
from tuxnet.kernel.minmax import LONG_MAX, LONG_MIN, ULONG_MAX, c_int
from tuxnet.kernel.sched import current
from tuxnet.kernel.signal import (
    SA_RESTART,
    do_sigaction,
    exit_to_user_mode,
    hrtimer_nanosleep,
    kernel_wait,
    sys_kill,
)
from tuxnet.kernel.timekeeping import ktime_get_real
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
from tuxnet.user.ctype import DIGITS, SPACE
from tuxnet.world import NSEC_PER_SEC


def _syscall_exit(ret: Any, call: Callable[..., Any], *args: Any) -> Any:
    """The way back to the program from the system call ``call(*args)`` that returned ``ret``: a
    signal that came while it slept has its handler run here, and the call starts again or fails
    with EINTR (``exit_to_user_mode``); a negative result becomes an ``OSError`` with that errno,
    as glibc sets ``errno``."""
    while True:
        if _signal.queued and (proc := current()).sigpending:
            ret = exit_to_user_mode(proc, ret)
            if ret is None:
                ret = call(*args)
                continue
        if ret.__class__ is int and ret < 0:
            raise OSError(-ret, strerror(-ret))
        return ret


def _syscall(call: Callable[..., Any], *args: Any) -> Any:
    """A system call and the way back (``_syscall_exit``)."""
    return _syscall_exit(call(*args), call, *args)


def socketcall(call: int, args: tuple[Any, ...]) -> Any:
    """``socketcall(2)``: i386 system call 102 (the way back taken only when there is something
    on it: a signal queued somewhere, or an error)."""
    ret = sys_socketcall(call, args)
    if _signal.queued or (ret.__class__ is int and ret < 0):
        return _syscall_exit(ret, sys_socketcall, call, args)
    return ret


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


def _into_size(buffer: Any, nbytes: int) -> int:
    """``nbytes``, or, when 0, the whole of ``buffer`` (as Python's ``recv_into`` reads it)."""
    if nbytes:
        return nbytes
    try:
        return memoryview(buffer).nbytes
    except TypeError:
        return 0  # not memory at all: nothing to read into (the kernel faults on a copy into it)


def recv_into(fd: int, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
    """C's ``recv(fd, buf, len, flags)``: the kernel copies what it reads into ``buffer``, with no
    bytes object in between; returns how many bytes."""
    return socketcall(SYS_RECV, (fd, _into_size(buffer, nbytes), flags, buffer))


def recvfrom_into(fd: int, buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[int, Any]:
    """C's ``recvfrom``: the data into ``buffer``; returns its length and the sender's address."""
    return socketcall(SYS_RECVFROM, (fd, _into_size(buffer, nbytes), flags, buffer))


def recvmsg(fd: int, msg: Msghdr, size: int, flags: int = 0) -> bytes | int:
    """``recvmsg(2)``: the data, or, when ``msg.msg_iov`` holds buffers, its length, the data
    copied into them."""
    return socketcall(SYS_RECVMSG, (fd, msg, size, flags))


def shutdown(fd: int, how: int) -> None:
    socketcall(SYS_SHUTDOWN, (fd, how))


def setsockopt(fd: int, level: int, optname: int, optval: Any) -> None:
    socketcall(SYS_SETSOCKOPT, (fd, level, optname, optval))


def getsockopt(fd: int, level: int, optname: int, optlen: int | None = None) -> Any:
    return socketcall(SYS_GETSOCKOPT, (fd, level, optname) if optlen is None else (fd, level, optname, optlen))


def close(fd: int) -> None:
    _syscall(net.sys_close, fd)


def dup(fd: int) -> int:
    return _syscall(net.sys_dup, fd)


def fcntl(fd: int, cmd: int, arg: int = 0) -> int:
    return _syscall(net.sys_fcntl, fd, cmd, arg)


def ioctl(fd: int, cmd: int, arg: Any = None) -> int | bytes:
    """``ioctl(2)``: an int, or the struct the request fills in, as bytes."""
    return _syscall(net.sys_ioctl, fd, cmd, arg)


def read(fd: int, size: int) -> bytes:
    return _syscall(net.sys_read, fd, size)


def write(fd: int, data: bytes | bytearray | memoryview) -> int:
    return _syscall(net.sys_write, fd, data)


def poll(fds: list[tuple[int, int]], timeout_ms: int) -> list[int]:
    return _syscall(net.sys_poll, fds, timeout_ms)


def printf(fmt: str, *args: Any) -> None:
    """Write to the program's standard output (the host's console)."""
    proc = current()
    proc.host.console_write(proc, fmt % args if args else fmt)


def sigaction(sig: int, handler: Callable[[int], None] | None, flags: int = 0) -> None:
    """``sigaction(2)``: ``handler(sig)`` runs when ``sig`` comes, on the way back from the system
    call it cut short, which then starts again (``SA_RESTART`` in ``flags``) or fails with EINTR;
    None restores the default action."""
    proc = current()
    _syscall(do_sigaction, proc, sig, handler, flags)


def kill(pid: int, sig: int) -> None:
    """``kill(2)``."""
    _syscall(sys_kill, pid, sig)


def signal(sig: int, handler: Callable[[int], None] | None) -> None:
    """glibc's ``signal(3)``: BSD's semantics, a handler installed with SA_RESTART."""
    sigaction(sig, handler, SA_RESTART)


def sleep(seconds: float) -> float:
    """``nanosleep(2)`` in the world's time, as ``sleep(3)`` uses it: 0, or the seconds left when
    a signal's handler cut the sleep short (nanosleep fails with EINTR and gives what is left)."""
    proc = current()
    world = proc.host.world
    restart = [world.now + int(seconds * 1_000_000_000)]
    try:
        _syscall(hrtimer_nanosleep, restart)
    except InterruptedError:
        return (restart[0] - world.now) / NSEC_PER_SEC
    return 0.0


def getpid() -> int:
    return current().pid


def fork(fn: Callable[..., Any], *args: Any, name: str | None = None, **kwargs: Any) -> int:
    """``fork(2)`` with the child running ``fn(*args, **kwargs)``; returns the child's pid.

    The child inherits every open descriptor of the parent at the same number (``dup_fd``): a server
    that forks per connection closes its copy of the connection and the child's stays open."""
    parent = current()
    child = parent.host.spawn(fn, *args, name=name or parent.comm, fds=list(parent.files.fds), **kwargs)
    return child.pid


def waitpid(pid: int) -> int | None:
    """``waitpid(2)``: wait for the child ``pid`` to exit; its wait status (``WEXITSTATUS``, its
    exit code, in the second byte; killed by a signal, the signal's number), or None if there is
    no such process any more.  A signal's handler restarts the wait or, without SA_RESTART, makes
    it fail with EINTR."""
    proc = current().host.processes.get(pid)
    return None if proc is None else _syscall(kernel_wait, proc)


def gethostname() -> str:
    """``gethostname(2)``: the host's name (``uname -n``)."""
    return current().host.name


def clock_monotonic() -> float:
    """``clock_gettime(CLOCK_MONOTONIC)`` in seconds: the world's clock."""
    return current().host.world.now / 1e9


def time() -> float:
    """``time(2)``/``clock_gettime(CLOCK_REALTIME)`` in seconds since the Unix epoch."""
    return ktime_get_real(current().host.world) / NSEC_PER_SEC


def gettimeofday() -> tuple[int, int]:
    """``gettimeofday(2)``: the host's wall clock as (seconds, microseconds)."""
    return divmod(time_ns() // 1_000, 1_000_000)


def time_ns() -> int:
    """``clock_gettime(CLOCK_REALTIME)`` in nanoseconds since the Unix epoch."""
    return ktime_get_real(current().host.world)


def read_file(path: str) -> str | bytes:
    """The contents of ``path`` in the host's file table (``open``, ``read``, ``close``), of one
    of the files in /proc/net (``tuxnet.net.ipv4.proc.PROC_NET``), or of one of /proc/sys's (the
    host's sysctl table, as ``proc_sys_read`` gives an entry: its value and a newline); a missing
    file is ``FileNotFoundError`` (ENOENT), a directory of /proc/sys ``IsADirectoryError``
    (EISDIR) and an entry named as a directory ``NotADirectoryError`` (ENOTDIR), as ``open(2)``
    and ``read(2)`` report them."""
    host = current().host
    if path.startswith("/proc/net/"):
        from tuxnet.net.ipv4.proc import PROC_NET

        show = PROC_NET.get(path[len("/proc/net/"):])
        if show is not None:
            return show(host)  # made as it is read, as procfs's seq_files are
    elif path == "/proc/sys" or path.startswith("/proc/sys/"):
        key = ".".join(part for part in path[len("/proc/sys/"):].split("/") if part)
        if key in host.sysctl:
            if path.endswith("/"):
                raise NotADirectoryError(ENOTDIR, strerror(ENOTDIR), path)
            return host.sysctl.format(key) + "\n"
        if any(name.startswith(key + ".") or not key for name in host.sysctl):
            raise IsADirectoryError(EISDIR, strerror(EISDIR), path)
    try:
        return host.files[path]
    except KeyError:
        raise FileNotFoundError(ENOENT, strerror(ENOENT), path) from None


def write_file(path: str, data: str | bytes) -> None:
    """``open(path, O_WRONLY|O_CREAT|O_TRUNC)``, ``write``, ``close`` in the host's file table."""
    current().host.files[path] = data


def is_dir(path: str) -> bool:
    """``stat(2)`` and ``S_ISDIR``: does the host's file table hold files under ``path``?"""
    prefix = path.rstrip("/") + "/"
    return any(name.startswith(prefix) for name in current().host.files)

# The resolver is part of the C library (glibc's libresolv, nss_files and nss_dns, getaddrinfo).
from tuxnet.user.resolv import HostEnt as HostEnt  # noqa: E402
from tuxnet.user.resolv import getaddrinfo as getaddrinfo  # noqa: E402
from tuxnet.user.resolv import gethostbyaddr as gethostbyaddr  # noqa: E402
from tuxnet.user.resolv import gethostbyname as gethostbyname  # noqa: E402
from tuxnet.user.resolv import gethostbyname2 as gethostbyname2  # noqa: E402
from tuxnet.user.resolv import getnameinfo as getnameinfo  # noqa: E402
from tuxnet.user.resolv import getnetbyname as getnetbyname  # noqa: E402
from tuxnet.user.resolv import getprotobyname as getprotobyname  # noqa: E402
from tuxnet.user.resolv import getservbyname as getservbyname  # noqa: E402
from tuxnet.user.resolv import getservbyport as getservbyport  # noqa: E402
from tuxnet.user.resolv import getservent as getservent  # noqa: E402


class GetoptError(ValueError):
    """The line glibc's ``getopt`` prints to stderr for an option it cannot take."""


def getopt(prog: str, argv: list[str], optstring: str, operands: list[str]) -> Iterator[tuple[str, str]]:
    """glibc's ``getopt`` (posix/getopt.c) in its GNU order: each option of ``argv`` in turn, with
    its argument (``c:`` in ``optstring``: the rest of the word, else the next word) or ``""``,
    several letters to one word; the words that are not options go to ``operands`` (``-`` is one,
    and ``--`` makes all that follow operands), so they may stand before, between or after the
    options.  An unknown letter or a missing argument raises GetoptError with glibc's message,
    when the loop reaches it, as ``getopt`` returns ``'?'`` there."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            operands += argv[i:]
            return
        if not arg.startswith("-") or arg == "-":
            operands.append(arg)
            continue
        j = 1
        while j < len(arg):
            flag = arg[j]
            j += 1
            where = optstring.find(flag)
            if flag == ":" or where < 0:
                raise GetoptError(f"{prog}: invalid option -- '{flag}'")
            if optstring[where + 1:where + 2] != ":":
                yield flag, ""
                continue
            if j < len(arg):
                value, j = arg[j:], len(arg)
            elif i < len(argv):
                value = argv[i]
                i += 1
            else:
                raise GetoptError(f"{prog}: option requires an argument -- '{flag}'")
            yield flag, value


# -- numbers in text (stdlib/strtol.c, stdlib/strtod.c), in the C locale ----------------------------

def _number_start(text: str, start: int) -> tuple[int, bool]:
    """Past the white space and the sign ``strtol`` and ``strtod`` allow before a number: the
    index, and whether the sign was a minus."""
    i = start
    while i < len(text) and text[i] in SPACE:
        i += 1
    negative = text[i:i + 1] == "-"
    if text[i:i + 1] in ("+", "-"):
        i += 1
    return i, negative


def _decimal_digits(text: str, i: int) -> int:
    while i < len(text) and text[i] in DIGITS:
        i += 1
    return i


def _digits_in_base(text: str, i: int, base: int) -> tuple[int, int]:
    """The base (0: by its prefix, ``0x`` hexadecimal, ``0`` octal, else decimal) and where the
    digits start, past a ``0x`` that hexadecimal digits follow."""
    hex_prefix = text[i:i + 2] in ("0x", "0X") and text[i + 2:i + 3] != "" and text[i + 2] in string.hexdigits
    if base == 0:
        base = 16 if hex_prefix else 8 if text[i:i + 1] == "0" else 10
    if base == 16 and hex_prefix:
        i += 2
    return base, i


def _digits_end(text: str, i: int, base: int) -> int:
    valid = "0123456789abcdefghijklmnopqrstuvwxyz"[:base]
    while i < len(text) and text[i].lower() in valid and text[i].isascii():
        i += 1
    return i


def strtol(text: str, start: int = 0, base: int = 10) -> tuple[int, int, int]:
    """``strtol(text + start, &end, base)`` (``base`` 0: by the number's prefix): the value, the
    end (``start`` when there was no number) and errno: ERANGE when the number is beyond a
    long, which gives LONG_MIN or LONG_MAX."""
    i, negative = _number_start(text, start)
    base, i = _digits_in_base(text, i, base)
    end = _digits_end(text, i, base)
    if end == i:
        return 0, start, 0
    value = -int(text[i:end], base) if negative else int(text[i:end], base)
    if value > LONG_MAX:
        return LONG_MAX, end, ERANGE
    if value < LONG_MIN:
        return LONG_MIN, end, ERANGE
    return value, end, 0


def atoi(text: str) -> int:
    """``atoi``: ``(int) strtol(text, NULL, 10)``, the long cut to an int's 32 bits."""
    return c_int(strtol(text)[0])


def strtoul(text: str, start: int = 0, base: int = 10) -> tuple[int, int, int]:
    """``strtoul(text + start, &end, base)``: as ``strtol``, but a minus sign negates in unsigned
    long arithmetic (``-1`` is ULONG_MAX), and ERANGE gives ULONG_MAX."""
    i, negative = _number_start(text, start)
    base, i = _digits_in_base(text, i, base)
    end = _digits_end(text, i, base)
    if end == i:
        return 0, start, 0
    value = int(text[i:end], base)
    if value > ULONG_MAX:
        return ULONG_MAX, end, ERANGE
    return (-value if negative else value) & ULONG_MAX, end, 0


def _hex_float_end(text: str, i: int) -> int:
    """The end of the hexadecimal floating constant after ``0x`` at ``i``; ``i`` if there is none."""
    j = i
    while j < len(text) and text[j] in string.hexdigits:
        j += 1
    if text[j:j + 1] == ".":
        k = j + 1
        while k < len(text) and text[k] in string.hexdigits:
            k += 1
        if k - j > 1 or j > i:
            j = k
    if j == i:
        return i
    if text[j:j + 1] in ("p", "P"):
        k = j + 1 + (text[j + 1:j + 2] in ("+", "-"))
        if text[k:k + 1] and text[k] in DIGITS:
            j = _decimal_digits(text, k)
    return j


def strtod(text: str, start: int = 0) -> tuple[float, int, int]:
    """``strtod(text + start, &end)`` in the C locale: a decimal or hexadecimal (``0x1p-3``)
    number, ``inf``, ``infinity`` or ``nan`` (with its ``(chars)``); the value, the end (``start``
    when there was no number) and errno: ERANGE when the number overflows to an infinity or
    underflows to zero or a subnormal."""
    i, negative = _number_start(text, start)
    lower = text[i:].lower()
    for word in ("infinity", "inf"):
        if lower.startswith(word):
            return (-math.inf if negative else math.inf), i + len(word), 0
    if lower.startswith("nan"):
        end = i + 3
        if text[end:end + 1] == "(":
            close = end + 1
            while close < len(text) and (text[close] in string.ascii_letters + DIGITS + "_"):
                close += 1
            if text[close:close + 1] == ")":
                end = close + 1
        return math.nan, end, 0
    if lower.startswith("0x"):
        end = _hex_float_end(text, i + 2)
        if end > i + 2:
            try:
                value = float.fromhex(text[i:end])
            except OverflowError:
                value = math.inf
            mantissa = text[i + 2:end].lower().split("p")[0]
            return _strtod_result(-value if negative else value, mantissa, end)
    end = _decimal_digits(text, i)
    if text[end:end + 1] == ".":
        end = _decimal_digits(text, end + 1)
    if text[i:end] in ("", "."):
        return 0.0, start, 0
    mantissa = text[i:end]
    if text[end:end + 1] in ("e", "E"):
        k = end + 1 + (text[end + 1:end + 2] in ("+", "-"))
        if text[k:k + 1] and text[k] in DIGITS:
            end = _decimal_digits(text, k)
    value = float(text[i:end])
    return _strtod_result(-value if negative else value, mantissa, end)


def _strtod_result(value: float, mantissa: str, end: int) -> tuple[float, int, int]:
    """ERANGE for a finite number that came out infinite, or a non-zero one that came out zero or
    subnormal (below DBL_MIN)."""
    nonzero = any(c not in "0." for c in mantissa)
    if math.isinf(value) or (nonzero and abs(value) < sys.float_info.min):
        return value, end, ERANGE
    return value, end, 0


def strtonum(text: str, minval: int, maxval: int) -> tuple[int, str | None]:
    """``strtonum`` (OpenBSD's, libbsd's on Debian): ``strtoll``'s whole number within [minval,
    maxval], and None, or 0 and what is wrong: "invalid", "too small", "too large"."""
    if minval > maxval:
        return 0, "invalid"
    number, end, err = strtol(text)
    if end == 0 or end != len(text):
        return 0, "invalid"
    if (err and number == LONG_MIN) or number < minval:
        return 0, "too small"
    if (err and number == LONG_MAX) or number > maxval:
        return 0, "too large"
    return number, None
