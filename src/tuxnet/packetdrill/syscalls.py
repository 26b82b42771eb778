"""The system calls of a packetdrill script, made on a tuxnet host.

Each call's arguments are evaluated as packetdrill evaluates them (symbols, ``|``, ``[int]``
pointers, ``...`` for addresses the tool fills in) and the call is made through tuxnet's system
call entry points (``sys_socket``, ``sys_sendmsg``, ``sys_epoll_wait``...) from a process of the
test host.  Results are compared as packetdrill's ``end_syscall`` compares them: the return value
(or, for calls returning a descriptor, any descriptor), then the errno, then what the call wrote
back (``getsockopt`` values, ``poll`` revents, ``recvmsg`` flags and control messages).

Buffers are zero-filled, as packetdrill's are.  A NULL buffer (``NULL`` or ``0``) is passed as
such: ``write``/``send`` get ``None`` and fail in ``sys_sendto``; a read into NULL passes an iovec
whose base is None, so the copy in ``tcp_recvmsg`` faults.
"""

from __future__ import annotations

import errno as _pyerrno
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tuxnet.kernel import eventpoll
from tuxnet.net import socket as net
from tuxnet.net.core import net_tstamp, skbuff
from tuxnet.net.core import sock as core_sock
from tuxnet.net.ipv4 import af_inet, tcp
from tuxnet.packetdrill.ast import (
    Array,
    BinOp,
    Call,
    Ellipsis_,
    Expr,
    Int,
    Str,
    Struct,
    Symbol,
    SyscallEvent,
)

if TYPE_CHECKING:
    from tuxnet.kernel.fs import FdTable

SOL_TCP = 6
SOL_IP = 0

