"""libpcap's gencode.c, the primitives: hosts and networks (``gen_host``, ``gen_hostop``,
``gen_hostop6``, ``gen_ehostop``, ``gen_dnhostop``), ports and port ranges (``gen_port``,
``gen_portrange`` and their IPv6 twins), protocols (``gen_proto``, ``gen_proto_abbrev``),
broadcast and multicast, and the entry points the grammar calls with a value and its qualifiers
(``gen_scode``, ``gen_ncode``, ``gen_mcode``, ``gen_mcode6``, ``gen_ecode``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from . import nametoaddr
from .bpf import BPF_B, BPF_H, BPF_JSET, BPF_W, U32
from .gencode import (
    DLT_DESCRIPTIONS,
    DLT_EN10MB,
    DLT_LINUX_SLL2,
    ETHERTYPE_AARP,
    ETHERTYPE_ARP,
    ETHERTYPE_ATALK,
    ETHERTYPE_DN,
    ETHERTYPE_IP,
    ETHERTYPE_IPV6,
    ETHERTYPE_LAT,
    ETHERTYPE_MOPDL,
    ETHERTYPE_MOPRC,
    ETHERTYPE_REVARP,
    ETHERTYPE_SCA,
    JMP,
    LLCSAP_8021D,
    LLCSAP_IPX,
    LLCSAP_ISONS,
    LLCSAP_NETBEUI,
    OFFSET_NOT_SET,
    OR_LINKHDR,
    OR_LINKPL,
    OR_LINKPL_NOSNAP,
    OR_LLC,
    OR_TRAN_IPV4,
    OR_TRAN_IPV6,
    PROTO_NAMES,
    PROTO_UNDEF,
    Q_AARP,
    Q_ADDR1,
    Q_ADDR2,
    Q_ADDR3,
    Q_ADDR4,
    Q_AH,
    Q_AND,
    Q_ARP,
    Q_ATALK,
    Q_CARP,
    Q_CLNP,
    Q_DECNET,
    Q_DEFAULT,
    Q_DST,
    Q_ESIS,
    Q_ESP,
    Q_GATEWAY,
    Q_HOST,
    Q_ICMP,
    Q_ICMPV6,
    Q_IGMP,
    Q_IGRP,
    Q_IP,
    Q_IPV6,
    Q_IPX,
    Q_ISIS,
    Q_ISIS_CSNP,
    Q_ISIS_IIH,
    Q_ISIS_L1,
    Q_ISIS_L2,
    Q_ISIS_LSP,
    Q_ISIS_PSNP,
    Q_ISIS_SNP,
    Q_ISO,
    Q_LAT,
    Q_LINK,
    Q_MOPDL,
    Q_MOPRC,
    Q_NET,
    Q_NETBEUI,
    Q_OR,
    Q_PIM,
    Q_PORT,
    Q_PORTRANGE,
    Q_PROTO,
    Q_PROTOCHAIN,
    Q_RA,
    Q_RARP,
    Q_SCA,
    Q_SCTP,
    Q_SRC,
    Q_STP,
    Q_TA,
    Q_TCP,
    Q_UDP,
    Q_VRRP,
    Compiler,
    FilterError,
    gen_and,
    gen_not,
    gen_or,
    new_block,
)
from .icode import Block

HostResolver = Callable[[str], "list[int] | None"]
Qual = tuple[int, int, int]  # (proto, dir, addr)

IPPROTO_ICMP, IPPROTO_IGMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IGRP = 1, 2, 6, 17, 9
IPPROTO_FRAGMENT, IPPROTO_ESP, IPPROTO_AH, IPPROTO_ICMPV6 = 44, 50, 51, 58
IPPROTO_PIM, IPPROTO_VRRP, IPPROTO_SCTP = 103, 112, 132
ISO8473_CLNP, ISO9542_ESIS, ISO10589_ISIS = 0x81, 0x82, 0x83
ISIS_L1_LAN_IIH, ISIS_L2_LAN_IIH, ISIS_PTP_IIH, ISIS_L1_LSP, ISIS_L2_LSP = 15, 16, 17, 18, 20
ISIS_L1_CSNP, ISIS_L2_CSNP, ISIS_L1_PSNP, ISIS_L2_PSNP = 24, 25, 26, 27

# gen_proto_abbrev: the IP protocols tested in IPv4 (and, first IPv4 then IPv6, those in _BOTH)
_IP_PROTOCOLS = {Q_SCTP: IPPROTO_SCTP, Q_TCP: IPPROTO_TCP, Q_UDP: IPPROTO_UDP,
                 Q_ICMP: IPPROTO_ICMP, Q_IGMP: IPPROTO_IGMP, Q_IGRP: IPPROTO_IGRP,
                 Q_PIM: IPPROTO_PIM, Q_VRRP: IPPROTO_VRRP, Q_CARP: IPPROTO_VRRP,
                 Q_AH: IPPROTO_AH, Q_ESP: IPPROTO_ESP}
_BOTH = {Q_SCTP, Q_TCP, Q_UDP, Q_PIM, Q_AH, Q_ESP}
_LINK_PROTOCOLS = {Q_IP: ETHERTYPE_IP, Q_ARP: ETHERTYPE_ARP, Q_RARP: ETHERTYPE_REVARP,
                   Q_ATALK: ETHERTYPE_ATALK, Q_AARP: ETHERTYPE_AARP, Q_DECNET: ETHERTYPE_DN,
                   Q_SCA: ETHERTYPE_SCA, Q_LAT: ETHERTYPE_LAT, Q_MOPDL: ETHERTYPE_MOPDL,
                   Q_MOPRC: ETHERTYPE_MOPRC, Q_IPV6: ETHERTYPE_IPV6, Q_ISO: LLCSAP_ISONS,
                   Q_STP: LLCSAP_8021D, Q_IPX: LLCSAP_IPX, Q_NETBEUI: LLCSAP_NETBEUI}
_ISIS_GROUPS = {
    Q_ISIS_L1: (ISIS_L1_LAN_IIH, ISIS_PTP_IIH, ISIS_L1_LSP, ISIS_L1_CSNP, ISIS_L1_PSNP),
    Q_ISIS_L2: (ISIS_L2_LAN_IIH, ISIS_PTP_IIH, ISIS_L2_LSP, ISIS_L2_CSNP, ISIS_L2_PSNP),
    Q_ISIS_IIH: (ISIS_L1_LAN_IIH, ISIS_L2_LAN_IIH, ISIS_PTP_IIH),
    Q_ISIS_LSP: (ISIS_L1_LSP, ISIS_L2_LSP),
    Q_ISIS_SNP: (ISIS_L1_CSNP, ISIS_L2_CSNP, ISIS_L1_PSNP, ISIS_L2_PSNP),
    Q_ISIS_CSNP: (ISIS_L1_CSNP, ISIS_L2_CSNP),
    Q_ISIS_PSNP: (ISIS_L1_PSNP, ISIS_L2_PSNP),
}
# gen_host's refusals of a protocol qualifier
_HOST_NOT_IMPLEMENTED = {Q_ATALK: "AppleTalk", Q_LAT: "LAT", Q_SCA: "SCA", Q_MOPRC: "MOPRC",
                         Q_MOPDL: "MOPDL", Q_AARP: "AARP", Q_ISO: "ISO", Q_IPX: "IPX"}
# gen_proto's refusals
_PROTO_NO_ENCAPSULATION = {Q_ARP: "arp", Q_RARP: "rarp", Q_LAT: "LAT", Q_SCA: "SCA",
                           Q_MOPRC: "MOPRC", Q_MOPDL: "MOPDL"}
_EBROADCAST = b"\xff" * 6
# linux/filter.h's ancillary data offsets, and the packet type of an outgoing packet
SKF_AD_OFF, SKF_AD_PKTTYPE, SKF_AD_IFINDEX = -0x1000 & U32, 4, 8
PACKET_OUTGOING = 4


def _direction_error(direction: int, what: str) -> FilterError:
    names = {Q_ADDR1: "'addr1' and 'address1' are", Q_ADDR2: "'addr2' and 'address2' are",
             Q_ADDR3: "'addr3' and 'address3' are", Q_ADDR4: "'addr4' and 'address4' are",
             Q_RA: "'ra' is", Q_TA: "'ta' is"}
    return FilterError(f"{names[direction]} {what}")


def _swap16(v: int) -> int:
    """ntohs on the little-endian machine libpcap runs on."""
    return ((v & 0xFF) << 8) | ((v >> 8) & 0xFF)


class PrimitiveCompiler(Compiler):
    """The compiler with the primitives of pcap-filter(7)."""

    def __init__(self, linktype: int, snaplen: int, netmask: int, resolve_host: HostResolver | None,
                 resolve_port: nametoaddr.PortResolver | None, resolve_proto: nametoaddr.NameResolver | None,
                 resolve_net: nametoaddr.NameResolver | None, savefile: bool,
                 special_vlan_handling: bool = False) -> None:
        super().__init__(linktype, snaplen, netmask, special_vlan_handling)
        self.savefile = savefile  # compiling for a capture file (pcap_open_offline), not a device
        self.resolve_host = resolve_host
        self.resolve_port = resolve_port
        self.resolve_proto = resolve_proto
        self.resolve_net = resolve_net

    # -- hosts -----------------------------------------------------------------------------------

    def gen_hostop(self, addr: int, mask: int, direction: int, ll_proto: int, src_off: int,
                   dst_off: int) -> Block:
        if direction in (Q_AND, Q_OR, Q_DEFAULT):
            b0 = self.gen_hostop(addr, mask, Q_SRC, ll_proto, src_off, dst_off)
            b1 = self.gen_hostop(addr, mask, Q_DST, ll_proto, src_off, dst_off)
            (gen_and if direction == Q_AND else gen_or)(b0, b1)
            return b1
        if direction not in (Q_SRC, Q_DST):
            raise _direction_error(direction, "not valid qualifiers for addresses other than 802.11 MAC addresses")
        b0 = self.gen_linktype(ll_proto)
        b1 = self.gen_mcmp(OR_LINKPL, src_off if direction == Q_SRC else dst_off, BPF_W, addr, mask)
        gen_and(b0, b1)
        return b1

    def gen_hostop6(self, addr: bytes, mask: bytes, direction: int, src_off: int, dst_off: int) -> Block:
        if direction in (Q_AND, Q_OR, Q_DEFAULT):
            b0 = self.gen_hostop6(addr, mask, Q_SRC, src_off, dst_off)
            b1 = self.gen_hostop6(addr, mask, Q_DST, src_off, dst_off)
            (gen_and if direction == Q_AND else gen_or)(b0, b1)
            return b1
        if direction not in (Q_SRC, Q_DST):
            raise _direction_error(direction, "not valid qualifiers for addresses other than 802.11 MAC addresses")
        offset = src_off if direction == Q_SRC else dst_off

        def word(i: int, of: bytes) -> int:
            return int.from_bytes(of[4 * i:4 * i + 4], "big")
        b1 = self.gen_mcmp(OR_LINKPL, offset + 12, BPF_W, word(3, addr), word(3, mask))
        for i in (2, 1, 0):
            b0 = self.gen_mcmp(OR_LINKPL, offset + 4 * i, BPF_W, word(i, addr), word(i, mask))
            gen_and(b0, b1)
        gen_and(self.gen_linktype(ETHERTYPE_IPV6), b1)
        return b1

    def gen_ehostop(self, eaddr: bytes, direction: int) -> Block:
        if direction == Q_SRC:
            return self.gen_bcmp(OR_LINKHDR, 6, eaddr)
        if direction == Q_DST:
            return self.gen_bcmp(OR_LINKHDR, 0, eaddr)
        if direction in (Q_AND, Q_OR, Q_DEFAULT):
            b0 = self.gen_ehostop(eaddr, Q_SRC)
            b1 = self.gen_ehostop(eaddr, Q_DST)
            (gen_and if direction == Q_AND else gen_or)(b0, b1)
            return b1
        raise _direction_error(direction, "only supported on 802.11 with 802.11 headers")

    def gen_dnhostop(self, addr: int, direction: int) -> Block:
        """gen_dnhostop: a DECnet data packet, with 0 or 1 byte of padding, long or short header."""
        if direction in (Q_AND, Q_OR, Q_DEFAULT):
            b0 = self.gen_dnhostop(addr, Q_SRC)
            b1 = self.gen_dnhostop(addr, Q_DST)
            (gen_and if direction == Q_AND else gen_or)(b0, b1)
            return b1
        if direction not in (Q_SRC, Q_DST):
            raise _direction_error(direction, "not valid qualifiers for addresses other than 802.11 MAC addresses")
        offset_sh, offset_lh = (1, 7) if direction == Q_DST else (3, 15)
        node = _swap16(addr & 0xFFFF)
        b0 = self.gen_linktype(ETHERTYPE_DN)
        tmp = self.gen_mcmp(OR_LINKPL, 2, BPF_H, _swap16(0x0681), _swap16(0x07FF))
        b1 = self.gen_cmp(OR_LINKPL, 2 + 1 + offset_lh, BPF_H, node)
        gen_and(tmp, b1)
        for pad_test, offset in ((lambda: self.gen_mcmp(OR_LINKPL, 2, BPF_B, 0x06, 0x7), 2 + offset_lh),
                                 (lambda: self.gen_mcmp(OR_LINKPL, 2, BPF_H, _swap16(0x0281), _swap16(0x07FF)),
                                  2 + 1 + offset_sh),
                                 (lambda: self.gen_mcmp(OR_LINKPL, 2, BPF_B, 0x02, 0x7), 2 + offset_sh)):
            tmp = pad_test()
            b2 = self.gen_cmp(OR_LINKPL, offset, BPF_H, node)
            gen_and(tmp, b2)
            gen_or(b2, b1)
        gen_and(b0, b1)
        return b1

    def gen_host(self, addr: int, mask: int, proto: int, direction: int, addr_type: int) -> Block:
        typestr = "net" if addr_type == Q_NET else "host"
        if proto == Q_DEFAULT:
            b0 = self.gen_host(addr, mask, Q_IP, direction, addr_type)
            b1 = self.gen_host(addr, mask, Q_ARP, direction, addr_type)
            gen_or(b0, b1)
            b0 = self.gen_host(addr, mask, Q_RARP, direction, addr_type)
            gen_or(b1, b0)
            return b0
        if proto == Q_IP:
            return self.gen_hostop(addr, mask, direction, ETHERTYPE_IP, 12, 16)
        if proto in (Q_ARP, Q_RARP):
            return self.gen_hostop(addr, mask, direction,
                                   ETHERTYPE_ARP if proto == Q_ARP else ETHERTYPE_REVARP, 14, 24)
        if proto == Q_DECNET:
            return self.gen_dnhostop(addr, direction)
        if proto == Q_LINK:
            raise FilterError(f"link-layer modifier applied to {typestr}")
        if proto in _HOST_NOT_IMPLEMENTED:
            raise FilterError(f"{_HOST_NOT_IMPLEMENTED[proto]} host filtering not implemented")
        if proto == Q_IPV6:
            raise FilterError("'ip6' modifier applied to ip host")
        raise FilterError(f"'{PROTO_NAMES[proto]}' modifier applied to {typestr}")

    def gen_host6(self, addr: bytes, mask: bytes, proto: int, direction: int, addr_type: int) -> Block:
        typestr = "net" if addr_type == Q_NET else "host"
        if proto in (Q_DEFAULT, Q_IPV6):
            return self.gen_hostop6(addr, mask, direction, 8, 24)
        if proto == Q_LINK:
            raise FilterError(f"link-layer modifier applied to ip6 {typestr}")
        if proto == Q_ATALK:
            raise FilterError(f"AppleTalk modifier applied to ip6 {typestr}")
        raise FilterError(f"'{PROTO_NAMES[proto]}' modifier applied to ip6 {typestr}")

    # -- ports -----------------------------------------------------------------------------------

    def _by_direction(self, direction: int, atom: Callable[[int], Block], what: str) -> Block:
        """A port test on the source (offset 0), destination (2), either or both."""
        if direction == Q_SRC:
            return atom(0)
        if direction == Q_DST:
            return atom(2)
        if direction in (Q_AND, Q_OR, Q_DEFAULT):
            tmp = atom(0)
            b1 = atom(2)
            (gen_and if direction == Q_AND else gen_or)(tmp, b1)
            return b1
        raise _direction_error(direction, f"not valid qualifiers for {what}")

    def gen_portop(self, atom: Callable[[int], Block], proto: int, direction: int, what: str) -> Block:
        """gen_portop/gen_portrangeop: IPv4 protocol ``proto``, not a later fragment, and the port."""
        tmp = self.gen_cmp(OR_LINKPL, 9, BPF_B, proto)
        b0 = self.gen_ipfrag()
        gen_and(tmp, b0)
        b1 = self._by_direction(direction, atom, what)
        gen_and(b0, b1)
        return b1

    def gen_portop6(self, atom: Callable[[int], Block], proto: int, direction: int) -> Block:
        b0 = self.gen_cmp(OR_LINKPL, 6, BPF_B, proto)
        b1 = self._by_direction(direction, atom, "ports")
        gen_and(b0, b1)
        return b1

    def _ports(self, ll_proto: int, ip_proto: int, op: Callable[[int], Block]) -> Block:
        """gen_port/gen_portrange and their IPv6 twins: the link type, then TCP, UDP and SCTP
        unless one is named."""
        b0 = self.gen_linktype(ll_proto)
        if ip_proto == PROTO_UNDEF:
            tmp = op(IPPROTO_TCP)
            b1 = op(IPPROTO_UDP)
            gen_or(tmp, b1)
            tmp = op(IPPROTO_SCTP)
            gen_or(tmp, b1)
        else:
            b1 = op(ip_proto)
        gen_and(b0, b1)
        return b1

    def gen_port(self, port: int, ip_proto: int, direction: int) -> Block:
        def atom(off: int) -> Block:
            return self.gen_cmp(OR_TRAN_IPV4, off, BPF_H, port)
        return self._ports(ETHERTYPE_IP, ip_proto, lambda p: self.gen_portop(atom, p, direction, "ports"))

    def gen_port6(self, port: int, ip_proto: int, direction: int) -> Block:
        def atom(off: int) -> Block:
            return self.gen_cmp(OR_TRAN_IPV6, off, BPF_H, port)
        return self._ports(ETHERTYPE_IPV6, ip_proto, lambda p: self.gen_portop6(atom, p, direction))

    def _rangeatom(self, offrel: int, low: int, high: int) -> Callable[[int], Block]:
        low, high = min(low, high), max(low, high)

        def atom(off: int) -> Block:
            b1 = self.gen_cmp_ge(offrel, off, BPF_H, low)
            b2 = self.gen_cmp_le(offrel, off, BPF_H, high)
            gen_and(b1, b2)
            return b2
        return atom

    def gen_portrange(self, port1: int, port2: int, ip_proto: int, direction: int) -> Block:
        atom = self._rangeatom(OR_TRAN_IPV4, port1, port2)
        return self._ports(ETHERTYPE_IP, ip_proto, lambda p: self.gen_portop(atom, p, direction, "port ranges"))

    def gen_portrange6(self, port1: int, port2: int, ip_proto: int, direction: int) -> Block:
        atom = self._rangeatom(OR_TRAN_IPV6, port1, port2)
        return self._ports(ETHERTYPE_IPV6, ip_proto, lambda p: self.gen_portop6(atom, p, direction))

    # -- protocols -------------------------------------------------------------------------------

    def gen_proto_abbrev(self, proto: int) -> Block:
        """gen_proto_abbrev: a protocol named alone (``tcp``, ``arp``, ``l1``, ...)."""
        if proto in _IP_PROTOCOLS:
            return self.gen_proto(_IP_PROTOCOLS[proto], Q_DEFAULT if proto in _BOTH else Q_IP, Q_DEFAULT)
        if proto in _LINK_PROTOCOLS:
            return self.gen_linktype(_LINK_PROTOCOLS[proto])
        if proto == Q_ICMPV6:
            return self.gen_proto(IPPROTO_ICMPV6, Q_IPV6, Q_DEFAULT)
        if proto in (Q_ESIS, Q_ISIS, Q_CLNP):
            v = {Q_ESIS: ISO9542_ESIS, Q_ISIS: ISO10589_ISIS, Q_CLNP: ISO8473_CLNP}[proto]
            return self.gen_proto(v, Q_ISO, Q_DEFAULT)
        if proto in _ISIS_GROUPS:
            first, second, *rest = _ISIS_GROUPS[proto]
            b0 = self.gen_proto(first, Q_ISIS, Q_DEFAULT)
            b1 = self.gen_proto(second, Q_ISIS, Q_DEFAULT)
            gen_or(b0, b1)
            for v in rest:
                gen_or(self.gen_proto(v, Q_ISIS, Q_DEFAULT), b1)
            return b1
        if proto == Q_LINK:
            raise FilterError("link layer applied in wrong context")
        raise FilterError("'radio' is not a valid protocol type")

    def gen_proto(self, v: int, proto: int, direction: int) -> Block:
        """gen_proto: ``[proto] proto V``, the protocol field of ``proto``'s header."""
        if direction != Q_DEFAULT:
            raise FilterError("direction applied to 'proto'")
        if proto == Q_DEFAULT:
            b0 = self.gen_proto(v, Q_IP, direction)
            b1 = self.gen_proto(v, Q_IPV6, direction)
            gen_or(b0, b1)
            return b1
        if proto == Q_LINK:
            return self.gen_linktype(v)
        if proto == Q_IP:
            b0 = self.gen_linktype(ETHERTYPE_IP)
            b1 = self.gen_cmp(OR_LINKPL, 9, BPF_B, v)
            gen_and(b0, b1)
            return b1
        if proto == Q_IPV6:
            b0 = self.gen_linktype(ETHERTYPE_IPV6)
            b2 = self.gen_cmp(OR_LINKPL, 6, BPF_B, IPPROTO_FRAGMENT)
            b1 = self.gen_cmp(OR_LINKPL, 40, BPF_B, v)
            gen_and(b2, b1)
            b2 = self.gen_cmp(OR_LINKPL, 6, BPF_B, v)
            gen_or(b2, b1)
            gen_and(b0, b1)
            return b1
        if proto == Q_ISO:
            b0 = self.gen_linktype(LLCSAP_ISONS)
            b1 = self.gen_cmp(OR_LINKPL_NOSNAP, 0, BPF_B, v)
            gen_and(b0, b1)
            return b1
        if proto == Q_ISIS:
            b0 = self.gen_proto(ISO10589_ISIS, Q_ISO, Q_DEFAULT)
            b1 = self.gen_cmp(OR_LINKPL_NOSNAP, 4, BPF_B, v)
            gen_and(b0, b1)
            return b1
        if proto in _PROTO_NO_ENCAPSULATION:
            raise FilterError(f"{_PROTO_NO_ENCAPSULATION[proto]} does not encapsulate another protocol")
        if proto in (Q_ATALK, Q_DECNET):
            raise FilterError(f"{'AppleTalk' if proto == Q_ATALK else 'DECNET'} encapsulation is not specifiable")
        if proto == Q_CLNP:
            raise FilterError("'clnp proto' is not supported")
        raise FilterError(f"'{PROTO_NAMES[proto]} proto' is bogus")

    def lookup_proto(self, name: str, proto: int) -> int:
        if proto in (Q_DEFAULT, Q_IP, Q_IPV6):
            v = nametoaddr.nametoproto(name, self.resolve_proto)
            if v == PROTO_UNDEF:
                raise FilterError(f"unknown ip proto '{name}'")
            return v
        if proto == Q_LINK:
            v = nametoaddr.nametoeproto(name)
            if v == PROTO_UNDEF:
                v = nametoaddr.nametollc(name)
                if v == PROTO_UNDEF:
                    raise FilterError(f"unknown ether proto '{name}'")
            return v
        if proto == Q_ISO:
            if name not in ("esis", "isis", "clnp"):
                raise FilterError(f"unknown osi proto '{name}'")
            return {"esis": ISO9542_ESIS, "isis": ISO10589_ISIS, "clnp": ISO8473_CLNP}[name]
        return PROTO_UNDEF

    # -- broadcast and multicast -----------------------------------------------------------------

    def gen_broadcast(self, proto: int) -> Block:
        if proto in (Q_DEFAULT, Q_LINK):
            if self.linktype != DLT_EN10MB:
                raise FilterError("not a broadcast link")
            return self.gen_ehostop(_EBROADCAST, Q_DST)
        if proto == Q_IP:
            if self.netmask == U32:
                raise FilterError("netmask not known, so 'ip broadcast' not supported")
            b0 = self.gen_linktype(ETHERTYPE_IP)
            hostmask = ~self.netmask & U32
            b1 = self.gen_mcmp(OR_LINKPL, 16, BPF_W, 0, hostmask)
            b2 = self.gen_mcmp(OR_LINKPL, 16, BPF_W, hostmask, hostmask)
            gen_or(b1, b2)
            gen_and(b0, b2)
            return b2
        raise FilterError("only link-layer/IP broadcast filters supported")

    def gen_multicast(self, proto: int) -> Block:
        if proto in (Q_DEFAULT, Q_LINK) and self.linktype == DLT_EN10MB:
            b0 = new_block(JMP(BPF_JSET), 1)
            b0.stmts = self.gen_load_a(OR_LINKHDR, 0, BPF_B)
            return b0
        if proto in (Q_IP, Q_IPV6):
            b0 = self.gen_linktype(ETHERTYPE_IP if proto == Q_IP else ETHERTYPE_IPV6)
            if proto == Q_IP:
                b1 = self.gen_cmp_ge(OR_LINKPL, 16, BPF_B, 224)
            else:
                b1 = self.gen_cmp(OR_LINKPL, 24, BPF_B, 255)
            gen_and(b0, b1)
            return b1
        raise FilterError("link-layer multicast filters supported only on ethernet/FDDI/token "
                          "ring/ARCNET/802.11/ATM LANE/Fibre Channel")

    # -- the packet's direction and interface, and the link types tuxnet does not have ------------

    def _live_metadata(self, what: str) -> None:
        """What only a live capture has (Linux's packet metadata) refused for a savefile, whose
        records carry none, or for a link type tuxnet captures nothing live on."""
        if self.savefile or self.linktype != DLT_EN10MB:
            raise FilterError(f"{what} not supported on {DLT_DESCRIPTIONS[self.linktype]} when reading savefiles")

    def gen_inbound(self, outbound: bool) -> Block:
        """gen_inbound: the packet type is PACKET_OUTGOING, or (inbound) is not: the cooked
        header's (DLT_LINUX_SLL2, a file's too), else Linux's metadata of a live capture
        (SKF_AD_PKTTYPE)."""
        if self.linktype == DLT_LINUX_SLL2:
            b0 = self.gen_cmp(OR_LINKHDR, 10, BPF_B, PACKET_OUTGOING)
        else:
            self._live_metadata("inbound/outbound")
            b0 = self.gen_cmp(OR_LINKHDR, SKF_AD_OFF + SKF_AD_PKTTYPE, BPF_H, PACKET_OUTGOING)
        if not outbound:
            gen_not(b0)
        return b0

    def gen_ifindex(self, ifindex: int) -> Block:
        """gen_ifindex: the interface the packet was seen on: the cooked header's index
        (DLT_LINUX_SLL2), else a live capture's metadata (SKF_AD_IFINDEX)."""
        if self.linktype == DLT_LINUX_SLL2:
            return self.gen_cmp(OR_LINKHDR, 4, BPF_W, ifindex)
        self._live_metadata("ifindex")
        return self.gen_cmp(OR_LINKHDR, SKF_AD_OFF + SKF_AD_IFINDEX, BPF_W, ifindex)

    @staticmethod
    def gen_p80211_type() -> Block:
        raise FilterError("802.11 link-layer types supported only on 802.11")

    @staticmethod
    def gen_p80211_fcdir() -> Block:
        raise FilterError("frame direction supported only with 802.11 headers")

    @staticmethod
    def gen_atm(name: str) -> Block:
        """gen_atmtype_abbrev, gen_atmmulti_abbrev, gen_atmfield_code off raw ATM."""
        raise FilterError(f"'{name}' supported only on raw ATM")

    @staticmethod
    def gen_mtp2(name: str) -> Block:
        """gen_mtp2type_abbrev off MTP2."""
        raise FilterError(f"'{name}' supported only on {'MTP2_HSL' if name.startswith('h') else 'MTP2'}")

    @staticmethod
    def gen_mtp3(name: str) -> Block:
        """gen_mtp3field_code off SS7."""
        raise FilterError(f"'{name}' supported only on SS7")

    # -- the grammar's entry points --------------------------------------------------------------

    def _gen_ports(self, port1: int, port2: int | None, proto: int, direction: int) -> Block:
        if port2 is None:
            b = self.gen_port(port1, proto, direction)
            gen_or(self.gen_port6(port1, proto, direction), b)
        else:
            b = self.gen_portrange(port1, port2, proto, direction)
            gen_or(self.gen_portrange6(port1, port2, proto, direction), b)
        return b

    @staticmethod
    def _port_proto(proto: int, real_proto: int, what: str, name: str) -> int:
        """gen_scode's check that a service name is for the protocol qualified."""
        wanted = {Q_UDP: IPPROTO_UDP, Q_TCP: IPPROTO_TCP, Q_SCTP: IPPROTO_SCTP}.get(proto)
        if wanted is None:
            return real_proto
        names = {IPPROTO_TCP: "tcp", IPPROTO_UDP: "udp", IPPROTO_SCTP: "sctp"}
        if real_proto != PROTO_UNDEF and real_proto != wanted:
            raise FilterError(f"{what} '{name}' is {names[real_proto]}")
        return wanted

    def gen_scode(self, name: str, q: Qual) -> Block:
        """gen_scode: a name with its qualifiers."""
        proto, direction, addr_type = q
        if addr_type == Q_NET:
            addr = nametoaddr.nametonetaddr(name, self.resolve_net)
            if addr == 0:
                raise FilterError(f"unknown network '{name}'")
            mask = U32
            while addr and (addr & 0xFF000000) == 0:
                addr, mask = (addr << 8) & U32, (mask << 8) & U32
            return self.gen_host(addr, mask, proto, direction, addr_type)
        if addr_type in (Q_DEFAULT, Q_HOST):
            if proto == Q_LINK:
                if self.linktype == DLT_EN10MB:
                    raise FilterError(f"unknown ether host '{name}'")
                raise FilterError("only ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel "
                                  "supports link-level host name")
            if proto == Q_DECNET:
                raise FilterError(f"decnet name support not included, '{name}' cannot be translated\n")
            addrs = self.resolve_host(name) if self.resolve_host is not None else None
            if not addrs:
                raise FilterError(f"unknown host '{name}'")
            tproto = Q_IP if self.off_linktype.constant_part == OFFSET_NOT_SET and proto == Q_DEFAULT else proto
            b: Block | None = None
            for addr in addrs:
                if tproto == Q_IPV6:
                    continue
                tmp = self.gen_host(addr, U32, tproto, direction, addr_type)
                if b is not None:
                    gen_or(b, tmp)
                b = tmp
            if b is None:
                family = "" if proto == Q_DEFAULT else " for specified address family"
                raise FilterError(f"unknown host '{name}'{family}")
            return b
        if addr_type in (Q_PORT, Q_PORTRANGE):
            what = "port" if addr_type == Q_PORT else "portrange"
            if proto not in (Q_DEFAULT, Q_UDP, Q_TCP, Q_SCTP):
                raise FilterError(f"illegal qualifier of '{what}'")
            if addr_type == Q_PORT:
                found = nametoaddr.nametoport(name, self.resolve_port)
                if found is None:
                    raise FilterError(f"unknown port '{name}'")
                ports, real_proto = [found[0]], found[1]
                real_proto = self._port_proto(proto, real_proto, "port", name)
            else:
                span = nametoaddr.nametoportrange(name, self.resolve_port)
                if span is None:
                    raise FilterError(f"unknown port in range '{name}'")
                ports, real_proto = [span[0], span[1]], span[2]
                real_proto = self._port_proto(proto, real_proto, "port in range", name)
            for port in ports:
                if port < 0:
                    raise FilterError(f"illegal port number {port} < 0")
                if port > 65535:
                    raise FilterError(f"illegal port number {port} > 65535")
            return self._gen_ports(ports[0], ports[1] if len(ports) > 1 else None, real_proto, direction)
        if addr_type == Q_GATEWAY:
            raise FilterError("'gateway' not supported in this configuration")
        if addr_type in (Q_PROTO, Q_PROTOCHAIN):
            real_proto = self.lookup_proto(name, proto)
            if real_proto < 0:
                raise FilterError(f"unknown protocol: {name}")
            if addr_type == Q_PROTOCHAIN:
                raise FilterError("'protochain' is not supported by tuxnet")
            return self.gen_proto(real_proto, proto, direction)
        raise FilterError("syntax error in filter expression")

    def gen_ncode(self, text: str | None, v: int, q: Qual) -> Block:
        """gen_ncode: a number, or a dotted address of up to four parts, with its qualifiers."""
        proto, direction, addr_type = q
        if text is None:
            vlen = 32
        elif proto == Q_DECNET:
            v, vlen = nametoaddr.atodn(text)
            if vlen == 0:
                raise FilterError(f"malformed decnet address '{text}'")
        else:
            v, vlen = nametoaddr.atoin(text)
            if vlen < 0:
                raise FilterError(f"invalid IPv4 address '{text}'")
        if addr_type in (Q_DEFAULT, Q_HOST, Q_NET):
            if proto == Q_DECNET:
                return self.gen_host(v, 0, proto, direction, addr_type)
            if proto == Q_LINK:
                raise FilterError("illegal link layer address")
            mask = U32
            if text is None and addr_type == Q_NET:
                while v and (v & 0xFF000000) == 0:
                    v, mask = (v << 8) & U32, (mask << 8) & U32
            else:
                v, mask = (v << (32 - vlen)) & U32, (mask << (32 - vlen)) & U32
            return self.gen_host(v, mask, proto, direction, addr_type)
        if addr_type in (Q_PORT, Q_PORTRANGE):
            what = "port" if addr_type == Q_PORT else "portrange"
            ip_proto = {Q_UDP: IPPROTO_UDP, Q_TCP: IPPROTO_TCP, Q_SCTP: IPPROTO_SCTP,
                        Q_DEFAULT: PROTO_UNDEF}.get(proto)
            if ip_proto is None:
                raise FilterError(f"illegal qualifier of '{what}'")
            if v > 65535:
                raise FilterError(f"illegal port number {v} > 65535")
            return self._gen_ports(v, None if addr_type == Q_PORT else v, ip_proto, direction)
        if addr_type == Q_GATEWAY:
            raise FilterError("'gateway' requires a name")
        if addr_type == Q_PROTO:
            return self.gen_proto(v, proto, direction)
        if addr_type == Q_PROTOCHAIN:
            raise FilterError("'protochain' is not supported by tuxnet")
        raise FilterError("syntax error in filter expression")

    def gen_mcode(self, s1: str, s2: str | None, masklen: int, q: Qual) -> Block:
        """gen_mcode: ``net ADDR/LEN`` or ``net ADDR mask MASK``."""
        n, nlen = nametoaddr.atoin(s1)
        if nlen < 0:
            raise FilterError(f"invalid IPv4 address '{s1}'")
        n = (n << (32 - nlen)) & U32
        if s2 is not None:
            m, mlen = nametoaddr.atoin(s2)
            if mlen < 0:
                raise FilterError(f"invalid IPv4 address '{s2}'")
            m = (m << (32 - mlen)) & U32
            if n & ~m & U32:
                raise FilterError(f'non-network bits set in "{s1} mask {s2}"')
        else:
            if masklen > 32:
                raise FilterError("mask length must be <= 32")
            m = 0 if masklen == 0 else (U32 << (32 - masklen)) & U32
            if n & ~m & U32:
                raise FilterError(f'non-network bits set in "{s1}/{masklen}"')
        if q[2] != Q_NET:
            raise FilterError("Mask syntax for networks only")
        return self.gen_host(n, m, q[0], q[1], q[2])

    def gen_mcode6(self, s1: str, s2: str | None, masklen: int, q: Qual) -> Block:
        """gen_mcode6: an IPv6 address, with a prefix length for a network."""
        if s2 is not None:
            raise FilterError(f"no mask {s2} supported")
        addr = ipaddress.IPv6Address(s1).packed
        if masklen > 128:
            raise FilterError("mask length must be <= 128")
        mask = ((1 << 128) - (1 << (128 - masklen))).to_bytes(16, "big")
        if any(a & ~m & 0xFF for a, m in zip(addr, mask, strict=True)):
            raise FilterError(f'non-network bits set in "{s1}/{masklen}"')
        if q[2] in (Q_DEFAULT, Q_HOST):
            if masklen != 128:
                raise FilterError("Mask syntax for networks only")
        elif q[2] != Q_NET:
            raise FilterError("invalid qualifier against IPv6 address")
        return self.gen_host6(addr, mask, q[0], q[1], q[2])

    def gen_ecode(self, text: str, q: Qual) -> Block:
        """gen_ecode: an Ethernet address, which only ``ether [src|dst] [host]`` takes."""
        if q[2] in (Q_HOST, Q_DEFAULT) and q[0] == Q_LINK:
            if self.linktype != DLT_EN10MB:
                raise FilterError("ethernet addresses supported only on ethernet/FDDI/token "
                                  "ring/802.11/ATM LANE/Fibre Channel")
            return self.gen_ehostop(nametoaddr.ether_aton(text), q[1])
        raise FilterError("ethernet address used in non-ether expression")

    @staticmethod
    def gen_acode() -> Block:
        """gen_acode: an ARCnet address, which neither link type here has."""
        raise FilterError("aid supported only on ARCnet")

    def gen_llc_kind(self, kind: str | None) -> Block:
        """gen_llc and gen_llc_i/_s/_u/_s_subtype/_u_subtype: ``llc [i|s|u|SUBTYPE]`` (a name
        grammar.y does not know is refused before any code is made)."""
        s_subtypes = {"rr": 0x01, "rnr": 0x05, "rej": 0x09}
        u_subtypes = {"ui": 0x03, "ua": 0x63, "disc": 0x43, "dm": 0x0F, "sabme": 0x6F,
                      "test": 0xE3, "xid": 0xAF, "frmr": 0x87}
        lowered = (kind or "").lower()
        if kind is not None and lowered not in ("i", "s", "u", *s_subtypes, *u_subtypes):
            raise FilterError(f'unknown LLC type name "{kind}"')
        b0 = self.gen_llc()
        if kind is None:
            return b0
        if lowered == "i":
            b1 = new_block(JMP(BPF_JSET), 0x01)
            b1.stmts = self.gen_load_a(OR_LLC, 2, BPF_B)
            gen_not(b1)
        elif lowered in ("s", "u"):
            b1 = self.gen_mcmp(OR_LLC, 2, BPF_B, 1 if lowered == "s" else 3, 0x03)
        elif lowered in s_subtypes:
            b1 = self.gen_mcmp(OR_LLC, 2, BPF_B, s_subtypes[lowered], 0x0F)
        else:
            b1 = self.gen_mcmp(OR_LLC, 2, BPF_B, u_subtypes[lowered], 0xEF)
        gen_and(b0, b1)
        return b1
