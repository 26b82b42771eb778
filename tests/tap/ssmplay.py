"""Source-filtered multicast between two hosts, played by this machine's kernel (two network
namespaces joined by a veth pair: ``python ssmplay.py member|sender``) and by tuxnet (imported,
run with ``tuxnet.socket.stdlib`` on two hosts joined by a cable).  The member (10.9.0.2) has two
sockets on port 5000: one joins 239.1.1.1 for chosen sources (INCLUDE), the other for any source
but one (EXCLUDE), then they change their filters and leave; the sender (10.9.0.1, with 10.9.0.7
and 10.9.0.8 beside) sends to the group from each of its addresses between the changes, and asks
a group-and-source-specific and a general IGMPv3 query.  What each socket call returns and each
socket reads are the outcomes; the member's IGMPv3 reports are judged by tcpdump's lines.  The
module imports nothing of tuxnet's.
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

IP_MULTICAST_IF, IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP = 32, 35, 36
IP_UNBLOCK_SOURCE, IP_BLOCK_SOURCE, IP_ADD_SOURCE_MEMBERSHIP, IP_DROP_SOURCE_MEMBERSHIP = 37, 38, 39, 40
IP_MSFILTER = 41
MCAST_JOIN_GROUP, MCAST_BLOCK_SOURCE, MCAST_UNBLOCK_SOURCE, MCAST_LEAVE_GROUP = 42, 43, 44, 45
MCAST_JOIN_SOURCE_GROUP, MCAST_LEAVE_SOURCE_GROUP, MCAST_MSFILTER = 46, 47, 48
MCAST_EXCLUDE, MCAST_INCLUDE = 0, 1
GROUP, MEMBER, SENDER = "239.1.1.1", "10.9.0.2", "10.9.0.1"
S1, S2, S3 = SENDER, "10.9.0.7", "10.9.0.8"
IP = socket.IPPROTO_IP


def mreq(group: str, address: str = MEMBER) -> bytes:
    return socket.inet_aton(group) + socket.inet_aton(address)


def mreq_source(group: str, source: str, interface: str = MEMBER) -> bytes:
    """struct ip_mreq_source: the group, the interface's address, the source."""
    return socket.inet_aton(group) + socket.inet_aton(interface) + socket.inet_aton(source)


def msfilter(group: str, mode: int, sources: list[str], numsrc: int | None = None) -> bytes:
    """struct ip_msfilter: group, interface, mode, the number of sources, the sources."""
    count = len(sources) if numsrc is None else numsrc
    return (socket.inet_aton(group) + socket.inet_aton(MEMBER) + struct.pack("=II", mode, count)
            + b"".join(socket.inet_aton(s) for s in sources))


def storage(address: str, family: int = socket.AF_INET) -> bytes:
    """A struct sockaddr_storage holding a sockaddr_in."""
    return struct.pack("=HH4s", family, 0, socket.inet_aton(address)).ljust(128, b"\0")


def group_req(ifindex: int, group: str, family: int = socket.AF_INET) -> bytes:
    """struct group_req: the interface's index (and padding), the group."""
    return struct.pack("=I4x", ifindex) + storage(group, family)


def group_source_req(ifindex: int, group: str, source: str, source_family: int = socket.AF_INET) -> bytes:
    return struct.pack("=I4x", ifindex) + storage(group) + storage(source, source_family)


def group_filter(ifindex: int, group: str, mode: int, sources: list[str]) -> bytes:
    """struct group_filter: index, group, mode, the number of sources, the sources."""
    return (struct.pack("=I4x", ifindex) + storage(group) + struct.pack("=II", mode, len(sources))
            + b"".join(storage(s) for s in sources))


def reads(sock: socket.socket) -> list[str]:
    """The sources of every datagram queued, in order; the errno's name that ends the reading."""
    got: list[str] = []
    while True:
        try:
            data, source = sock.recvfrom(100, socket.MSG_DONTWAIT)
            got.append(f"{data.decode()} from {source[0]}")
        except OSError as e:
            got.append(errno.errorcode[e.errno])
            return got


