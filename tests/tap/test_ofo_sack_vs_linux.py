"""The SACK blocks of a receiver with an out-of-order queue, judged by the Linux kernel on this
machine: the segments of ``ofo.STEPS`` are played to a kernel socket through a TAP device (scapy
builds them), and the ACKs it sends for each are the ones tuxnet must send; so are the ACKs of
``ofo.BURST``, where the kernel compresses SACKs."""

from __future__ import annotations

import os
import time

import pytest
from linuxnet import KernelPeer

from ofo import BURST, MSS, STEPS, WARM, Ack, sack_blocks, tuxnet_acks, tuxnet_burst_acks

pytestmark = pytest.mark.root

PEER_MAC = "02:00:00:00:00:98"
LINUX_IP, PEER_IP = "10.251.0.1", "10.251.0.2"
# A server that accepts and never reads: no window update comes between the ACKs.
SERVER = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8080)); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); sys.stdin.read()
"""


def ack_of(seg) -> Ack:
    """A kernel segment's ACK and SACK blocks, relative to the first byte of data (ISN 0)."""
    return (seg.ack - 1) & 0xFFFFFFFF, sack_blocks(bytes(seg)[20:seg.dataofs * 4], 1)


def linux_acks(netns) -> list[list[Ack]]:
    from scapy.layers.inet import TCP

    sport = 40123
    peer = KernelPeer(netns, "ofop", LINUX_IP, PEER_IP, PEER_MAC, sport, SERVER, [LINUX_IP],
                      ["net.ipv4.tcp_sack=1", "net.ipv4.tcp_dsack=1"])
    try:
        peer.send(TCP(sport=sport, dport=8080, flags="S", seq=0, window=65535,
                      options=[("MSS", MSS), ("SAckOK", b""), ("NOP", None), ("WScale", 7)]))
        synack = peer.segments_until_quiet(0.5)[0]
        assert synack.flags == "SA", synack
        ack = synack.seq + 1
        peer.send(TCP(sport=sport, dport=8080, flags="A", seq=1, ack=ack, window=65535))
        peer.segments_until_quiet(0.1)
        answers = []
        for start, length in STEPS:
            peer.send(TCP(sport=sport, dport=8080, flags="A", seq=1 + start, ack=ack, window=65535) / bytes(length))
            # an ACK of out-of-order data may wait up to 1 ms (SACK compression), one of in-order
            # data up to the delayed-ACK timer (40 ms and more): 100 ms, as tuxnet is given
            answers.append([ack_of(s) for s in peer.segments_until_quiet(0.1)])
        return answers
    finally:
        peer.close()


def test_the_sack_blocks_of_an_out_of_order_train_are_the_kernels(netns):
    pytest.importorskip("scapy")
    kernel = linux_acks(netns)
    assert tuxnet_acks() == kernel, "\n".join(f"{s}: kernel {k}" for s, k in zip(STEPS, kernel, strict=False))


def linux_burst_acks(netns) -> tuple[list[Ack], int]:
    from scapy.layers.inet import TCP

    sport = 40124
    peer = KernelPeer(netns, "ofob", LINUX_IP, PEER_IP, PEER_MAC, sport, SERVER, [LINUX_IP],
                      ["net.ipv4.tcp_sack=1", "net.ipv4.tcp_dsack=1", "net.ipv4.tcp_timestamps=1"])
    try:
        def segment(seq: int, tsval: int, payload: bytes = b"") -> TCP:
            return TCP(sport=sport, dport=8080, flags="A", seq=seq, ack=ack, window=65535,
                       options=[("NOP", None), ("NOP", None), ("Timestamp", (tsval, tsecr))]) / payload

        peer.send(TCP(sport=sport, dport=8080, flags="S", seq=0, window=65535,
                      options=[("MSS", MSS), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None), ("WScale", 7)]))
        synack = peer.segments_until_quiet(0.5)[0]
        assert synack.flags == "SA", synack
        ack = synack.seq + 1
        tsecr = dict(synack.options)["Timestamp"][0]
        time.sleep(0.05)
        peer.send(segment(1, 2))
        for k in range(WARM):
            peer.send(segment(1 + k * MSS, 3, bytes(MSS)))
            peer.segments_until_quiet(0.001)
        peer.segments_until_quiet(0.1)
        frames = [peer.frame(segment(1 + start, 4, bytes(length))) for start, length in BURST]
        for frame in frames:  # built first, so that they leave back to back
            os.write(peer.fd, frame)
        acks = [ack_of(s) for s in peer.segments_until_quiet(0.1)]
        nstat = netns.run("nstat", "-az", "TcpExtTCPAckCompressed").stdout.split()
        return acks, int(nstat[nstat.index("TcpExtTCPAckCompressed") + 1])
    finally:
        peer.close()


def test_sacks_are_compressed_as_the_kernel_compresses_them(netns):
    """Three duplicate ACKs at once, then one for the rest of the burst (tcp_comp_sack)."""
    pytest.importorskip("scapy")
    kernel = linux_burst_acks(netns)
    assert len(kernel[0]) == 4, kernel
    assert tuxnet_burst_acks() == kernel
