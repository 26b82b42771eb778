"""The socket layer and its system calls (net/socket.c).

User programs reach this through the C library: ``send()`` is ``socketcall(SYS_SEND, args)``, as
on i386, and ``sys_socketcall`` dispatches on the call numbers of ``include/uapi/linux/net.h``.
Every call returns what the kernel returns: a result, or ``-errno``.

Addresses cross the boundary as Python's socket module writes them: ``(host, port)`` for
``AF_INET``, with the host a dotted quad.  Received data comes back as ``bytes``, or, given a
buffer (``recv_into``, ``recvmsg`` with iovecs), is copied into it and counted.
"""

from __future__ import annotations

import inspect
import struct
from collections.abc import Callable
from typing import Any

from tuxnet.kernel.compiler import notrace
from tuxnet.kernel.errno import (
    EAFNOSUPPORT,
    EBADF,
    EFAULT,
    EINVAL,
    ENOIOCTLCMD,
    ENOPROTOOPT,
    ENOTSOCK,
    ESOCKTNOSUPPORT,
)
from tuxnet.kernel.fs import O_ACCMODE, O_CLOEXEC, O_NONBLOCK, O_RDONLY, O_RDWR, File
from tuxnet.kernel.minmax import min
from tuxnet.kernel.sched import MAX_SCHEDULE_TIMEOUT, current
from tuxnet.kernel.signal import ERESTARTNOHAND, signal_pending
from tuxnet.kernel.timekeeping import ktime_get_real
from tuxnet.net.core.datagram import msg_iov_capacity
from tuxnet.net.core.net_tstamp import (
    SOF_TIMESTAMPING_OPT_RX_FILTER,
    SOF_TIMESTAMPING_RX_SOFTWARE,
    SOF_TIMESTAMPING_SOFTWARE,
    TSFLAGS_ANY,
)
from tuxnet.net.core.sock import (
    FLAGS_RECV_CMSGS,
    SCM_TIMESTAMPING_OPT_STATS,
    SK_DEFAULT_STAMP,
    SO_MARK,
    SO_PRIORITY,
    SO_RXQ_OVFL,
    SO_TIMESTAMP_NEW,
    SO_TIMESTAMP_OLD,
    SO_TIMESTAMPING_NEW,
    SO_TIMESTAMPING_OLD,
    SO_TIMESTAMPNS_NEW,
    SO_TIMESTAMPNS_OLD,
    SOCK_RCVMARK,
    SOCK_RCVPRIORITY,
    SOCK_RCVTSTAMP,
    SOCK_RCVTSTAMPNS,
    SOCK_RXQ_OVFL,
    SOCK_TIMESTAMP,
    SOCK_TSTAMP_NEW,
    SOL_SOCKET,
    Sock,
    skb_timestamp_struct,
    sock_getsockopt,
    sock_gettstamp,
    sock_setsockopt,
)
from tuxnet.net.core.utils import in_aton, in_ntoa
from tuxnet.world import NSEC_PER_SEC

AF_UNSPEC = 0
AF_UNIX = 1
AF_INET = 2
AF_INET6 = 10
AF_PACKET = 17

SOCK_STREAM = 1
SOCK_DGRAM = 2
SOCK_RAW = 3
SOCK_SEQPACKET = 5
SOCK_NONBLOCK = O_NONBLOCK
SOCK_CLOEXEC = 0o2000000
SOCK_TYPE_MASK = 0xF

# include/uapi/linux/net.h: socketcall numbers
SYS_SOCKET = 1
SYS_BIND = 2
SYS_CONNECT = 3
SYS_LISTEN = 4
SYS_ACCEPT = 5
SYS_GETSOCKNAME = 6
SYS_GETPEERNAME = 7
SYS_SOCKETPAIR = 8
SYS_SEND = 9
SYS_RECV = 10
SYS_SENDTO = 11
SYS_RECVFROM = 12
SYS_SHUTDOWN = 13
SYS_SETSOCKOPT = 14
SYS_GETSOCKOPT = 15
SYS_SENDMSG = 16
SYS_RECVMSG = 17
SYS_ACCEPT4 = 18

# socket states (struct socket.state)
SS_FREE = 0
SS_UNCONNECTED = 1
SS_CONNECTING = 2
SS_CONNECTED = 3
SS_DISCONNECTING = 4

