"""libpcap's scanner.l: the tokens of a filter expression, read one at a time as the parser asks.

Flex's rule applies: at each point the longest match wins, and of equally long ones the rule
written first (so ``tcp`` is a keyword but ``tcpx`` a name, ``1.2.3.4`` an address but
``1.2.3.4.5`` a name, a run of twelve hex digits an Ethernet address).  Errors found here (a
number that overflows, a bogus address) are recorded with ``set_error`` (which keeps the first)
and the token ``LEX_ERROR``, which no rule of the grammar takes, stops the parse."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator

Token = tuple[str, object]  # (grammar terminal, value)

_KEYWORDS = {
    "dst": "DST", "src": "SRC",
    **dict.fromkeys(("link", "ether", "ppp", "slip", "fddi", "tr", "wlan"), "LINK"),
    "arp": "ARP", "rarp": "RARP", "ip": "IP", "sctp": "SCTP", "tcp": "TCP", "udp": "UDP",
    "icmp": "ICMP", "igmp": "IGMP", "igrp": "IGRP", "pim": "PIM", "vrrp": "VRRP", "carp": "CARP",
    "radio": "RADIO", "ip6": "IPV6", "icmp6": "ICMPV6", "ah": "AH", "esp": "ESP",
    "atalk": "ATALK", "aarp": "AARP", "decnet": "DECNET", "lat": "LAT", "sca": "SCA",
    "moprc": "MOPRC", "mopdl": "MOPDL", "iso": "ISO", "esis": "ESIS", "es-is": "ESIS",
    "isis": "ISIS", "is-is": "ISIS", "l1": "L1", "l2": "L2", "iih": "IIH", "lsp": "LSP",
    "snp": "SNP", "csnp": "CSNP", "psnp": "PSNP", "clnp": "CLNP", "stp": "STP", "ipx": "IPX",
    "netbeui": "NETBEUI", "host": "HOST", "net": "NET", "mask": "NETMASK", "port": "PORT",
    "portrange": "PORTRANGE", "proto": "PROTO", "protochain": "PROTOCHAIN", "gateway": "GATEWAY",
    "type": "TYPE", "subtype": "SUBTYPE", "direction": "DIR", "dir": "DIR",
    "address1": "ADDR1", "addr1": "ADDR1", "address2": "ADDR2", "addr2": "ADDR2",
    "address3": "ADDR3", "addr3": "ADDR3", "address4": "ADDR4", "addr4": "ADDR4",
    "ra": "RA", "ta": "TA", "less": "LESS", "greater": "GREATER", "byte": "CBYTE",
    "broadcast": "TK_BROADCAST", "multicast": "TK_MULTICAST",
    "and": "AND", "&&": "AND", "or": "OR", "||": "OR", "not": "!",
    "len": "LEN", "length": "LEN", "inbound": "INBOUND", "outbound": "OUTBOUND",
    "ifindex": "IFINDEX", "vlan": "VLAN", "mpls": "MPLS", "pppoed": "PPPOED", "pppoes": "PPPOES",
    "geneve": "GENEVE", "lane": "LANE", "llc": "LLC", "metac": "METAC",
    "bcc": "BCC", "oam": "OAM", "oamf4": "OAMF4", "oamf4ec": "OAMF4EC", "oamf4sc": "OAMF4SC",
    "sc": "SC", "ilmic": "ILMIC", "vpi": "VPI", "vci": "VCI", "connectmsg": "CONNECTMSG",
    "metaconnect": "METACONNECT", "on": "PF_IFNAME", "ifname": "PF_IFNAME", "rset": "PF_RSET",
    "ruleset": "PF_RSET", "rnr": "PF_RNR", "rulenum": "PF_RNR", "srnr": "PF_SRNR",
    "subrulenum": "PF_SRNR", "reason": "PF_REASON", "action": "PF_ACTION",
    "fisu": "FISU", "lssu": "LSSU", "lsu": "LSSU", "msu": "MSU", "hfisu": "HFISU",
    "hlssu": "HLSSU", "hmsu": "HMSU", "sio": "SIO", "opc": "OPC", "dpc": "DPC", "sls": "SLS",
    "hsio": "HSIO", "hopc": "HOPC", "hdpc": "HDPC", "hsls": "HSLS",
}

# the names scanner.l turns into numbers
_NAMED_NUMBERS = {
    "icmptype": 0, "icmpcode": 1, "icmp-echoreply": 0, "icmp-unreach": 3, "icmp-sourcequench": 4,
    "icmp-redirect": 5, "icmp-echo": 8, "icmp-routeradvert": 9, "icmp-routersolicit": 10,
    "icmp-timxceed": 11, "icmp-paramprob": 12, "icmp-tstamp": 13, "icmp-tstampreply": 14,
    "icmp-ireq": 15, "icmp-ireqreply": 16, "icmp-maskreq": 17, "icmp-maskreply": 18,
    "icmp6type": 0, "icmp6code": 1, "icmp6-destinationunreach": 1, "icmp6-packettoobig": 2,
    "icmp6-timeexceeded": 3, "icmp6-parameterproblem": 4, "icmp6-echo": 128,
    "icmp6-echoreply": 129, "icmp6-multicastlistenerquery": 130,
    "icmp6-multicastlistenerreportv1": 131, "icmp6-multicastlistenerdone": 132,
    "icmp6-routersolicit": 133, "icmp6-routeradvert": 134, "icmp6-neighborsolicit": 135,
    "icmp6-neighboradvert": 136, "icmp6-redirect": 137, "icmp6-routerrenum": 138,
    "icmp6-nodeinformationquery": 139, "icmp6-nodeinformationresponse": 140,
    "icmp6-ineighbordiscoverysolicit": 141, "icmp6-ineighbordiscoveryadvert": 142,
    "icmp6-multicastlistenerreportv2": 143, "icmp6-homeagentdiscoveryrequest": 144,
    "icmp6-homeagentdiscoveryreply": 145, "icmp6-mobileprefixsolicit": 146,
    "icmp6-mobileprefixadvert": 147, "icmp6-certpathsolicit": 148, "icmp6-certpathadvert": 149,
    "icmp6-multicastrouteradvert": 151, "icmp6-multicastroutersolicit": 152,
    "icmp6-multicastrouterterm": 153,
    "tcpflags": 13, "tcp-fin": 0x01, "tcp-syn": 0x02, "tcp-rst": 0x04, "tcp-push": 0x08,
    "tcp-ack": 0x10, "tcp-urg": 0x20, "tcp-ece": 0x40, "tcp-cwr": 0x80,
}

_N = r"(?:0[xX][0-9A-Fa-f]+|[0-9]+)"
_B = r"[0-9A-Fa-f]{1,2}"
_B2 = r"[0-9A-Fa-f]{4}"
_W = r"[0-9A-Fa-f]{1,4}"
_V4 = rf"{_N}\.{_N}\.{_N}\.{_N}"


def _v6_forms() -> list[re.Pattern[str]]:
    """scanner.l's V6: eight groups, or fewer around one ``::``, or six (fewer around ``::``)
    followed by a dotted quad."""
    forms = [":".join([_W] * 8), ":".join([_W] * 6) + ":" + _V4]
    for groups, tail in ((7, ""), (5, _V4)):
        for n in range(groups + 1):
            for before in range(n + 1):
                after = n - before
                text = ":".join([_W] * before) + "::" + ":".join([_W] * after)
                if tail:
                    text += (":" if after else "") + tail
                forms.append(text)
    return [re.compile(form) for form in forms]


_RULES: list[tuple[str, list[re.Pattern[str]]]] = [
    ("literal", [re.compile("|".join(re.escape(word) for word in
                                     sorted({*_KEYWORDS, *_NAMED_NUMBERS}, key=len, reverse=True)))]),
    ("op2", [re.compile(r">=|<=|!=|==|<<|>>")]),
    ("op1", [re.compile(r"[-+*/%:\[\]!<>()&|^=]")]),
    ("AID", [re.compile(rf"\${_B}")]),
    ("EID", [re.compile(p) for p in (rf"{_B}:{_B}:{_B}:{_B}:{_B}:{_B}", rf"{_B}-{_B}-{_B}-{_B}-{_B}-{_B}",
                                     rf"{_B}\.{_B}\.{_B}\.{_B}\.{_B}\.{_B}", rf"{_B2}\.{_B2}\.{_B2}",
                                     rf"{_B2}{_B2}{_B2}")]),
    ("NUM", [re.compile(r"0[xX][0-9A-Fa-f]+"), re.compile(r"[0-9]+")]),
    ("HID", [re.compile(rf"{_N}\.{_N}\.{_N}\.{_N}"), re.compile(rf"{_N}\.{_N}\.{_N}"),
             re.compile(rf"{_N}\.{_N}")]),
    ("HID6", _v6_forms()),
    ("bogus", [re.compile(rf"{_B}:+(?:{_B}:+)+")]),
    ("ID", [re.compile(r"[A-Za-z0-9](?:[-_.A-Za-z0-9]*[.A-Za-z0-9])?")]),
    ("escaped", [re.compile(r"\\[^ !()\n\t]+")]),
]
# flex's order puts the named numbers after the address rules and just before names
_NAMED_ORDER = 8.5


def stou(text: str, set_error: Callable[[str], None]) -> Token:
    """scanner.l's ``stou``: decimal, ``0x`` hexadecimal or ``0``-led octal, refused past 32 bits
    or with a digit that is not octal."""
    value = 0
    if text[:2] in ("0x", "0X"):
        for digit in text[2:]:
            if value > 0xFFFFFFF:
                set_error(f"number {text} overflows 32 bits")
                return ("LEX_ERROR", None)
            value = (value << 4) + int(digit, 16)
    elif text[:1] == "0":
        for digit in text[1:]:
            if digit not in "01234567":
                set_error(f"number {text} contains non-octal digit")
                return ("LEX_ERROR", None)
            if value > 0o3777777777:
                set_error(f"number {text} overflows 32 bits")
                return ("LEX_ERROR", None)
            value = (value << 3) + int(digit)
    else:
        for digit in text:
            if value > 0xFFFFFFFF // 10 or (value == 0xFFFFFFFF // 10 and int(digit) > 0xFFFFFFFF % 10):
                set_error(f"number {text} overflows 32 bits")
                return ("LEX_ERROR", None)
            value = value * 10 + int(digit)
    return ("NUM", value)


def _longest(patterns: list[re.Pattern[str]], text: str, pos: int) -> int:
    best = 0
    for pattern in patterns:
        m = pattern.match(text, pos)
        if m is not None and m.end() - pos > best:
            best = m.end() - pos
    return best


def tokens(text: str, set_error: Callable[[str], None]) -> Iterator[Token]:
    """The tokens of ``text``, then ``("$end", None)`` for ever."""
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \r\n\t":
            pos += 1
        if pos >= len(text):
            yield ("$end", None)
            continue
        best_len, best_kind, best_order = 0, "", 0.0
        for order, (kind, patterns) in enumerate(_RULES):
            if kind == "HID6" and ":" not in text[pos:pos + 64]:
                continue
            length = _longest(patterns, text, pos)
            if kind == "literal" and length and text[pos:pos + length] in _NAMED_NUMBERS:
                order = _NAMED_ORDER
            if length > best_len or (length and length == best_len and order < best_order):
                best_len, best_kind, best_order = length, kind, order
        if not best_len:
            pos += 1
            yield ("LEX_ERROR", None)
            continue
        word = text[pos:pos + best_len]
        pos += best_len
        yield _token(best_kind, word, set_error)


def _token(kind: str, word: str, set_error: Callable[[str], None]) -> Token:
    if kind == "literal":
        return ("NUM", _NAMED_NUMBERS[word]) if word in _NAMED_NUMBERS else (_KEYWORDS[word], None)
    if kind in ("op1", "op2"):
        return ({"==": "=", "<<": "LSH", ">>": "RSH", ">=": "GEQ", "<=": "LEQ", "!=": "NEQ"}.get(word, word), None)
    if kind == "NUM":
        return stou(word, set_error)
    if kind == "HID6":
        try:
            socket.inet_pton(socket.AF_INET6, word)
        except OSError:
            set_error(f"bogus IPv6 address {word}")
            return ("HID6", None)
        return ("HID6", word)
    if kind == "bogus":
        set_error(f"bogus ethernet address {word}")
        return ("EID", None)
    if kind == "escaped":
        return ("ID", word[1:])
    return (kind, word)
