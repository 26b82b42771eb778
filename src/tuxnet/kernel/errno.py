"""Linux errno values (include/uapi/asm-generic/errno-base.h, errno.h).

Kernel functions return ``-Exxx`` as the kernel does; the C library turns that into ``OSError``.
"""

import errno as _errno
import os

EPERM = 1
ENOENT = 2
ESRCH = 3
EINTR = 4
EIO = 5
ENXIO = 6
EBADF = 9
EAGAIN = 11
ENOMEM = 12
EACCES = 13
EFAULT = 14
EBUSY = 16
EEXIST = 17
EXDEV = 18
ENODEV = 19
ENOTDIR = 20
EISDIR = 21
EINVAL = 22
ENFILE = 23
EMFILE = 24
EFBIG = 27
ENOSPC = 28
EPIPE = 32
EDOM = 33
ERANGE = 34
ENOSYS = 38
ENOMSG = 42
ENODATA = 61
ENOTSOCK = 88
EDESTADDRREQ = 89
EMSGSIZE = 90
EPROTOTYPE = 91
ENOPROTOOPT = 92
EPROTONOSUPPORT = 93
ESOCKTNOSUPPORT = 94
EOPNOTSUPP = 95
EPFNOSUPPORT = 96
EAFNOSUPPORT = 97
EADDRINUSE = 98
EADDRNOTAVAIL = 99
ENETDOWN = 100
ENETUNREACH = 101
ENETRESET = 102
ECONNABORTED = 103
ECONNRESET = 104
ENOBUFS = 105
EISCONN = 106
ENOTCONN = 107
ESHUTDOWN = 108
ETIMEDOUT = 110
ECONNREFUSED = 111
EHOSTDOWN = 112
EHOSTUNREACH = 113
EALREADY = 114
EINPROGRESS = 115
ENOTTY = 25
ENONET = 64
EPROTO = 71
EREMOTEIO = 121
EWOULDBLOCK = EAGAIN
# kernel-internal (include/linux/errno.h): never seen by a program
ENOIOCTLCMD = 515  # no such ioctl for this protocol; the socket layer answers ENOTTY


def strerror(err: int) -> str:
    """The C library's message for ``err``."""
    return os.strerror(err)


def errorcode(err: int) -> str:
    """The symbolic name of ``err`` (``EAGAIN``)."""
    return _errno.errorcode.get(err, f"E{err}")
