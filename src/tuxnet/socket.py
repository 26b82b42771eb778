"""Python's ``socket`` module on tuxnet: the same ``socket`` class, functions, constants and
exceptions, with every call made by the calling tuxnet process through the host's C library (and
so through ``sys_socketcall``).

Use it directly (``from tuxnet import socket``) in a program running on a host, or run unmodified
standard-library code (``http.client``, ``urllib.request``, ``socketserver``, dnspython's query
functions) with ``patch_stdlib()``: while it is active the standard ``socket``, ``select``,
``selectors`` and ``time`` modules, and ``fcntl.ioctl``, answer calls made from inside a tuxnet
process with tuxnet's sockets, ``poll`` and world clock, and calls from anywhere else (the event
loop, the test runner) as before.  ``stdlib(fn)`` wraps a program so that the same holds for it alone, while it runs.

Timeouts behave as CPython's (Modules/socketmodule.c): a socket with a timeout is non-blocking
underneath and waits in ``poll`` for at most the timeout, raising ``TimeoutError``; timeout 0 is
non-blocking (``BlockingIOError``); None blocks.  The patch replaces module attributes, so a
name bound before it (``from time import sleep``) keeps the original.  The constants and exception classes are the
standard library's own (Linux values, which tuxnet's kernel uses).  Threads and ``fork`` do not
exist inside a host: use the iterative ``socketserver`` servers, not the Threading/Forking mixins.
"""

from __future__ import annotations

import contextlib
import fcntl as _stdfcntl
import functools
import io
import math
import os
import select as _stdselect
import selectors as _stdselectors
import socket as _std
import time as _stdtime
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from tuxnet.kernel.errno import EAFNOSUPPORT, EFAULT, EINPROGRESS
from tuxnet.kernel.sched import current, in_process
from tuxnet.net.core import net_tstamp as _net_tstamp
from tuxnet.net.core import skbuff as _skbuff
from tuxnet.net.core import sock as _sock
from tuxnet.net.core.utils import byte_view
from tuxnet.net.ipv4 import af_inet as _inet
from tuxnet.net.ipv4 import tcp as _tcp
from tuxnet.net.socket import (
    F_DUPFD_CLOEXEC,
    F_GETFD,
    F_SETFD,
    FD_CLOEXEC,
    FIONBIO,
    MSG_CTRUNC,
    SIOCATMARK,
    SIOCGSTAMP,
    SIOCGSTAMP_NEW,
    SIOCGSTAMPNS,
    SIOCGSTAMPNS_NEW,
    SIOCINQ,
    SIOCOUTQ,
    SIOCOUTQNSD,
    Msghdr,
)
from tuxnet.net.socket import MSG_ZEROCOPY as MSG_ZEROCOPY  # (exported, as the constants below)
from tuxnet.user import libc, pyselect
from tuxnet.user.resolv import EAI_NONAME, gai_error

# -- the standard library's names ----------------------------------------------------------------
error = OSError
herror = _std.herror
gaierror = _std.gaierror
timeout = TimeoutError
AddressFamily = _std.AddressFamily
SocketKind = _std.SocketKind
MsgFlag = _std.MsgFlag
AddressInfo = _std.AddressInfo
_GLOBAL_DEFAULT_TIMEOUT = _std._GLOBAL_DEFAULT_TIMEOUT
getdefaulttimeout = _std.getdefaulttimeout
setdefaulttimeout = _std.setdefaulttimeout
inet_aton = _std.inet_aton
inet_ntoa = _std.inet_ntoa
inet_pton = _std.inet_pton
inet_ntop = _std.inet_ntop
htons = _std.htons
ntohs = _std.ntohs
htonl = _std.htonl
ntohl = _std.ntohl
has_ipv6 = False

_CONSTANT_PREFIXES = ("AF_", "SOCK_", "SOL_", "SO_", "SOMAXCONN", "IPPROTO_", "IP_", "TCP_", "MSG_",
                      "SHUT_", "AI_", "NI_", "EAI_", "INADDR_")
globals().update({name: getattr(_std, name) for name in dir(_std) if name.startswith(_CONSTANT_PREFIXES)})