MSG_OOB = 0x1
MSG_PEEK = 0x2
MSG_DONTROUTE = 0x4
MSG_CTRUNC = 0x8
MSG_TRUNC = 0x20
MSG_DONTWAIT = 0x40
MSG_EOR = 0x80
MSG_WAITALL = 0x100
MSG_NOSIGNAL = 0x4000
MSG_MORE = 0x8000
MSG_ERRQUEUE = 0x2000
MSG_ZEROCOPY = 0x4000000
MSG_FASTOPEN = 0x20000000

SHUT_RD = 0
SHUT_WR = 1
SHUT_RDWR = 2

F_DUPFD = 0
F_GETFD = 1
F_SETFD = 2
F_GETFL = 3
F_SETFL = 4
F_DUPFD_CLOEXEC = 1030
FD_CLOEXEC = 1

FIONREAD = SIOCINQ = 0x541B
SIOCOUTQ = 0x5411
SIOCOUTQNSD = 0x894B
SIOCATMARK = 0x8905
FIONBIO = 0x5421
# the time the last packet read arrived (include/uapi/linux/sockios.h): a timeval or a timespec,
# of longs (the _OLD ones, which a 64-bit time_t makes the plain ones) or of 64-bit integers
SIOCGSTAMP_OLD = SIOCGSTAMP = 0x8906
SIOCGSTAMPNS_OLD = SIOCGSTAMPNS = 0x8907
SIOCGSTAMP_NEW = 0x80108906
SIOCGSTAMPNS_NEW = 0x80108907

POLLIN = 0x001
POLLPRI = 0x002
POLLOUT = 0x004
POLLERR = 0x008
POLLHUP = 0x010
POLLNVAL = 0x020
POLLRDNORM = 0x040
POLLRDBAND = 0x080
POLLWRNORM = 0x100
POLLWRBAND = 0x200
POLLRDHUP = 0x2000


class Msghdr:
    """``struct msghdr``: the destination or source address, the data, control and flags; on a
    receive into the caller's buffers, ``msg_iter`` counts the bytes copied into ``msg_iov``
    (net/core/datagram.py)."""

    __slots__ = ("msg_name", "msg_iov", "msg_control", "msg_flags", "msg_iter")

    def __init__(self, msg_name: Any = None, msg_iov: list[bytes | bytearray | memoryview] | None = None,
                 msg_control: Any = None, msg_flags: int = 0) -> None:
        self.msg_name = msg_name
        self.msg_iov = msg_iov or []
        self.msg_control = msg_control
        self.msg_flags = msg_flags
        self.msg_iter = 0


class ProtoOps:
    """``struct proto_ops``: the family's socket calls (``inet_stream_ops``, ``inet_dgram_ops``)."""

    def __init__(self, name: str, **ops: Callable[..., Any]) -> None:
        self.name = name
        for key, fn in ops.items():
            setattr(self, key, fn)


# -- control messages of a read (net/core/scm.c, net/socket.c) ---------------------------------

# struct scm_timestamping(64): three struct timespecs of two 64-bit integers
_scm_timestamping = struct.Struct("qqqqqq")


def put_cmsg(msg: Msghdr, level: int, type: int, data: bytes | int) -> None:
    """``put_cmsg`` (net/core/scm.c): add a control message, data being bytes or a C int; a call
    without a control buffer (``recv``, ``recvfrom``) gets MSG_CTRUNC instead.  ``recvmsg``'s
    caller lays the messages out as ``cmsghdr``s (``tuxnet.socket``, as CPython's
    ``socket.recvmsg`` reads them), cutting what its buffer cannot hold."""
    if msg.msg_control is None:
        msg.msg_flags |= MSG_CTRUNC
        return
    msg.msg_control.append((level, type, data))


