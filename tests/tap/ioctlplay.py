"""One program of ``fcntl.ioctl`` calls on sockets, played by this machine's kernel (run as a
script in a network namespace: ``python ioctlplay.py``, printing its outcomes as JSON) and by
tuxnet (imported, and run with ``tuxnet.socket.stdlib``).

It reads what a TCP receiver holds (SIOCINQ) after a shutdown for reading, around an urgent byte
read out of band or inline, and after the peer's FIN; what a sender in SYN_SENT holds
(SIOCOUTQ, SIOCOUTQNSD: nothing, the SYN is no data); and how ``fcntl.ioctl`` passes its
argument: a buffer longer or shorter than the int, a bytearray filled in or not, an int (EFAULT),
a request no socket knows (ENOTTY), a listener (EINVAL), FIONBIO, a UDP socket.  The module
imports nothing of tuxnet's.
"""

from __future__ import annotations

import errno
import fcntl
import json
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

SIOCINQ, SIOCOUTQ, SIOCOUTQNSD, SIOCATMARK, FIONBIO = 0x541B, 0x5411, 0x894B, 0x8905, 0x5421
PORT = 6100
# An address on the far side of a link that carries nothing: a connect to it stays in SYN_SENT.
UNANSWERED = "10.99.0.1"


def _ioctl(*args: Any) -> Any:
    """``fcntl.ioctl``'s result, an int's bytes as the int, or the errno's name."""
    try:
        out = fcntl.ioctl(*args)
    except OSError as e:
        return errno.errorcode[e.errno]
    return int.from_bytes(out, "little", signed=True) if isinstance(out, bytes) and len(out) == 4 else out


def play(sleep: Callable[[float], None]) -> list[Any]:
    """The outcomes, in order; ``sleep`` lets what was sent arrive."""
    out: list[Any] = []
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", PORT))
    lsock.listen(4)

    def pair() -> tuple[socket.socket, socket.socket]:
        c = socket.socket()
        c.connect(("127.0.0.1", PORT))
        return c, lsock.accept()[0]

    inq = bytes(4)
    c, s = pair()
    c.send(b"hello")
    sleep(0.01)
    out += [_ioctl(s, SIOCINQ, inq), _ioctl(s, SIOCOUTQ, inq), _ioctl(c, SIOCOUTQ, inq)]
    s.shutdown(socket.SHUT_RD)
    out.append(_ioctl(s, SIOCINQ, inq))  # no FIN came: all five still count

    c, s = pair()
    c.send(b"12345")
    c.send(b"abc", socket.MSG_OOB)
    sleep(0.01)
    out += [_ioctl(s, SIOCINQ, inq), _ioctl(s, SIOCATMARK, inq)]  # up to the urgent byte
    out.append(s.recv(100).decode())
    out += [_ioctl(s, SIOCINQ, inq), _ioctl(s, SIOCATMARK, inq), s.recv(1, socket.MSG_OOB).decode(),
            _ioctl(s, SIOCINQ, inq)]

    c, s = pair()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
    c.send(b"12345")
    c.send(b"abc", socket.MSG_OOB)
    sleep(0.01)
    out.append(_ioctl(s, SIOCINQ, inq))  # inline: all of it
    c.close()
    sleep(0.01)
    out += [_ioctl(s, SIOCINQ, inq), s.recv(100).decode(), _ioctl(s, SIOCINQ, inq), s.recv(100).decode(),
            _ioctl(s, SIOCINQ, inq), s.recv(100).decode()]

    c, s = pair()
    c.send(b"hello")
    sleep(0.01)
    filled = bytearray(4)
    kept = bytearray(4)
    out += [_ioctl(s, SIOCINQ, bytes(8)).hex(), _ioctl(s, SIOCINQ, b"\x01").hex(), _ioctl(s.fileno(), SIOCINQ, 0),
            _ioctl(s, SIOCINQ, filled), filled.hex(), _ioctl(s, SIOCINQ, kept, False), kept.hex(),
            _ioctl(s, 0x1234, inq), _ioctl(s, 0x1234, 0), _ioctl(lsock, SIOCINQ, inq),
            _ioctl(s, FIONBIO, struct.pack("i", 1))]
    s.recv(10)
    try:
        s.recv(10)
    except BlockingIOError:
        out.append("EAGAIN")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out += [_ioctl(u, SIOCATMARK, inq), _ioctl(u, SIOCINQ, inq), _ioctl(u, SIOCOUTQ, inq)]

    syn = socket.socket()
    syn.setblocking(False)
    out.append(errno.errorcode.get(syn.connect_ex((UNANSWERED, 80)), "0"))
    out += [_ioctl(syn, SIOCOUTQ, inq), _ioctl(syn, SIOCOUTQNSD, inq), _ioctl(syn, SIOCINQ, inq)]
    return out


if __name__ == "__main__":
    print(json.dumps(play(time.sleep)))
