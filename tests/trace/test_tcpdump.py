"""The tcpdump-style printer, judged line for line by the real tcpdump.

Frames are built with scapy, written with our PcapWriter and read back by
``tcpdump -nn -r`` (with ``-v``, ``-e`` and ``-S`` as well).  Tests that need
the tcpdump binary skip when it is absent.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuxnet.trace.pcap import PcapWriter
from tuxnet.trace.tcpdump import TcpdumpPrinter, format_frame

pytest.importorskip("scapy.all")
from scapy.all import (  # noqa: E402
    ARP,
    DNS,
    DNSQR,
    DNSRR,
    DNSRRMX,
    DNSRROPT,
    DNSRRSOA,
    DNSRRSRV,
    EDNS0TLV,
    ICMP,
    IP,
    TCP,
    UDP,
    Dot1Q,
    Ether,
    Raw,
    fragment,
)
from scapy.layers.inet import (  # noqa: E402
    IPOption_EOL,
    IPOption_LSRR,
    IPOption_NOP,
    IPOption_Router_Alert,
    IPOption_RR,
    in4_chksum,
)
from scapy.utils import checksum  # noqa: E402

A, B = "10.0.0.1", "10.0.0.2"
MAC_A, MAC_B = "02:00:00:00:00:01", "02:00:00:00:00:02"
NOON_NS = 43_200 * 1_000_000_000

Frame = tuple[int, bytes]


def eth(**kw: object) -> Ether:
    return Ether(src=MAC_A, dst=MAC_B, **kw)


def ip_with_options(options: bytes, payload: bytes = b"\x00\x01\x00\x02\x00\x08\x00\x00",
                    proto: int = 17) -> Ether:
    """An IPv4 packet with raw (possibly malformed) options and a correct header checksum."""
    hlen = 20 + len(options)
    header = bytearray(struct.pack("!BBHHHBBH4s4s", 0x40 | hlen // 4, 0, hlen + len(payload), 1, 0,
                                   64, proto, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])))
    header += options
    header[10:12] = checksum(bytes(header)).to_bytes(2, "big")
    return eth(type=0x0800) / Raw(bytes(header) + payload)


def tcp_with_options(options: bytes, flags: int = 0x02) -> Ether:
    """A TCP segment with raw (possibly malformed) options and a correct checksum."""
    header = bytearray(struct.pack("!HHIIBBHHH", 1000, 2000, 5, 0, (20 + len(options)) // 4 << 4,
                                   flags, 512, 0, 0) + options)
    ip = IP(src=A, dst=B, proto=6)
    header[16:18] = in4_chksum(6, ip / Raw(bytes(header)), bytes(header)).to_bytes(2, "big")
    return eth() / ip / Raw(bytes(header))


def tcp_flow() -> list[Ether]:
    """A connection whose numbers tcpdump prints relative to the ISNs."""
    c, s = IP(src=A, dst=B), IP(src=B, dst=A)
    syn_opts = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None), ("WScale", 7)]
    return [
        eth() / c / TCP(sport=40000, dport=5001, flags="S", seq=4_000_000_000, window=65495,
                        options=syn_opts),
        eth() / s / TCP(sport=5001, dport=40000, flags="SA", seq=77, ack=4_000_000_001,
                        window=65483, options=[("MSS", 1460)]),
        eth() / c / TCP(sport=40000, dport=5001, flags="A", seq=4_000_000_001, ack=78),
        eth() / c / TCP(sport=40000, dport=5001, flags="PA", seq=4_000_000_001, ack=78,
                        options=[("NOP", None), ("NOP", None), ("Timestamp", (2, 1))]) / (b"x" * 1000),
        eth() / s / TCP(sport=5001, dport=40000, flags="A", seq=78, ack=4_000_000_001,
                        options=[("NOP", None), ("NOP", None), ("SAck", (4_000_000_501, 4_000_001_001))]),
        eth() / c / TCP(sport=40000, dport=5001, flags="A", seq=4_000_001_001, ack=78,
                        options=[("SAck", (100, 200))]),
        eth() / c / TCP(sport=40000, dport=5001, flags="UA", seq=4_000_001_001, ack=78, urgptr=5)
        / b"12345",
        eth() / s / TCP(sport=5001, dport=40000, flags="FA", seq=78, ack=4_000_001_006),
        eth() / c / TCP(sport=40000, dport=5001, flags="RA", seq=4_000_001_006, ack=79),
        eth() / c / TCP(sport=40000, dport=5001, flags="SEC", seq=1),
        eth() / c / TCP(sport=40000, dport=5001, flags=0, seq=1),
        eth() / c / TCP(sport=7, dport=7, flags="A", seq=1, ack=2),
        eth() / s / TCP(sport=7, dport=7, flags="A", seq=2, ack=5),
        eth() / s / TCP(sport=7, dport=7, flags="RA", seq=2, ack=5) / b"reset reason\x01\xff",
        eth() / s / TCP(sport=7, dport=7, flags="R", seq=2) / (b"r" * 40),
    ]


def tcp_options() -> list[Ether]:
    raw = [
        b"\x02\x04\x05\xb4\x00\x00\x00\x00",  # mss, eol
        b"\x1c\x04\x80\x05",  # uto
        b"\x13\x12" + b"A" * 16 + b"\x00\x00",  # md5
        b"\x22\x02\x00\x00", b"\x22\x0aabcdefgh\x00\x00", b"\x22\x05abc",  # tfo
        b"\xfe\x08\xf9\x89abcd", b"\xfe\x04\x12\x34",  # experimental
        b"\x63\x05\x01\x02\x03\x00\x00\x00", b"\x63\x02\x00\x00",  # unknown
        b"\x14\x04\x01\x02",  # scps
        b"\x06\x06\x00\x00\x00\x09\x07\x06\x00\x00\x00\x0a\x0b\x06\x00\x00\x00\x01\x00\x00",
        b"\x1d\x06\x01\x02\xaa\xbb\x00\x00", b"\x1d\x02\x00\x00",  # tcp-ao
        b"\x05\x05\x00\x00\x00\x00\x00\x00",  # invalid sack
        b"\x02\x05\x05\xb4\x00\x01\x01\x01", b"\x02\x08\x05\xb4\x01\x01\x01\x01",  # bad lengths
        b"\x01\x02\x01\x01", b"\x03\x02\x01\x01", b"\x08\x0a\x00\x00", b"\x00\x01\x01\x01",
        b"\x01\xfe\x01\x01",
    ]
    frames = [tcp_with_options(o) for o in raw]
    short, long_ = tcp_with_options(b""), tcp_with_options(b"")
    short_b, long_b = bytearray(bytes(short)), bytearray(bytes(long_))
    short_b[46], long_b[46] = 0x30, 0xF0  # data offset 12 and 60 bytes
    frames += [Ether(bytes(short_b)), Ether(bytes(long_b))]
    return frames


def ip_cases() -> list[Ether]:
    udp12 = UDP(sport=1, dport=2)
    return [
        eth() / IP(src=A, dst=B) / TCP(sport=1000, dport=2000, flags="S", chksum=0x1234),
        eth() / IP(src=A, dst=B, chksum=0x4321) / TCP(sport=1000, dport=2000),
        eth() / IP(src=A, dst=B, tos=0x13, ttl=0, flags="DF", id=999) / TCP(sport=1000, dport=2000),
        eth() / IP(src=A, dst=B, tos=0xB8, flags="evil+DF") / UDP(sport=1111, dport=2222) / b"abc",
        eth() / IP(src=A, dst=B, tos=0x2) / UDP(sport=1111, dport=2222) / b"abc",
        eth() / IP(src=A, dst=B, tos=0x1) / UDP(sport=1111, dport=2222) / b"abc",
        eth() / IP(src=A, dst=B, options=[IPOption_RR(routers=["1.1.1.1", "2.2.2.2"],
                                                              pointer=8)]) / udp12,
        eth() / IP(src=A, dst=B, options=[IPOption_LSRR(routers=["1.1.1.1", "2.2.2.2"])])
        / TCP(sport=1, dport=2),
        eth() / IP(src=A, dst=B, options=[IPOption_Router_Alert()]) / udp12,
        eth() / IP(src=A, dst=B, options=[IPOption_NOP(), IPOption_NOP(),
                                          IPOption_EOL(), IPOption_NOP()]) / udp12,
        ip_with_options(b"\x44\x0c\x09\x00\x00\x00\x00\x01\x00\x00\x00\x02"),
        ip_with_options(b"\x44\x0c\x05\x11\x01\x01\x01\x01\x00\x00\x00\x02"),
        ip_with_options(b"\x44\x04\x05\x05"),
        ip_with_options(b"\x07\x02\x00\x00"),
        ip_with_options(b"\x07\x09\x04\x01\x02\x03\x04\x00\x00\x00\x00\x00"),
        ip_with_options(b"\x88\x01\x00\x00"),
        ip_with_options(b"\x88\x08\x00\x00"),
        eth() / IP(src=A, dst=B, ihl=4) / udp12,
        eth() / IP(src=A, dst=B, len=10) / udp12,
        eth() / IP(src=A, dst=B, len=0) / udp12,
        eth() / IP(src=A, dst=B, version=6) / udp12,
        eth() / IP(src=A, dst=B, version=5) / udp12,
        eth() / IP(src=A, dst=B, proto=99) / b"abcd",
        eth() / IP(src=A, dst=B) / IP(src="1.1.1.1", dst="2.2.2.2") / udp12,
        eth() / IP(src=A, dst=B, frag=1, flags="MF", proto=6) / b"abcdefgh",
        eth() / IP(src=A, dst=B, flags="MF") / TCP(sport=1, dport=2) / b"x",
        eth() / IP(src=A, dst=B, flags="MF") / ICMP(type=8) / b"x",
        eth(type=0x0800),
        eth(type=0x0800) / b"\x45\x00",
        *fragment(eth() / IP(src=A, dst=B, id=77) / UDP(sport=1, dport=2) / (b"y" * 3000),
                  fragsize=1480),
    ]


def udp_cases() -> list[Ether]:
    udp = eth() / IP(src=A, dst=B)
    return [
        udp / UDP(sport=40000, dport=9999) / (b"x" * 30),
        udp / UDP(sport=1, dport=2, len=100) / b"abc",
        udp / UDP(sport=1, dport=2, len=4) / b"abc",
        eth() / IP(src=A, dst=B, proto=17) / b"\x00\x01\x00",
        eth() / IP(src=A, dst=B, proto=17) / b"\x00\x01\x00\x02\x00",
    ]


def http_cases() -> list[Ether]:
    def seg(dport: int, payload: bytes) -> Ether:
        return eth() / IP(src=A, dst=B) / TCP(sport=40001, dport=dport, flags="PA", seq=1, ack=1) / payload

    return [
        seg(80, b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: x\r\n\r\n"),
        eth() / IP(src=B, dst=A) / TCP(sport=80, dport=40001, flags="PA", seq=1, ack=1)
        / b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        seg(8080, b"some body data\r\n"),
        seg(80, b"GET /partial"),
        seg(80, b"POST / HTTP/1.0\r\n\x00\x01binary"),
        seg(80, b"\xff\xfe"),
        seg(80, b"get  / HTTP/1.1\r\nA:\tb\r\n"),
        seg(80, b"x 404\rz"),
    ]


def dns_cases() -> list[Ether]:
    query = eth() / IP(src=A, dst=B) / UDP(sport=33333, dport=53)
    reply = eth() / IP(src=B, dst=A) / UDP(sport=53, dport=33333)
    soa = DNSRRSOA(rrname="example.com", mname="ns.example.com", rname="h.example.com", serial=1,
                   refresh=2, retry=3, expire=4, minimum=5)
    header = b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    long_name = b"".join(bytes([63]) + bytes([c]) * 63 for c in b"abcde") + b"\x00"
    message = bytes(DNS(id=9, rd=1, qd=DNSQR(qname="example.com")))
    return [
        query / DNS(id=12345, rd=1, qd=DNSQR(qname="www.example.com")),
        reply / DNS(id=12345, qr=1, rd=1, ra=1, qd=DNSQR(qname="www.example.com"),
                    an=DNSRR(rrname="www.example.com", rdata="10.0.0.80")),
        query / DNS(id=1, rd=1, qd=DNSQR(qname="example.com", qtype="AAAA")),
        reply / DNS(id=1, qr=1, aa=1, rd=1, qd=DNSQR(qname="example.com", qtype="AAAA"),
                    an=DNSRR(rrname="example.com", type="AAAA", rdata="2001:db8::1")
                    / DNSRR(rrname="example.com", type="AAAA", rdata="::ffff:1.2.3.4")),
        reply / DNS(id=2, qr=1, rd=1, ra=1, rcode=3, qd=DNSQR(qname="nx.example.com"), ns=soa),
        reply / DNS(id=3, qr=1, rd=1, ra=1, qd=DNSQR(qname="www.example.com"),
                    an=DNSRR(rrname="www.example.com", type="CNAME", rdata="web.example.com")
                    / DNSRR(rrname="web.example.com", rdata="1.2.3.4")
                    / DNSRR(rrname="web.example.com", rdata="1.2.3.5")),
        reply / DNS(id=4, qr=1, qd=DNSQR(qname="example.com", qtype="MX"),
                    an=DNSRRMX(rrname="example.com", preference=10, exchange="mail.example.com")
                    / DNSRR(rrname="example.com", type="TXT", rdata=[b"v=spf1 -all", b"x\x01y"])),
        reply / DNS(id=5, qr=1, qd=DNSQR(qname="_sip._tcp.example.com", qtype="SRV"),
                    an=DNSRRSRV(rrname="_sip._tcp.example.com", priority=1, weight=2, port=5060,
                                target="sip.example.com")),
        reply / DNS(id=6, qr=1, qd=DNSQR(qname="4.3.2.1.in-addr.arpa", qtype="PTR", qclass="CH"),
                    an=DNSRR(rrname="4.3.2.1.in-addr.arpa", type="PTR", rclass="CH",
                             rdata="host.example.com")),
        query / DNS(id=7, rd=1, cd=1, qd=DNSQR(qname="example.com") / DNSQR(qname="example.org"),
                    ar=DNSRROPT(rclass=4096, z=0x8000,
                                rdata=[EDNS0TLV(optcode=10, optdata=b"12345678")])),
        query / DNS(id=8, rd=1, qd=DNSQR(qname="example.com"),
                    ar=DNSRROPT(rclass=1232, rdata=[
                        EDNS0TLV(optcode=12, optdata=b"\0" * 7), EDNS0TLV(optcode=3, optdata=b"ab"),
                        EDNS0TLV(optcode=11, optdata=b"\0\x96"),
                        EDNS0TLV(optcode=8, optdata=b"\x00\x01\x18\x00\x0a\x01\x02")])),
        reply / DNS(id=10, qr=1, qd=[DNSQR(qname="a.example"), DNSQR(qname="b.example")], ancount=0),
        eth() / IP(src=A, dst=B) / UDP(sport=5353, dport=5353)
        / DNS(id=0, qd=DNSQR(qname="_http._tcp.local", qtype="PTR", unicastresponse=1)),
        eth() / IP(src=A, dst=B) / UDP(sport=5353, dport=5353)
        / DNS(id=0, qr=1, aa=1, an=DNSRR(rrname="h.local", rdata="10.0.0.1", cacheflush=1)),
        query / b"\x00\x01\x01",
        query / (header + b"\x03abc\xc0\x0c\x00\x01\x00\x01"),
        query / (header + b"\x03abc\x80\x00\x01\x00\x01"),
        query / (header + b"\x03abc\x41\x05\xff\x00\x00\x01\x00\x01"),
        query / (header + b"\x02a\x01\x00\x00\xff\x00\x01"),
        query / (header + long_name + b"\x00\x01\x00\x01"),
        eth() / IP(src=A, dst=B) / TCP(sport=40002, dport=53, flags="PA", seq=1, ack=1)
        / (len(message).to_bytes(2, "big") + message),
        eth() / IP(src=A, dst=B) / TCP(sport=40002, dport=53, flags="PA", seq=1, ack=1)
        / (b"\x00\x05" + message),
    ]


def icmp_cases() -> list[Ether]:
    out = eth() / IP(src=B, dst=A)
    quote_udp = IP(src=A, dst=B) / UDP(sport=40000, dport=33434) / (b"x" * 8)
    quote12 = IP(src=A, dst=B) / UDP(sport=1, dport=2)
    cases = [
        eth() / IP(src=A, dst=B) / ICMP(type=8, id=1, seq=1) / (b"x" * 56),
        eth() / IP(src=B, dst=A) / ICMP(type=0, id=1, seq=1) / (b"x" * 56),
        out / ICMP(type=3, code=3) / quote_udp,
        out / ICMP(type=11, code=0) / quote_udp,
        out / ICMP(type=3, code=4, nexthopmtu=1400) / quote_udp,
        out / ICMP(type=3, code=4, nexthopmtu=0) / quote12,
        out / ICMP(type=3, code=3) / IP(src=A, dst=B) / TCP(sport=40000, dport=2222),
        out / ICMP(type=3, code=2) / IP(src=A, dst=B) / TCP(sport=40000, dport=2222),
        out / ICMP(type=3, code=3) / IP(src=A, dst=B, proto=99) / bytes(8),
        out / ICMP(type=11, code=1) / quote12,
        out / ICMP(type=11, code=7) / quote12,
        out / ICMP(type=12, code=0, ptr=5) / quote12,
        out / ICMP(type=12, code=1) / quote12,
        out / ICMP(type=13, id=5, seq=6),
        out / ICMP(type=14, id=5, seq=6, ts_ori=3_723_004, ts_rx=5, ts_tx=86_399_999),
        out / ICMP(type=17),
        out / ICMP(type=18, addr_mask="255.255.255.0"),
        out / ICMP(type=4) / quote12,
        out / ICMP(type=10),
        out / ICMP(type=42, code=1),
        out / ICMP(type=8, id=1, seq=2, chksum=0xBEEF) / b"data",
        out / Raw(b"\x09\x00\x00\x00\x02\x02\x0e\x10\x0a\x00\x00\x01\x00\x00\x00\x05"
                  b"\x0a\x00\x00\x02\x00\x00\x00\x06"),
        out / Raw(b"\x09\x00\x00\x00\x03\x02\x00\x5a\x0a\x00\x00\x01\x00\x00\x00\x05"),
        out / Raw(b"\x09\x00\x00\x00\x01\x03\x00\x1e"),
        # Linux quotes only the start of the offending datagram.
        out / ICMP(type=3, code=3) / bytes(IP(src=A, dst=B) / UDP(sport=1, dport=53) / (b"q" * 200))[:28],
        out / ICMP(type=3, code=3) / bytes(IP(src=A, dst=B) / TCP(sport=1, dport=80) / (b"q" * 200))[:28],
        out / ICMP(type=3, code=3) / quote12 / (b"z" * 300),
    ]
    cases += [out / ICMP(type=3, code=code) / quote12 for code in (0, 1, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                                                                     15, 16)]
    cases += [out / ICMP(type=5, code=code, gw="10.0.0.254") / quote12 for code in range(5)]
    # RFC 4884 multi-part extensions with an MPLS label stack object.
    quoted = bytes(IP(src=A, dst=B) / UDP(sport=1, dport=2) / (b"z" * 100))
    quoted = quoted[:128].ljust(128, b"\0")
    ext = bytearray(b"\x20\x00\x00\x00\x00\x08\x01\x01" + (16 << 12 | 0x100 | 64).to_bytes(4, "big")
                    + b"\x00\x08\x02\x01\x01\x02\x03\x04")
    ext[2:4] = checksum(bytes(ext)).to_bytes(2, "big")
    cases += [out / ICMP(type=11, code=0, length=32) / quoted / bytes(ext),
              out / ICMP(type=11, code=0) / quoted / bytes(ext)]
    return cases


def arp_cases() -> list[Ether]:
    bcast = "ff:ff:ff:ff:ff:ff"
    cases = [
        Ether(src=MAC_A, dst=bcast) / ARP(op=1, hwsrc=MAC_A, psrc=A, pdst=B),
        Ether(src=MAC_B, dst=MAC_A) / ARP(op=2, hwsrc=MAC_B, psrc=B, hwdst=MAC_A, pdst=A) / bytes(18),
        Ether(src=MAC_A, dst=bcast) / ARP(op=1, hwsrc=MAC_A, psrc=A, hwdst="02:00:00:00:00:03", pdst=B),
        Ether(src=MAC_A, dst=bcast) / ARP(op=1, ptype=0x86DD, plen=4, hwsrc=MAC_A, psrc=A, pdst=B),
        Ether(src=MAC_A, dst=bcast) / ARP(op=2, hwtype=6, hwlen=4, plen=4),
        Ether(src=MAC_A, dst=bcast, type=0x0806) / b"\x00\x01\x08\x00\x06\x04\x00\x01\x02\x00",
        Ether(src=MAC_A, dst=bcast, type=0x0806)
        / b"\x00\x01\x08\x00\x00\x04\x00\x02\x0a\x00\x00\x01\x0a\x00\x00\x02",
    ]
    for op in (3, 4, 8, 9, 5):
        cases.append(Ether(src=MAC_A, dst=bcast, type=0x8035 if op in (3, 4) else 0x0806)
                     / ARP(op=op, hwsrc=MAC_A, psrc=A, hwdst="02:00:00:00:00:03", pdst=B))
    return cases


def link_cases() -> list[Ether]:
    return [
        eth() / Dot1Q(vlan=10, prio=5, dei=1) / IP(src=A, dst=B) / UDP(sport=1, dport=2),
        eth(type=0x88A8) / Dot1Q(vlan=100) / Dot1Q(vlan=10) / ARP(psrc=A, pdst=B),
        eth(type=0x8100) / b"\x00\x0a",
        eth(type=0x1234) / bytes(46),
        eth(type=0x86DD) / bytes(47),
    ]


def corpus() -> list[Frame]:
    packets = (tcp_flow() + tcp_options() + ip_cases() + udp_cases() + http_cases() + dns_cases()
               + icmp_cases() + arp_cases() + link_cases())
    return [(NOON_NS + i * 1_000_000_000, bytes(p)) for i, p in enumerate(packets)]


# -- running tcpdump ----------------------------------------------------------

# A packet's first line: any that is not indented (-ttt's and -ttttt's start with a space or a
# minus sign before their time)
_PACKET_START = re.compile(r"\n(?=[^\t ]| [\d\[])")


def split_packets(text: str) -> list[str]:
    """tcpdump's output, one string per packet (continuation lines included)."""
    text = text.rstrip("\n")
    return _PACKET_START.split(text) if text else []


