"""Zone transfers out of ``named`` (BIND's lib/ns/xfrout.c): AXFR (RFC 5936) over TCP, and IXFR
(RFC 1995) answered as BIND answers it without a journal: the whole zone, AXFR-style, unless the
client already has the current serial, which gets the SOA alone; and into it, for a secondary
zone (``secondary``: the refresh, retry and expire of RFC 1034 §4.3.5).

A transfer is the zone's SOA, then every record, then the SOA again, in as many messages of up to
64 KB as it takes (RFC 5936 §2.2); the question is in the first.  Records come name by name in
DNSSEC canonical order (RFC 4034 §6.1), and a name's record sets as the zone file gave them, with
the SOA at the apex leading (BIND keeps that order too, but for some names with three or more
kinds of records).  A zone this server does not serve is NOTAUTH (RFC 5936 §2.2.1), and a client
``allow-transfer`` does not list is REFUSED.
"""

from __future__ import annotations

from typing import Any

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
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.resolv import ResolverError, ResState, recv_exact, res_nsend

IN = dns.rdataclass.IN
SOA = dns.rdatatype.SOA
AXFR = dns.rdatatype.AXFR
IXFR = dns.rdatatype.IXFR
MAX_MESSAGE = 65535
HEADER = 12


def zone_records(zone: dns.zone.Zone) -> list[dns.rrset.RRset]:
    """The zone's records in transfer order, each its own one-record set, SOA first and last."""
    soa = zone.get_rrset(zone.origin, SOA)
    out = [soa]
    for name in sorted(zone.nodes):
        node = zone.nodes[name]
        for rdataset in node.rdatasets:
            if rdataset.rdtype == SOA and name == zone.origin:
                continue
            out += [dns.rrset.from_rdata(name, rdataset.ttl, rd) for rd in rdataset]
    return [*out, soa]


def _wire_size(rrset: dns.rrset.RRset, origin: dns.name.Name) -> int:
    """An upper bound on a record's size in a message: its owner in full, its type, class, TTL
    and length, and its data uncompressed (compression only makes it smaller)."""
    return len(rrset.name.to_wire()) + 10 + len(rrset[0].to_digestable(origin))


def transfer(query: dns.message.Message, zone: dns.zone.Zone | None, response: dns.message.Message,
             allowed: bool) -> list[dns.message.Message]:
    """The messages answering a transfer ``query``: ``response`` (its frame: ID, question, AA)
    carrying an error, or filled with the first part of the zone and followed by the rest."""
    q = query.question[0]
    if zone is None:
        response.set_rcode(dns.rcode.NOTAUTH)
        return [response]
    if not allowed:
        response.set_rcode(dns.rcode.REFUSED)
        return [response]
    response.flags |= dns.flags.AA
    records = zone_records(zone)
    have = _client_serial(query) if q.rdtype == IXFR else None
    if have is not None and not newer(records[0][0].serial, have):  # the client is current (RFC 1982)
        records = records[:1]
    messages = [response]
    room = MAX_MESSAGE - len(response.to_wire())
    for rrset in records:
        size = _wire_size(rrset, zone.origin)
        if size > room and messages[-1].answer:
            follow = dns.message.make_response(query)
            follow.flags = response.flags
            follow.question = []
            messages.append(follow)
            room = MAX_MESSAGE - HEADER
        messages[-1].answer.append(rrset)
        room -= size
    return messages


def _client_serial(query: dns.message.Message) -> int | None:
    """The serial an IXFR query's authority section says the client has (RFC 1995 §3)."""
    for rrset in query.authority:
        if rrset.rdtype == SOA and len(rrset):
            return rrset[0].serial
    return None


# -- in: a secondary zone (BIND's lib/dns/xfrin.c and zone.c's refresh) ---------------------------

XFR_TIMEOUT = 30.0  # seconds a transfer may take before it is given up (TCP's idle time, BIND)


