"""pcap-filter(7), as libpcap's ``pcap_compile`` reads it (grammar.y, scanner.l, gencode.c): an
expression compiled into a test of an Ethernet frame, with libpcap's words for what it refuses.

Primitives: ``[ether|ip|ip6|arp|tcp|udp|icmp] [src|dst|src or dst|src and dst] host|net|port|
portrange VALUE`` (``host`` implied; a bare value after ``and``/``or`` takes the qualifiers before
it: ``port 80 or 443``), ``net N/LEN`` or ``net N mask M``, a protocol alone, ``ether host MAC``,
``[ether] broadcast|multicast``, ``ip multicast``, ``[ip|ether] proto N`` (or ``\\tcp``, ``\\ip``),
``less N``, ``greater N``, and relations of byte loads and arithmetic: ``tcp[13] & 2 != 0``,
``tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn``, ``ip[2:2] > 576``, ``icmp[icmptype] ==
icmp-echo``, ``len >= 100`` (``+ - * / % & | ^ << >>``, unary ``-``, 32-bit unsigned, the
relations ``> >= < <= = == !=``).  Host and port names are resolved as the filter is compiled,
by the resolvers given (the program's ``gethostbyname`` and ``getservbyname``).  A load past the
end of the frame, or a division by a zero it computes, rejects the frame, as a BPF program
returns 0 there.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

__all__ = ["Filter", "FilterError", "compile_filter"]

Filter = Callable[[bytes, int], bool]  # (frame, its length on the wire) -> kept
Arith = Callable[[bytes, int], int]
HostResolver = Callable[[str], list[int] | None]
PortResolver = Callable[[str, str], int | None]

ETHERTYPE_IP = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERTYPE_IPV6 = 0x86DD
IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6 = 1, 6, 17, 58

_U32 = 0xFFFFFFFF

# gencode.c's protocols as qualifiers: for ip/ip6/arp the ethertype, for tcp/udp/icmp the IP protocol
_ETHER_PROTOS = {"ip": ETHERTYPE_IP, "ip6": ETHERTYPE_IPV6, "arp": ETHERTYPE_ARP}
_IP_PROTOS = {"icmp": IPPROTO_ICMP, "tcp": IPPROTO_TCP, "udp": IPPROTO_UDP, "icmp6": IPPROTO_ICMPV6}
_QUALIFIERS = {"ether", *_ETHER_PROTOS, *_IP_PROTOS}
# scanner.l's named numbers
_CONSTANTS = {
    "icmptype": 0, "icmpcode": 1,
    "icmp-echoreply": 0, "icmp-unreach": 3, "icmp-sourcequench": 4, "icmp-redirect": 5, "icmp-echo": 8,
    "icmp-routeradvert": 9, "icmp-routersolicit": 10, "icmp-timxceed": 11, "icmp-paramprob": 12,
    "icmp-tstamp": 13, "icmp-tstampreply": 14, "icmp-ireq": 15, "icmp-ireqreply": 16, "icmp-maskreq": 17,
    "icmp-maskreply": 18,
    "tcpflags": 13, "tcp-fin": 0x01, "tcp-syn": 0x02, "tcp-rst": 0x04, "tcp-push": 0x08, "tcp-ack": 0x10,
    "tcp-urg": 0x20, "tcp-ece": 0x40, "tcp-cwr": 0x80,
}
# the names \\NAME may give a protocol (ether proto, ip proto)
_PROTO_NAMES = {"ip": ETHERTYPE_IP, "arp": ETHERTYPE_ARP, "ip6": ETHERTYPE_IPV6,
                "icmp": IPPROTO_ICMP, "tcp": IPPROTO_TCP, "udp": IPPROTO_UDP}
_KEYWORDS = {*_QUALIFIERS, "src", "dst", "host", "net", "port", "portrange", "proto", "mask", "less", "greater",
             "broadcast", "multicast", "len", "and", "or", "not", "&&", "||", "!", "(", ")"}
_RELOPS = {">": int.__gt__, ">=": int.__ge__, "<": int.__lt__, "<=": int.__le__, "=": int.__eq__,
           "==": int.__eq__, "!=": int.__ne__}
_TOKEN = re.compile(r"""\s*(?:
      (?P<mac>[0-9A-Fa-f]{1,2}(?::[0-9A-Fa-f]{1,2}){5})(?![-\w.:])
    | (?P<word>\\?[A-Za-z0-9_](?:[-_.A-Za-z0-9]*[_.A-Za-z0-9])?)
    | (?P<op>&&|\|\||<<|>>|<=|>=|==|!=|[!()\[\]:+\-*/%&|^<>=])
    )""", re.VERBOSE)


class FilterError(ValueError):
    """A filter expression libpcap refuses, in its words."""


class _Reject(Exception):
    """The BPF program returns 0: a load past the frame's end, a division by zero."""


