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

import array
import contextlib
import fcntl as _stdfcntl
import functools
import io
import math
import operator
import os
import select as _stdselect
import selectors as _stdselectors
import socket as _std
import time as _stdtime
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from tuxnet.kernel.errno import EAFNOSUPPORT, EFAULT, EINPROGRESS, ENXIO, EOPNOTSUPP
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
AI_PASSIVE: int = _std.AI_PASSIVE
AI_NUMERICHOST: int = _std.AI_NUMERICHOST
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


def _c_string(data: bytes) -> str:
    """Octets as the resolver takes a C string: up to the first NUL, as text (UTF-8 with
    undecodable octets escaped, as they go on the wire)."""
    return data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _c_hostname(host: Any) -> str:
    """The host of a socket address as CPython's ``idna_converter`` hands it to the C library:
    bytes as they are, text in ASCII as it is, other text encoded by the ``idna`` codec; no NUL."""
    if isinstance(host, bytes | bytearray):
        data = bytes(host)
    elif not isinstance(host, str):
        raise TypeError(f"str, bytes or bytearray expected, not {type(host).__name__}")
    elif host.isascii():
        data = host.encode("ascii")
    else:
        try:
            data = host.encode("idna")
        except UnicodeError:
            raise TypeError("encoding of hostname failed") from None
    if b"\0" in data:
        raise TypeError("host name must not contain null character")
    return _c_string(data)


def _et_hostname(host: Any, fn: str) -> str:
    """A host name argument as CPython's ``"et"`` format with the ``idna`` codec converts it
    (``gethostbyname``, ``gethostbyname_ex``, ``gethostbyaddr``): text encoded by the codec
    (its UnicodeError as it is), bytes and bytearray as they are; no NUL."""
    if isinstance(host, str):
        data = host.encode("idna")
    elif isinstance(host, bytes | bytearray):
        data = bytes(host)
    else:
        raise TypeError(f"{fn}() argument 1 must be str, bytes or bytearray, not {type(host).__name__}")
    if b"\0" in data:
        raise TypeError(f"{fn}() argument 1 must be encoded string without null bytes, not {type(host).__name__}")
    return _c_string(data)


def _setipaddr(name: str, af: int) -> tuple[int, str]:
    """CPython's ``setipaddr``: (family, address) of a host name already in C form: '' is the
    wildcard ``getaddrinfo`` gives (with AI_PASSIVE; OSError when that is more than one
    address), '<broadcast>' INADDR_BROADCAST, an address in text itself (``inet_pton``),
    anything else the first address ``getaddrinfo`` gives for ``af``."""
    if name == "":
        found = libc.getaddrinfo(None, "0", af, SOCK_DGRAM, 0, AI_PASSIVE)
        if len(found) > 1:
            raise OSError("wildcard resolved to multiple address")
        return found[0][0], found[0][4][0]
    if name == "<broadcast>":
        if af not in (AF_INET, AF_UNSPEC):
            raise OSError("address family mismatched")
        return AF_INET, "255.255.255.255"
    for family in (AF_INET, AF_INET6):
        if af in (family, AF_UNSPEC):
            try:
                _std.inet_pton(family, name)
                return family, name
            except OSError:
                pass
    found = libc.getaddrinfo(name, None, af)
    return found[0][0], found[0][4][0]


def _inet_host(host: Any) -> str:
    """The IPv4 address of a socket address's host (``getsockaddrarg``: ``idna_converter``, then
    ``setipaddr`` for AF_INET)."""
    return _setipaddr(_c_hostname(host), AF_INET)[1]


def _c_int(value: Any) -> int:
    """A C ``int`` argument as CPython's ``"i"`` format converts it (``PyLong_AsLong`` through
    ``__index__``, then the range check)."""
    value = operator.index(value)
    if value > 0x7FFFFFFF:
        raise OverflowError("signed integer is greater than maximum")
    if value < -0x80000000:
        raise OverflowError("signed integer is less than minimum")
    return value


def _c_ssize(value: Any) -> int:
    """A ``Py_ssize_t`` argument as CPython's ``"n"`` format converts it."""
    value = operator.index(value)
    if not -(1 << 63) <= value < 1 << 63:
        raise OverflowError("Python int too large to convert to C ssize_t")
    return value