AF_INET: int = _std.AF_INET
AF_PACKET: int = _std.AF_PACKET
AF_INET6: int = _std.AF_INET6
AF_UNSPEC: int = _std.AF_UNSPEC
SOCK_STREAM: int = _std.SOCK_STREAM
SOCK_DGRAM: int = _std.SOCK_DGRAM
SOCK_NONBLOCK: int = _std.SOCK_NONBLOCK
SOCK_CLOEXEC: int = _std.SOCK_CLOEXEC
SOL_SOCKET: int = _std.SOL_SOCKET
SO_ERROR: int = _std.SO_ERROR
SO_TYPE: int = _std.SO_TYPE
SO_DOMAIN: int = _std.SO_DOMAIN
SO_PROTOCOL: int = _std.SO_PROTOCOL
SO_REUSEADDR: int = _std.SO_REUSEADDR
SOMAXCONN: int = _std.SOMAXCONN
SHUT_WR: int = _std.SHUT_WR
# Linux's, which the standard library does not export: zero-copy send (and MSG_ZEROCOPY, above)
# and its notifications, the pacing limit and the congestion control's record (<linux/socket.h>,
# <linux/errqueue.h>, <linux/in.h>, <linux/tcp.h>).
SO_ZEROCOPY: int = _sock.SO_ZEROCOPY
SO_MAX_PACING_RATE: int = _sock.SO_MAX_PACING_RATE
TCP_CC_INFO: int = _tcp.TCP_CC_INFO
IP_RECVERR: int = _inet.IP_RECVERR
SO_EE_ORIGIN_NONE: int = _skbuff.SO_EE_ORIGIN_NONE
SO_EE_ORIGIN_LOCAL: int = _skbuff.SO_EE_ORIGIN_LOCAL
SO_EE_ORIGIN_ICMP: int = _skbuff.SO_EE_ORIGIN_ICMP
SO_EE_ORIGIN_ZEROCOPY: int = _skbuff.SO_EE_ORIGIN_ZEROCOPY
SO_EE_CODE_ZEROCOPY_COPIED: int = _skbuff.SO_EE_CODE_ZEROCOPY_COPIED
# and the timestamps of received and sent packets (<asm-generic/socket.h>, <linux/net_tstamp.h>,
# <linux/errqueue.h>)
SO_TIMESTAMP: int = _sock.SO_TIMESTAMP
SO_TIMESTAMPNS: int = _sock.SO_TIMESTAMPNS
SO_TIMESTAMPING: int = _sock.SO_TIMESTAMPING
SO_EE_ORIGIN_TIMESTAMPING: int = _skbuff.SO_EE_ORIGIN_TIMESTAMPING
globals().update({name: getattr(_net_tstamp, name) for name in dir(_net_tstamp)
                  if name.startswith(("SOF_TIMESTAMPING_", "SCM_TSTAMP_"))})
MSG_DONTWAIT = 0x40
POLLIN = 0x001
POLLOUT = 0x004
_SOCK_FLAGS = SOCK_NONBLOCK | SOCK_CLOEXEC


def _intenum(value: int, enum: Any) -> Any:
    """``_intenum_converter``: the enum member when there is one, else the int."""
    try:
        return enum(value)
    except ValueError:
        return value


def _c_hostname(host: Any, idna: bool = False) -> str:
    """The host name as CPython's socket module hands it to the C library (``idna_converter``;
    with ``idna``, ``getaddrinfo``'s own conversion): bytes as they are, text in ASCII as it is,
    other text (or with ``idna`` all text) encoded by the ``idna`` codec.  The resolver takes
    names as text and puts them on the wire in UTF-8 with undecodable octets escaped, so bytes
    travel as text decoded the same way."""
    if isinstance(host, bytes | bytearray):
        return bytes(host).decode("utf-8", "surrogateescape")
    if not isinstance(host, str):
        raise TypeError(f"str, bytes or bytearray expected, not {type(host).__name__}")
    if idna or not host.isascii():
        try:
            return host.encode("idna").decode("ascii")
        except UnicodeError:
            if idna:
                raise
            raise TypeError("encoding of hostname failed") from None
    return host


def _inet_host(host: Any) -> str:
    """CPython's ``setipaddr``: '' is INADDR_ANY, '<broadcast>' INADDR_BROADCAST, a dotted quad
    itself, anything else the first AF_INET address ``getaddrinfo`` gives."""
    host = _c_hostname(host)
    if host == "":
        return "0.0.0.0"
    if host == "<broadcast>":
        return "255.255.255.255"
    try:
        _std.inet_pton(_std.AF_INET, host)
        return host
    except OSError:
        pass
    return libc.getaddrinfo(host, None, AF_INET)[0][4][0]


def _writable_view(buffer: Any, fn: str) -> memoryview:
    """The bytes of a read-write buffer, or CPython's TypeError for anything else."""
    try:
        view = byte_view(buffer)
    except TypeError:
        view = None
    if view is None or view.readonly:
        got = "None" if buffer is None else type(buffer).__name__
        raise TypeError(f"{fn}() argument 1 must be read-write bytes-like object, not {got}")
    return view


