"""A recursive resolver for ``named``, after BIND's lib/dns/resolver.c and cache.c: names outside
the served zones are looked up iteratively from root hints (RFC 1034 §5.3.3), and what the
servers answered is kept in a cache until its TTL runs out (RFC 1034 §4.3.4), negative answers
included (RFC 2308 §5).

A lookup starts at the deepest zone whose servers the cache knows (the root's from the hints,
which a ``. NS`` query sent alongside the first lookup primes, RFC 8109), asks one of them without
RD and with CD, and follows the referrals down, asking each zone only for the next label's NS
records (QNAME minimisation, RFC 9156, BIND 9.18's ``relaxed`` default).  Each query carries an
EDNS COOKIE (RFC 7873), with the server's own once it has given one.  Servers are tried quickest
first (their smoothed round-trip times); one that does not answer, or answers SERVFAIL, REFUSED
or off the point (a lame delegation), is passed over for the next.  A server whose address came
without glue is looked up first, as BIND does.  Data is only taken from a server for names
inside the zone it was asked as (its bailiwick, RFC 2181 §5.4.1), so an answer cannot plant
records for other zones.  CNAMEs are followed across zones, up to ``MAX_CHAIN`` of them.  Each
client's question has BIND's budget: 100 queries, 7 nested lookups of glueless servers, 10
seconds.

The cache ranks what it keeps (RFC 2181 §5.4.1, in BIND's trust levels): a referral's NS records
and addresses are glue, used to find servers but never given as an answer, so a question for them
is asked of the zone's own servers, as BIND asks it; and glue is not replaced by the additional
section of a later answer.  BIND 9.18 resolving through the same servers sends them the same
questions, of the same sizes, in the same order (``tests/tap/test_resolver_vs_bind.py``).

What BIND does otherwise: a TTL with its top bit set is capped by BIND and read as zero here
(RFC 2181 §8, as dnspython reads it).  What BIND does that this does not: DNSSEC validation, TCP
keep-alive toward the servers asked, IPv6 servers, prefetch, serve-stale, and the per-server EDNS
fallbacks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

from tuxnet.kernel.sched import current
from tuxnet.kernel.siphash import siphash
from tuxnet.net.core.utils import in_aton
from tuxnet.user import libc
from tuxnet.user.nameser import EDNS_COOKIE
from tuxnet.user.resolv import ResolverError, ResState, res_nsend

IN = dns.rdataclass.IN
A = dns.rdatatype.A
NS = dns.rdatatype.NS
SOA = dns.rdatatype.SOA
CNAME = dns.rdatatype.CNAME
MX = dns.rdatatype.MX
ANY = dns.rdatatype.ANY
NOERROR = dns.rcode.NOERROR
NXDOMAIN = dns.rcode.NXDOMAIN
SERVFAIL = dns.rcode.SERVFAIL
ROOT = dns.name.root

# How far the cache trusts what it keeps (RFC 2181 §5.4.1; BIND's dns_trust_t levels): a record
# is replaced only by one trusted as much or more, and given to a client only from TRUST_ANSWER up.
TRUST_ADDITIONAL = 3           # the additional section of an answer
TRUST_GLUE = 4                 # a referral's NS records and addresses
TRUST_ANSWER = 5               # the answer section of a non-authoritative answer
TRUST_AUTHAUTHORITY = 6        # the authority section of an authoritative answer
TRUST_AUTHANSWER = 7           # the answer section of an authoritative answer
MAX_CACHE_TTL = 7 * 86400      # BIND max-cache-ttl: one week
MAX_NCACHE_TTL = 3 * 3600      # BIND max-ncache-ttl: three hours
CACHE_ENTRIES = 100_000        # a purge of what has expired is due past this many
QUERY_TIMEOUT = 1              # seconds one server is given for one query
RESOLVER_QUERY_TIMEOUT = 10.0  # BIND resolver-query-timeout: a whole lookup's seconds
MAX_REFERRALS = 16             # delegations followed in one lookup
MAX_DEPTH = 7                  # BIND max-recursion-depth: nested lookups of glueless servers
MAX_QUERIES = 100              # BIND max-recursion-queries: queries sent for one client's question
MAX_CHAIN = 16                 # CNAMEs followed in one answer (RFC 1034 §3.6.2)
EDNS_PAYLOAD = 1232
SRTT_KEEP = 0.7                # the old round-trip time's weight in the smoothed one
QNAME_MINIMIZATION = ("strict", "relaxed", "off", "disabled")


def load_hints(text: str, filename: str = "<string>") -> list[dns.rrset.RRset]:
    """The records of a root hints file (BIND's ``db.root``, RFC 1035 master-file text with no
    SOA): the root's NS records and their servers' addresses.  ``ValueError`` when it names no
    root server; a syntax error names ``filename`` and a line."""
    zone = dns.zone.from_text(text, origin=ROOT, relativize=False, check_origin=False, filename=filename)
    hints = [dns.rrset.from_rdata_list(name, rds.ttl, list(rds)) for name, rds in zone.iterate_rdatasets()
             if rds.rdtype in (NS, A)]
    if not any(r.name == ROOT and r.rdtype == NS for r in hints):
        raise ValueError(f"{filename}: no NS records for the root")
    return hints


def cache_ttl(ttl: int) -> int:
    """How long a record with ``ttl`` is kept: never past BIND's ``max-cache-ttl``.  (A TTL
    with its top bit set has been read as zero, RFC 2181 §8, where BIND caps it too.)"""
    return min(ttl, MAX_CACHE_TTL)


def _with_ttl(rrset: dns.rrset.RRset, ttl: int) -> dns.rrset.RRset:
    out = dns.rrset.RRset(rrset.name, IN, rrset.rdtype)
    out.update(rrset)
    out.ttl = ttl
    return out


class Cache:
    """RRsets and negative answers, each kept until its TTL runs out on the host's clock (BIND
    caps a TTL at ``max-cache-ttl``, and a negative one at ``max-ncache-ttl``).  A record read
    back has the TTL it has left, as the answers of a caching server show it."""

    def __init__(self) -> None:
        # (name, type) -> (expiry, records, trust)
        self.rrsets: dict[tuple[dns.name.Name, int], tuple[float, dns.rrset.RRset, int]] = {}
        # (name, type) -> (expiry, rcode, SOA); an NXDOMAIN is kept under type 0, for every type
        self.negative: dict[tuple[dns.name.Name, int], tuple[float, int, dns.rrset.RRset]] = {}

    def _room(self, now: float) -> None:
        if len(self.rrsets) + len(self.negative) < CACHE_ENTRIES:
            return
        self.rrsets = {k: v for k, v in self.rrsets.items() if v[0] > now}
        self.negative = {k: v for k, v in self.negative.items() if v[0] > now}

    def add(self, rrset: dns.rrset.RRset, now: float, trust: int) -> None:
        """Keep ``rrset``, which came with ``trust`` (RFC 2181 §5.4.1's ranking, in BIND's
        levels): it replaces what is kept unless that is unexpired and more trusted."""
        key = (rrset.name, rrset.rdtype)
        kept = self.rrsets.get(key)
        if kept is not None and kept[2] > trust and kept[0] > now:
            return
        self._room(now)
        self.rrsets[key] = (now + cache_ttl(rrset.ttl), rrset, trust)
        self.negative.pop(key, None)
        self.negative.pop((rrset.name, 0), None)

    def add_negative(self, name: dns.name.Name, rdtype: int, rcode: int, soa: dns.rrset.RRset,
                     now: float) -> None:
        """Keep an NXDOMAIN (for every type of ``name``) or a NODATA (for ``rdtype``), for the
        lesser of the SOA's TTL and its MINIMUM field (RFC 2308 §5)."""
        ttl = min(cache_ttl(soa.ttl), soa[0].minimum, MAX_NCACHE_TTL)
        self._room(now)
        self.negative[(name, 0 if rcode == NXDOMAIN else rdtype)] = (now + ttl, rcode, _with_ttl(soa, ttl))

    def get(self, name: dns.name.Name, rdtype: int, now: float,
            least: int = TRUST_ANSWER) -> dns.rrset.RRset | None:
        """The unexpired ``rdtype`` records of ``name`` trusted at least as ``least`` (by
        default as an answer: what may be given to a client), with the TTL they have left."""
        kept = self.rrsets.get((name, rdtype))
        if kept is None or kept[0] <= now or kept[2] < least:
            return None
        return _with_ttl(kept[1], int(kept[0] - now))

    def get_negative(self, name: dns.name.Name, rdtype: int,
                     now: float) -> tuple[int, dns.rrset.RRset] | None:
        """A kept NXDOMAIN for ``name`` or NODATA for its ``rdtype``: the rcode and the SOA with
        the TTL it has left."""
        for key in ((name, 0), (name, rdtype)):
            kept = self.negative.get(key)
            if kept is not None and kept[0] > now:
                return kept[1], _with_ttl(kept[2], int(kept[0] - now))
        return None


