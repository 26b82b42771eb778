"""Sending from an address that is not this host's, judged by this machine's kernel over ``lo``:
IP_FREEBIND lets a socket bind one but not send from it, IP_TRANSPARENT (and a raw socket's
IP_HDRINCL) lets it send from one too (``inet_sk_flowi_flags``' FLOWI_FLAG_ANYSRC, which
``ip_route_output_key_hash_rcu`` lets past its check of the source), except a broadcast or a
multicast, which still leaves by the device that has the source."""

from __future__ import annotations

import json
import socket
import struct
import sys
from collections.abc import Callable

import pytest
from loplay import outcome, play_on_both

pytestmark = pytest.mark.root

IP_PKTINFO, IP_FREEBIND, IP_TRANSPARENT = 8, 15, 19
NONLOCAL = "192.0.2.77"
PORT = 7933


def play(sleep: Callable[[], None]) -> list:
    out: list = []
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.bind(("127.0.0.1", PORT))

    def arrived() -> object:
        sleep()
        return outcome(lambda: r.recvfrom(100, socket.MSG_DONTWAIT)[1][0])

    for opt in (None, IP_FREEBIND, IP_TRANSPARENT):
        def sock(kind: int, proto: int = 0, opt: int | None = opt) -> socket.socket:
            s = socket.socket(socket.AF_INET, kind, proto)
            if opt is not None:
                s.setsockopt(socket.SOL_IP, opt, 1)
            return s

        s = sock(socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        bound = outcome(s.bind, (NONLOCAL, 0))
        sent = outcome(s.sendto, b"nl", ("127.0.0.1", PORT))
        out.append(["udp", opt, bound, sent, arrived(), outcome(s.connect, ("127.0.0.1", PORT)),
                    outcome(s.sendto, b"m", ("224.0.0.1", PORT)), outcome(s.sendto, b"b", ("255.255.255.255", PORT))])
        s.close()
        # the source IP_PKTINFO's ipi_spec_dst gives one datagram
        s = sock(socket.SOCK_DGRAM)
        info = struct.pack("=I4s4s", 0, socket.inet_aton(NONLOCAL), bytes(4))
        sent = outcome(s.sendmsg, [b"pk"], [(socket.SOL_IP, IP_PKTINFO, info)], 0, ("127.0.0.1", PORT))
        out.append(["pktinfo", opt, sent, arrived()])
        s.close()
        s = sock(socket.SOCK_STREAM)
        s.setblocking(False)
        bound = outcome(s.bind, (NONLOCAL, 0))
        connected = outcome(s.connect, ("127.0.0.1", PORT))
        sleep()
        out.append(["tcp", opt, bound, connected, s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)])
        s.close()
        s = sock(socket.SOCK_RAW, 253)
        out.append(["raw", opt, outcome(s.bind, (NONLOCAL, 0)), outcome(s.sendto, b"raw", ("127.0.0.1", 0))])
        s.close()
    # IP_HDRINCL alone lets a raw socket's flow have any source
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
    s.setsockopt(socket.SOL_IP, socket.IP_HDRINCL, 1)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20, 0, 0, 64, 253, 0, socket.inet_aton(NONLOCAL),
                         socket.inet_aton("127.0.0.1"))
    info = struct.pack("=I4s4s", 0, socket.inet_aton(NONLOCAL), bytes(4))
    out.append(["hdrincl", outcome(s.sendmsg, [header], [(socket.SOL_IP, IP_PKTINFO, info)], 0, ("127.0.0.1", 0))])
    s.close()
    r.close()
    return out


def test_nonlocal_sources_as_on_the_kernel() -> None:
    linux, ours = play_on_both(__file__, "play", play)
    assert ["udp", IP_TRANSPARENT, None, 2, NONLOCAL, None, "ENETUNREACH", "ENETUNREACH"] in linux
    assert ours == linux


if __name__ == "__main__":
    import time

    print(json.dumps({"play": play}[sys.argv[1]](lambda: time.sleep(0.05))))