def _into_view(buffer: Any, nbytes: int, fn: str, too_small: str) -> memoryview:
    """CPython's checks of ``recv_into``'s and ``recvfrom_into``'s buffer and size, in its order."""
    view = _writable_view(buffer, fn)
    if nbytes < 0:
        raise ValueError(f"negative buffersize in {fn}")
    if nbytes > len(view):
        raise ValueError(too_small)
    return view


def _cmsg_space(length: int) -> int:
    """``CMSG_SPACE``: a control message's header (16 bytes) and data, aligned to 8."""
    return 16 + ((length + 7) & ~7)


def _ancdata(control: list[tuple[int, int, Any]], ancbufsize: int) -> tuple[list[tuple[int, int, bytes]], int]:
    """The control messages the kernel put, as CPython's ``recvmsg`` returns them: (level, type,
    data bytes; an int as a C int), as many as ``ancbufsize`` bytes of buffer hold.  ``put_cmsg``
    cuts the one that does not fit and drops the rest, saying MSG_CTRUNC (the second value)."""
    items = []
    room = ancbufsize
    for level, type_, data in control:
        if data.__class__ is int:
            data = data.to_bytes(4, "little", signed=True)
        if room < 16:
            return items, MSG_CTRUNC
        if room < 16 + len(data):
            items.append((level, type_, bytes(data[:room - 16])))
            return items, MSG_CTRUNC
        items.append((level, type_, bytes(data)))
        room -= min(_cmsg_space(len(data)), room)
    return items, 0


def _sockaddr(family: int, address: Any) -> tuple[Any, ...]:
    """CPython's ``getsockaddrarg`` for AF_INET and AF_PACKET."""
    if family == AF_PACKET:
        return _packet_sockaddr(address)
    if family != AF_INET:
        raise OSError(EAFNOSUPPORT, os.strerror(EAFNOSUPPORT))
    if not isinstance(address, tuple):
        raise TypeError(f"AF_INET address must be tuple, not {type(address).__name__}")
    if len(address) != 2:
        raise TypeError("AF_INET address must be a pair (host, port)")
    host, port = address
    if not isinstance(port, int):
        raise TypeError(f"'{type(port).__name__}' object cannot be interpreted as an integer")
    if not 0 <= port <= 0xFFFF:
        raise OverflowError("connect(): port must be 0-65535.")
    return _inet_host(host), port


def _packet_sockaddr(address: Any) -> tuple[Any, ...]:
    """CPython's ``getsockaddrarg`` for AF_PACKET: ``(ifname, proto[, pkttype[, hatype[, addr]]])``
    (the kernel finds the device by its name)."""
    if not isinstance(address, tuple):
        raise TypeError(f"AF_PACKET address must be tuple, not {type(address).__name__}")
    kinds = (str, int, int, int, (bytes, bytearray))
    if not 2 <= len(address) <= 5 or not all(isinstance(v, k) for v, k in zip(address, kinds, strict=False)):
        raise TypeError("AF_PACKET address must be a tuple of two to five elements")
    if len(address) == 5 and len(address[4]) > 8:
        raise ValueError("Hardware address must be 8 bytes or less")
    if not 0 <= address[1] <= 0xFFFF:
        raise OverflowError("proto must be 0-65535.")
    return address


