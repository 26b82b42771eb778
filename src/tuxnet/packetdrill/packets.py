"""Packets of a packetdrill script: building the ones injected, reading and checking the ones sent.

Inbound (``<``) packets become real IPv4 datagrams, with the script's sequence numbers, ACKs, SACK
blocks and TS ecr mapped into the live connection's space.  Outbound (``>``) packets are what the
stack wrote to the TUN device; they are mapped back into script space and compared field by field
in packetdrill's order (``verify_outbound_live_packet`` in packetdrill's run_packet.c), with its
leniency: an outbound packet written without ``win`` leaves the window unchecked, options written
``<...>`` are not checked, the TS val is checked only with ``--tcp_ts_tick_usecs`` (and then within
the timing tolerance), and consecutive packets may be aggregated to match one larger scripted
packet unless ``--strict_segments``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, replace

from tuxnet.net.core.checksum import csum_fold, csum_partial, csum_tcpudp_magic
from tuxnet.packetdrill.ast import IpInfo, PacketEvent, TcpOption

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17

# TCP header flag bits, as in the header's byte 13 (and bit 8 of the 16-bit word for AE).
TH_FIN = 0x01
TH_SYN = 0x02
TH_RST = 0x04
TH_PSH = 0x08
TH_ACK = 0x10
TH_URG = 0x20
TH_ECE = 0x40
TH_CWR = 0x80
TH_AE = 0x100

_SCRIPT_FLAGS = {"F": TH_FIN, "S": TH_SYN, "R": TH_RST, "P": TH_PSH, ".": TH_ACK, "U": TH_URG,
                 "E": TH_ECE, "W": TH_CWR, "A": TH_AE}
_FLAG_ORDER = (("F", TH_FIN), ("S", TH_SYN), ("R", TH_RST), ("P", TH_PSH), (".", TH_ACK),
               ("U", TH_URG), ("E", TH_ECE), ("W", TH_CWR), ("A", TH_AE))

TCPOPT_EOL = 0
TCPOPT_NOP = 1
TCPOPT_MSS = 2
TCPOPT_WINDOW = 3
TCPOPT_SACK_PERM = 4
TCPOPT_SACK = 5
TCPOPT_TIMESTAMP = 8
TCPOPT_MD5SIG = 19
TCPOPT_FASTOPEN = 34
TCPOPT_EXP = 254
TCPOPT_FASTOPEN_MAGIC = 0xF989

# IP ECN codepoints (include/net/inet_ecn.h) and packetdrill's [ect0]/[ect1]/[ce] words.
IP_ECN_MASK = 0x03
ECN_CODEPOINTS = {"noecn": 0, "ect1": 1, "ect0": 2, "ce": 3}
DEFAULT_TTL = 64

_iphdr = struct.Struct("!BBHHHBBHII")
_tcphdr = struct.Struct("!HHIIHHHH")
_udphdr = struct.Struct("!HHHH")


class PacketError(Exception):
    """A packet that cannot be built or parsed; ``str()`` is the reason."""


@dataclass
class Packet:
    """An IPv4 packet (TCP, UDP or ICMP) in parsed form.

    ``options`` holds the TCP options as (kind, data) pairs, NOP and EOL included, in wire order.
    ``time`` is when the packet left the stack (ns), for packets captured on the TUN device.
    """

    src: int
    dst: int
    protocol: int
    tos: int = 0
    ttl: int = DEFAULT_TTL
    sport: int = 0
    dport: int = 0
    seq: int = 0
    ack: int = 0
    flags: int = 0
    window: int = 0
    urg: int = 0
    options: list[tuple[int, bytes]] = field(default_factory=list)
    payload: bytes = b""
    icmp_type: int = 0
    icmp_code: int = 0
    time: int = 0
    gso_size: int = 0

    @property
    def payload_len(self) -> int:
        return len(self.payload)

    @property
    def options_len(self) -> int:
        return sum(1 if kind in (TCPOPT_EOL, TCPOPT_NOP) else 2 + len(data) for kind, data in self.options)

    def ts(self) -> tuple[int, int] | None:
        """The (TS val, TS ecr) of the timestamp option, if there is one."""
        for kind, data in self.options:
            if kind == TCPOPT_TIMESTAMP and len(data) == 8:
                return struct.unpack("!II", data)
        return None

    def with_options(self, options: list[tuple[int, bytes]]) -> Packet:
        return replace(self, options=options)


# -- wire format ---------------------------------------------------------------------------------

def encode_tcp_options(options: list[tuple[int, bytes]]) -> bytes:
    out = bytearray()
    for kind, data in options:
        if kind in (TCPOPT_EOL, TCPOPT_NOP):
            out.append(kind)
        else:
            out += bytes((kind, 2 + len(data))) + data
    return bytes(out)


def decode_tcp_options(raw: bytes) -> list[tuple[int, bytes]]:
    """Options as (kind, data) pairs; a malformed option list raises PacketError."""
    options: list[tuple[int, bytes]] = []
    i = 0
    while i < len(raw):
        kind = raw[i]
        if kind in (TCPOPT_EOL, TCPOPT_NOP):
            options.append((kind, b""))
            i += 1
            continue
        if i + 1 >= len(raw) or raw[i + 1] < 2 or i + raw[i + 1] > len(raw):
            raise PacketError("bad TCP option length")
        options.append((kind, bytes(raw[i + 2:i + raw[i + 1]])))
        i += raw[i + 1]
    return options


def build_packet(pkt: Packet) -> bytes:
    """The IPv4 datagram for ``pkt``, checksums filled in."""
    if pkt.protocol == IPPROTO_TCP:
        opts = encode_tcp_options(pkt.options)
        if len(opts) % 4:
            raise PacketError("TCP options are not padded to a multiple of 4 bytes")
        thl = 20 + len(opts)
        flags_word = ((thl // 4) << 12) | pkt.flags
        l4 = bytearray(_tcphdr.pack(pkt.sport, pkt.dport, pkt.seq & 0xFFFFFFFF, pkt.ack & 0xFFFFFFFF,
                                    flags_word, pkt.window, 0, pkt.urg) + opts + pkt.payload)
        l4[16:18] = csum_tcpudp_magic(pkt.src, pkt.dst, len(l4), IPPROTO_TCP,
                                      csum_partial(memoryview(l4))).to_bytes(2, "big")
    elif pkt.protocol == IPPROTO_UDP:
        l4 = bytearray(_udphdr.pack(pkt.sport, pkt.dport, 8 + len(pkt.payload), 0) + pkt.payload)
        c = csum_tcpudp_magic(pkt.src, pkt.dst, len(l4), IPPROTO_UDP, csum_partial(memoryview(l4)))
        l4[6:8] = (c or 0xFFFF).to_bytes(2, "big")
    else:
        l4 = bytearray(bytes((pkt.icmp_type, pkt.icmp_code, 0, 0, 0, 0, 0, 0)) + pkt.payload)
        l4[2:4] = csum_fold(csum_partial(memoryview(l4))).to_bytes(2, "big")
    ip = bytearray(_iphdr.pack(0x45, pkt.tos, 20 + len(l4), 0, 0, pkt.ttl, pkt.protocol, 0, pkt.src, pkt.dst))
    ip[10:12] = csum_fold(csum_partial(memoryview(ip))).to_bytes(2, "big")
    return bytes(ip + l4)


def parse_packet(data: bytes, time: int = 0, gso_size: int = 0) -> Packet:
    """Parse an IPv4 datagram as the stack wrote it; PacketError for what packetdrill would reject."""
    if len(data) < 20 or data[0] >> 4 != 4:
        raise PacketError("not an IPv4 packet")
    ihl = (data[0] & 0x0F) * 4
    if csum_partial(memoryview(data)[:ihl]) != 0xFFFF:
        raise PacketError("bad outbound IP checksum")
    tos, tot_len = data[1], (data[2] << 8) | data[3]
    ttl, protocol = data[8], data[9]
    src, dst = struct.unpack_from("!II", data, 12)
    l4 = data[ihl:tot_len]
    pkt = Packet(src, dst, protocol, tos=tos, ttl=ttl, time=time, gso_size=gso_size)
    if protocol == IPPROTO_TCP:
        if len(l4) < 20:
            raise PacketError("truncated TCP header")
        pkt.sport, pkt.dport, pkt.seq, pkt.ack, word, pkt.window, _, pkt.urg = _tcphdr.unpack_from(l4)
        doff = (word >> 12) * 4
        pkt.flags = word & 0x1FF
        pkt.options = decode_tcp_options(l4[20:doff])
        pkt.payload = bytes(l4[doff:])
    elif protocol == IPPROTO_UDP:
        pkt.sport, pkt.dport = struct.unpack_from("!HH", l4)
        pkt.payload = bytes(l4[8:])
    elif protocol == IPPROTO_ICMP:
        pkt.icmp_type, pkt.icmp_code = l4[0], l4[1]
        pkt.payload = bytes(l4[8:])
    return pkt


# -- script packets --------------------------------------------------------------------------

def script_flags(flags: str) -> int:
    bits = 0
    for ch in flags:
        bits |= _SCRIPT_FLAGS[ch]
    return bits


def flags_to_string(flags: int) -> str:
    return "".join(ch for ch, bit in _FLAG_ORDER if flags & bit)


def script_options(options: list[TcpOption]) -> list[tuple[int, bytes]]:
    """The (kind, data) pairs of the options written in a script packet."""
    out: list[tuple[int, bytes]] = []
    for opt in options:
        if opt.kind == "nop":
            out.append((TCPOPT_NOP, b""))
        elif opt.kind == "eol":
            out.append((TCPOPT_EOL, b""))
        elif opt.kind == "mss":
            out.append((TCPOPT_MSS, struct.pack("!H", opt.value or 0)))
        elif opt.kind == "wscale":
            out.append((TCPOPT_WINDOW, bytes((opt.value or 0,))))
        elif opt.kind == "sackOK":
            out.append((TCPOPT_SACK_PERM, b""))
        elif opt.kind == "sack":
            out.append((TCPOPT_SACK, b"".join(struct.pack("!II", a & 0xFFFFFFFF, b & 0xFFFFFFFF)
                                              for a, b in opt.sack_blocks)))
        elif opt.kind == "TS":
            out.append((TCPOPT_TIMESTAMP, struct.pack("!II", opt.ts_val or 0, opt.ts_ecr or 0)))
        elif opt.kind == "md5":
            out.append((TCPOPT_MD5SIG, opt.data or b""))
        elif opt.kind == "FO":
            out.append((TCPOPT_FASTOPEN, opt.data or b""))
        else:
            out.append((TCPOPT_EXP, struct.pack("!H", TCPOPT_FASTOPEN_MAGIC) + (opt.data or b"")))
    return out


def tos_of(info: IpInfo | None) -> int:
    """The TOS byte a script's ``[ect0]``/``(tos 0x10)`` asks for (0 when not written)."""
    if info is None:
        return 0
    if info.tos is not None:
        return info.tos
    if info.ecn is not None and info.ecn in ECN_CODEPOINTS:
        return ECN_CODEPOINTS[info.ecn]
    return 0


