"""The signature options of segments that come in, judged by this machine's kernel (6.18, built
with TCP MD5 and without TCP-AO): every segment is read for an MD5 (RFC 2385) or AO (RFC 5925)
option while an MD5 option's worth of options remains (``tcp_do_parse_auth_options``), and one
with an option of a bad length there, an MD5 or AO option of the wrong size, or two of them is
dropped, by a connection that has no keys at all, by a listener, and without the reset a closed
port would give.  An MD5 option no key expects is dropped and counted (TCPMD5Unexpected); an AO
option is let through (the kernel has no TCP-AO to check it with), except on the ACK that would
complete a handshake (TCPAOBad).  The segments are played to the kernel through a TAP device
(scapy frames them) and to tuxnet through a TUN device; each must answer alike."""

from __future__ import annotations

import os
import struct

import pytest
from linuxnet import KernelPeer

from rawpeer import LPORT, MS, PEER_ISN, Peer
from tuxnet.net.core.checksum import csum_partial, csum_tcpudp_magic
from tuxnet.net.core.utils import in_aton
from tuxnet.net.ipv4.tcp_sock import TCP_NEW_SYN_RECV
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc

pytestmark = pytest.mark.root

PEER_MAC = "02:00:00:00:00:96"
LINUX_IP, PEER_IP = "10.253.0.1", "10.253.0.2"
CLOSED = LPORT + 1
NOP = b"\x01"
MSS = b"\x02\x04\x05\xb4"
MD5 = b"\x13\x12" + bytes(range(16))
AO = b"\x1d\x06\x01\x01ab"
# Options of a data segment, each a multiple of four octets (no padding to differ in).
PROBES = [
    ("a bad length once fewer than 18 octets remain", NOP * 20 + b"\x08\x01" + NOP * 2),
    ("a bad length first", b"\x08\x01" + NOP * 22),
    ("a length past the end", b"\x08\x20" + NOP * 22),
    ("an AO option", AO + NOP * 14),
    ("an AO option of 4 octets", b"\x1d\x04\x01\x01" + NOP * 16),
    ("an MD5 option no key expects", MD5 + NOP * 2),
    ("an MD5 option of 16 octets", b"\x13\x10" + bytes(14) + NOP * 4),
    ("an MD5 option after 17 NOPs", NOP * 17 + MD5 + NOP),
    ("two AO options", AO + AO + NOP * 12),
    ("MD5 then AO: AO no longer read", MD5 + AO),
    ("AO then MD5", AO + MD5),
    ("timestamps", NOP * 2 + b"\x08\x0a" + bytes(8)),
    ("none", b""),
]
# The SYNs to a closed port: a reset answers only those whose signature options are well formed
# and carry no signature (an MD5 one could be checked only by a listener on the port it came from,
# and a kernel without TCP-AO signs no reset for an AO one: tcp_v4_ao_sign_reset()).
SYNS = [("MSS", MSS), ("a bad length first", b"\x08\x01" + NOP * 18 + MSS), ("an MD5 option", MD5 + NOP * 2),
        ("an AO option", AO + NOP * 14)]