def __sock_recv_timestamp(msg: Msghdr, sk: Sock, skb: Any) -> None:
    """``__sock_recv_timestamp``: SO_TIMESTAMP(NS)'s control message, the packet's arrival time as
    a timeval or a timespec (a packet that came before the host stamped packets is given the
    present time now: "race occurred between timestamp enabling and packet receiving"); then
    SO_TIMESTAMPING's, if it reports software times and the packet has one: a received packet's
    unless OPT_RX_FILTER leaves those to RX_SOFTWARE, or a send timestamp of the error queue,
    followed by the TCP statistics it carries (SCM_TIMESTAMPING_OPT_STATS)."""
    if sk.sk_flags & SOCK_RCVTSTAMP:
        if not skb.tstamp:
            skb.tstamp = ktime_get_real(sk.host.world)
        put_cmsg_timestamp(msg, sk, skb.tstamp)
    tsflags = sk.sk_tsflags
    if (tsflags & SOF_TIMESTAMPING_SOFTWARE and skb.tstamp
            and (tsflags & SOF_TIMESTAMPING_RX_SOFTWARE or skb.err_queue
                 or not tsflags & SOF_TIMESTAMPING_OPT_RX_FILTER)):
        put_cmsg_scm_timestamping(msg, sk, skb.tstamp)
        if skb.err_queue and skb.opt_stats and skb.payload:
            put_cmsg(msg, SOL_SOCKET, SCM_TIMESTAMPING_OPT_STATS, skb.payload)


@notrace
def put_cmsg_timestamp(msg: Msghdr, sk: Sock, stamp: int) -> None:
    """The SO_TIMESTAMP(NS) control message of a packet that arrived at ``stamp``, in the form the
    socket asked for: old or new, a timeval or a timespec."""
    new = sk.sk_flags & SOCK_TSTAMP_NEW
    if sk.sk_flags & SOCK_RCVTSTAMPNS:
        put_cmsg(msg, SOL_SOCKET, SO_TIMESTAMPNS_NEW if new else SO_TIMESTAMPNS_OLD, skb_timestamp_struct(stamp, False))
    else:
        put_cmsg(msg, SOL_SOCKET, SO_TIMESTAMP_NEW if new else SO_TIMESTAMP_OLD, skb_timestamp_struct(stamp, True))


def put_cmsg_scm_timestamping(msg: Msghdr, sk: Sock, stamp: int) -> None:
    """``put_cmsg_scm_timestamping`` (or its 64-bit-time form, SO_TIMESTAMPING_NEW's): a struct
    scm_timestamping, three timespecs, the software time first; the other two, a legacy one and
    the hardware time, are zero (tuxnet's devices have no clock)."""
    sec, nsec = divmod(stamp, NSEC_PER_SEC)
    put_cmsg(msg, SOL_SOCKET, SO_TIMESTAMPING_NEW if sk.sk_flags & SOCK_TSTAMP_NEW else SO_TIMESTAMPING_OLD,
             _scm_timestamping.pack(sec, nsec, 0, 0, 0, 0))


@notrace
def sock_recv_timestamp(msg: Msghdr, sk: Sock, skb: Any) -> None:
    """``sock_recv_timestamp``: the time control messages to a socket with SO_TIMESTAMP(NS),
    with SO_TIMESTAMPING's RX_SOFTWARE, or reporting software times of a packet stamped; else the
    packet's time kept for SIOCGSTAMP (``sock_write_timestamp``)."""
    tsflags = sk.sk_tsflags
    if (sk.sk_flags & SOCK_RCVTSTAMP or tsflags & SOF_TIMESTAMPING_RX_SOFTWARE
            or skb.tstamp and tsflags & SOF_TIMESTAMPING_SOFTWARE):
        __sock_recv_timestamp(msg, sk, skb)
    else:
        sk.sk_stamp = skb.tstamp


@notrace
def sock_recv_cmsgs(msg: Msghdr, sk: Sock, skb: Any, dropcount: int) -> None:
    """``sock_recv_cmsgs``, what a datagram read gets at SOL_SOCKET: the arrival time
    (SO_TIMESTAMP, SO_TIMESTAMPING), the socket's drops when it was queued (SO_RXQ_OVFL,
    ``dropcount``, if any), its mark (SO_RCVMARK) and priority (SO_RCVPRIORITY).  Without those
    the packet's time is kept for SIOCGSTAMP, if asked once, or the socket at least learns that
    it read a packet."""
    flags = sk.sk_flags
    if flags & FLAGS_RECV_CMSGS or sk.sk_tsflags & TSFLAGS_ANY:
        sock_recv_timestamp(msg, sk, skb)
        if flags & SOCK_RXQ_OVFL and dropcount:
            put_cmsg(msg, SOL_SOCKET, SO_RXQ_OVFL, dropcount)
        if flags & SOCK_RCVMARK:
            put_cmsg(msg, SOL_SOCKET, SO_MARK, skb.mark)
        if flags & SOCK_RCVPRIORITY:
            put_cmsg(msg, SOL_SOCKET, SO_PRIORITY, skb.priority)
    elif flags & SOCK_TIMESTAMP:
        sk.sk_stamp = skb.tstamp
    elif sk.sk_stamp == SK_DEFAULT_STAMP:
        sk.sk_stamp = 0