def _pcap(tmp_path: Path, frames: list[Frame], linktype: int = 1, snaplen: int = 262144) -> Path:
    path = tmp_path / "frames.pcap"
    with PcapWriter(path, linktype=linktype, snaplen=snaplen) as writer:
        for ts, frame in frames:
            writer.write(ts, frame)
    return path


def tcpdump_text(tmp_path: Path, frames: list[Frame], *flags: str, linktype: int = 1, snaplen: int = 262144) -> str:
    """What this machine's tcpdump prints for ``frames`` read from a pcap (skips without it)."""
    binary = shutil.which("tcpdump")
    if binary is None:
        pytest.skip("tcpdump is not installed (apt-get install tcpdump)")
    path = _pcap(tmp_path, frames, linktype, snaplen)
    result = subprocess.run([binary, "-nn", *flags, "-r", str(path)], capture_output=True, check=True,
                            env={**os.environ, "TZ": "UTC"})
    return result.stdout.decode("latin-1")


def run_tcpdump(tmp_path: Path, frames: list[Frame], *flags: str, linktype: int = 1) -> list[str]:
    return split_packets(tcpdump_text(tmp_path, frames, *flags, linktype=linktype))


def printer_for(flags: tuple[str, ...], linktype: int = 1) -> Callable[[int, bytes], str]:
    if "-S" in flags:
        return lambda ts, frame: format_frame(ts, frame, link_level="-e" in flags,
                                              verbose="-v" in flags, linktype=linktype)
    hex_dump = next((flag[1:] for flag in flags if flag[1] in "xX"), "")
    tflag = next((len(flag) - 1 for flag in flags if flag[1] == "t"), 0)
    verbose = next((len(flag) - 1 for flag in flags if flag[1] == "v"), 0)
    return TcpdumpPrinter(link_level="-e" in flags, verbose=verbose, linktype=linktype,
                          hex_dump=hex_dump, tflag=tflag, quick="-q" in flags).format


