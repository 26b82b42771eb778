"""Socket programs played the same way against two implementations of Python's socket module:
this machine's kernel (the standard ``socket``, in a network namespace) and tuxnet
(``tuxnet.socket``, in a tuxnet process).  A program is a list of operations on numbered sockets;
playing it gives one outcome per operation, ``["ok", value]`` or ``["err", "ERRNO"]``, with what
differs between two runs of the same kernel (ephemeral ports) replaced by a name.

The module imports nothing of tuxnet's: the kernel's side runs it as a script
(``python sockplay.py``), reading one program a line (JSON) and writing its outcomes a line.
"""

from __future__ import annotations

import errno
import fcntl
import json
import select
import sys
from typing import Any

ADDR = "127.0.0.1"
# The addresses a program binds and connects to: loopback's own, another of 127.0.0.0/8 (all of it
# is local), the wildcard, and one that is nobody's.
ADDRS = ["127.0.0.1", "127.0.0.2", "0.0.0.0", "192.0.2.1", "255.255.255.255", "224.0.0.1", "0.1.2.3"]
# A program's ports are BASE + 0..PORTS-1 (each program its own BASE, so that a kernel that ran
# earlier programs has nothing left on them, TIME_WAIT included).
PORTS = 3
# Socket options a program sets and reads: (level name, option name, values it sets).
OPTIONS: dict[str, tuple[str, list[int]]] = {
    "SO_REUSEADDR": ("SOL_SOCKET", [0, 1]),
    "SO_KEEPALIVE": ("SOL_SOCKET", [0, 1]),
    "SO_RCVBUF": ("SOL_SOCKET", [0, 1000, 65536, 1 << 20]),
    "SO_SNDBUF": ("SOL_SOCKET", [0, 3000, 65536, 1 << 20]),
    "SO_BROADCAST": ("SOL_SOCKET", [0, 1]),
    "TCP_NODELAY": ("IPPROTO_TCP", [0, 1]),
    "TCP_MAXSEG": ("IPPROTO_TCP", [0, 88, 536, 1400]),
    "SO_OOBINLINE": ("SOL_SOCKET", [0, 1]),
    "SO_PRIORITY": ("SOL_SOCKET", [0, 6, 7]),
    "SO_RCVLOWAT": ("SOL_SOCKET", [0, 1, 100]),
    "SO_SNDLOWAT": ("SOL_SOCKET", [1]),
    "SO_REUSEPORT": ("SOL_SOCKET", [0, 1]),
    "SO_DONTROUTE": ("SOL_SOCKET", [0, 1]),
    "SO_ERROR": ("SOL_SOCKET", []),
    "SO_TYPE": ("SOL_SOCKET", []),
    "SO_ACCEPTCONN": ("SOL_SOCKET", []),
    "SO_PROTOCOL": ("SOL_SOCKET", []),
    "SO_DOMAIN": ("SOL_SOCKET", []),
    "IP_TOS": ("IPPROTO_IP", [0, 0x10, 0x11, 0xFF]),
    "IP_TTL": ("IPPROTO_IP", [-1, 0, 1, 64, 255, 256]),
    "IP_RECVERR": ("IPPROTO_IP", [0, 1]),
    "TCP_KEEPIDLE": ("IPPROTO_TCP", [0, 1, 7200, 32768]),
    "TCP_KEEPINTVL": ("IPPROTO_TCP", [0, 1, 75, 32768]),
    "TCP_KEEPCNT": ("IPPROTO_TCP", [0, 1, 9, 128]),
    "TCP_CORK": ("IPPROTO_TCP", [0, 1]),
    "TCP_QUICKACK": ("IPPROTO_TCP", [0, 1]),
    "TCP_SYNCNT": ("IPPROTO_TCP", [0, 1, 6, 128]),
    "TCP_USER_TIMEOUT": ("IPPROTO_TCP", [-1, 0, 1000]),
    "TCP_WINDOW_CLAMP": ("IPPROTO_TCP", [0, 100, 65535]),
    "TCP_NOTSENT_LOWAT": ("IPPROTO_TCP", [0, 1, 16384]),
    "TCP_DEFER_ACCEPT": ("IPPROTO_TCP", [0, 1, 30]),
    "IP_PKTINFO": ("IPPROTO_IP", [0, 1]),
    "IP_RECVTTL": ("IPPROTO_IP", [0, 1]),
    "IP_RECVTOS": ("IPPROTO_IP", [0, 1]),
    "IP_RECVORIGDSTADDR": ("IPPROTO_IP", [0, 1]),
    "IP_RECVFRAGSIZE": ("IPPROTO_IP", [0, 1]),
    "SO_TIMESTAMP": ("SOL_SOCKET", [0, 1]),
    "SO_TIMESTAMPNS": ("SOL_SOCKET", [0, 1]),
    "SO_RXQ_OVFL": ("SOL_SOCKET", [0, 1]),
    "SO_RCVMARK": ("SOL_SOCKET", [0, 1]),
    # SO_TIMESTAMPING: off; OPT_ID (EINVAL on a closed or listening TCP socket); with OPT_ID_TCP;
    # send timestamps without their times (TX_SCHED, TX_SOFTWARE, OPT_TSONLY: POLLERR follows a
    # send); OPT_STATS without OPT_TSONLY and OPT_ID_TCP alone (EINVAL).  Not SOFTWARE: a
    # received packet's time depends on the kernel's deferred switch to stamping packets.
    "SO_TIMESTAMPING": ("SOL_SOCKET", [0, 0x80, 0x10080, 0x982, 0x1000, 0x10000]),
    "IP_MULTICAST_TTL": ("IPPROTO_IP", [-1, 0, 5, 255, 256]),
    "IP_MULTICAST_LOOP": ("IPPROTO_IP", [0, 1]),
    "IP_MULTICAST_ALL": ("IPPROTO_IP", [0, 1, 2]),
    # binding an address not this host's (192.0.2.1), and sending from it with IP_TRANSPARENT;
    # the port at connect(); a unicast datagram's device (loopback's index in network order, or
    # one that is not there)
    "IP_FREEBIND": ("IPPROTO_IP", [0, 1]),
    "IP_TRANSPARENT": ("IPPROTO_IP", [0, 1]),
    "IP_BIND_ADDRESS_NO_PORT": ("IPPROTO_IP", [0, 1]),
    "IP_UNICAST_IF": ("IPPROTO_IP", [0, 1 << 24, 1]),
    # TCP Fast Open: a listener's queue (EINVAL once connected, or negative), a client's deferred
    # connect (EINVAL unless closed), no cookie needed
    "TCP_FASTOPEN": ("IPPROTO_TCP", [0, 5, -1]),
    "TCP_FASTOPEN_CONNECT": ("IPPROTO_TCP", [0, 1, 2]),
    "TCP_FASTOPEN_NO_COOKIE": ("IPPROTO_TCP", [0, 1, 2]),
    # UDP segmentation offload: a send in segments of 100 or 1000 octets, read whole with UDP_GRO
    "UDP_SEGMENT": ("IPPROTO_UDP", [0, 100, 1000]),
    "UDP_GRO": ("IPPROTO_UDP", [0, 1]),
}