class Socket:
    """``struct socket``: the VFS side of a socket."""

    __slots__ = ("state", "type", "ops", "sk", "file", "flags", "ino")

    def __init__(self, type: int) -> None:
        host = current().host
        host.last_ino += 1
        self.ino = host.last_ino  # sock_alloc → new_inode_pseudo: get_next_ino()
        self.state = SS_UNCONNECTED
        self.type = type
        self.ops: Any = None
        self.sk: Sock | None = None
        self.file: File | None = None
        self.flags = 0


class _SocketFileOps:
    """``socket_file_ops``: closing the last descriptor releases the socket."""

    @staticmethod
    def release(f: File, proc: Any) -> None:
        sock_close(f.private_data)


socket_file_ops = _SocketFileOps()


def sock_close(sock: Socket) -> None:
    """``sock_close`` → ``__sock_release``: the protocol's ``release`` (``inet_release``)."""
    if sock.ops is not None:
        sock.ops.release(sock)
        sock.ops = None
    sock.file = None


def sock_alloc_file(sock: Socket, flags: int) -> File:
    f = File(socket_file_ops, sock, O_RDWR | (flags & O_NONBLOCK))
    sock.file = f
    return f


def move_addr_to_kernel(addr: Any, family: int = AF_INET) -> Any:
    """Check a user address: ``(family, ip, port)`` for IPv4, the family's own form for another
    (``addr_families``), or ``-errno``."""
    if family != AF_INET:
        convert = addr_families.get(family)
        return convert(addr) if convert is not None else -EINVAL
    if not isinstance(addr, tuple) or len(addr) != 2:
        return -EINVAL
    host, port = addr
    if not isinstance(host, str) or not isinstance(port, int) or isinstance(port, bool):
        return -EINVAL
    if not 0 <= port <= 0xFFFF:
        return -EINVAL
    if host == "":
        return (AF_INET, 0, port)
    try:
        return (AF_INET, in_aton(host), port)
    except ValueError:
        return -EINVAL


def move_addr_to_user(ip: int, port: int) -> tuple[str, int]:
    return (in_ntoa(ip), port)


def sockfd_lookup_light(fd: int) -> tuple[Socket | None, int]:
    """``sockfd_lookup_light``: the socket behind ``fd``, or ``-EBADF``/``-ENOTSOCK``."""
    f = current().files.get(fd)
    if f is None:
        return None, -EBADF
    if f.f_op is not socket_file_ops:
        return None, -ENOTSOCK
    return f.private_data, 0


# -- the family table -------------------------------------------------------------------------

# ``net_families[]``: each address family's ``create``, as ``sock_register`` adds it (IPv4's is
# ``inet_create``, registered by af_inet when it is loaded); and how a family other than IPv4
# reads a user's address (its ``getsockaddrarg``).
net_families: dict[int, Callable[[Any, Socket, int], int]] = {}
addr_families: dict[int, Callable[[Any], Any]] = {}


class KernelSockaddr:
    """An address of a family other than IPv4 as the kernel holds it (``struct sockaddr_ll``)."""

    __slots__ = ()


def sock_register(family: int, create: Callable[[Any, Socket, int], int],
                  addr_to_kernel: Callable[[Any], Any] | None = None) -> None:
    """``sock_register``: make an address family's sockets (``struct net_proto_family``), their
    addresses read by ``addr_to_kernel`` (IPv4's by ``move_addr_to_kernel`` itself)."""
    net_families[family] = create
    if addr_to_kernel is not None:
        addr_families[family] = addr_to_kernel


def sock_create(family: int, type: int, protocol: int) -> Socket | int:
    """``__sock_create``: the family's ``create`` (``inet_create``) fills in ``ops`` and ``sk``."""
    create = net_families.get(family)
    if create is None:
        return -EAFNOSUPPORT
    if type not in (SOCK_STREAM, SOCK_DGRAM, SOCK_RAW):
        return -ESOCKTNOSUPPORT if type in (SOCK_SEQPACKET, 4, 6, 10) else -EINVAL
    sock = Socket(type)
    err = create(current().host, sock, protocol)
    if err < 0:
        return err
    return sock


# -- system calls ------------------------------------------------------------------------------