def ours(frames: list[Frame], flags: tuple[str, ...], linktype: int = 1) -> list[str]:
    fmt = printer_for(flags, linktype)
    return [fmt(ts, frame) for ts, frame in frames]


FLAG_SETS = [(), ("-v",), ("-e",), ("-e", "-v"), ("-S",), ("-S", "-e", "-v"), ("-x",), ("-xx", "-e"), ("-X", "-v"),
             ("-XX",), ("-t",), ("-tt", "-e"), ("-ttt",), ("-tttt", "-v"), ("-ttttt",), ("-vv",), ("-vvv", "-e"),
             ("-vvvv", "-X"), ("-q",), ("-q", "-e", "-vv")]

def is_ported(frame: bytes) -> bool:
    """False for 802.3/LLC and IPv6 frames, whose tcpdump printers are not ported."""
    ethertype = int.from_bytes(frame[12:14], "big")
    while ethertype in (0x8100, 0x88A8) and len(frame) >= 18:
        frame = frame[4:]
        ethertype = int.from_bytes(frame[12:14], "big")
    return ethertype > 1500 and ethertype != 0x86DD


# -- tests against the real tcpdump ------------------------------------------


@pytest.mark.parametrize("flags", FLAG_SETS, ids=lambda f: " ".join(f) or "default")
def test_corpus_matches_tcpdump(tmp_path: Path, flags: tuple[str, ...]) -> None:
    frames = [f for f in corpus() if is_ported(f[1])]
    assert ours(frames, flags) == run_tcpdump(tmp_path, frames, *flags)


