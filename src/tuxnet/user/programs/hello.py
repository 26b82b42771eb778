"""The course's lab 3 programs: ``replyhi`` (server) and ``hello`` (client).

``replyhi`` binds 127.0.0.1:5001, listens with backlog 1024 and, for each connection, receives once
(up to 1024 bytes), prints ``recv "hello" from IP:PORT``, sends ``hi``, prints
``send "hi" to IP:PORT`` and closes.  ``hello`` connects, sends ``hello``, receives once, prints
what it received and closes.  When ``bind`` or ``connect`` fails, they print the course's message
(``Bind Error,FILE:LINE``, ``Connect Error,FILE:LINE``, with this file and line as C's ``__FILE__``
and ``__LINE__`` give its own) and give up.
"""

from __future__ import annotations

import os
import sys

from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc

PORT = 5001
IP_ADDR = "127.0.0.1"
MAX_BUF_LEN = 1024
MAX_CONNECT_QUEUE = 1024


def _error(what: str, line: int) -> None:
    """``fprintf(stderr, "... Error,%s:%d\\n", __FILE__, __LINE__)``."""
    libc.printf("%s,%s:%d\n", what, os.path.basename(__file__), line)


def replyhi(addr: str = IP_ADDR, port: int = PORT, count: int | None = None) -> None:
    """Serve ``count`` connections (forever when None)."""
    sock = libc.socket(AF_INET, SOCK_STREAM, 0)
    try:
        libc.bind(sock, (addr, port))
    except OSError:
        _error("Bind Error", sys._getframe().f_lineno)
        libc.close(sock)
        return
    libc.listen(sock, MAX_CONNECT_QUEUE)
    served = 0
    try:
        while count is None or served < count:
            conn, peer = libc.accept(sock)
            buf = libc.recv(conn, MAX_BUF_LEN, 0)
            libc.printf('recv "%s" from %s:%d\n', buf.decode(errors="replace"), peer[0], peer[1])
            libc.send(conn, b"hi", 0)
            libc.printf('send "hi" to %s:%d\n', peer[0], peer[1])
            libc.close(conn)
            served += 1
    finally:
        libc.close(sock)


def hello(addr: str = IP_ADDR, port: int = PORT) -> bytes:
    """Say hello once; returns the answer."""
    sock = libc.socket(AF_INET, SOCK_STREAM, 0)
    try:
        libc.connect(sock, (addr, port))
    except OSError:
        _error("Connect Error", sys._getframe().f_lineno)
        libc.close(sock)
        return b""
    libc.send(sock, b"hello", 0)
    buf = libc.recv(sock, MAX_BUF_LEN, 0)
    libc.printf("%s\n", buf.decode(errors="replace"))
    libc.close(sock)
    return buf
