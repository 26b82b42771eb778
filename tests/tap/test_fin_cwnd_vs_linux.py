"""A FIN waits for room in cwnd, judged by this machine's kernel (Linux 6.10 dropped
``tcp_cwnd_test``'s exception for a final FIN, commit "tcp: remove dubious FIN exception from
tcp_cwnd_test()").

A connection over loopback with an MSS of 988 bytes sends ten segments, cwnd's ten, and its peer's
ACKs are dropped (iptables on the kernel's side, a LOCAL_OUT netfilter hook on tuxnet's), so cwnd
stays full.  A shutdown then queues the FIN, which stays unsent: SIOCOUTQNSD (``write_seq -
snd_nxt``) reads 1, SIOCOUTQ 9881.  Once the ACKs pass again the FIN leaves with them.  The shared
packetdrill suite's ``shutdown/shutdown-rdwr-write-queue-close.pkt`` expects the FIN at once, as
kernels before 6.10 sent it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import struct
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest
from loplay import kernel_outcomes, lo_world, tuxnet_outcomes

from tuxnet.net.core.netfilter import (
    NF_ACCEPT,
    NF_DROP,
    NF_INET_LOCAL_OUT,
    nf_register_net_hook,
    nf_unregister_net_hook,
)
from tuxnet.user import libc

pytestmark = pytest.mark.root

PORT = 7400
SIOCOUTQ, SIOCOUTQNSD = 0x5411, 0x894B
TCP_CONGESTION = 13


def ioctl(s: Any, request: int) -> int:
    return struct.unpack("i", fcntl.ioctl(s, request, bytes(4)))[0]


def play(block_acks: Callable[[bool], None], sleep: Callable[[float], None]) -> list[Any]:
    """The program: the outcomes after the send, after the shutdown, after the ACKs pass."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", PORT))
    ls.listen()
    c = socket.socket()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1000)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.setsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, b"cubic")
    c.connect(("127.0.0.1", PORT))
    a, _ = ls.accept()
    sleep(0.05)
    out: list[Any] = []
    block_acks(True)
    out.append(["send", c.send(b"x" * 9880), ioctl(c, SIOCOUTQ), ioctl(c, SIOCOUTQNSD)])
    sleep(0.05)
    c.shutdown(socket.SHUT_WR)
    sleep(0.03)
    out.append(["shutdown", ioctl(c, SIOCOUTQ), ioctl(c, SIOCOUTQNSD)])
    block_acks(False)
    sleep(1.5)  # the next retransmission (the RTO backed off to 400 ms, then 800 ms) brings an ACK
    out.append(["acks pass", ioctl(c, SIOCOUTQ), ioctl(c, SIOCOUTQNSD), len(a.recv(20000))])
    return out


def iptables(block: bool) -> None:
    subprocess.run(["iptables", "-A" if block else "-D", "OUTPUT", "-p", "tcp", "--sport", str(PORT), "-j", "DROP"],
                   check=True)


def test_a_fin_waits_for_cwnd_as_on_the_kernel() -> None:
    if subprocess.run(["which", "iptables"], capture_output=True).returncode:
        pytest.skip("no iptables command")
    linux = kernel_outcomes(os.path.basename(__file__), "fin")
    world, host = lo_world()

    def drop_acks(_host: Any, skb: Any, _state: Any) -> int:
        th = skb.transport_header
        return NF_DROP if int.from_bytes(skb.buf[th:th + 2], "big") == PORT else NF_ACCEPT

    def block_acks(block: bool) -> None:
        if block:
            nf_register_net_hook(host, NF_INET_LOCAL_OUT, drop_acks)
        else:
            nf_unregister_net_hook(host, NF_INET_LOCAL_OUT, drop_acks)

    ours = tuxnet_outcomes(world, host, play, block_acks, libc.sleep)
    assert ours == linux
    assert ours[1] == ["shutdown", 9881, 1]  # the FIN queued, not sent
    assert ours[2] == ["acks pass", 0, 0, 9880]


if __name__ == "__main__":
    print(json.dumps(play(iptables, time.sleep)))