@pytest.mark.parametrize("flags", [("-A",), ("-AA", "-e"), ("-A", "-x"), ("-A", "-X", "-v")], ids=" ".join)
def test_ascii_matches_tcpdump(tmp_path: Path, flags: tuple[str, ...]) -> None:
    # -A's text has lines of its own that are not indented: the whole output is compared
    frames = [f for f in corpus() if is_ported(f[1])]
    real = tcpdump_text(tmp_path, frames, *flags)
    letter = "X" if "-X" in flags else "x" if "-x" in flags else "A"
    printer = TcpdumpPrinter(link_level="-e" in flags, verbose="-v" in flags,
                             hex_dump=letter * max(len(f) - 1 for f in flags if f[1] == letter))
    assert "".join(printer.format(ts, frame) + "\n" for ts, frame in frames) == real


@pytest.mark.parametrize("flags", [(), ("-v",), ("-e",), ("-x",), ("-XX",)], ids=lambda f: " ".join(f) or "default")
def test_raw_ip_link_type_matches_tcpdump(tmp_path: Path, flags: tuple[str, ...]) -> None:
    frames = [(ts, frame[14:]) for ts, frame in corpus()
              if frame[12:14] == b"\x08\x00" and len(frame) > 14 and frame[14] >> 4 != 6]
    assert ours(frames, flags, linktype=101) == run_tcpdump(tmp_path, frames, *flags, linktype=101)


