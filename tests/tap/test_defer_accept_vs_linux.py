"""TCP_DEFER_ACCEPT judged by this machine's kernel: ``tests/packetdrill/scripts/defer_accept.pkt``
states what tuxnet does (a bare ACK dropped, the SYN-ACK sent again only at the last of the two
timeouts that 3 s make, 3 s after the SYN, and the ACK of that one making the connection); the
same packets, played to a kernel socket through a TAP device (scapy builds them), must meet the
same answers at the same times, within the kernel's timer slack."""

from __future__ import annotations

import select
import time
from pathlib import Path

import pytest
from linuxnet import KernelPeer

from tuxnet.packetdrill.runner import run_file

pytestmark = pytest.mark.root

SCRIPT = Path(__file__).resolve().parents[1] / "packetdrill" / "scripts" / "defer_accept.pkt"
PEER_MAC = "02:00:00:00:00:96"
LINUX_IP, PEER_IP = "10.253.0.1", "10.253.0.2"
SERVER = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 3)
print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT), file=sys.stderr, flush=True)
s.bind((sys.argv[1], 8080)); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); print("accepted", flush=True); sys.stdin.read()
"""


def test_syn_acks_and_accept_come_when_the_kernels_do(netns) -> None:
    pytest.importorskip("scapy")
    from scapy.layers.inet import TCP

    result = run_file(SCRIPT)
    assert result.passed, result.message
    sport = 40300
    peer = KernelPeer(netns, "dfra", LINUX_IP, PEER_IP, PEER_MAC, sport, SERVER, [LINUX_IP])
    try:
        start = time.monotonic()
        peer.send(TCP(sport=sport, dport=8080, flags="S", seq=0, window=65535,
                      options=[("MSS", 1460), ("SAckOK", b""), ("NOP", None), ("WScale", 7)]))
        synack = peer.next_segment(0.5)
        assert synack is not None and synack[1].flags == "SA"
        ack = synack[1].seq + 1
        time.sleep(0.01)
        peer.send(TCP(sport=sport, dport=8080, flags="A", seq=1, ack=ack, window=512))
        # the bare ACK made no connection; the next SYN-ACK comes 3 s after the SYN, none before
        again = peer.next_segment(3.6)
        assert again is not None and again[1].flags == "SA"
        assert 2.95 <= again[0] - start <= 3.3, again[0] - start
        assert not select.select([peer.server.stdout], [], [], 0)[0]
        peer.send(TCP(sport=sport, dport=8080, flags="A", seq=1, ack=ack, window=512))
        assert select.select([peer.server.stdout], [], [], 1.0)[0]
        assert peer.server.stdout.readline().strip() == "accepted"
    finally:
        peer.close()
