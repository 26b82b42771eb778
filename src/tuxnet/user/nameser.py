"""DNS messages on the wire as the C library builds and reads them (RFC 1035 section 4): glibc's
``arpa/nameser.h`` constants, ``ns_name_pton`` and ``dn_expand`` (resolv/ns_name.c),
``res_nmkquery``'s message (resolv/res_mkquery.c) and ``ns_initparse`` (resolv/ns_parse.c).

The resolver works on these bytes itself, as glibc's does; the name server and the ``dns``
command, like BIND's, use a full DNS library (dnspython).  Whatever a server (or an attacker)
sends, parsing either returns a message or raises ``ValueError``: a name's compression pointers
are followed at most as many times as the message has octets, so a loop of pointers ends.
"""

from __future__ import annotations

import re
import struct

# arpa/nameser.h
HFIXEDSZ = 12  # the header
QFIXEDSZ = 4  # a question's type and class
RRFIXEDSZ = 10  # a record's type, class, TTL and rdata length
NS_MAXCDNAME = 255  # a name on the wire, root label included
NS_MAXLABEL = 63

T_A = 1
T_NS = 2
T_CNAME = 5
T_SOA = 6
T_PTR = 12
T_MX = 15
T_TXT = 16
T_AAAA = 28
T_OPT = 41  # RFC 6891
EDNS_NSID = 3  # the NSID option's code (RFC 5001 §2.3)
EDNS_COOKIE = 10  # the COOKIE option's code (RFC 7873 §4)
C_IN = 1

# the header's flags (the second 16-bit word)
QR = 0x8000
OPCODE_MASK = 0x7800
AA = 0x0400
TC = 0x0200
RD = 0x0100
RA = 0x0080

NOERROR = 0
FORMERR = 1
SERVFAIL = 2
NXDOMAIN = 3
NOTIMP = 4
REFUSED = 5

_header = struct.Struct("!6H")
_qfixed = struct.Struct("!HH")
_rrfixed = struct.Struct("!HHIH")

# What ns_name_ntop escapes with a backslash (the rest of printable ASCII goes as it is).
_SPECIAL = frozenset(b'".;\\()@$')
# Labels made only of these need no escaping (host names: RFC 952, RFC 1123 section 2.1).
_PLAIN = re.compile(rb"[A-Za-z0-9_-]*")


def ns_name_pton(text: str) -> bytes:
    """``ns_name_pton``: a name in presentation form (``www.example.com``, with or without the final
    dot; ``\\.`` and ``\\DDD`` escape an octet) as its labels on the wire, uncompressed.
    ``ValueError`` for an empty label, a label over 63 octets or a name over 255."""
    data = text.encode("utf-8", "surrogateescape")
    if data in (b"", b"."):
        return b"\0"
    labels: list[bytes] = []
    label = bytearray()
    i, n = 0, len(data)
    while i < n:
        c = data[i]
        i += 1
        if c == 0x5C:  # backslash
            digits = data[i:i + 3]
            if len(digits) == 3 and digits.isdigit():
                value = int(digits)
                if value > 255:
                    raise ValueError(f"bad escape in {text!r}")
                label.append(value)
                i += 3
            elif i < n:
                label.append(data[i])
                i += 1
            else:
                raise ValueError(f"bad escape in {text!r}")
        elif c == 0x2E:  # dot: the end of a label
            if not label:
                raise ValueError(f"empty label in {text!r}")
            labels.append(bytes(label))
            label.clear()
        else:
            label.append(c)
    if label:
        labels.append(bytes(label))
    wire = bytearray()
    for lab in labels:
        if len(lab) > NS_MAXLABEL:
            raise ValueError(f"label over {NS_MAXLABEL} octets in {text!r}")
        wire.append(len(lab))
        wire += lab
    wire.append(0)
    if len(wire) > NS_MAXCDNAME:
        raise ValueError(f"name over {NS_MAXCDNAME} octets: {text!r}")
    return bytes(wire)


def _label_text(label: bytes) -> str:
    """A label in presentation form (``ns_name_ntop``): specials escaped, other octets outside
    printable ASCII as ``\\DDD``."""
    out = []
    for c in label:
        if c in _SPECIAL:
            out.append("\\" + chr(c))
        elif 0x21 <= c <= 0x7E:
            out.append(chr(c))
        else:
            out.append(f"\\{c:03d}")
    return "".join(out)