@pytest.mark.parametrize("flags", [(), ("-v",), ("-e",), ("-X",), ("-xx",), ("-vvv",), ("-q", "-e")],
                         ids=lambda f: " ".join(f) or "default")
def test_truncated_frames_match_tcpdump(tmp_path: Path, flags: tuple[str, ...]) -> None:
    frames = []
    for ts, frame in corpus():
        if is_ported(frame):
            frames += [(ts, frame[:n]) for n in range(1, min(len(frame), 100))]
    assert ours(frames, flags) == run_tcpdump(tmp_path, frames, *flags)


@pytest.mark.parametrize("snaplen", [20, 40, 54, 68, 96])
@pytest.mark.parametrize("flags", [(), ("-e", "-v"), ("-X",), ("-vvv",)], ids=lambda f: " ".join(f) or "default")
def test_snapshot_lengths_match_tcpdump(tmp_path: Path, flags: tuple[str, ...], snaplen: int) -> None:
    # what tcpdump -s keeps of each frame, its length on the wire still known (pcap's len)
    frames = [f for f in corpus() if is_ported(f[1])]
    real = tcpdump_text(tmp_path, frames, *flags, snaplen=snaplen)
    fmt = printer_for(flags)
    assert [fmt(ts, frame[:snaplen], len(frame)) for ts, frame in frames] == split_packets(real)


