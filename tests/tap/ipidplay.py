"""IP IDs on loopback, played by this machine's kernel (``python ipidplay.py`` in a network
namespace of its own, with tcpdump watching) and by tuxnet (imported, run with
``tuxnet.socket.stdlib``): a TCP connection and a byte over it, a connect refused, a connected UDP
socket's two datagrams and an unconnected one's two.  The module imports nothing of tuxnet's."""

from __future__ import annotations

import socket
from collections.abc import Callable


def play(sleep: Callable[[], None]) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 7000))
    listener.listen(1)
    client = socket.socket()
    client.connect(("127.0.0.1", 7000))
    accepted, _ = listener.accept()
    client.send(b"x")
    sleep()
    refused = socket.socket()
    try:
        refused.connect(("127.0.0.1", 7001))
    except OSError:
        pass
    connected = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    connected.bind(("127.0.0.1", 7100))
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 7101))
    connected.connect(("127.0.0.1", 7101))
    connected.send(b"1")
    connected.send(b"2")
    unconnected = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    unconnected.bind(("127.0.0.1", 7102))
    unconnected.sendto(b"3", ("127.0.0.1", 7101))
    unconnected.sendto(b"4", ("127.0.0.1", 7101))
    sleep()
    for s in (client, accepted, listener, refused, connected, receiver, unconnected):
        s.close()
    sleep()


if __name__ == "__main__":
    import time

    play(lambda: time.sleep(0.05))