def dn_expand(msg: bytes, pos: int) -> tuple[str, int]:
    """``dn_expand``: the (possibly compressed) name at ``pos`` of ``msg`` in presentation form,
    without the final dot (the root is ``.``), and where what follows the name starts.
    ``ValueError`` for a name that runs off the message, a pointer loop, an unknown label type
    (0x40, 0x80: RFC 6891 section 5) or a name over 255 octets."""
    labels: list[bytes] = []
    end = -1
    length = 1
    hops = 0
    size = len(msg)
    while True:
        if pos >= size:
            raise ValueError("name runs off the message")
        c = msg[pos]
        if c == 0:
            pos += 1
            break
        kind = c & 0xC0
        if kind == 0xC0:
            if pos + 1 >= size:
                raise ValueError("name runs off the message")
            if end < 0:
                end = pos + 2
            hops += 1
            if hops > size:
                raise ValueError("compression pointer loop")
            pos = ((c & 0x3F) << 8) | msg[pos + 1]
            continue
        if kind:
            raise ValueError(f"label type {kind:#x}")
        if pos + 1 + c > size:
            raise ValueError("name runs off the message")
        length += c + 1
        if length > NS_MAXCDNAME:
            raise ValueError("name over 255 octets")
        labels.append(msg[pos + 1:pos + 1 + c])
        pos += 1 + c
    if _PLAIN.fullmatch(b"".join(labels)):
        text = b".".join(labels).decode("ascii")
    else:
        text = ".".join(_label_text(label) for label in labels)
    return text or ".", end if end >= 0 else pos


def name_eq(a: str, b: str) -> bool:
    """Two names in presentation form are one name (RFC 4343: ASCII letters compare without case)."""
    return a.lower() == b.lower()


class Rr:
    """A resource record (``ns_rr``): its rdata as octets, and where they start in the message (a
    name inside rdata, a CNAME's or PTR's, may point back into the message)."""

    __slots__ = ("name", "type", "rclass", "ttl", "rdata", "rdpos")

    def __init__(self, name: str, type: int, rclass: int, ttl: int, rdata: bytes, rdpos: int) -> None:
        self.name = name
        self.type = type
        self.rclass = rclass
        self.ttl = ttl
        self.rdata = rdata
        self.rdpos = rdpos


class NsMsg:
    """A parsed message (``ns_msg``): header fields and the four sections; ``wire`` keeps its
    octets (a program that wants a full DNS library's view parses them again)."""

    __slots__ = ("wire", "id", "flags", "rcode", "question", "answer", "authority", "additional")

    def __init__(self, wire: bytes) -> None:
        self.wire = wire
        self.id = 0
        self.flags = 0
        self.rcode = 0
        self.question: list[tuple[str, int, int]] = []
        self.answer: list[Rr] = []
        self.authority: list[Rr] = []
        self.additional: list[Rr] = []

    def opcode(self) -> int:
        return (self.flags & OPCODE_MASK) >> 11


def ns_initparse(wire: bytes, questions_only: bool = False) -> NsMsg:
    """``ns_initparse`` + ``ns_parserr``: the header, the questions and every record (only the
    header and the questions with ``questions_only``, as ``res_queriesmatch`` reads them);
    ``ValueError`` when a section runs off the message.  Octets after the last section are
    ignored, as glibc ignores them."""
    if len(wire) < HFIXEDSZ:
        raise ValueError("shorter than a header")
    msg = NsMsg(wire)
    msg.id, msg.flags, qdcount, ancount, nscount, arcount = _header.unpack_from(wire)
    msg.rcode = msg.flags & 0x000F
    pos = HFIXEDSZ
    size = len(wire)
    for _ in range(qdcount):
        name, pos = dn_expand(wire, pos)
        if pos + QFIXEDSZ > size:
            raise ValueError("question runs off the message")
        qtype, qclass = _qfixed.unpack_from(wire, pos)
        pos += QFIXEDSZ
        msg.question.append((name, qtype, qclass))
    if questions_only:
        return msg
    for section, count in ((msg.answer, ancount), (msg.authority, nscount), (msg.additional, arcount)):
        for _ in range(count):
            name, pos = dn_expand(wire, pos)
            if pos + RRFIXEDSZ > size:
                raise ValueError("record runs off the message")
            rtype, rclass, ttl, rdlength = _rrfixed.unpack_from(wire, pos)
            pos += RRFIXEDSZ
            if pos + rdlength > size:
                raise ValueError("rdata runs off the message")
            section.append(Rr(name, rtype, rclass, ttl, wire[pos:pos + rdlength], pos))
            pos += rdlength
    return msg


def mkquery(qid: int, name: str, qtype: int, edns_payload: int = 0) -> bytes:
    """The query ``res_nmkquery`` builds: a header with RD set and one question of class IN, and
    with ``edns_payload`` an OPT record offering that UDP payload size (``__res_nopt``, RFC 6891
    section 6.1.2).  ``ValueError`` for a name ``ns_name_pton`` refuses."""
    qname = ns_name_pton(name)
    header = _header.pack(qid, RD, 1, 0, 0, 1 if edns_payload else 0)
    wire = header + qname + _qfixed.pack(qtype, C_IN)
    if edns_payload:
        wire += b"\0" + _rrfixed.pack(T_OPT, edns_payload, 0, 0)
    return wire