def sys_socket(family: int, type: int, protocol: int) -> int:
    """``socket(2)``."""
    flags = type & ~SOCK_TYPE_MASK
    if flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
        return -EINVAL
    sock = sock_create(family, type & SOCK_TYPE_MASK, protocol)
    if isinstance(sock, int):
        return sock
    fd = current().files.install(sock_alloc_file(sock, flags), flags)
    if fd < 0:
        sock_close(sock)
    return fd


def sys_bind(fd: int, addr: Any) -> int:
    """``bind(2)``."""
    sock, err = sockfd_lookup_light(fd)
    if sock is None:
        return err
    a = move_addr_to_kernel(addr, sock.ops.family)
    if isinstance(a, int):
        return a
    return sock.ops.bind(sock, a)


def sys_listen(fd: int, backlog: int) -> int:
    """``listen(2)``: the backlog is capped at ``net.core.somaxconn``."""
    sock, err = sockfd_lookup_light(fd)
    if sock is None:
        return err
    somaxconn = current().host.sysctl["net.core.somaxconn"]
    if not isinstance(backlog, int) or backlog > somaxconn:
        backlog = somaxconn
    return sock.ops.listen(sock, backlog)


def sys_connect(fd: int, addr: Any) -> int:
    """``connect(2)``."""
    sock, err = sockfd_lookup_light(fd)
    if sock is None:
        return err
    if addr is None:
        return sock.ops.connect(sock, (AF_UNSPEC, 0, 0), sock.file.f_flags)
    a = move_addr_to_kernel(addr, sock.ops.family)
    if isinstance(a, int):
        return a
    return sock.ops.connect(sock, a, sock.file.f_flags)


def sys_accept4(fd: int, flags: int = 0) -> tuple[int, tuple[str, int]] | int:
    """``accept4(2)``: a new descriptor and the peer's address."""
    sock, err = sockfd_lookup_light(fd)
    if sock is None:
        return err
    if flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
        return -EINVAL
    newsock = Socket(sock.type)
    newsock.ops = sock.ops
    err = sock.ops.accept(sock, newsock, sock.file.f_flags)
    if err < 0:
        return err
    peer = sock.ops.getname(newsock, 1)
    if isinstance(peer, int):
        sock_close(newsock)
        return peer
    newfd = current().files.install(sock_alloc_file(newsock, flags), flags)
    if newfd < 0:
        sock_close(newsock)
        return newfd
    return newfd, peer


def sys_accept(fd: int) -> tuple[int, tuple[str, int]] | int:
    """``accept(2)``."""
    return sys_accept4(fd, 0)


def sys_getsockname(fd: int) -> tuple[str, int] | int:
    """``getsockname(2)``."""
    sock, err = sockfd_lookup_light(fd)
    if sock is None:
        return err
    return sock.ops.getname(sock, 0)


def sys_getpeername(fd: int) -> tuple[str, int] | int:
    """``getpeername(2)``."""
    sock, err = sockfd_lookup_light(fd)
    if sock is None:
        return err
    return sock.ops.getname(sock, 1)


def __sock_sendmsg(sock: Socket, msg: Msghdr) -> int:
    err = security_socket_sendmsg(sock, msg)
    if err:
        return err
    return sock_sendmsg_nosec(sock, msg)


def security_socket_sendmsg(sock: Socket, msg: Msghdr) -> int:
    """The LSM hook point (``security_socket_sendmsg``): no security module, so allow."""
    return 0


def security_socket_recvmsg(sock: Socket, msg: Msghdr, size: int, flags: int) -> int:
    """The LSM hook point (``security_socket_recvmsg``): no security module, so allow."""
    return 0


def sock_sendmsg_nosec(sock: Socket, msg: Msghdr) -> int:
    size = sum(len(b) for b in msg.msg_iov)
    return sock.ops.sendmsg(sock, msg, size)


def sock_sendmsg(sock: Socket, msg: Msghdr) -> int:
    """``sock_sendmsg``: the security hook, then the family's ``sendmsg`` (``inet_sendmsg``)."""
    return __sock_sendmsg(sock, msg)


def sock_recvmsg_nosec(sock: Socket, msg: Msghdr, size: int, flags: int) -> bytes | int:
    return sock.ops.recvmsg(sock, msg, size, flags)


