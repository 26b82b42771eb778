"""tcpdump-style one-line packet summaries.

This is a port of the parts of tcpdump 4.99's printers that a tuxnet network
produces: Ethernet II (with 802.1Q tags), ARP, IPv4 (options, fragments),
TCP, UDP, ICMP, DNS (UDP and TCP port 53, mDNS on 5353) and the first line of
HTTP on ports 80/8080.  The output is what ``tcpdump -nn`` prints (numeric
hosts and ports, default ``HH:MM:SS.ffffff`` timestamps), optionally with
``-e`` (``link_level``) and ``-v`` (``verbose``).  Virtual time is printed as
the time of day in UTC, virtual time 0 being midnight.

Every printer follows the tcpdump source file named in its comment.  Reads
past the captured bytes behave as tcpdump's ``GET_*`` macros do: they abandon
the packet and print ``[|proto]``.  No input makes the printer raise.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from collections.abc import Callable

from tuxnet.trace.addrtoname import AddrToName
from tuxnet.trace.pcap import DLT_EN10MB, DLT_RAW, MAXIMUM_SNAPLEN
from tuxnet.user.ctype import isdigits

__all__ = ["TcpdumpPrinter", "format_frame"]

_U32 = 0xFFFFFFFF

_LINKTYPE_IPV4 = 228

# ethertype.h / print-ether.c: ethertype_values
_ETHERTYPE_NAMES = {
    0x0800: "IPv4",
    0x8847: "MPLS unicast",
    0x8848: "MPLS multicast",
    0x86DD: "IPv6",
    0x8100: "802.1Q",
    0x9100: "802.1Q-9100",
    0x88A8: "802.1Q-QinQ",
    0x9200: "802.1Q-9200",
    0x88E5: "802.1AE MACsec",
    0x0200: "PUP",
    0x0806: "ARP",
    0x8035: "Reverse ARP",
    0x0600: "NS",
    0x0500: "Sprite",
    0x1000: "Trail",
    0x6001: "MOP DL",
    0x6002: "MOP RC",
    0x6003: "DN",
    0x6004: "LAT",
    0x6007: "SCA",
    0x6558: "TEB",
    0x8038: "Lanbridge",
    0x803C: "DEC DNS",
    0x803E: "DEC DTS",
    0x805B: "VEXP",
    0x805C: "VPROD",
    0x809B: "Appletalk",
    0x80F3: "Appletalk ARP",
    0x8137: "IPX",
    0x880B: "PPP",
    0x8808: "MPCP",
    0x8809: "Slow Protocols",
    0x8863: "PPPoE D",
    0x8864: "PPPoE S",
    0x888E: "EAPOL",
    0x8899: "Realtek protocols",
    0x886F: "MS NLB heartbeat",
    0x8870: "Jumbo",
    0x894F: "NSH",
    0x9000: "Loopback",
    0xFEFE: "OSI",
    0x00FE: "GRE-OSI",
    0xABCD: "CFM (old)",
    0x8902: "CFM",
    0x893A: "IEEE1905.1",
    0x88CC: "LLDP",
    0x88CA: "TIPC",
    0x0707: "GeoNet (old)",
    0x8947: "GeoNet",
    0x1111: "CALM FAST",
    0x88A2: "AoE",
    0x88F7: "PTP",
    0xD28B: "Arista Vendor Specific Protocol",
}
_ETHERTYPE_IP = 0x0800
_ETHERTYPE_ARP = 0x0806
_ETHERTYPE_REVARP = 0x8035
_ETHERTYPE_TRAIL = 0x1000
_ETHERTYPE_8021Q = 0x8100
_VLAN_TYPES = (_ETHERTYPE_8021Q, 0x9100, 0x9200, 0x88A8)
_MAX_ETHERNET_LENGTH_VAL = 1500

# sll.h: the cooked header (v2), the protocols of frames without an Ethernet type, and the
# packet types print-sll.c names (sll_pkttype_values)
DLT_LINUX_SLL2 = 276
_SLL2_HDR_LEN = 20
_LINUX_SLL_P_802_3, _LINUX_SLL_P_802_2 = 0x0001, 0x0004
_SLL_PKTTYPES = {0: "In", 1: "B", 2: "M", 3: "P", 4: "Out"}

# ipproto.c: ipproto_values
_IPPROTO_NAMES = {
    0: "Options", 1: "ICMP", 2: "IGMP", 4: "IPIP", 6: "TCP", 8: "EGP", 9: "IGRP", 17: "UDP",
    33: "DCCP", 41: "IPv6", 43: "Routing", 44: "Fragment", 46: "RSVP", 47: "GRE", 50: "ESP",
    51: "AH", 55: "Mobile IP", 58: "ICMPv6", 62: "Mobile IP (old)", 88: "EIGRP", 89: "OSPF",
    103: "PIM", 108: "Compressed IP", 112: "VRRP", 113: "PGM", 132: "SCTP", 135: "Mobility",
    143: "Ethernet",
}
_IPPROTO_ICMP = 1
_IPPROTO_IGMP = 2
_IPPROTO_IPV4 = 4
_IPPROTO_TCP = 6
_IPPROTO_UDP = 17
_IPPROTO_DCCP = 33
_IPPROTO_SCTP = 132

# print-ip.c: ip_option_values
_IPOPT_EOL, _IPOPT_NOP, _IPOPT_RR, _IPOPT_TS = 0, 1, 7, 68
_IPOPT_LSRR, _IPOPT_SSRR, _IPOPT_RA = 131, 137, 148
_IP_OPTION_NAMES = {
    0: "EOL", 1: "NOP", 68: "timestamp", 130: "security", 7: "RR", 137: "SSRR", 131: "LSRR",
    148: "RA", 82: "traceroute",
}
_IP_MF, _IP_DF, _IP_RES, _IP_OFFMASK = 0x2000, 0x4000, 0x8000, 0x1FFF

# tcp.h / print-tcp.c
_TH_FIN, _TH_SYN, _TH_RST, _TH_PUSH, _TH_ACK, _TH_URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_TCP_FLAG_NAMES = ((0x01, "F"), (0x02, "S"), (0x04, "R"), (0x08, "P"), (0x10, "."), (0x20, "U"),
                   (0x40, "E"), (0x80, "W"))
_TCP_OPTION_NAMES = {
    0: "eol", 1: "nop", 2: "mss", 3: "wscale", 4: "sackOK", 5: "sack", 6: "echo", 7: "echoreply",
    8: "TS", 11: "cc", 12: "ccnew", 13: "", 19: "md5", 20: "scps", 28: "uto", 29: "tcp-ao",
    30: "mptcp", 34: "tfo", 254: "exp",
}
_MAX_RST_DATA_LEN = 30
# Ports whose payload tcp_print() hands to a printer this module does not port,
# in the order print-tcp.c tests them before HTTP.
_TCP_PORTS_BEFORE_HTTP = frozenset({23, 25, 43, 179, 1723, 6379, 22, 139, 445, 10288, 6633, 6653, 21})
_HTTP_PORTS = (80, 8080)
_RTSP_PORTS = (554, 8554)
_NAMESERVER_PORT = 53
_MULTICASTDNS_PORT = 5353

# print-http.c: httpcmds
_HTTP_CMDS = frozenset({
    "GET", "PUT", "COPY", "HEAD", "LOCK", "MOVE", "POLL", "POST", "BCOPY", "BMOVE", "MKCOL",
    "TRACE", "LABEL", "MERGE", "DELETE", "SEARCH", "UNLOCK", "REPORT", "UPDATE", "NOTIFY",
    "BDELETE", "CONNECT", "OPTIONS", "CHECKIN", "PROPFIND", "CHECKOUT", "CCM_POST", "SUBSCRIBE",
    "PROPPATCH", "BPROPFIND", "BPROPPATCH", "UNCHECKOUT", "MKACTIVITY", "MKWORKSPACE",
    "UNSUBSCRIBE", "RPC_CONNECT", "VERSION-CONTROL", "BASELINE-CONTROL",
})
_MAX_TOKEN = 128

# print-icmp.c
_ICMP_NAMES = {
    0: "echo reply", 4: "source quench", 8: "echo request", 10: "router solicitation",
    13: "time stamp request", 14: "time stamp reply", 15: "information request",
    16: "information reply", 17: "address mask request",
}
_ICMP_UNREACH_FORMATS = {
    0: "net {} unreachable",
    1: "host {} unreachable",
    5: "{} unreachable - source route failed",
    6: "net {} unreachable - unknown",
    7: "host {} unreachable - unknown",
    8: "{} unreachable - source host isolated",
    9: "net {} unreachable - admin prohibited",
    10: "host {} unreachable - admin prohibited",
    11: "net {} unreachable - tos prohibited",
    12: "host {} unreachable - tos prohibited",
    13: "host {} unreachable - admin prohibited filter",
    14: "host {} unreachable - host precedence violation",
    15: "host {} unreachable - precedence cutoff",
}
_ICMP_REDIRECT_FORMATS = {
    0: "redirect {} to net {}",
    1: "redirect {} to host {}",
    2: "redirect-tos {} to net {}",
    3: "redirect-tos {} to host {}",
}
_ICMP_ERRTYPES = frozenset({3, 4, 5, 11, 12})
_ICMP_MULTIPART_EXT_TYPES = frozenset({3, 11, 12})
_ICMP_EXTD_MINLEN = 136
_ICMP_MULTIPART_OBJ_NAMES = {1: "MPLS Stack Entry", 2: "Interface Identification"}

# print-arp.c
_ARPHRD_NAMES = {1: "Ethernet", 6: "TokenRing", 7: "ArcNet", 15: "FrameRelay", 23: "Strip",
                 24: "IEEE 1394", 19: "ATM", 32: "InfiniBand"}
_ARPOP_NAMES = {1: "Request", 2: "Reply", 3: "Reverse Request", 4: "Reverse Reply",
                8: "Inverse Request", 9: "Inverse Reply", 10: "NACK Reply"}

# print-domain.c / nameser.h
_NS_OPS = ("", " inv_q", " stat", " op3", " notify", " update", " op6", " op7", " op8",
           " updateA", " updateD", " updateDA", " updateM", " updateMA", " zoneInit", " zoneRef")
_NS_RESP = ("", " FormErr", " ServFail", " NXDomain", " NotImp", " Refused", " YXDomain",
            " YXRRSet", " NXRRSet", " NotAuth", " NotZone", " Resp11", " Resp12", " Resp13",
            " Resp14", " NoChange", " BadVers", "Resp17", " Resp18", " Resp19", " Resp20",
            "Resp21", " Resp22", " BadCookie")
_NS_TYPES = {
    1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR",
    10: "NULL", 11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 17: "RP",
    18: "AFSDB", 19: "X25", 20: "ISDN", 21: "RT", 22: "NSAP", 23: "NSAP_PTR", 24: "SIG",
    25: "KEY", 26: "PX", 27: "GPOS", 28: "AAAA", 29: "LOC", 30: "NXT", 31: "EID", 32: "NIMLOC",
    33: "SRV", 34: "ATMA", 35: "NAPTR", 36: "KX", 37: "CERT", 38: "A6", 39: "DNAME", 40: "SINK",
    41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP", 45: "IPSECKEY", 46: "RRSIG", 47: "NSEC",
    48: "DNSKEY", 99: "SPF", 100: "UINFO", 101: "UID", 102: "GID", 103: "UNSPEC",
    104: "UNSPECA", 249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR", 253: "MAILB",
    254: "MAILA", 255: "ANY", 256: "URI",
}
_NS_CLASSES = {1: "IN", 3: "CHAOS", 4: "HS", 255: "ANY"}
_EDNS_OPTS = {1: "LLQ", 2: "UL", 3: "NSID", 5: "DAU", 6: "DHU", 7: "N3U", 8: "ECS", 9: "EXPIRE",
              10: "COOKIE", 11: "KEEPALIVE", 12: "PADDING", 13: "CHAIN", 14: "KEY-TAG",
              16: "CLIENT-TAG", 17: "SERVER-TAG"}
_DAU_ALGS = {0: "DELETE", 1: "RSAMD5", 2: "DH", 3: "DS", 5: "RSASHA1", 6: "DSA-NSEC3-SHA1",
             7: "RSASHA1-NSEC3-SHA1", 8: "RSASHA256", 10: "RSASHA512", 12: "ECC-GOST",
             13: "ECDSAP256SHA256", 14: "ECDSAP384SHA384", 15: "ED25519", 16: "ED448",
             252: "INDIRECT", 253: "PRIVATEDNS", 254: "PRIVATEOID"}
_DHU_ALGS = {1: "SHA-1", 2: "SHA-256", 3: "GOST_R_34.11-94", 4: "SHA-384"}
_N3U_ALGS = {1: "SHA-1"}
_T_A, _T_NS, _T_CNAME, _T_SOA, _T_PTR, _T_MX, _T_TXT = 1, 2, 5, 6, 12, 15, 16
_T_AAAA, _T_SRV, _T_A6, _T_DNAME, _T_OPT = 28, 33, 38, 39, 41
_T_UNSPECA, _T_TSIG, _T_URI = 104, 250, 256
_C_IN = 1
_MAXCDNAME = 255
_DNS_HDRLEN = 12


class _Truncated(Exception):
    """tcpdump's nd_trunc_longjmp(): a read ran past the captured bytes."""