def _buffer(data: Any) -> memoryview:
    """The bytes of ``data`` as CPython's ``"y*"`` format takes them (``PyObject_GetBuffer`` with
    PyBUF_SIMPLE): any C-contiguous bytes-like object, BufferError for a strided one, TypeError
    for what is not bytes-like at all."""
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not '{type(data).__name__}'") from None
    if not view.c_contiguous:
        raise BufferError("memoryview: underlying buffer is not C-contiguous")
    return byte_view(view)


def _rw_buffer(buffer: Any) -> memoryview | None:
    """The bytes of a buffer as CPython's ``"w*"`` format takes them (PyBUF_WRITABLE: writable and
    C-contiguous), or None when it does not qualify (CPython then says which argument)."""
    try:
        view = memoryview(buffer)
    except (TypeError, ValueError):  # (not bytes-like, or a released view)
        return None
    if view.readonly or not view.c_contiguous:
        return None
    return byte_view(view)


def _writable_view(buffer: Any, fn: str) -> memoryview:
    """The bytes of a read-write buffer, or CPython's TypeError for anything else."""
    view = _rw_buffer(buffer)
    if view is None:
        got = "None" if buffer is None else type(buffer).__name__
        raise TypeError(f"{fn}() argument 1 must be read-write bytes-like object, not {got}")
    return view


def _into_view(buffer: Any, nbytes: Any, fn: str, too_small: str) -> tuple[memoryview, int]:
    """CPython's checks of ``recv_into``'s and ``recvfrom_into``'s buffer and size, in its order:
    the buffer's bytes and how many to read (0: the whole buffer)."""
    view = _writable_view(buffer, fn)
    nbytes = _c_ssize(nbytes)
    if nbytes < 0:
        raise ValueError(f"negative buffersize in {fn}")
    if nbytes > len(view):
        raise ValueError(too_small)
    return view, nbytes or len(view)


