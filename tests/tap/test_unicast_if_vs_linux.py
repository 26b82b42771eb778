"""IP_UNICAST_IF judged by this machine's kernel over ``lo``: its value is an ifindex in network
order in exactly four octets (an unknown one refused, none beside SO_BINDTODEVICE), read back as
it was given; a UDP or raw socket's sends to a unicast address without a route then leave by the
device as if on its link, and its connect succeeds; a multicast goes by IP_MULTICAST_IF instead,
and TCP's connect does not look at the option."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable

import pytest
from loplay import outcome, play_on_both

pytestmark = pytest.mark.root

IP_UNICAST_IF = 50
VALUES = (0, 1, socket.htonl(1), socket.htonl(99), -1, b"\0\0\0\1", b"\1", b"\0\0\0\1\0\0\0\0", b"")


def play(sleep: Callable[[], None]) -> list:
    out: list = []
    for kind, proto in ((socket.SOCK_DGRAM, 0), (socket.SOCK_STREAM, 0), (socket.SOCK_RAW, 253)):
        for value in VALUES:
            s = socket.socket(socket.AF_INET, kind, proto)
            out.append([kind, outcome(s.setsockopt, socket.SOL_IP, IP_UNICAST_IF, value),
                        s.getsockopt(socket.SOL_IP, IP_UNICAST_IF),
                        outcome(s.getsockopt, socket.SOL_IP, IP_UNICAST_IF, 4),
                        outcome(s.getsockopt, socket.SOL_IP, IP_UNICAST_IF, 1)])
            s.close()
        s = socket.socket(socket.AF_INET, kind, proto)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
        out.append(["bound to a device", kind, outcome(s.setsockopt, socket.SOL_IP, IP_UNICAST_IF, socket.htonl(1)),
                    outcome(s.setsockopt, socket.SOL_IP, IP_UNICAST_IF, 0)])
        s.close()
        s = socket.socket(socket.AF_INET, kind, proto)
        s.setsockopt(socket.SOL_IP, IP_UNICAST_IF, socket.htonl(1))
        s.setblocking(False)
        if kind != socket.SOCK_STREAM:
            out.append(["sendto", kind, outcome(s.sendto, b"data", ("192.0.2.1", 9)),
                        outcome(s.sendto, b"data", ("224.0.0.1", 9)), outcome(s.sendto, b"data", ("127.0.0.1", 9))])
        out.append(["connect", kind, outcome(s.connect, ("192.0.2.1", 9)), s.getsockname()[0]])
        s.close()
    return out


def test_unicast_if_as_on_the_kernel() -> None:
    linux, ours = play_on_both(__file__, "play", play)
    assert ["sendto", socket.SOCK_DGRAM, 4, "ENETUNREACH", 4] in linux
    assert ours == linux


if __name__ == "__main__":
    import time

    print(json.dumps({"play": play}[sys.argv[1]](lambda: time.sleep(0.05))))