class _NoHeader(Exception):
    """A byte load of a protocol the frame does not carry: its relation is false."""


def _tokens(text: str) -> list[str]:
    out = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise _Syntax
        out.append(m.group(m.lastgroup or "op"))
        pos = m.end()
    return out


def _number(text: str) -> int:
    """scanner.l's ``stoulen``: decimal, ``0x`` hexadecimal or ``0``-led octal."""
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
        value = int(text, 16)
    elif re.fullmatch(r"0[0-9]+", text):
        if not re.fullmatch(r"0[0-7]+", text):
            raise FilterError(f"number {text} contains non-octal digit")
        value = int(text, 8)
    elif text.isdigit():
        value = int(text)
    else:
        raise _Syntax
    if value > _U32:
        raise FilterError(f"number {text} overflows 32 bits")
    return value


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9]+|0[xX][0-9a-fA-F]+", text))


def _atoin(text: str, what: str) -> tuple[int, int]:
    """``__pcap_atoin``: a dotted address of one to four parts, and how many bits it gives (an
    address of fewer parts names a network: ``net 10.1`` is 10.1.0.0/16)."""
    if not re.fullmatch(r"[0-9]+(\.[0-9]+){0,3}", text):
        raise FilterError(f"unknown {what} '{text}'")
    parts = [int(part) for part in text.split(".")]
    if any(part > 255 for part in parts):
        raise FilterError(f"invalid IPv4 address '{text}'")
    addr = 0
    for part in parts:
        addr = addr << 8 | part
    return addr << 8 * (4 - len(parts)), 8 * len(parts)


def _mask(bits: int) -> int:
    return (_U32 << (32 - bits)) & _U32


# -- the frame's fields --------------------------------------------------------------------------

def _ethertype(frame: bytes) -> int:
    return frame[12] << 8 | frame[13] if len(frame) >= 14 else -1


def _ip(frame: bytes) -> bool:
    return len(frame) >= 34 and frame[12:14] == b"\x08\x00"


def _transport(frame: bytes, proto: int | None = None) -> int:
    """The offset of the TCP/UDP/ICMP header (of protocol ``proto``, any when None) of an IPv4
    datagram's first fragment, or of an IPv6 packet with no extension header; -1 for other
    frames."""
    if _ip(frame):
        if (proto is not None and frame[23] != proto) or (frame[20] & 0x1F or frame[21]):
            return -1
        return 14 + (frame[14] & 0x0F) * 4
    if len(frame) >= 54 and frame[12:14] == b"\x86\xdd" and (proto is None or frame[20] == proto):
        return 54
    return -1


def _ip_proto(frame: bytes) -> int:
    if _ip(frame):
        return frame[23]
    if len(frame) >= 54 and frame[12:14] == b"\x86\xdd":
        return frame[20]
    return -1


def _addrs(frame: bytes, direction: str) -> list[int]:
    """The IPv4 (or ARP sender/target) addresses of a frame, as ``src``/``dst``/either asks."""
    if _ip(frame):
        src, dst = struct.unpack_from("!II", frame, 26)
    elif len(frame) >= 42 and frame[12:14] == b"\x08\x06":
        src, dst = struct.unpack_from("!I", frame, 28)[0], struct.unpack_from("!I", frame, 38)[0]
    else:
        return []
    return [src] if direction == "src" else [dst] if direction == "dst" else [src, dst]


def _ports(frame: bytes, direction: str, proto: int | None) -> list[int]:
    """The TCP or UDP ports (of ``proto``'s datagrams, either when None)."""
    off = _transport(frame, proto)
    if off < 0 or _ip_proto(frame) not in (IPPROTO_TCP, IPPROTO_UDP) or len(frame) < off + 4:
        return []
    sport, dport = struct.unpack_from("!HH", frame, off)
    return [sport] if direction == "src" else [dport] if direction == "dst" else [sport, dport]