SERVER = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8080)); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); sys.stdin.read()
"""


def tcp_bytes(src: str, dst: str, dport: int, flags: int, seq: int, ack: int, opts: bytes, payload: bytes) -> bytes:
    """A TCP segment as it goes on the wire, its checksum complete."""
    th = bytearray(struct.pack("!HHIIHHHH", 40300, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                               ((5 + len(opts) // 4) << 12) | flags, 65535, 0, 0)) + opts + payload
    th[16:18] = struct.pack("!H", csum_tcpudp_magic(in_aton(src), in_aton(dst), len(th), 6, csum_partial(bytes(th))))
    return bytes(th)


def verdict(acks: list[int], seq: int) -> str:
    """What became of a byte of data at ``seq``: acknowledged, answered without (a duplicate ACK),
    or dropped without a word."""
    if acks and acks[-1] == (seq + 1) & 0xFFFFFFFF:
        return "accepted"
    return "answered" if acks else "dropped"


def linux_answers(netns) -> list:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    peer = KernelPeer(netns, "auth", LINUX_IP, PEER_IP, PEER_MAC, 40300, SERVER, [LINUX_IP])
    try:
        def send(dport: int, flags: int, seq: int, ack: int, opts: bytes, payload: bytes = b"") -> list:
            frame = (Ether(src=PEER_MAC, dst=peer.linux_mac) / IP(src=PEER_IP, dst=LINUX_IP, proto=6)
                     / Raw(tcp_bytes(PEER_IP, LINUX_IP, dport, flags, seq, ack, opts, payload)))
            os.write(peer.fd, bytes(frame))
            return [seg for seg in peer.segments_until_quiet(0.3) if isinstance(seg, TCP)]

        out = []
        for name, opts in SYNS:
            out.append([name, [str(seg.flags) for seg in send(CLOSED, 0x02, PEER_ISN, 0, opts)]])
        synack = send(LPORT, 0x02, PEER_ISN, 0, MSS)[0]
        ack = synack.seq + 1
        answers = [str(s.flags) for s in send(LPORT, 0x10, PEER_ISN + 1, ack, AO + NOP * 14)]
        half_open = netns.run("ss", "-Htn", "state", "syn-recv").stdout.count(f":{LPORT} ")
        out.append(["the handshake's ACK with an AO option", answers, half_open])
        send(LPORT, 0x10, PEER_ISN + 1, ack, b"")
        seq = PEER_ISN + 1
        for name, opts in PROBES:
            answer = verdict([s.ack for s in send(LPORT, 0x18, seq, ack, opts, b"X")], seq)
            out.append([name, answer])
            seq += answer == "accepted"
        stats = netns.run("nstat", "-az", "TcpExtTCPMD5Unexpected", "TcpExtTCPAOBad").stdout.split()
        out.append([int(stats[stats.index(name) + 1]) for name in ("TcpExtTCPMD5Unexpected", "TcpExtTCPAOBad")])
        return out
    finally:
        if peer.server is not None and peer.server.stdin is not None:
            peer.server.stdin.close()
            peer.server.stdin = None
        peer.close()


def tuxnet_answers() -> list:
    peer = Peer()

    def send(dport: int, flags: int, seq: int, ack: int, opts: bytes, payload: bytes = b"") -> list[bytes]:
        n = len(peer.out)
        peer.segment(flags, seq, ack, 65535, opts, payload, dport=dport)
        peer.world.run_for(300 * MS)
        return [pkt.data[(pkt.data[0] & 15) * 4:] for pkt in peer.out[n:]]

    def flags(th: bytes) -> str:
        return "".join(letter for bit, letter in ((1, "F"), (2, "S"), (4, "R"), (8, "P"), (16, "A")) if th[13] & bit)

    out = []
    for name, opts in SYNS:
        out.append([name, [flags(th) for th in send(CLOSED, 0x02, PEER_ISN, 0, opts)]])
    lfd = peer.call(libc.socket, AF_INET, SOCK_STREAM, 0)
    assert peer.call(libc.bind, lfd, ("192.168.0.1", LPORT)) is None
    assert peer.call(libc.listen, lfd, 1) is None
    synack = send(LPORT, 0x02, PEER_ISN, 0, MSS)[0]
    ack = struct.unpack_from("!I", synack, 4)[0] + 1
    answers = [flags(th) for th in send(LPORT, 0x10, PEER_ISN + 1, ack, AO + NOP * 14)]
    half_open = sum(sk.sk_state == TCP_NEW_SYN_RECV for sk in peer.host.tcp_hashinfo.ehash.values())
    out.append(["the handshake's ACK with an AO option", answers, half_open])
    send(LPORT, 0x10, PEER_ISN + 1, ack, b"")
    seq = PEER_ISN + 1
    for name, opts in PROBES:
        answer = verdict([struct.unpack_from("!I", th, 8)[0] for th in send(LPORT, 0x18, seq, ack, opts, b"X")], seq)
        out.append([name, answer])
        seq += answer == "accepted"
    out.append([peer.host.mib.TcpExt["TCPMD5Unexpected"], peer.host.mib.TcpExt["TCPAOBad"]])
    return out


def test_signature_options_are_read_as_the_kernel_reads_them(netns):
    pytest.importorskip("scapy")
    linux = linux_answers(netns)
    ours = tuxnet_answers()
    assert ours == linux
    assert ours[:4] == [["MSS", ["RA"]], ["a bad length first", []], ["an MD5 option", []], ["an AO option", []]]
    assert ours[4] == ["the handshake's ACK with an AO option", [], 1]  # (dropped: the request stays)
    assert dict(ours[5:-1])["a bad length first"] == "dropped" and dict(ours[5:-1])["none"] == "accepted"
    assert ours[-1] == [3, 1]
