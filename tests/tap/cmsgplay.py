"""Control messages and packet timestamps, played by this machine's kernel (run as a script in a
network namespace of its own: ``python cmsgplay.py [udp|tcp|raw|frag]``, printing the outcomes as
JSON) and by tuxnet (imported, run with ``tuxnet.socket.stdlib``).  It sets the options that ask
for control messages (IP_PKTINFO, IP_RECVTTL, IP_RECVTOS, IP_RECVORIGDSTADDR, SO_TIMESTAMP and its
kin, SO_RXQ_OVFL, SO_RCVMARK, SO_RCVPRIORITY, IP_RECVFRAGSIZE) and reads them back, sends with
control messages (IP_TTL, IP_TOS, IP_PKTINFO, SO_MARK, SO_PRIORITY, bad ones), reads datagrams
and segments with ``recvmsg`` and buffers of several sizes, and asks SIOCGSTAMP.  A timestamp is
shown as whether it lies between the clock read before the send and after the read.  The module
imports nothing of tuxnet's.
"""

from __future__ import annotations

import errno
import fcntl
import json
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

SOL_IP, SOL_TCP = 0, 6
IP_TOS, IP_TTL, IP_RECVOPTS, IP_RETOPTS, IP_PKTINFO, IP_RECVERR = 1, 2, 6, 7, 8, 11
IP_RECVTTL, IP_RECVTOS, IP_PASSSEC, IP_RECVORIGDSTADDR, IP_RECVFRAGSIZE, IP_PROTOCOL = 12, 13, 18, 20, 25, 52
SO_PRIORITY, SO_TIMESTAMP, SO_TIMESTAMPNS, SO_MARK, SO_RXQ_OVFL = 12, 29, 35, 36, 40
SO_TIMESTAMP_NEW, SO_TIMESTAMPNS_NEW, SO_RCVMARK, SO_RCVPRIORITY = 63, 64, 75, 82
SIOCGSTAMP, SIOCGSTAMPNS = 0x8906, 0x8907
TCP_INQ = 36
IP_OPTIONS = (IP_PKTINFO, IP_RECVTTL, IP_RECVTOS, IP_RECVOPTS, IP_PASSSEC, IP_RECVORIGDSTADDR, IP_RECVFRAGSIZE,
              IP_PROTOCOL)
SOCKET_OPTIONS = (SO_TIMESTAMP, SO_TIMESTAMPNS, SO_TIMESTAMP_NEW, SO_TIMESTAMPNS_NEW, SO_RXQ_OVFL, SO_RCVMARK,
                  SO_RCVPRIORITY)
STAMPS = {SO_TIMESTAMP: 1000, SO_TIMESTAMP_NEW: 1000, SO_TIMESTAMPNS: 1, SO_TIMESTAMPNS_NEW: 1}


def t(f: Callable[..., Any], *a: Any) -> Any:
    """The call's result, or the name of the error it raised."""
    try:
        r = f(*a)
    except OSError as e:
        return errno.errorcode.get(e.errno, e.errno)
    return r.hex() if isinstance(r, bytes) else r


def stamp_ok(data: bytes, per_unit: int, t0: int, t1: int) -> bool:
    """A timeval (``per_unit`` 1000 ns) or timespec (1 ns) between t0 and t1, in nanoseconds."""
    sec, frac = struct.unpack("qq", data)
    ns = sec * 1_000_000_000 + frac * per_unit
    return t0 - 1000 <= ns <= t1 + 1000


def describe(ancdata: list[Any], t0: int, t1: int) -> list[Any]:
    """Control messages as [level, type, data], a timestamp's data as whether it is in time."""
    out = []
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind in STAMPS:
            ok = len(data) == 16 and stamp_ok(data, STAMPS[kind], t0, t1)
            out.append([level, kind, "in time" if ok else f"{len(data)} bytes"])
        else:
            out.append([level, kind, data.hex()])
    return out


def read(s: socket.socket, size: int = 100, anc: int = 1024, flags: int = 0, t0: int = 0) -> Any:
    """``recvmsg`` as [data, control messages, flags, source], or the error."""
    try:
        data, ancdata, mflags, address = s.recvmsg(size, anc, flags)
    except OSError as e:
        return errno.errorcode[e.errno]
    return [data.hex(), describe(ancdata, t0, time.time_ns()), mflags, list(address) if address else None]