def _parse_timeout(value: Any) -> float | None:
    """CPython's ``socket_parse_timeout``: None, or the seconds in whole nanoseconds
    (``_PyTime_FromSecondsObject``), read back as ``_PyTime_AsSecondsDouble`` does."""
    if value is None:
        return None
    ns = pyselect.pytime_from_object(value, 1_000_000_000)
    if ns < 0:
        raise ValueError("Timeout value out of range")
    return float(ns // 1_000_000_000) if ns % 1_000_000_000 == 0 else ns / 1e9


def _cmsg_space(length: int) -> int:
    """``CMSG_SPACE``: a control message's header (16 bytes) and data, aligned to 8."""
    return 16 + ((length + 7) & ~7)


def CMSG_LEN(length: int) -> int:  # noqa: N802 - the standard library's name
    """``socket.CMSG_LEN``: a control message's length with ``length`` bytes of data; as CPython's
    ``get_CMSG_LEN``, the result must fit a socklen_t that is also a C int."""
    length = _c_ssize(length)
    if not 0 <= length <= 0x7FFFFFFF - 16:
        raise OverflowError("CMSG_LEN() argument out of range")
    return 16 + length


def CMSG_SPACE(length: int) -> int:  # noqa: N802 - the standard library's name
    """``socket.CMSG_SPACE``: the buffer room one control message with ``length`` bytes takes."""
    length = _c_ssize(length)
    if not 0 <= length or _cmsg_space(length) > 0x7FFFFFFF:
        raise OverflowError("CMSG_SPACE() argument out of range")
    return _cmsg_space(length)


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


def _sockaddr(family: int, address: Any, fn: str) -> tuple[Any, ...]:
    """CPython's ``getsockaddrarg`` for AF_INET and AF_PACKET; ``fn`` names the method in its
    messages."""
    if family == AF_PACKET:
        return _packet_sockaddr(address)
    if family != AF_INET:
        raise OSError(EAFNOSUPPORT, os.strerror(EAFNOSUPPORT))
    if not isinstance(address, tuple):
        raise TypeError(f"{fn}(): AF_INET address must be tuple, not {type(address).__name__}")
    if len(address) != 2:
        raise TypeError("AF_INET address must be a pair (host, port)")
    host, port = address
    _c_hostname(host)  # ("O&i": the host's type first, then the port's)
    try:
        port = _c_int(port)
    except OverflowError:
        port = -1
    if not 0 <= port <= 0xFFFF:
        raise OverflowError(f"{fn}(): port must be 0-65535.")
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


def _int_option(fd: int, optname: int) -> int:
    """A SOL_SOCKET option's C int, as CPython reads one (``getsockopt`` into an ``int``)."""
    return int(libc.getsockopt(fd, SOL_SOCKET, optname))


class socket:  # noqa: N801 - the name of socket.socket
    """``socket.socket`` on a tuxnet host: a descriptor of the calling process."""

    def __init__(self, family: int = -1, type: int = -1, proto: int = -1, fileno: Any = None) -> None:
        family, type, proto = _c_int(family), _c_int(type), _c_int(proto)
        if fileno is not None:
            # sock_initobj: PyLong_AsLong on the descriptor
            fileno = operator.index(fileno)
            if fileno < 0:
                raise ValueError("negative file descriptor")
        if fileno is None:
            family = AF_INET if family == -1 else family
            type = SOCK_STREAM if type == -1 else type
            proto = 0 if proto == -1 else proto
            # Not inherited (PEP 446): CPython asks for SOCK_CLOEXEC too.
            fileno = libc.socket(family, type | SOCK_CLOEXEC, proto)
        else:
            family = _int_option(fileno, SO_DOMAIN) if family == -1 else family
            type = _int_option(fileno, SO_TYPE) if type == -1 else type
            proto = _int_option(fileno, SO_PROTOCOL) if proto == -1 else proto
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
        value = _parse_timeout(value)
        self._timeout = value
        libc.ioctl(self._fd, FIONBIO, value is not None)

    def gettimeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        """``sock_setblocking``: the flag is read as a C int (``_PyLong_AsInt``)."""
        self.settimeout(None if _c_int(flag) else 0.0)

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
        """CPython's ``sock_call``: with a timeout, wait in ``poll`` for the socket to be ready
        first, then make the call, and wait again if it would still block (``sock_call_ex``)."""
        fd = self._check()
        if not self._timeout:
            return fn(fd, *args)
        return self._call_until(libc.clock_monotonic() + self._timeout, events, fn, fd, *args)

    def _call_until(self, deadline: float, events: int, fn: Callable[..., Any], fd: int, *args: Any) -> Any:
        """``sock_call_ex`` with a timeout: ``poll`` until ``deadline``, then the call."""
        while True:
            self._wait(events, deadline)
            try:
                return fn(fd, *args)
            except BlockingIOError:
                pass

    # -- the calls ---------------------------------------------------------------------------------
    def bind(self, address: Any, /) -> None:
        addr = _sockaddr(self._family, address, "bind")
        libc.bind(self._check(), addr)

    def listen(self, backlog: int = min(SOMAXCONN, 128), /) -> None:
        libc.listen(self._check(), max(_c_int(backlog), 0))

    def _accept(self) -> tuple[int, tuple[str, int]]:
        return self._call(POLLIN, libc.accept4, SOCK_CLOEXEC)

    def accept(self) -> tuple[socket, tuple[str, int]]:
        """A new socket for the next connection, and the peer's address."""
        fd, addr = self._accept()
        sock = socket(self._family, self._type, self._proto, fileno=fd)
        if getdefaulttimeout() is None and self.gettimeout():
            sock.setblocking(True)
        return sock, addr

    def connect(self, address: Any, /) -> None:
        """``connect``; with a timeout, wait for the handshake in ``poll`` (then SO_ERROR)."""
        self._connect(_sockaddr(self._family, address, "connect"))

    def _connect(self, addr: tuple[Any, ...]) -> None:
        """``internal_connect``."""
        fd = self._check()
        try:
            libc.connect(fd, addr)
            return
        except BlockingIOError as e:
            if e.errno != EINPROGRESS or self._timeout == 0.0:
                raise
        self._wait(POLLOUT, libc.clock_monotonic() + (self._timeout or 0.0))
        err = _int_option(fd, SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err))

    def connect_ex(self, address: Any, /) -> int:
        """``connect`` returning the errno (0 on success) instead of raising it.  As CPython's,
        only the system call's error is returned: a bad address or a name that does not resolve
        (``gaierror``) raises."""
        addr = _sockaddr(self._family, address, "connect_ex")
        try:
            self._connect(addr)
        except TimeoutError:
            return 11  # EAGAIN, as CPython reports a timed-out connect_ex
        except OSError as e:
            if e.errno is None:
                raise
            return e.errno
        return 0

    def send(self, data: Any, flags: int = 0, /) -> int:
        return self._call(POLLOUT, libc.send, _buffer(data), _c_int(flags))

    def sendall(self, data: Any, flags: int = 0, /) -> None:
        """Send everything; with a timeout, the whole call shares it (CPython 3.5+), each send
        waiting in ``poll`` first (``sock_sendall``)."""
        view = _buffer(data)
        flags = _c_int(flags)
        fd = self._check()
        deadline = None if not self._timeout else libc.clock_monotonic() + self._timeout
        while len(view):
            if deadline is None:
                n = libc.send(fd, view, flags)
            else:
                n = self._call_until(deadline, POLLOUT, libc.send, fd, view, flags)
            view = view[n:]

    def sendto(self, data: Any, *args: Any) -> int:
        """``sendto(data[, flags], address)`` (``sock_sendto``'s "y*O" or "y*iO")."""
        if len(args) not in (1, 2):
            raise TypeError(f"sendto() takes 2 or 3 arguments ({len(args) + 1} given)")
        view = _buffer(data)
        flags = _c_int(args[0]) if len(args) == 2 else 0
        addr = _sockaddr(self._family, args[-1], "sendto")
        return self._call(POLLOUT, libc.sendto, view, flags, addr)

    def sendmsg(self, buffers: Any, ancdata: Any = (), flags: int = 0, address: Any = None, /) -> int:
        """``sock_sendmsg``: the buffers (any iterable of bytes-like objects), the control messages
        ("iiy*" each), the flags, and the address, converted in CPython's order."""
        addr = None if address is None else _sockaddr(self._family, address, "sendmsg")
        try:
            items = list(buffers)
        except TypeError:
            raise TypeError("sendmsg() argument 1 must be an iterable") from None
        views = [_buffer(b) for b in items]
        try:
            anc = list(ancdata)
        except TypeError:
            raise TypeError("sendmsg() argument 2 must be an iterable") from None
        control = []
        for item in anc:
            if not isinstance(item, tuple | list) or len(item) != 3:
                got = f", not {len(item)}" if isinstance(item, tuple | list) else ""
                raise TypeError(f"[sendmsg() ancillary data items]() argument must be sequence of length 3{got}")
            level, kind, data = item
            control.append((_c_int(level), _c_int(kind), bytes(_buffer(data))))
        msg = Msghdr(addr, views, control)
        return self._call(POLLOUT, libc.sendmsg, msg, _c_int(flags))

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        """Send a file's contents with ``send`` (the standard library's fallback)."""
        if offset:
            file.seek(offset)
        total = 0
        while count is None or total < count:
            block = memoryview(file.read(min(8192, count - total) if count is not None else 8192))
            if not block:
                break
            self.sendall(block)
            total += len(block)
        return total

    def recv(self, bufsize: int, flags: int = 0, /) -> bytes:
        bufsize, flags = _c_ssize(bufsize), _c_int(flags)
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        if bufsize == 0:
            return b""  # (sock_recv_guts asks the kernel for nothing)
        return self._call(POLLIN, libc.recv, bufsize, flags)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0, /) -> int:
        view, nbytes = _into_view(buffer, nbytes, "recv_into", "buffer too small for requested bytes")
        flags = _c_int(flags)
        if nbytes == 0:
            return 0  # (as recv)
        return self._call(POLLIN, libc.recv_into, view, nbytes, flags)

    def recvfrom(self, bufsize: int, flags: int = 0, /) -> tuple[bytes, Any]:
        bufsize, flags = _c_ssize(bufsize), _c_int(flags)
        if bufsize < 0:
            raise ValueError("negative buffersize in recvfrom")
        return self._call(POLLIN, libc.recvfrom, bufsize, flags)

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0, /) -> tuple[int, Any]:
        view, nbytes = _into_view(buffer, nbytes, "recvfrom_into", "nbytes is greater than the length of the buffer")
        return self._call(POLLIN, libc.recvfrom_into, view, nbytes, _c_int(flags))

    def recvmsg(self, bufsize: int, ancbufsize: int = 0, flags: int = 0, /) -> tuple[bytes, list[Any], int, Any]:
        bufsize, ancbufsize, flags = _c_ssize(bufsize), _c_ssize(ancbufsize), _c_int(flags)
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
            view = _rw_buffer(item)
            if view is None:
                raise TypeError("recvmsg_into() argument 1 must be an iterable of single-segment read-write buffers")
            views.append(view)
        ancbufsize, flags = _c_ssize(ancbufsize), _c_int(flags)
        if ancbufsize < 0:
            raise ValueError("invalid ancillary data buffer length")
        # No buffers at all still asks for a copy into them (of nothing), not for bytes.
        msg = Msghdr(msg_iov=views or [bytearray()], msg_control=[])
        n = self._call(POLLIN, libc.recvmsg, msg, sum(v.nbytes for v in views), flags)
        ancdata, ctrunc = _ancdata(msg.msg_control, ancbufsize)
        return n, ancdata, msg.msg_flags | ctrunc, msg.msg_name

    def shutdown(self, how: int, /) -> None:
        """``sock_shutdown``: ``how`` as a C int (``_PyLong_AsInt``)."""
        try:
            how = _c_int(how)
        except OverflowError:
            raise OverflowError("Python int too large to convert to C int") from None
        libc.shutdown(self._check(), how)

    def getsockname(self) -> Any:
        return libc.getsockname(self._check())

    def getpeername(self) -> Any:
        return libc.getpeername(self._check())

    def setsockopt(self, level: int, optname: int, value: Any, optlen: Any = None, /) -> None:
        """``sock_setsockopt``'s three forms, tried in its order: ``(level, optname, int)`` with a
        C int, ``(level, optname, None, optlen)``, and ``(level, optname, buffer)`` with any
        C-contiguous bytes-like object, whose bytes the kernel copies."""
        level, optname = _c_int(level), _c_int(optname)
        if optlen is not None:
            if value is not None:
                raise TypeError("setsockopt() takes exactly 3 arguments (4 given)")
            value = bytes(optlen)
        elif isinstance(value, int):
            try:  # (the kernel gets the C int's four bytes, as from any C program)
                value = _c_int(value).to_bytes(4, "little", signed=True)
            except OverflowError:  # (not a C int: the buffer form is tried, and fails)
                raise TypeError(f"a bytes-like object is required, not '{type(value).__name__}'") from None
        else:
            value = bytes(_buffer(value))
        libc.setsockopt(self._check(), level, optname, value)

    def getsockopt(self, level: int, optname: int, buflen: int = 0, /) -> Any:
        """An int, or with ``buflen`` (1 to 1024) the option's bytes (an int option as a C ``int``)."""
        level, optname, buflen = _c_int(level), _c_int(optname), _c_int(buflen)
        if buflen and not 0 < buflen <= 1024:
            raise OSError("getsockopt buflen out of range")
        value = libc.getsockopt(self._check(), level, optname, buflen or 4)  # (a C int's room without buflen)
        if isinstance(value, int):
            value = (value & 0xFFFFFFFF).to_bytes(4, "little")
        if not buflen:
            return int.from_bytes(bytes(value[:4]).ljust(4, b"\0"), "little", signed=True)
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