class socket:  # noqa: N801 - the name of socket.socket
    """``socket.socket`` on a tuxnet host: a descriptor of the calling process."""

    def __init__(self, family: int = -1, type: int = -1, proto: int = -1, fileno: int | None = None) -> None:
        if fileno is None:
            family = AF_INET if family == -1 else family
            type = SOCK_STREAM if type == -1 else type
            proto = 0 if proto == -1 else proto
            # Not inherited (PEP 446): CPython asks for SOCK_CLOEXEC too.
            fileno = libc.socket(family, type | SOCK_CLOEXEC, proto)
        else:
            family = libc.getsockopt(fileno, SOL_SOCKET, SO_DOMAIN) if family == -1 else family
            type = libc.getsockopt(fileno, SOL_SOCKET, SO_TYPE) if type == -1 else type
            proto = libc.getsockopt(fileno, SOL_SOCKET, SO_PROTOCOL) if proto == -1 else proto
        self._fd = fileno
        self._family = family
        self._type = type & ~_SOCK_FLAGS
        self._proto = proto
        self._io_refs = 0
        self._closed = False
        self._timeout: float | None = None
        self.settimeout(0.0 if type & SOCK_NONBLOCK else getdefaulttimeout())

    # -- properties ------------------------------------------------------------------------------
    @property
    def family(self) -> Any:
        return _intenum(self._family, AddressFamily)

    @property
    def type(self) -> Any:
        return _intenum(self._type, SocketKind)

    @property
    def proto(self) -> int:
        return self._proto

    @property
    def timeout(self) -> float | None:
        return self._timeout

    def fileno(self) -> int:
        return self._fd

    def dup(self) -> socket:
        """A new socket object on a new descriptor for the same socket, not inheritable
        (``fcntl(F_DUPFD_CLOEXEC)``, as CPython's ``_Py_dup``)."""
        fd = libc.fcntl(self._check(), F_DUPFD_CLOEXEC, 0)
        sock = self.__class__(self._family, self._type, self._proto, fileno=fd)
        sock.settimeout(self.gettimeout())
        return sock

    def get_inheritable(self) -> bool:
        return not libc.fcntl(self._check(), F_GETFD) & FD_CLOEXEC

    def set_inheritable(self, inheritable: bool) -> None:
        fd = self._check()
        flags = libc.fcntl(fd, F_GETFD)
        libc.fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC if inheritable else flags | FD_CLOEXEC)

    def __repr__(self) -> str:
        s = f"<tuxnet.socket.socket{' [closed]' if self._closed else ''} fd={self._fd}, family={self._family}, " \
            f"type={self._type}, proto={self._proto}"
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                s += f", laddr={self.getsockname()}"
            with contextlib.suppress(OSError):
                s += f", raddr={self.getpeername()}"
        return s + ">"

    def __getstate__(self) -> None:
        raise TypeError(f"cannot pickle {self.__class__.__name__!r} object")

    def __enter__(self) -> socket:
        return self

    def __exit__(self, *args: object) -> None:
        if not self._closed:
            self.close()

    # -- blocking and timeouts --------------------------------------------------------------------
    def settimeout(self, value: float | None) -> None:
        """None blocks; 0 never blocks; a positive value waits at most that long.  As in CPython
        (``internal_setblocking``), the descriptor's mode is set even on a closed socket, which
        raises EBADF once the timeout is recorded."""
        if value is not None:
            value = float(value)
            if value < 0:
                raise ValueError("Timeout value out of range")
        self._timeout = value
        libc.ioctl(self._fd, FIONBIO, value is not None)

    def gettimeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self.settimeout(None if flag else 0.0)

    def getblocking(self) -> bool:
        return self._timeout != 0.0

    def _check(self) -> int:
        if self._fd < 0:
            raise OSError(9, "Bad file descriptor")
        return self._fd

    def _wait(self, events: int, deadline: float) -> None:
        left = deadline - libc.clock_monotonic()
        if left <= 0 or not libc.poll([(self._fd, events)], math.ceil(left * 1000))[0]:
            raise TimeoutError("timed out")

    def _call(self, events: int, fn: Callable[..., Any], *args: Any) -> Any:
        """CPython's ``sock_call``: with a timeout, retry after ``poll`` says the socket is ready."""
        fd = self._check()
        if not self._timeout:
            return fn(fd, *args)
        deadline = libc.clock_monotonic() + self._timeout
        while True:
            try:
                return fn(fd, *args)
            except BlockingIOError:
                self._wait(events, deadline)

    # -- the calls ---------------------------------------------------------------------------------
    def bind(self, address: Any) -> None:
        libc.bind(self._check(), _sockaddr(self._family, address))

    def listen(self, backlog: int = min(SOMAXCONN, 128)) -> None:
        libc.listen(self._check(), max(backlog, 0))

    def _accept(self) -> tuple[int, tuple[str, int]]:
        return self._call(POLLIN, libc.accept4, SOCK_CLOEXEC)

    def accept(self) -> tuple[socket, tuple[str, int]]:
        """A new socket for the next connection, and the peer's address."""
        fd, addr = self._accept()
        sock = socket(self._family, self._type, self._proto, fileno=fd)
        if getdefaulttimeout() is None and self.gettimeout():
            sock.setblocking(True)
        return sock, addr

    def connect(self, address: Any) -> None:
        """``connect``; with a timeout, wait for the handshake in ``poll`` (then SO_ERROR)."""
        fd = self._check()
        addr = _sockaddr(self._family, address)
        try:
            libc.connect(fd, addr)
            return
        except BlockingIOError as e:
            if e.errno != EINPROGRESS or self._timeout == 0.0:
                raise
        self._wait(POLLOUT, libc.clock_monotonic() + (self._timeout or 0.0))
        err = libc.getsockopt(fd, SOL_SOCKET, SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err))

    def connect_ex(self, address: Any) -> int:
        """``connect`` returning the errno (0 on success) instead of raising it."""
        try:
            self.connect(address)
        except TimeoutError:
            return 11  # EAGAIN, as CPython reports a timed-out connect_ex
        except OSError as e:
            if e.errno is None:
                raise
            return e.errno
        return 0

    def send(self, data: Any, flags: int = 0) -> int:
        return self._call(POLLOUT, libc.send, byte_view(data), flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        """Send everything; with a timeout, the whole call shares it (CPython 3.5+)."""
        view = byte_view(data)
        fd = self._check()
        deadline = None if not self._timeout else libc.clock_monotonic() + self._timeout
        while len(view):
            try:
                n = libc.send(fd, view, flags)
            except BlockingIOError:
                if deadline is None:
                    raise
                self._wait(POLLOUT, deadline)
                continue
            view = view[n:]

    def sendto(self, data: Any, flags_or_addr: Any, addr: Any = None) -> int:
        flags, address = (0, flags_or_addr) if addr is None else (flags_or_addr, addr)
        return self._call(POLLOUT, libc.sendto, byte_view(data), flags,
                          _sockaddr(self._family, address))

    def sendmsg(self, buffers: Any, ancdata: Any = (), flags: int = 0, address: Any = None) -> int:
        control = []
        for item in ancdata:
            # CPython: "iiy*:[sendmsg() ancillary data items]"
            if not isinstance(item, tuple) or len(item) != 3:
                raise TypeError("[sendmsg() ancillary data items]() argument must be sequence of length 3")
            level, kind, data = item
            control.append((level, kind, bytes(byte_view(data))))
        msg = Msghdr(None if address is None else _sockaddr(self._family, address),
                     [byte_view(b) for b in buffers], control)
        return self._call(POLLOUT, libc.sendmsg, msg, flags)

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        """Send a file's contents with ``send`` (the standard library's fallback)."""
        if offset:
            file.seek(offset)
        total = 0
        while count is None or total < count:
            block = file.read(min(8192, count - total) if count is not None else 8192)
            if not block:
                break
            self.sendall(block)
            total += len(block)
        return total

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        return self._call(POLLIN, libc.recv, bufsize, flags)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        view = _into_view(buffer, nbytes, "recv_into", "buffer too small for requested bytes")
        return self._call(POLLIN, libc.recv_into, view, nbytes, flags)

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, Any]:
        if bufsize < 0:
            raise ValueError("negative buffersize in recvfrom")
        return self._call(POLLIN, libc.recvfrom, bufsize, flags)

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[int, Any]:
        view = _into_view(buffer, nbytes, "recvfrom_into", "nbytes is greater than the length of the buffer")
        return self._call(POLLIN, libc.recvfrom_into, view, nbytes, flags)

    def recvmsg(self, bufsize: int, ancbufsize: int = 0, flags: int = 0) -> tuple[bytes, list[Any], int, Any]:
        if bufsize < 0:
            raise ValueError("negative buffer size in recvmsg()")
        if ancbufsize < 0:
            raise ValueError("invalid ancillary data buffer length")
        msg = Msghdr(msg_control=[])
        data = self._call(POLLIN, libc.recvmsg, msg, bufsize, flags)
        ancdata, ctrunc = _ancdata(msg.msg_control, ancbufsize)
        return data, ancdata, msg.msg_flags | ctrunc, msg.msg_name

    def recvmsg_into(self, buffers: Any, ancbufsize: int = 0, flags: int = 0) -> tuple[int, list[Any], int, Any]:
        try:
            items = list(buffers)
        except TypeError:
            raise TypeError("recvmsg_into() argument 1 must be an iterable") from None
        views = []
        for item in items:
            try:
                view = byte_view(item)
            except TypeError:
                view = None
            if view is None or view.readonly:
                raise TypeError("recvmsg_into() argument 1 must be an iterable of single-segment read-write buffers")
            views.append(view)
        if ancbufsize < 0:
            raise ValueError("invalid ancillary data buffer length")
        # No buffers at all still asks for a copy into them (of nothing), not for bytes.
        msg = Msghdr(msg_iov=views or [bytearray()], msg_control=[])
        n = self._call(POLLIN, libc.recvmsg, msg, sum(v.nbytes for v in views), flags)
        ancdata, ctrunc = _ancdata(msg.msg_control, ancbufsize)
        return n, ancdata, msg.msg_flags | ctrunc, msg.msg_name

    def shutdown(self, how: int) -> None:
        libc.shutdown(self._check(), how)

    def getsockname(self) -> Any:
        return libc.getsockname(self._check())

    def getpeername(self) -> Any:
        return libc.getpeername(self._check())

    def setsockopt(self, level: int, optname: int, value: Any, optlen: int | None = None) -> None:
        if value is None:
            if optlen is None:
                raise TypeError("setsockopt() takes 3 or 4 arguments")
            value = bytes(optlen)
        libc.setsockopt(self._check(), level, optname, value)

    def getsockopt(self, level: int, optname: int, buflen: int = 0) -> Any:
        """An int, or with ``buflen`` the option's bytes (an int option as a C ``int``)."""
        value = libc.getsockopt(self._check(), level, optname)
        if not buflen:
            return value if isinstance(value, int) else int.from_bytes(bytes(value[:4]).ljust(4, b"\0"),
                                                                       "little", signed=True)
        if isinstance(value, int):
            value = value.to_bytes(4, "little", signed=True)
        return bytes(value[:buflen])

    def makefile(self, mode: str = "r", buffering: int | None = None, *, encoding: str | None = None,
                 errors: str | None = None, newline: str | None = None) -> Any:
        """A file object reading and/or writing the socket, as ``socket.makefile`` builds it."""
        if not set(mode) <= {"r", "w", "b"}:
            raise ValueError(f"invalid mode {mode!r} (only r, w, b allowed)")
        writing = "w" in mode
        reading = "r" in mode or not writing
        rawmode = ("r" if reading else "") + ("w" if writing else "")
        raw = _std.SocketIO(self, rawmode)
        self._io_refs += 1
        if buffering is None or buffering < 0:
            buffering = io.DEFAULT_BUFFER_SIZE
        if buffering == 0:
            if "b" not in mode:
                raise ValueError("unbuffered streams must be binary")
            return raw
        if reading and writing:
            buffer: Any = io.BufferedRWPair(raw, raw, buffering)
        elif reading:
            buffer = io.BufferedReader(raw, buffering)
        else:
            buffer = io.BufferedWriter(raw, buffering)
        if "b" in mode:
            return buffer
        text = io.TextIOWrapper(buffer, io.text_encoding(encoding), errors, newline)
        text.mode = mode  # type: ignore[misc]
        return text

    def _decref_socketios(self) -> None:
        if self._io_refs > 0:
            self._io_refs -= 1
        if self._closed:
            self.close()

    def _real_close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0 and in_process():
            with contextlib.suppress(OSError):
                libc.close(fd)

    def close(self) -> None:
        """Close the descriptor once no file made by ``makefile`` uses it any more."""
        self._closed = True
        if self._io_refs <= 0:
            self._real_close()

    def detach(self) -> int:
        """Give up the descriptor without closing it."""
        self._closed = True
        fd, self._fd = self._fd, -1
        return fd