class _GotoTrunc(Exception):
    """A printer's local ``goto trunc`` (ND_TCHECK): it prints ``[|proto]`` itself."""


class _BadTcpOption(Exception):
    """print-tcp.c's ``goto bad`` in the option loop."""


def _tok(table: dict[int, str], fmt: str, value: int) -> str:
    """util-print.c: tok2str()."""
    name = table.get(value)
    return name if name is not None else fmt % value


def _relts(secs: int) -> str:
    """util-print.c unsigned_relts_print(): seconds as years, weeks, days, hours, minutes and
    seconds (``1h2m3s``)."""
    if not secs:
        return "0s"
    out = []
    for unit, size in (("y", 31536000), ("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if secs >= size:
            out.append(f"{secs // size}{unit}")
            secs %= size
    return "".join(out)


def _in_cksum(data: bytes) -> int:
    """in_cksum.c: the Internet checksum of ``data`` (0 when it verifies)."""
    if len(data) & 1:
        data += b"\0"
    total = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _in_cksum_shouldbe(sum_field: int, computed: int) -> int:
    """in_cksum.c: in_cksum_shouldbe()."""
    shouldbe = sum_field + computed
    shouldbe = (shouldbe & 0xFFFF) + (shouldbe >> 16)
    shouldbe = (shouldbe & 0xFFFF) + (shouldbe >> 16)
    return shouldbe & 0xFFFF


def _char(c: int) -> str:
    """util-print.c: fn_print_char()."""
    out = ""
    if c >= 0x80:
        c &= 0x7F
        out = "M-"
    if not 0x20 <= c <= 0x7E:
        c ^= 0x40
        out += "^"
    return out + chr(c)


def _ip6addr(raw: bytes) -> str:
    """addrtostr.c: addrtostr6(), which prints embedded IPv4 addresses dotted."""
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, 16, 2)]
    best_base, best_len, cur_base, cur_len = -1, 0, -1, 0
    for i, w in enumerate(words):
        if w == 0:
            if cur_base == -1:
                cur_base, cur_len = i, 1
            else:
                cur_len += 1
        elif cur_base != -1:
            if best_base == -1 or cur_len > best_len:
                best_base, best_len = cur_base, cur_len
            cur_base = -1
    if cur_base != -1 and (best_base == -1 or cur_len > best_len):
        best_base, best_len = cur_base, cur_len
    if best_base != -1 and best_len < 2:
        best_base = -1
    out = ""
    for i, w in enumerate(words):
        if best_base != -1 and best_base <= i < best_base + best_len:
            if i == best_base:
                out += ":"
            continue
        if i != 0:
            out += ":"
        if i == 6 and best_base == 0 and (best_len == 6 or (best_len == 5 and words[5] == 0xFFFF)):
            return out + str(ipaddress.IPv4Address(raw[12:16]))
        out += f"{w:x}"
    if best_base != -1 and best_base + best_len == 8:
        out += ":"
    return out