def errors() -> list[Any]:
    """What the kernel refuses, on sockets that never joined (and one that is TCP's)."""
    e = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    idx = socket.if_nametoindex("eth0")
    out = [t(e.setsockopt, IP, IP_ADD_SOURCE_MEMBERSHIP, mreq_source(GROUP, S1)[:8]),
           t(e.setsockopt, IP, IP_ADD_SOURCE_MEMBERSHIP, mreq_source(GROUP, S1) + b"\0"),
           t(e.setsockopt, IP, IP_ADD_SOURCE_MEMBERSHIP, mreq_source("10.1.1.1", S1)),
           t(e.setsockopt, IP, IP_ADD_SOURCE_MEMBERSHIP, mreq_source(GROUP, S1, "10.9.9.9")),
           t(e.setsockopt, IP, IP_BLOCK_SOURCE, mreq_source(GROUP, S3)),
           t(e.setsockopt, IP, IP_UNBLOCK_SOURCE, mreq_source(GROUP, S3)),
           t(e.setsockopt, IP, IP_DROP_SOURCE_MEMBERSHIP, mreq_source(GROUP, S1)),
           t(e.setsockopt, IP, MCAST_JOIN_GROUP, group_req(idx, GROUP)[:100]),
           t(e.setsockopt, IP, MCAST_LEAVE_GROUP, group_req(idx, GROUP) + b"\0"),
           t(e.setsockopt, IP, MCAST_JOIN_GROUP, group_req(idx, GROUP, socket.AF_INET6)),
           t(e.setsockopt, IP, MCAST_JOIN_GROUP, group_req(99, GROUP)),
           t(e.setsockopt, IP, MCAST_JOIN_GROUP, group_req(idx, "10.1.1.1")),
           t(e.setsockopt, IP, MCAST_LEAVE_GROUP, group_req(idx, GROUP)),
           t(e.setsockopt, IP, MCAST_JOIN_SOURCE_GROUP, group_source_req(idx, GROUP, S1, 0)),
           t(e.setsockopt, IP, MCAST_JOIN_SOURCE_GROUP, group_source_req(idx, GROUP, S1)[:200]),
           t(e.setsockopt, IP, MCAST_LEAVE_SOURCE_GROUP, group_source_req(idx, GROUP, S1) + b"\0"),
           t(e.setsockopt, IP, IP_MSFILTER, msfilter(GROUP, MCAST_EXCLUDE, [S1]) + b"\0"),
           t(e.setsockopt, IP, MCAST_LEAVE_SOURCE_GROUP, group_source_req(idx, GROUP, S1)),
           t(e.setsockopt, IP, MCAST_BLOCK_SOURCE, group_source_req(idx, GROUP, S1)),
           t(e.setsockopt, IP, IP_MSFILTER, msfilter(GROUP, MCAST_EXCLUDE, [])[:12]),
           t(e.setsockopt, IP, IP_MSFILTER, msfilter(GROUP, MCAST_EXCLUDE, [S1] * 11)),
           t(e.setsockopt, IP, IP_MSFILTER, msfilter(GROUP, MCAST_EXCLUDE, [S1], numsrc=2)),
           t(e.setsockopt, IP, IP_MSFILTER, msfilter(GROUP, 5, [S1])),
           t(e.setsockopt, IP, IP_MSFILTER, msfilter("10.1.1.1", MCAST_EXCLUDE, [S1])),
           t(e.setsockopt, IP, IP_MSFILTER, msfilter(GROUP, MCAST_INCLUDE, [])),
           t(e.setsockopt, IP, IP_MSFILTER, msfilter(GROUP, MCAST_EXCLUDE, [S1])),
           t(e.setsockopt, IP, MCAST_MSFILTER, group_filter(idx, GROUP, MCAST_EXCLUDE, [S1])[:140]),
           t(e.setsockopt, IP, MCAST_MSFILTER, group_filter(idx, GROUP, MCAST_EXCLUDE, [S1])),
           t(e.setsockopt, IP, MCAST_MSFILTER, group_filter(idx, GROUP, MCAST_INCLUDE, []))]
    e.close()
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    out += [t(tcp.setsockopt, IP, IP_ADD_SOURCE_MEMBERSHIP, mreq_source(GROUP, S1)),
            t(tcp.setsockopt, IP, MCAST_JOIN_GROUP, group_req(idx, GROUP)),
            t(tcp.setsockopt, IP, MCAST_JOIN_SOURCE_GROUP, group_source_req(idx, GROUP, S1)),
            t(tcp.setsockopt, IP, IP_MSFILTER, msfilter(GROUP, MCAST_EXCLUDE, [S1])),
            t(tcp.setsockopt, IP, MCAST_MSFILTER, group_filter(idx, GROUP, MCAST_EXCLUDE, [S1]))]
    tcp.close()
    return out