def sock_recvmsg(sock: Socket, msg: Msghdr, size: int, flags: int) -> bytes | int:
    """``sock_recvmsg``: the security hook, then the family's ``recvmsg`` (``inet_recvmsg``)."""
    err = security_socket_recvmsg(sock, msg, size, flags)
    if err:
        return err
    return sock_recvmsg_nosec(sock, msg, size, flags)


# A tuple, built once: ``bytes | bytearray | memoryview`` would build a union on every system call
# (and under PyPy check it through typing's slow path).
_BUFFER_TYPES = (bytes, bytearray, memoryview)


def _as_buffer(buf: Any) -> bytes | bytearray | memoryview | None:
    if isinstance(buf, _BUFFER_TYPES):
        return buf
    return None


def sys_sendto(fd: int, buff: Any, flags: int = 0, addr: Any = None) -> int:
    """``sendto(2)``: build a ``msghdr`` and ``sock_sendmsg`` it."""
    sock, err = sockfd_lookup_light(fd)
    if sock is None:
        return err
    data = _as_buffer(buff)
    if data is None:
        return -EFAULT
    msg = Msghdr(msg_iov=[data], msg_flags=flags)
    if addr is not None:
        a = move_addr_to_kernel(addr, sock.ops.family)
        if isinstance(a, int):
            return a
        msg.msg_name = a
    if sock.file.f_flags & O_NONBLOCK:
        msg.msg_flags |= MSG_DONTWAIT
    return sock_sendmsg(sock, msg)


def sys_send(fd: int, buff: Any, flags: int = 0) -> int:
    """``send(2)`` is ``sendto`` without an address."""
    return sys_sendto(fd, buff, flags, None)


# The ``ubuf`` of a receive that returns its data as bytes, as Python's ``recv`` does (None is a
# NULL buffer).
AS_BYTES: Any = object()


def sys_recvfrom(fd: int, size: int, flags: int = 0, ubuf: Any = AS_BYTES) -> tuple[bytes | int, Any] | int:
    """``recvfrom(2)``: the data and the sender's address.  Given ``ubuf``, the caller's buffer
    (C's ``recvfrom``, Python's ``recvfrom_into``), the data is copied into it and its length
    comes back in place of the data (``import_ubuf`` makes it the message's one iovec)."""
    sock, err = sockfd_lookup_light(fd)
    if sock is None:
        return err
    if not isinstance(size, int) or size < 0:
        return -EINVAL
    if sock.file.f_flags & O_NONBLOCK:
        flags |= MSG_DONTWAIT
    msg = Msghdr()
    if ubuf is not AS_BYTES:
        msg.msg_iov = [ubuf]
        capacity = msg_iov_capacity(msg)
        if capacity is not None:
            size = min(size, capacity)
    data = sock_recvmsg(sock, msg, size, flags)
    if isinstance(data, int) and data < 0:
        return data
    return data, msg.msg_name


def sys_recv(fd: int, size: int, flags: int = 0, ubuf: Any = AS_BYTES) -> bytes | int:
    """``recv(2)`` is ``recvfrom`` without an address."""
    r = sys_recvfrom(fd, size, flags, ubuf)
    return r if isinstance(r, int) else r[0]


def sys_sendmsg(fd: int, msg: Msghdr, flags: int = 0) -> int:
    """``sendmsg(2)``."""
    sock, err = sockfd_lookup_light(fd)
    if sock is None:
        return err
    name = msg.msg_name
    if name is not None and not (isinstance(name, tuple) and len(name) == 3 and sock.ops.family == AF_INET
                                 or isinstance(name, KernelSockaddr)):
        a = move_addr_to_kernel(name, sock.ops.family)
        if isinstance(a, int):
            return a
        msg = Msghdr(a, msg.msg_iov, msg.msg_control, msg.msg_flags)
    msg.msg_flags = flags | (MSG_DONTWAIT if sock.file.f_flags & O_NONBLOCK else 0)
    return sock_sendmsg(sock, msg)


def sys_recvmsg(fd: int, msg: Msghdr, size: int, flags: int = 0) -> bytes | int:
    """``recvmsg(2)``: returns the data, or, when ``msg_iov`` holds buffers, copies it into them
    (no more than they hold) and returns its length; ``msg`` gets the address and flags."""
    sock, err = sockfd_lookup_light(fd)
    if sock is None:
        return err
    if not isinstance(size, int) or size < 0:
        return -EINVAL
    if sock.file.f_flags & O_NONBLOCK:
        flags |= MSG_DONTWAIT
    msg.msg_flags = 0
    msg.msg_iter = 0
    if msg.msg_iov:
        capacity = msg_iov_capacity(msg)
        if capacity is not None:
            size = min(size, capacity)
    return sock_recvmsg(sock, msg, size, flags)