SocketType = socket


# -- name service -------------------------------------------------------------------------------

def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0,
                flags: int = 0) -> list[tuple[Any, Any, int, str, tuple[Any, ...]]]:
    """``socket.getaddrinfo`` through the host's resolver (/etc/hosts, DNS)."""
    if host is not None:
        host = _c_hostname(host, idna=True)
    if isinstance(port, bytes | bytearray):
        port = port.decode("latin-1")  # (C's getaddrinfo takes the bytes as they are)
    return [(_intenum(af, AddressFamily), _intenum(st, SocketKind), pr, canon, sa)
            for af, st, pr, canon, sa in libc.getaddrinfo(host, port, family, type, proto, flags)]


def gethostbyname(hostname: str) -> str:
    """The first IPv4 address of ``hostname`` (``getaddrinfo`` with AF_INET, as CPython does)."""
    return _inet_host(hostname)


def gethostbyname_ex(hostname: str) -> tuple[str, list[str], list[str]]:
    """(canonical name, aliases, IPv4 addresses); ``gaierror`` if the name does not resolve."""
    _inet_host(hostname)
    try:
        h = libc.gethostbyname(_c_hostname(hostname))
    except herror as e:
        raise gai_error(EAI_NONAME) from e
    return h.h_name, h.h_aliases, h.h_addr_list


