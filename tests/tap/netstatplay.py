"""netstat's and ss's tables of one set of sockets on loopback, played by this machine's kernel
and its net-tools netstat and iproute2 ss (run as a script in a network namespace of its own:
``python netstatplay.py``, printing the tables as JSON) and by tuxnet with its own (imported, run
with ``tuxnet.socket.stdlib``, a ``tool`` running them given).  The sockets: two listeners, a connection with
unread data, a UDP socket bound and one connected, a raw ICMP socket and a raw socket of
protocol 253 bound and connected.  The module imports nothing of tuxnet's."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

RUNS = (("netstat", ["-tun"]), ("netstat", ["-atun"]), ("netstat", ["-ltun"]), ("netstat", ["-tn"]),
        ("netstat", ["-un"]), ("netstat", ["-wn"]), ("netstat", ["-awn"]), ("netstat", ["-lwn"]), ("netstat", ["-n"]),
        ("netstat", ["-xn"]), ("netstat", ["-a", "-n", "-t"]), ("ss", ["-wn"]), ("ss", ["-wan"]), ("ss", ["-lwn"]),
        ("ss", ["-uwn"]), ("ss", ["-tuwan"]), ("ss", ["-uwln"]), ("netstat", ["-atunp"]), ("netstat", ["-awnp"]),
        ("netstat", ["-xlnp"]), ("netstat", ["-atuno"]), ("netstat", ["-atunoe"]), ("netstat", ["-awnpo"]),
        ("netstat", ["-tne"]))


def play(sleep: Callable[[], None], tool: Callable[[str, list[str]], str]) -> list[Any]:
    """The tables, one a command line, with the sockets held open."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 5000))
    ls.listen()
    c = socket.socket()
    c.connect(("127.0.0.1", 5000))
    a, _ = ls.accept()
    c.send(b"x" * 10)
    ls2 = socket.socket()
    ls2.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls2.bind(("0.0.0.0", 80))
    ls2.listen()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("0.0.0.0", 5353))
    u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u2.connect(("127.0.0.1", 53))
    icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
    raw.bind(("127.0.0.1", 0))
    raw.connect(("127.0.0.2", 0))
    sleep()
    tables = [tool(name, args) for name, args in RUNS]
    for s in (ls, c, a, ls2, u, u2, icmp, raw):
        s.close()
    return tables


def linux_tool(name: str, args: list[str]) -> str:
    return subprocess.run([name, *args], capture_output=True, text=True).stdout


if __name__ == "__main__":
    print(json.dumps(play(lambda: time.sleep(0.05), linux_tool)), file=sys.stdout)
