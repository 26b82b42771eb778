"""IPv4 options, played by this machine's kernel (run as a script in a network namespace of its own:
``python optplay.py [sockopt|udp|raw|tcp]``, printing the outcomes as JSON) and by tuxnet
(imported, run with ``tuxnet.socket.stdlib``).  It sets IP_OPTIONS to good and bad option lists and
reads them back, sends datagrams with options over loopback (the socket's, and an IP_RETOPTS
control message's) and reads what arrives (IP_RECVOPTS, IP_RETOPTS, a raw socket's headers),
sends a datagram whose option is malformed and reads the parameter problem it draws, and opens a
TCP connection carrying record route.  A timestamp option is shown with its stamps as whether
they are set, the clocks of the two kernels being different.  The module imports nothing of
tuxnet's.
"""

from __future__ import annotations

import errno
import json
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from cmsgplay import t

SOL_IP = 0
IP_OPTIONS, IP_RECVOPTS, IP_RETOPTS, IP_HDRINCL = 4, 6, 7, 3
TCP_MAXSEG = 2
LO = b"\x7f\x00\x00\x01"
RR = bytes((1, 7, 39, 4)) + bytes(36)  # what ping -R sets: a NOP, then 9 empty slots
TS_ONLY = bytes((68, 40, 5, 0)) + bytes(36)
TS_ADDR = bytes((68, 36, 5, 1)) + bytes(32)

SETS = [
    ("record route", RR),
    ("rr length 2", bytes((7, 2, 4, 0))),
    ("rr pointer 3", bytes((7, 7, 3)) + bytes(4)),
    ("rr full", bytes((7, 7, 8)) + LO),
    ("rr pointer 6", bytes((7, 11, 6)) + bytes(8)),
    ("two rr", bytes((7, 7, 4)) + bytes(4) + bytes((7, 7, 4)) + bytes(4)),
    ("ts only", TS_ONLY),
    ("ts and addresses", TS_ADDR),
    ("ts prespecified, ours", bytes((68, 12, 5, 3)) + LO + bytes(4)),
    ("ts prespecified, not ours", bytes((68, 12, 5, 3)) + bytes((10, 1, 1, 1)) + bytes(4)),
    ("ts flag 2", bytes((68, 8, 5, 2)) + bytes(4)),
    ("ts pointer 4", bytes((68, 8, 4, 0)) + bytes(4)),
    ("ts full, overflow 15", bytes((68, 8, 9, 0xF0)) + bytes(4)),
    ("ts full, overflow 2", bytes((68, 8, 9, 0x20)) + bytes(4)),
    ("loose source route", bytes((1, 131, 11, 4)) + bytes((127, 0, 0, 2)) + bytes((127, 0, 0, 3))),
    ("lsrr one hop", bytes((131, 7, 4)) + bytes((127, 0, 0, 2))),
    ("lsrr pointer 5", bytes((131, 7, 5)) + bytes((127, 0, 0, 2))),
    ("lsrr no hop", bytes((131, 3, 4))),
    ("lsrr ragged", bytes((131, 9, 4)) + bytes(6)),
    ("strict source route", bytes((137, 7, 4)) + bytes((127, 0, 0, 2))),
    ("two source routes", bytes((131, 7, 4)) + bytes(4) + bytes((137, 7, 4)) + bytes(4)),
    ("router alert", bytes((148, 4, 0, 0))),
    ("unknown option", bytes((10, 4, 1, 2))),
    ("end, then junk", bytes((7, 7, 4)) + bytes(4) + bytes((0, 9, 9, 9))),
    ("one octet", bytes((7,))),
    ("nop", bytes((1,))),
    ("length past the end", bytes((7, 50, 4, 0))),
    ("41 octets", bytes((1,)) * 41),
    ("empty", b""),
]


def show(options: bytes) -> str:
    """Options as hex, a timestamp option's stamps each as ``T`` (set) or ``0``."""
    out = bytearray(options)
    p = 0
    while p + 1 < len(out):
        kind = out[p]
        if kind in (0, 1):
            p += 1
            continue
        length = out[p + 1]
        if length < 2:
            break
        if kind == 68 and length >= 4:
            pairs = out[p + 3] & 0x0F in (1, 3)
            q = p + 4 + (4 if pairs else 0)
            while q + 4 <= p + length:
                out[q:q + 4] = b"TTTT" if any(out[q:q + 4]) else bytes(4)
                q += 8 if pairs else 4
        p += length
    return "".join(chr(b) if b == ord("T") else f"{b:02x}" for b in out)


