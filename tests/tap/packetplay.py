"""Packet sockets (AF_PACKET) on loopback, played by this machine's kernel (run as a script in a
network namespace of its own: ``python packetplay.py``, printing the outcomes as JSON) and by
tuxnet (imported, run with ``tuxnet.socket.stdlib``).  A socket hearing every protocol (bound to
lo) sees each datagram twice, going out and coming in; one hearing IPv4 only sees it come in,
with its time when it asks (SO_TIMESTAMPNS); frames sent from packet sockets (whole, and with the
header put on by the kernel) reach a UDP socket; bad calls get their errors.  A frame is shown as
its link-layer header and protocol fields, the IP ID and checksums left out (each kernel has its
own IDs, and Linux leaves the UDP checksum of a looped datagram partial).  The module imports
nothing of tuxnet's."""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from cmsgplay import t

ETH_P_ALL, ETH_P_IP = 0x0003, 0x0800
SO_TIMESTAMPNS = 35
SOL_PACKET, PACKET_STATISTICS = 263, 6


def udp_packet(payload: bytes, dport: int) -> bytes:
    """An IPv4 datagram from 127.0.0.1 to 127.0.0.1:``dport``, its UDP checksum 0 (none)."""
    udp = struct.pack("!HHHH", 4242, dport, 8 + len(payload), 0) + payload
    header = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                                   bytes((127, 0, 0, 1)), bytes((127, 0, 0, 1))))
    total = sum(struct.unpack("!10H", header))
    total = (total & 0xFFFF) + (total >> 16)
    header[10:12] = struct.pack("!H", ~total & 0xFFFF)
    return bytes(header) + udp


def describe(data: bytes, ip_at: int) -> list[Any]:
    """A frame (or, ``ip_at`` 0, a datagram): its link-layer header, IP length, protocol and
    addresses, the UDP ports and payload."""
    ip = data[ip_at:]
    ihl = (ip[0] & 0x0F) * 4
    return [data[:ip_at].hex(), len(data), ip[0], struct.unpack_from("!H", ip, 2)[0], ip[9], ip[12:20].hex(),
            ip[ihl:ihl + 4].hex(), ip[ihl + 8:].hex()]


def drain(s: socket.socket, ip_at: int) -> list[Any]:
    out = []
    while True:
        try:
            data, addr = s.recvfrom(4000)
        except BlockingIOError:
            return out
        out.append([describe(data, ip_at), list(addr[:4]), addr[4].hex()])


def play(sleep: Callable[[], None]) -> list[Any]:
    out: list[Any] = []
    every = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    out.append(["bind lo", t(every.bind, ("lo", 0))])
    out.append(["getsockname", list(every.getsockname()[:4])])
    ipv4 = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    stamped = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    stamped.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    for s in (every, ipv4, stamped):
        s.setblocking(False)
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 9000))
    rx.setblocking(False)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.bind(("127.0.0.1", 4343))  # (not an ephemeral port: each kernel picks its own)
    tx.sendto(b"one", ("127.0.0.1", 9000))
    sleep()
    out.append(["every protocol, raw", drain(every, 14)])
    out.append(["ipv4 only, dgram", drain(ipv4, 0)])
    out.append(["udp", t(rx.recv, 100)])
    # SO_TIMESTAMPNS: a struct timespec with each frame (its value is each kernel's clock)
    data, ancillary, flags, _ = stamped.recvmsg(4000, 100)
    out.append(["timestamped", len(data), flags, [[level, kind, len(stamp)] for level, kind, stamp in ancillary]])
    # sent from packet sockets: a whole frame, and a datagram the kernel puts the header on
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    frame = bytes(12) + struct.pack("!H", ETH_P_IP) + udp_packet(b"two", 9000)
    out.append(["send frame", t(raw.sendto, frame, ("lo", ETH_P_IP))])
    dgram = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
    out.append(["send datagram", t(dgram.sendto, udp_packet(b"three", 9000), ("lo", ETH_P_IP, 0, 0, bytes(6)))])
    sleep()
    out.append(["udp", t(rx.recv, 100), t(rx.recv, 100)])
    out.append(["every protocol, raw", drain(every, 14)])
    out.append(["ipv4 only, dgram", drain(ipv4, 0)])
    out.append(["statistics", list(struct.unpack("II", every.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))),
                list(struct.unpack("II", every.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)))])
    # what is refused
    out.append(["bind nowhere", t(every.bind, ("nosuch0", 0))])
    out.append(["stream", t(socket.socket, socket.AF_PACKET, socket.SOCK_STREAM, 0)])
    out.append(["too long", t(dgram.sendto, bytes(70000), ("lo", ETH_P_IP))])
    out.append(["short frame", t(raw.sendto, bytes(10), ("lo", ETH_P_IP))])
    out.append(["no device", t(raw.send, frame)])
    out.append(["getpeername", t(every.getpeername)])
    for s in (every, ipv4, stamped, rx, tx, raw, dgram):
        s.close()
    return out


if __name__ == "__main__":
    print(json.dumps(play(lambda: time.sleep(0.05))))