def options(s: socket.socket) -> list[Any]:
    return [t(s.getsockopt, SOL_IP, o) for o in IP_OPTIONS] + [t(s.getsockopt, socket.SOL_SOCKET, o)
                                                               for o in SOCKET_OPTIONS]


def sigstamp(s: socket.socket, request: int, t0: int) -> Any:
    """SIOCGSTAMP/SIOCGSTAMPNS: whether the time is in range, or the error."""
    r = t(fcntl.ioctl, s, request, bytes(16))
    if isinstance(r, str) and len(r) == 32:
        return stamp_ok(bytes.fromhex(r), 1000 if request == SIOCGSTAMP else 1, t0, time.time_ns())
    return r


def play_udp(sleep: Callable[[], None]) -> list[Any]:
    out: list[Any] = []
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.bind(("127.0.0.1", 5300))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 5301))
    dst = ("127.0.0.1", 5300)
    out.append(["defaults", options(r)])
    t0 = time.time_ns()
    out.append(["SIOCGSTAMP before", sigstamp(r, SIOCGSTAMP, t0)])
    s.sendto(b"plain", dst)
    sleep()
    out.append(["plain read", read(r, t0=t0)])
    out.append(["SIOCGSTAMP after", sigstamp(r, SIOCGSTAMP, t0), sigstamp(r, SIOCGSTAMPNS, t0)])
    for opt in (SO_TIMESTAMP, SO_TIMESTAMPNS, SO_TIMESTAMP_NEW, SO_TIMESTAMPNS_NEW):
        r.setsockopt(socket.SOL_SOCKET, opt, 1)
        out.append(["timestamp option", opt, options(r)[-7:-3]])
        t0 = time.time_ns()
        s.sendto(b"stamped", dst)
        sleep()
        out.append(["stamped read", opt, read(r, t0=t0)])
    r.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 0)
    out.append(["timestamps off", options(r)[-7:-3]])
    for opt in IP_OPTIONS[:-1]:
        out.append(["set", opt, t(r.setsockopt, SOL_IP, opt, 1)])
    r.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
    out.append(["all on", options(r)])
    t0 = time.time_ns()
    s.sendto(b"everything", dst)
    sleep()
    out.append(["peek", read(r, flags=socket.MSG_PEEK, t0=t0)])
    for anc in (0, 16, 20, 32, 40, 50, 56, 72, 200):
        out.append(["control buffer", anc, read(r, anc=anc, flags=socket.MSG_PEEK, t0=t0)])
    out.append(["read", read(r, t0=t0)])
    s.sendto(b"no control buffer", dst)
    sleep()
    data, source = r.recvfrom(100)
    out.append(["recvfrom", data.hex(), list(source)])
    out.append(["SIOCGSTAMP with SO_TIMESTAMP", sigstamp(r, SIOCGSTAMP, t0)])
    # the sender's TOS, and its priority
    for tos in (0x10, 0x13, 0xFF, 0x1C):
        out.append(["IP_TOS", tos, t(s.setsockopt, SOL_IP, IP_TOS, tos), s.getsockopt(SOL_IP, IP_TOS),
                    s.getsockopt(socket.SOL_SOCKET, SO_PRIORITY)])
    s.sendto(b"tos", dst)
    sleep()
    out.append(["tos read", read(r, t0=t0)])
    s.setsockopt(SOL_IP, IP_TOS, 0)
    for opt in (SO_RCVMARK, SO_RCVPRIORITY, SO_RXQ_OVFL):
        r.setsockopt(socket.SOL_SOCKET, opt, 1)
    r.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 0)
    sends = [
        ("ttl 7", [(SOL_IP, IP_TTL, struct.pack("i", 7))]),
        ("ttl 0", [(SOL_IP, IP_TTL, struct.pack("i", 0))]),
        ("ttl 256", [(SOL_IP, IP_TTL, struct.pack("i", 256))]),
        ("ttl short", [(SOL_IP, IP_TTL, b"\x07\x00")]),
        ("tos byte", [(SOL_IP, IP_TOS, b"\x20")]),
        ("tos int", [(SOL_IP, IP_TOS, struct.pack("i", 0x28))]),
        ("tos 300", [(SOL_IP, IP_TOS, struct.pack("i", 300))]),
        ("tos short", [(SOL_IP, IP_TOS, b"\x20\x00")]),
        ("pktinfo source", [(SOL_IP, IP_PKTINFO, struct.pack("i4s4s", 0, socket.inet_aton("127.0.0.2"), bytes(4)))]),
        ("pktinfo lo", [(SOL_IP, IP_PKTINFO, struct.pack("i4s4s", 1, bytes(4), bytes(4)))]),
        ("pktinfo no device", [(SOL_IP, IP_PKTINFO, struct.pack("i4s4s", 99, bytes(4), bytes(4)))]),
        ("pktinfo nobody's", [(SOL_IP, IP_PKTINFO, struct.pack("i4s4s", 0, socket.inet_aton("192.0.2.1"), bytes(4)))]),
        ("pktinfo broadcast", [(SOL_IP, IP_PKTINFO, struct.pack("i4s4s", 0, bytes([255] * 4), bytes(4)))]),
        ("pktinfo short", [(SOL_IP, IP_PKTINFO, bytes(8))]),
        ("retopts empty", [(SOL_IP, IP_RETOPTS, b"")]),
        ("protocol", [(SOL_IP, IP_PROTOCOL, struct.pack("i", 17))]),
        ("protocol 0", [(SOL_IP, IP_PROTOCOL, struct.pack("i", 0))]),
        ("unknown ip", [(SOL_IP, 99, struct.pack("i", 1))]),
        ("mark", [(socket.SOL_SOCKET, SO_MARK, struct.pack("I", 5))]),
        ("priority", [(socket.SOL_SOCKET, SO_PRIORITY, struct.pack("I", 3))]),
        ("mark short", [(socket.SOL_SOCKET, SO_MARK, b"\x05")]),
        ("unknown socket", [(socket.SOL_SOCKET, 99, struct.pack("i", 1))]),
        ("rights", [(socket.SOL_SOCKET, 1, struct.pack("i", 0))]),
        ("tcp level", [(SOL_TCP, 1, struct.pack("i", 1))]),
        ("ttl and tos", [(SOL_IP, IP_TTL, struct.pack("i", 9)), (SOL_IP, IP_TOS, b"\x08")]),
    ]
    for name, anc in sends:
        result = t(s.sendmsg, [name.encode()], anc, 0, dst)
        sleep()
        out.append(["sendmsg", name, result, read(r, anc=200, flags=socket.MSG_DONTWAIT)])
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.bind(("127.0.0.1", 5303))
    c.connect(dst)
    out.append(["connected ttl", t(c.sendmsg, [b"c"], [(SOL_IP, IP_TTL, struct.pack("i", 3))])])
    out.append(["connected plain", t(c.send, b"d")])
    sleep()
    out.append(["connected reads", read(r, flags=socket.MSG_DONTWAIT), read(r, flags=socket.MSG_DONTWAIT)])
    # drops: SO_RXQ_OVFL reports how many the socket had dropped when a datagram was queued
    q = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    q.bind(("127.0.0.1", 5302))
    q.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
    q.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
    for i in range(4):
        s.sendto(bytes([i]) * 1000, ("127.0.0.1", 5302))
        sleep()
        if i == 1:
            out.append(["first of the flood", read(q, size=1, flags=socket.MSG_DONTWAIT)])
    out.append(["after the flood", [read(q, size=1, flags=socket.MSG_DONTWAIT) for _ in range(2)]])
    # an ICMP error read from the error queue gets the ICMP message's own IP control messages:
    # the device it came in on (no specific destination), its TTL and TOS
    e = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for option in (IP_RECVERR, IP_PKTINFO, IP_RECVTTL, IP_RECVTOS):
        e.setsockopt(SOL_IP, option, 1)
    e.sendto(b"x", ("127.0.0.1", 9))
    sleep()
    out.append(["icmp error", read(e, flags=socket.MSG_ERRQUEUE)])
    return out