# Options read and written as C structures: (level name, length read back, values written).

_MREQ_SOURCE = bytes([239, 1, 1, 1, 127, 0, 0, 1])  # (the group, loopback's address)


def _storage(address: bytes, family: int = 2) -> bytes:
    """A struct sockaddr_storage holding a sockaddr_in (AF_INET, or ``family``)."""
    return (family.to_bytes(2, "little") + bytes(2) + address).ljust(128, b"\0")


_GROUP_REQ = (1).to_bytes(4, "little") + bytes(4) + _storage(bytes([239, 1, 1, 1]))  # (loopback's index)

STRUCT_OPTIONS: dict[str, tuple[str, int, list[bytes]]] = {
    "SO_LINGER": ("SOL_SOCKET", 8, [bytes(8), (1).to_bytes(4, "little") + (5).to_bytes(4, "little"), b"\x01"]),
    # (times in whole 4 ms: Linux keeps them in jiffies, and 250 and 1000 a second hold them exactly)
    "SO_RCVTIMEO": ("SOL_SOCKET", 16, [bytes(16), (1).to_bytes(8, "little") + (500_000).to_bytes(8, "little"),
                                       (0).to_bytes(8, "little") + (2_000_000).to_bytes(8, "little"),
                                       (-1).to_bytes(8, "little", signed=True) + bytes(8)]),
    "SO_SNDTIMEO": ("SOL_SOCKET", 16, [bytes(16), (3).to_bytes(8, "little") + bytes(8)]),
    "TCP_CONGESTION": ("IPPROTO_TCP", 16, [b"cubic", b"reno", b"nosuchcc", b""]),
    # struct ip_mreq / ip_mreqn: a group on loopback's address, by the route (none here), not a
    # group, too short, by loopback's index
    "IP_ADD_MEMBERSHIP": ("IPPROTO_IP", 4, [bytes([239, 1, 1, 1, 127, 0, 0, 1]), bytes([239, 1, 1, 1, 0, 0, 0, 0]),
                                            bytes([10, 1, 1, 1, 127, 0, 0, 1]), b"\xef\x01",
                                            bytes([239, 2, 2, 2, 0, 0, 0, 0]) + (1).to_bytes(4, "little")]),
    "IP_DROP_MEMBERSHIP": ("IPPROTO_IP", 4, [bytes([239, 1, 1, 1, 127, 0, 0, 1]),
                                             bytes([239, 2, 2, 2, 0, 0, 0, 0]) + (1).to_bytes(4, "little")]),
    "IP_MULTICAST_IF": ("IPPROTO_IP", 4, [bytes([127, 0, 0, 1]), bytes(4), bytes([192, 0, 2, 1]),
                                          bytes(8) + (1).to_bytes(4, "little")]),
    # source filters: struct ip_mreq_source (a group, loopback's address, a source), one too long
    **{name: ("IPPROTO_IP", 4, [_MREQ_SOURCE + bytes([127, 0, 0, 2]), _MREQ_SOURCE + bytes([127, 0, 0, 3]),
                                _MREQ_SOURCE + bytes([127, 0, 0, 2, 0])])
       for name in ("IP_ADD_SOURCE_MEMBERSHIP", "IP_DROP_SOURCE_MEMBERSHIP", "IP_BLOCK_SOURCE",
                    "IP_UNBLOCK_SOURCE")},
    # struct ip_msfilter: EXCLUDE {127.0.0.2}, INCLUDE {127.0.0.3}, INCLUDE {} (a leave)
    "IP_MSFILTER": ("IPPROTO_IP", 4, [_MREQ_SOURCE + bytes(4) + (1).to_bytes(4, "little") + bytes([127, 0, 0, 2]),
                                      _MREQ_SOURCE + (1).to_bytes(4, "little") * 2 + bytes([127, 0, 0, 3]),
                                      _MREQ_SOURCE + (1).to_bytes(4, "little") + bytes(4)]),
    # struct group_req and group_source_req, by loopback's index
    **{name: ("IPPROTO_IP", 4, [_GROUP_REQ, _GROUP_REQ[:100]]) for name in ("MCAST_JOIN_GROUP", "MCAST_LEAVE_GROUP")},
    **{name: ("IPPROTO_IP", 4, [_GROUP_REQ + _storage(bytes([127, 0, 0, 2])), _GROUP_REQ + _storage(bytes(4), 0)])
       for name in ("MCAST_JOIN_SOURCE_GROUP", "MCAST_LEAVE_SOURCE_GROUP", "MCAST_BLOCK_SOURCE",
                    "MCAST_UNBLOCK_SOURCE")},
}
# Control messages a send gives (level, type, data): a TTL, a TOS byte, another source address
# (IP_PKTINFO), a mark, a TTL out of range, one IP does not know, a UDP segment size.
CMSGS = [(0, 2, (7).to_bytes(4, "little")), (0, 1, b"\x20"),
         (0, 8, bytes(4) + bytes([127, 0, 0, 2]) + bytes(4)), (1, 36, (5).to_bytes(4, "little")),
         (0, 2, bytes(4)), (0, 99, bytes(4)), (17, 103, (100).to_bytes(2, "little"))]