# The symbols scripts use, with Linux's values (include/uapi/...).
SYMBOLS: dict[str, int] = {
    "NULL": 0,
    "AF_UNSPEC": net.AF_UNSPEC, "AF_INET": net.AF_INET, "AF_INET6": net.AF_INET6,
    "PF_INET": net.AF_INET, "PF_INET6": net.AF_INET6,
    "SOCK_STREAM": net.SOCK_STREAM, "SOCK_DGRAM": net.SOCK_DGRAM, "SOCK_RAW": net.SOCK_RAW,
    "SOCK_NONBLOCK": net.SOCK_NONBLOCK, "SOCK_CLOEXEC": net.SOCK_CLOEXEC,
    "IPPROTO_IP": af_inet.IPPROTO_IP, "IPPROTO_TCP": af_inet.IPPROTO_TCP, "IPPROTO_UDP": af_inet.IPPROTO_UDP,
    "IPPROTO_ICMP": af_inet.IPPROTO_ICMP,
    "SOL_SOCKET": core_sock.SOL_SOCKET, "SOL_TCP": SOL_TCP, "SOL_IP": SOL_IP, "SOL_UDP": 17,
    "SO_DEBUG": core_sock.SO_DEBUG, "SO_REUSEADDR": core_sock.SO_REUSEADDR, "SO_TYPE": core_sock.SO_TYPE,
    "SO_ERROR": core_sock.SO_ERROR, "SO_DONTROUTE": core_sock.SO_DONTROUTE,
    "SO_BROADCAST": core_sock.SO_BROADCAST, "SO_SNDBUF": core_sock.SO_SNDBUF,
    "SO_RCVBUF": core_sock.SO_RCVBUF, "SO_KEEPALIVE": core_sock.SO_KEEPALIVE,
    "SO_OOBINLINE": core_sock.SO_OOBINLINE, "SO_PRIORITY": core_sock.SO_PRIORITY,
    "SO_LINGER": core_sock.SO_LINGER, "SO_REUSEPORT": core_sock.SO_REUSEPORT,
    "SO_RCVLOWAT": core_sock.SO_RCVLOWAT, "SO_SNDLOWAT": core_sock.SO_SNDLOWAT,
    "SO_RCVTIMEO": core_sock.SO_RCVTIMEO, "SO_SNDTIMEO": core_sock.SO_SNDTIMEO,
    "SO_BINDTODEVICE": core_sock.SO_BINDTODEVICE, "SO_ACCEPTCONN": core_sock.SO_ACCEPTCONN,
    "SO_SNDBUFFORCE": core_sock.SO_SNDBUFFORCE, "SO_RCVBUFFORCE": core_sock.SO_RCVBUFFORCE,
    "SO_MARK": core_sock.SO_MARK, "SO_PROTOCOL": core_sock.SO_PROTOCOL, "SO_DOMAIN": core_sock.SO_DOMAIN,
    "SO_ZEROCOPY": core_sock.SO_ZEROCOPY,
    "TCP_NODELAY": tcp.TCP_NODELAY, "TCP_MAXSEG": tcp.TCP_MAXSEG, "TCP_CORK": tcp.TCP_CORK,
    "TCP_KEEPIDLE": tcp.TCP_KEEPIDLE, "TCP_KEEPINTVL": tcp.TCP_KEEPINTVL, "TCP_KEEPCNT": tcp.TCP_KEEPCNT,
    "TCP_SYNCNT": tcp.TCP_SYNCNT, "TCP_LINGER2": tcp.TCP_LINGER2, "TCP_DEFER_ACCEPT": tcp.TCP_DEFER_ACCEPT,
    "TCP_WINDOW_CLAMP": tcp.TCP_WINDOW_CLAMP, "TCP_INFO": tcp.TCP_INFO, "TCP_QUICKACK": tcp.TCP_QUICKACK,
    "TCP_CONGESTION": tcp.TCP_CONGESTION, "TCP_THIN_LINEAR_TIMEOUTS": tcp.TCP_THIN_LINEAR_TIMEOUTS,
    "TCP_USER_TIMEOUT": tcp.TCP_USER_TIMEOUT, "TCP_NOTSENT_LOWAT": tcp.TCP_NOTSENT_LOWAT,
    "TCP_INQ": tcp.TCP_INQ, "TCP_CM_INQ": tcp.TCP_CM_INQ,
    "TCP_FASTOPEN": tcp.TCP_FASTOPEN, "TCP_FASTOPEN_CONNECT": tcp.TCP_FASTOPEN_CONNECT,
    "TCP_FASTOPEN_KEY": tcp.TCP_FASTOPEN_KEY, "TCP_FASTOPEN_NO_COOKIE": tcp.TCP_FASTOPEN_NO_COOKIE,
    "IP_TOS": af_inet.IP_TOS, "IP_TTL": af_inet.IP_TTL, "IP_MTU_DISCOVER": af_inet.IP_MTU_DISCOVER,
    "IP_RECVERR": af_inet.IP_RECVERR, "IP_MTU": af_inet.IP_MTU, "IP_PKTINFO": af_inet.IP_PKTINFO,
    "IP_PMTUDISC_DONT": af_inet.IP_PMTUDISC_DONT, "IP_PMTUDISC_WANT": af_inet.IP_PMTUDISC_WANT,
    "IP_PMTUDISC_DO": af_inet.IP_PMTUDISC_DO, "IP_PMTUDISC_PROBE": 3,
    "SO_EE_ORIGIN_NONE": skbuff.SO_EE_ORIGIN_NONE, "SO_EE_ORIGIN_LOCAL": skbuff.SO_EE_ORIGIN_LOCAL,
    "SO_EE_ORIGIN_ICMP": skbuff.SO_EE_ORIGIN_ICMP, "SO_EE_ORIGIN_ZEROCOPY": skbuff.SO_EE_ORIGIN_ZEROCOPY,
    "SO_EE_CODE_ZEROCOPY_COPIED": skbuff.SO_EE_CODE_ZEROCOPY_COPIED,
    "SO_EE_ORIGIN_TIMESTAMPING": skbuff.SO_EE_ORIGIN_TIMESTAMPING,
    "SO_TIMESTAMPING": core_sock.SO_TIMESTAMPING, "SCM_TIMESTAMPING": core_sock.SCM_TIMESTAMPING,
    **{name: getattr(net_tstamp, name) for name in dir(net_tstamp)
       if name.startswith(("SOF_TIMESTAMPING_", "SCM_TSTAMP_"))},
    # packetdrill's names for the address family's error queue message (IPv4's here)
    "CMSG_LEVEL_IP": SOL_IP, "CMSG_TYPE_RECVERR": af_inet.IP_RECVERR,
    "O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": 2, "O_NONBLOCK": net.SOCK_NONBLOCK,
    "F_GETFD": net.F_GETFD, "F_SETFD": net.F_SETFD, "F_GETFL": net.F_GETFL, "F_SETFL": net.F_SETFL,
    "MSG_OOB": net.MSG_OOB, "MSG_PEEK": net.MSG_PEEK, "MSG_DONTROUTE": net.MSG_DONTROUTE,
    "MSG_TRUNC": net.MSG_TRUNC, "MSG_DONTWAIT": net.MSG_DONTWAIT, "MSG_EOR": net.MSG_EOR,
    "MSG_WAITALL": net.MSG_WAITALL, "MSG_NOSIGNAL": net.MSG_NOSIGNAL, "MSG_MORE": net.MSG_MORE,
    "MSG_ERRQUEUE": net.MSG_ERRQUEUE, "MSG_ZEROCOPY": net.MSG_ZEROCOPY, "MSG_FASTOPEN": net.MSG_FASTOPEN,
    "SHUT_RD": net.SHUT_RD, "SHUT_WR": net.SHUT_WR, "SHUT_RDWR": net.SHUT_RDWR,
    "SIOCINQ": net.SIOCINQ, "FIONREAD": net.FIONREAD, "SIOCOUTQ": net.SIOCOUTQ,
    "SIOCOUTQNSD": net.SIOCOUTQNSD, "FIONBIO": net.FIONBIO,
    "POLLIN": net.POLLIN, "POLLPRI": net.POLLPRI, "POLLOUT": net.POLLOUT, "POLLERR": net.POLLERR,
    "POLLHUP": net.POLLHUP, "POLLNVAL": net.POLLNVAL, "POLLRDNORM": net.POLLRDNORM,
    "POLLRDBAND": net.POLLRDBAND, "POLLWRNORM": net.POLLWRNORM, "POLLRDHUP": net.POLLRDHUP,
    "EPOLLIN": eventpoll.EPOLLIN, "EPOLLPRI": eventpoll.EPOLLPRI, "EPOLLOUT": eventpoll.EPOLLOUT,
    "EPOLLERR": eventpoll.EPOLLERR, "EPOLLHUP": eventpoll.EPOLLHUP, "EPOLLRDNORM": eventpoll.EPOLLRDNORM,
    "EPOLLWRNORM": eventpoll.EPOLLWRNORM, "EPOLLRDHUP": eventpoll.EPOLLRDHUP,
    "EPOLLET": eventpoll.EPOLLET, "EPOLLONESHOT": eventpoll.EPOLLONESHOT,
    "EPOLLEXCLUSIVE": eventpoll.EPOLLEXCLUSIVE,
    "EPOLL_CTL_ADD": eventpoll.EPOLL_CTL_ADD, "EPOLL_CTL_DEL": eventpoll.EPOLL_CTL_DEL,
    "EPOLL_CTL_MOD": eventpoll.EPOLL_CTL_MOD,
}

