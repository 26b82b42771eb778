"""A DNS message on the wire as BIND 9.18's named writes it: dnspython's renderer, with BIND's
name compression.

RFC 1035 §4.1.4 lets a name end in a pointer to any earlier occurrence of its last labels; BIND
9.18 (lib/dns/compress.c) remembers only the names it has written, whole, and looks for the name
itself and then its parent, no further, and keeps only those two of each name it writes out (an
SRV target too, though it is never compressed itself).  So ``ns.lab.test.`` after ``lab.test.`` is ``ns`` and a
pointer, but ``a.b.c.lab.test.`` or ``www.far.test.`` after ``web.lab.test.`` are written in full,
which makes BIND's messages longer than they need be.  Matching it byte for byte matters where
sizes are printed: dig's ``MSG SIZE`` and ``XFR size``, tcpdump's lengths.

The records of a set go out in a random order, BIND's default ``rrset-order { order random; }``,
drawn from the host's seeded generator: dnspython's own shuffle uses Python's unseeded one, which
would make two runs of the same simulation answer differently.
"""

from __future__ import annotations

import random
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rdatatype
import dns.renderer
import dns.rrset

MAX_MESSAGE = 65535


class BindCompression(dict):
    """The compression table dnspython's renderer consults for each suffix of a name it writes,
    longest first, and fills with each suffix it writes out: here, as in BIND, only the whole name
    and its parent are looked for, and only they are kept."""

    def __init__(self) -> None:
        super().__init__()
        self._expect: dns.name.Name | None = None  # the next suffix of the name being written
        self._depth = 0

    def get(self, name: dns.name.Name, default: Any = None) -> Any:
        if self._expect is not None and name == self._expect:
            self._depth += 1
        else:
            self._depth = 0
        pos = super().get(name) if self._depth <= 1 else None
        self._expect = None if pos is not None or len(name) <= 1 else name.parent()
        return default if pos is None else pos

    def __setitem__(self, name: dns.name.Name, pos: int) -> None:
        if self._depth <= 1:
            super().__setitem__(name, pos)

    def keep(self, name: dns.name.Name, pos: int) -> None:
        """A name written without compression (an SRV target, RFC 2782), which BIND still
        remembers: it and its parent."""
        for suffix in (name, name.parent()) if len(name) > 2 else (name,):
            if pos < 0x4000 and suffix not in self:
                super().__setitem__(suffix, pos)
            pos += len(name[0]) + 1


def _opt_size(message: dns.message.Message) -> int:
    """The OPT record's size: the root, type, class, TTL, length, and each option's code, length
    and data."""
    if message.opt is None:
        return 0
    return 11 + sum(4 + len(option.to_wire()) for option in message.options)


def _name_end(wire: bytes, pos: int) -> int:
    """Where the name at ``pos`` ends (after its root label or its pointer)."""
    while wire[pos] and wire[pos] < 0xC0:
        pos += wire[pos] + 1
    return pos + (2 if wire[pos] else 1)


def _keep_targets(r: dns.renderer.Renderer, start: int) -> None:
    """Tell the table where the SRV records just rendered from ``start`` put their targets."""
    wire = r.output.getvalue()
    pos = start
    while pos < len(wire):
        rdata = _name_end(wire, pos) + 10
        target = rdata + 6  # priority, weight, port
        r.compress.keep(dns.name.from_wire(wire, target)[0], target)
        pos = rdata + int.from_bytes(wire[rdata - 2:rdata], "big")


def _shuffled(rrset: dns.rrset.RRset, rng: random.Random | None) -> dns.rrset.RRset:
    """The set with its records in the order ``rng`` draws (``order random``), or as it is."""
    if rng is None or len(rrset) < 2:
        return rrset
    records = list(rrset)
    rng.shuffle(records)
    out = dns.rrset.RRset(rrset.name, rrset.rdclass, rrset.rdtype, rrset.covers, rrset.deleting)
    for rdata in records:
        out.add(rdata, rrset.ttl)
    return out


def to_wire(message: dns.message.Message, max_size: int = MAX_MESSAGE, prefer_truncation: bool = False,
            rng: random.Random | None = None) -> bytes:
    """``message.to_wire`` (dnspython's steps: the sections within ``max_size``, room kept for the
    OPT record, TC set when an answer or authority record does not fit and ``prefer_truncation``),
    compressed as BIND compresses, each set's records in the order ``rng`` shuffles them into
    (none: as they are)."""
    r = dns.renderer.Renderer(message.id, message.flags, max(512, min(max_size, MAX_MESSAGE)))
    r.compress = BindCompression()
    opt_reserve = _opt_size(message)
    r.reserve(opt_reserve)
    try:
        for rrset in message.question:
            r.add_question(rrset.name, rrset.rdtype, rrset.rdclass)
        for section, rrsets in ((dns.renderer.ANSWER, message.answer), (dns.renderer.AUTHORITY, message.authority),
                                (dns.renderer.ADDITIONAL, message.additional)):
            for rrset in rrsets:
                start = r.output.tell()
                r.add_rrset(section, _shuffled(rrset, rng), want_shuffle=False)
                if rrset.rdtype == dns.rdatatype.SRV:
                    _keep_targets(r, start)
    except dns.exception.TooBig:
        if not prefer_truncation:
            raise
        if r.section < dns.renderer.ADDITIONAL:
            r.flags |= dns.flags.TC
    r.release_reserved()
    if message.opt is not None:
        r.add_opt(message.opt, 0, opt_reserve, 0)
    r.write_header()
    return r.get_wire()
