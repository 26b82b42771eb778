"""The source address a TCP connect gives its socket, judged by this machine's kernel: a socket bound
to a broadcast or multicast address (which leaves ``inet_saddr`` 0) takes the route's source as
its bound address too (``tcp_v4_connect``'s ``inet_bhash2_update_saddr``), so bound to
255.255.255.255 and connecting to its own port it connects to itself; a connect that finds no
free four-tuple (EADDRNOTAVAIL) gives back the source it took unless the user bound one
(``inet_bhash2_reset_saddr``)."""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

import pytest
from loplay import kernel_outcomes, lo_world, tuxnet_outcomes

pytestmark = pytest.mark.root

PORT = 7310


def _call(f: Callable[..., Any], *args: Any) -> list:
    """``f(*args)``'s outcome: ["ok", value] (a tuple as a list), ["err", ERRNO] or ["timeout"]."""
    try:
        value = f(*args)
    except TimeoutError:
        return ["timeout"]
    except OSError as e:
        return ["err", errno.errorcode[e.errno]]
    return ["ok", list(value) if isinstance(value, tuple) else value]


def play() -> list:
    """Each case: its name and the outcomes of its calls."""
    out = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", PORT))
    listener.listen()
    for i, bound in enumerate(("255.255.255.255", "224.0.0.1", "127.0.0.2", "0.0.0.0")):
        # bound to an address and a port (each case its own), then connecting to that same port
        # on 127.0.0.1: to itself when the connect makes 127.0.0.1 its address
        port = PORT + 1 + i
        s = socket.socket()
        s.settimeout(2.0)
        steps = [_call(s.bind, (bound, port)), _call(s.connect, ("127.0.0.1", port)), _call(s.getsockname),
                 _call(s.getpeername)]
        s.close()
        # bound to the address alone, then connecting to the listener
        s = socket.socket()
        steps += [_call(s.bind, (bound, 0)), _call(s.connect, ("127.0.0.1", PORT))]
        steps.append(s.getsockname()[0])
        s.close()
        listener.setblocking(False)
        listener.accept()[0].close()
        out.append([bound, steps])
    # Two sockets bound to one port with SO_REUSEADDR connect to the listener: the second finds
    # the four-tuple taken; its source goes back to the wildcard it was bound to, or stays the
    # address it was bound to.
    for i, bound in enumerate(("0.0.0.0", "127.0.0.1")):
        first, second = socket.socket(), socket.socket()
        steps = []
        for s in (first, second):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            steps += [_call(s.bind, (bound, PORT + 5 + i)), _call(s.connect, ("127.0.0.1", PORT)),
                      _call(s.getsockname)]
        first.close()
        second.close()
        out.append(["reuse " + bound, steps])
    listener.close()
    return out


def test_connect_source_as_on_the_kernel() -> None:
    linux = kernel_outcomes(os.path.basename(__file__), "play")
    world, host = lo_world()
    assert tuxnet_outcomes(world, host, play) == linux


if __name__ == "__main__":
    print(json.dumps({"play": play}[sys.argv[1]]()))
