"""One program of ping socket (SOCK_DGRAM, IPPROTO_ICMP) calls, played by this machine's kernel
(run as a script in a network namespace whose ``ping_group_range`` lets root have them: ``python
pingplay.py``, printing its outcomes as JSON) and by tuxnet (imported, run with
``tuxnet.socket.stdlib``).  It sends echo requests over loopback, malformed ones too, binds and
connects, and reads the replies; the identifiers the kernel chooses are shown only as chosen or
not.  The module imports nothing of tuxnet's.
"""

from __future__ import annotations

import errno
import json
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from loplay import outcome


def echo(ident: int, seq: int, payload: bytes = b"abcdefgh", type: int = 8, code: int = 0) -> bytes:
    """An ICMP echo request as a program writes it (the kernel fills in identifier and checksum)."""
    return struct.pack("!BBHHH", type, code, 0, ident, seq) + payload


def play(sleep: Callable[[], None]) -> list[Any]:
    """The outcomes, in order; ``sleep`` lets a reply arrive."""
    out: list[Any] = []

    def t(f: Callable[..., Any], *a: Any) -> Any:
        try:
            return f(*a)
        except OSError as e:
            return errno.errorcode.get(e.errno, e.errno)
    def ping_socket() -> socket.socket:
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)

    def reply(r: Any, ident: int) -> Any:
        """A reply as (type and code, whether it carries ``ident``, the rest, its source), or the
        error."""
        if not isinstance(r, tuple):
            return r
        data, source = r
        return [data[:2].hex(), data[4:6] == struct.pack("!H", ident), data[6:].hex(), list(source)]

    lo = ("127.0.0.1", 0)
    s = ping_socket()
    out.append(["name before", s.getsockname()])
    out.append(["send", t(s.sendto, echo(0, 1), lo)])
    address, ident = s.getsockname()
    out.append(["name after", address, ident > 0])
    sleep()
    out.append(["reply", reply(t(s.recvfrom, 100), ident)])
    out.append(["short", t(s.sendto, b"\x08\0\0", lo)])
    out.append(["not an echo", t(s.sendto, echo(0, 1, type=0), lo)])
    out.append(["code 1", t(s.sendto, echo(0, 1, code=1), lo)])
    out.append(["no address", t(s.send, echo(0, 1))])
    out.append(["a port", t(s.sendto, echo(0, 2), ("127.0.0.1", 5))])
    sleep()
    out.append(["reply", reply(t(s.recvfrom, 100), ident)])
    out.append(["too long", t(s.sendto, echo(0, 3, b"x" * 70000), lo)])
    out.append(["100 bytes", t(s.sendto, echo(0, 4, b"y" * 100), lo)])
    sleep()
    r = t(s.recvfrom, 10)
    out.append(["read 10", len(r[0]) if isinstance(r, tuple) else r])

    s2 = ping_socket()
    out.append(["bind 1234", t(s2.bind, ("127.0.0.1", 1234)), s2.getsockname()])
    s3 = ping_socket()
    out.append(["bind 1234 again", t(s3.bind, ("127.0.0.1", 1234))])
    out.append(["bind twice", t(s3.bind, ("0.0.0.0", 1234))])
    s4 = ping_socket()
    out.append(["bind nobody's", t(s4.bind, ("192.0.2.1", 0))])
    out.append(["connect", t(s4.connect, lo), t(s4.getpeername)])
    out.append(["send connected", t(s4.send, echo(0, 9))])
    sleep()
    r = t(s4.recv, 100)
    out.append(["reply connected", r[6:8].hex() if isinstance(r, bytes) else r])
    out.append(["another identifier", t(s2.sendto, echo(7777, 5), lo)])
    sleep()
    r = t(s2.recvfrom, 100, socket.MSG_DONTWAIT)  # the last socket bound to 1234 has it
    out.append(["reply to the first bound", r[0][4:8].hex() if isinstance(r, tuple) else r])
    r = t(s3.recvfrom, 100, socket.MSG_DONTWAIT)
    out.append(["reply to the last bound", r[0][4:8].hex() if isinstance(r, tuple) else r])
    out.append(["no route", t(s2.sendto, echo(0, 6), ("192.0.2.1", 0))])
    out.append(["broadcast", t(s2.sendto, echo(0, 6), ("255.255.255.255", 0))])
    out.append(["options", s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE),
                s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL)])
    out.append(["listen", t(s.listen, 1)])
    out.append(["shutdown", t(s.shutdown, socket.SHUT_RD), t(s.recv, 10, socket.MSG_DONTWAIT)])
    poller = select.poll()
    poller.register(s2, select.POLLIN | select.POLLOUT)
    out.append(["poll", [revents for _, revents in poller.poll(0)]])
    return out