_POLL_NAMES = [("POLLIN", net.POLLIN), ("POLLPRI", net.POLLPRI), ("POLLOUT", net.POLLOUT),
               ("POLLERR", net.POLLERR), ("POLLHUP", net.POLLHUP), ("POLLNVAL", net.POLLNVAL),
               ("POLLRDNORM", net.POLLRDNORM), ("POLLRDBAND", net.POLLRDBAND),
               ("POLLWRNORM", net.POLLWRNORM), ("POLLRDHUP", net.POLLRDHUP)]

# ioctls that write an int through their third argument
_INT_IOCTLS = {net.SIOCINQ, net.SIOCOUTQ, net.SIOCOUTQNSD}

# The fields of an IP_RECVERR control message's data, struct sock_extended_err, a script may check.
_EE_FIELDS = ("ee_errno", "ee_origin", "ee_type", "ee_code", "ee_info", "ee_data")
# An SCM_TIMESTAMPING control message's data as a script gives it: the software time, in script
# time (struct scm_timestamping's first timespec).
_SCM_FIELDS = ("scm_sec", "scm_nsec")


class SyscallError(Exception):
    """A runtime error in a system call line (packetdrill's "runtime error in NAME call")."""

    def __init__(self, message: str, unsupported: bool = False) -> None:
        super().__init__(message)
        self.unsupported = unsupported


class _ELLIPSIS:
    """``...`` in an argument: a value the tool fills in."""


ELLIPSIS = _ELLIPSIS()


def errno_value(name: str) -> int:
    """An errno symbol's number (Linux's values)."""
    value = getattr(_pyerrno, name, None)
    if not isinstance(value, int):
        raise SyscallError(f"unknown errno symbol {name}")
    return value


def strerror(err: int) -> str:
    return os.strerror(err) if err else "Success"