def script_packet(ev: PacketEvent, src: int, dst: int, sport: int, dport: int) -> Packet:
    """The script's packet with the given addresses, in script sequence space."""
    info = ev.ip_info
    ttl = info.ttl if info is not None and info.ttl is not None else DEFAULT_TTL
    if ev.protocol == "tcp":
        return Packet(
            src, dst, IPPROTO_TCP, tos=tos_of(info), ttl=ttl, sport=sport, dport=dport,
            seq=ev.seq_start or 0, ack=ev.ack or 0, flags=script_flags(ev.flags or ""),
            window=ev.win or 0, urg=ev.urg or 0, options=script_options(ev.options or []),
            payload=bytes(ev.payload_len or 0),
        )
    if ev.protocol == "udp":
        return Packet(src, dst, IPPROTO_UDP, tos=tos_of(info), ttl=ttl, sport=sport, dport=dport,
                      payload=bytes(ev.payload_len or 0))
    return Packet(src, dst, IPPROTO_ICMP, tos=tos_of(info), ttl=ttl)


def options_to_string(options: list[tuple[int, bytes]]) -> str:
    parts = []
    for kind, data in options:
        if kind == TCPOPT_NOP:
            parts.append("nop")
        elif kind == TCPOPT_EOL:
            parts.append("eol")
        elif kind == TCPOPT_MSS and len(data) == 2:
            parts.append(f"mss {struct.unpack('!H', data)[0]}")
        elif kind == TCPOPT_WINDOW and len(data) == 1:
            parts.append(f"wscale {data[0]}")
        elif kind == TCPOPT_SACK_PERM:
            parts.append("sackOK")
        elif kind == TCPOPT_SACK and len(data) % 8 == 0:
            blocks = [struct.unpack_from("!II", data, i) for i in range(0, len(data), 8)]
            parts.append("sack " + " ".join(f"{a}:{b}" for a, b in blocks))
        elif kind == TCPOPT_TIMESTAMP and len(data) == 8:
            val, ecr = struct.unpack("!II", data)
            parts.append(f"TS val {val} ecr {ecr}")
        elif kind == TCPOPT_FASTOPEN:
            parts.append("FO " + data.hex() if data else "FO")
        else:
            parts.append(f"opt{kind} {data.hex()}")
    return "<" + ",".join(parts) + ">"