# -- descriptors ---------------------------------------------------------------------------------
#
# The module's own functions on descriptors act on the calling process's descriptor table on its
# host, never on the Python process's.

def close(fd: int) -> None:
    """``socket.close``: close a descriptor of the calling process (``close(2)``)."""
    libc.close(_c_int(fd))


def dup(fd: int) -> int:
    """``socket.dup``: a new, non-inheritable descriptor for the same open file (CPython's
    ``_Py_dup``: ``fcntl(F_DUPFD_CLOEXEC)``)."""
    return libc.fcntl(_c_int(fd), F_DUPFD_CLOEXEC, 0)


def fromfd(fd: int, family: int, type: int, proto: int = 0) -> socket:
    """``socket.fromfd``: a socket object on a duplicate of ``fd``."""
    return socket(family, type, proto, fileno=dup(fd))


def socketpair(family: int | None = None, type: int = SOCK_STREAM, proto: int = 0) -> tuple[socket, socket]:
    """``socket.socketpair``.  Linux's ``__sys_socketpair`` creates the family's socket and asks its
    ``socketpair`` operation for the connected pair.  The default family, AF_UNIX, does not exist
    on a tuxnet host (EAFNOSUPPORT, from ``socket(2)``); the families that do are AF_INET and
    AF_PACKET, whose operation is ``sock_no_socketpair`` (EOPNOTSUPP)."""
    family = _std.AF_UNIX if family is None else family
    libc.close(libc.socket(_c_int(family), _c_int(type) | SOCK_CLOEXEC, _c_int(proto)))
    raise OSError(EOPNOTSUPP, os.strerror(EOPNOTSUPP))