def play_errors(sleep: Callable[[], None]) -> list[Any]:
    """Echo requests to 10.0.9.9, which the router on the way has no route to: the "network
    unreachable" it answers is a soft error, which a socket with IP_RECVERR finds in its error
    queue and any other ignores (RFC 1122 4.1.3.3)."""
    out: list[Any] = []
    far = ("10.0.9.9", 0)
    told = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    told.setsockopt(socket.IPPROTO_IP, 11, 1)  # IP_RECVERR
    deaf = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    deaf.connect(far)
    out.append(told.sendto(echo(0, 1), far))
    out.append(deaf.send(echo(0, 2)))
    sleep()
    ident = told.getsockname()[1]
    poller = select.poll()
    poller.register(told, select.POLLIN)
    out.append([revents for _, revents in poller.poll(0)])
    data, ancdata, flags, address = told.recvmsg(100, 1024, socket.MSG_ERRQUEUE)
    level, kind, cmsg = ancdata[0]
    out.append([data[:2].hex(), data[4:6] == struct.pack("!H", ident), data[6:].hex(), level, kind,
                list(struct.unpack_from("=IBBBBII", cmsg)), socket.inet_ntoa(cmsg[20:24]),
                flags == socket.MSG_ERRQUEUE, list(address)])
    for s in (told, deaf):
        try:
            out.append(s.recv(100, socket.MSG_DONTWAIT))
        except OSError as e:
            out.append(errno.errorcode[e.errno])
    out.append(deaf.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
    out.append(told.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
    return out


def play_options() -> list[Any]:
    """Options and binds of raw sockets (ICMP, TCP, IPPROTO_RAW) and a ping socket: SOL_RAW's
    ICMP_FILTER on each (only a raw ICMP socket has it), unknown options, binds to a local
    address, to one that is nobody's, with a "port"."""
    out: list[Any] = []

    sol_raw, icmp_filter = 255, 1
    for proto in (socket.IPPROTO_ICMP, socket.IPPROTO_TCP, socket.IPPROTO_RAW):
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
        out.append([proto, outcome(s.getsockopt, sol_raw, icmp_filter, 4),
                    outcome(s.setsockopt, sol_raw, icmp_filter, b"\x01\0\0\0"),
                    outcome(s.getsockopt, sol_raw, icmp_filter, 4),
                    outcome(s.getsockopt, sol_raw, 2), outcome(s.setsockopt, sol_raw, 2, 0),
                    outcome(s.getsockopt, socket.IPPROTO_TCP, 1), outcome(s.setsockopt, socket.IPPROTO_TCP, 1, 1),
                    outcome(s.bind, ("192.0.2.1", 0)), outcome(s.bind, ("127.0.0.1", 5)), s.getsockname()])
    p = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    out.append(["ping", outcome(p.setsockopt, sol_raw, icmp_filter, b"\x01\0\0\0"),
                outcome(p.getsockopt, sol_raw, icmp_filter, 4),
                outcome(p.getsockopt, socket.IPPROTO_ICMP, 1), outcome(p.setsockopt, socket.IPPROTO_ICMP, 1, 1)])
    return out


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["options"]:
        print(json.dumps(play_options()))
    else:
        program = play_errors if sys.argv[1:] == ["errors"] else play
        print(json.dumps(program(lambda: time.sleep(0.2 if program is play_errors else 0.01))))
