"""What IP_FREEBIND, IP_TRANSPARENT, IP_BIND_ADDRESS_NO_PORT and IP_LOCAL_PORT_RANGE do to
``bind`` and to the ports a socket is given, judged by this machine's kernel over ``lo``: a
non-local address bound only with the first two (or ``ip_nonlocal_bind``), an address bound
without a port until ``connect`` picks one, and the ports ``bind``, ``connect`` and a datagram's
``sendto`` pick inside the socket's own range."""

from __future__ import annotations

import json
import os
import socket
import struct
import sys

import pytest
from loplay import kernel_outcomes, lo_world, outcome, tuxnet_outcomes

pytestmark = pytest.mark.root

IP_FREEBIND, IP_TRANSPARENT, IP_BIND_ADDRESS_NO_PORT, IP_LOCAL_PORT_RANGE = 15, 19, 24, 51
PORT = 7930
RANGE = (40100, 40103)


def play() -> list:
    out: list = []
    for opt in (None, IP_FREEBIND, IP_TRANSPARENT):
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            if opt is not None:
                s.setsockopt(socket.SOL_IP, opt, 1)
            out.append(["nonlocal", opt, kind, outcome(s.bind, ("192.0.2.77", 0)), s.getsockname()[0]])
            s.close()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", PORT))
    listener.listen()
    s = socket.socket()
    s.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
    s.bind(("127.0.0.2", 0))
    before = s.getsockname()
    s.connect(("127.0.0.1", PORT))
    after = s.getsockname()
    out.append(["no port", list(before), after[0], after[1] != 0])
    s.close()
    ports = []
    held = []
    for call in ("bind", "connect", "sendto", "bind", "connect", "bind"):
        kind = socket.SOCK_DGRAM if call == "sendto" else socket.SOCK_STREAM
        s = socket.socket(socket.AF_INET, kind)
        s.setsockopt(socket.SOL_IP, IP_LOCAL_PORT_RANGE, struct.pack("=HH", *RANGE))
        if call == "bind":
            result = outcome(s.bind, ("127.0.0.1", 0))
        elif call == "connect":
            result = outcome(s.connect, ("127.0.0.1", PORT))
        else:
            result = outcome(s.sendto, b"x", ("127.0.0.1", 9))
        port = s.getsockname()[1]
        ports.append([call, result, RANGE[0] <= port <= RANGE[1] if port else port])
        held.append(s)
    out.append(["range", ports, len({s.getsockname()[1] for s in held})])
    for s in held:
        s.close()
    listener.close()
    return out


def test_bind_options_act_as_on_the_kernel() -> None:
    linux = kernel_outcomes(os.path.basename(__file__), "play")
    world, host = lo_world()
    assert tuxnet_outcomes(world, host, play) == linux


if __name__ == "__main__":
    print(json.dumps({"play": play}[sys.argv[1]]()))
