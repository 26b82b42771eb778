"""Where a send's time goes, as SO_TIMESTAMPING's send timestamps tell it.

    a 10.0.0.1 ==10 Mb/s, 2 ms== b 10.0.0.2        (a's eth0 behind tbf rate 4mbit)

a sends ten 10,000-byte messages to b, one every 10 ms: 8 Mb/s offered to a 4 Mb/s shaper.  For
each send the socket asks for three timestamps (``SOF_TIMESTAMPING_TX_SCHED | TX_SOFTWARE |
TX_ACK``, with ``OPT_ID`` and ``OPT_TSONLY``) and reads them from its error queue:

- SCHED, when the queueing layer took the packet holding the send's last byte (``dev_queue_xmit``):
  before that the bytes wait in the socket, and the wait grows with each message, for TCP lets
  only a little more into the qdisc than the shaper passes (TCP Small Queues);
- SND, when the driver gave it to the device (``skb_tx_timestamp``): the time between is the
  packet's wait in the tbf queue;
- ACK, when b acknowledged that byte (``tcp_ack_tstamp``): a round trip (4 ms) and the wire.

    python examples/tx_timestamps.py

The client and the server are plain programs of Python's socket and time modules, which
``tuxnet.socket.stdlib`` serves from their hosts while they run: on two Linux machines they would
run as they are (the constants below are Linux's, which Python's socket module does not name).
The error queue is read with ``recvmsg(MSG_ERRQUEUE)``; a key is the offset of the send's last
byte from where OPT_ID was set.  Each send is made with MSG_EOR: a buffer carries one request,
and a later send appended to it (Nagle, autocorking behind the full queue) would take its place,
so the earlier send would never be stamped.
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from typing import Any, TextIO

from tuxnet.socket import stdlib
from tuxnet.user.tc import tc
from tuxnet.world import World, msecs

MESSAGES, SIZE = 10, 10_000
# <asm-generic/socket.h>, <linux/in.h>, <linux/net_tstamp.h>, <linux/errqueue.h>
SO_TIMESTAMPING, IP_RECVERR, MSG_ERRQUEUE = 37, 11, 0x2000
TX_SOFTWARE, SOFTWARE, OPT_ID, TX_SCHED, TX_ACK, OPT_TSONLY = 1 << 1, 1 << 4, 1 << 7, 1 << 8, 1 << 9, 1 << 11
FLAGS = SOFTWARE | OPT_ID | OPT_TSONLY | TX_SCHED | TX_SOFTWARE | TX_ACK
KINDS = {1: "sched", 0: "snd", 2: "ack"}  # SCM_TSTAMP_SCHED, _SND, _ACK


def server() -> None:
    ls = socket.socket()
    ls.bind(("10.0.0.2", 5001))
    ls.listen()
    conn, _ = ls.accept()
    while conn.recv(65536):
        pass


def read_timestamps(s: Any) -> dict[int, dict[str, int]]:
    """The error queue's send timestamps, by key: {kind: nanoseconds}."""
    stamps: dict[int, dict[str, int]] = {}
    while True:
        try:
            _, ancdata, _, _ = s.recvmsg(0, 1024, MSG_ERRQUEUE | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return stamps
        when = info = key = 0
        for level, kind, data in ancdata:
            if (level, kind) == (socket.SOL_SOCKET, SO_TIMESTAMPING):
                sec, nsec = struct.unpack_from("qq", data)  # the first of three timespecs: software
                when = sec * 1_000_000_000 + nsec
            elif (level, kind) == (socket.IPPROTO_IP, IP_RECVERR):
                # struct sock_extended_err: errno, origin, type, code, pad, info, data
                _, _, _, _, _, info, key = struct.unpack_from("IBBBBII", data)
        stamps.setdefault(key, {})[KINDS[info]] = when


def client(result: dict[int, dict[str, int]]) -> None:
    s = socket.create_connection(("10.0.0.2", 5001))
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING, FLAGS)
    sent = {}
    for i in range(MESSAGES):
        sent[(i + 1) * SIZE - 1] = time.time_ns()
        s.sendall(b"m" * SIZE, socket.MSG_EOR)
        time.sleep(0.01)
    time.sleep(0.5)
    result.update(read_timestamps(s))
    for key, when in sent.items():
        result.setdefault(key, {})["send"] = when
    s.close()


def main(out: TextIO = sys.stdout) -> int:
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="10mbit", delay="2ms", a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    tc(a, "qdisc add dev eth0 root tbf rate 4mbit burst 5kb latency 1s")
    world.run_for(msecs(1))
    result: dict[int, dict[str, int]] = {}
    procs = [b.spawn(stdlib(server)), a.spawn(stdlib(client), result)]
    # (both to their end: the standard modules are given back once no program runs)
    world.run_until(lambda: not any(p.alive for p in procs), timeout=msecs(10_000))
    print(f"{'key':>6} {'in the socket':>16} {'in the qdisc':>16} {'to the ACK':>16}", file=out)
    print(f"{'':>6} {'(SCHED - send)':>16} {'(SND - SCHED)':>16} {'(ACK - SND)':>16}", file=out)
    complete = 0
    for key in sorted(result):
        t = result[key]
        if len(t) == 4:
            complete += 1
            spans = (t["sched"] - t["send"], t["snd"] - t["sched"], t["ack"] - t["snd"])
            print(f"{key:>6}" + "".join(f" {span / 1e6:>13.3f} ms" for span in spans), file=out)
    return 0 if complete == MESSAGES else 1


if __name__ == "__main__":
    sys.exit(main())