def ancillary(anc: list[Any]) -> list[Any]:
    return [[level, kind, show(data) if (level, kind) in ((SOL_IP, IP_RECVOPTS), (SOL_IP, IP_RETOPTS))
             else data.hex()] for level, kind, data in anc]


def play_sockopt(sleep: Callable[[], None]) -> list[Any]:
    """IP_OPTIONS set and read back, on datagram and stream sockets."""
    out: list[Any] = []
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        for name, value in SETS:
            out.append([kind, name, t(s.setsockopt, SOL_IP, IP_OPTIONS, value),
                        t(s.getsockopt, SOL_IP, IP_OPTIONS, 40)])
        # an int is its four octets: 1 is a NOP and padding; 7 a record route of no length
        for value in (1, 7):
            out.append([kind, f"int {value}", t(s.setsockopt, SOL_IP, IP_OPTIONS, value),
                        t(s.getsockopt, SOL_IP, IP_OPTIONS, 40)])
        out.append([kind, "retopts flag", t(s.setsockopt, SOL_IP, IP_RETOPTS, 1),
                    t(s.getsockopt, SOL_IP, IP_RETOPTS)])
        s.close()
    return out


def play_udp(sleep: Callable[[], None]) -> list[Any]:
    """Datagrams with options over loopback, read with IP_RECVOPTS and IP_RETOPTS."""
    out: list[Any] = []
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.setsockopt(SOL_IP, IP_RECVOPTS, 1)
    rx.setsockopt(SOL_IP, IP_RETOPTS, 1)
    dest = rx.getsockname()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def read(name: str) -> None:
        rx.setblocking(False)
        try:
            data, anc, flags, _ = rx.recvmsg(100, 1024)
            out.append([name, data.hex(), ancillary(anc), flags])
        except OSError as e:
            out.append([name, errno.errorcode.get(e.errno, e.errno)])

    tx.setsockopt(SOL_IP, IP_OPTIONS, RR)
    out.append(["send rr", t(tx.sendto, b"rr", dest)])
    sleep()
    read("rr")
    out.append(["send cmsg ts", t(tx.sendmsg, [b"ts"], [(SOL_IP, IP_RETOPTS, TS_ADDR)], 0, dest)])
    sleep()
    read("cmsg ts over the socket's rr")
    out.append(["send empty cmsg", t(tx.sendmsg, [b"e"], [(SOL_IP, IP_RETOPTS, b"")], 0, dest)])
    sleep()
    read("empty cmsg: none at all")
    out.append(["send bad cmsg", t(tx.sendmsg, [b"b"], [(SOL_IP, IP_RETOPTS, bytes((7, 2, 4, 0)))], 0, dest)])
    out.append(["send long cmsg", t(tx.sendmsg, [b"l"], [(SOL_IP, IP_RETOPTS, bytes((1,)) * 44)], 0, dest)])
    sleep()
    read("long cmsg")
    tx.setsockopt(SOL_IP, IP_OPTIONS, b"")
    out.append(["send none", t(tx.sendto, b"none", dest)])
    sleep()
    read("none")
    big = b"x" * 3000
    tx.setsockopt(SOL_IP, IP_OPTIONS, RR)
    out.append(["send fragmented", t(tx.sendto, big, dest)])
    sleep()
    rx.setblocking(False)
    try:
        data, anc, flags, _ = rx.recvmsg(4000, 1024)
        out.append(["fragmented", len(data), ancillary(anc), flags])
    except OSError as e:
        out.append(["fragmented", errno.errorcode.get(e.errno, e.errno)])
    return out


def play_raw(sleep: Callable[[], None]) -> list[Any]:
    """An echo request with record route and the reply, seen by a raw ICMP socket; a malformed
    option's parameter problem."""
    out: list[Any] = []
    icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    icmp.setsockopt(SOL_IP, IP_OPTIONS, RR)
    request = bytearray(struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"optplay!")
    total = sum(struct.unpack("!8H", request[:16]))
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    request[2:4] = struct.pack("!H", ~total & 0xFFFF)
    out.append(["send echo", t(icmp.sendto, bytes(request), ("127.0.0.1", 0))])
    sleep()
    icmp.setblocking(False)
    for _ in range(3):
        try:
            packet = icmp.recv(200)
        except OSError as e:
            out.append(["read", errno.errorcode.get(e.errno, e.errno)])
            break
        ihl = (packet[0] & 0x0F) * 4
        out.append(["read", packet[ihl], show(packet[20:ihl])])
    icmp.setsockopt(SOL_IP, IP_OPTIONS, b"")
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for name, options in (("rr length 2", bytes((7, 2, 4, 0))), ("rr pointer 3", bytes((7, 7, 3)) + bytes(5)),
                          ("ts overflow 15", bytes((68, 8, 9, 0xF0)) + bytes(4)),
                          ("length past the end", bytes((1, 7, 9, 4)))):
        ihl = 5 + len(options) // 4
        header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + 4, 7, 0, 64, 253, 0, LO, LO) + options
        out.append(["send " + name, t(raw.sendto, header + b"abcd", ("127.0.0.1", 0))])
        sleep()
        try:
            packet = icmp.recv(200)
            ihl = (packet[0] & 0x0F) * 4
            out.append([name, packet[ihl], packet[ihl + 1], packet[ihl + 4]])
        except OSError as e:
            out.append([name, errno.errorcode.get(e.errno, e.errno)])
    return out