# What a poll asks about, and the names of what it may answer.
POLL_EVENTS = {"IN": select.POLLIN, "PRI": select.POLLPRI, "OUT": select.POLLOUT, "RDHUP": 0x2000}
POLL_NAMES = {**POLL_EVENTS, "ERR": select.POLLERR, "HUP": select.POLLHUP, "NVAL": select.POLLNVAL}
# Flags a read may add to MSG_DONTWAIT.
RECV_FLAGS = {"": 0, "MSG_PEEK": 2, "MSG_OOB": 1, "MSG_TRUNC": 0x20}
# Options the socket module of this Python does not name (Linux's numbers).
LINUX_NUMBERS = {"IP_RECVERR": 11, "IP_MULTICAST_ALL": 49,
                 "IP_PKTINFO": 8, "IP_RECVTTL": 12, "IP_RECVORIGDSTADDR": 20, "IP_RECVFRAGSIZE": 25,
                 "SO_TIMESTAMP": 29, "SO_TIMESTAMPNS": 35, "SO_TIMESTAMPING": 37, "SO_RXQ_OVFL": 40,
                 "SO_RCVMARK": 75, "TCP_FASTOPEN": 23, "TCP_FASTOPEN_CONNECT": 30, "TCP_FASTOPEN_NO_COOKIE": 34,
                 "IP_FREEBIND": 15, "IP_TRANSPARENT": 19, "IP_BIND_ADDRESS_NO_PORT": 24, "IP_UNICAST_IF": 50,
                 "IP_UNBLOCK_SOURCE": 37, "IP_BLOCK_SOURCE": 38, "IP_ADD_SOURCE_MEMBERSHIP": 39,
                 "IP_DROP_SOURCE_MEMBERSHIP": 40, "IP_MSFILTER": 41, "MCAST_JOIN_GROUP": 42, "MCAST_BLOCK_SOURCE": 43,
                 "MCAST_UNBLOCK_SOURCE": 44, "MCAST_LEAVE_GROUP": 45, "MCAST_JOIN_SOURCE_GROUP": 46,
                 "MCAST_LEAVE_SOURCE_GROUP": 47, "UDP_SEGMENT": 103, "UDP_GRO": 104}