def send_fds(sock: socket, buffers: Any, fds: Any, flags: int = 0, address: Any = None) -> int:
    """``socket.send_fds``: the descriptors go as an SCM_RIGHTS control message, which only
    AF_UNIX carries; an AF_INET socket's ``ip_cmsg_send`` (``__sock_cmsg_send``) passes it over
    and sends the data alone."""
    return sock.sendmsg(buffers, [(SOL_SOCKET, _std.SCM_RIGHTS, array.array("i", fds))], flags, address)


def recv_fds(sock: socket, bufsize: int, maxfds: int, flags: int = 0) -> tuple[bytes, list[int], int, Any]:
    """``socket.recv_fds``: the data, the descriptors of the SCM_RIGHTS messages that came with
    it (none, on the sockets a tuxnet host has), the message flags and the sender's address."""
    fds = array.array("i")
    msg, ancdata, msg_flags, addr = sock.recvmsg(bufsize, CMSG_LEN(maxfds * fds.itemsize))
    for level, kind, data in ancdata:
        if level == SOL_SOCKET and kind == _std.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
    return msg, list(fds), msg_flags, addr


# -- network interfaces --------------------------------------------------------------------------
#
# glibc reads the device list from the kernel (an RTM_GETLINK dump); a tuxnet process reads its
# host's.