def packet_to_string(pkt: Packet, *, win: bool = True, options: bool = True) -> str:
    """A packet in packetdrill's script syntax: ``P. 1:1001(1000) ack 1 win 257 <nop,...>``."""
    prefix = ""
    ecn = pkt.tos & IP_ECN_MASK
    if ecn:
        prefix = "[" + {1: "ect1", 2: "ect0", 3: "ce"}[ecn] + "] "
    if pkt.protocol == IPPROTO_UDP:
        return f"{prefix}udp ({pkt.payload_len})"
    if pkt.protocol == IPPROTO_ICMP:
        return f"icmp type {pkt.icmp_type} code {pkt.icmp_code}"
    n = pkt.payload_len
    end = (pkt.seq + n) & 0xFFFFFFFF
    s = f"{prefix}{flags_to_string(pkt.flags) or '-'} {pkt.seq}:{end}({n})"
    if pkt.flags & TH_ACK:
        s += f" ack {pkt.ack}"
    if win:
        s += f" win {pkt.window}"
    if pkt.flags & TH_URG:
        s += f" urg {pkt.urg}"
    if options and pkt.options:
        s += " " + options_to_string(pkt.options)
    return s


def map_sack_blocks(options: list[tuple[int, bytes]], offset: int) -> list[tuple[int, bytes]]:
    """Shift every SACK block edge by ``offset`` (script and live sequence spaces)."""
    out = []
    for kind, data in options:
        if kind == TCPOPT_SACK and len(data) % 8 == 0:
            edges = struct.unpack(f"!{len(data) // 4}I", data)
            data = struct.pack(f"!{len(edges)}I", *((e + offset) & 0xFFFFFFFF for e in edges))
        out.append((kind, data))
    return out


