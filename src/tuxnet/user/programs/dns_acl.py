"""BIND's address match lists (lib/dns/acl.c) and the four that say who may ask ``named`` what:
``allow-query``, ``allow-recursion``, ``allow-query-cache`` and ``allow-transfer``.

An element is ``any``, ``none``, ``localhost`` (the host's own addresses), ``localnets`` (the
networks its interfaces are on), an address, or a prefix (``10.1.0.0/16``); a leading ``!``
negates it.  The first element that matches an address decides: allowed, or denied when it is
negated; an address no element matches is denied.  ``localhost`` and ``localnets`` are read from
the host's interfaces when they are used, as BIND's interface scan keeps them current.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tuxnet.kernel.sched import current
from tuxnet.net.core.utils import in_aton
from tuxnet.user.ctype import isdigits

_KEYWORDS = ("any", "none", "localhost", "localnets")


def _mask(prefixlen: int) -> int:
    return (0xFFFFFFFF << (32 - prefixlen)) & 0xFFFFFFFF


def _interfaces() -> list[tuple[int, int]]:
    """Each of the host's IPv4 addresses with its prefix length (what ``getifaddrs`` gives)."""
    out = []
    for dev in current().host.devices.values():
        for ifa in dev.ip_ptr.ifa_list if dev.ip_ptr is not None else []:
            out.append((ifa.local, ifa.prefixlen))
    return out


@dataclass(frozen=True)
class Element:
    """One element of an address match list."""

    negated: bool
    kind: str             # one of _KEYWORDS, or "prefix"
    network: int = 0
    prefixlen: int = 0

    def matches(self, addr: int) -> bool:
        if self.kind == "any":
            return True
        if self.kind == "none":
            return False
        if self.kind == "localhost":
            return any(addr == local for local, _ in _interfaces())
        if self.kind == "localnets":
            return any(addr & _mask(plen) == local & _mask(plen) for local, plen in _interfaces())
        return addr & _mask(self.prefixlen) == self.network


class AddressMatchList:
    """An address match list: ``allows(addr)`` is the first matching element's verdict."""

    def __init__(self, elements: Sequence[Element]) -> None:
        self.elements = list(elements)

    @classmethod
    def parse(cls, words: Sequence[str]) -> AddressMatchList:
        """The list of ``words`` (``{ ... }``'s elements); ``ValueError`` naming one that is not
        an element this reads."""
        return cls([parse_element(word) for word in words])

    def allows(self, addr: str) -> bool:
        value = in_aton(addr)
        for element in self.elements:
            if element.matches(value):
                return not element.negated
        return False


def parse_element(word: str) -> Element:
    """``[!]any|none|localhost|localnets|ADDRESS[/LENGTH]``; ``ValueError`` for anything else."""
    negated = word.startswith("!")
    text = word[1:] if negated else word
    if text in _KEYWORDS:
        return Element(negated, text)
    addr, _, length = text.partition("/")
    try:
        network = in_aton(addr)
    except ValueError:
        raise ValueError(word) from None
    if length and not (isdigits(length) and int(length) <= 32):
        raise ValueError(word)
    prefixlen = int(length) if length else 32
    if network & ~_mask(prefixlen) & 0xFFFFFFFF:
        raise ValueError(word)  # BIND: "address/prefix length mismatch"
    return Element(negated, "prefix", network, prefixlen)


LOCAL = AddressMatchList([Element(False, "localnets"), Element(False, "localhost")])
ANY = AddressMatchList([Element(False, "any")])
NONE = AddressMatchList([Element(False, "none")])


@dataclass
class Access:
    """Who may ask what, as named.conf's options say, with BIND 9.18's defaults: anyone may
    query; recursion and the cache fall back on each other, then on ``allow-query`` (``none``
    with ``recursion no``), then on ``localnets; localhost;``."""

    query: AddressMatchList | None = None
    recursion: AddressMatchList | None = None
    query_cache: AddressMatchList | None = None
    transfer: AddressMatchList | None = None
    recursion_on: bool = True

    def _fallback(self, first: AddressMatchList | None, second: AddressMatchList | None) -> AddressMatchList:
        if first is not None:
            return first
        if second is not None:
            return second
        if self.query is not None:
            return self.query if self.recursion_on else NONE
        return LOCAL

    def may_query(self, addr: str) -> bool:
        return (self.query or ANY).allows(addr)

    def may_recurse(self, addr: str) -> bool:
        return self.may_query(addr) and self._fallback(self.recursion, self.query_cache).allows(addr)

    def may_query_cache(self, addr: str) -> bool:
        return self.may_query(addr) and self._fallback(self.query_cache, self.recursion).allows(addr)

    def may_transfer(self, addr: str) -> bool:
        """``allow-transfer``: anyone, by BIND 9.18's default, whatever ``allow-query`` says."""
        return (self.transfer or ANY).allows(addr)

    @property
    def open(self) -> bool:
        """Whether every client may query (answers do not depend on who asks)."""
        return self.query is None