def _fixed_offsets(frame: bytes) -> set[int]:
    """Bytes a mutation keeps, so that tcpdump stays in the printers ported here.

    They are the ethertype, ARP's hardware type, and the IP version/length,
    protocol and port fields (of quoted datagrams too) and ICMP types.
    """
    fixed = {12, 13}
    if frame[12:14] == b"\x08\x06":
        return fixed | {14, 15}
    ip = 14
    while ip + 20 <= len(frame):
        ihl = (frame[ip] & 0x0F) * 4
        proto = frame[ip + 9]
        fixed |= {ip, ip + 9}
        transport = ip + ihl
        if proto in (6, 17):
            fixed |= set(range(transport, transport + 4))
        if proto == 4:
            ip = transport
            continue
        if proto != 1 or transport >= len(frame):
            break
        fixed.add(transport)
        if frame[transport] not in (3, 4, 5, 11, 12):
            break
        ip = transport + 8
    return fixed


def test_mutated_frames_match_tcpdump(tmp_path: Path) -> None:
    rng = random.Random(20240611)
    bases = [frame for _, frame in corpus()
             if frame[12:14] in (b"\x08\x00", b"\x08\x06", b"\x80\x35") and len(frame) > 14]
    frames = []
    for i in range(3000):
        frame = bytearray(rng.choice(bases))
        fixed = _fixed_offsets(bytes(frame))
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(14, len(frame))
            if pos not in fixed:
                # 30 would be an MPTCP option kind, whose printer is not ported.
                frame[pos] = rng.choice([0, 1, 0x3F, 0xC0, 0xFF, rng.randrange(31, 256)])
        if rng.random() < 0.3:
            frame = frame[: rng.randrange(14, len(frame) + 1)]
        frames.append((i * 1_000_000_000, bytes(frame)))
    for flags in [(), ("-v",), ("-x",), ("-X", "-v"), ("-vvv",), ("-q", "-e")]:
        assert ours(frames, flags) == run_tcpdump(tmp_path, frames, *flags)