MSG_FASTOPEN = 0x20000000
# What a TCP connect fails with before it puts the socket in the established table: no route, an
# address it may not use, no port (EADDRNOTAVAIL), or no new connect at all (EISCONN, EALREADY).
UNHASHED_CONNECT_ERRORS = {"ENETUNREACH", "EHOSTUNREACH", "EACCES", "EINVAL", "EAFNOSUPPORT", "EADDRNOTAVAIL",
                           "EISCONN", "EALREADY"}
# ioctl requests that read a C int back (<linux/sockios.h>), one no socket knows, and SIOCGSTAMP.
IOCTLS = {"SIOCINQ": 0x541B, "SIOCOUTQ": 0x5411, "SIOCOUTQNSD": 0x894B, "SIOCATMARK": 0x8905, "none": 0x1234,
          "SIOCGSTAMP": 0x8906}


def _option(socket: Any, name: str) -> tuple[int, int]:
    level = getattr(socket, (OPTIONS.get(name) or STRUCT_OPTIONS[name])[0])
    return level, getattr(socket, name, None) or LINUX_NUMBERS[name]


def _port(port: int, base: int) -> Any:
    """A port as the outcome names it: a program's own by number, any other (ephemeral) as "eph"."""
    return port - base if base <= port < base + PORTS else "eph"


def _addr(addr: tuple[str, int], base: int) -> list[Any]:
    return [addr[0], _port(addr[1], base)]


def _payload(step: int, n: int) -> bytes:
    return bytes([65 + step % 26]) * n