def play_tcp(sleep: Callable[[], None]) -> list[Any]:
    out: list[Any] = []
    lsn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsn.bind(("127.0.0.1", 5400))
    lsn.listen(1)
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    out.append(["options", options(c)])
    out.append(["set", [t(c.setsockopt, SOL_IP, o, 1) for o in IP_OPTIONS[:-1]]])
    c.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    c.setsockopt(SOL_TCP, TCP_INQ, 1)
    sleep()  # (the kernel turns packet stamping on a moment later)
    c.connect(("127.0.0.1", 5400))
    a, _ = lsn.accept()
    out.append(["accepted", options(a)])
    t0 = time.time_ns()
    a.send(b"x" * 10)
    sleep()
    out.append(["read", read(c, size=4, t0=t0)])
    out.append(["read the rest", read(c, t0=t0)])
    out.append(["SIOCGSTAMP", sigstamp(c, SIOCGSTAMP, t0), sigstamp(a, SIOCGSTAMP, t0)])
    for name, anc in (("ttl", [(SOL_IP, IP_TTL, struct.pack("i", 0))]),
                      ("mark", [(socket.SOL_SOCKET, SO_MARK, struct.pack("I", 5))]),
                      ("unknown socket", [(socket.SOL_SOCKET, 99, struct.pack("i", 1))]),
                      ("mark short", [(socket.SOL_SOCKET, SO_MARK, b"\x05")])):
        out.append(["sendmsg", name, t(a.sendmsg, [name.encode()], anc)])
    sleep()
    out.append(["what came", read(c, t0=t0)])
    c.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 0)
    a.send(b"y")
    sleep()
    out.append(["no timestamp", read(c, t0=t0)])
    return out