def if_nameindex() -> list[tuple[int, str]]:
    """``socket.if_nameindex``: (index, name) of every device of the host, by index."""
    devs = current().host.dev_by_index
    return [(index, devs[index].name) for index in sorted(devs)]


def if_nametoindex(if_name: Any) -> int:
    """``socket.if_nametoindex``: the index of the device named ``if_name`` (text or bytes, as
    CPython's ``PyUnicode_FSConverter`` takes it)."""
    name = os.fsdecode(if_name)
    dev = current().host.devices.get(name)
    if dev is None:
        raise OSError("no interface with this name")
    return dev.ifindex


def if_indextoname(if_index: Any) -> str:
    """``socket.if_indextoname``: the name of the device with index ``if_index`` (ENXIO if none)."""
    if not isinstance(if_index, int):
        raise TypeError("an integer is required")
    if if_index < 0:
        raise OverflowError("can't convert negative value to unsigned int")
    dev = current().host.dev_by_index.get(if_index & 0xFFFFFFFF)
    if dev is None:
        raise OSError(ENXIO, os.strerror(ENXIO))
    return dev.name


# -- name service -------------------------------------------------------------------------------

def getaddrinfo(host: Any, port: Any, family: Any = 0, type: Any = 0, proto: Any = 0,
                flags: Any = 0) -> list[tuple[Any, Any, int, str, tuple[Any, ...]]]:
    """``socket.getaddrinfo`` through the host's resolver (/etc/hosts, DNS), its arguments as
    CPython's ``socket_getaddrinfo`` converts them: the C ints first; the host text through the
    ``idna`` codec or bytes (nothing else); the port an int printed with ``%ld``, text in UTF-8
    or bytes (nothing else: not a bool, not a bytearray); each a C string, up to a NUL."""
    family, type, proto, flags = (_c_int(v) for v in (family, type, proto, flags))
    if host is None:
        hptr = None
    elif isinstance(host, str):
        hptr = _c_string(host.encode("idna"))
    elif isinstance(host, bytes):
        hptr = _c_string(host)
    else:
        raise TypeError("getaddrinfo() argument 1 must be string or None")
    if port.__class__ is int:
        if not -(1 << 63) <= port < 1 << 63:
            raise OverflowError("Python int too large to convert to C long")
        pptr = str(port)
    elif isinstance(port, str):
        pptr = _c_string(port.encode("utf-8"))
    elif isinstance(port, bytes):
        pptr = _c_string(port)
    elif port is None:
        pptr = None
    else:
        raise OSError("Int or String expected")
    return [(_intenum(af, AddressFamily), _intenum(st, SocketKind), pr, canon, sa)
            for af, st, pr, canon, sa in libc.getaddrinfo(hptr, pptr, family, type, proto, flags)]


def gethostbyname(hostname: Any) -> str:
    """The first IPv4 address of ``hostname`` (``setipaddr`` with AF_INET, as CPython does)."""
    return _setipaddr(_et_hostname(hostname, "gethostbyname"), AF_INET)[1]


def _hostent(h: Any) -> tuple[str, list[str], list[str]]:
    return h.h_name, h.h_aliases, h.h_addr_list


