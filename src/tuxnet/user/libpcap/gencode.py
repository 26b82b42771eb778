"""libpcap's gencode.c, the core: the compiler state, blocks joined by ``gen_and``/``gen_or``/
``gen_not`` through backpatch lists, loads relative to a protocol header (``gen_load_a``),
comparisons (``gen_cmp`` and kin), the link-layer type test (``gen_linktype``), and the
arithmetic of relations (``gen_load``, ``gen_arth``, ``gen_relation``).

Only the link-layer types tuxnet writes are laid out: DLT_EN10MB (Ethernet), DLT_RAW (an IP
header at offset 0, its version nibble telling IPv4 from IPv6) and DLT_LINUX_SLL2 (the 20-octet
header libpcap puts before each packet of a cooked capture, ``tcpdump -i any``: its protocol
field at 0, the interface's index at 4, the packet type at 10); none has a variable-length
header.  An offset becomes variable when a ``vlan`` test may find its tag in the frame's bytes or
beside them (``gen_vlan_bpf_extensions``, for a live capture): its variable part is then kept in a
scratch register, which loads add through X (``gen_load_absoffsetrel``)."""

from __future__ import annotations

from collections.abc import Callable

from .bpf import (
    BPF_ABS,
    BPF_ADD,
    BPF_ALU,
    BPF_AND,
    BPF_B,
    BPF_DIV,
    BPF_H,
    BPF_IMM,
    BPF_IND,
    BPF_JA,
    BPF_JEQ,
    BPF_JGE,
    BPF_JGT,
    BPF_JMP,
    BPF_JSET,
    BPF_K,
    BPF_LD,
    BPF_LDX,
    BPF_LEN,
    BPF_LSH,
    BPF_MEM,
    BPF_MEMWORDS,
    BPF_MISC,
    BPF_MOD,
    BPF_MSH,
    BPF_NEG,
    BPF_OR,
    BPF_RET,
    BPF_RSH,
    BPF_ST,
    BPF_SUB,
    BPF_TAX,
    BPF_W,
    BPF_X,
    U32,
)
from .icode import Arth, Block, Stmt

DLT_EN10MB = 1
DLT_RAW = 12
DLT_LINUX_SLL2 = 276
# pcap_datalink_val_to_description, as libpcap's messages name a link type
DLT_DESCRIPTIONS = {DLT_EN10MB: "Ethernet", DLT_RAW: "Raw IP", DLT_LINUX_SLL2: "Linux cooked v2"}
SLL2_HDR_LEN = 20
OFFSET_NOT_SET = U32
PROTO_UNDEF = -1
ETHERMTU = 1500

# qualifiers (gencode.h): address types, protocols, directions
Q_DEFAULT, Q_UNDEF = 0, 255
Q_HOST, Q_NET, Q_PORT, Q_GATEWAY, Q_PROTO, Q_PROTOCHAIN, Q_PORTRANGE = range(1, 8)
(Q_LINK, Q_IP, Q_ARP, Q_RARP, Q_SCTP, Q_TCP, Q_UDP, Q_ICMP, Q_IGMP, Q_IGRP, Q_ATALK, Q_DECNET,
 Q_LAT, Q_SCA, Q_MOPRC, Q_MOPDL, Q_IPV6, Q_ICMPV6, Q_AH, Q_ESP, Q_PIM, Q_VRRP, Q_AARP, Q_ISO,
 Q_ESIS, Q_ISIS, Q_CLNP, Q_STP, Q_IPX, Q_NETBEUI, Q_ISIS_L1, Q_ISIS_L2, Q_ISIS_IIH, Q_ISIS_SNP,
 Q_ISIS_CSNP, Q_ISIS_PSNP, Q_ISIS_LSP, Q_RADIO, Q_CARP) = range(1, 40)
Q_SRC, Q_DST, Q_OR, Q_AND, Q_ADDR1, Q_ADDR2, Q_ADDR3, Q_ADDR4, Q_RA, Q_TA = range(1, 11)