def play_raw(sleep: Callable[[], None]) -> list[Any]:
    """A raw ICMP socket sends an echo request to itself: it reads its request and the reply,
    with the control messages it asked for."""
    out: list[Any] = []
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    out.append(["options", options(s)])
    for opt in IP_OPTIONS[:-1]:
        s.setsockopt(SOL_IP, opt, 1)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
    request = bytearray(struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"abcdefgh")
    total = sum(struct.unpack("!8H", request))
    total = (total & 0xFFFF) + (total >> 16)
    struct.pack_into("!H", request, 2, ~total & 0xFFFF)
    t0 = time.time_ns()
    out.append(["send", t(s.sendmsg, [bytes(request)], [(SOL_IP, IP_TTL, struct.pack("i", 5))], 0, ("127.0.0.1", 0))])
    sleep()
    for _ in range(2):
        r = read(s, t0=t0, flags=socket.MSG_DONTWAIT)
        if isinstance(r, list):
            packet = bytes.fromhex(r[0])
            r[0] = [packet[8], packet[9], packet[20:].hex()]  # TTL, protocol, the ICMP message (no ID)
        out.append(["read", r])
    out.append(["SIOCGSTAMP", sigstamp(s, SIOCGSTAMP, t0)])
    # a UDP datagram whose IP header has options (three no-operations and an end of list), made
    # by an IP_HDRINCL socket: IP_RECVOPTS gives them
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 5600))
    u.setsockopt(SOL_IP, IP_RECVOPTS, 1)
    u.setsockopt(SOL_IP, IP_RECVTTL, 1)
    h = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    udp = struct.pack("!HHHH", 5601, 5600, 12, 0) + b"opts"
    header = struct.pack("!BBHHHBBH4s4s", 0x46, 0, 24 + len(udp), 7, 0, 33, socket.IPPROTO_UDP, 0,
                         socket.inet_aton("127.0.0.1"), socket.inet_aton("127.0.0.1")) + b"\x01\x01\x01\x00"
    out.append(["send options", t(h.sendto, header + udp, ("127.0.0.1", 0))])
    sleep()
    out.append(["read options", read(u, flags=socket.MSG_DONTWAIT)])
    return out


def play_frag(sleep: Callable[[], None]) -> list[Any]:
    """Over a loopback of MTU 1500 a 3,000-byte datagram goes in fragments; IP_RECVFRAGSIZE tells
    the largest."""
    out: list[Any] = []
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.bind(("127.0.0.1", 5500))
    out.append(["set", t(r.setsockopt, SOL_IP, IP_RECVFRAGSIZE, 1), r.getsockopt(SOL_IP, IP_RECVFRAGSIZE)])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 5501))
    s.setsockopt(SOL_IP, 10, 0)  # IP_MTU_DISCOVER: IP_PMTUDISC_DONT, let it fragment
    for size in (3000, 1000):
        s.sendto(b"z" * size, ("127.0.0.1", 5500))
        sleep()
        r2 = read(r, size=5000)
        out.append(["read", size, r2[1:] if isinstance(r2, list) else r2])
    return out


PLAYS = {"udp": play_udp, "tcp": play_tcp, "raw": play_raw, "frag": play_frag}

if __name__ == "__main__":
    import sys

    print(json.dumps(PLAYS[sys.argv[1]](lambda: time.sleep(0.05))))