def sys_shutdown(fd: int, how: int) -> int:
    """``shutdown(2)``."""
    sock, err = sockfd_lookup_light(fd)
    if sock is None:
        return err
    return sock.ops.shutdown(sock, how)


def sys_setsockopt(fd: int, level: int, optname: int, optval: Any) -> int:
    """``setsockopt(2)``: SOL_SOCKET here, the rest by the protocol."""
    sock, err = sockfd_lookup_light(fd)
    if sock is None:
        return err
    if optval is None:
        return -EFAULT
    if level == SOL_SOCKET:
        return sock_setsockopt(sock.sk, optname, optval)
    return sock.ops.setsockopt(sock, level, optname, optval)


def sys_getsockopt(fd: int, level: int, optname: int, optlen: int | None = None) -> int | bytes:
    """``getsockopt(2)``: an int, or the option's C structure as bytes.  ``optlen`` is the
    caller's buffer (a C program's ``*optlen``), which some options check (an 8-byte cookie in
    4 octets is EINVAL); None asks for the whole value, whatever its length."""
    sock, err = sockfd_lookup_light(fd)
    if sock is None:
        return err
    if level == SOL_SOCKET:
        return sock_getsockopt(sock.sk, optname, optlen)
    if sock.ops.getsockopt is None:
        return -ENOPROTOOPT
    return sock.ops.getsockopt(sock, level, optname, optlen)


def sys_socketcall(call: int, args: tuple[Any, ...]) -> Any:
    """``sys_socketcall`` (i386 system call 102): one entry for every socket call."""
    fn = _SOCKETCALLS.get(call)
    if fn is None or not isinstance(args, tuple):
        return -EINVAL
    low, high = _ARITY[call]
    if not low <= len(args) <= high:
        return -EINVAL
    return fn(*args)


_SOCKETCALLS: dict[int, Callable[..., Any]] = {
    SYS_SOCKET: sys_socket, SYS_BIND: sys_bind, SYS_CONNECT: sys_connect, SYS_LISTEN: sys_listen,
    SYS_ACCEPT: sys_accept, SYS_GETSOCKNAME: sys_getsockname, SYS_GETPEERNAME: sys_getpeername,
    SYS_SEND: sys_send, SYS_RECV: sys_recv, SYS_SENDTO: sys_sendto, SYS_RECVFROM: sys_recvfrom,
    SYS_SHUTDOWN: sys_shutdown, SYS_SETSOCKOPT: sys_setsockopt, SYS_GETSOCKOPT: sys_getsockopt,
    SYS_SENDMSG: sys_sendmsg, SYS_RECVMSG: sys_recvmsg, SYS_ACCEPT4: sys_accept4,
}

_ARITY = {
    call: (sum(1 for p in inspect.signature(fn).parameters.values() if p.default is inspect.Parameter.empty),
           len(inspect.signature(fn).parameters))
    for call, fn in _SOCKETCALLS.items()
}


# -- calls on any descriptor -------------------------------------------------------------------

def sys_close(fd: int) -> int:
    """``close(2)``."""
    proc = current()
    return proc.files.close(fd, proc)


def sys_dup(fd: int) -> int:
    """``dup(2)``: the lowest free descriptor for the same open file, not close-on-exec."""
    return current().files.dup(fd)


def sys_fcntl(fd: int, cmd: int, arg: int = 0) -> int:
    """``fcntl(2)`` (``do_fcntl``): F_GETFL/F_SETFL (O_NONBLOCK), F_GETFD/F_SETFD (FD_CLOEXEC),
    F_DUPFD and F_DUPFD_CLOEXEC."""
    files = current().files
    f = files.get(fd)
    if f is None:
        return -EBADF
    if cmd == F_GETFL:
        return f.f_flags
    if cmd == F_SETFL:
        f.f_flags = (f.f_flags & ~O_NONBLOCK) | (arg & O_NONBLOCK)
        return 0
    if cmd == F_GETFD:
        return FD_CLOEXEC if fd in files.close_on_exec else 0
    if cmd == F_SETFD:
        if arg & FD_CLOEXEC:
            files.close_on_exec.add(fd)
        else:
            files.close_on_exec.discard(fd)
        return 0
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        return files.dup(fd, O_CLOEXEC if cmd == F_DUPFD_CLOEXEC else 0, arg)
    return -EINVAL