def _macs(frame: bytes, direction: str) -> list[bytes]:
    if len(frame) < 14:
        return []
    src, dst = frame[6:12], frame[0:6]
    return [src] if direction == "src" else [dst] if direction == "dst" else [src, dst]


def _matches(values: Callable[[bytes, str], list], direction: str, test: Callable[[object], bool]) -> Filter:
    """A frame's addresses or ports tested: one, either, or (``src and dst``) both."""
    if direction == "and":
        return lambda f, n: bool(found := values(f, "")) and all(test(v) for v in found)
    return lambda f, n: any(test(v) for v in values(f, direction))


def _both(a: Filter, b: Filter) -> Filter:
    return lambda f, n: a(f, n) and b(f, n)


def _either(a: Filter, b: Filter) -> Filter:
    return lambda f, n: a(f, n) or b(f, n)


class _Const:
    """A number in an arithmetic expression (``BPF_LD|BPF_IMM``)."""

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value

    def __call__(self, f: bytes, n: int) -> int:
        return self.value


def _combine(op: str, a: Arith, b: Arith) -> Arith:
    """A binary operator of two arithmetic expressions, in 32 bits (``gen_arth``): dividing by a
    number that is 0 is refused; a division by a zero computed from the frame rejects it (BPF's
    ``div`` by a register holding 0)."""
    if op in ("/", "%"):
        if isinstance(b, _Const) and not b.value:
            raise FilterError("division by zero" if op == "/" else "modulus by zero")
        def divide(f: bytes, n: int) -> int:
            divisor = b(f, n)
            if not divisor:
                raise _Reject
            return a(f, n) // divisor if op == "/" else a(f, n) % divisor
        return divide
    if op == "<<":
        return lambda f, n: (a(f, n) << min(b(f, n), 32)) & _U32
    if op == ">>":
        return lambda f, n: a(f, n) >> min(b(f, n), 32)
    fn = {"|": int.__or__, "^": int.__xor__, "&": int.__and__, "+": int.__add__, "-": int.__sub__,
          "*": int.__mul__}[op]
    return lambda f, n: fn(a(f, n), b(f, n)) & _U32


def _ether_base(f: bytes) -> int:
    return 0


def _ethertype_base(ethertype: int) -> Callable[[bytes], int]:
    return lambda f: 14 if _ethertype(f) == ethertype else -1


def _transport_base(proto: int, ipv4_only: bool) -> Callable[[bytes], int]:
    return lambda f: -1 if ipv4_only and not _ip(f) else _transport(f, proto)


# where each protocol's byte loads count from: -1 for a frame without its header
_LOADS: dict[str, Callable[[bytes], int]] = {
    "ether": _ether_base, "link": _ether_base,
    **{name: _ethertype_base(ethertype) for name, ethertype in _ETHER_PROTOS.items()},
    "tcp": _transport_base(IPPROTO_TCP, False), "udp": _transport_base(IPPROTO_UDP, False),
    "icmp": _transport_base(IPPROTO_ICMP, True),
}


def _protocol(name: str) -> Filter:
    """A protocol alone: ``ip``, ``ip6``, ``arp``, ``tcp``, ``udp``, ``icmp``, ``ether``."""
    if name == "ether":
        return lambda f, n: True
    if name in _ETHER_PROTOS:
        ethertype = _ETHER_PROTOS[name]
        return lambda f, n: _ethertype(f) == ethertype
    proto = _IP_PROTOS[name]
    if name == "icmp":
        return lambda f, n: _ip(f) and f[23] == proto
    if name == "icmp6":
        return lambda f, n: _ethertype(f) == ETHERTYPE_IPV6 and _ip_proto(f) == proto
    return lambda f, n: _ip_proto(f) == proto


class _Syntax(FilterError):
    """grammar.y's "syntax error": the one a relation's reading may back out of."""

    def __init__(self) -> None:
        super().__init__("syntax error")


# a bare value after a primitive that leaves no qualifiers to take (a protocol alone, a relation)
_NO_QUALIFIERS = "syntax error in filter expression"


