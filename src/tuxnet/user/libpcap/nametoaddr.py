"""libpcap's nametoaddr.c: numbers and names in a filter turned into addresses, ports and
protocol numbers.  Host and service names go through the resolvers the caller gives (tuxnet's
``gethostbyname``/``getservbyname``); protocol and network names through the tables of netbase's
``/etc/protocols`` and ``/etc/networks`` that libpcap's ``getprotobyname``/``getnetbyname`` read."""

from __future__ import annotations

import re
from collections.abc import Callable

PortResolver = Callable[[str, str], "int | None"]
IPPROTO_TCP, IPPROTO_UDP = 6, 17
PROTO_UNDEF = -1

# netbase's /etc/protocols: name and aliases -> number
_PROTOCOLS = {
    "ip": 0, "hopopt": 0, "icmp": 1, "igmp": 2, "ggp": 3, "ipencap": 4, "st": 5, "tcp": 6,
    "egp": 8, "igp": 9, "pup": 12, "udp": 17, "hmp": 20, "xns-idp": 22, "rdp": 27, "iso-tp4": 29,
    "dccp": 33, "xtp": 36, "ddp": 37, "idpr-cmtp": 38, "ipv6": 41, "ipv6-route": 43,
    "ipv6-frag": 44, "idrp": 45, "rsvp": 46, "gre": 47, "esp": 50, "ah": 51, "skip": 57,
    "ipv6-icmp": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "rspf": 73, "vmtp": 81, "eigrp": 88,
    "ospf": 89, "ax.25": 93, "ipip": 94, "etherip": 97, "encap": 98, "pim": 103, "ipcomp": 108,
    "vrrp": 112, "l2tp": 115, "isis": 124, "sctp": 132, "fc": 133, "mobility-header": 135,
    "udplite": 136, "mpls-in-ip": 137, "manet": 138, "hip": 139, "shim6": 140, "wesp": 141,
    "rohc": 142, "ethernet": 143, "mptcp": 262,
    "IP": 0, "HOPOPT": 0, "ICMP": 1, "IGMP": 2, "GGP": 3, "IP-ENCAP": 4, "ST": 5, "TCP": 6,
    "EGP": 8, "IGP": 9, "PUP": 12, "UDP": 17, "HMP": 20, "XNS-IDP": 22, "RDP": 27, "ISO-TP4": 29,
    "DCCP": 33, "XTP": 36, "DDP": 37, "IDPR-CMTP": 38, "IPv6": 41, "IPv6-Route": 43,
    "IPv6-Frag": 44, "IDRP": 45, "RSVP": 46, "GRE": 47, "IPSEC-ESP": 50, "IPSEC-AH": 51,
    "SKIP": 57, "IPv6-ICMP": 58, "IPv6-NoNxt": 59, "IPv6-Opts": 60, "RSPF": 73, "VMTP": 81,
    "EIGRP": 88, "OSPFIGP": 89, "AX.25": 93, "IPIP": 94, "ETHERIP": 97, "ENCAP": 98, "PIM": 103,
    "IPCOMP": 108, "VRRP": 112, "L2TP": 115, "ISIS": 124, "SCTP": 132, "FC": 133,
    "Mobility-Header": 135, "UDPLite": 136, "MPLS-in-IP": 137, "HIP": 139, "Shim6": 140,
    "WESP": 141, "ROHC": 142, "Ethernet": 143, "MPTCP": 262,
}
# netbase's /etc/networks (getnetbyname gives the number in host order)
_NETWORKS = {"default": 0, "loopback": 0x7F000000, "link-local": 0xA9FE0000}
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
    if name.isdigit():
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


def nametoproto(name: str) -> int:
    return _PROTOCOLS.get(name, PROTO_UNDEF)


def nametoeproto(name: str) -> int:
    return _EPROTOS.get(name, PROTO_UNDEF)


def nametollc(name: str) -> int:
    return _LLCS.get(name, PROTO_UNDEF)


def nametonetaddr(name: str) -> int:
    return _NETWORKS.get(name, 0)