# the protocol qualifiers' names, as libpcap's messages spell them
PROTO_NAMES = {
    Q_LINK: "link", Q_IP: "ip", Q_ARP: "arp", Q_RARP: "rarp", Q_SCTP: "sctp", Q_TCP: "tcp",
    Q_UDP: "udp", Q_ICMP: "icmp", Q_IGMP: "igmp", Q_IGRP: "igrp", Q_ATALK: "atalk",
    Q_DECNET: "decnet", Q_LAT: "lat", Q_SCA: "sca", Q_MOPRC: "moprc", Q_MOPDL: "mopdl",
    Q_IPV6: "ip6", Q_ICMPV6: "icmp6", Q_AH: "ah", Q_ESP: "esp", Q_PIM: "pim", Q_VRRP: "vrrp",
    Q_AARP: "aarp", Q_ISO: "iso", Q_ESIS: "esis", Q_ISIS: "isis", Q_CLNP: "clnp", Q_STP: "stp",
    Q_IPX: "ipx", Q_NETBEUI: "netbeui", Q_ISIS_L1: "l1", Q_ISIS_L2: "l2", Q_ISIS_IIH: "iih",
    Q_ISIS_SNP: "snp", Q_ISIS_CSNP: "csnp", Q_ISIS_PSNP: "psnp", Q_ISIS_LSP: "lsp",
    Q_RADIO: "radio", Q_CARP: "carp",
}

ETHERTYPE_IP, ETHERTYPE_ARP, ETHERTYPE_REVARP, ETHERTYPE_IPV6 = 0x0800, 0x0806, 0x8035, 0x86DD
ETHERTYPE_ATALK, ETHERTYPE_AARP, ETHERTYPE_DN, ETHERTYPE_IPX = 0x809B, 0x80F3, 0x6003, 0x8137
ETHERTYPE_SCA, ETHERTYPE_LAT, ETHERTYPE_MOPDL, ETHERTYPE_MOPRC = 0x6007, 0x6004, 0x6001, 0x6002
ETHERTYPE_8021Q, ETHERTYPE_8021AD, ETHERTYPE_8021QINQ = 0x8100, 0x88A8, 0x9100
LLCSAP_IP, LLCSAP_SNAP, LLCSAP_ISONS, LLCSAP_NETBEUI = 0x06, 0xAA, 0xFE, 0xF0
LLCSAP_IPX, LLCSAP_8021D = 0xE0, 0x42

# linux/filter.h: the ancillary loads a VLAN test reads on a live capture (SKF_AD_OFF + these)
SKF_AD_OFF = -0x1000 & U32
SKF_AD_VLAN_TAG, SKF_AD_VLAN_TAG_PRESENT = 44, 48

# offsets relative to which gen_load_a loads
(OR_PACKET, OR_LINKHDR, OR_LLC, OR_LINKTYPE, OR_LINKPL, OR_LINKPL_NOSNAP,
 OR_TRAN_IPV4, OR_TRAN_IPV6) = range(8)


class FilterError(ValueError):
    """An expression libpcap refuses, in its words (``bpf_error``)."""


def JMP(code: int) -> int:
    return code | BPF_JMP | BPF_K


class AbsOffset:
    """``bpf_abs_offset``: where a header starts, a constant and, once a test may have moved it
    at run time, a variable part held in the scratch register ``reg`` (-1 until one is taken)."""

    __slots__ = ("constant_part", "is_variable", "reg")

    def __init__(self, constant_part: int) -> None:
        self.constant_part = constant_part
        self.is_variable = False
        self.reg = -1