@dataclass
class Lookup:
    """One client's question being resolved: the queries it may still send and the time it
    must be done by, shared by the lookups of glueless servers' addresses it makes."""

    deadline: float
    queries_left: int = MAX_QUERIES
    depth: int = 0

    def spent(self, now: float) -> bool:
        return self.queries_left <= 0 or now >= self.deadline


class Resolver:
    """Iterative lookups from ``hints`` (the root's NS records and their addresses) through
    ``cache``."""

    def __init__(self, hints: Iterable[dns.rrset.RRset], cache: Cache | None = None,
                 qname_minimization: str = "relaxed") -> None:
        if qname_minimization not in QNAME_MINIMIZATION:
            raise ValueError(f"qname-minimization: {qname_minimization!r} is not one of {QNAME_MINIMIZATION}")
        self.cache = cache or Cache()
        self.hints = {(r.name, r.rdtype): r for r in hints}
        if (ROOT, NS) not in self.hints:
            raise ValueError("the hints name no root name servers")
        self.primed = False
        # each server's smoothed round-trip time, a failure counting as QUERY_TIMEOUT more
        self.srtt: dict[str, float] = {}
        # RFC 7873: the secret our client cookies are made with, and each server's last cookie
        rng = current().host.rng
        self.cookie_key = (rng.getrandbits(64), rng.getrandbits(64))
        self.server_cookies: dict[str, bytes] = {}
        self.minimize = qname_minimization in ("strict", "relaxed")
        self.strict = qname_minimization == "strict"

    @staticmethod
    def now() -> float:
        return libc.clock_monotonic()

    # -- one question to one server -------------------------------------------------------------

    def query(self, addr: str, name: dns.name.Name, rdtype: int, cd: bool = True) -> dns.message.Message | None:
        """Ask ``addr`` once (RD clear, EDNS; over TCP when the answer comes truncated): its
        answer when it is NOERROR or NXDOMAIN, None when it is not there, fails or refuses.  CD
        is set (unless ``cd`` is false), as BIND sets it when it does not validate: nothing
        upstream need validate for it either."""
        return self.send(addr, self.message(addr, name, rdtype, cd))

    def message(self, addr: str, name: dns.name.Name, rdtype: int, cd: bool = True) -> bytes:
        """The query for ``addr`` on the wire, its EDNS COOKIE carrying our client cookie for the
        server and the server cookie it last gave us (RFC 7873 §5.1), as BIND's queries do."""
        query = dns.message.make_query(name, rdtype, use_edns=0, payload=EDNS_PAYLOAD, options=[
            dns.edns.GenericOption(EDNS_COOKIE, self.client_cookie(addr) + self.server_cookies.get(addr, b""))])
        query.id = current().host.rng.getrandbits(16)
        query.flags = dns.flags.CD if cd else 0
        return query.to_wire()

    def send(self, addr: str, wire: bytes) -> dns.message.Message | None:
        """Send a query ``message`` made, and take its answer (``query``), timing the server."""
        state = ResState(nameservers=[addr], timeout=QUERY_TIMEOUT, attempts=1)
        sent = self.now()
        try:
            answer = dns.message.from_wire(res_nsend(state, [wire], any_rcode=True)[0].wire)
        except (ResolverError, dns.exception.DNSException, ValueError):
            answer = None
        if answer is not None and not self._cookie_ok(answer, addr, self.client_cookie(addr)):
            answer = None
        if answer is None or answer.rcode() not in (NOERROR, NXDOMAIN):
            self.srtt[addr] = self.srtt.get(addr, 0.0) + QUERY_TIMEOUT
            return None
        rtt = self.now() - sent
        self.srtt[addr] = rtt if addr not in self.srtt else SRTT_KEEP * self.srtt[addr] + (1 - SRTT_KEEP) * rtt
        return answer

    def client_cookie(self, addr: str) -> bytes:
        """The client cookie for server ``addr`` (RFC 7873 §4.1): SipHash-2-4 of its address
        under the resolver's secret, the same for every query to it."""
        return siphash(in_aton(addr).to_bytes(4, "big"), *self.cookie_key).to_bytes(8, "little")

    def _cookie_ok(self, answer: dns.message.Message, addr: str, client: bytes) -> bool:
        """RFC 7873 §5.3: an answer whose COOKIE does not carry our client cookie is not the
        server's (it is dropped); one that does brings the server cookie to send it next."""
        for option in answer.options:
            if option.otype == EDNS_COOKIE:
                data = option.to_wire()
                if data[:8] != client:
                    return False
                if 16 <= len(data) <= 40:
                    self.server_cookies[addr] = data[8:]
        return True

    # -- where to start -------------------------------------------------------------------------

    def _prime(self, first: bytes) -> None:
        """RFC 8109: ask a hinted root server for the root's NS records, and keep its answer and
        the addresses that come with it; without one the hints stand.  BIND asks this without
        CD, alongside the lookup that needed it: ``closest`` forks this with the ``first``
        query already made, as the lookup's own is, before either is answered."""
        for i, addr in enumerate(self._hint_addresses()):
            answer = self.send(addr, first) if i == 0 else self.query(addr, ROOT, NS, cd=False)
            if answer is None:
                continue
            ns = answer.get_rrset(answer.answer, ROOT, IN, NS)
            if ns is None:
                continue
            self._keep(answer, ROOT)
            return

    def _hint_addresses(self) -> list[str]:
        out = []
        for rd in self.hints[(ROOT, NS)]:
            glue = self.hints.get((rd.target, A))
            out += [a.address for a in glue or ()]
        return out

    def closest(self, name: dns.name.Name) -> tuple[dns.name.Name, dns.rrset.RRset]:
        """The deepest zone at or above ``name`` whose NS records are kept (the root's from the
        hints, when even those are not): RFC 1034 §5.3.3 step 2's SLIST."""
        now = self.now()
        if not self.primed:
            self.primed = True
            hinted = self._hint_addresses()
            if hinted:
                libc.fork(self._prime, self.message(hinted[0], ROOT, NS, cd=False))
        zone = name
        while True:
            ns = self.cache.get(zone, NS, now, least=TRUST_ADDITIONAL)
            if ns is not None:
                return zone, ns
            if zone == ROOT:
                return ROOT, self.hints[(ROOT, NS)]
            zone = zone.parent()

    # -- what an answer says --------------------------------------------------------------------

    def _keep(self, response: dns.message.Message, zone: dns.name.Name) -> None:
        """Keep what a server of ``zone`` said about names in ``zone``, each record trusted as
        the section it came in allows: an authoritative answer's own data most, a referral's NS
        records and addresses as glue, other additional addresses least."""
        now = self.now()
        authoritative = bool(response.flags & dns.flags.AA)
        referral = not authoritative and not response.answer
        for rrset in response.answer:
            if rrset.rdclass == IN and rrset.name.is_subdomain(zone):
                self.cache.add(rrset, now, TRUST_AUTHANSWER if authoritative else TRUST_ANSWER)
        for section, trust in ((response.authority, TRUST_AUTHAUTHORITY if authoritative else TRUST_GLUE),
                               (response.additional, TRUST_GLUE if referral else TRUST_ADDITIONAL)):
            for rrset in section:
                if rrset.rdclass == IN and rrset.rdtype in (NS, A) and rrset.name.is_subdomain(zone):
                    self.cache.add(rrset, now, trust)

    @staticmethod
    def _referral(response: dns.message.Message, zone: dns.name.Name,
                  name: dns.name.Name) -> dns.rrset.RRset | None:
        """The NS records of a delegation below ``zone`` toward ``name``, in a response that has
        no answer and is not authoritative for one (RFC 1034 §4.3.2 step 3b)."""
        if response.answer or response.rcode() != NOERROR or response.flags & dns.flags.AA:
            return None
        for rrset in response.authority:
            if (rrset.rdtype == NS and rrset.rdclass == IN and name.is_subdomain(rrset.name)
                    and rrset.name.is_subdomain(zone) and rrset.name != zone):
                return rrset
        return None

    @staticmethod
    def _soa(response: dns.message.Message, zone: dns.name.Name) -> dns.rrset.RRset | None:
        for rrset in response.authority:
            if rrset.rdtype == SOA and rrset.rdclass == IN and rrset.name.is_subdomain(zone):
                return rrset
        return None

    # -- a lookup -------------------------------------------------------------------------------

    def _addresses(self, ns: dns.rrset.RRset, lookup: Lookup) -> Iterable[str]:
        """The addresses of a zone's servers: those known first, the quickest to answer so far
        first (BIND picks by smoothed round-trip time), then the glueless ones looked up (each
        only when the ones before it have failed)."""
        unknown = []
        known = []
        for rd in ns:
            kept = self.cache.get(rd.target, A, self.now(), least=TRUST_ADDITIONAL) or self.hints.get((rd.target, A))
            if kept is None:
                unknown.append(rd.target)
            else:
                known += [a.address for a in kept]
        yield from sorted(known, key=lambda addr: self.srtt.get(addr, 0.0))
        for target in unknown:
            if lookup.depth >= MAX_DEPTH or lookup.spent(self.now()):
                return
            lookup.depth += 1
            try:
                _, answer, _ = self.resolve(target, A, lookup)
            finally:
                lookup.depth -= 1
            yield from (rd.address for rrset in answer if rrset.rdtype == A for rd in rrset)

    def fetch(self, name: dns.name.Name, rdtype: int,
              lookup: Lookup) -> tuple[dns.message.Message, dns.name.Name] | None:
        """Ask the servers of the closest known zone, then follow their referrals down, until one
        answers for ``name`` (with data, an alias, NXDOMAIN or NODATA): that answer and the zone it
        answered as, kept in the cache; None when no server would (SERVFAIL).

        With QNAME minimisation (RFC 9156, BIND's default ``relaxed``), a zone's servers are asked
        only for the NS records of the name one label below what is known, as BIND 9.18 asks,
        until that is ``name`` itself: a referral goes down a zone, NODATA a label.  An NXDOMAIN
        for a shortened name ends the lookup when ``strict`` (RFC 8020: nothing is below it);
        ``relaxed`` asks for the whole name instead, as it does when no server gives a shortened
        name a good answer.  Both are cached; a shortened name the cache says is no zone cut is
        passed without a query (an NXDOMAIN too when ``relaxed``: BIND then asks one label
        further)."""
        zone, ns = self.closest(name)
        known = zone
        minimize = self.minimize
        for _ in range(MAX_REFERRALS + len(name)):
            qname, qtype = name, rdtype
            if minimize and len(name) > len(known) + 1:
                qname, qtype = name.split(len(known) + 1)[1], NS
                negative = self.cache.get_negative(qname, NS, self.now())
                if negative is not None and (negative[0] != NXDOMAIN or not self.strict):
                    known = qname  # known to be no zone cut: on to the next label, as BIND goes
                    continue
            step = None
            for addr in self._addresses(ns, lookup):
                if lookup.spent(self.now()):
                    return None
                lookup.queries_left -= 1
                response = self.query(addr, qname, qtype)
                if response is None:
                    continue
                referral = self._referral(response, zone, qname)
                if referral is None and qname != name and response.flags & dns.flags.AA:
                    # the child's own NS records, from a server that serves the child too
                    child = response.get_rrset(response.answer, qname, IN, NS)
                    referral = child if child is not None and qname != zone else None
                answered = (response.answer or response.rcode() == NXDOMAIN
                            or self._soa(response, zone) is not None)
                if referral is None and not answered:
                    continue  # lame: neither an answer nor a step down
                self._keep(response, zone)
                step = (response, referral)
                break
            if step is None:
                if qname == name or self.strict:
                    return None
                minimize = False  # relaxed: no good answer to a shortened name, ask for the whole
                continue
            response, referral = step
            if referral is not None:
                zone, ns = referral.name, referral
                known = zone
                continue
            if qname == name:
                return response, zone
            soa = self._soa(response, zone)
            if soa is not None and not response.answer:
                self.cache.add_negative(qname, NS, response.rcode(), soa, self.now())
            if response.rcode() == NXDOMAIN and self.strict:
                return response, zone
            if response.rcode() == NXDOMAIN:
                minimize = False
            else:
                known = qname
        return None

    def _from_cache(self, name: dns.name.Name, rdtype: int) -> tuple[str, dns.rrset.RRset] | None:
        now = self.now()
        if rdtype == ANY:
            return None
        rrset = self.cache.get(name, rdtype, now)
        if rrset is not None:
            return "answer", rrset
        negative = self.cache.get_negative(name, rdtype, now)
        if negative is not None:
            return ("nxdomain" if negative[0] == NXDOMAIN else "nodata"), negative[1]
        cname = self.cache.get(name, CNAME, now) if rdtype != CNAME else None
        return None if cname is None else ("cname", cname)

    def _from_response(self, response: dns.message.Message, zone: dns.name.Name, name: dns.name.Name,
                       rdtype: int, asked: bool) -> tuple[str, dns.rrset.RRset] | None:
        """What ``response`` (from a server of ``zone``) says of ``name``: its records, its alias,
        or (when ``name`` was the question, or NXDOMAIN names the end of the chain) that it has
        none; None when the answer says nothing of it (an alias led out of the server's zone,
        whose records that server has no say in)."""
        if not name.is_subdomain(zone):
            return None
        for rrset in response.answer:
            if rrset.name == name and rrset.rdclass == IN and (rrset.rdtype == rdtype or rdtype == ANY):
                return "answer", _with_ttl(rrset, cache_ttl(rrset.ttl))
        cname = response.get_rrset(response.answer, name, IN, CNAME)
        if cname is not None and rdtype != CNAME:
            return "cname", _with_ttl(cname, cache_ttl(cname.ttl))
        if not (asked or response.rcode() == NXDOMAIN):
            return None
        soa = self._soa(response, zone)
        if soa is None:
            return None
        kind = "nxdomain" if response.rcode() == NXDOMAIN else "nodata"
        self.cache.add_negative(name, rdtype, response.rcode(), soa, self.now())
        return kind, _with_ttl(soa, min(cache_ttl(soa.ttl), soa[0].minimum, MAX_NCACHE_TTL))

    def additional(self, answer: Iterable[dns.rrset.RRset]) -> list[dns.rrset.RRset]:
        """The addresses the cache holds of the answer's name servers and mail exchangers, for
        the additional section (RFC 1034 §4.3.2 step 6, as BIND adds them to recursive answers),
        but for those the answer holds already."""
        answer = list(answer)
        out: list[dns.rrset.RRset] = []
        now = self.now()
        for rrset in answer:
            if rrset.rdtype == NS:
                targets = [rd.target for rd in rrset]
            elif rrset.rdtype == MX:
                targets = [rd.exchange for rd in rrset]
            else:
                continue
            for target in targets:
                kept = self.cache.get(target, A, now, least=TRUST_ADDITIONAL)
                if kept is not None and all(r.name != target or r.rdtype != A for r in [*answer, *out]):
                    out.append(kept)
        return out

    def _known_ns(self, name: dns.name.Name) -> dns.rrset.RRset | None:
        """The NS records of the deepest zone at or above ``name`` the cache holds (glue too)."""
        now = self.now()
        zone = name
        while True:
            ns = self.cache.get(zone, NS, now, least=TRUST_ADDITIONAL)
            if ns is not None or zone == ROOT:
                return ns
            zone = zone.parent()

    def cached(self, qname: dns.name.Name,
               rdtype: int) -> tuple[int, list[dns.rrset.RRset], list[dns.rrset.RRset], list[dns.rrset.RRset]]:
        """The answer to a question without RD, from the cache alone, as BIND gives it: the rcode
        and the answer, authority and additional sections.  What the cache holds (aliases
        followed), with the NS records of the zone it is in and their addresses; or its negative
        answer; or, knowing nothing of the name, a referral to the deepest zone it knows (the
        root's servers from the hints, before it knows them)."""
        answer: list[dns.rrset.RRset] = []
        name = qname
        seen = set()
        while name not in seen and len(seen) <= MAX_CHAIN:
            seen.add(name)
            found = self._from_cache(name, rdtype)
            if found is None:
                break
            kind, rrset = found
            if kind in ("nxdomain", "nodata"):
                return (NXDOMAIN if kind == "nxdomain" else NOERROR), answer, [rrset], []
            answer.append(rrset)
            if kind == "answer":
                break
            name = rrset[0].target
        ns = self._known_ns(name)
        if ns is None:
            return NOERROR, answer, [self.hints[(ROOT, NS)]], []
        if answer and answer[-1].rdtype == NS and answer[-1].name == ns.name:
            return NOERROR, answer, [], self.additional(answer)
        return NOERROR, answer, [ns], self.additional(answer + [ns])

    def resolve(self, qname: dns.name.Name, rdtype: int,
                lookup: Lookup | None = None) -> tuple[int, list[dns.rrset.RRset], list[dns.rrset.RRset]]:
        """Look ``qname``'s ``rdtype`` records up: the rcode, the answer section (the aliases
        followed, then the records) and the authority section (the SOA of a negative answer).
        ``lookup`` is the client's question this one serves (a glueless server's address), whose
        limits it shares."""
        if lookup is None:
            lookup = Lookup(self.now() + RESOLVER_QUERY_TIMEOUT)
        answer: list[dns.rrset.RRset] = []
        name = qname
        response = zone = None
        seen = set()
        while len(seen) <= MAX_CHAIN:
            seen.add(name)
            found = None
            if response is not None:
                found = self._from_response(response, zone, name, rdtype, asked=False)
            if found is None:
                found = self._from_cache(name, rdtype)
            if found is None:
                fetched = self.fetch(name, rdtype, lookup)
                if fetched is None:
                    return SERVFAIL, answer, []
                response, zone = fetched
                found = self._from_response(response, zone, name, rdtype, asked=True)
                if found is None:
                    return SERVFAIL, answer, []
            kind, rrset = found
            if kind == "answer":
                return NOERROR, answer + [rrset], []
            if kind in ("nxdomain", "nodata"):
                return (NXDOMAIN if kind == "nxdomain" else NOERROR), answer, [rrset]
            answer.append(rrset)
            name = rrset[0].target
            if name in seen:
                break
        return SERVFAIL, answer, []