def replace_ts(options: list[tuple[int, bytes]], val: int | None, ecr: int | None) -> list[tuple[int, bytes]]:
    """The options with the timestamp's val and/or ecr replaced."""
    out = []
    for kind, data in options:
        if kind == TCPOPT_TIMESTAMP and len(data) == 8:
            old_val, old_ecr = struct.unpack("!II", data)
            data = struct.pack("!II", (old_val if val is None else val) & 0xFFFFFFFF,
                               (old_ecr if ecr is None else ecr) & 0xFFFFFFFF)
        out.append((kind, data))
    return out


# -- comparing an outbound packet with the script's ------------------------------------------

class Mismatch(Exception):
    """A live packet field that differs from the script; ``str()`` is packetdrill's message."""


def check_field(name: str, expected: int, actual: int) -> None:
    """packetdrill's ``check_field``."""
    if expected != actual:
        raise Mismatch(f"live packet field {name}: expected: {expected} ({expected:#x}) vs actual: "
                       f"{actual} ({actual:#x})")


@dataclass
class Expect:
    """What an outbound script line checks beyond the packet itself."""

    packet: Packet
    check_win: bool
    check_options: bool
    ecn_check: str | None  # "ecn", "ect01", "tos" or None
    check_ttl: bool


def expectation(ev: PacketEvent, pkt: Packet) -> Expect:
    info = ev.ip_info
    ecn_check = None
    if info is not None:
        if info.tos is not None:
            ecn_check = "tos"
        elif info.ecn == "ect01":
            ecn_check = "ect01"
        elif info.ecn is not None:
            ecn_check = "ecn"
    return Expect(pkt, ev.win is not None, ev.options is not None, ecn_check,
                  info is not None and info.ttl is not None)