class Compiler:
    """``compiler_state_t``: the link layer's layout, the scratch registers, and the program's
    root once parsed.  ``special_vlan_handling`` is libpcap's BPF_SPECIAL_VLAN_HANDLING, which a
    live Linux capture sets when the kernel has the VLAN ancillary loads (SO_BPF_EXTENSIONS)."""

    def __init__(self, linktype: int, snaplen: int, netmask: int, special_vlan_handling: bool = False) -> None:
        if linktype == DLT_EN10MB:
            linktype_off, linkpl_off, self.off_nl, self.off_nl_nosnap = 12, 14, 0, 3
        elif linktype == DLT_RAW:
            linktype_off, linkpl_off, self.off_nl, self.off_nl_nosnap = OFFSET_NOT_SET, 0, 0, 0
        elif linktype == DLT_LINUX_SLL2:  # init_linktype: no 802.2 LLC after the cooked header
            linktype_off, linkpl_off, self.off_nl, self.off_nl_nosnap = 0, SLL2_HDR_LEN, 0, 0
        else:
            raise FilterError(f"unknown data link type {linktype}")
        self.off_linktype = AbsOffset(linktype_off)
        self.off_linkpl = AbsOffset(linkpl_off)
        self.off_linkhdr = AbsOffset(0)
        self.linktype = linktype
        self.special_vlan_handling = special_vlan_handling
        self.vlan_stack_depth = 0
        self.is_vlan_vloffset = False  # a VLAN test made the payload's and type's offsets variable
        self.snaplen = snaplen
        self.netmask = netmask
        self.regused = [False] * BPF_MEMWORDS
        self.curreg = 0
        self.root: Block | None = None

    # -- scratch registers (alloc_reg, free_reg) -------------------------------------------------

    def alloc_reg(self) -> int:
        for _ in range(BPF_MEMWORDS):
            if self.regused[self.curreg]:
                self.curreg = (self.curreg + 1) % BPF_MEMWORDS
            else:
                self.regused[self.curreg] = True
                return self.curreg
        raise FilterError("too many registers needed to evaluate expression")

    def free_reg(self, n: int) -> None:
        self.regused[n] = False

    # -- loads and comparisons -------------------------------------------------------------------

    def gen_abs_offset_varpart(self, off: AbsOffset) -> list[Stmt]:
        """gen_abs_offset_varpart: X = the offset's variable part (nothing for a constant one)."""
        if not off.is_variable:
            return []
        if off.reg == -1:
            off.reg = self.alloc_reg()
        return [Stmt(BPF_LDX | BPF_MEM, off.reg)]

    def gen_load_absoffsetrel(self, off: AbsOffset, offset: int, size: int) -> list[Stmt]:
        """gen_load_absoffsetrel: A = the field ``offset`` octets past ``off``, an indirect load
        through X when the offset has a variable part."""
        s = self.gen_abs_offset_varpart(off)
        mode = BPF_IND if s else BPF_ABS
        return [*s, Stmt(BPF_LD | mode | size, (off.constant_part + offset) & U32)]

    def gen_load_a(self, offrel: int, offset: int, size: int) -> list[Stmt]:
        """gen_load_a: load the field at ``offset`` of the header ``offrel`` names into A."""
        if offrel == OR_PACKET:
            return [Stmt(BPF_LD | BPF_ABS | size, offset & U32)]
        if offrel == OR_TRAN_IPV4:
            return [*self.gen_loadx_iphdrlen(),
                    Stmt(BPF_LD | BPF_IND | size, (self.off_linkpl.constant_part + self.off_nl + offset) & U32)]
        off, base = {OR_LINKHDR: (self.off_linkhdr, 0), OR_LLC: (self.off_linkpl, 0),
                     OR_LINKTYPE: (self.off_linktype, 0), OR_LINKPL: (self.off_linkpl, self.off_nl),
                     OR_LINKPL_NOSNAP: (self.off_linkpl, self.off_nl_nosnap),
                     OR_TRAN_IPV6: (self.off_linkpl, self.off_nl + 40)}[offrel]
        return self.gen_load_absoffsetrel(off, base + offset, size)

    def gen_loadx_iphdrlen(self) -> list[Stmt]:
        """gen_loadx_iphdrlen: X = the IPv4 header's length, ``4*([k]&0xf)``; with a variable
        payload offset, that length plus the offset's variable part, computed in A."""
        s = self.gen_abs_offset_varpart(self.off_linkpl)
        k = self.off_linkpl.constant_part + self.off_nl
        if not s:
            return [Stmt(BPF_LDX | BPF_MSH | BPF_B, k)]
        return [*s, Stmt(BPF_LD | BPF_IND | BPF_B, k), Stmt(BPF_ALU | BPF_AND | BPF_K, 0xF),
                Stmt(BPF_ALU | BPF_LSH | BPF_K, 2), Stmt(BPF_ALU | BPF_ADD | BPF_X), Stmt(BPF_MISC | BPF_TAX)]

    def gen_offset_to_x(self, off: AbsOffset, inst: Arth) -> list[Stmt]:
        """X = ``inst``'s value plus ``off``'s variable part (gen_load_internal's index)."""
        s = self.gen_abs_offset_varpart(off)
        if not s:
            return [xfer_to_x(inst)]
        return [*s, xfer_to_a(inst), Stmt(BPF_ALU | BPF_ADD | BPF_X), Stmt(BPF_MISC | BPF_TAX)]

    def gen_ncmp(self, offrel: int, offset: int, size: int, mask: int, jtype: int, reverse: bool,
                 v: int) -> Block:
        stmts = self.gen_load_a(offrel, offset, size)
        if mask != U32:
            stmts.append(Stmt(BPF_ALU | BPF_AND | BPF_K, mask))
        b = new_block(JMP(jtype), v & U32)
        b.stmts = stmts
        if reverse and jtype in (BPF_JGT, BPF_JGE):
            gen_not(b)
        return b

    def gen_cmp(self, offrel: int, offset: int, size: int, v: int) -> Block:
        return self.gen_ncmp(offrel, offset, size, U32, BPF_JEQ, False, v)

    def gen_cmp_gt(self, offrel: int, offset: int, size: int, v: int) -> Block:
        return self.gen_ncmp(offrel, offset, size, U32, BPF_JGT, False, v)

    def gen_cmp_ge(self, offrel: int, offset: int, size: int, v: int) -> Block:
        return self.gen_ncmp(offrel, offset, size, U32, BPF_JGE, False, v)

    def gen_cmp_lt(self, offrel: int, offset: int, size: int, v: int) -> Block:
        return self.gen_ncmp(offrel, offset, size, U32, BPF_JGE, True, v)

    def gen_cmp_le(self, offrel: int, offset: int, size: int, v: int) -> Block:
        return self.gen_ncmp(offrel, offset, size, U32, BPF_JGT, True, v)

    def gen_mcmp(self, offrel: int, offset: int, size: int, v: int, mask: int) -> Block:
        return self.gen_ncmp(offrel, offset, size, mask & U32, BPF_JEQ, False, v)

    def gen_bcmp(self, offrel: int, offset: int, value: bytes) -> Block:
        """gen_bcmp: compare bytes, the last word first, then halfwords, then a byte."""
        b: Block | None = None
        size = len(value)
        while size >= 4:
            tmp = self.gen_cmp(offrel, offset + size - 4, BPF_W, int.from_bytes(value[size - 4:size], "big"))
            if b is not None:
                gen_and(b, tmp)
            b, size = tmp, size - 4
        while size >= 2:
            tmp = self.gen_cmp(offrel, offset + size - 2, BPF_H, int.from_bytes(value[size - 2:size], "big"))
            if b is not None:
                gen_and(b, tmp)
            b, size = tmp, size - 2
        if size > 0:
            tmp = self.gen_cmp(offrel, offset, BPF_B, value[0])
            if b is not None:
                gen_and(b, tmp)
            b = tmp
        assert b is not None
        return b

    def gen_uncond(self, rsense: bool) -> Block:
        b = new_block(JMP(BPF_JEQ))
        b.stmts = [Stmt(BPF_LD | BPF_IMM, int(not rsense))]
        return b

    def gen_true(self) -> Block:
        return self.gen_uncond(True)

    def gen_false(self) -> Block:
        return self.gen_uncond(False)

    # -- the link layer --------------------------------------------------------------------------

    def gen_linktype(self, ll_proto: int) -> Block:
        """gen_linktype: the frame carries ``ll_proto`` (an Ethernet type, or an LLC SAP when
        at most ETHERMTU)."""
        if self.linktype == DLT_EN10MB:
            return self.gen_ether_linktype(ll_proto)
        if self.linktype == DLT_LINUX_SLL2:
            # gen_linktype's default: a header with a type field holds an Ethernet type there
            # (libpcap 1.10 gives SLL2 none of SLL's 802.2 cases)
            return self.gen_cmp(OR_LINKTYPE, 0, BPF_H, ll_proto)
        if ll_proto == ETHERTYPE_IP:
            return self.gen_mcmp(OR_LINKHDR, 0, BPF_B, 0x40, 0xF0)
        if ll_proto == ETHERTYPE_IPV6:
            return self.gen_mcmp(OR_LINKHDR, 0, BPF_B, 0x60, 0xF0)
        return self.gen_false()

    def gen_vlan(self, vlan_num: int, has_vlan_tag: bool) -> Block:
        """gen_vlan: the frame is VLAN-tagged (of VLAN ``vlan_num`` when ``has_vlan_tag``), and
        every offset after the tag moves on by its 4 octets, so that ``vlan 100 and vlan 200``
        is VLAN 200 inside VLAN 100.  The outermost test of a live capture reads the tag beside
        the frame too (``gen_vlan_bpf_extensions``), where the kernel put it; a capture file's
        or a dead handle's reads it in the bytes (``gen_vlan_no_bpf_extensions``)."""
        if self.linktype != DLT_EN10MB:
            raise FilterError(f"no VLAN support for {DLT_DESCRIPTIONS[self.linktype]}")
        if self.vlan_stack_depth == 0 and self.special_vlan_handling:
            b0 = self.gen_vlan_bpf_extensions(vlan_num, has_vlan_tag)
        else:
            b0 = self.gen_vlan_no_bpf_extensions(vlan_num, has_vlan_tag)
        self.vlan_stack_depth += 1
        return b0

    def gen_vlan_tpid_test(self) -> Block:
        """gen_vlan_tpid_test: the type is one of the three VLAN TPIDs (802.1Q, 802.1ad, QinQ)."""
        b0 = self.gen_linktype(ETHERTYPE_8021Q)
        b1 = self.gen_linktype(ETHERTYPE_8021AD)
        gen_or(b0, b1)
        b0 = b1
        b1 = self.gen_linktype(ETHERTYPE_8021QINQ)
        gen_or(b0, b1)
        return b1

    def gen_vlan_vid_test(self, vlan_num: int) -> Block:
        if vlan_num > 0x0FFF:
            raise FilterError(f"VLAN tag {vlan_num} greater than maximum 4095")
        return self.gen_mcmp(OR_LINKPL, 0, BPF_H, vlan_num, 0x0FFF)

    def gen_vlan_no_bpf_extensions(self, vlan_num: int, has_vlan_tag: bool) -> Block:
        b0 = self.gen_vlan_tpid_test()
        if has_vlan_tag:
            b1 = self.gen_vlan_vid_test(vlan_num)
            gen_and(b0, b1)
            b0 = b1
        self.off_linkpl.constant_part += 4
        self.off_linktype.constant_part += 4
        return b0

    def gen_vlan_bpf_extensions(self, vlan_num: int, has_vlan_tag: bool) -> Block:
        """gen_vlan_bpf_extensions: the kernel's tag (``vlanp``), or else one in the bytes; only
        in the second case do the offsets after it move on, at run time (the payload's and the
        type's variable parts grow by 4 before the TPID test).  The id comes from ``vlan_tci``
        or the bytes the same way (``gen_vlan_patch_vid_test``)."""
        b0 = new_block(JMP(BPF_JEQ), 1)
        b0.stmts = [Stmt(BPF_LD | BPF_B | BPF_ABS, SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT)]
        # both tests are made before the offsets become variable, which must not move them
        b_tpid = self.gen_vlan_tpid_test()
        b_vid = self.gen_vlan_vid_test(vlan_num) if has_vlan_tag else None
        self.gen_vlan_patch_tpid_test(b_tpid)
        gen_or(b0, b_tpid)
        b0 = b_tpid
        if b_vid is not None:
            self.gen_vlan_patch_vid_test(b_vid)
            gen_and(b0, b_vid)
            b0 = b_vid
        return b0

    def gen_vlan_vloffset_add(self, off: AbsOffset, v: int) -> list[Stmt]:
        """gen_vlan_vloffset_add: add ``v`` to the offset's variable part."""
        off.is_variable = True
        if off.reg == -1:
            off.reg = self.alloc_reg()
        return [Stmt(BPF_LD | BPF_MEM, off.reg), Stmt(BPF_ALU | BPF_ADD | BPF_K, v), Stmt(BPF_ST, off.reg)]

    def gen_vlan_patch_tpid_test(self, b_tpid: Block) -> None:
        """gen_vlan_patch_tpid_test: the payload's and the type's offsets move 4 octets on before
        the first of the TPID tests (reached when the kernel had no tag)."""
        self.is_vlan_vloffset = True
        s = self.gen_vlan_vloffset_add(self.off_linkpl, 4) + self.gen_vlan_vloffset_add(self.off_linktype, 4)
        b_tpid.head.stmts = s + b_tpid.head.stmts

    @staticmethod
    def gen_vlan_patch_vid_test(b_vid: Block) -> None:
        """gen_vlan_patch_vid_test: the id from the kernel's tag when it has one, jumping over the
        load from the bytes to the mask (``ja`` over all but the id test's last statement)."""
        sjeq = Stmt(JMP(BPF_JEQ), 1)
        tci = Stmt(BPF_LD | BPF_B | BPF_ABS, SKF_AD_OFF + SKF_AD_VLAN_TAG)
        sjeq.jt, sjeq.jf = tci, b_vid.stmts[0]
        s = [Stmt(BPF_LD | BPF_B | BPF_ABS, SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT), sjeq, tci,
             Stmt(BPF_JMP | BPF_JA, len(b_vid.stmts) - 1)]
        b_vid.stmts = s + b_vid.stmts

    def gen_ether_linktype(self, ll_proto: int) -> Block:
        if ll_proto in (LLCSAP_ISONS, LLCSAP_IP, LLCSAP_NETBEUI):
            b0 = self.gen_cmp_gt(OR_LINKTYPE, 0, BPF_H, ETHERMTU)
            gen_not(b0)
            b1 = self.gen_cmp(OR_LLC, 0, BPF_H, (ll_proto << 8) | ll_proto)
            gen_and(b0, b1)
            return b1
        if ll_proto == LLCSAP_IPX:
            b0 = self.gen_cmp(OR_LLC, 0, BPF_B, LLCSAP_IPX)
            b1 = self.gen_cmp(OR_LLC, 0, BPF_H, 0xFFFF)
            gen_or(b0, b1)
            b0 = self.gen_snap(0x000000, ETHERTYPE_IPX)
            gen_or(b0, b1)
            b0 = self.gen_cmp_gt(OR_LINKTYPE, 0, BPF_H, ETHERMTU)
            gen_not(b0)
            gen_and(b0, b1)
            b0 = self.gen_cmp(OR_LINKTYPE, 0, BPF_H, ETHERTYPE_IPX)
            gen_or(b0, b1)
            return b1
        if ll_proto in (ETHERTYPE_ATALK, ETHERTYPE_AARP):
            b0 = self.gen_cmp_gt(OR_LINKTYPE, 0, BPF_H, ETHERMTU)
            gen_not(b0)
            if ll_proto == ETHERTYPE_ATALK:
                b1 = self.gen_snap(0x080007, ETHERTYPE_ATALK)
            else:
                b1 = self.gen_snap(0x000000, ETHERTYPE_AARP)
            gen_and(b0, b1)
            b0 = self.gen_cmp(OR_LINKTYPE, 0, BPF_H, ll_proto)
            gen_or(b0, b1)
            return b1
        if ll_proto <= ETHERMTU:
            b0 = self.gen_cmp_gt(OR_LINKTYPE, 0, BPF_H, ETHERMTU)
            gen_not(b0)
            b1 = self.gen_cmp(OR_LINKTYPE, 2, BPF_B, ll_proto)
            gen_and(b0, b1)
            return b1
        return self.gen_cmp(OR_LINKTYPE, 0, BPF_H, ll_proto)

    def gen_snap(self, orgcode: int, ptype: int) -> Block:
        """gen_snap: an 802.2 SNAP header with this organisation code and protocol type."""
        return self.gen_bcmp(OR_LLC, 0, bytes([LLCSAP_SNAP, LLCSAP_SNAP, 0x03])
                             + orgcode.to_bytes(3, "big") + ptype.to_bytes(2, "big"))

    def gen_llc(self) -> Block:
        """gen_llc_internal: an 802.3 frame with an 802.2 header (not NetWare's raw 802.3)."""
        if self.linktype != DLT_EN10MB:
            raise FilterError(f"'llc' not supported for {DLT_DESCRIPTIONS[self.linktype]}")
        b0 = self.gen_cmp_gt(OR_LINKTYPE, 0, BPF_H, ETHERMTU)
        gen_not(b0)
        b1 = self.gen_cmp(OR_LLC, 0, BPF_H, 0xFFFF)
        gen_not(b1)
        gen_and(b0, b1)
        return b1

    def gen_ipfrag(self) -> Block:
        """gen_ipfrag: not an IPv4 fragment other than the first."""
        b = new_block(JMP(BPF_JSET), 0x1FFF)
        b.stmts = self.gen_load_a(OR_LINKPL, 6, BPF_H)
        gen_not(b)
        return b

    # -- arithmetic (gen_loadi, gen_loadlen, gen_load, gen_neg, gen_arth, gen_relation) ----------

    def gen_loadi(self, val: int) -> Arth:
        reg = self.alloc_reg()
        return Arth([Stmt(BPF_LD | BPF_IMM, val), Stmt(BPF_ST, reg)], reg)

    def gen_loadlen(self) -> Arth:
        reg = self.alloc_reg()
        return Arth([Stmt(BPF_LD | BPF_LEN), Stmt(BPF_ST, reg)], reg)

    def gen_load(self, proto: int, inst: Arth, size: int, abbrev: Callable[[int], Block]) -> Arth:
        """gen_load: ``proto[inst:size]``, the bytes at offset ``inst`` of ``proto``'s header,
        loaded only if the packet has that header (``abbrev`` is gen_proto_abbrev)."""
        regno = self.alloc_reg()
        self.free_reg(inst.regno)
        if size not in (1, 2, 4):
            raise FilterError("data size must be 1, 2, or 4")
        size_code = {1: BPF_B, 2: BPF_H, 4: BPF_W}[size]
        if proto == Q_RADIO:
            raise FilterError("radio information not present in capture")
        if proto == Q_LINK:
            inst.s += [*self.gen_offset_to_x(self.off_linkhdr, inst),
                       Stmt(BPF_LD | BPF_IND | size_code, self.off_linkhdr.constant_part)]
        elif proto in (Q_IP, Q_ARP, Q_RARP, Q_ATALK, Q_DECNET, Q_SCA, Q_LAT, Q_MOPRC, Q_MOPDL, Q_IPV6):
            inst.s += [*self.gen_offset_to_x(self.off_linkpl, inst),
                       Stmt(BPF_LD | BPF_IND | size_code, self.off_linkpl.constant_part + self.off_nl)]
            b = abbrev(proto)
            if inst.b is not None:
                gen_and(inst.b, b)
            inst.b = b
        elif proto in (Q_SCTP, Q_TCP, Q_UDP, Q_ICMP, Q_IGMP, Q_IGRP, Q_PIM, Q_VRRP, Q_CARP):
            inst.s += [*self.gen_loadx_iphdrlen(), xfer_to_a(inst), Stmt(BPF_ALU | BPF_ADD | BPF_X),
                       Stmt(BPF_MISC | BPF_TAX),
                       Stmt(BPF_LD | BPF_IND | size_code, self.off_linkpl.constant_part + self.off_nl)]
            b = self.gen_ipfrag()
            gen_and(abbrev(proto), b)
            if inst.b is not None:
                gen_and(inst.b, b)
            gen_and(abbrev(Q_IP), b)
            inst.b = b
        elif proto == Q_ICMPV6:
            b = abbrev(Q_IPV6)
            if inst.b is not None:
                gen_and(inst.b, b)
            inst.b = b
            b = self.gen_cmp(OR_LINKPL, 6, BPF_B, 58)
            gen_and(inst.b, b)
            inst.b = b
            inst.s += [*self.gen_offset_to_x(self.off_linkpl, inst),
                       Stmt(BPF_LD | BPF_IND | size_code, self.off_linkpl.constant_part + self.off_nl + 40)]
        else:
            raise FilterError("unsupported index operation")
        inst.regno = regno
        inst.s.append(Stmt(BPF_ST, regno))
        return inst

    def gen_neg(self, a: Arth) -> Arth:
        a.s += [xfer_to_a(a), Stmt(BPF_ALU | BPF_NEG), Stmt(BPF_ST, a.regno)]
        return a

    def gen_arth(self, code: int, a0: Arth, a1: Arth) -> Arth:
        """gen_arth: ``a0 code a1``; a constant divisor of 0, or shift past 31, is refused here so
        that it is refused unoptimised too (only ``a0``'s protocol checks are kept, as in
        libpcap)."""
        first = a1.s[0]
        if first.code == BPF_LD | BPF_IMM:
            if code == BPF_DIV and first.k == 0:
                raise FilterError("division by zero")
            if code == BPF_MOD and first.k == 0:
                raise FilterError("modulus by zero")
            if code in (BPF_LSH, BPF_RSH) and first.k > 31:
                raise FilterError("shift by more than 31 bits")
        a0.s += a1.s + [xfer_to_x(a1), xfer_to_a(a0), Stmt(BPF_ALU | BPF_X | code)]
        self.free_reg(a0.regno)
        self.free_reg(a1.regno)
        a0.regno = self.alloc_reg()
        a0.s.append(Stmt(BPF_ST, a0.regno))
        return a0

    def gen_relation(self, code: int, a0: Arth, a1: Arth, reversed_: bool) -> Block:
        """gen_relation: ``a0 code a1`` (``reversed_`` for ``<=``, ``<``, ``!=``), equality as
        ``a0 - a1 == 0``; the operands' protocol checks come first."""
        tail = [xfer_to_x(a1), xfer_to_a(a0)]
        if code == BPF_JEQ:
            tail.append(Stmt(BPF_ALU | BPF_SUB | BPF_X))
            b = new_block(JMP(code))
        else:
            b = new_block(BPF_JMP | code | BPF_X)
        if reversed_:
            gen_not(b)
        b.stmts = a0.s + a1.s + tail
        self.free_reg(a0.regno)
        self.free_reg(a1.regno)
        if a0.b is not None:
            if a1.b is not None:
                gen_and(a0.b, a1.b)
                tmp = a1.b
            else:
                tmp = a0.b
        else:
            tmp = a1.b
        if tmp is not None:
            gen_and(tmp, b)
        return b

    def gen_len(self, jmp: int, n: int) -> Block:
        b = new_block(JMP(jmp), n)
        b.stmts = [Stmt(BPF_LD | BPF_LEN)]
        return b

    def gen_greater(self, n: int) -> Block:
        return self.gen_len(BPF_JGE, n)

    def gen_less(self, n: int) -> Block:
        """gen_less: the length is at most ``n``."""
        b = self.gen_len(BPF_JGT, n)
        gen_not(b)
        return b

    def gen_byteop(self, op: str, idx: int, val: int) -> Block:
        """gen_byteop: ``byte IDX OP VAL``; ``&`` and ``|`` load nothing, as in libpcap."""
        if op == "=":
            return self.gen_cmp(OR_LINKHDR, idx, BPF_B, val)
        if op == "<":
            return self.gen_cmp_lt(OR_LINKHDR, idx, BPF_B, val)
        if op == ">":
            return self.gen_cmp_gt(OR_LINKHDR, idx, BPF_B, val)
        b = new_block(JMP(BPF_JEQ))
        b.stmts = [Stmt(BPF_ALU | (BPF_OR if op == "|" else BPF_AND) | BPF_K, val)]
        gen_not(b)
        return b

    def finish_parse(self, p: Block) -> None:
        """finish_parse: the variable offsets' registers set first (``insert_compute_vloffsets``),
        the expression's true exits return the snapshot length, its false ones 0."""
        self.insert_compute_vloffsets(p.head)
        backpatch(p, gen_retblk(self.snaplen))
        p.sense = not p.sense
        backpatch(p, gen_retblk(0))
        self.root = p.head

    def insert_compute_vloffsets(self, b: Block) -> None:
        """insert_compute_vloffsets: no link layer here has a variable-length header, so only a
        VLAN test's offsets need setting, to 0, before the program's first statement."""
        if not self.is_vlan_vloffset:
            return
        if self.off_linkpl.reg == -1:
            self.off_linkpl.reg = self.alloc_reg()
        if self.off_linktype.reg == -1:
            self.off_linktype.reg = self.alloc_reg()
        b.stmts = [Stmt(BPF_LD | BPF_W | BPF_IMM, 0), Stmt(BPF_ST, self.off_linkpl.reg),
                   Stmt(BPF_ST, self.off_linktype.reg), *b.stmts]


