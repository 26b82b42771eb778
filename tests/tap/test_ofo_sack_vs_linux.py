"""The SACK blocks of a receiver with an out-of-order queue, judged by the Linux kernel on this
machine: the segments of ``ofo.STEPS`` are played to a kernel socket through a TAP device (scapy
builds them), and the ACKs it sends for each are the ones tuxnet must send."""

from __future__ import annotations

import os
import select
import subprocess

import pytest

from ofo import MSS, STEPS, Ack, sack_blocks, tuxnet_acks
from tuxnet.drivers.net.tap import tap_open

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


def linux_acks(netns) -> list[list[Ack]]:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    fd, name = tap_open("ofop%d", False)
    server = None
    try:
        os.set_blocking(fd, False)
        subprocess.run(["ip", "link", "set", name, "netns", netns.name], check=True)
        netns.run("ip", "addr", "add", f"{LINUX_IP}/24", "dev", name)
        netns.run("ip", "link", "set", name, "up")
        netns.run("ip", "neigh", "replace", PEER_IP, "lladdr", PEER_MAC, "dev", name)
        for kv in ("net.ipv4.tcp_sack=1", "net.ipv4.tcp_dsack=1"):
            netns.run("sysctl", "-q", "-w", kv)
        linux_mac = netns.run("cat", f"/sys/class/net/{name}/address").stdout.strip()
        server = netns.popen("python3", "-c", SERVER, LINUX_IP, stdin=subprocess.PIPE)
        assert server.stdout.readline().strip() == "ready", server.stderr.read()
        ip = IP(src=PEER_IP, dst=LINUX_IP)
        sport = 40123

        def send(pkt) -> None:
            os.write(fd, bytes(Ether(src=PEER_MAC, dst=linux_mac) / ip / pkt))

        def receive(timeout: float) -> list:
            """The kernel's segments to us until ``timeout`` seconds pass without one."""
            got = []
            while select.select([fd], [], [], timeout)[0]:
                frame = Ether(os.read(fd, 65536))
                if frame.haslayer(TCP) and frame[IP].src == LINUX_IP and frame[TCP].dport == sport:
                    got.append(frame[TCP])
            return got

        receive(0.3)  # the link comes up (and says so over IPv6) first
        send(TCP(sport=sport, dport=8080, flags="S", seq=0, window=65535,
                 options=[("MSS", MSS), ("SAckOK", b""), ("NOP", None), ("WScale", 7)]))
        synack = receive(0.5)[0]
        assert synack.flags == "SA", synack
        ack = synack.seq + 1
        send(TCP(sport=sport, dport=8080, flags="A", seq=1, ack=ack, window=65535))
        receive(0.1)
        answers = []
        for start, length in STEPS:
            send(TCP(sport=sport, dport=8080, flags="A", seq=1 + start, ack=ack, window=65535) / bytes(length))
            # an ACK of out-of-order data may wait up to 1 ms (SACK compression), one of in-order
            # data up to the delayed-ACK timer (40 ms and more): 100 ms, as tuxnet is given
            segs = receive(0.1)
            answers.append([((s.ack - 1) & 0xFFFFFFFF, sack_blocks(bytes(s)[20:s.dataofs * 4], 1)) for s in segs])
        return answers
    finally:
        if server is not None:
            server.kill()
            server.communicate()
        os.close(fd)
        netns.run("ip", "link", "del", name, check=False)


def test_the_sack_blocks_of_an_out_of_order_train_are_the_kernels(netns):
    pytest.importorskip("scapy")
    kernel = linux_acks(netns)
    assert tuxnet_acks() == kernel, "\n".join(f"{s}: kernel {k}" for s, k in zip(STEPS, kernel, strict=False))
