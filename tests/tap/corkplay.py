"""UDP corking, played by this machine's kernel (run as a script in a network namespace of its
own: ``python corkplay.py [lo|lo1500]``, printing the outcomes as JSON) and by tuxnet (imported,
run with ``tuxnet.socket.stdlib``): sends with MSG_MORE and under UDP_CORK build one datagram
until a send without them; what each append charges the socket (SIOCOUTQ), what arrives, a
pending datagram's fixed destination, one that grows too long (EMSGSIZE, and IP_RECVERR's report),
a full send buffer, a shutdown, a close.  ``lo1500`` plays on a loopback of MTU 1500, where the
datagram is built of fragment-sized buffers.  The sizes keep the first buffer out of the kernel's
small-head cache, whose size depends on the build (MAX_TCP_HEADER).
"""

from __future__ import annotations

import fcntl
import json
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from cmsgplay import t

IPPROTO_UDP, UDP_CORK = 17, 1
IP_RECVERR, IP_MTU_DISCOVER, IP_PMTUDISC_DO = 11, 10, 2


def outq(s: socket.socket) -> int:
    return struct.unpack("i", fcntl.ioctl(s, 0x5411, bytes(4)))[0]  # SIOCOUTQ


def received(r: socket.socket) -> list[Any]:
    """The datagrams waiting, as (length, first and last octet)."""
    got = []
    while True:
        try:
            data = r.recv(70000, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return got
        got.append([len(data), data[:1].hex(), data[-1:].hex()])


def errqueue(s: socket.socket) -> Any:
    try:
        data, ancdata, flags, address = s.recvmsg(100, 1024, socket.MSG_ERRQUEUE)
    except OSError as e:
        return e.errno
    return [data.hex(), [[lvl, kind, list(struct.unpack_from("=IBBBBII", cmsg))] for lvl, kind, cmsg in ancdata],
            flags, list(address) if address else None]


def play(sleep: Callable[[], None]) -> list[Any]:
    out: list[Any] = []
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.bind(("127.0.0.1", 6000))
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("127.0.0.1", 6001))
    dst = ("127.0.0.1", 6000)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 6002))
    out.append(["UDP_CORK", s.getsockopt(IPPROTO_UDP, UDP_CORK), t(s.getsockopt, IPPROTO_UDP, 2)])
    for i, n in enumerate((400, 100, 1300, 3000, 20000, 1)):
        out.append(["more", n, t(s.sendto, bytes([65 + i]) * n, socket.MSG_MORE, dst), outq(s)])
    out.append(["push", t(s.sendto, b"z" * 5, 0, dst), outq(s)])
    sleep()
    out.append(["arrived", received(r)])
    # a pending datagram keeps the destination it began with
    s.sendto(b"c" * 400, socket.MSG_MORE, dst)
    out.append(["elsewhere", t(s.sendto, b"d" * 10, 0, ("127.0.0.1", 6001)), t(s.sendto, b"e", 0, ("127.0.0.1", 0))])
    sleep()
    out.append(["arrived", received(r), received(other)])
    # and its control messages: later ones are not even read
    s.sendmsg([b"f" * 400], [(0, 2, struct.pack("i", 9))], socket.MSG_MORE, dst)
    out.append(["bad control message", t(s.sendmsg, [b"g"], [(0, 99, b"")], 0, dst)])
    sleep()
    out.append(["arrived", received(r)])
    # too long: EMSGSIZE, and the whole datagram is dropped
    s.setsockopt(0, IP_RECVERR, 1)
    s.sendto(b"h" * 60000, socket.MSG_MORE, dst)
    out.append(["too long", t(s.sendto, b"i" * 6000, socket.MSG_MORE, dst), outq(s), errqueue(s), errqueue(s)])
    out.append(["then", t(s.sendto, b"j" * 7, 0, dst)])
    out.append(["one too long", t(s.sendto, b"k" * 65508, 0, dst), errqueue(s)])
    out.append(["a port 0 while corked", t(s.sendto, b"l", socket.MSG_MORE, ("127.0.0.1", 0))])
    sleep()
    out.append(["arrived", received(r)])
    # UDP_CORK: every send adds until it is taken off
    s.setsockopt(IPPROTO_UDP, UDP_CORK, 1)
    out.append(["corked", s.getsockopt(IPPROTO_UDP, UDP_CORK), t(s.sendto, b"m" * 300, dst),
                t(s.sendto, b"n" * 300, dst), t(s.sendto, b"o" * 300, 0, dst), outq(s)])
    sleep()
    out.append(["held", received(r)])
    s.setsockopt(IPPROTO_UDP, UDP_CORK, 0)
    out.append(["uncorked", outq(s)])
    sleep()
    out.append(["arrived", received(r)])
    # a connected socket, corked with MSG_MORE, then closed with the datagram pending
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.connect(dst)
    out.append(["connected", t(c.send, b"p" * 500, socket.MSG_MORE), t(c.send, b"q" * 500, socket.MSG_MORE), outq(c)])
    c.close()
    sleep()
    out.append(["closed", received(r)])
    # a shutdown for writing: the first send of a datagram is refused, an append is not
    w = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    w.sendto(b"r" * 400, socket.MSG_MORE, dst)
    out.append(["after shutdown", t(w.shutdown, socket.SHUT_WR), t(w.sendto, b"s" * 4, 0, dst),
                t(w.sendto, b"t" * 4, 0, dst)])
    sleep()
    out.append(["arrived", received(r)])
    # a small send buffer: the first buffer waits for room (EAGAIN here), the next are refused
    # past twice the buffer (ENOBUFS), which drops the datagram
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 2048)
    results = []
    for _ in range(12):
        results.append([t(b.sendto, b"u" * 1400, socket.MSG_MORE | socket.MSG_DONTWAIT, dst), outq(b)])
    out.append(["small buffer", results])
    return out


def play_df(sleep: Callable[[], None]) -> list[Any]:
    """With IP_PMTUDISC_DO a pending datagram may not pass the MTU."""
    out: list[Any] = []
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.bind(("127.0.0.1", 6000))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(0, IP_RECVERR, 1)
    s.setsockopt(0, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
    out.append(["more", t(s.sendto, b"a" * 1000, socket.MSG_MORE, ("127.0.0.1", 6000)), outq(s)])
    out.append(["past the MTU", t(s.sendto, b"b" * 1000, socket.MSG_MORE, ("127.0.0.1", 6000)), outq(s), errqueue(s)])
    out.append(["alone", t(s.sendto, b"c" * 2000, 0, ("127.0.0.1", 6000)), errqueue(s)])
    s.setsockopt(0, IP_MTU_DISCOVER, 0)
    out.append(["may fragment", t(s.sendto, b"d" * 3000, 0, ("127.0.0.1", 6000))])
    sleep()
    out.append(["arrived", received(r)])
    return out


PLAYS = {"lo": play, "lo1500": play, "df": play_df}

if __name__ == "__main__":
    import sys

    print(json.dumps(PLAYS[sys.argv[1]](lambda: time.sleep(0.05))))
