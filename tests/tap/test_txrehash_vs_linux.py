"""``net.core.txrehash`` judged by this machine's kernel over ``lo``: a new TCP socket's
SO_TXREHASH is the sysctl's value (``inet_create``), a -1 written reads back as it, an accepted
socket and its peer take it too; other sockets refuse the option (EOPNOTSUPP)."""

from __future__ import annotations

import json
import os
import socket
import sys

import pytest
from loplay import kernel_outcomes, lo_world, outcome, tuxnet_outcomes

pytestmark = pytest.mark.root

SO_TXREHASH = 74


def play() -> list:
    out: list = []
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        steps = [outcome(s.getsockopt, socket.SOL_SOCKET, SO_TXREHASH)]
        for value in (-1, 1, -1, 0, 2):
            steps += [outcome(s.setsockopt, socket.SOL_SOCKET, SO_TXREHASH, value),
                      outcome(s.getsockopt, socket.SOL_SOCKET, SO_TXREHASH)]
        out.append([kind, steps])
        s.close()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.socket()
    client.connect(listener.getsockname())
    accepted, _ = listener.accept()
    out.append([s.getsockopt(socket.SOL_SOCKET, SO_TXREHASH) for s in (listener, client, accepted)])
    for s in (accepted, client, listener):
        s.close()
    return out


@pytest.mark.parametrize("txrehash", ["0", "1"])
def test_txrehash_is_the_new_sockets_default_as_on_the_kernel(txrehash: str) -> None:
    linux = kernel_outcomes(os.path.basename(__file__), "play", sysctls={"net.core.txrehash": txrehash})
    world, host = lo_world()
    host.sysctl.set("net.core.txrehash", txrehash)
    assert [[int(txrehash)] * 3] == linux[-1:]
    assert tuxnet_outcomes(world, host, play) == linux


if __name__ == "__main__":
    print(json.dumps({"play": play}[sys.argv[1]]()))