class _Packet:
    """The state of printing one frame: tcpdump's netdissect_options for it."""

    def __init__(self, frame: bytes, *, vflag: int, eflag: bool,
                 flows: dict[tuple[bytes, bytes, int], list[int]] | None, suppress_default_print: bool = False,
                 qflag: bool = False, names: AddrToName | None = None, sigsecret: bytes | None = None) -> None:
        self.buf = frame
        self.snapend = len(frame)
        self._snapends: list[int] = []
        self.out: list[str] = []
        self.protocol = ""
        self.vflag = vflag
        self.eflag = eflag
        self.flows = flows
        self.ll_hdrlen = 0  # what the link-layer printer took (its ``hdrlen``), for -x and -X
        # -x, -X: the link layer's printer leaves what it does not know to their dump
        self.suppress_default_print = suppress_default_print
        self.qflag = qflag  # -q: less of each protocol
        self.names = names  # without -n: addrtoname.c's names
        self.sigsecret = sigsecret  # -M: the TCP MD5 signatures' shared secret
        self.tcp_segment = (0, 0, 0)  # the IPv4 header, TCP header and payload length tcp() prints

    # -- netdissect.h / extract.h: bounds-checked access --------------------

    def ttest(self, off: int, n: int) -> bool:
        return off >= 0 and n >= 0 and off + n <= self.snapend

    def need(self, off: int, n: int) -> None:
        if not self.ttest(off, n):
            raise _Truncated

    def u8(self, off: int) -> int:
        self.need(off, 1)
        return self.buf[off]

    def be16(self, off: int) -> int:
        self.need(off, 2)
        return int.from_bytes(self.buf[off : off + 2], "big")

    def be32(self, off: int) -> int:
        self.need(off, 4)
        return int.from_bytes(self.buf[off : off + 4], "big")

    def ipaddr(self, off: int) -> str:
        self.need(off, 4)
        if self.names is not None:
            return self.names.ipaddr(bytes(self.buf[off : off + 4]))
        return ".".join(str(b) for b in self.buf[off : off + 4])

    def etheraddr(self, off: int) -> str:
        self.need(off, 6)
        if self.names is not None:
            return self.names.etheraddr(bytes(self.buf[off : off + 6]))
        return ":".join(f"{b:02x}" for b in self.buf[off : off + 6])

    def linkaddr(self, off: int, n: int) -> str:
        """addrtoname.c: linkaddr_string() for LINKADDR_ETHER (an Ethernet address's length:
        etheraddr_string)."""
        if n == 0:
            return "<empty>"
        if n == 6:
            return self.etheraddr(off)
        self.need(off, n)
        return ":".join(f"{b:02x}" for b in self.buf[off : off + n])

    def tcpport(self, port: int) -> str:
        return str(port) if self.names is None else self.names.tcpport(port)

    def udpport(self, port: int) -> str:
        return str(port) if self.names is None else self.names.udpport(port)

    def avail(self, off: int) -> int:
        return max(0, self.snapend - off)

    def push_snaplen(self, off: int, n: int) -> None:
        self._snapends.append(self.snapend)
        self.snapend = min(off + n, self.snapend)

    def pop_snaplen(self) -> None:
        self.snapend = self._snapends.pop()

    def put(self, s: str) -> None:
        self.out.append(s)

    def print_trunc(self) -> None:
        """util-print.c: nd_print_trunc()."""
        self.put(f" [|{self.protocol}]")

    def printn(self, off: int, n: int) -> bool:
        """util-print.c: nd_printn(); True when it stopped at the end of the capture."""
        while n > 0 and off < self.snapend:
            n -= 1
            self.put(_char(self.u8(off)))
            off += 1
        return n != 0

    def hex_and_ascii(self, indent: str, off: int, length: int) -> None:
        """print-ascii.c: hex_and_ascii_print()."""
        caplength = self.avail(off)
        truncated = length > caplength
        length = min(length, caplength)
        for line in range(0, length, 16):
            chunk = self.buf[off + line : off + min(line + 16, length)]
            hexstuff = "".join(
                " " + chunk[i : i + 2].hex() for i in range(0, len(chunk), 2))
            ascii_ = "".join(chr(b) if 0x21 <= b <= 0x7E else "." for b in chunk)
            self.put(f"{indent}0x{line:04x}: {hexstuff:<40}  {ascii_}")
        if truncated:
            raise _Truncated

    def hex_print(self, indent: str, off: int, length: int) -> None:
        """print-ascii.c: hex_print()."""
        caplength = self.avail(off)
        truncated = length > caplength
        length = min(length, caplength)
        for i in range(0, length, 2):
            if i % 16 == 0:
                self.put(f"{indent}0x{i:04x}: ")
            self.put(" " + self.buf[off + i : off + min(i + 2, length)].hex())
        if truncated:
            raise _Truncated

    def ascii_print(self, off: int, length: int) -> None:
        """print-ascii.c: ascii_print(), for -A: the bytes as text on a line of their own, what is
        not printable as ``.``, and a CR only as ``.`` in the middle of a line (tcpdump 4.99's
        test leaves out one just before the last byte too)."""
        self.put("\n")
        data = self.buf[off:off + length]
        for i, c in enumerate(data):
            if c == 0x0D:
                if len(data) - i - 1 > 1 and data[i + 1] != 0x0A:
                    self.put(".")
            elif 0x20 < c <= 0x7E or c in (0x09, 0x20, 0x0A):
                self.put(chr(c))
            else:
                self.put(".")

    def default_print(self, off: int, length: int) -> None:
        """print.c: ndo_default_print()."""
        self.hex_and_ascii("\n\t", off, length)

    # -- print-ether.c -----------------------------------------------------

    def ether(self, length: int) -> None:
        caplen = len(self.buf)
        self.protocol = "ether"
        if caplen < 14:
            self.ll_hdrlen = caplen
            self.print_trunc()
            return
        orig_length = length
        if self.eflag:
            self.put(f"{self.etheraddr(6)} > {self.etheraddr(0)}, ")
        p = 12
        length -= 12
        caplen -= 12
        printed_length = False
        length_type = self.be16(p)
        p += 2
        length -= 2
        caplen -= 2
        while length_type in _VLAN_TYPES:
            if caplen < 4 or length < 4:
                self.ll_hdrlen = len(self.buf)
                self.protocol = "vlan"
                self.print_trunc()
                return
            if self.eflag:
                tci = self.be16(p)
                self.put(self._ethertype(length_type))
                if not printed_length:
                    self.put(f", length {orig_length}: ")
                    printed_length = True
                else:
                    self.put(", ")
                dei = ", DEI" if tci & 0x1000 else ""
                self.put(f"vlan {tci & 0xFFF}, p {tci >> 13}{dei}, ")
            length_type = self.be16(p + 2)
            p += 4
            length -= 4
            caplen -= 4
        self.ll_hdrlen = p
        if length_type <= _MAX_ETHERNET_LENGTH_VAL:
            # 802.3 with an LLC header: not decoded here, shown as a hex dump.
            if not self.eflag:
                self.put(f"{self.etheraddr(6)} > {self.etheraddr(0)}, ")
            if not printed_length:
                self.put(f"802.3, length {min(length_type, length)}: ")
            if not self.suppress_default_print:
                self.default_print(p, min(caplen, length_type))
            return
        if self.eflag:
            self.put(self._ethertype(length_type))
            self.put(f", length {orig_length}: " if not printed_length else ", ")
        if length_type == _ETHERTYPE_IP:
            self.ip(p, length)
        elif length_type in (_ETHERTYPE_ARP, _ETHERTYPE_REVARP):
            self.arp(p, length, caplen)
        else:
            # Types tcpdump hands to printers not ported here (IPv6, LLDP, ...)
            # are shown the way it shows a type it does not know.
            if not self.eflag:
                self.put(f"{self.etheraddr(6)} > {self.etheraddr(0)}, ")
                self.put(self._ethertype(length_type))
                self.put(f", length {orig_length}: ")
            if not self.suppress_default_print:
                self.default_print(p, caplen)

    def _ethertype(self, length_type: int) -> str:
        """print-ether.c ether_type_print(): the name and number, or with -q the name alone."""
        if self.qflag:
            return _ETHERTYPE_NAMES.get(length_type, f"Unknown Ethertype (0x{length_type:04x})")
        return f"ethertype {_ETHERTYPE_NAMES.get(length_type, 'Unknown')} (0x{length_type:04x})"

    # -- print-sll.c: sll2_if_print() --------------------------------------

    def sll2(self, length: int, ifname: Callable[[int], str | None]) -> None:
        """A DLT_LINUX_SLL2 packet: the interface's name (``if_indextoname`` where the file is
        read, else ``?``) and the packet type, padded to columns, ``-e``'s cooked header
        (``sll2_print``), then the packet from its network header, 802.1Q tags followed."""
        caplen = len(self.buf)
        self.protocol = "sll2"
        if caplen < _SLL2_HDR_LEN:
            raise _Truncated
        ifindex = self.be32(4)
        pkttype = self.u8(10)
        self.put(f"{ifname(ifindex) or '?':<5} {_SLL_PKTTYPES.get(pkttype, '?'):<3} ")
        if self.eflag:
            self._sll2_header(length)
        p = hdrlen = _SLL2_HDR_LEN
        length -= _SLL2_HDR_LEN
        caplen -= _SLL2_HDR_LEN
        ether_type = self.be16(0)
        while ether_type == _ETHERTYPE_8021Q:
            if caplen < 4 or length < 4:
                self.ll_hdrlen = hdrlen + min(caplen, length)
                self.protocol = "vlan"
                self.print_trunc()
                return
            if self.eflag:
                tci = self.be16(p)
                self.put(f"vlan {tci & 0xFFF}, p {tci >> 13}{', DEI' if tci & 0x1000 else ''}, ")
            ether_type = self.be16(p + 2)
            if ether_type <= _MAX_ETHERNET_LENGTH_VAL:
                ether_type = _LINUX_SLL_P_802_2
            if not self.qflag:
                self.put(f"ethertype {_ETHERTYPE_NAMES.get(ether_type, 'Unknown')}, ")
            p += 4
            length -= 4
            caplen -= 4
            hdrlen += 4
        self.ll_hdrlen = hdrlen
        if ether_type == _ETHERTYPE_IP:
            self.ip(p, length)
        elif ether_type in (_ETHERTYPE_ARP, _ETHERTYPE_REVARP):
            self.arp(p, length, caplen)
        else:
            # 802.3 and 802.2 (llc_print), and the types tcpdump hands to printers not ported
            # here (IPv6, ...), shown as tcpdump shows a type it does not know
            if not self.eflag and ether_type > _MAX_ETHERNET_LENGTH_VAL:
                self._sll2_header(length + _SLL2_HDR_LEN)
            if not self.suppress_default_print:
                self.default_print(p, caplen)

    def _sll2_header(self, length: int) -> None:
        """print-sll.c: sll2_print(): the interface's index, a 6-octet link-layer address, and
        (unless ``-q``) the protocol and the length."""
        self.put(f"ifindex {self.be32(4)} ")
        if self.u8(11) == 6:
            self.put(f"{self.etheraddr(12)} ")
        if self.qflag:
            return
        ether_type = self.be16(0)
        if ether_type > _MAX_ETHERNET_LENGTH_VAL:
            self.put(f"ethertype {_ETHERTYPE_NAMES.get(ether_type, 'Unknown')} (0x{ether_type:04x})")
        else:
            self.put({_LINUX_SLL_P_802_3: "802.3", _LINUX_SLL_P_802_2: "802.2"}.get(
                ether_type, f"ethertype Unknown (0x{ether_type:04x})"))
        self.put(f", length {length}: ")

    # -- print-raw.c / print-ip.c: ipN_print() ------------------------------

    def raw(self, length: int) -> None:
        if self.eflag:
            self.put("ip: ")
        self.protocol = "ipn"
        if length < 1:
            self.put(f"truncated-ip {length}")
            return
        version = self.u8(0) & 0xF0
        if version == 0x40:
            self.ip(0, length)
        else:
            self.put(f"unknown ip {version >> 4}")

    # -- print-ip.c --------------------------------------------------------

    def ip(self, bp: int, length: int) -> None:
        self.protocol = "ip"
        version = self.u8(bp) >> 4
        if version != 4:
            self.put("IP6, wrong link-layer encapsulation" if version == 6 else f"IP{version}")
            self.put(" (invalid)")
            return
        if not self.eflag:
            self.put("IP ")
        if not self.ttest(bp, 20):
            self.print_trunc()
            return
        if length < 20:
            self.put(f"truncated-ip {length}")
            return
        hlen = (self.u8(bp) & 0x0F) * 4
        if hlen < 20:
            self.put(f"bad-hlen {hlen}")
            return
        total = self.be16(bp + 2)
        if length < total:
            self.put(f"truncated-ip - {total - length} bytes missing! ")
        if total < hlen:
            self.put(f"bad-len {total}")
            return
        self.push_snaplen(bp, total)
        payload_len = total - hlen
        off = self.be16(bp + 6)
        proto = self.u8(bp + 9)
        if self.vflag:
            tos = self.u8(bp + 1)
            self.put(f"(tos 0x{tos:x}")
            self.put(("", ",ECT(1)", ",ECT(0)", ",CE")[tos & 3])
            ttl = self.u8(bp + 8)
            if ttl >= 1:
                self.put(f", ttl {ttl}")
            flags = [name for bit, name in ((_IP_MF, "+"), (_IP_DF, "DF"), (_IP_RES, "rsvd"))
                     if off & bit]
            self.put(f", id {self.be16(bp + 4)}, offset {(off & _IP_OFFMASK) * 8}, "
                     f"flags [{', '.join(flags) or 'none'}], "
                     f"proto {_IPPROTO_NAMES.get(proto, 'unknown')} ({proto})")
            self.put(f", length {total}")
            truncated = False
            if hlen > 20:
                self.put(", options (")
                if not self._ip_options(bp + 20, hlen - 20):
                    self.put(" [truncated-option]")
                    truncated = True
                self.put(")")
            if self.ttest(bp, hlen):
                computed = _in_cksum(self.buf[bp : bp + hlen])
                if computed != 0:
                    ip_sum = self.be16(bp + 10)
                    self.put(f", bad cksum {ip_sum:x} (->{_in_cksum_shouldbe(ip_sum, computed):x})!")
            self.put(")\n    ")
            if truncated:
                self.put(f"{self.ipaddr(bp + 12)} > {self.ipaddr(bp + 16)}: ")
                self.print_trunc()
                self.pop_snaplen()
                return
        if off & _IP_OFFMASK == 0:
            if proto not in (_IPPROTO_TCP, _IPPROTO_UDP, _IPPROTO_SCTP, _IPPROTO_DCCP):
                self.put(f"{self.ipaddr(bp + 12)} > {self.ipaddr(bp + 16)}: ")
            if not self.ttest(bp, hlen):
                self.put(f" [remaining caplen({self.avail(bp)}) < header length({hlen})]")
                raise _Truncated
            self._ip_demux(bp + hlen, payload_len, bool(off & _IP_MF), proto, bp)
        else:
            self.put(f"{self.ipaddr(bp + 12)} > {self.ipaddr(bp + 16)}: ip-proto-{proto}")
        self.pop_snaplen()

    def _ip_options(self, cp: int, length: int) -> bool:
        """print-ip.c: ip_optprint(); False when the options were truncated."""
        sep = ""
        while length > 0:
            self.put(sep)
            sep = ","
            code = self.u8(cp)
            self.put(_tok(_IP_OPTION_NAMES, "unknown %u", code))
            if code in (_IPOPT_NOP, _IPOPT_EOL):
                option_len = 1
            else:
                option_len = self.u8(cp + 1)
                if option_len < 2:
                    self.put(f" [bad length {option_len}]")
                    return True
            if option_len > length:
                self.put(f" [bad length {option_len}]")
                return True
            if not self.ttest(cp, option_len):
                return False
            if code == _IPOPT_EOL:
                return True
            if code == _IPOPT_TS:
                if not self._ip_printts(cp, option_len):
                    return False
            elif code in (_IPOPT_RR, _IPOPT_SSRR, _IPOPT_LSRR):
                if not self._ip_printroute(cp, option_len):
                    return False
            elif code == _IPOPT_RA:
                if option_len < 4:
                    self.put(f" [bad length {option_len}]")
                else:
                    value = self.be16(cp + 2)
                    if value != 0:
                        self.put(f" value {value}")
            cp += option_len
            length -= option_len
        return True

    def _ip_printroute(self, cp: int, length: int) -> bool:
        """print-ip.c: ip_printroute()."""
        if length < 3:
            self.put(f" [bad length {length}]")
            return True
        if (length + 1) & 3:
            self.put(f" [bad length {length}]")
        ptr = (self.u8(cp + 2) - 1) & _U32
        if ptr < 3 or ((ptr + 1) & 3) or ptr > length + 1:
            self.put(f" [bad ptr {self.u8(cp + 2)}]")
        for n in range(3, length, 4):
            if not self.ttest(cp + n, 4):
                return False
            self.put(f" {self.ipaddr(cp + n)}")
            if ptr > n:
                self.put(",")
        return True

    def _ip_printts(self, cp: int, length: int) -> bool:
        """print-ip.c: ip_printts()."""
        if length < 4:
            self.put(f"[bad length {length}]")
            return True
        self.put(" TS{")
        flags = self.u8(cp + 3)
        hoplen = 8 if flags & 0xF != 0 else 4
        if (length - 4) & (hoplen - 1):
            self.put(f"[bad length {length}]")
        ptr = (self.u8(cp + 2) - 1) & _U32
        n = 0
        if ptr < 4 or ((ptr - 4) & (hoplen - 1)) or ptr > length + 1:
            self.put(f"[bad ptr {self.u8(cp + 2)}]")
        kind = flags & 0xF
        if kind in (0, 1, 3):
            self.put({0: "TSONLY", 1: "TS+ADDR", 3: "PRESPEC"}[kind])
            sep = " "
            n = 4
            while n < length:
                if ptr == n:
                    sep = " ^ "
                if not self.ttest(cp + n, hoplen):
                    return False
                addr = self.ipaddr(cp + n) if hoplen == 8 else ""
                self.put(f"{sep}{self.be32(cp + n + hoplen - 4)}@{addr}")
                sep = " "
                n += hoplen
        else:
            self.put(f"[bad ts type {kind}]")
        self.put(" ^ " if ptr == n else "")
        if flags >> 4:
            self.put(f" [{flags >> 4} hops not recorded]}} ")
        else:
            self.put("}")
        return True

    def _ip_demux(self, bp: int, length: int, fragmented: bool, proto: int, iph: int) -> None:
        """print-ip-demux.c: ip_demux_print() for the protocols ported here."""
        if proto == _IPPROTO_TCP:
            self.tcp(bp, length, iph, fragmented)
        elif proto == _IPPROTO_UDP:
            self.udp(bp, length, iph, fragmented)
        elif proto == _IPPROTO_ICMP:
            self.icmp(bp, length, fragmented)
        elif proto == _IPPROTO_IGMP:
            self.igmp(bp, length)
        elif proto == _IPPROTO_IPV4:
            self.ip(bp, length)
        else:
            if proto in (_IPPROTO_SCTP, _IPPROTO_DCCP):
                # Not ported: ip_print() left the addresses to these printers.
                self.put(f"{self.ipaddr(iph + 12)} > {self.ipaddr(iph + 16)}: ")
            self.put(f" ip-proto-{proto} {length}")

    def _nextproto4_cksum(self, iph: int, data: int, length: int, proto: int) -> int:
        """print-ip.c: nextproto4_cksum(), with ip_finddst() for source routes."""
        dst = self.buf[iph + 16 : iph + 20]
        hlen = (self.u8(iph) & 0x0F) * 4
        cp, remaining = iph + 20, hlen - 20
        while remaining > 0:
            code = self.u8(cp)
            if code == _IPOPT_EOL:
                break
            if code == _IPOPT_NOP:
                option_len = 1
            else:
                option_len = self.u8(cp + 1)
                if option_len < 2:
                    break
            if remaining < option_len or not self.ttest(cp, option_len):
                break
            if code in (_IPOPT_SSRR, _IPOPT_LSRR) and option_len >= 7:
                dst = self.buf[cp + option_len - 4 : cp + option_len]
                break
            cp += option_len
            remaining -= option_len
        pseudo = (self.buf[iph + 12 : iph + 16] + dst + bytes((0, proto))
                  + (length & 0xFFFF).to_bytes(2, "big"))
        return _in_cksum(pseudo + self.buf[data : data + length])

    # -- print-tcp.c -------------------------------------------------------

    def tcp(self, bp: int, length: int, iph: int, fragmented: bool) -> None:
        self.protocol = "tcp"
        if not self.ttest(bp + 2, 2):
            self.put(f"{self.ipaddr(iph + 12)} > {self.ipaddr(iph + 16)}:")
            self.print_trunc()
            return
        sport, dport = self.be16(bp), self.be16(bp + 2)
        if self.u8(iph + 9) == _IPPROTO_TCP:
            self.put(f"{self.ipaddr(iph + 12)}.{self.tcpport(sport)} > "
                     f"{self.ipaddr(iph + 16)}.{self.tcpport(dport)}: ")
        else:
            self.put(f"{self.tcpport(sport)} > {self.tcpport(dport)}: ")
        if not self.ttest(bp, 20):
            self.print_trunc()
            return
        hlen = (self.u8(bp + 12) >> 4) * 4
        if hlen < 20:
            self.put(f" tcp {(length - hlen) & _U32} [bad hdr length {hlen} - too short, < 20]")
            return
        if self.qflag:  # -q: the payload's length alone
            self.put(f"tcp {(length - hlen) & _U32}")
            if hlen > length:
                self.put(f" [bad hdr length {hlen} - too long, > {length}]")
            return
        seq, ack = self.be32(bp + 4), self.be32(bp + 8)
        win, urp = self.be16(bp + 14), self.be16(bp + 18)
        flags = self.u8(bp + 13)
        names = "".join(name for bit, name in _TCP_FLAG_NAMES if flags & bit)
        self.put(f"Flags [{names or 'none'}]")
        thseq = thack = 0
        rev = False
        if self.flows is not None and flags & _TH_ACK:
            src, dst = self.buf[iph + 12 : iph + 16], self.buf[iph + 16 : iph + 20]
            rev = sport > dport or (sport == dport and src > dst)
            key = (dst, src, dport << 16 | sport) if rev else (src, dst, sport << 16 | dport)
            state = self.flows.get(key)
            if state is None or flags & _TH_SYN:
                state = [(ack - 1) & _U32, seq] if rev else [seq, (ack - 1) & _U32]
                self.flows[key] = state
            elif rev:
                seq, ack = (seq - state[1]) & _U32, (ack - state[0]) & _U32
            else:
                seq, ack = (seq - state[0]) & _U32, (ack - state[1]) & _U32
            thseq, thack = state
        if hlen > length:
            self.put(f" [bad hdr length {hlen} - too long, > {length}]")
            return
        if self.vflag and not fragmented and self.ttest(bp, length):
            tcp_sum = self.be16(bp + 16)
            computed = self._nextproto4_cksum(iph, bp, length, _IPPROTO_TCP)
            self.put(f", cksum 0x{tcp_sum:04x}")
            if computed != 0:
                self.put(f" (incorrect -> 0x{_in_cksum_shouldbe(tcp_sum, computed):04x})")
            else:
                self.put(" (correct)")
        length -= hlen
        if self.vflag > 1 or length > 0 or flags & (_TH_SYN | _TH_FIN | _TH_RST):
            self.put(f", seq {seq}")
            if length > 0:
                self.put(f":{(seq + length) & _U32}")
        if flags & _TH_ACK:
            self.put(f", ack {ack}")
        self.put(f", win {win}")
        if flags & _TH_URG:
            self.put(f", urg {urp}")
        self.tcp_segment = (iph, bp, length)
        if hlen > 20 and not self._tcp_options(bp + 20, hlen - 20, bp + hlen + length,
                                                  thseq if rev else thack):
            return
        self.put(f", length {length}")
        if length == 0:
            return
        header_len = (self.u8(bp + 12) >> 4) * 4
        if not self.ttest(bp, header_len):
            self.put(f" [remaining caplen({self.avail(bp)}) < header length({header_len})]")
            raise _Truncated
        bp += header_len
        if flags & _TH_RST and self.vflag:
            self._tcp_rst_data(bp, length)
            return
        ports = (sport, dport)
        if any(p in _TCP_PORTS_BEFORE_HTTP for p in ports):
            return
        if any(p in _HTTP_PORTS for p in ports):
            self.put(": ")
            self.protocol = "http"
            self._txtproto(bp, length)
        elif any(p in _RTSP_PORTS for p in ports):
            return
        elif _NAMESERVER_PORT in ports:
            self.domain(bp, length, over_tcp=True, is_mdns=False)

    def _tcp_options(self, cp: int, hlen: int, data_end: int, sack_base: int) -> bool:
        """The option loop of print-tcp.c: tcp_print(); False when it ended the line."""
        self.put(", options [")
        sep = ""
        try:
            while hlen > 0:
                self.put(sep)
                cp, hlen, opt = self._tcp_option(cp, hlen, data_end, sack_base)
                sep = ","
                if opt == 0:
                    break
        except _BadTcpOption:
            self.put("[bad opt]")
            if sep:
                self.put("]")
            return False
        except _GotoTrunc:
            self.print_trunc()
            if sep:
                self.put(">")
            return False
        self.put("]")
        return True

    def _tcp_option(self, cp: int, hlen: int, data_end: int, sack_base: int) -> tuple[int, int, int]:
        """One TCP option; returns the new ``(cp, hlen)`` and the option kind."""

        def lencheck(n: int) -> None:
            if n > hlen:
                raise _BadTcpOption
            if not self.ttest(cp, n):
                raise _GotoTrunc

        opt = self.u8(cp)
        cp += 1
        if opt in (0, 1):
            option_len = 1
        else:
            option_len = self.u8(cp)
            cp += 1
            if option_len < 2 or option_len > hlen:
                raise _BadTcpOption
            hlen -= 1
        hlen -= 1
        datalen = 0
        self.put(_tok(_TCP_OPTION_NAMES, "unknown-%u", opt))
        if opt == 2:
            datalen = 2
            lencheck(datalen)
            self.put(f" {self.be16(cp)}")
        elif opt == 3:
            datalen = 1
            lencheck(datalen)
            self.put(f" {self.u8(cp)}")
        elif opt == 5:
            datalen = option_len - 2
            if datalen % 8 != 0:
                self.put(" invalid sack")
            else:
                self.put(f" {datalen // 8} ")
                for i in range(0, datalen, 8):
                    lencheck(i + 4)
                    s = self.be32(cp + i)
                    lencheck(i + 8)
                    e = self.be32(cp + i + 4)
                    self.put(f"{{{(s - sack_base) & _U32}:{(e - sack_base) & _U32}}}")
        elif opt in (6, 7, 11, 12, 13):
            datalen = 4
            lencheck(datalen)
            self.put(f" {self.be32(cp)}")
        elif opt == 8:
            datalen = 8
            lencheck(datalen)
            self.put(f" val {self.be32(cp)} ecr {self.be32(cp + 4)}")
        elif opt == 19:
            datalen = 16
            lencheck(datalen)
            self.put(" ")
            valid = self._tcp_verify_signature(data_end, cp)
            if valid is None:
                self.put("can't check - " + self.buf[cp : cp + 16].hex())
            else:
                self.put("valid" if valid else " (invalid)")
        elif opt == 20:
            datalen = 2
            lencheck(datalen)
            self.put(f" cap {self.u8(cp):02x} id {self.u8(cp + 1)}")
        elif opt == 29:
            datalen = option_len - 2
            if datalen < 2:
                self.put(" (invalid)")
            else:
                lencheck(1)
                self.put(f" keyid {self.u8(cp)}")
                lencheck(2)
                self.put(f" rnextkeyid {self.u8(cp + 1)}")
                if datalen > 2:
                    self.put(" mac 0x")
                    for i in range(2, datalen):
                        lencheck(i + 1)
                        self.put(f"{self.u8(cp + i):02x}")
        elif opt in (0, 1, 4):
            pass
        elif opt == 28:
            datalen = 2
            lencheck(datalen)
            uto = self.be16(cp)
            self.put(f" 0x{uto:x}")
            self.put(f" {(uto >> 1) * 60 if uto & 1 else uto >> 1}")
        elif opt == 34:
            datalen = option_len - 2
            lencheck(datalen)
            self.put(" ")
            self._tcp_fastopen(cp, datalen, exp=False)
        elif opt == 254:
            datalen = option_len - 2
            lencheck(datalen)
            if datalen < 2:
                raise _BadTcpOption
            magic = self.be16(cp)
            self.put("-")
            if magic == 0xF989:
                self._tcp_fastopen(cp + 2, datalen - 2, exp=True)
            else:
                self.put(f"{magic:04x}")
        else:
            datalen = option_len - 2
            if datalen:
                self.put(" 0x")
            for i in range(datalen):
                lencheck(i + 1)
                self.put(f"{self.u8(cp + i):02x}")
        cp += datalen
        hlen -= datalen
        datalen += 1 if opt in (0, 1) else 2
        if datalen != option_len:
            self.put(f"[len {option_len}]")
        return cp, hlen, opt

    def _tcp_verify_signature(self, data_end: int, sig: int) -> bool | None:
        """print-tcp.c: tcp_verify_signature(): does the RFC 2385 digest of the segment tcp() prints
        (its pseudo-header, its header without options and with a zero checksum, its payload,
        then -M's secret) match the one at ``sig``?  None when it cannot say, and why is printed."""
        if data_end > self.snapend:
            self.put("snaplen too short, ")
            return None
        if self.sigsecret is None:
            self.put("shared secret not supplied with -M, ")
            return None
        iph, bp, length = self.tcp_segment
        tlen = (self.be16(iph + 2) - (self.u8(iph) & 15) * 4) & 0xFFFF
        h = hashlib.md5(self.buf[iph + 12 : iph + 20])
        h.update(bytes((0, self.u8(iph + 9))) + tlen.to_bytes(2, "big"))
        h.update(self.buf[bp : bp + 16] + b"\0\0" + self.buf[bp + 18 : bp + 20])
        h.update(self.buf[data_end - length : data_end])
        h.update(self.sigsecret)
        return h.digest() == self.buf[sig : sig + 16]

    def _tcp_fastopen(self, cp: int, datalen: int, *, exp: bool) -> None:
        """print-tcp.c: print_tcp_fastopen_option()."""
        if exp:
            self.put("tfo")
        if datalen == 0:
            self.put(" cookiereq")
        elif datalen % 2 != 0 or datalen < 4 or datalen > 16:
            self.put(" (invalid)")
        else:
            self.need(cp, datalen)
            self.put(" cookie " + self.buf[cp : cp + datalen].hex())

    def _tcp_rst_data(self, sp: int, length: int) -> None:
        """print-tcp.c: print_tcp_rst_data()."""
        self.put(" [RST" if self.ttest(sp, length) else " [!RST")
        if length > _MAX_RST_DATA_LEN:
            length = _MAX_RST_DATA_LEN
            self.put("+")
        self.put(" ")
        while length and sp < self.snapend:
            self.put(_char(self.u8(sp)))
            sp += 1
            length -= 1
        self.put("]")

    # -- util-print.c: txtproto_print(), as print-http.c uses it -------------

    def _fetch_token(self, pptr: int, idx: int, length: int) -> tuple[int, str]:
        token = ""
        while idx < length:
            if not self.ttest(pptr + idx, 1):
                return 0, token
            c = self.u8(pptr + idx)
            if c >= 0x80:
                return 0, token
            if c in b" \t\r\n":
                break
            if not 0x20 <= c <= 0x7E:
                return 0, token
            if len(token) + 2 > _MAX_TOKEN + 1:
                return 0, token
            token += chr(c)
            idx += 1
        if not token:
            return 0, token
        while idx < length:
            if not self.ttest(pptr + idx, 1):
                break
            c = self.u8(pptr + idx)
            if c in b"\r\n" or not 0x20 <= c <= 0x7E or c not in b" \t":
                break
            idx += 1
        return idx, token

    def _print_txt_line(self, prefix: str, pptr: int, idx: int, length: int) -> int:
        start = idx
        while idx < length:
            c = self.u8(pptr + idx)
            if c == 0x0A:
                self.put(prefix + self.buf[pptr + start : pptr + idx].decode("ascii"))
                return idx + 1
            if c == 0x0D:
                if idx + 1 >= length:
                    return 0
                if self.u8(pptr + idx + 1) == 0x0A:
                    self.put(prefix + self.buf[pptr + start : pptr + idx].decode("ascii"))
                    return idx + 2
                return 0
            if not 0x20 <= c <= 0x7E and c != 0x09:
                return 0
            idx += 1
        self.put(prefix + self.buf[pptr + start : pptr + idx].decode("ascii"))
        self.print_trunc()
        return 0

    def _txtproto(self, pptr: int, length: int) -> None:
        print_this = False
        idx, token = self._fetch_token(pptr, 0, length)
        if idx != 0:
            if token.upper() in _HTTP_CMDS:
                print_this = True
            idx, token = self._fetch_token(pptr, idx, length)
            if idx != 0 and len(token) == 3 and isdigits(token):
                print_this = True
        self.put(self.protocol.upper())
        if not print_this:
            return
        if self.vflag:
            self.put(f", length: {length}")
            idx = 0
            while idx < length:
                eol = self._print_txt_line("\n\t", pptr, idx, length)
                if eol == 0:
                    break
                idx = eol
        else:
            self._print_txt_line(": ", pptr, 0, length)

    # -- print-udp.c -------------------------------------------------------

    def _udpipaddr(self, iph: int, ports: tuple[int, int] | None) -> None:
        if self.u8(iph + 9) == _IPPROTO_UDP:
            if ports is None:
                self.put(f"{self.ipaddr(iph + 12)} > {self.ipaddr(iph + 16)}: ")
            else:
                self.put(f"{self.ipaddr(iph + 12)}.{self.udpport(ports[0])} > "
                         f"{self.ipaddr(iph + 16)}.{self.udpport(ports[1])}: ")
        elif ports is not None:
            self.put(f"{self.udpport(ports[0])} > {self.udpport(ports[1])}: ")

    def udp(self, bp: int, length: int, iph: int, fragmented: bool) -> None:
        self.protocol = "udp"
        if not self.ttest(bp + 2, 2):
            self._udpipaddr(iph, None)
            self.print_trunc()
            return
        ports = (self.be16(bp), self.be16(bp + 2))
        if length < 8:
            self._udpipaddr(iph, ports)
            self.put(f"truncated-udp {length}")
            return
        if not self.ttest(bp + 4, 2):
            self._udpipaddr(iph, ports)
            self.print_trunc()
            return
        ulen = self.be16(bp + 4)
        if ulen == 0 and length > 65535:
            ulen = length
        if ulen < 8:
            self._udpipaddr(iph, ports)
            self.put(f"truncated-udplength {ulen}")
            return
        ulen -= 8
        length -= 8
        length = min(length, ulen)
        cp = bp + 8
        if cp > self.snapend:
            self._udpipaddr(iph, ports)
            self.print_trunc()
            return
        self._udpipaddr(iph, ports)
        if self.vflag > 1 and not fragmented:
            # -vv: the checksum checked, where the datagram is all there
            udp_sum = self.be16(bp + 6)
            if udp_sum == 0:
                self.put("[no cksum] ")
            elif self.ttest(cp, length):
                computed = self._nextproto4_cksum(iph, bp, length + 8, _IPPROTO_UDP)
                if computed:
                    self.put(f"[bad udp cksum 0x{udp_sum:04x} -> 0x{_in_cksum_shouldbe(udp_sum, computed):04x}!] ")
                else:
                    self.put("[udp sum ok] ")
        if _NAMESERVER_PORT in ports and not self.qflag:
            self.domain(cp, length, over_tcp=False, is_mdns=False)
        elif _MULTICASTDNS_PORT in ports and not self.qflag:
            self.domain(cp, length, over_tcp=False, is_mdns=True)
        elif ulen > length and not fragmented:
            self.put(f"UDP, bad length {ulen} > {length}")
        else:
            self.put(f"UDP, length {ulen}")

    # -- print-icmp.c ------------------------------------------------------

    def igmp(self, bp: int, length: int) -> None:
        """print-igmp.c: igmp_print(): queries of the three versions, reports, leaves; with -v the
        group records of an IGMPv3 report and the checksum."""
        self.protocol = "igmp"
        kind = self.u8(bp)
        if kind == 0x11:
            self.put("igmp query")
            if length >= 12:
                self._igmpv3_query(bp, length)
            else:
                mrc = self.u8(bp + 1)
                if mrc:
                    self.put(" v2")
                    if mrc != 100:
                        self.put(f" [max resp time {mrc}]")
                else:
                    self.put(" v1")
                if self.be32(bp + 4):
                    self.put(f" [gaddr {self.ipaddr(bp + 4)}]")
                if length != 8:
                    self.put(f" [len {length}]")
        elif kind == 0x12:
            self.put(f"igmp v1 report {self.ipaddr(bp + 4)}")
            if length != 8:
                self.put(f" [len {length}]")
        elif kind == 0x16:
            self.put(f"igmp v2 report {self.ipaddr(bp + 4)}")
        elif kind == 0x22:
            self.put("igmp v3 report")
            self._igmpv3_report(bp, length)
        elif kind == 0x17:
            self.put(f"igmp leave {self.ipaddr(bp + 4)}")
        else:
            self.put(f"igmp-{kind}")
        if self.vflag and length >= 4 and self.ttest(bp, length) and _in_cksum(self.buf[bp:bp + length]):
            self.put(f" bad igmp cksum {self.be16(bp + 2):x}!")

    def _igmpv3_report(self, bp: int, length: int) -> None:
        """print-igmp.c: print_igmpv3_report()."""
        if length < 16 or length & 3:
            self.put(f" [invalid len {length}]")
            return
        ngroups = self.be16(bp + 6)
        self.put(f", {ngroups} group record(s)")
        if not self.vflag:
            return
        group = 8
        for _ in range(ngroups):
            if length < group + 8:
                self.put(" [invalid number of groups]")
                return
            kind = self.u8(bp + group)
            self.put(f" [gaddr {self.ipaddr(bp + group + 4)} {_IGMPV3_RECORDS.get(kind, f' [v3-report-#{kind}]')}")
            nsrcs = self.be16(bp + group + 2)
            if length < group + 8 + (nsrcs << 2):
                self.put(f" [invalid number of sources {nsrcs}]")
                return
            if self.vflag == 1:
                self.put(f", {nsrcs} source(s)")
            else:
                self.put(" {" + "".join(f" {self.ipaddr(bp + group + 8 + 4 * j)}" for j in range(nsrcs)) + " }")
            group += 8 + (nsrcs << 2)
            self.put("]")

    def _igmpv3_query(self, bp: int, length: int) -> None:
        """print-igmp.c: print_igmpv3_query()."""
        self.put(" v3")
        if length < 12 or length & 3:
            self.put(f" [invalid len {length}]")
            return
        mrc = self.u8(bp + 1)
        mrt = mrc if mrc < 128 else ((mrc & 0x0F) | 0x10) << (((mrc & 0x70) >> 4) + 3)
        if mrc != 100:
            self.put(f" [max resp time {mrt * 0.1:.1f}s]" if mrt < 600 else f" [max resp time {_relts(mrt // 10)}]")
        if self.be32(bp + 4) == 0:
            return
        self.put(f" [gaddr {self.ipaddr(bp + 4)}")
        nsrcs = self.be16(bp + 10)
        if nsrcs:
            if length < 12 + (nsrcs << 2):
                self.put(" [invalid number of sources]")
            elif self.vflag > 1:
                self.put(" {" + "".join(f" {self.ipaddr(bp + 12 + 4 * i)}" for i in range(nsrcs)) + " }")
            else:
                self.put(f", {nsrcs} source(s)")
        self.put("]")

    def icmp(self, bp: int, plen: int, fragmented: bool) -> None:
        self.protocol = "icmp"
        icmp_type, code = self.u8(bp), self.u8(bp + 1)
        try:
            text = self._icmp_summary(bp, icmp_type, code)
        except _GotoTrunc:
            self.print_trunc()
            return
        self.put(f"ICMP {text}, length {plen}")
        if self.vflag and not fragmented and self.ttest(bp, plen):
            computed = _in_cksum(self.buf[bp : bp + plen])
            if computed != 0:
                icmp_sum = self.be16(bp + 2)
                self.put(f" (wrong icmp cksum {icmp_sum:x} "
                         f"(->{_in_cksum_shouldbe(icmp_sum, computed):x})!)")
        if self.vflag and icmp_type in _ICMP_ERRTYPES:
            self.put("\n\t")
            inner = bp + 8
            self.push_snaplen(inner, self.be16(inner + 2))
            # icmp_print() reads ip_len again once the snapshot end has moved.
            self.ip(inner, self.be16(inner + 2))
            self.pop_snaplen()
        self.protocol = "icmp"
        if self.vflag and plen > _ICMP_EXTD_MINLEN and icmp_type in _ICMP_MULTIPART_EXT_TYPES:
            self._icmp_multipart(bp, plen)

    def _icmp_summary(self, bp: int, icmp_type: int, code: int) -> str:
        """The ``switch (icmp_type)`` of icmp_print(); raises for its ``goto trunc``."""
        inner_dst = bp + 8 + 16
        if icmp_type in (0, 8):
            kind = "request" if icmp_type == 8 else "reply"
            return f"echo {kind}, id {self.be16(bp + 4)}, seq {self.be16(bp + 6)}"
        if icmp_type == 3:
            if code == 2:
                return f"{self.ipaddr(inner_dst)} protocol {self.u8(bp + 8 + 9)} unreachable"
            if code == 3:
                if not self.ttest(bp + 8 + 9, 1):
                    raise _GotoTrunc
                ohlen = (self.u8(bp + 8) & 0x0F) * 4
                oport = self.be16(bp + 8 + ohlen + 2)
                oproto = self.u8(bp + 8 + 9)
                odst = self.ipaddr(inner_dst)
                if oproto == _IPPROTO_TCP:
                    return f"{odst} tcp port {self.tcpport(oport)} unreachable"
                if oproto == _IPPROTO_UDP:
                    return f"{odst} udp port {self.udpport(oport)} unreachable"
                return f"{odst} protocol {oproto} port {oport} unreachable"
            if code == 4:
                mtu = self.be16(bp + 6)
                if mtu:
                    return f"{self.ipaddr(inner_dst)} unreachable - need to frag (mtu {mtu})"
                return f"{self.ipaddr(inner_dst)} unreachable - need to frag"
            fmt = _ICMP_UNREACH_FORMATS.get(code)
            if fmt is None:
                return f"{self.ipaddr(inner_dst)} unreachable - #{code}"
            return fmt.format(self.ipaddr(inner_dst))
        if icmp_type == 5:
            dst, gw = self.ipaddr(inner_dst), self.ipaddr(bp + 4)
            fmt = _ICMP_REDIRECT_FORMATS.get(code)
            if fmt is None:
                return f"redirect-#{code} {dst} to {gw}"
            return fmt.format(dst, gw)
        if icmp_type == 9:
            return self._icmp_router_advert(bp)
        if icmp_type == 11:
            if not self.ttest(inner_dst, 4):
                raise _GotoTrunc
            if code == 0:
                return "time exceeded in-transit"
            if code == 1:
                return "ip reassembly time exceeded"
            return f"time exceeded-#{code}"
        if icmp_type == 12:
            if code:
                return f"parameter problem - code {code}"
            return f"parameter problem - octet {self.u8(bp + 4)}"
        if icmp_type == 18:
            return f"address mask is 0x{self.be32(bp + 8):08x}"
        if icmp_type == 13:
            return f"time stamp query id {self.be16(bp + 4)} seq {self.be16(bp + 6)}"
        if icmp_type == 14:
            if not self.ttest(bp + 16, 4):
                raise _GotoTrunc
            return (f"time stamp reply id {self.be16(bp + 4)} seq {self.be16(bp + 6)}: "
                    f"org {_icmp_tstamp(self.be32(bp + 8))}, "
                    f"recv {_icmp_tstamp(self.be32(bp + 12))}, "
                    f"xmit {_icmp_tstamp(self.be32(bp + 16))}")
        return _tok(_ICMP_NAMES, "type-#%u", icmp_type)

    def _icmp_router_advert(self, bp: int) -> str:
        text = "router advertisement"
        if not self.ttest(bp + 4, 4):
            raise _GotoTrunc
        text += " lifetime "
        lifetime = self.be16(bp + 6)
        if lifetime < 60:
            text += f"{lifetime}"
        elif lifetime < 3600:
            text += f"{lifetime // 60}:{lifetime % 60:02}"
        else:
            text += f"{lifetime // 3600}:{(lifetime % 3600) // 60:02}:{lifetime % 60:02}"
        num = self.u8(bp + 4)
        text += f" {num}:"
        size = self.u8(bp + 5)
        if size != 2:
            return text + f" [size {size}]"
        idp = bp + 8
        for _ in range(num):
            if not self.ttest(idp, 8):
                raise _GotoTrunc
            text += f" {{{self.ipaddr(idp)} {self.be32(idp + 4)}}}"
            idp += 8
        return text

    def _icmp_multipart(self, bp: int, plen: int) -> None:
        """RFC 4884 extensions, as the end of icmp_print() prints them."""
        if not self.ttest(bp, 141):
            self.print_trunc()
            return
        ext = bp + _ICMP_EXTD_MINLEN
        ext_len = plen - _ICMP_EXTD_MINLEN
        if self.u8(bp + 5) == 0 and self.ttest(ext, ext_len):
            if _in_cksum(self.buf[ext : ext + ext_len]):
                return
        version = self.buf[ext] >> 4
        self.put(f"\n\tICMP Multi-Part extension v{version}")
        if version != 2:
            self.put(" packet not supported")
            return
        hlen = ext_len
        if self.ttest(ext, hlen):
            correct = "in" if _in_cksum(self.buf[ext : ext + hlen]) else ""
            self.put(f", checksum 0x{self.be16(ext + 2):04x} ({correct}correct), length {hlen}")
        hlen = (hlen - 4) & _U32
        obj = ext + 4
        while hlen > 4:
            if not self.ttest(obj, 4):
                self.print_trunc()
                return
            obj_len, obj_class, obj_ctype = self.be16(obj), self.u8(obj + 2), self.u8(obj + 3)
            obj += 4
            self.put(f"\n\t  {_ICMP_MULTIPART_OBJ_NAMES.get(obj_class, 'unknown')} Object "
                     f"({obj_class}), Class-Type: {obj_ctype}, length {obj_len}")
            hlen -= 4
            if obj_class == 0 or obj_len < 4:
                return
            obj_len -= 4
            if obj_class == 1 and obj_ctype == 1:
                label = self.be32(obj)
                self.put(f"\n\t    label {label >> 12}, tc {(label >> 9) & 7}")
                if label & 0x100:
                    self.put(", [S]")
                self.put(f", ttl {label & 0xFF}")
            elif obj > self.snapend:
                self.put("\n\t    Dissector error: print_unknown_data called with pointer past "
                         "end of packet")
            else:
                self.hex_print("\n\t    ", obj, min(obj_len, self.avail(obj)))
            if hlen < obj_len:
                break
            hlen -= obj_len
            obj += obj_len

    # -- print-arp.c -------------------------------------------------------

    def arp(self, bp: int, length: int, caplen: int) -> None:
        self.protocol = "arp"
        if not self.ttest(bp, 8):
            raise _Truncated
        hrd, pro, op = self.be16(bp), self.be16(bp + 2), self.be16(bp + 6)
        hln, pln = self.u8(bp + 4), self.u8(bp + 5)
        sha = bp + 8
        spa = sha + hln
        tha = spa + pln
        tpa = tha + hln
        if not self.ttest(tpa, pln):
            raise _Truncated
        if not self.eflag:
            self.put("ARP, ")
        if pro not in (_ETHERTYPE_IP, _ETHERTYPE_TRAIL) or pln != 4 or hln == 0 or self.vflag:
            self.put(f"{_tok(_ARPHRD_NAMES, 'Unknown Hardware (%u)', hrd)} (len {hln}), "
                     f"{_tok(_ETHERTYPE_NAMES, 'Unknown Protocol (0x%04x)', pro)} (len {pln})")
            if not self.vflag:
                self.put(f", length {length}")
                return
        self.put(f"{', ' if self.vflag else ''}{_tok(_ARPOP_NAMES, 'Unknown (%u)', op)} ")

        def paddr(off: int) -> str:
            if pro not in (_ETHERTYPE_IP, _ETHERTYPE_TRAIL):
                return "<wrong proto type>"
            if pln != 4:
                return "<wrong len>"
            return self.ipaddr(off)

        if op == 1:
            self.put(f"who-has {paddr(tpa)}")
            self.need(tha, hln)
            if any(self.buf[tha : tha + hln]):
                self.put(f" ({self.linkaddr(tha, hln)})")
            self.put(f" tell {paddr(spa)}")
        elif op == 2:
            self.put(f"{paddr(spa)} is-at {self.linkaddr(sha, hln)}")
        elif op in (3, 8):
            self.put(f"who-is {self.linkaddr(tha, hln)} tell {self.linkaddr(sha, hln)}")
        elif op == 4:
            self.put(f"{self.linkaddr(tha, hln)} at {paddr(tpa)}")
        elif op == 9:
            self.put(f"{self.linkaddr(sha, hln)} at {paddr(spa)}")
        else:
            self.default_print(bp, caplen)
            return
        self.put(f", length {length}")

    # -- print-domain.c ----------------------------------------------------

    def _ns_nskip(self, cp: int) -> int | None:
        if not self.ttest(cp, 1):
            return None
        i = self.u8(cp)
        cp += 1
        while i:
            kind = i & 0xC0
            if kind == 0xC0:
                return cp + 1
            if kind == 0x40:
                if i & 0x3F != 1:
                    return None
                if not self.ttest(cp, 1):
                    return None
                bitlen = self.u8(cp) or 256
                cp += 1 + (bitlen + 7) // 8
            elif kind == 0x80:
                return None
            else:
                cp += i
            if not self.ttest(cp, 1):
                return None
            i = self.u8(cp)
            cp += 1
        return cp

    def _blabel_print(self, cp: int) -> int | None:
        if not self.ttest(cp, 1):
            return None
        bitlen = self.u8(cp) or 256
        slen = (bitlen + 3) // 4
        lim = cp + 1 + slen
        self.put("\\[x")
        bitp, b = cp + 1, bitlen
        while bitp < lim and b > 7:
            self.put(f"{self.u8(bitp):02x}")
            b -= 8
            bitp += 1
        if b > 4:
            self.put(f"{self.u8(bitp) & (0xFF << (8 - b)) & 0xFF:02x}")
        elif b > 0:
            self.put(f"{((self.u8(bitp) >> 4) & 0x0F) & (0x0F << (4 - b)):1x}")
        self.put(f"/{bitlen}]")
        return lim

    def _labellen(self, cp: int) -> int:
        if not self.ttest(cp, 1):
            return -1
        i = self.u8(cp)
        kind = i & 0xC0
        if kind == 0x40:
            elt = i & 0x3F
            if elt != 1:
                self.put(f"<ELT {elt}>")
                return -1
            if not self.ttest(cp + 1, 1):
                return -1
            return ((self.u8(cp + 1) or 256) + 7) // 8 + 1
        if kind == 0x80:
            self.put("<BAD LABEL TYPE>")
            return -1
        return i

    def _fqdn_print(self, cp: int, bp: int) -> int | None:
        """print-domain.c: fqdn_print(); returns the offset after the name."""
        rp: int | None = None
        compress = False
        name_chars = 0
        length = self._labellen(cp)
        if length == -1:
            return None
        if not self.ttest(cp, 1):
            return None
        max_offset = (cp - bp) & _U32
        i = self.u8(cp)
        cp += 1
        if i & 0xC0 != 0xC0:
            rp = cp + length
        if i == 0:
            self.put(".")
            return rp
        while i and cp < self.snapend:
            kind = i & 0xC0
            if kind == 0xC0:
                if not compress:
                    rp = cp + 1
                    compress = True
                if not self.ttest(cp, 1):
                    return None
                offset = ((i << 8) | self.u8(cp)) & 0x3FFF
                if offset >= max_offset:
                    self.put("<BAD PTR>")
                    return None
                max_offset = offset
                cp = bp + offset
                if not self.ttest(cp, 1):
                    return None
                i = self.u8(cp)
                length = self._labellen(cp)
                if length == -1:
                    return None
                cp += 1
                continue
            if kind == 0x40:
                elt = i & 0x3F
                if elt != 1:
                    self.put(f"<ELT {elt}>")
                    return None
                if self._blabel_print(cp) is None:
                    return None
            elif kind == 0x80:
                self.put("<BAD LABEL TYPE>")
                return None
            else:
                if name_chars + length <= _MAXCDNAME:
                    if self.printn(cp, length):
                        return None
                elif name_chars < _MAXCDNAME:
                    if self.printn(cp, _MAXCDNAME - name_chars):
                        return None
                name_chars += length
            cp += length
            if name_chars <= _MAXCDNAME:
                self.put(".")
            name_chars += 1
            if not self.ttest(cp, 1):
                return None
            i = self.u8(cp)
            length = self._labellen(cp)
            if length == -1:
                return None
            cp += 1
            if not compress and rp is not None:
                rp += length + 1
        if name_chars > _MAXCDNAME:
            self.put("<DOMAIN NAME TOO LONG>")
        return rp

    def _ns_cprint(self, cp: int) -> int | None:
        if not self.ttest(cp, 1):
            return None
        i = self.u8(cp)
        cp += 1
        if self.printn(cp, i):
            return None
        return cp + i

    def _ns_qprint(self, cp: int, bp: int, is_mdns: bool) -> int | None:
        np_ = cp
        skipped = self._ns_nskip(cp)
        if skipped is None or not self.ttest(skipped, 4):
            return None
        qtype, qclass = self.be16(skipped), self.be16(skipped + 2)
        self.put(f" {_tok(_NS_TYPES, 'Type%u', qtype)}")
        klass = qclass & ~0x8000 if is_mdns else qclass
        if klass != _C_IN:
            self.put(f" {_tok(_NS_CLASSES, '(Class %u)', klass)}")
        if is_mdns:
            self.put(" (QU)" if qclass & 0x8000 else " (QM)")
        self.put("? ")
        end = self._fqdn_print(np_, bp)
        return end + 4 if end is not None else None

    def _ns_rprint(self, cp: int, bp: int, is_mdns: bool) -> int | None:
        opt_flags = 0
        if self.vflag:
            self.put(" ")
            skipped = self._fqdn_print(cp, bp)
            if skipped is None:
                return None
        else:
            skipped = self._ns_nskip(cp)
        if skipped is None or not self.ttest(skipped, 10):
            return self.snapend
        cp = skipped
        typ = self.be16(cp)
        raw_class = self.be16(cp + 2)
        cp += 4
        klass = raw_class & ~0x8000 if is_mdns else raw_class
        if klass != _C_IN and typ != _T_OPT:
            self.put(f" {_tok(_NS_CLASSES, '(Class %u)', klass)}")
        if is_mdns and raw_class & 0x8000:
            self.put(" (Cache flush)")
        if typ == _T_OPT:
            opt_flags = self.be16(cp + 2)
        elif self.vflag > 2:  # -vvv: the TTL
            self.put(f" [{_relts(self.be32(cp))}]")
        cp += 4
        rdlen = self.be16(cp)
        cp += 2
        rp = cp + rdlen
        self.put(f" {_tok(_NS_TYPES, 'Type%u', typ)}")
        if rp > self.snapend:
            return None
        if typ == _T_A:
            if not self.ttest(cp, 4):
                return None
            self.put(f" {self.ipaddr(cp)}")
        elif typ in (_T_NS, _T_CNAME, _T_PTR, _T_DNAME):
            self.put(" ")
            if self._fqdn_print(cp, bp) is None:
                return None
        elif typ == _T_SOA:
            if not self.vflag:
                return rp
            for _ in range(2):
                self.put(" ")
                end = self._fqdn_print(cp, bp)
                if end is None:
                    return None
                cp = end
            if not self.ttest(cp, 20):
                return None
            for k in range(5):
                self.put(f" {self.be32(cp + 4 * k)}")
        elif typ == _T_MX:
            self.put(" ")
            if not self.ttest(cp, 2):
                return None
            if self._fqdn_print(cp + 2, bp) is None:
                return None
            self.put(f" {self.be16(cp)}")
        elif typ == _T_TXT:
            while cp < rp:
                self.put(' "')
                end = self._ns_cprint(cp)
                if end is None:
                    return None
                cp = end
                self.put('"')
        elif typ == _T_SRV:
            self.put(" ")
            if not self.ttest(cp, 6):
                return None
            if self._fqdn_print(cp + 6, bp) is None:
                return None
            self.put(f":{self.be16(cp + 4)} {self.be16(cp)} {self.be16(cp + 2)}")
        elif typ == _T_AAAA:
            if not self.ttest(cp, 16):
                return None
            self.put(f" {_ip6addr(self.buf[cp : cp + 16])}")
        elif typ == _T_A6:
            if not self.ttest(cp, 1):
                return None
            pbit = self.u8(cp)
            pbyte = (pbit & ~7) // 8
            if pbit > 128:
                self.put(f" {pbit}(bad plen)")
                return rp
            if pbit < 128:
                self.need(cp + 1, 16 - pbyte)
                addr = bytes(pbyte) + self.buf[cp + 1 : cp + 1 + 16 - pbyte]
                self.put(f" {pbit} {_ip6addr(addr)}")
            if pbit > 0:
                self.put(" ")
                if self._fqdn_print(cp + 1 + 16 - pbyte, bp) is None:
                    return None
        elif typ == _T_URI:
            if not self.ttest(cp, rdlen):
                return None
            self.put(f" {self.be16(cp)} {self.be16(cp + 2)} ")
            if self.printn(cp + 4, (rdlen - 4) & _U32):
                return None
        elif typ == _T_OPT:
            self.put(f" UDPsize={klass}")
            if opt_flags & 0x8000:
                self.put(" DO")
            if cp < rp:
                self.put(" [")
                while cp < rp:
                    end = self._eopt_print(cp)
                    if end is None:
                        return None
                    cp = end
                    if cp < rp:
                        self.put(",")
                self.put("]")
        elif typ == _T_UNSPECA:
            if not self.ttest(cp, rdlen):
                return None
            if self.printn(cp, rdlen):
                return None
        elif typ == _T_TSIG:
            if cp + rdlen > self.snapend:
                return None
            if not self.vflag:
                return rp
            self.put(" ")
            end = self._fqdn_print(cp, bp)
            if end is None:
                return None
            cp = end + 6
            for label in ("fudge", "maclen"):
                if not self.ttest(cp, 2):
                    return None
                self.put(f" {label}={self.be16(cp)}")
                cp += 2
            cp += self.be16(cp - 2)
            for label in ("origid", "error", "otherlen"):
                if not self.ttest(cp, 2):
                    return None
                self.put(f" {label}={self.be16(cp)}")
                cp += 2
        return rp

    def _eopt_print(self, cp: int) -> int | None:
        if not self.ttest(cp, 2):
            return None
        opt = self.be16(cp)
        cp += 2
        self.put(_tok(_EDNS_OPTS, "Opt%u", opt))
        if not self.ttest(cp, 2):
            return None
        data_len = self.be16(cp)
        cp += 2
        if not self.ttest(cp, data_len):
            return None
        data = self.buf[cp : cp + data_len]
        if data_len > 0:
            self.put(" ")
            if opt == 8:
                self._eopt_ecs(data)
            elif opt == 10:
                if data_len < 8 or 8 < data_len < 16 or data_len > 40:
                    self.put(" (invalid)")
                else:
                    self.put(data[:8].hex() + (" " + data[8:].hex() if data_len > 8 else ""))
            elif opt == 11:
                if data_len != 2:
                    self.put(" (invalid)")
                else:
                    self.put(f"{int.from_bytes(data, 'big') / 10.0:.1f} sec")
            elif opt == 9:
                if data_len != 4:
                    self.put(" (invalid)")
                else:
                    self.put(f"{int.from_bytes(data, 'big')} sec")
            elif opt == 12:
                self.put(f"({data_len})")
            elif opt == 14:
                if data_len % 2 != 0:
                    self.put(" (invalid)")
                else:
                    self.put(" ".join(str(int.from_bytes(data[i : i + 2], "big"))
                                      for i in range(0, data_len, 2)))
            elif opt in (5, 6, 7):
                table = {5: _DAU_ALGS, 6: _DHU_ALGS, 7: _N3U_ALGS}[opt]
                self.put(" ".join(_tok(table, "Alg_%u", b) for b in data))
            elif opt == 13:
                self._fqdn_print(cp, cp + data_len)
            else:
                self.put(data.hex())
        return cp + data_len

    def _eopt_ecs(self, data: bytes) -> None:
        if len(data) < 4:
            self.put(" (invalid)")
            return
        family = int.from_bytes(data[:2], "big")
        src_len, scope_len = data[2], data[3]
        if family not in (1, 2):
            self.put(" (invalid)")
            return
        addr_bits = 32 if family == 1 else 128
        if (len(data) - 4 > addr_bits // 8 or src_len > addr_bits or scope_len > addr_bits
                or (src_len + 7) // 8 != len(data) - 4):
            self.put(" (invalid)")
            return
        padded = data[4:] + bytes(32 - (len(data) - 4))
        if family == 1:
            addr = ".".join(str(b) for b in padded[:4])
        else:
            addr = _ip6addr(padded[:16])
        self.put(f"{addr}/{src_len}/{scope_len}")

    def domain(self, bp: int, length: int, *, over_tcp: bool, is_mdns: bool) -> None:
        self.protocol = "domain"
        if over_tcp:
            if length < 2:
                self.put(f" [DNS over TCP: length {length} < 2] (invalid)")
                return
            length -= 2
            prefix = self.be16(bp)
            if prefix != length:
                self.put(f" [prefix length({prefix}) != length({length})] (invalid)")
                return
            bp += 2
            self.put(" ")
        if length < _DNS_HDRLEN:
            self.put(f"domain [length {length} < {_DNS_HDRLEN}] (invalid)")
            return
        if not self.ttest(bp, _DNS_HDRLEN):
            self.print_trunc()
            return
        flags = self.be16(bp + 2)
        qdcount, ancount = self.be16(bp + 4), self.be16(bp + 6)
        nscount, arcount = self.be16(bp + 8), self.be16(bp + 10)
        rcode = self._dns_rcode(bp, flags, qdcount, ancount + nscount, arcount)
        opcode = (flags >> 11) & 0xF
        if flags & 0x8000:
            self.put(f"{self.be16(bp)}{_NS_OPS[opcode]}")
            self.put(_NS_RESP[rcode] if rcode < len(_NS_RESP) else f" Resp{rcode & 0xFFF}")
            self.put(("*" if flags & 0x0400 else "") + ("" if flags & 0x0080 else "-")
                     + ("|" if flags & 0x0200 else "") + ("$" if flags & 0x0020 else ""))
            if qdcount != 1:
                self.put(f" [{qdcount}q]")
            cp: int | None = bp + _DNS_HDRLEN
            for i in range(qdcount):
                if i != 0:
                    self.put(",")
                assert cp is not None
                if self.vflag > 1:  # -vv: the question too
                    self.put(" q:")
                    cp = self._ns_qprint(cp, bp, is_mdns)
                else:
                    cp = self._ns_nskip(cp)
                    cp = None if cp is None else cp + 4
                if cp is None:
                    self.print_trunc()
                    return
            self.put(f" {ancount}/{nscount}/{arcount}")
            if not self._dns_more(cp, bp, (ancount, nscount, arcount) if self.vflag > 1 else (ancount,), is_mdns):
                self.print_trunc()
                return
        else:
            self.put(f"{self.be16(bp)}{_NS_OPS[opcode]}"
                     + ("+" if flags & 0x0100 else "") + ("%" if flags & 0x0010 else ""))
            if flags & 0x6CF:
                self.put(f" [b2&3=0x{flags:x}]")
            if opcode == 1:
                if qdcount:
                    self.put(f" [{qdcount}q]")
                if ancount != 1:
                    self.put(f" [{ancount}a]")
            else:
                if ancount:
                    self.put(f" [{ancount}a]")
                if qdcount != 1:
                    self.put(f" [{qdcount}q]")
            if nscount:
                self.put(f" [{nscount}n]")
            if arcount:
                self.put(f" [{arcount}au]")
            cp = bp + _DNS_HDRLEN
            remaining = qdcount
            if remaining:
                cp = self._ns_qprint(cp, bp, is_mdns)
                if cp is None:
                    self.print_trunc()
                    return
                remaining -= 1
                while cp < self.snapend and remaining:
                    cp = self._ns_qprint(cp, bp, is_mdns)
                    if cp is None:
                        self.print_trunc()
                        return
                    remaining -= 1
            if remaining:
                self.print_trunc()
                return
            if self.vflag > 1 and not self._dns_more(cp, bp, (ancount, nscount, arcount), is_mdns):
                self.print_trunc()
                return
        self.put(f" ({length})")

    def _dns_rrs(self, cp: int, bp: int, count: int, is_mdns: bool, label: str = "") -> int | None:
        """A section's ``count`` resource records as domain_print() prints them, joined by
        commas, after ``label`` (`` ns:``, `` ar:``: those sections begin only where the capture
        goes on); where the section ends, or None on truncation."""
        if count and (not label or cp < self.snapend):
            self.put(label)
            end = self._ns_rprint(cp, bp, is_mdns)
            if end is None:
                return None
            cp = end
            count -= 1
            while cp < self.snapend and count:
                self.put(",")
                end = self._ns_rprint(cp, bp, is_mdns)
                if end is None:
                    return None
                cp = end
                count -= 1
        return cp if count == 0 else None

    def _dns_more(self, cp: int | None, bp: int, counts: tuple[int, ...], is_mdns: bool) -> bool:
        """-vv: the sections after the question (the answers of a query, then the authority and
        the additional records); False on truncation."""
        for count, label in zip(counts, ("", " ns:", " ar:")[:len(counts)], strict=True):
            if cp is None:
                return False
            cp = self._dns_rrs(cp, bp, count, is_mdns, label)
        return cp is not None

    def _dns_rcode(self, bp: int, flags: int, qdcount: int, an_ns: int, arcount: int) -> int:
        """domain_print(): the RCODE, extended by an OPT record's high bits."""
        rcode = flags & 0xF
        cp: int | None = bp + _DNS_HDRLEN
        for _ in range(qdcount):
            assert cp is not None
            cp = self._ns_nskip(cp)
            if cp is None:
                return rcode
            cp += 4
            if cp >= self.snapend:
                return rcode
        for _ in range(an_ns):
            assert cp is not None
            cp = self._ns_nskip(cp)
            if cp is None:
                return rcode
            cp += 8
            if cp + 2 > self.snapend:
                return rcode
            cp += 2 + self.be16(cp)
            if cp >= self.snapend:
                return rcode
        for _ in range(arcount):
            assert cp is not None
            cp = self._ns_nskip(cp)
            if cp is None or cp + 2 > self.snapend:
                return rcode
            typ = self.be16(cp)
            cp += 4
            if cp + 1 > self.snapend:
                return rcode
            if typ == _T_OPT:
                return rcode | (self.u8(cp) << 4)
            cp += 4
            if cp + 2 > self.snapend:
                return rcode
            cp += 2 + self.be16(cp)
            if cp >= self.snapend:
                return rcode
        return rcode


# print-igmp.c: igmpv3report2str
_IGMPV3_RECORDS = {1: "is_in", 2: "is_ex", 3: "to_in", 4: "to_ex", 5: "allow", 6: "block"}


def _relts(secs: int) -> str:
    """util-print.c: unsigned_relts_print(): "1y2w3d4h5m6s", the units that are not zero."""
    if secs == 0:
        return "0s"
    out = ""
    for unit, size in (("y", 31536000), ("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if secs >= size:
            out += f"{secs // size}{unit}"
            secs %= size
    return out


def _icmp_tstamp(tstamp: int) -> str:
    """print-icmp.c: icmp_tstamp_print()."""
    msec = tstamp % 1000
    sec = tstamp // 1000
    minutes, sec = divmod(sec, 60)
    hrs, minutes = divmod(minutes, 60)
    return f"{hrs:02}:{minutes:02}:{sec:02}.{msec:03}"


def _timestamp(ts_ns: int) -> str:
    """util-print.c: ts_format() of the default ``HH:MM:SS.ffffff`` (UTC, epoch 0)."""
    usec_total = ts_ns // 1000
    sec, usec = divmod(usec_total, 1_000_000)
    minutes, s = divmod(sec % 86400, 60)
    h, m = divmod(minutes, 60)
    return f"{h:02}:{m:02}:{s:02}.{usec:06}"


def _date(ts_ns: int) -> str:
    """``-tttt``: the date, then the time of day (UTC)."""
    return time.strftime("%Y-%m-%d ", time.gmtime(ts_ns // 1_000_000_000)) + _timestamp(ts_ns)


class TcpdumpPrinter:
    """Formats frames as ``tcpdump -nn`` does, keeping its per-connection state.

    Like tcpdump, it prints TCP sequence and acknowledgement numbers relative
    to the initial sequence numbers it saw in a connection's SYN-ACK (pass
    ``absolute_seq=True`` for ``tcpdump -S``).  ``link_level`` is ``-e``,
    ``verbose`` is ``-v`` (or how many: 2 for ``-vv``, 3 for ``-vvv``),
    ``hex_dump`` is ``-x``, ``-xx``, ``-X``, ``-XX``, ``-A`` or ``-AA`` (the
    letters), ``tflag`` how many ``-t``: none, the time of day; 1, no time;
    2, seconds since the epoch; 3, the time since the frame before (``-``
    before it if earlier); 4, the date and the time; 5, the time since the
    first frame.  ``quick`` is ``-q``.  ``names`` gives hosts, ports and Ethernet addresses
    their names, as tcpdump does without ``-n``.  ``linktype`` is the pcap link type: 1 (Ethernet), 101 or
    228 (raw IPv4), 276 (Linux cooked v2, ``tcpdump -i any``), whose interfaces ``if_indextoname``
    names (none: every index unknown, ``?``).  ``sigsecret`` is ``-M``'s secret, with which the
    MD5 signatures of TCP segments (RFC 2385) are checked: ``md5 valid`` or ``md5  (invalid)``.
    """

    def __init__(self, *, link_level: bool = False, verbose: bool | int = False,
                 linktype: int = DLT_EN10MB, absolute_seq: bool = False, hex_dump: str = "",
                 tflag: int = 0, quick: bool = False, names: AddrToName | None = None,
                 if_indextoname: Callable[[int], str | None] | None = None, sigsecret: bytes | None = None) -> None:
        if linktype not in (DLT_EN10MB, DLT_RAW, _LINKTYPE_IPV4, DLT_LINUX_SLL2):
            raise ValueError(f"unsupported link type {linktype}")
        if hex_dump not in ("", "x", "xx", "X", "XX", "A", "AA"):
            raise ValueError(f"unsupported hex dump {hex_dump!r}")
        self.hex_dump = hex_dump
        if not 0 <= tflag <= 5:
            raise ValueError(f"unsupported -t count {tflag}")
        self.tflag = tflag
        self.quick = quick
        self._ts_ref = 0  # -ttt's frame before, -ttttt's first, in microseconds
        self.link_level = link_level
        self.verbose = verbose
        self.linktype = linktype
        self.absolute_seq = absolute_seq
        self.names = names
        self.if_indextoname = if_indextoname or (lambda ifindex: None)
        self.sigsecret = sigsecret
        self._flows: dict[tuple[bytes, bytes, int], list[int]] = {}

    def reset(self) -> None:
        """Forget the connections seen so far, and the frame ``-ttt`` and ``-ttttt`` count from."""
        self._flows.clear()
        self._ts_ref = 0

    def format(self, ts_ns: int, frame: bytes | bytearray | memoryview, wire_len: int | None = None) -> str:
        """The text tcpdump prints for ``frame`` captured at ``ts_ns``, without the newline;
        ``wire_len`` is the frame's length on the wire when ``frame`` is cut to a snapshot length
        (pcap's ``len`` beside ``caplen``).

        Verbose output and hex dumps span several lines, joined by ``\\n``.
        """
        data = bytes(frame)
        caplen = len(data)
        length = caplen if wire_len is None else wire_len
        # print.c pretty_print_packet(): the record's lengths checked first
        problems = []
        if not caplen:
            problems.append(" caplen==0")
        if not length:
            problems.append(" len==0")
        elif length < caplen:
            problems.append(f" len({length}) < caplen({caplen})")
        if caplen > MAXIMUM_SNAPLEN:
            problems.append(f" caplen({caplen}) > {MAXIMUM_SNAPLEN}")
        if length > MAXIMUM_SNAPLEN:
            problems.append(f" len({length}) > {MAXIMUM_SNAPLEN}")
        if problems:
            return "[Invalid header:" + ",".join(problems) + "]"
        pkt = _Packet(data, vflag=int(self.verbose), eflag=self.link_level,
                      flows=None if self.absolute_seq else self._flows,
                      suppress_default_print=self.quick or self.hex_dump[:1] in ("x", "X"), qflag=self.quick,
                      names=self.names, sigsecret=self.sigsecret)
        try:
            if self.linktype == DLT_EN10MB:
                pkt.ether(length)
            elif self.linktype == DLT_LINUX_SLL2:
                pkt.sll2(length, self.if_indextoname)
            else:
                pkt.raw(length)
        except _Truncated:
            pkt.print_trunc()
            pkt.ll_hdrlen = 0  # print.c: a printer that quit early shows the whole frame
        if self.hex_dump:
            # print.c pretty_print_packet(): the bytes after the link-layer header (all of them
            # for -xx, -XX), in hex (hex_print) or hex and ASCII (hex_and_ascii_print)
            pkt.snapend = len(data)
            skip = 0 if len(self.hex_dump) > 1 else pkt.ll_hdrlen
            if len(data) > skip:
                if self.hex_dump[0] == "A":
                    pkt.ascii_print(skip, len(data) - skip)
                else:
                    dump = pkt.hex_and_ascii if self.hex_dump[0] == "X" else pkt.hex_print
                    dump("\n\t", skip, len(data) - skip)
        return self._ts_print(ts_ns) + "".join(pkt.out)

    def _ts_print(self, ts_ns: int) -> str:
        """util-print.c ts_print(): the time a line starts with, as ``tflag`` asks."""
        t = self.tflag
        if t == 0:
            return _timestamp(ts_ns) + " "
        if t == 1:
            return ""
        if t == 2:
            usec = ts_ns // 1000
            return f"{usec // 1_000_000}.{usec % 1_000_000:06} "
        if t == 4:
            return _date(ts_ns) + " "
        usec = ts_ns // 1000
        if not self._ts_ref:
            # as tcpdump keeps it, a reference of zero is none yet: the frame becomes it
            self._ts_ref = usec
        delta = usec - self._ts_ref
        if t == 3:
            self._ts_ref = usec
        return ("-" if delta < 0 else " ") + _timestamp(abs(delta) * 1000) + " "


def format_frame(ts_ns: int, frame: bytes | bytearray | memoryview, *, link_level: bool = False,
                 linktype: int = DLT_EN10MB, verbose: bool = False) -> str:
    """Format one frame statelessly, with absolute TCP sequence numbers (``tcpdump -S``)."""
    printer = TcpdumpPrinter(link_level=link_level, verbose=verbose, linktype=linktype,
                             absolute_seq=True)
    return printer.format(ts_ns, frame)