def play(socket: Any, program: list[list[Any]], base: int) -> list[list[Any]]:
    """Run ``program`` with the socket module ``socket`` (and the standard ``select`` and
    ``fcntl.ioctl``, which tuxnet serves to a program it runs with ``tuxnet.socket.stdlib``); the
    outcome of each operation."""
    socks: list[Any] = []
    # UDP sockets whose connect failed: Linux's next sends on the route they cached take their
    # addresses from the flow the failed connect left in the socket (inet->cork.fl), so they go to
    # the address that could not be reached.  What the kernel does with them is left unplayed.
    unplayed: set[int] = set()
    # A listener that shutdown(SHUT_RD or SHUT_RDWR) closed: kernels disagree on its connect (6.18
    # fails it with EINVAL, as tuxnet does; an earlier kernel sends a SYN, and a refused one ends in
    # ECONNREFUSED), so what it does next is left unplayed too (test_errno pins tuxnet's side).
    listeners: set[int] = set()
    # TCP sockets a connect put in the established table (it got past its route and its port,
    # whether a SYN went out or not): on this machine's kernel (6.18) their listen() fails with
    # EINVAL even once closed again, after taking a port for it (inet_csk_get_port), so in the
    # listening table's insert, which in Linux's source fails only for SO_REUSEPORT; what makes
    # it fail is not identified, and tuxnet lets them listen.  A listen on them is left unplayed.
    hashed: set[int] = set()
    out: list[list[Any]] = []

    def sock(i: int) -> Any:
        return socks[i % len(socks)]

    for step, (op, *args) in enumerate(program):
        # (a tcp_pair before any socket is skipped, as it always was: connections made at once
        # meet timing the kernel, running in real time, decides by the jiffy; see the note)
        if op not in ("socket", "udp_pair") and (not socks or args[0] % len(socks) in unplayed):
            out.append(["skip"])
            continue
        if op == "listen" and args[0] % len(socks) in hashed:
            out.append(["skip"])
            continue
        try:
            if op == "socket":
                kind = socket.SOCK_STREAM if args[0] == "tcp" else socket.SOCK_DGRAM
                socks.append(socket.socket(socket.AF_INET, kind))
                value: Any = len(socks) - 1
            elif op == "tcp_pair":
                # a listener on the program's port args[0], a client connected to it, the accepted
                # socket: three new sockets, so that programs reach established connections often
                lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(lsock)
                lsock.bind((ADDR, base + args[0]))
                lsock.listen(16)
                listeners.add(len(socks) - 1)
                client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(client)
                client.connect((ADDR, base + args[0]))
                socks.append(lsock.accept()[0])
                value = len(socks) - 3
            elif op == "udp_pair":
                # a UDP socket bound to the program's port args[0] and one to send it datagrams:
                # two new sockets, so that programs reach datagrams read and written often
                receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(receiver)
                receiver.bind((ADDR, base + args[0]))
                socks.append(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                value = len(socks) - 2
            elif op == "bind":
                sock(args[0]).bind((ADDRS[args[2]], base + args[1] if args[1] >= 0 else 0))
                value = None
            elif op == "listen":
                sock(args[0]).listen(args[1])
                listeners.add(args[0] % len(socks))
                value = None
            elif op == "connect":
                s = sock(args[0])
                s.settimeout(2.0)
                try:
                    s.connect((ADDRS[args[2]], base + args[1]))
                except OSError:
                    if s.type == socket.SOCK_DGRAM:
                        unplayed.add(args[0] % len(socks))
                    raise
                finally:
                    s.settimeout(None)
                value = None
            elif op == "connect_nonblock":
                s = sock(args[0])
                s.setblocking(False)
                try:
                    value = s.connect_ex((ADDRS[args[2]], base + args[1]))
                    if value and s.type == socket.SOCK_DGRAM:
                        unplayed.add(args[0] % len(socks))
                    value = errno.errorcode.get(value, value)
                finally:
                    s.setblocking(True)
            elif op == "accept":
                s = sock(args[0])
                s.setblocking(False)
                try:
                    conn, peer = s.accept()
                finally:
                    s.setblocking(True)
                socks.append(conn)
                value = [len(socks) - 1, *_addr(peer, base)]
            elif op == "send":
                value = sock(args[0]).send(_payload(step, args[1]), socket.MSG_DONTWAIT)
            elif op == "sendto":
                value = sock(args[0]).sendto(_payload(step, args[1]), socket.MSG_DONTWAIT, (ADDR, base + args[2]))
            elif op == "sendto_fastopen":
                # connect with the data in the SYN, or with a cookie request when there is no cookie
                value = sock(args[0]).sendto(_payload(step, args[1]), socket.MSG_DONTWAIT | MSG_FASTOPEN,
                                             (ADDR, base + args[2]))
            elif op == "recv":
                value = sock(args[0]).recv(args[1], socket.MSG_DONTWAIT).decode("latin-1")
            elif op == "recvfrom":
                data, peer = sock(args[0]).recvfrom(args[1], socket.MSG_DONTWAIT)
                value = [data.decode("latin-1"), *(_addr(peer, base) if peer else [None])]
            elif op == "shutdown":
                sock(args[0]).shutdown(args[1])
                if args[0] % len(socks) in listeners and args[1] != socket.SHUT_WR:
                    unplayed.add(args[0] % len(socks))
                value = None
            elif op == "close":
                sock(args[0]).close()
                value = None
            elif op == "getsockname":
                value = _addr(sock(args[0]).getsockname(), base)
            elif op == "getpeername":
                value = _addr(sock(args[0]).getpeername(), base)
            elif op == "setsockopt":
                sock(args[0]).setsockopt(*_option(socket, args[1]), args[2])
                value = None
            elif op == "getsockopt":
                value = sock(args[0]).getsockopt(*_option(socket, args[1]))
            elif op == "recv_flags":
                s = sock(args[0])
                data = s.recv(args[1], socket.MSG_DONTWAIT | RECV_FLAGS[args[2]])
                value = data.decode("latin-1")
                if args[2] == "MSG_TRUNC":
                    # the real length; of the bytes, only those the kernel copied (none for TCP,
                    # which drops them): CPython's buffer holds whatever memory held past them
                    value = [len(data), "" if s.type == socket.SOCK_STREAM else value[:args[1]]]
            elif op == "sendto_more":
                # MSG_MORE: UDP holds the datagram back (corks) until a send without it.  A
                # connected socket's later sends then go where this one went: Linux keeps one flow
                # per socket (inet->cork.fl), and the connected sends reuse it; the quirk is not
                # copied, and such a socket is left unplayed from here.
                s = sock(args[0])
                try:
                    s.getpeername()
                    unplayed.add(args[0] % len(socks))
                except OSError:
                    pass
                value = s.sendto(_payload(step, args[1]), socket.MSG_DONTWAIT | socket.MSG_MORE, (ADDR, base + args[2]))
            elif op == "sendmsg_cmsg":
                value = sock(args[0]).sendmsg([_payload(step, args[1])], [CMSGS[args[3]]], socket.MSG_DONTWAIT,
                                              (ADDR, base + args[2]))
            elif op == "recvmsg":
                s = sock(args[0])
                data, ancdata, flags, peer = s.recvmsg(args[1], args[2], socket.MSG_DONTWAIT)
                # a timestamp's value is each machine's own clock; a TCP segment has one only if
                # the kernel's deferred switch to stamping packets (netstamp_needed_key) was done
                # by the time it arrived, so a stream's are left out
                stamps = (29, 35)
                value = [data.decode("latin-1"), flags, *(_addr(peer, base) if peer else [None]),
                         [[lvl, kind, len(cmsg) if (lvl, kind) in ((1, 29), (1, 35)) else cmsg.hex()]
                          for lvl, kind, cmsg in ancdata
                          if not (s.type == socket.SOCK_STREAM and lvl == 1 and kind in stamps)]]
            elif op == "send_oob":
                value = sock(args[0]).send(_payload(step, args[1]), socket.MSG_DONTWAIT | socket.MSG_OOB)
            elif op == "setsockopt_struct":
                sock(args[0]).setsockopt(*_option(socket, args[1]), STRUCT_OPTIONS[args[1]][2][args[2]])
                value = None
            elif op == "getsockopt_struct":
                raw = sock(args[0]).getsockopt(*_option(socket, args[1]), STRUCT_OPTIONS[args[1]][1])
                value = raw.rstrip(b"\0").decode("latin-1") if args[1] == "TCP_CONGESTION" else raw.hex()
            elif op == "poll":
                poller = select.poll()
                poller.register(sock(args[0]), sum(POLL_EVENTS.values()))
                value = [sorted(name for name, bit in POLL_NAMES.items() if revents & bit)
                         for _, revents in poller.poll(0)]
            elif op == "ioctl" and args[1] == "SIOCGSTAMP":
                # a struct timeval: shown as there, each machine's clock being its own
                value = "a time" if any(fcntl.ioctl(sock(args[0]), IOCTLS[args[1]], bytes(16))) else "zero"
            elif op == "ioctl":
                value = int.from_bytes(fcntl.ioctl(sock(args[0]), IOCTLS[args[1]], bytes(4)), "little", signed=True)
            elif op == "linger0":
                sock(args[0]).setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                value = None
            else:
                raise ValueError(f"no operation {op!r}")
            out.append(["ok", value])
        except TimeoutError:
            out.append(["timeout"])
        except OSError as e:
            out.append(["err", errno.errorcode.get(e.errno, str(e.errno)) if e.errno else str(e)])
        except (TypeError, ValueError, OverflowError) as e:  # the socket module's own checks
            out.append(["raise", type(e).__name__])
        if op in ("connect", "connect_nonblock", "sendto_fastopen") and sock(args[0]).type == socket.SOCK_STREAM \
                and out[-1][-1] not in UNHASHED_CONNECT_ERRORS:
            hashed.add(args[0] % len(socks))
    for s in socks:
        s.close()
    return out


def serve() -> None:
    """The kernel's side: a program (with its port base) a line in, its outcomes a line out."""
    import socket
    import subprocess

    print("ready", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        # each program starts without what earlier ones left in the TCP metrics (a Fast Open
        # cookie), as each of tuxnet's runs on a host of its own
        subprocess.run(["ip", "tcp_metrics", "flush", "all"], capture_output=True)
        print(json.dumps(play(socket, request["program"], request["base"])), flush=True)


if __name__ == "__main__":
    serve()
