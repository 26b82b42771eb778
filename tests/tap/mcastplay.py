"""Multicast between two hosts, played by this machine's kernel (two network namespaces joined
by a veth pair: ``python mcastplay.py member|sender``) and by tuxnet (imported, run with
``tuxnet.socket.stdlib`` on two hosts joined by a cable).  The member (10.9.0.2) joins 239.1.1.1,
reads what the sender (10.9.0.1) sends to the group, and leaves; between, the sender asks as an
IGMPv3 querier would.  What the member sends is judged by tcpdump's lines; what each socket call
returns, by the outcomes.  The module imports nothing of tuxnet's.
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

IP_MULTICAST_IF, IP_MULTICAST_TTL, IP_MULTICAST_LOOP = 32, 33, 34
IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP, IP_MULTICAST_ALL = 35, 36, 49
GROUP, MEMBER, SENDER = "239.1.1.1", "10.9.0.2", "10.9.0.1"


def mreq(group: str, address: str = "0.0.0.0") -> bytes:
    return socket.inet_aton(group) + socket.inet_aton(address)


def member(sleep_until: Callable[[float], None]) -> list[Any]:
    """Join at 0 s, read the sender's datagrams at 1.5 s, leave at 3.5 s (the query comes at 2 s)."""
    out: list[Any] = []
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 5000))
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("0.0.0.0", 5000 + 1))
    out.append(["defaults", [s.getsockopt(socket.IPPROTO_IP, o) for o in (IP_MULTICAST_TTL, IP_MULTICAST_LOOP,
                                                                         IP_MULTICAST_ALL)],
                t(s.getsockopt, socket.IPPROTO_IP, IP_MULTICAST_IF, 4)])
    out.append(["join", t(s.setsockopt, socket.IPPROTO_IP, IP_ADD_MEMBERSHIP, mreq(GROUP, MEMBER))])
    out.append(["again", t(s.setsockopt, socket.IPPROTO_IP, IP_ADD_MEMBERSHIP, mreq(GROUP, MEMBER))])
    out.append(["not a group", t(s.setsockopt, socket.IPPROTO_IP, IP_ADD_MEMBERSHIP, mreq("10.1.1.1", MEMBER))])
    out.append(["nobody's address", t(s.setsockopt, socket.IPPROTO_IP, IP_ADD_MEMBERSHIP, mreq(GROUP, "10.9.9.9"))])
    out.append(["no route", t(s.setsockopt, socket.IPPROTO_IP, IP_ADD_MEMBERSHIP, mreq("239.2.2.2"))])
    out.append(["short", t(s.setsockopt, socket.IPPROTO_IP, IP_ADD_MEMBERSHIP, b"\xef\x01\x01")])
    out.append(["leave another", t(s.setsockopt, socket.IPPROTO_IP, IP_DROP_MEMBERSHIP, mreq("239.3.3.3", MEMBER))])
    out.append(["options", t(s.setsockopt, socket.IPPROTO_IP, IP_MULTICAST_TTL, 300),
                t(s.setsockopt, socket.IPPROTO_IP, IP_MULTICAST_TTL, -1),
                t(s.setsockopt, socket.IPPROTO_IP, IP_MULTICAST_ALL, 2),
                t(s.setsockopt, socket.IPPROTO_IP, IP_MULTICAST_IF, socket.inet_aton("10.9.9.9")),
                t(s.setsockopt, socket.IPPROTO_IP, IP_MULTICAST_IF, socket.inet_aton(MEMBER)),
                t(s.getsockopt, socket.IPPROTO_IP, IP_MULTICAST_IF, 4)])
    sleep_until(1.5 + 0.3)
    for sock in (s, other):
        try:
            data, source = sock.recvfrom(100, socket.MSG_DONTWAIT)
            out.append(["read", data.decode(), source[0]])
        except OSError as e:
            out.append(["read", errno.errorcode[e.errno]])
    sleep_until(3.5)
    out.append(["leave", t(s.setsockopt, socket.IPPROTO_IP, IP_DROP_MEMBERSHIP, mreq(GROUP, MEMBER)),
                t(s.setsockopt, socket.IPPROTO_IP, IP_DROP_MEMBERSHIP, mreq(GROUP, MEMBER))])
    sleep_until(5.0)
    return out


def sender(sleep_until: Callable[[float], None]) -> list[Any]:
    """At 1.5 s a datagram to the group (and one to a group nobody joined); at 2 s an IGMPv3
    general query with a maximum response time of one second."""
    out: list[Any] = []
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_IF, socket.inet_aton(SENDER))
    sleep_until(1.5)
    out.append(["send", t(s.sendto, b"to the group", (GROUP, 5000)), t(s.sendto, b"to nobody", ("239.5.5.5", 5001))])
    sleep_until(2.0)
    q = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IGMP)
    q.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_IF, socket.inet_aton(SENDER))
    query = bytearray(struct.pack("!BBHIBBH", 0x11, 10, 0, 0, 2, 125, 0))
    total = sum(struct.unpack("!6H", query))
    total = (total & 0xFFFF) + (total >> 16)
    struct.pack_into("!H", query, 2, ~total & 0xFFFF)
    out.append(["query", t(q.sendto, bytes(query), ("224.0.0.1", 0))])
    sleep_until(5.0)
    return out


PLAYS = {"member": member, "sender": sender}

if __name__ == "__main__":
    import sys

    start = time.monotonic()

    def sleep_until(at: float) -> None:
        time.sleep(max(0.0, start + at - time.monotonic()))

    print(json.dumps(PLAYS[sys.argv[1]](sleep_until)))