def evaluate(expr: Expr, symbols: dict[str, int] | None = None) -> Any:
    """An argument's value: ints for numbers and symbols, lists for ``[...]``, the Struct itself
    for ``{...}``, ELLIPSIS for ``...``."""
    table = SYMBOLS if symbols is None else symbols
    if isinstance(expr, Int):
        return expr.value
    if isinstance(expr, Symbol):
        if expr.name in table:
            return table[expr.name]
        if expr.name.startswith("E") and hasattr(_pyerrno, expr.name):
            return errno_value(expr.name)
        raise SyscallError(f"bad symbol name: {expr.name}", unsupported=True)
    if isinstance(expr, BinOp):
        return evaluate(expr.left, table) | evaluate(expr.right, table)
    if isinstance(expr, Ellipsis_):
        return ELLIPSIS
    if isinstance(expr, Str):
        return expr.value
    if isinstance(expr, Array):
        return [evaluate(e, table) for e in expr.items]
    if isinstance(expr, Call):
        if expr.name == "htons":
            v = evaluate(expr.args[0], table)
            return ((v & 0xFF) << 8) | ((v >> 8) & 0xFF)
        if expr.name == "inet_addr" and expr.args and isinstance(expr.args[0], Str):
            return expr.args[0].value
        raise SyscallError(f"unsupported expression {expr.name}()", unsupported=True)
    return expr


def int_value(expr: Expr, what: str) -> int:
    v = evaluate(expr)
    if not isinstance(v, int):
        raise SyscallError(f"Bad type; expected an integer for {what}")
    return v


def bracketed_int(expr: Expr, what: str) -> int:
    """``[N]``: a pointer to an int."""
    v = evaluate(expr)
    if not isinstance(v, list) or len(v) != 1 or not isinstance(v[0], int):
        raise SyscallError(f"Expected [<integer>] for {what}")
    return v[0]


def poll_flags_to_string(flags: int) -> str:
    names = [name for name, bit in _POLL_NAMES if flags & bit]
    rest = flags & ~sum(bit for _, bit in _POLL_NAMES)
    if rest:
        names.append(hex(rest))
    return "|".join(names) or "0"


class Tracker(Protocol):
    """What the runner keeps about script and live descriptors and the socket under test."""

    fds: FdTable

    def live_fd(self, script_fd: int) -> int: ...

    def on_socket(self, script_fd: int, live_fd: int) -> None: ...

    def on_listen(self, script_fd: int) -> None: ...

    def on_accept(self, script_fd: int, live_fd: int) -> None: ...

    def on_connect(self, script_fd: int, unspec: bool) -> None: ...

    def on_close(self, script_fd: int) -> None: ...

    def on_new_fd(self, script_fd: int, live_fd: int) -> None: ...

    def script_time_check(self, real_ns: int, script_usecs: int, what: str) -> None: ...

    def local_addr(self) -> tuple[str, int]: ...

    def remote_addr(self) -> tuple[str, int]: ...


@dataclass
class Prepared:
    """A call ready to run: ``invoke`` runs in a host process and returns what the kernel returned;
    ``finish`` turns that into (result, errno, check) where ``check`` verifies what the call wrote
    back, after the result and errno are found right."""

    invoke: Callable[[], Any]
    finish: Callable[[Any], tuple[int, int, Callable[[], None] | None]]
    new_fd: str | None = None  # "socket", "accept" or "epoll": the result is a new descriptor


def _status(raw: Any) -> tuple[int, int]:
    """A kernel return as (result, errno): -errno becomes -1 and errno."""
    if isinstance(raw, int) and raw < 0:
        return -1, -raw
    return raw if isinstance(raw, int) else 0, 0


def _length(raw: Any) -> tuple[int, int]:
    """The return of a read: bytes → their length, -errno → (-1, errno)."""
    if isinstance(raw, int):
        return _status(raw)
    if isinstance(raw, tuple):
        raw = raw[0]
    return len(raw), 0


def _nocheck(raw: Any) -> tuple[int, int, None]:
    result, err = _status(raw)
    return result, err, None


def _buffer(expr: Expr, count: int) -> bytes | None:
    """packetdrill's ``buffer_arg``: ``...`` is a zero-filled buffer, ``NULL``/0 a NULL pointer."""
    v = evaluate(expr)
    if v is ELLIPSIS:
        return bytes(count)
    if v == 0:
        return None
    raise SyscallError("Expected ... or NULL for buffer")