def verify_headers(exp: Expect, actual: Packet, strict: bool = True) -> None:
    """``verify_outbound_live_headers``: IP, then TCP header fields in packetdrill's order."""
    script = exp.packet
    check_field("ipv4_protocol", script.protocol, actual.protocol)
    allowance = actual.options_len if not exp.check_options else 0
    if script.protocol == IPPROTO_TCP and strict:
        check_field("ipv4_total_length", 40 + script.options_len + allowance + script.payload_len,
                    40 + actual.options_len + actual.payload_len)
    ecn = actual.tos & IP_ECN_MASK
    if exp.ecn_check == "ect01" and ecn not in (1, 2):
        raise Mismatch(f"live packet field ip_ecn: expected: 0x1 or 0x2 vs actual: {ecn:#x}")
    if exp.ecn_check == "ecn":
        check_field("ip_ecn", script.tos & IP_ECN_MASK, ecn)
    if exp.ecn_check == "tos":
        check_field("tos", script.tos, actual.tos)
    if exp.check_ttl:
        check_field("ttl", script.ttl, actual.ttl)
    if script.protocol != IPPROTO_TCP:
        return
    check_field("tcp_data_offset", 5 + (script.options_len + allowance) // 4, 5 + actual.options_len // 4)
    for name, bit, strict_only in (("tcp_fin", TH_FIN, True), ("tcp_syn", TH_SYN, False),
                                   ("tcp_rst", TH_RST, False), ("tcp_psh", TH_PSH, True),
                                   ("tcp_ack", TH_ACK, False), ("tcp_urg", TH_URG, False),
                                   ("tcp_ece", TH_ECE, False), ("tcp_cwr", TH_CWR, True),
                                   ("tcp_ae", TH_AE, False)):
        if strict or not strict_only:
            check_field(name, 1 if script.flags & bit else 0, 1 if actual.flags & bit else 0)
    expected_seq = script.seq if strict else (script.seq + script.payload_len) & 0xFFFFFFFF
    check_field("tcp_seq", expected_seq, actual.seq)
    check_field("tcp_ack_seq", script.ack, actual.ack)
    if exp.check_win:
        check_field("tcp_window", script.window, actual.window)
    check_field("tcp_urg_ptr", script.urg, actual.urg)


def verify_options(exp: Expect, actual: Packet, ts_tick_usecs: int, tolerance_usecs: int) -> None:
    """``verify_outbound_live_tcp_options``: same kinds in the same order, same values; the TS
    val only within the tolerance (and only when a tick is configured), the TS ecr never."""
    if not exp.check_options:
        return
    script_opts = exp.packet.options
    if len(script_opts) != len(actual.options):
        raise Mismatch("bad outbound TCP options")
    for (skind, sdata), (akind, adata) in zip(script_opts, actual.options, strict=True):
        if skind != akind:
            raise Mismatch("bad outbound TCP options")
        if akind in (TCPOPT_EOL, TCPOPT_NOP):
            continue
        if akind == TCPOPT_TIMESTAMP:
            if ts_tick_usecs and len(sdata) == len(adata) == 8:
                sval = struct.unpack_from("!I", sdata)[0]
                aval = struct.unpack_from("!I", adata)[0]
                delta = (aval - sval) & 0xFFFFFFFF
                if delta >= 0x80000000:
                    delta = 0x100000000 - delta
                if delta * ts_tick_usecs > tolerance_usecs:
                    raise Mismatch(f"bad outbound TCP timestamp value, tolerance {tolerance_usecs}")
            continue
        if len(sdata) != len(adata):
            raise Mismatch(f"bad lengths for outbound TCP option {skind}")
        if sdata != adata:
            raise Mismatch(f"bad value outbound TCP option {skind}")


def verify_payload(exp: Expect, actual: Packet) -> None:
    if exp.packet.payload != actual.payload:
        raise Mismatch("incorrect outbound data payload")


def verify_fragment(current: Packet, previous: Packet, sniffed: int, expected_total: int) -> None:
    """``verify_packet_fragments``: a packet may extend an aggregate when its headers continue the
    previous packet's and, unless it is the last, it carries as much payload."""
    prev = Expect(previous, True, True, None, False)
    verify_headers(prev, current, strict=False)
    if current.payload_len < expected_total - sniffed and current.payload_len != previous.payload_len:
        raise Mismatch(f"fragment payload: expected {previous.payload_len} bytes vs actual "
                       f"{current.payload_len} bytes; total payload: expected {expected_total} bytes "
                       f"vs actual {current.payload_len + sniffed} bytes")


def aggregate(packets: list[Packet]) -> Packet:
    """``aggregate_packets``: headers (and time) of the last packet, sequence number and CWR of
    the first, the payloads joined."""
    first, last = packets[0], packets[-1]
    flags = (last.flags & ~TH_CWR) | (first.flags & TH_CWR)
    return replace(last, seq=first.seq, flags=flags, payload=b"".join(p.payload for p in packets))