def axfr_in(primary: str, origin: dns.name.Name, port: int = 53) -> dns.zone.Zone | None:
    """The zone ``origin`` as ``primary`` transfers it (RFC 5936 §2.2: over TCP, the records
    between the opening and the closing SOA, which must be the same); None when the primary
    refuses, does not answer, or sends what is not a whole transfer of that zone."""
    query = dns.message.make_query(origin, AXFR)
    query.id = current().host.rng.getrandbits(16)
    query.flags = 0
    wire = query.to_wire()
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    deadline = libc.clock_monotonic() + XFR_TIMEOUT
    records: list[dns.rrset.RRset] = []
    try:
        libc.connect(fd, (primary, port))
        libc.send(fd, len(wire).to_bytes(2, "big") + wire)
        while len(records) < 2 or records[-1].rdtype != SOA:
            head = recv_exact(fd, 2, deadline)
            data = recv_exact(fd, int.from_bytes(head, "big"), deadline) if head else None
            if data is None:
                return None
            message = dns.message.from_wire(data, one_rr_per_rrset=True)
            if message.id != query.id or message.rcode() != dns.rcode.NOERROR or not message.answer:
                return None
            records += message.answer
    except (OSError, dns.exception.DNSException):
        return None
    finally:
        libc.close(fd)
    first, last = records[0], records[-1]
    if first.rdtype != SOA or first.name != origin or last.name != origin or first[0] != last[0]:
        return None
    zone = dns.zone.Zone(origin, relativize=False)
    for rrset in records[:-1]:
        if rrset.name.is_subdomain(origin):
            zone.find_rdataset(rrset.name, rrset.rdtype, create=True).update(rrset)
    return zone


def soa_serial(primary: str, origin: dns.name.Name, port: int = 53) -> int | None:
    """The serial of the primary's SOA for ``origin`` (asked over UDP, RFC 1035 §4.3.5's refresh
    check), or None when it does not say."""
    state = ResState(nameservers=[primary], timeout=2, attempts=2)
    query = dns.message.make_query(origin, SOA)
    query.flags = 0
    query.id = current().host.rng.getrandbits(16)
    try:
        answer = dns.message.from_wire(res_nsend(state, [query.to_wire()], any_rcode=True)[0].wire)
    except (ResolverError, dns.exception.DNSException):
        return None
    soa = answer.get_rrset(answer.answer, origin, IN, SOA)
    return soa[0].serial if soa is not None and answer.flags & dns.flags.AA else None


def newer(serial: int, than: int) -> bool:
    """RFC 1982 serial number arithmetic: ``serial`` is after ``than``."""
    return serial != than and (serial - than) % 2**32 < 2**31


def secondary(zones: dict[dns.name.Name, dns.zone.Zone], pending: set[dns.name.Name], origin: dns.name.Name,
              primaries: list[str], on_change: Any) -> None:
    """Keep ``zones[origin]`` a copy of the primaries' zone (RFC 1034 §4.3.5): transfer it, then
    every SOA refresh interval ask for the serial and transfer again when it is newer; after a
    failure try again every retry interval (each within BIND's bounds), and drop the zone once
    expire has passed since the last good refresh.  ``pending`` holds the origin while there is
    no copy; ``on_change`` is called when the zone is replaced or dropped."""
    refreshed = None
    while True:
        zone = zones.get(origin)
        have = None if zone is None else zone.get_rdataset(origin, SOA)[0]
        ok = False
        for primary in primaries:
            serial = soa_serial(primary, origin)
            if serial is None:
                continue
            if have is not None and not newer(serial, have.serial):
                ok = True
                break
            fresh = axfr_in(primary, origin)
            if fresh is not None:
                zones[origin] = fresh
                pending.discard(origin)
                on_change()
                ok = True
                break
        now = libc.clock_monotonic()
        soa = zones[origin].get_rdataset(origin, SOA)[0] if origin in zones else None
        if ok:
            refreshed = now
        elif soa is not None and refreshed is not None and now - refreshed >= soa.expire:
            del zones[origin]
            pending.add(origin)
            on_change()
            soa = None
        if soa is None:
            wait = MIN_RETRY
        elif ok:
            wait = min(max(soa.refresh, MIN_REFRESH), MAX_REFRESH)
        else:
            wait = min(max(soa.retry, MIN_RETRY), MAX_RETRY)
        libc.sleep(wait)


# BIND's bounds on the SOA's intervals (min-refresh-time, max-refresh-time, min-retry-time,
# max-retry-time); without a copy of the zone the next try waits the least retry time.
MIN_REFRESH, MAX_REFRESH = 300, 2419200
MIN_RETRY, MAX_RETRY = 500, 1209600