def checksummed(message: bytes) -> bytes:
    """An ICMP message with its checksum filled in."""
    data = bytearray(message)
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    data[2:4] = struct.pack("!H", ~total & 0xFFFF)
    return bytes(data)


def play_timestamp(sleep: Callable[[], None]) -> list[Any]:
    """ICMP timestamp requests (RFC 792) to 127.0.0.1, with and without record route: the reply's
    header, originate timestamp and whether its receive and transmit times are equal times of day
    (milliseconds since midnight UT);
    a request too short for its originate timestamp gets none."""
    out: list[Any] = []
    icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    icmp.setblocking(False)
    requests = (("timestamp", checksummed(struct.pack("!BBHHHIII", 13, 0, 0, 0x4242, 7, 12345, 0, 0)), b""),
                ("with record route", checksummed(struct.pack("!BBHHHIII", 13, 0, 0, 0x4242, 8, 1, 0, 0)), RR),
                ("too short", checksummed(struct.pack("!BBHHH", 13, 0, 0, 0x4242, 9)), b""),
                ("bad code", checksummed(struct.pack("!BBHHHIII", 13, 5, 0, 0x4242, 10, 2, 0, 0)), b""))
    for name, request, options in requests:
        icmp.setsockopt(SOL_IP, IP_OPTIONS, options)
        out.append(["send " + name, t(icmp.sendto, request, ("127.0.0.1", 0))])
        sleep()
        got = []
        while True:
            try:
                packet = icmp.recv(200)
            except OSError:
                break
            ihl = (packet[0] & 0x0F) * 4
            msg = packet[ihl:]
            if msg[0] != 14:
                continue
            kind, code, _, ident, seq = struct.unpack_from("!BBHHH", msg)
            originate, received, transmitted = struct.unpack_from("!III", msg, 8)
            got.append([kind, code, ident, seq, len(msg), originate, received == transmitted < 86_400_000,
                        show(packet[20:ihl])])
        out.append([name, got])
    return out


def play_tcp(sleep: Callable[[], None]) -> list[Any]:
    """A connection whose client records the route: what the accepted socket's options are (the
    SYN's, echoed), the segment sizes on both sides, and the data."""
    out: list[Any] = []
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen()
    c = socket.socket()
    out.append(["set", t(c.setsockopt, SOL_IP, IP_OPTIONS, RR)])
    out.append(["maxseg before", t(c.getsockopt, socket.IPPROTO_TCP, TCP_MAXSEG)])
    c.connect(ls.getsockname())
    a, _ = ls.accept()
    out.append(["accepted options", t(a.getsockopt, SOL_IP, IP_OPTIONS, 40)])
    out.append(["maxseg", t(c.getsockopt, socket.IPPROTO_TCP, TCP_MAXSEG),
                t(a.getsockopt, socket.IPPROTO_TCP, TCP_MAXSEG)])
    c.sendall(b"y" * 100000)
    got = 0
    a.setblocking(False)
    for _ in range(20):
        sleep()
        try:
            while True:
                chunk = a.recv(1 << 20)
                if not chunk:
                    break
                got += len(chunk)
        except BlockingIOError:
            pass
        if got == 100000:
            break
    out.append(["received", got])
    out.append(["clear", t(c.setsockopt, SOL_IP, IP_OPTIONS, b""),
                t(c.getsockopt, socket.IPPROTO_TCP, TCP_MAXSEG), t(c.getsockopt, SOL_IP, IP_OPTIONS, 40)])
    for s in (c, a, ls):
        s.close()
    return out


PLAYS = {"sockopt": play_sockopt, "udp": play_udp, "raw": play_raw, "timestamp": play_timestamp, "tcp": play_tcp}

if __name__ == "__main__":
    import sys

    print(json.dumps(PLAYS[sys.argv[1]](lambda: time.sleep(0.05))))