def member(sleep_until: Callable[[float], None]) -> list[Any]:
    out: list[Any] = [["errors", errors()]]
    idx = socket.if_nametoindex("eth0")
    s1, s2 = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2))
    for s in (s1, s2):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 5000))
    out.append(["s1 include S1", t(s1.setsockopt, IP, IP_ADD_SOURCE_MEMBERSHIP, mreq_source(GROUP, S1)),
                t(s1.setsockopt, IP, IP_ADD_SOURCE_MEMBERSHIP, mreq_source(GROUP, S1)),
                t(s1.setsockopt, IP, IP_BLOCK_SOURCE, mreq_source(GROUP, S3)),
                t(s1.setsockopt, IP, IP_DROP_SOURCE_MEMBERSHIP, mreq_source(GROUP, S3)),
                t(s1.setsockopt, IP, IP_ADD_MEMBERSHIP, mreq(GROUP)),
                t(s1.setsockopt, IP, MCAST_JOIN_GROUP, group_req(idx, GROUP))])
    sleep_until(0.5)
    out.append(["s1 include S2", t(s1.setsockopt, IP, MCAST_JOIN_SOURCE_GROUP, group_source_req(idx, GROUP, S2))])
    sleep_until(1.0)
    out.append(["s1 reads", reads(s1)])
    sleep_until(1.2)
    out.append(["s2 joins", t(s2.setsockopt, IP, IP_ADD_MEMBERSHIP, mreq(GROUP)),
                t(s2.setsockopt, IP, IP_UNBLOCK_SOURCE, mreq_source(GROUP, S3)),
                t(s2.setsockopt, IP, IP_ADD_SOURCE_MEMBERSHIP, mreq_source(GROUP, S3))])
    sleep_until(1.7)
    out.append(["s2 blocks S3", t(s2.setsockopt, IP, IP_BLOCK_SOURCE, mreq_source(GROUP, S3)),
                t(s2.setsockopt, IP, MCAST_BLOCK_SOURCE, group_source_req(idx, GROUP, S3))])
    sleep_until(2.3)
    out.append(["reads", reads(s1), reads(s2)])
    sleep_until(5.5)
    out.append(["s2 unblocks S3", t(s2.setsockopt, IP, MCAST_UNBLOCK_SOURCE, group_source_req(idx, GROUP, S3)),
                t(s2.setsockopt, IP, IP_UNBLOCK_SOURCE, mreq_source(GROUP, S3))])
    sleep_until(6.0)
    out.append(["s2 leaves", t(s2.setsockopt, IP, MCAST_LEAVE_GROUP, group_req(idx, GROUP)),
                t(s2.setsockopt, IP, MCAST_LEAVE_GROUP, group_req(idx, GROUP))])
    sleep_until(6.5)
    out.append(["s1 excludes S2", t(s1.setsockopt, IP, IP_MSFILTER, msfilter(GROUP, MCAST_EXCLUDE, [S2]))])
    sleep_until(7.2)
    out.append(["reads", reads(s1), reads(s2)])
    out.append(["s1 in exclude mode", t(s1.setsockopt, IP, IP_DROP_SOURCE_MEMBERSHIP, mreq_source(GROUP, S1)),
                t(s1.setsockopt, IP, IP_ADD_SOURCE_MEMBERSHIP, mreq_source(GROUP, S1))])
    sleep_until(7.5)
    out.append(["s1 leaves by filter", t(s1.setsockopt, IP, MCAST_MSFILTER,
                                         group_filter(idx, GROUP, MCAST_INCLUDE, []))])
    sleep_until(8.0)
    out.append(["s1 include S1 S3", t(s1.setsockopt, IP, IP_ADD_SOURCE_MEMBERSHIP, mreq_source(GROUP, S1)),
                t(s1.setsockopt, IP, MCAST_MSFILTER, group_filter(idx, GROUP, MCAST_INCLUDE, [S3, S1]))])
    sleep_until(8.5)
    out.append(["s1 drops its sources", t(s1.setsockopt, IP, IP_DROP_SOURCE_MEMBERSHIP, mreq_source(GROUP, S1)),
                t(s1.setsockopt, IP, MCAST_LEAVE_SOURCE_GROUP, group_source_req(idx, GROUP, S3)),
                t(s1.setsockopt, IP, MCAST_LEAVE_SOURCE_GROUP, group_source_req(idx, GROUP, S3))])
    sleep_until(9.5)
    return out


