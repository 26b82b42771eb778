"""TCP repair mode (TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ, TCP_REPAIR_OPTIONS,
TCP_REPAIR_WINDOW, TCP_TIMESTAMP), with which CRIU checkpoints a connection and restores it in
another socket, judged by this machine's kernel over ``lo``: the same programs run by the kernel in
a namespace of our own and by tuxnet must see the same.  ``calls``: what each call returns in and
out of repair mode, on a new, a listening and a connected socket.  ``migrate``: a connection is
read out of its socket in repair mode (sequence numbers, both queues, windows, options, the
timestamp clock), the socket closed without a word to the peer, and a new socket built from what
was read, connected without a handshake; the peer does not notice, and the two go on talking."""

from __future__ import annotations

import json
import socket
import struct
import sys
import time
from collections.abc import Callable

import pytest
from loplay import kernel_outcomes, lo_pair, lo_world, outcome, tuxnet_outcomes

from tuxnet.user import libc

pytestmark = pytest.mark.root

TCP = socket.IPPROTO_TCP
TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ, TCP_REPAIR_OPTIONS = 19, 20, 21, 22
TCP_TIMESTAMP, TCP_REPAIR_WINDOW = 24, 29
NO_QUEUE, RECV_QUEUE, SEND_QUEUE = 0, 1, 2
TCPOPT_MSS, TCPOPT_WINDOW, TCPOPT_SACK_PERM, TCPOPT_TIMESTAMP = 2, 3, 4, 8
MSG_PEEK, MSG_DONTWAIT = socket.MSG_PEEK, socket.MSG_DONTWAIT


def u32(value: int) -> bytes:
    """A sequence number or a clock as setsockopt takes it: four octets (a C int would not hold
    one past 2^31)."""
    return struct.pack("=I", value & 0xFFFFFFFF)


def repair_opts(*pairs: tuple[int, int]) -> bytes:
    """An array of ``struct tcp_repair_opt`` (code, value)."""
    return b"".join(struct.pack("=II", code, value) for code, value in pairs)