class _Parser:
    """grammar.y by recursive descent: primitives, relations, ``not`` and parenthesised
    expressions joined by ``and`` and ``or``, which bind equally, from the left."""

    def __init__(self, tokens: list[str], resolve_host: HostResolver | None,
                 resolve_port: PortResolver | None, netmask: int) -> None:
        self.tokens = tokens
        self.pos = 0
        self.loads = 0  # byte loads read so far: past one, what reads wrong is wrong
        self.resolve_host = resolve_host
        self.resolve_port = resolve_port
        self.netmask = netmask
        # the qualifiers a bare value takes: none yet (it must be an address), those of the last
        # primitive with a value, or a message when the last primitive had none
        self.last: tuple[str, str, str] | str | None = None

    def peek(self, ahead: int = 0) -> str:
        i = self.pos + ahead
        return self.tokens[i] if i < len(self.tokens) else ""

    def take(self) -> str:
        if self.pos >= len(self.tokens):
            raise _Syntax
        self.pos += 1
        return self.tokens[self.pos - 1]

    def expect(self, token: str) -> None:
        if self.take() != token:
            raise _Syntax

    # -- boolean --------------------------------------------------------------------------------

    def expr(self) -> Filter:
        left = self.factor()
        while self.peek() in ("and", "&&", "or", "||"):
            op = self.take()
            right = self.factor()
            left = _both(left, right) if op in ("and", "&&") else _either(left, right)
        return left

    def factor(self) -> Filter:
        token = self.peek()
        if token in ("not", "!"):
            self.take()
            inner = self.factor()
            return lambda f, n: not inner(f, n)
        relation = self.relation()
        if relation is not None:
            return relation
        if token == "(":
            self.take()
            inner = self.expr()
            self.expect(")")
            return inner
        return self.primitive()

    # -- relations ------------------------------------------------------------------------------

    def relation(self) -> Filter | None:
        """``arth relop arth``, when the tokens here read as one; else None, nothing taken."""
        start, loads = self.pos, self.loads
        try:
            left = self.arith()
            op = self.take()
            if op not in _RELOPS:
                raise _Syntax
        except _Syntax:
            if self.loads > loads:
                raise
            self.pos = start
            return None
        right = self.arith()
        compare = _RELOPS[op]
        self.last = _NO_QUALIFIERS

        def test(f: bytes, n: int) -> bool:
            try:
                return compare(left(f, n), right(f, n))
            except _NoHeader:
                return False
        return test

    def arith(self) -> Arith:
        return self._binary(0)

    _LEVELS = (("|",), ("^",), ("&",), ("<<", ">>"), ("+", "-"), ("*", "/", "%"))

    def _binary(self, level: int) -> Arith:
        if level == len(self._LEVELS):
            return self.unary()
        left = self._binary(level + 1)
        while self.peek() in self._LEVELS[level]:
            op = self.take()
            right = self._binary(level + 1)
            left = _combine(op, left, right)
        return left

    def unary(self) -> Arith:
        token = self.take()
        if token == "-":
            inner = self.unary()
            return lambda f, n: -inner(f, n) & _U32
        if token == "(":
            inner = self.arith()
            self.expect(")")
            return inner
        if token == "len":
            return lambda f, n: n
        if token in _CONSTANTS:
            return _Const(_CONSTANTS[token])
        if _is_number(token):
            return _Const(_number(token))
        if token in _LOADS and self.peek() == "[":
            self.loads += 1
            return self.load(token)
        raise _Syntax

    def load(self, proto: str) -> Arith:
        """``proto[expr]`` or ``proto[expr:size]``: bytes of the frame, big-endian, from the start of
        ``proto``'s header; a frame without that header fails the relation, and one that ends
        first is rejected."""
        self.expect("[")
        index = self.arith()
        size = 1
        if self.peek() == ":":
            self.take()
            size = _number(self.take())
            if size not in (1, 2, 4):
                raise FilterError("data size must be 1, 2, or 4")
        self.expect("]")
        base = _LOADS[proto]

        def fetch(f: bytes, n: int) -> int:
            start = base(f)
            if start < 0:
                raise _NoHeader
            off = start + index(f, n)
            if off + size > len(f):
                raise _Reject
            return int.from_bytes(f[off:off + size], "big")
        return fetch

    # -- primitives -----------------------------------------------------------------------------

    def direction(self) -> str:
        """``src``, ``dst``, ``src or dst`` (``or``, as no direction) or ``src and dst`` (``and``)."""
        first = self.peek()
        if first not in ("src", "dst"):
            return ""
        self.take()
        other = "dst" if first == "src" else "src"
        if self.peek() in ("or", "and") and self.peek(1) == other:
            joined = self.take()
            self.take()
            return joined
        return first

    def primitive(self) -> Filter:
        token = self.peek()
        if token in ("less", "greater"):
            self.take()
            value = _number(self.take())
            self.last = _NO_QUALIFIERS
            return (lambda f, n: n <= value) if token == "less" else (lambda f, n: n >= value)
        proto = self.take() if token in _QUALIFIERS else ""
        direction = self.direction()
        word = self.peek()
        if word in ("broadcast", "multicast"):
            self.take()
            self.last = _NO_QUALIFIERS
            return self.cast(proto, word)
        if word == "proto":
            self.take()
            self.last = "'proto' modifier applied to ip host"
            return self.proto(proto)
        kind = self.take() if word in ("host", "net", "port", "portrange") else ""
        if not kind and not direction:
            if proto:
                if self.peek() not in ("", *_KEYWORDS):
                    raise _Syntax
                self.last = _NO_QUALIFIERS
                return _protocol(proto)
            if isinstance(self.last, str) and self.peek() not in _KEYWORDS:
                raise FilterError(self.last)
            if self.last is not None and self.peek() not in _KEYWORDS:
                proto, direction, kind = self.last
            elif not re.fullmatch(r"[0-9]+(\.[0-9]+){3}", self.peek()) or \
                    any(int(part) > 255 for part in self.peek().split(".")):
                raise _Syntax
        kind = kind or "host"
        value = self.take()
        if value in _KEYWORDS:
            raise _Syntax
        self.last = (proto, direction, kind)
        if kind in ("port", "portrange"):
            return self.port(proto, direction, kind, value)
        if proto in _IP_PROTOS:
            raise FilterError(f"'{proto}' modifier applied to {kind}")
        if proto == "ether":
            return self.ether_host(direction, kind, value)
        if proto == "ip6":
            raise FilterError(f"'ip6' modifier applied to ip {kind}")
        if kind == "net":
            net, mask = self.net(value)
            match = _matches(_addrs, direction, lambda a: a & mask == net)
        else:
            match = _matches(_addrs, direction, self.host(value))
        if proto:
            return _both(_protocol(proto), match)
        return match

    def host(self, text: str) -> Callable[[int], bool]:
        """A host's test of an address: a dotted one (of fewer parts, the network they give, as
        ``gen_ncode`` promotes a short address), else the addresses of a name."""
        if re.fullmatch(r"[0-9]+(\.[0-9]+){0,3}", text):
            net, bits = _atoin(text, "host")
            mask = _mask(bits)
            return lambda a: a & mask == net
        found = self.resolve_host(text) if self.resolve_host is not None else None
        if not found:
            raise FilterError(f"unknown host '{text}'")
        addrs = set(found)
        return lambda a: a in addrs

    def net(self, text: str) -> tuple[int, int]:
        """``net ADDR[/LEN]`` or ``net ADDR mask MASK``: its address and mask, as ``gen_mcode``
        checks them."""
        addr, bits = _atoin(text, "network")
        mask = _mask(bits)
        shown = text
        if self.peek() == "/":
            self.take()
            plen = self.take()
            if not plen.isdigit():
                raise _Syntax
            bits = int(plen)
            if bits > 32:
                raise FilterError("mask length must be <= 32")
            mask = _mask(bits)
            shown = f"{text}/{plen}"
        elif self.peek() == "mask":
            self.take()
            text_mask = self.take()
            mask, _ = _atoin(text_mask, "network")
            shown = f"{text} mask {text_mask}"
        if addr & ~mask & _U32:
            raise FilterError(f'non-network bits set in "{shown}"')
        return addr, mask

    def port(self, proto: str, direction: str, kind: str, value: str) -> Filter:
        if proto not in ("", "tcp", "udp"):
            raise FilterError(f"illegal qualifier of '{kind}'")
        if kind == "portrange":
            low_text, dash, high_text = value.partition("-")
            if not dash:
                high_text = low_text
            elif not low_text or not high_text:
                raise _Syntax
            try:
                low, high = self.port_number(low_text, proto), self.port_number(high_text, proto)
            except FilterError as error:
                if str(error).startswith("unknown port"):
                    raise FilterError(f"unknown port in range '{value}'") from None
                raise
            low, high = min(low, high), max(low, high)
            if not proto and not low_text[:1].isdigit() and not high_text[:1].isdigit():
                # pcap_nametoportrange: the protocol both names are known for, if they agree
                first, second = self.port_protocol(low_text), self.port_protocol(high_text)
                proto = first if first == second else ""

            def test(p: int) -> bool:
                return low <= p <= high
        else:
            number = self.port_number(value, proto)
            if not proto and not value[:1].isdigit():
                proto = self.port_protocol(value)

            def test(p: int) -> bool:
                return p == number
        ip_proto = _IP_PROTOS[proto] if proto else None
        return _matches(lambda f, d: _ports(f, d, ip_proto), direction, test)

    def port_protocol(self, name: str) -> str:
        """``pcap_nametoport``'s protocol of a service name: the one it is known for, or either."""
        known = [proto for proto in ("tcp", "udp")
                 if self.resolve_port is not None and self.resolve_port(name, proto) is not None]
        return known[0] if len(known) == 1 else ""

    def port_number(self, text: str, proto: str) -> int:
        if text[:1].isdigit():
            port = _number(text)
        else:
            found = None
            if self.resolve_port is not None:
                for candidate in ((proto,) if proto else ("tcp", "udp")):
                    found = self.resolve_port(text, candidate)
                    if found is not None:
                        break
            if found is None:
                other = "udp" if proto == "tcp" else "tcp"
                if proto and self.resolve_port is not None and self.resolve_port(text, other) is not None:
                    raise FilterError(f"port '{text}' is {other}")
                raise FilterError(f"unknown port '{text}'")
            port = found
        if port > 0xFFFF:
            raise FilterError(f"illegal port number {port} > 65535")
        return port

    def ether_host(self, direction: str, kind: str, value: str) -> Filter:
        if kind != "host":
            raise FilterError("illegal link layer address")
        if not re.fullmatch(r"[0-9A-Fa-f]{1,2}(:[0-9A-Fa-f]{1,2}){5}", value):
            raise FilterError(f"unknown ether host '{value}'")
        mac = bytes(int(part, 16) for part in value.split(":"))
        return _matches(_macs, direction, lambda m: m == mac)

    def cast(self, proto: str, word: str) -> Filter:
        """``[ether] broadcast|multicast`` (the destination address), ``ip broadcast`` (all ones
        or all zeros in the host part of the capture device's netmask) and ``ip multicast``."""
        if proto in ("", "ether"):
            if word == "broadcast":
                return lambda f, n: f[0:6] == b"\xff" * 6
            return lambda f, n: len(f) >= 1 and bool(f[0] & 1)
        if proto == "ip" and word == "multicast":
            return lambda f, n: _ip(f) and f[30] >= 224
        if proto == "ip":
            hostmask = ~self.netmask & _U32
            return lambda f, n: _ip(f) and struct.unpack_from("!I", f, 30)[0] & hostmask in (0, hostmask)
        raise FilterError(f"only link-layer/IP {word} filters supported")

    def proto(self, qualifier: str) -> Filter:
        """``ether proto N``, ``[ip] proto N`` (a number or ``\\NAME``)."""
        text = self.take()
        name = text[1:] if text.startswith("\\") else text
        if name in _PROTO_NAMES:
            value = _PROTO_NAMES[name]
        elif _is_number(name):
            value = _number(name)
        else:
            raise FilterError(f"unknown {'ether ' if qualifier == 'ether' else 'ip '}proto '{name}'")
        if qualifier == "ether":
            return lambda f, n: _ethertype(f) == value
        if qualifier not in ("", "ip", "ip6"):
            raise FilterError(f"'{qualifier} proto' is bogus")
        if qualifier == "ip":
            return lambda f, n: _ip(f) and f[23] == value
        return lambda f, n: _ip_proto(f) == value


def compile_filter(expression: str, *, resolve_host: HostResolver | None = None,
                   resolve_port: PortResolver | None = None, netmask: int = 0) -> Filter:
    """``pcap_compile``: the filter, a test of ``(frame, length on the wire)``, or FilterError.
    ``resolve_host(name)`` gives a name's IPv4 addresses (as integers) or None;
    ``resolve_port(name, "tcp"|"udp")`` a service's port or None; ``netmask`` is the capture
    device's (``pcap_lookupnet``; 0 for a file), which ``ip broadcast`` needs."""
    tokens = _tokens(expression)
    if not tokens:
        return lambda f, n: True
    parser = _Parser(tokens, resolve_host, resolve_port, netmask)
    test = parser.expr()
    if parser.pos != len(tokens):
        raise _Syntax

    def run(frame: bytes, length: int) -> bool:
        try:
            return bool(test(frame, length))
        except _Reject:
            return False
    return run
