"""libpcap's nametoaddr.c: numbers and names in a filter turned into addresses, ports and
protocol numbers.  Host, service, protocol and network names go through the resolvers the caller
gives (the host's C library: ``gethostbyname``, ``getservbyname``, ``getprotobyname`` and
``getnetbyname``, reading its /etc files); Ethernet protocol and LLC names through libpcap's own
tables."""

from __future__ import annotations

import re
from collections.abc import Callable

from tuxnet.user.ctype import isdigits

PortResolver = Callable[[str, str], "int | None"]
NameResolver = Callable[[str], "int | None"]  # a protocol's or a network's name -> its number
IPPROTO_TCP, IPPROTO_UDP = 6, 17
PROTO_UNDEF = -1

# nametoaddr.c's eproto_db and llc_db
_EPROTOS = {"aarp": 0x80F3, "arp": 0x0806, "atalk": 0x809B, "decnet": 0x6003, "ip": 0x0800,
            "ip6": 0x86DD, "lat": 0x6004, "loopback": 0x9000, "mopdl": 0x6001, "moprc": 0x6002,
            "rarp": 0x8035, "sca": 0x6007}
_LLCS = {"iso": 0xFE, "stp": 0x42, "ipx": 0xE0, "netbeui": 0xF0}


def atoin(text: str) -> tuple[int, int]:
    """__pcap_atoin: a dotted address of up to four parts and its length in bits, or
    ``(0, -1)`` when a part exceeds 255."""
    addr = 0
    length = 0
    for part in text.split("."):
        n = 0
        for ch in part:
            if n > 25:
                return 0, -1
            n = n * 10 + ord(ch) - ord("0")
        if n > 255:
            return 0, -1
        addr = (addr << 8 | n) & 0xFFFFFFFF
        length += 8
    return addr, length


def atodn(text: str) -> tuple[int, int]:
    """__pcap_atodn: a DECnet ``area.node`` address, and 32 (0 when malformed)."""
    m = re.match(r"\s*([-+]?\d+)\.\s*([-+]?\d+)", text)
    if m is None:
        return 0, 0
    area, node = int(m.group(1)), int(m.group(2))
    return ((area << 10) & 0o176000) | (node & 0o1777), 32


def ether_aton(text: str) -> bytes:
    """pcap_ether_aton: ``xx:xx:xx:xx:xx:xx`` and the other spellings of a MAC address."""
    out = []
    i = 0
    while i < len(text):
        if text[i] in ":.-":
            i += 1
        d = int(text[i], 16)
        i += 1
        if i < len(text) and text[i] in "0123456789abcdefABCDEF":
            d = d << 4 | int(text[i], 16)
            i += 1
        out.append(d)
    return bytes(out)


def _service(name: str, proto: str, resolve: PortResolver | None) -> int:
    """getaddrinfo's service lookup: a decimal number is itself (as a 16-bit port), else the
    resolver's answer; -1 when unknown."""
    if isdigits(name):
        return int(name) & 0xFFFF
    port = resolve(name, proto) if resolve is not None else None
    return -1 if port is None else port


def nametoport(name: str, resolve: PortResolver | None) -> tuple[int, int] | None:
    """pcap_nametoport: the port a service name has for TCP, else UDP, and the protocol it is
    for (PROTO_UNDEF when both agree)."""
    tcp_port = _service(name, "tcp", resolve)
    udp_port = _service(name, "udp", resolve)
    if tcp_port >= 0:
        return tcp_port, PROTO_UNDEF if udp_port == tcp_port else IPPROTO_TCP
    if udp_port >= 0:
        return udp_port, IPPROTO_UDP
    return None


def _sscanf_range(name: str) -> tuple[int, int] | None:
    """``sscanf(name, "%d-%d", ...)`` matching both numbers."""
    m = re.match(r"\s*([-+]?\d+)-\s*([-+]?\d+)", name)
    if m is None:
        return None
    first, second = (int(g) for g in m.groups())
    if not all(-2**31 <= v < 2**31 for v in (first, second)):
        return None
    return first, second


def nametoportrange(name: str, resolve: PortResolver | None) -> tuple[int, int, int] | None:
    """pcap_nametoportrange: ``P1-P2``, numbers or service names."""
    numbers = _sscanf_range(name)
    if numbers is not None:
        return numbers[0], numbers[1], PROTO_UNDEF
    first, dash, second = name.partition("-")
    if not dash:
        return None
    low = nametoport(first, resolve)
    if low is None:
        return None
    high = nametoport(second, resolve)
    if high is None:
        return None
    return low[0], high[0], high[1] if high[1] == low[1] else PROTO_UNDEF


def nametoproto(name: str, resolve: NameResolver | None) -> int:
    """pcap_nametoproto: ``getprotobyname``'s number, or PROTO_UNDEF."""
    number = resolve(name) if resolve is not None else None
    return PROTO_UNDEF if number is None else number


def nametoeproto(name: str) -> int:
    return _EPROTOS.get(name, PROTO_UNDEF)


def nametollc(name: str) -> int:
    return _LLCS.get(name, PROTO_UNDEF)


def nametonetaddr(name: str, resolve: NameResolver | None) -> int:
    """pcap_nametonetaddr: ``getnetbyname``'s network number, or 0."""
    number = resolve(name) if resolve is not None else None
    return 0 if number is None else number