def calls(sleep: Callable[[float], None]) -> list:
    """Each repair call on a new socket, a listener, and both ends of a connection."""
    out: list = []
    s = socket.socket()
    window = bytes(20)
    for name, fn, args in (
        ("queue without repair", s.setsockopt, (TCP, TCP_REPAIR_QUEUE, RECV_QUEUE)),
        ("get queue without repair", s.getsockopt, (TCP, TCP_REPAIR_QUEUE)),
        ("window without repair", s.setsockopt, (TCP, TCP_REPAIR_WINDOW, window)),
        ("get window without repair", s.getsockopt, (TCP, TCP_REPAIR_WINDOW, 20)),
        ("options without repair", s.setsockopt, (TCP, TCP_REPAIR_OPTIONS, repair_opts((TCPOPT_MSS, 1000)))),
        ("timestamp without repair", s.setsockopt, (TCP, TCP_TIMESTAMP, 5)),
        ("get repair", s.getsockopt, (TCP, TCP_REPAIR)),
        ("repair 2", s.setsockopt, (TCP, TCP_REPAIR, 2)),
        ("repair -2", s.setsockopt, (TCP, TCP_REPAIR, -2)),
        ("repair on", s.setsockopt, (TCP, TCP_REPAIR, 1)),
        ("get repair on", s.getsockopt, (TCP, TCP_REPAIR)),
        ("get queue", s.getsockopt, (TCP, TCP_REPAIR_QUEUE)),
        ("get seq, no queue", s.getsockopt, (TCP, TCP_QUEUE_SEQ)),
        ("set seq, no queue", s.setsockopt, (TCP, TCP_QUEUE_SEQ, 100)),
        ("queue 3", s.setsockopt, (TCP, TCP_REPAIR_QUEUE, 3)),
        ("queue -1", s.setsockopt, (TCP, TCP_REPAIR_QUEUE, -1)),
        ("send queue", s.setsockopt, (TCP, TCP_REPAIR_QUEUE, SEND_QUEUE)),
        ("get queue, send", s.getsockopt, (TCP, TCP_REPAIR_QUEUE)),
        ("send seq 1000", s.setsockopt, (TCP, TCP_QUEUE_SEQ, 1000)),
        ("get send seq", s.getsockopt, (TCP, TCP_QUEUE_SEQ)),
        ("recv queue", s.setsockopt, (TCP, TCP_REPAIR_QUEUE, RECV_QUEUE)),
        ("recv seq 5000", s.setsockopt, (TCP, TCP_QUEUE_SEQ, 5000)),
        ("get recv seq", s.getsockopt, (TCP, TCP_QUEUE_SEQ)),
        ("options, not connected", s.setsockopt, (TCP, TCP_REPAIR_OPTIONS, repair_opts((TCPOPT_MSS, 1000)))),
        ("window of 19 octets", s.setsockopt, (TCP, TCP_REPAIR_WINDOW, bytes(19))),
        ("get window of 16 octets", s.getsockopt, (TCP, TCP_REPAIR_WINDOW, 16)),
        ("window max < snd_wnd", s.setsockopt, (TCP, TCP_REPAIR_WINDOW, struct.pack("=5I", 0, 10, 5, 0, 0))),
        ("window rcv_wup after rcv_nxt", s.setsockopt, (TCP, TCP_REPAIR_WINDOW,
                                                        struct.pack("=5I", 0, 10, 10, 100, 6000))),
        ("window", s.setsockopt, (TCP, TCP_REPAIR_WINDOW, struct.pack("=5I", 5000, 10, 20, 300, 4990))),
        ("get window", s.getsockopt, (TCP, TCP_REPAIR_WINDOW, 20)),
        ("timestamp", s.setsockopt, (TCP, TCP_TIMESTAMP, 5)),
        ("recv without peek", s.recv, (10, MSG_DONTWAIT)),
        ("recv, peek", s.recv, (10, MSG_PEEK | MSG_DONTWAIT)),
        ("no queue", s.setsockopt, (TCP, TCP_REPAIR_QUEUE, NO_QUEUE)),
        ("recv, peek, no queue", s.recv, (10, MSG_PEEK | MSG_DONTWAIT)),
        ("send, no queue", s.send, (b"x",)),
        ("repair off", s.setsockopt, (TCP, TCP_REPAIR, 0)),
        ("get queue, off", s.getsockopt, (TCP, TCP_REPAIR_QUEUE)),
    ):
        out.append([name, outcome(fn, *args)])
    ls = socket.socket()
    ls.bind(("127.0.0.1", 5601))
    ls.listen()
    out.append(["listener", outcome(ls.setsockopt, TCP, TCP_REPAIR, 1)])
    ls.close()
    ls = socket.socket()
    ls.bind(("127.0.0.1", 5603))
    ls.listen()
    out.append(["bind to a listener's port", outcome(socket.socket().bind, ("127.0.0.1", 5603))])
    r = socket.socket()
    r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    r.setsockopt(TCP, TCP_REPAIR, 1)
    out.append(["SO_REUSEADDR in repair", r.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)])
    out.append(["bind to it in repair", outcome(r.bind, ("127.0.0.1", 5603))])
    r.setsockopt(TCP, TCP_REPAIR, 0)
    out.append(["SO_REUSEADDR after", r.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)])
    r.close()
    ls.close()
    ls, c, a = lo_pair(5602)
    c.sendall(b"hello")
    sleep(0.05)
    out.append(["connected", outcome(c.setsockopt, TCP, TCP_REPAIR, 1)])
    out.append(["send queue", outcome(c.setsockopt, TCP, TCP_REPAIR_QUEUE, SEND_QUEUE)])
    out.append(["set seq, connected", outcome(c.setsockopt, TCP, TCP_QUEUE_SEQ, 7)])
    out.append(["options after data", outcome(c.setsockopt, TCP, TCP_REPAIR_OPTIONS, repair_opts((TCPOPT_MSS, 999)))])
    out.append(["repair off without probe", outcome(c.setsockopt, TCP, TCP_REPAIR, -1)])
    a.setsockopt(TCP, TCP_REPAIR, 1)
    out.append(["options before data", outcome(a.setsockopt, TCP, TCP_REPAIR_OPTIONS, repair_opts(
        (TCPOPT_MSS, 1000), (99, 1), (TCPOPT_SACK_PERM, 0)))])
    out.append(["wscale 15", outcome(a.setsockopt, TCP, TCP_REPAIR_OPTIONS, repair_opts((TCPOPT_WINDOW, 15)))])
    out.append(["sack 1", outcome(a.setsockopt, TCP, TCP_REPAIR_OPTIONS, repair_opts((TCPOPT_SACK_PERM, 1)))])
    out.append(["timestamps 1", outcome(a.setsockopt, TCP, TCP_REPAIR_OPTIONS, repair_opts((TCPOPT_TIMESTAMP, 1)))])
    out.append(["short option", outcome(a.setsockopt, TCP, TCP_REPAIR_OPTIONS, b"\x02\x00\x00")])
    out.append(["maxseg", a.getsockopt(TCP, socket.TCP_MAXSEG)])
    a.setsockopt(TCP, TCP_REPAIR_QUEUE, RECV_QUEUE)
    out.append(["peek the receive queue", outcome(a.recv, 10, MSG_PEEK)])
    out.append(["100 KB into the receive queue", outcome(a.send, bytes(100_000))])
    out.append(["what the receive queue holds", len(a.recv(200_000, MSG_PEEK))])
    a.setsockopt(TCP, TCP_REPAIR_QUEUE, SEND_QUEUE)
    out.append(["peek the send queue", outcome(a.recv, 10, MSG_PEEK | MSG_DONTWAIT)])
    a.close()  # in repair mode: no FIN, no reset
    sleep(0.05)
    out.append(["the peer after a repair-mode close", outcome(c.recv, 10, MSG_DONTWAIT)])
    c.close()
    ls.close()
    return out