def gethostbyname_ex(hostname: Any) -> tuple[str, list[str], list[str]]:
    """(canonical name, aliases, IPv4 addresses): ``setipaddr`` (its ``gaierror``), then
    ``gethostbyname_r`` (its ``herror``), as CPython does."""
    name = _et_hostname(hostname, "gethostbyname_ex")
    _setipaddr(name, AF_INET)
    return _hostent(libc.gethostbyname(name))


def gethostbyaddr(ip_address: Any) -> tuple[str, list[str], list[str]]:
    """(name, aliases, addresses) of an IPv4 or IPv6 address, or of the address of a name
    (``setipaddr`` with AF_UNSPEC, then ``gethostbyaddr_r``)."""
    _, addr = _setipaddr(_et_hostname(ip_address, "gethostbyaddr"), AF_UNSPEC)
    return _hostent(libc.gethostbyaddr(addr))


def getnameinfo(sockaddr: Any, flags: Any, /) -> tuple[str, str]:
    """``socket.getnameinfo`` as CPython's ``socket_getnameinfo``: the tuple read as
    ``"si|II"``, its host and port made a socket address by ``getaddrinfo`` (AF_UNSPEC,
    SOCK_DGRAM, AI_NUMERICHOST; exactly one), then ``getnameinfo``."""
    flags = _c_int(flags)
    if not isinstance(sockaddr, tuple):
        raise TypeError("getnameinfo() argument 1 must be a tuple")
    if not 2 <= len(sockaddr) <= 4 or not isinstance(sockaddr[0], str):
        raise TypeError("getnameinfo(): illegal sockaddr argument")
    if "\0" in sockaddr[0]:
        raise ValueError("embedded null character")
    port = _c_int(sockaddr[1])
    flowinfo, scope_id = ((operator.index(v) & 0xFFFFFFFF for v in sockaddr[2:]) if len(sockaddr) == 4
                          else (operator.index(sockaddr[2]) & 0xFFFFFFFF if len(sockaddr) == 3 else 0, 0))
    if flowinfo > 0xFFFFF:
        raise OverflowError("getnameinfo(): flowinfo must be 0-1048575.")
    found = libc.getaddrinfo(_c_string(sockaddr[0].encode("utf-8")), str(port), AF_UNSPEC, SOCK_DGRAM, 0,
                             AI_NUMERICHOST)
    if len(found) > 1:
        raise OSError("sockaddr resolved to multiple addresses")
    family, _, _, _, sa = found[0]
    if family == AF_INET and len(sockaddr) != 2:
        raise OSError("IPv4 sockaddr must be 2 tuple")
    return libc.getnameinfo(sa if family == AF_INET else (sa[0], sa[1], flowinfo, scope_id), flags)


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


def _str_arg(value: Any, fn: str, n: int) -> str:
    """A ``"s"`` argument: text only, and no NUL in it."""
    if not isinstance(value, str):
        got = "None" if value is None else type(value).__name__
        raise TypeError(f"{fn}() argument {n} must be str, not {got}")
    if "\0" in value:
        raise ValueError("embedded null character")
    return value


def getservbyname(servicename: Any, *protocolname: Any) -> int:
    """The port of a service in the host's /etc/services (``"s|s"``: text only, and no None)."""
    name = _str_arg(servicename, "getservbyname", 1)
    proto = _str_arg(protocolname[0], "getservbyname", 2) if protocolname else None
    return libc.getservbyname(name, proto)


def getservbyport(port: Any, *protocolname: Any) -> str:
    """The name of the service on a port in the host's /etc/services (``"i|s"``)."""
    port = _c_int(port)
    proto = _str_arg(protocolname[0], "getservbyport", 2) if protocolname else None
    if not 0 <= port <= 0xFFFF:
        raise OverflowError("getservbyport: port must be 0-65535.")
    return libc.getservbyport(port, proto)


def getprotobyname(protocolname: Any, /) -> int:
    """The number of an IP protocol named in the host's /etc/protocols (``"s"``)."""
    return libc.getprotobyname(_str_arg(protocolname, "getprotobyname", 1))


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
    # the name service, the host's devices, and the functions on descriptors (which must never
    # reach the Python process's own)
    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo",
                 "gethostname", "getservbyname", "getservbyport", "getprotobyname", "if_nameindex", "if_nametoindex",
                 "if_indextoname", "close", "dup", "fromfd", "socketpair", "send_fds", "recv_fds"):
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