def sys_write(fd: int, buff: Any) -> int:
    """``write(2)`` on a socket is ``sock_write_iter`` → ``sock_sendmsg``."""
    f = current().files.get(fd)
    if f is None:
        return -EBADF
    data = _as_buffer(buff)
    if data is None:
        return -EFAULT
    if f.f_flags & O_ACCMODE == O_RDONLY:  # (a pipe's read end)
        return -EBADF
    if f.f_op is not socket_file_ops:
        current().host.console_write(current(), bytes(data).decode(errors="replace"))
        return len(data)
    return sys_sendto(fd, data, 0, None)


def sys_read(fd: int, size: int) -> bytes | int:
    """``read(2)`` on a socket is ``sock_read_iter`` → ``sock_recvmsg``; on a pipe, its bytes;
    on the console, end of file (no one types at a tuxnet program)."""
    f = current().files.get(fd)
    if f is None:
        return -EBADF
    if f.f_op is socket_file_ops:
        return sys_recv(fd, size, 0)
    if not isinstance(size, int) or size < 0:
        return -EINVAL
    if f.f_op is None:
        return b""
    read = getattr(f.f_op, "read", None)  # (an epoll descriptor has none: EINVAL, as Linux)
    return -EINVAL if read is None else read(f, size)


def sys_ioctl(fd: int, cmd: int, arg: Any = None) -> int | bytes:
    """``ioctl(2)``: FIONBIO, SIOCGSTAMP and SIOCGSTAMPNS (the struct, as bytes), the
    protocol's (SIOCINQ, SIOCOUTQ, SIOCOUTQNSD, SIOCATMARK), and the device requests of a
    ``struct ifreq`` (SIOCGIFFLAGS, SIOCSIFMTU ...: ``dev_ioctl``)."""
    sock, err = sockfd_lookup_light(fd)
    if sock is None:
        return err
    if cmd == FIONBIO:
        f = sock.file
        f.f_flags = (f.f_flags | O_NONBLOCK) if arg else (f.f_flags & ~O_NONBLOCK)
        return 0
    if cmd in (SIOCGSTAMP_OLD, SIOCGSTAMPNS_OLD, SIOCGSTAMP_NEW, SIOCGSTAMPNS_NEW):
        # sock_ioctl: every inet socket's proto_ops has sock_gettstamp
        return sock_gettstamp(sock.sk, cmd in (SIOCGSTAMP_OLD, SIOCGSTAMP_NEW))
    ioctl = getattr(sock.ops, "ioctl", None)
    err = -ENOIOCTLCMD if ioctl is None else ioctl(sock, cmd, arg)
    if err != -ENOIOCTLCMD:
        return err
    # sock_do_ioctl: what the protocol does not know is a device's request (dev_ioctl, which
    # this module cannot import first: the device layer imports it)
    from tuxnet.net.core.dev_ioctl import dev_ioctl

    return dev_ioctl(sock.sk.host, cmd, arg)


def sys_poll(fds: list[tuple[int, int]], timeout_ms: int) -> list[int] | int:
    """``poll(2)``: the ``revents`` of each (fd, events), waiting up to ``timeout_ms`` (-1: ever)."""
    proc = current()
    timeout = MAX_SCHEDULE_TIMEOUT if timeout_ms < 0 else timeout_ms * 1_000_000
    while True:
        revents = []
        ready = 0
        queues = []
        for fd, events in fds:
            f = proc.files.get(fd)
            if f is None:
                revents.append(POLLNVAL)
                ready += 1
                continue
            if f.f_op is not socket_file_ops:
                mask = POLLOUT | POLLWRNORM
            else:
                sock = f.private_data
                mask = sock.ops.poll(sock)
                queues.append(sock.sk.sk_wq)
            r = mask & (events | POLLERR | POLLHUP | POLLNVAL)
            revents.append(r)
            if r:
                ready += 1
        if ready or timeout == 0:
            return revents
        if signal_pending(proc):  # do_poll
            return -ERESTARTNOHAND
        left = proc.sleep_on(queues, timeout)
        if timeout != MAX_SCHEDULE_TIMEOUT:
            timeout = left