def migrate(sleep: Callable[[float], None]) -> list:
    """Checkpoint the client's end of a connection and restore it in a new socket."""
    out: list = []
    ls, c, a = lo_pair(5610)
    c.sendall(b"before")
    out.append(["before", a.recv(100).decode()])
    a.sendall(b"unread by the client")
    sleep(0.05)
    local, peer = c.getsockname(), c.getpeername()
    # read the connection out of its socket
    c.setsockopt(TCP, TCP_REPAIR, 1)
    c.setsockopt(TCP, TCP_REPAIR_QUEUE, SEND_QUEUE)
    snd_seq = c.getsockopt(TCP, TCP_QUEUE_SEQ) & 0xFFFFFFFF
    sendq = outcome(c.recv, 1000, MSG_PEEK | MSG_DONTWAIT)
    c.setsockopt(TCP, TCP_REPAIR_QUEUE, RECV_QUEUE)
    rcv_seq = c.getsockopt(TCP, TCP_QUEUE_SEQ) & 0xFFFFFFFF
    recvq = c.recv(1000, MSG_PEEK)
    window = c.getsockopt(TCP, TCP_REPAIR_WINDOW, 20)
    tsval = c.getsockopt(TCP, TCP_TIMESTAMP) & 0xFFFFFFFF
    info = c.getsockopt(TCP, socket.TCP_INFO, 8)
    mss = c.getsockopt(TCP, socket.TCP_MAXSEG)
    out.append(["queues", sendq, recvq.decode()])
    snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup = struct.unpack("=5I", window)
    out.append(["window", (rcv_seq - rcv_wup) & 0xFFFFFFFF == len(recvq), max_window >= snd_wnd])
    c.close()
    sleep(0.05)
    out.append(["the peer after the close", outcome(a.recv, 10, MSG_DONTWAIT)])
    # and into a new one
    n = socket.socket()
    n.setsockopt(TCP, TCP_REPAIR, 1)
    n.bind(local)
    n.setsockopt(TCP, TCP_REPAIR_QUEUE, SEND_QUEUE)
    out.append(["send seq", outcome(n.setsockopt, TCP, TCP_QUEUE_SEQ, u32(snd_seq))])
    n.setsockopt(TCP, TCP_REPAIR_QUEUE, RECV_QUEUE)
    out.append(["recv seq", outcome(n.setsockopt, TCP, TCP_QUEUE_SEQ, u32(rcv_seq - len(recvq)))])
    out.append(["timestamp", outcome(n.setsockopt, TCP, TCP_TIMESTAMP, u32(tsval))])
    out.append(["connect", outcome(n.connect, peer)])
    snd_wscale, rcv_wscale = info[6] & 15, info[6] >> 4
    out.append(["options", outcome(n.setsockopt, TCP, TCP_REPAIR_OPTIONS, repair_opts(
        (TCPOPT_MSS, mss), (TCPOPT_WINDOW, snd_wscale | rcv_wscale << 16), (TCPOPT_SACK_PERM, 0),
        (TCPOPT_TIMESTAMP, 0)))])
    out.append(["restore window", outcome(n.setsockopt, TCP, TCP_REPAIR_WINDOW, window)])
    out.append(["restore the receive queue", outcome(n.send, recvq)])
    out.append(["recv seq after", n.getsockopt(TCP, TCP_QUEUE_SEQ) & 0xFFFFFFFF == rcv_seq])
    n.setsockopt(TCP, TCP_REPAIR_QUEUE, SEND_QUEUE)
    out.append(["send into the send queue", outcome(n.send, b"queued in repair")])
    out.append(["send seq after", (n.getsockopt(TCP, TCP_QUEUE_SEQ) - snd_seq) & 0xFFFFFFFF])
    out.append(["repair off", outcome(n.setsockopt, TCP, TCP_REPAIR, 0)])
    out.append(["the restored queue", n.recv(1000).decode()])
    n.sendall(b"after")
    sleep(0.05)
    a.settimeout(2)
    got = b""
    while len(got) < len(b"queued in repairafter"):
        got += a.recv(100)
    out.append(["the peer reads", got.decode()])
    a.sendall(b"reply")
    n.settimeout(2)
    out.append(["the restored socket reads", n.recv(100).decode()])
    out.append(["tcp_info state and options", list(n.getsockopt(TCP, socket.TCP_INFO, 8)[:1]),
                n.getsockopt(TCP, socket.TCP_INFO, 8)[5] & 0x7])
    n.close()
    sleep(0.05)
    out.append(["the peer sees the end", outcome(a.recv, 10)])
    a.close()
    ls.close()
    return out


PLAYS = {"calls": calls, "migrate": migrate}


@pytest.mark.parametrize("name", sorted(PLAYS))
def test_repair_as_on_the_kernel(name: str) -> None:
    linux = kernel_outcomes(__file__.rsplit("/", 1)[1], name)
    world, host = lo_world()
    ours = tuxnet_outcomes(world, host, PLAYS[name], libc.sleep)
    assert ours == linux


if __name__ == "__main__":
    print(json.dumps(PLAYS[sys.argv[1]](time.sleep)))