def test_sub_microsecond_timestamps_truncate_like_libpcap(tmp_path: Path) -> None:
    frame = bytes(arp_cases()[0])
    frames = [(ts, frame) for ts in (0, 999, 1_000, 86_399_999_999_999, 86_400_000_001_500,
                                     3 * 86_400_000_000_000 + 3_723_456_789_123)]
    assert ours(frames, ()) == run_tcpdump(tmp_path, frames)


@pytest.mark.parametrize("flag", ["-t", "-tt", "-ttt", "-tttt", "-ttttt"])
def test_time_formats_match_tcpdump(tmp_path: Path, flag: str) -> None:
    # going back in time, across days, below a microsecond; a frame at time 0 (tcpdump's
    # reference of zero is no reference: the next frame becomes it)
    frame = bytes(arp_cases()[0])
    frames = [(ts, frame) for ts in (0, 1_000_000_000, 2_500_000_999, 1_500_000_000, 100_000_000_000_000, 5,
                                     3 * 86_400_000_000_000 + 3_723_456_789_123, 3 * 86_400_000_000_000)]
    assert ours(frames, (flag,)) == run_tcpdump(tmp_path, frames, flag)


# -- tests of documented formats (no tcpdump needed) --------------------------


def test_brief_examples() -> None:
    syn = bytes(eth() / IP(src="127.0.0.1", dst="127.0.0.1", flags="DF")
                / TCP(sport=40000, dport=5001, flags="S", seq=1234, window=65495,
                      options=[("MSS", 65495), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None),
                               ("WScale", 7)]))
    assert format_frame(NOON_NS, syn) == (
        "12:00:00.000000 IP 127.0.0.1.40000 > 127.0.0.1.5001: Flags [S], seq 1234, win 65495, "
        "options [mss 65495,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0")
    assert format_frame(NOON_NS, syn, link_level=True).startswith(
        "12:00:00.000000 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 74: "
        "127.0.0.1.40000 > 127.0.0.1.5001: Flags [S]")
    assert format_frame(NOON_NS, syn, verbose=True).startswith(
        "12:00:00.000000 IP (tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6), length 60)\n"
        "    127.0.0.1.40000 > 127.0.0.1.5001: Flags [S], cksum 0x")
    arp = arp_cases()
    assert format_frame(0, bytes(arp[0])).endswith(" ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28")
    assert format_frame(0, bytes(arp[1])).endswith(
        " ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02, length 46")
    icmp = icmp_cases()
    assert format_frame(0, bytes(icmp[0])).endswith(
        " IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 1, length 64")
    assert format_frame(0, bytes(icmp[2])).endswith(" ICMP 10.0.0.2 udp port 33434 unreachable, length 44")
    assert format_frame(0, bytes(icmp[4])).endswith(
        " ICMP 10.0.0.2 unreachable - need to frag (mtu 1400), length 44")
    dns = dns_cases()
    assert format_frame(0, bytes(dns[0])).endswith(
        " IP 10.0.0.1.33333 > 10.0.0.2.53: 12345+ A? www.example.com. (33)")
    assert format_frame(0, bytes(dns[1])).endswith(" 12345 1/0/0 A 10.0.0.80 (64)")
    udp = udp_cases()
    assert format_frame(0, bytes(udp[0])).endswith(" IP 10.0.0.1.40000 > 10.0.0.2.9999: UDP, length 30")