def new_block(code: int, k: int = 0) -> Block:
    return Block(code, k)


def gen_retblk(v: int) -> Block:
    return new_block(BPF_RET | BPF_K, v)


def xfer_to_x(a: Arth) -> Stmt:
    return Stmt(BPF_LDX | BPF_MEM, a.regno)


def xfer_to_a(a: Arth) -> Stmt:
    return Stmt(BPF_LD | BPF_MEM, a.regno)


def backpatch(chain: Block | None, target: Block) -> None:
    """backpatch: point the unresolved exits of the blocks on ``chain`` at ``target``; ``sense``
    says which of a block's exits is the chain's link."""
    while chain is not None:
        if not chain.sense:
            chain.jt, chain = target, chain.jt
        else:
            chain.jf, chain = target, chain.jf


def merge(b0: Block, b1: Block) -> None:
    """merge: append the chain ``b1`` to the chain ``b0``."""
    p = b0
    while True:
        nxt = p.jt if not p.sense else p.jf
        if nxt is None:
            break
        p = nxt
    if not p.sense:
        p.jt = b1
    else:
        p.jf = b1


def gen_and(b0: Block, b1: Block) -> None:
    backpatch(b0, b1.head)
    b0.sense = not b0.sense
    b1.sense = not b1.sense
    merge(b1, b0)
    b1.sense = not b1.sense
    b1.head = b0.head


def gen_or(b0: Block, b1: Block) -> None:
    b0.sense = not b0.sense
    backpatch(b0, b1.head)
    b0.sense = not b0.sense
    merge(b1, b0)
    b1.head = b0.head


def gen_not(b: Block) -> None:
    b.sense = not b.sense