def gethostbyaddr(ip_address: str) -> tuple[str, list[str], list[str]]:
    """(name, aliases, addresses) of an address (or of the address of a name)."""
    h = libc.gethostbyaddr(_inet_host(ip_address))
    return h.h_name, h.h_aliases, h.h_addr_list


def getnameinfo(sockaddr: tuple[Any, ...], flags: int) -> tuple[str, str]:
    return libc.getnameinfo(sockaddr, flags)


def gethostname() -> str:
    return libc.gethostname()


def getfqdn(name: str = "") -> str:
    """The fully qualified name: the first name with a dot among the host's name and aliases."""
    name = name.strip()
    if not name or name in ("0.0.0.0", "::"):
        name = gethostname()
    try:
        hostname, aliases, _ = gethostbyaddr(name)
    except OSError:
        return name
    for candidate in [hostname, *aliases]:
        if "." in candidate:
            return candidate
    return hostname


def getservbyname(servicename: str, protocolname: str | None = None) -> int:
    return libc.getservbyname(servicename, protocolname)


def getservbyport(port: int, protocolname: str | None = None) -> str:
    if not 0 <= port <= 0xFFFF:
        raise OverflowError("getservbyport: port must be 0-65535.")
    return libc.getservbyport(port, protocolname)


# ioctl requests whose argument points to a C int the kernel writes, and those to a struct
_IOCTL_INT_OUT = (SIOCINQ, SIOCOUTQ, SIOCOUTQNSD, SIOCATMARK)
_IOCTL_STRUCT_OUT = (SIOCGSTAMP, SIOCGSTAMPNS, SIOCGSTAMP_NEW, SIOCGSTAMPNS_NEW)


