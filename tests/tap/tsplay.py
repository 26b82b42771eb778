"""SO_TIMESTAMPING, played by this machine's kernel (run as a script in a network namespace of
its own: ``python tsplay.py [options|udp|tcp|raw]``, printing the outcomes as JSON) and by tuxnet
(imported, run with ``tuxnet.socket.stdlib``).  The flags a socket may set and reads back; the send
timestamps of UDP datagrams, raw sockets' packets and TCP sends on loopback (when the qdisc layer takes the packet, when
the driver does, when TCP's peer acknowledged its last byte), in the order the error queue gives
them, with their keys (OPT_ID), the packet's bytes or none (OPT_TSONLY), its device and source
(OPT_CMSG with IP_PKTINFO); the send timestamps one send asks for in a control message; and
received packets' times.  A time is shown as whether it lies between the clock read before the
send and after the read; a packet's bytes as its length, link-layer header, IP length and
protocol and its last bytes (the IP ID, ports and sequence numbers are each machine's own).  The
module imports nothing of tuxnet's.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from cmsgplay import t

SOL_IP = 0
IP_PKTINFO, IP_RECVERR = 8, 11
SO_TIMESTAMP, SO_TIMESTAMPNS, SO_TIMESTAMPING, SO_TIMESTAMP_NEW, SO_TIMESTAMPING_NEW = 29, 35, 37, 63, 65
SCM_TS_OPT_ID = 81
SOL = socket.SOL_SOCKET
TX_SOFTWARE, RX_SOFTWARE, SOFTWARE, OPT_ID = 1 << 1, 1 << 3, 1 << 4, 1 << 7
TX_SCHED, TX_ACK, OPT_CMSG, OPT_TSONLY = 1 << 8, 1 << 9, 1 << 10, 1 << 11
OPT_STATS, BIND_PHC, OPT_ID_TCP, OPT_RX_FILTER, TX_COMPLETION = 1 << 12, 1 << 15, 1 << 16, 1 << 17, 1 << 18
MSG_ERRQUEUE = 0x2000
SCM_TIMESTAMPING_OPT_STATS = 54
# TCP_NLA_* of OPT_STATS whose values are each machine's own (times, rates, RTTs, the departure
# time, and whether the last rate sample was application-limited: over tuxnet's loopback a round
# trip takes no time, and the samples shorter than the minimum RTT are not taken); the others are
# compared
TCP_NLA_OWN = {1: "busy", 2: "rwnd limited", 3: "sndbuf limited", 6: "pacing rate", 7: "delivery rate",
               10: "min rtt", 12: "app limited", 22: "srtt", 25: "edt"}
TCP_CONGESTION = 13
UDP_PORT, TCP_PORT = 6000, 6001


def stamp(data: bytes, t0: int) -> str:
    """An scm_timestamping: whether its software time lies in [t0, now] and the others are zero."""
    if len(data) != 48:
        return f"{len(data)} bytes"
    ts = struct.unpack("6q", data)
    ns = ts[0] * 1_000_000_000 + ts[1]
    return "in time" if t0 - 1000 <= ns <= time.time_ns() + 1000 and not any(ts[2:]) else f"{ts}"


def packet(data: bytes) -> list[Any]:
    """A timestamped packet's bytes: a frame as its length, link-layer header, IP length and
    protocol and last ten bytes; anything else (a TCP send's payload) whole."""
    if len(data) >= 34 and data[12:14] == b"\x08\x00":
        return [len(data), data[:14].hex(), struct.unpack("!H", data[16:18])[0], data[23], data[-10:].hex()]
    return [len(data), data.hex()]


def stats(data: bytes) -> list[Any]:
    """OPT_STATS's netlink attributes as [type, length, value], a value that is the machine's own
    shown by name."""
    out = []
    while data:
        length, kind = struct.unpack_from("HH", data)
        raw = data[4:length]
        value = TCP_NLA_OWN.get(kind) or int.from_bytes(raw, "little")
        out.append([kind, length, value])
        data = data[(length + 3) & ~3:]
    return out


def errqueue(s: socket.socket, t0: int, size: int = 2048) -> list[Any]:
    """The error queue's entries, read one by one until it is empty: [bytes, control messages,
    flags, address]."""
    out = []
    while True:
        try:
            data, ancdata, flags, address = s.recvmsg(size, 1024, MSG_ERRQUEUE | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return out
        except OSError as e:
            return out + [e.strerror]
        cmsgs: list[Any] = []
        for level, kind, cdata in ancdata:
            if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPING_OPT_STATS:
                cmsgs.append([kind, stats(cdata)])
                data = b"(the same)" if data == cdata else data
            elif level == socket.SOL_SOCKET and kind in (SO_TIMESTAMPING, SO_TIMESTAMPING_NEW):
                cmsgs.append([kind, stamp(cdata, t0)])
            elif level == SOL_IP and kind == IP_RECVERR:
                cmsgs.append(["ee", *struct.unpack("IBBBBII", cdata[:16]), cdata[16:].hex()])
            elif level == socket.SOL_SOCKET:
                cmsgs.append([kind, len(cdata)])
            else:
                cmsgs.append([level, kind, cdata.hex()])
        out.append([packet(data), cmsgs, flags, address])


def received(s: socket.socket, t0: int) -> list[Any]:
    """What one read gets: [bytes, control messages]."""
    data, ancdata, _, _ = s.recvmsg(1000, 1024, socket.MSG_DONTWAIT)
    return [len(data), [[kind, stamp(c, t0) if kind in (SO_TIMESTAMPING, SO_TIMESTAMPING_NEW) else len(c)]
                        for _, kind, c in ancdata]]


def play_options(sleep: Callable[[], None]) -> list[Any]:
    """Which flags a socket may set, how the option reads back, OPT_ID on TCP's states."""
    out: list[Any] = []
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.append(["bits", [t(u.setsockopt, SOL, SO_TIMESTAMPING, struct.pack("I", 1 << k))
                         for k in range(32)]])
    for name, val in (("id_tcp with id", OPT_ID | OPT_ID_TCP), ("stats tsonly", OPT_STATS | OPT_TSONLY),
                      ("all", 0x7FFFF & ~(BIND_PHC | OPT_STATS)), ("none", 0)):
        out.append([name, t(u.setsockopt, SOL, SO_TIMESTAMPING, val)])
    out.append(["struct", t(u.setsockopt, SOL, SO_TIMESTAMPING, struct.pack("ii", 0x1A, 0))])
    out.append(["short", t(u.setsockopt, SOL, SO_TIMESTAMPING, b"\x1a\x00")])
    out.append(["get", u.getsockopt(SOL, SO_TIMESTAMPING),
                t(u.getsockopt, SOL, SO_TIMESTAMPING, 16), t(u.getsockopt, SOL, SO_TIMESTAMPING, 2),
                t(u.getsockopt, SOL, SO_TIMESTAMPING_NEW, 8)])
    # the new option reads the flags only when it set them; it also makes SO_TIMESTAMP's form new
    u.setsockopt(SOL, SO_TIMESTAMP, 1)
    out.append(["set new", t(u.setsockopt, SOL, SO_TIMESTAMPING_NEW, SOFTWARE | RX_SOFTWARE),
                t(u.getsockopt, SOL, SO_TIMESTAMPING_NEW, 8), t(u.getsockopt, SOL, SO_TIMESTAMPING, 8),
                u.getsockopt(SOL, SO_TIMESTAMP), u.getsockopt(SOL, SO_TIMESTAMP_NEW)])
    u.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
    out.append(["bind_phc on lo", t(u.setsockopt, SOL, SO_TIMESTAMPING, struct.pack("ii", BIND_PHC, 0))])
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    out.append(["tcp closed", t(s.setsockopt, SOL, SO_TIMESTAMPING, OPT_ID),
                t(s.setsockopt, SOL, SO_TIMESTAMPING, SOFTWARE | TX_ACK)])
    s.bind(("127.0.0.1", TCP_PORT))
    s.listen()
    out.append(["tcp listening", t(s.setsockopt, SOL, SO_TIMESTAMPING, OPT_ID)])
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.connect(("127.0.0.1", TCP_PORT))
    out.append(["tcp connected", t(c.setsockopt, SOL, SO_TIMESTAMPING, OPT_ID | OPT_ID_TCP),
                c.getsockopt(SOL, SO_TIMESTAMPING)])
    return out


def play_udp(sleep: Callable[[], None]) -> list[Any]:
    """Send timestamps of datagrams, and received datagrams' times."""
    out: list[Any] = []
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.bind(("127.0.0.1", UDP_PORT))
    r.setsockopt(SOL, SO_TIMESTAMPING, SOFTWARE | RX_SOFTWARE)
    snd = SOFTWARE | TX_SOFTWARE
    cases = [("snd", snd), ("sched snd", snd | TX_SCHED), ("ids", snd | TX_SCHED | OPT_ID),
             ("tsonly", snd | OPT_ID | OPT_TSONLY), ("cmsg", snd | OPT_CMSG),
             ("cmsg tsonly", snd | OPT_CMSG | OPT_TSONLY),
             ("ack", SOFTWARE | TX_ACK), ("no report", TX_SOFTWARE), ("hardware", SOFTWARE | 1),
             ("stats", snd | OPT_TSONLY | OPT_STATS)]
    for name, flags in cases:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(SOL, SO_TIMESTAMPING, flags)
        if name == "cmsg":
            s.setsockopt(SOL_IP, IP_PKTINFO, 1)
        t0 = time.time_ns()
        s.sendto(b"hello", ("127.0.0.1", UDP_PORT))
        s.sendto(b"x" * 300, ("127.0.0.1", UDP_PORT))
        sleep()
        out.append([name, errqueue(s, t0)])
        s.close()
    # what one send asks for in a control message, instead of the socket's flags
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(SOL, SO_TIMESTAMPING, SOFTWARE | OPT_TSONLY | OPT_ID | TX_SOFTWARE)
    t0 = time.time_ns()
    dest = ("127.0.0.1", UDP_PORT)
    for name, cmsg in (("sched", [(SOL, SO_TIMESTAMPING, struct.pack("I", TX_SCHED))]),
                       ("none", [(SOL, SO_TIMESTAMPING, struct.pack("I", 0))]),
                       ("new", [(SOL, SO_TIMESTAMPING_NEW, struct.pack("I", TX_SOFTWARE))]),
                       ("completion", [(SOL, SO_TIMESTAMPING, struct.pack("I", TX_COMPLETION))]),
                       ("rx flag", [(SOL, SO_TIMESTAMPING, struct.pack("I", RX_SOFTWARE))]),
                       ("short", [(SOL, SO_TIMESTAMPING, b"\x02\x00")]),
                       ("key 77", [(SOL, SCM_TS_OPT_ID, struct.pack("I", 77))]),
                       ("plain", [])):
        out.append(["sendmsg", name, t(s.sendmsg, [b"c"], cmsg, 0, dest)])
    sleep()
    out.append(["per send", errqueue(s, t0)])
    k = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    k.setsockopt(SOL, SO_TIMESTAMPING, SOFTWARE | TX_SOFTWARE)
    out.append(["key without OPT_ID", t(k.sendmsg, [b"c"], [(SOL, SCM_TS_OPT_ID, struct.pack("I", 1))], 0,
                                        dest)])
    # an entry waiting makes the socket readable with POLLERR; a short read is MSG_TRUNC, and
    # SO_TIMESTAMPNS adds its own time; the queue takes no more than the receive buffer
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(SOL, SO_TIMESTAMPING, SOFTWARE | TX_SOFTWARE)
    s.setsockopt(SOL, SO_TIMESTAMPNS, 1)
    t0 = time.time_ns()
    s.sendto(b"hello", dest)
    sleep()
    p = select.poll()
    p.register(s, select.POLLIN | select.POLLOUT)
    out.append(["poll", [revents for _, revents in p.poll(0)]])
    out.append(["short read", errqueue(s, t0, 18)])
    out.append(["poll after", [revents for _, revents in p.poll(0)]])
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
    s.setsockopt(SOL, SO_TIMESTAMPING, SOFTWARE | TX_SOFTWARE | OPT_TSONLY | OPT_ID)
    for _ in range(4):
        s.sendto(b"hello", dest)
    sleep()
    out.append(["small buffer", errqueue(s, t0)])
    # received: SOFTWARE reports what another socket's RX_SOFTWARE had stamped, unless
    # OPT_RX_FILTER leaves reports to RX_SOFTWARE
    while True:
        try:
            r.recv(1000, socket.MSG_DONTWAIT)  # (the datagrams above)
        except BlockingIOError:
            break
    f = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    f.bind(("127.0.0.1", UDP_PORT + 1))
    g = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    g.bind(("127.0.0.1", UDP_PORT + 2))
    f.setsockopt(SOL, SO_TIMESTAMPING, SOFTWARE | OPT_RX_FILTER)
    g.setsockopt(SOL, SO_TIMESTAMPING, SOFTWARE)
    r.setsockopt(SOL, SO_TIMESTAMPNS, 1)
    t0 = time.time_ns()
    for port in (UDP_PORT, UDP_PORT + 1, UDP_PORT + 2):
        s.sendto(b"to you", ("127.0.0.1", port))
    sleep()
    while True:
        try:
            out.append(["received", received(r, t0)])
        except BlockingIOError:
            break
    out.append(["filtered", received(f, t0), "unfiltered", received(g, t0)])
    return out


def play_tcp(sleep: Callable[[], None]) -> list[Any]:
    """Send timestamps of TCP sends (the key: the offset of a send's last byte), and a read's."""
    out: list[Any] = []
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", TCP_PORT))
    ls.listen()
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, b"cubic")  # (whatever the namespace's default)
    c.connect(("127.0.0.1", TCP_PORT))
    a, _ = ls.accept()
    c.send(b"before")
    sleep()
    a.recv(100)
    t0 = time.time_ns()
    c.setsockopt(SOL, SO_TIMESTAMPING, SOFTWARE | TX_SCHED | TX_SOFTWARE | TX_ACK | OPT_ID | OPT_TSONLY)
    c.send(b"a" * 100)
    sleep()
    c.send(b"b" * 50)
    sleep()
    out.append(["tsonly", errqueue(c, t0)])
    c.setsockopt(SOL, SO_TIMESTAMPING, SOFTWARE | TX_SCHED | TX_SOFTWARE | TX_ACK | OPT_ID | OPT_CMSG)
    c.setsockopt(SOL_IP, IP_PKTINFO, 1)
    c.send(b"c" * 10)
    sleep()
    out.append(["bytes", errqueue(c, t0)])
    c.setsockopt(SOL, SO_TIMESTAMPING, SOFTWARE | OPT_TSONLY | OPT_ID)
    out.append(["sendmsg", t(c.sendmsg, [b"d" * 7], [(SOL, SO_TIMESTAMPING, struct.pack("I", TX_ACK))]),
                t(c.sendmsg, [b"e"], [(SOL, SCM_TS_OPT_ID, struct.pack("I", 5))])])
    sleep()
    out.append(["per send", errqueue(c, t0)])
    c.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING,
                 SOFTWARE | TX_SCHED | TX_SOFTWARE | TX_ACK | OPT_ID | OPT_TSONLY | OPT_STATS)
    c.send(b"h" * 30)
    sleep()
    out.append(["stats", errqueue(c, t0)])
    # a read's time: SO_TIMESTAMPNS's, then SO_TIMESTAMPING's
    a.recv(1000)
    a.setsockopt(SOL, SO_TIMESTAMPING, SOFTWARE | RX_SOFTWARE)
    a.setsockopt(SOL, SO_TIMESTAMPNS, 1)
    sleep()  # (Linux turns the stamping of received packets on in a work item, a moment later)
    t0 = time.time_ns()
    c.send(b"f" * 20)
    sleep()
    out.append(["read", received(a, t0)])
    a.setsockopt(SOL, SO_TIMESTAMPNS, 0)
    a.setsockopt(SOL, SO_TIMESTAMPING_NEW, SOFTWARE | RX_SOFTWARE | OPT_RX_FILTER)
    c.send(b"g" * 20)
    sleep()
    out.append(["read new", received(a, t0)])
    return out


def play_raw(sleep: Callable[[], None]) -> list[Any]:
    """Send timestamps of raw sockets' packets, with the IP header given (IP_HDRINCL) or not."""
    out: list[Any] = []
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 24, 0, 0, 64, 253, 0, socket.inet_aton("127.0.0.1"),
                         socket.inet_aton("127.0.0.1"))
    for name, proto, data in (("hdrincl", socket.IPPROTO_RAW, header + b"abcd"), ("proto 253", 253, b"abcd")):
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
        s.setsockopt(SOL, SO_TIMESTAMPING, SOFTWARE | TX_SOFTWARE | TX_SCHED | OPT_ID)
        t0 = time.time_ns()
        for _ in range(2):
            s.sendto(data, ("127.0.0.1", 0))
        sleep()
        out.append([name, errqueue(s, t0)])
        s.close()
    return out


PLAYS = {"options": play_options, "udp": play_udp, "tcp": play_tcp, "raw": play_raw}

if __name__ == "__main__":
    import sys

    print(json.dumps(PLAYS[sys.argv[1]](lambda: time.sleep(0.05))))
