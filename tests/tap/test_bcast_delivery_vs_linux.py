"""Which UDP sockets a broadcast or a multicast reaches, judged by this machine's kernel over
``lo``: one bound to the wildcard gets it, one bound to a unicast address of this host does not
(``__udp_is_mcast_sock`` compares the bound address with the destination, 255.255.255.255
included). The sender is connected first, so that its bound source takes the limited broadcast
and the group out by lo (the special case in ``ip_route_output_key_hash_rcu``)."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable

import pytest
from loplay import outcome, play_on_both

pytestmark = pytest.mark.root

PORT = 7934


def play(sleep: Callable[[], None]) -> list:
    out: list = []
    for dst in ("224.0.0.1", "255.255.255.255", "127.255.255.255"):
        for connect in (False, True):
            receivers = []
            for addr in ("127.0.0.1", "0.0.0.0", dst):
                r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                r.bind((addr, PORT))
                receivers.append(r)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            if connect:
                s.connect(("127.0.0.1", PORT + 1))
            sent = outcome(s.sendto, b"m", (dst, PORT))
            sleep()
            out.append([dst, connect, sent] + [outcome(lambda r=r: r.recvfrom(9, socket.MSG_DONTWAIT)[1][0])
                                                for r in receivers])
            for r in receivers:
                r.close()
            s.close()
    return out


def test_broadcast_and_multicast_reach_the_sockets_the_kernel_delivers_to() -> None:
    linux, ours = play_on_both(__file__, "play", play)
    assert ["255.255.255.255", True, 1, "EAGAIN", "127.0.0.1", "127.0.0.1"] in linux
    assert ours == linux


if __name__ == "__main__":
    import time

    print(json.dumps({"play": play}[sys.argv[1]](lambda: time.sleep(0.05))))