def ioctl(fd: Any, request: int, arg: Any = 0, mutate_flag: bool = True) -> int | bytes:
    """``fcntl.ioctl`` for a tuxnet socket (an fd or an object with ``fileno()``): FIONBIO, which
    reads the C int in ``arg``, SIOCINQ (FIONREAD), SIOCOUTQ, SIOCOUTQNSD and SIOCATMARK, which
    write one, and SIOCGSTAMP and SIOCGSTAMPNS, which write a struct timeval or timespec.  As
    CPython passes it, ``arg`` is a buffer: the result is a copy of it, or, for a writable buffer
    with ``mutate_flag``, the buffer itself filled in and 0.  An int ``arg`` is passed as the
    pointer itself, which the kernel cannot write through (EFAULT)."""
    fd = fd if isinstance(fd, int) else fd.fileno()
    if fd < 0:  # (a closed socket's fileno(); PyObject_AsFileDescriptor)
        raise ValueError(f"file descriptor cannot be a negative integer ({fd})")
    if isinstance(arg, int):
        if request not in _IOCTL_INT_OUT and request not in _IOCTL_STRUCT_OUT and request != FIONBIO:
            libc.ioctl(fd, request)  # (ENOTTY: no such request)
        raise OSError(EFAULT, os.strerror(EFAULT))
    size = len(memoryview(arg).cast("B"))
    buf = bytearray(arg) + bytes(max(0, 16 - size))  # (CPython's own copy is 1024 bytes long)
    if request == FIONBIO:
        libc.ioctl(fd, FIONBIO, int.from_bytes(buf[:4], "little", signed=True))
    elif request in _IOCTL_STRUCT_OUT:
        out = libc.ioctl(fd, request)
        buf[:len(out)] = out
    else:
        buf[:4] = libc.ioctl(fd, request).to_bytes(4, "little", signed=True)
    if mutate_flag and not memoryview(arg).readonly:
        memoryview(arg).cast("B")[:] = buf[:size]
        return 0
    return bytes(buf[:size])


def create_connection(address: tuple[str, int], timeout: Any = _GLOBAL_DEFAULT_TIMEOUT,
                      source_address: Any = None, *, all_errors: bool = False) -> socket:
    """Connect to ``address`` trying each address ``getaddrinfo`` gives, as the standard library."""
    host, port = address
    exceptions: list[OSError] = []
    for af, socktype, proto, _, sa in getaddrinfo(host, port, 0, SOCK_STREAM):
        sock = None
        try:
            sock = socket(af, socktype, proto)
            if timeout is not _GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sa)
            return sock
        except OSError as exc:
            exceptions.append(exc)
            if sock is not None:
                sock.close()
    if not exceptions:
        raise OSError("getaddrinfo returns an empty list")
    if all_errors:
        raise ExceptionGroup("create_connection failed", exceptions)
    raise exceptions[0]


def create_server(address: tuple[str, int], *, family: int = AF_INET, backlog: int | None = None,
                  reuse_port: bool = False, dualstack_ipv6: bool = False) -> socket:
    """A listening TCP socket bound to ``address`` (SO_REUSEADDR set, as on POSIX)."""
    if dualstack_ipv6:
        raise ValueError("dualstack_ipv6 not supported on this platform")
    sock = socket(family, SOCK_STREAM)
    try:
        sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(SOL_SOCKET, _std.SO_REUSEPORT, 1)
        sock.bind(address)
        if backlog is None:
            sock.listen()
        else:
            sock.listen(backlog)
        return sock
    except OSError:
        sock.close()
        raise