def _query(group: str, sources: list[str]) -> bytes:
    """An IGMPv3 query: maximum response time 1 s, robustness 2, interval 125 s."""
    query = bytearray(struct.pack("!BBHIBBH", 0x11, 10, 0, struct.unpack("!I", socket.inet_aton(group))[0], 2, 125,
                                  len(sources)) + b"".join(socket.inet_aton(s) for s in sources))
    total = sum(struct.unpack(f"!{len(query) // 2}H", query))
    total = (total & 0xFFFF) + (total >> 16)
    struct.pack_into("!H", query, 2, ~total & 0xFFFF)
    return bytes(query)


def _send_from_each(out: list[Any], label: str) -> None:
    for source in (S1, S2, S3):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(IP, IP_MULTICAST_IF, socket.inet_aton(SENDER))
        s.bind((source, 0))
        out.append([label, source, t(s.sendto, f"{label}".encode(), (GROUP, 5000))])
        s.close()


def sender(sleep_until: Callable[[float], None]) -> list[Any]:
    out: list[Any] = []
    q = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IGMP)
    q.setsockopt(IP, IP_MULTICAST_IF, socket.inet_aton(SENDER))
    sleep_until(0.8)
    _send_from_each(out, "one")
    sleep_until(2.0)
    _send_from_each(out, "two")
    sleep_until(2.5)
    out.append(["group-and-source query", t(q.sendto, _query(GROUP, [S1, S3]), (GROUP, 0))])
    sleep_until(4.0)
    out.append(["general query", t(q.sendto, _query("0.0.0.0", []), ("224.0.0.1", 0))])
    sleep_until(6.8)
    _send_from_each(out, "three")
    sleep_until(9.5)
    return out


def many_sources(prefix: str, first: int, count: int) -> list[str]:
    return [f"{prefix}.{i}" for i in range(first, first + count)]


def crowded_member(sleep_until: Callable[[float], None]) -> list[Any]:
    """Three groups with many sources, on a device whose MTU (100) holds 15 sources a report:
    239.1.1.1 INCLUDE twenty (two sockets, ten each), 239.2.2.2 EXCLUDE eighteen (two sockets,
    the same eighteen: ``igmp_max_msf`` is 20 here), 239.3.3.3 any source; the general query
    at 1.5 s is answered for all three; at 3 s one socket of the first group leaves it, then the
    sockets are closed, the newest first."""
    out: list[Any] = []
    idx = socket.if_nametoindex("eth0")
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(5)]
    for s, first in ((socks[0], 1), (socks[1], 11)):
        sources = many_sources("10.7.1", first, 10)
        out.append(["include", t(s.setsockopt, IP, MCAST_JOIN_GROUP, group_req(idx, GROUP)),
                    t(s.setsockopt, IP, IP_MSFILTER, msfilter(GROUP, MCAST_INCLUDE, sources))])
    sleep_until(0.5)
    for s in socks[2:4]:
        out.append(["exclude", t(s.setsockopt, IP, IP_ADD_MEMBERSHIP, mreq("239.2.2.2")),
                    t(s.setsockopt, IP, MCAST_MSFILTER,
                      group_filter(idx, "239.2.2.2", MCAST_EXCLUDE, many_sources("10.7.2", 1, 18)))])
    sleep_until(1.0)
    out.append(["any", t(socks[4].setsockopt, IP, IP_ADD_MEMBERSHIP, mreq("239.3.3.3"))])
    sleep_until(3.0)
    out.append(["leave", t(socks[0].setsockopt, IP, MCAST_LEAVE_GROUP, group_req(idx, GROUP))])
    for i, s in enumerate(reversed(socks)):  # (closed one by one: each close's report its own)
        sleep_until(3.3 + 0.3 * i)
        s.close()
    sleep_until(5.0)
    return out


def crowded_sender(sleep_until: Callable[[float], None]) -> list[Any]:
    q = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IGMP)
    q.setsockopt(IP, IP_MULTICAST_IF, socket.inet_aton(SENDER))
    sleep_until(1.5)
    out = [["general query", t(q.sendto, _query("0.0.0.0", []), ("224.0.0.1", 0))]]
    sleep_until(5.0)
    return out


PLAYS = {"member": member, "sender": sender, "crowded_member": crowded_member, "crowded_sender": crowded_sender}

if __name__ == "__main__":
    import sys

    start = time.monotonic()

    def sleep_until(at: float) -> None:
        time.sleep(max(0.0, start + at - time.monotonic()))

    print(json.dumps(PLAYS[sys.argv[1]](sleep_until)))