class Syscalls:
    """Builds the ``Prepared`` call for a script line."""

    def __init__(self, tracker: Tracker) -> None:
        self.t = tracker

    def prepare(self, call: SyscallEvent) -> Prepared:
        handler = getattr(self, "sys_" + call.name, None)
        if handler is None:
            raise SyscallError(f"Unknown system call: '{call.name}'", unsupported=True)
        return handler(call.args)

    @staticmethod
    def nargs(args: list[Expr], *counts: int) -> None:
        if len(args) not in counts:
            raise SyscallError(f"Expected {counts[0]} args but got {len(args)}")

    def fd(self, expr: Expr) -> int:
        return self.t.live_fd(int_value(expr, "a file descriptor"))

    # -- sockets ---------------------------------------------------------------------------------
    def sys_socket(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 3)
        domain = evaluate(args[0])
        domain = net.AF_INET if domain is ELLIPSIS else domain
        type_, protocol = int_value(args[1], "type"), int_value(args[2], "protocol")

        def finish(raw: Any) -> tuple[int, int, Callable[[], None] | None]:
            result, err = _status(raw)
            return result, err, None

        return Prepared(lambda: net.sys_socket(domain, type_, protocol), finish, new_fd="socket")

    def sys_bind(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 3)
        fd = self.fd(args[0])
        addr = self.t.local_addr()
        return Prepared(lambda: net.sys_bind(fd, addr), _nocheck)

    def sys_listen(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 2)
        script_fd = int_value(args[0], "fd")
        fd, backlog = self.t.live_fd(script_fd), int_value(args[1], "backlog")

        def finish(raw: Any) -> tuple[int, int, Callable[[], None] | None]:
            result, err = _status(raw)
            if result == 0:
                self.t.on_listen(script_fd)
            return result, err, None

        return Prepared(lambda: net.sys_listen(fd, backlog), finish)

    def sys_accept(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 3)
        fd = self.fd(args[0])

        def finish(raw: Any) -> tuple[int, int, Callable[[], None] | None]:
            if isinstance(raw, tuple):
                return raw[0], 0, None
            result, err = _status(raw)
            return result, err, None

        return Prepared(lambda: net.sys_accept(fd), finish, new_fd="accept")

    def sys_connect(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 3)
        script_fd = int_value(args[0], "fd")
        fd = self.t.live_fd(script_fd)
        family = evaluate(args[1])
        unspec = family is not ELLIPSIS and family == net.AF_UNSPEC
        if family is not ELLIPSIS and not unspec:
            raise SyscallError("connect: only ... or AF_UNSPEC is supported as the address")
        self.t.on_connect(script_fd, unspec)
        addr = None if unspec else self.t.remote_addr()
        return Prepared(lambda: net.sys_connect(fd, addr), _nocheck)

    def sys_close(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 1)
        script_fd = int_value(args[0], "fd")
        fd = self.t.live_fd(script_fd)

        def finish(raw: Any) -> tuple[int, int, Callable[[], None] | None]:
            result, err = _status(raw)
            if result == 0:
                self.t.on_close(script_fd)
            return result, err, None

        return Prepared(lambda: net.sys_close(fd), finish)

    def sys_shutdown(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 2)
        fd, how = self.fd(args[0]), int_value(args[1], "how")
        return Prepared(lambda: net.sys_shutdown(fd, how), _nocheck)

    # -- data ------------------------------------------------------------------------------------
    def sys_write(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 3)
        fd, count = self.fd(args[0]), int_value(args[2], "count")
        buf = _buffer(args[1], count)
        return Prepared(lambda: net.sys_write(fd, buf), _nocheck)

    def sys_send(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 4)
        fd, count, flags = self.fd(args[0]), int_value(args[2], "count"), int_value(args[3], "flags")
        buf = _buffer(args[1], count)
        return Prepared(lambda: net.sys_send(fd, buf, flags), _nocheck)

    def sys_sendto(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 6)
        fd, count, flags = self.fd(args[0]), int_value(args[2], "count"), int_value(args[3], "flags")
        buf = _buffer(args[1], count)
        addr = self.t.remote_addr()
        return Prepared(lambda: net.sys_sendto(fd, buf, flags, addr), _nocheck)

    def _read(self, fd: int, count: int, flags: int, null: bool) -> Any:
        return net.sys_recv(fd, count, flags, None if null else net.AS_BYTES)

    def sys_read(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 3)
        fd, count = self.fd(args[0]), int_value(args[2], "count")
        null = _buffer(args[1], 0) is None

        def finish(raw: Any) -> tuple[int, int, Callable[[], None] | None]:
            result, err = _length(raw)
            return result, err, None

        return Prepared(lambda: self._read(fd, count, 0, null), finish)

    def sys_recv(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 4)
        fd, count, flags = self.fd(args[0]), int_value(args[2], "count"), int_value(args[3], "flags")
        null = _buffer(args[1], 0) is None

        def finish(raw: Any) -> tuple[int, int, Callable[[], None] | None]:
            result, err = _length(raw)
            return result, err, None

        return Prepared(lambda: self._read(fd, count, flags, null), finish)

    def sys_recvfrom(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 6)
        return self.sys_recv(args[:4])

    def msghdr(self, expr: Expr) -> tuple[list[int], int, list[tuple[int, int, Any]] | None]:
        """A msghdr expression: (iovec lengths, msg_flags, expected control messages).  A control
        message's data is an int, or, for IP_RECVERR, the ``sock_extended_err`` fields given
        (``{ee_errno=0, ee_origin=SO_EE_ORIGIN_ZEROCOPY, ...}``), or, for SCM_TIMESTAMPING, the
        time in script time (``{scm_sec=0, scm_nsec=20000000}``)."""
        if not isinstance(expr, Struct):
            raise SyscallError("Bad type; expected a msghdr")
        iov_expr = expr.get("msg_iov")
        lengths: list[int] = []
        if isinstance(iov_expr, Array):
            for item in iov_expr.items:
                if not isinstance(item, Struct) or len(item.fields) != 2:
                    raise SyscallError("Bad type; expected an iovec {..., LEN}")
                lengths.append(int_value(item.fields[1].value, "iov_len"))
        for f in expr.fields:
            if f.name == "msg_iov" and f.arg is not None and int_value(f.arg, "msg_iovlen") != len(lengths):
                raise SyscallError(f"msg_iovlen {int_value(f.arg, 'msg_iovlen')} does not match "
                                   f"{len(lengths)}-element iovec array")
        flags_expr = expr.get("msg_flags")
        msg_flags = int_value(flags_expr, "msg_flags") if flags_expr is not None else 0
        control_expr = expr.get("msg_control")
        control = None
        if isinstance(control_expr, Array):
            control = []
            for item in control_expr.items:
                if not isinstance(item, Struct):
                    raise SyscallError("Bad type; expected a cmsg")
                level, type_, data = (item.get("cmsg_level"), item.get("cmsg_type"), item.get("cmsg_data"))
                if level is None or type_ is None or data is None:
                    raise SyscallError("a cmsg needs cmsg_level, cmsg_type and cmsg_data")
                if isinstance(data, Struct):
                    fields = {f.name: int_value(f.value, f.name or "cmsg_data") for f in data.fields}
                    unknown = set(fields) - set(_SCM_FIELDS if set(fields) & set(_SCM_FIELDS) else _EE_FIELDS)
                    if unknown:
                        raise SyscallError(f"unsupported cmsg_data field {sorted(unknown)[0]}")
                    value: Any = fields
                else:
                    value = int_value(data, "cmsg_data")
                control.append((int_value(level, "cmsg_level"), int_value(type_, "cmsg_type"), value))
        return lengths, msg_flags, control

    def sys_sendmsg(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 3)
        fd, flags = self.fd(args[0]), int_value(args[2], "flags")
        lengths, msg_flags, _ = self.msghdr(args[1])
        if msg_flags:
            raise SyscallError("sendmsg ignores msg_flags field in msghdr")
        msg = net.Msghdr(msg_iov=[bytes(n) for n in lengths])
        return Prepared(lambda: net.sys_sendmsg(fd, msg, flags), _nocheck)

    def sys_recvmsg(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 3)
        fd, flags = self.fd(args[0]), int_value(args[2], "flags")
        lengths, expected_flags, expected_control = self.msghdr(args[1])
        msg = net.Msghdr(msg_iov=[bytearray(n) for n in lengths], msg_control=[])

        def check() -> None:
            if msg.msg_flags != expected_flags:
                raise SyscallError(f"Expected msg_flags 0x{expected_flags:08X} but got 0x{msg.msg_flags:08X}")
            actual = list(msg.msg_control or [])
            expected = expected_control or []
            for i, (exp, act) in enumerate(zip(expected, actual, strict=False)):
                if exp[0] != act[0]:
                    raise SyscallError(f"Bad level in cmsg {i}: expected={exp[0]} actual={act[0]}")
                if exp[1] != act[1]:
                    raise SyscallError(f"Bad type in cmsg {i}: expected={exp[1]} actual={act[1]}")
                if isinstance(exp[2], dict) and set(exp[2]) <= set(_SCM_FIELDS):
                    # scm_timestamping_expect_eq: the software time, offset by the script's
                    # start, within the tolerance; the other two timespecs zero
                    ts = struct.unpack("6q", act[2])
                    if any(ts[2:]):
                        raise SyscallError(f"Bad timestamp in cmsg {i}: hardware times {ts[2:]}")
                    script_usecs = (exp[2].get("scm_sec", 0) * 1_000_000_000 + exp[2].get("scm_nsec", 0)) // 1000
                    self.t.script_time_check(ts[0] * 1_000_000_000 + ts[1], script_usecs, f"timestamp in cmsg {i}")
                elif isinstance(exp[2], dict):
                    ee = skbuff.SockExtendedErr.unpack(act[2])
                    for name in _EE_FIELDS:
                        if name in exp[2] and exp[2][name] != getattr(ee, name):
                            raise SyscallError(f"Bad {name} in cmsg {i}: expected={exp[2][name]} "
                                               f"actual={getattr(ee, name)}")
                elif exp[2] != act[2]:
                    raise SyscallError(f"Bad data in cmsg {i}: expected={exp[2]} actual={act[2]}")
            if len(actual) > len(expected):
                raise SyscallError(f"received more than {len(expected)} cmsgs")
            if len(actual) < len(expected):
                raise SyscallError(f"received only {len(actual)} cmsgs")

        def finish(raw: Any) -> tuple[int, int, Callable[[], None] | None]:
            result, err = _length(raw)
            return result, err, check

        return Prepared(lambda: net.sys_recvmsg(fd, msg, sum(lengths), flags), finish)

    # -- options and control ---------------------------------------------------------------------
    def sys_setsockopt(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 5)
        fd = self.fd(args[0])
        level, optname = int_value(args[1], "level"), int_value(args[2], "optname")
        int_value(args[4], "optlen")
        value = evaluate(args[3])
        if isinstance(value, list):
            optval: Any = bracketed_int(args[3], "optval")
        elif isinstance(value, Struct) and value.get("onoff") is not None:
            optval = (int_value(value.get("onoff"), "onoff"), int_value(value.get("linger"), "linger"))
        elif isinstance(value, str):
            optval = value.encode()
        else:
            raise SyscallError("unsupported setsockopt value type")
        return Prepared(lambda: net.sys_setsockopt(fd, level, optname, optval), _nocheck)

    def sys_getsockopt(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 5)
        fd = self.fd(args[0])
        level, optname = int_value(args[1], "level"), int_value(args[2], "optname")
        script_optlen = bracketed_int(args[4], "optlen")
        expected = evaluate(args[3])

        def finish(raw: Any) -> tuple[int, int, Callable[[], None] | None]:
            if isinstance(raw, int) and raw < 0:
                return -1, -raw, None
            live = raw

            def check() -> None:
                if isinstance(expected, list):
                    if script_optlen != 4:
                        raise SyscallError(f"Unsupported getsockopt optlen: {script_optlen}")
                    if not isinstance(live, int):
                        raise SyscallError(f"Bad getsockopt optlen: expected: 4 actual: {len(live)}")
                    want = bracketed_int(args[3], "optval")
                    if (live & 0xFFFFFFFF) != (want & 0xFFFFFFFF):
                        raise SyscallError(f"Bad getsockopt optval: expected: {want} actual: {live}")
                elif isinstance(expected, str):
                    data = live if isinstance(live, bytes) else str(live).encode()
                    if data[:script_optlen] != expected.encode()[:script_optlen]:
                        raise SyscallError(f"Bad getsockopt optval: expected: '{expected}' actual: "
                                           f"'{data[:script_optlen].decode(errors='replace')}'")
                else:
                    raise SyscallError("unsupported getsockopt value type")

            return 0, 0, check

        return Prepared(lambda: net.sys_getsockopt(fd, level, optname), finish)

    def sys_fcntl(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 2, 3)
        fd, cmd = self.fd(args[0]), int_value(args[1], "cmd")
        arg = int_value(args[2], "arg") if len(args) == 3 else 0
        return Prepared(lambda: net.sys_fcntl(fd, cmd, arg), _nocheck)

    def sys_ioctl(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 2, 3)
        fd, cmd = self.fd(args[0]), int_value(args[1], "cmd")
        if cmd not in _INT_IOCTLS:
            value = bracketed_int(args[2], "ioctl argument") if len(args) == 3 else 0
            return Prepared(lambda: net.sys_ioctl(fd, cmd, value), _nocheck)
        want = bracketed_int(args[2], "ioctl argument") if len(args) == 3 else None

        def finish(raw: Any) -> tuple[int, int, Callable[[], None] | None]:
            if raw < 0:
                return -1, -raw, None

            def check() -> None:
                if want is not None and raw != want:
                    raise SyscallError(f"Bad ioctl optval: expected: {want} actual: {raw}")

            return 0, 0, check

        return Prepared(lambda: net.sys_ioctl(fd, cmd, None), finish)

    def sys_poll(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 3)
        fds_expr = args[0]
        if not isinstance(fds_expr, Array):
            raise SyscallError("Bad type; expected an array of pollfd")
        pollfds = []
        expected_revents = []
        for item in fds_expr.items:
            if not isinstance(item, Struct) or item.get("fd") is None or item.get("events") is None:
                raise SyscallError("Bad type; expected a pollfd {fd=..., events=..., revents=...}")
            revents = item.get("revents")
            pollfds.append((self.fd(item.get("fd")), int_value(item.get("events"), "events")))
            expected_revents.append(int_value(revents, "revents") if revents is not None else 0)
        nfds, timeout = int_value(args[1], "nfds"), int_value(args[2], "timeout")
        if nfds != len(pollfds):
            raise SyscallError(f"nfds {nfds} does not match {len(pollfds)}-element pollfd array")

        def finish(raw: Any) -> tuple[int, int, Callable[[], None] | None]:
            if isinstance(raw, int):
                return -1, -raw, None

            def check() -> None:
                for i, (want, got) in enumerate(zip(expected_revents, raw, strict=True)):
                    if want != got:
                        raise SyscallError(f"Expected revents of {poll_flags_to_string(want)} but got "
                                           f"{poll_flags_to_string(got)} for pollfd {i}")

            return sum(1 for r in raw if r), 0, check

        return Prepared(lambda: net.sys_poll(pollfds, timeout), finish)

    # -- epoll -----------------------------------------------------------------------------------
    def sys_epoll_create(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 1)
        size = int_value(args[0], "size")
        return Prepared(lambda: eventpoll.sys_epoll_create(size), _nocheck, new_fd="epoll")

    def epoll_event(self, expr: Expr) -> tuple[int, str, int]:
        """``{events=..., fd=N|ptr=N|u32=N|u64=N}`` as (events, data kind, data)."""
        if not isinstance(expr, Struct) or expr.get("events") is None:
            raise SyscallError("epoll_event specified incorrectly")
        events = int_value(expr.get("events"), "events")
        for kind in ("fd", "ptr", "u32", "u64"):
            value = expr.get(kind)
            if value is not None:
                return events, kind, int_value(value, kind)
        raise SyscallError("epoll_event specified incorrectly")

    def sys_epoll_ctl(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 4)
        epfd, op = self.fd(args[0]), int_value(args[1], "op")
        script_fd = int_value(args[2], "fd")
        fd = self.t.live_fd(script_fd)
        events, kind, data = self.epoll_event(args[3])
        if kind == "fd":
            if data != script_fd:
                raise SyscallError("wrong fd specified in epoll_event")
            data = fd
        return Prepared(lambda: eventpoll.sys_epoll_ctl(epfd, op, fd, events, data), _nocheck)

    def sys_epoll_wait(self, args: list[Expr]) -> Prepared:
        self.nargs(args, 4)
        epfd = self.fd(args[0])
        events, kind, data = self.epoll_event(args[1])
        if kind == "fd":
            data = self.t.live_fd(data)
        maxevents, timeout = int_value(args[2], "maxevents"), int_value(args[3], "timeout")

        def finish(raw: Any) -> tuple[int, int, Callable[[], None] | None]:
            if isinstance(raw, int):
                return -1, -raw, None

            def check() -> None:
                got_events, got_data = raw[0] if raw else (0, 0)
                if got_events != events:
                    raise SyscallError(f"epoll_event->events does not match script: expected: {events:#x} "
                                       f"actual: {got_events:#x}")
                if got_data != data:
                    raise SyscallError(f"epoll_event->data does not match script: expected: {data} "
                                       f"actual: {got_data}")

            return len(raw), 0, check

        return Prepared(lambda: eventpoll.sys_epoll_wait(epfd, maxevents, timeout), finish)