def has_dualstack_ipv6() -> bool:
    return False


# -- running standard-library code ---------------------------------------------------------------
#
# The standard modules' functions and classes are replaced by stand-ins that ask who is calling:
# a tuxnet process that runs under ``stdlib()``, or any tuxnet process while a ``patch_stdlib()``
# block is active, gets tuxnet's; everyone else (the event loop, the test runner, other
# processes) gets the original.  The stand-ins stay installed while either kind of user remains.

_all_processes = 0
_programs: weakref.WeakSet[Any] = weakref.WeakSet()
_saved: list[tuple[Any, str, Any]] = []


def _served() -> bool:
    return in_process() and (_all_processes > 0 or current() in _programs)


def _dispatch(tux: Callable[..., Any], std: Callable[..., Any]) -> Callable[..., Any]:
    """A stand-in for ``std`` that calls ``tux`` when a served tuxnet process is calling."""
    @functools.wraps(std)
    def call(*args: Any, **kwargs: Any) -> Any:
        return tux(*args, **kwargs) if _served() else std(*args, **kwargs)
    return call


def _dispatch_class(tux: type, std: type) -> type:
    """A stand-in for class ``std``: instances are ``tux`` ones for a served tuxnet process, and
    ``isinstance``/``issubclass`` accept both."""
    class Meta(type):
        def __call__(cls, *args: Any, **kwargs: Any) -> Any:
            return tux(*args, **kwargs) if _served() else std(*args, **kwargs)

        def __instancecheck__(cls, obj: Any) -> bool:
            return isinstance(obj, (tux, std))

        def __subclasscheck__(cls, sub: type) -> bool:
            return issubclass(sub, (tux, std))

    return Meta(std.__name__, (), {"__module__": std.__module__, "__doc__": std.__doc__})


def _patches() -> list[tuple[Any, str, Any]]:
    patches: list[tuple[Any, str, Any]] = [(_std, "socket", _dispatch_class(socket, _std.socket))]
    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo",
                 "gethostname", "getservbyname", "getservbyport"):
        patches.append((_std, name, _dispatch(globals()[name], getattr(_std, name))))
    patches.append((_stdselect, "select", _dispatch(pyselect.select, _stdselect.select)))
    patches.append((_stdselect, "poll", _dispatch(pyselect.poll, _stdselect.poll)))
    # PollSelector captured select.poll when selectors was imported; socketserver captured
    # PollSelector itself, so the class's poll factory is what must change.
    patches.append((_stdselectors.PollSelector, "_selector_cls",
                    staticmethod(_dispatch(pyselect.poll, _stdselect.poll))))
    patches.append((_stdselectors, "DefaultSelector",
                    _dispatch_class(pyselect.PollSelector, _stdselectors.DefaultSelector)))
    patches.append((_stdfcntl, "ioctl", _dispatch(ioctl, _stdfcntl.ioctl)))
    for name in ("time", "time_ns", "monotonic", "monotonic_ns", "sleep"):
        patches.append((_stdtime, name, _dispatch(getattr(pyselect, name), getattr(_stdtime, name))))
    return patches


def _install() -> None:
    if not _saved:
        for obj, name, value in _patches():
            _saved.append((obj, name, obj.__dict__[name]))
            setattr(obj, name, value)


def _uninstall_if_unused() -> None:
    if _all_processes == 0 and not any(p.alive for p in _programs):
        while _saved:
            obj, name, value = _saved.pop()
            setattr(obj, name, value)


@contextlib.contextmanager
def patch_stdlib() -> Iterator[None]:
    """While active, the standard ``socket``, ``select``, ``selectors`` and ``time`` modules and
    ``fcntl.ioctl`` serve every tuxnet process from its host (and everyone else as before).
    Nests."""
    global _all_processes
    _install()
    _all_processes += 1
    try:
        yield
    finally:
        _all_processes -= 1
        _uninstall_if_unused()


def stdlib(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a program written for the standard library so that the standard modules serve it from
    its host while it runs: ``host.spawn(stdlib(main), ...)``."""
    @functools.wraps(fn)
    def program(*args: Any, **kwargs: Any) -> Any:
        proc = current()
        _install()
        _programs.add(proc)
        try:
            return fn(*args, **kwargs)
        finally:
            _programs.discard(proc)
            _uninstall_if_unused()
    return program