def test_relative_sequence_numbers_follow_the_connection() -> None:
    printer = TcpdumpPrinter()
    lines = [printer.format(0, bytes(p)).split(": ", 1)[1] for p in tcp_flow()[:8]]
    assert lines == [
        "Flags [S], seq 4000000000, win 65495, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], "
        "length 0",
        "Flags [S.], seq 77, ack 4000000001, win 65483, options [mss 1460], length 0",
        "Flags [.], ack 1, win 8192, length 0",
        "Flags [P.], seq 1:1001, ack 1, win 8192, options [nop,nop,TS val 2 ecr 1], length 1000",
        "Flags [.], ack 1, win 8192, options [nop,nop,sack 1 {501:1001}], length 0",
        "Flags [.], ack 1, win 8192, options [sack 1 {23:123},eol], length 0",
        "Flags [.U], seq 1001:1006, ack 1, win 8192, urg 5, length 5",
        "Flags [F.], seq 1, ack 1006, win 8192, length 0",
    ]
    printer.reset()
    assert "ack 1, " not in printer.format(0, bytes(tcp_flow()[2]))
    assert "seq 4000000001:4000001001, ack 78," in format_frame(0, bytes(tcp_flow()[3]))


def test_timestamps_are_time_of_day_from_virtual_zero() -> None:
    frame = bytes(arp_cases()[0])
    assert format_frame(0, frame).startswith("00:00:00.000000 ")
    assert format_frame(1_500, frame).startswith("00:00:00.000001 ")
    assert format_frame(90_061_000_001_999, frame).startswith("01:01:01.000001 ")


def test_invalid_headers_and_link_types() -> None:
    assert format_frame(5, b"") == "[Invalid header: caplen==0, len==0]"
    assert format_frame(5, bytes(262145)) == (
        "[Invalid header: caplen(262145) > 262144, len(262145) > 262144]")
    assert format_frame(0, b"\x01\x02\x03") == "00:00:00.000000  [|ether]"
    with pytest.raises(ValueError):
        TcpdumpPrinter(linktype=113)


def test_unported_link_layers_fall_back_to_a_hex_dump() -> None:
    text = format_frame(0, bytes(eth(type=0x86DD) / bytes(4)))
    assert text == ("00:00:00.000000 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv6 (0x86dd), "
                    "length 18: \n\t0x0000:  0000 0000                                ....")
    text = format_frame(0, bytes(eth(type=46) / bytes(46)), link_level=True)
    assert text.startswith("00:00:00.000000 02:00:00:00:00:01 > 02:00:00:00:00:02, 802.3, length 46: \n")


# -- robustness ------------------------------------------------------------------

_ETHER_IPV4 = bytes.fromhex("020000000002020000000001 0800")


@settings(max_examples=400, deadline=None)
@given(frame=st.binary(max_size=300), link_level=st.booleans(), verbose=st.booleans(),
       linktype=st.sampled_from([1, 101, 228]), ts=st.integers(0, 2**64))
def test_random_bytes_never_raise(frame: bytes, link_level: bool, verbose: bool, linktype: int,
                                  ts: int) -> None:
    text = format_frame(ts, frame, link_level=link_level, verbose=verbose, linktype=linktype)
    assert isinstance(text, str)


@settings(max_examples=400, deadline=None)
@given(proto=st.sampled_from([1, 4, 6, 17]), ihl=st.integers(0, 15), tail=st.binary(max_size=200),
       header=st.binary(min_size=19, max_size=19), ports=st.sampled_from([b"\x00\x35", b"\x00\x50",
                                                                          b"\x14\xe9", b"\x9c\x40"]),
       verbose=st.booleans())
def test_random_ip_payloads_never_raise(proto: int, ihl: int, tail: bytes, header: bytes, ports: bytes,
                                        verbose: bool) -> None:
    ip = bytes([0x40 | ihl]) + header[:8] + bytes([proto]) + header[9:]
    printer = TcpdumpPrinter(verbose=verbose)
    for frame in (_ETHER_IPV4 + ip + ports + tail, _ETHER_IPV4 + ip + tail):
        assert isinstance(printer.format(0, frame), str)
